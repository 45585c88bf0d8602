"""vae.store: one naming rule, one cache folder ($VAE_CACHE_DIR, absolute), shipped files first, corrupt or stale
files made again, each checkpoint file hashed once, and pages that never load a checkpoint twice."""
from __future__ import annotations

import collections
import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import streamlit as st

import vae
import vae.checkpoint
from conftest import ROOT, open_app_page
from vae import analysis, bundled, store
from vae.data import ASSETS
from vae.store import DEFAULT_CACHE_DIR, ENV_VAR, KINDS, ModelStore, relpath

SHA = "0123456789abcdef" * 4
GARBAGE = [b"", b"PK\x03\x04 a zip cut short", b"\x93NUMPY garbage after a numpy magic"]


def _no_load(path):
    raise AssertionError(f"the store loaded {path}, though the form was stored")


@pytest.fixture
def fresh_ckpt(tiny_ckpt, tmp_path):
    """A copy of the tiny checkpoint: a file version no cache of this process has seen (new path, new inode)."""
    return shutil.copy(tiny_ckpt, tmp_path / "fresh.pt")


@pytest.fixture
def hashes(monkeypatch):
    """Counts, per content, the hashes vae.store computes and the checkpoints vae.checkpoint loads."""
    counts = {"hashed": collections.Counter(), "loaded": collections.Counter()}
    real_hash, real_load = store.hash_bytes, vae.checkpoint.load_checkpoint

    def hash_bytes(data):
        counts["hashed"][hashlib.sha256(data).hexdigest()] += 1
        return real_hash(data)

    def load_checkpoint(source, **kw):
        ck = real_load(source, **kw)
        counts["loaded"][ck.sha256] += 1
        return ck

    monkeypatch.setattr(store, "hash_bytes", hash_bytes)
    monkeypatch.setattr(vae.checkpoint, "load_checkpoint", load_checkpoint)
    return counts


# ---- names and folders ---------------------------------------------------------------------------------------------

def test_one_naming_rule_for_every_kind():
    assert str(relpath("numpy_model", SHA)) == "numpy_models/0123456789abcdef.npz"
    assert str(relpath("encodings", SHA, "grey")) == "encodings/0123456789abcdef-grey.npz"
    assert str(relpath("pad_file", SHA)) == "latent_pad/0123456789abcdef.bin"
    for kind, (folder, ext) in KINDS.items():
        rel = relpath(kind, SHA, "q1", "q_2")
        assert rel.parent.name == folder and rel.name == f"{SHA[:16]}-q1-q_2{ext}"
    for bad in [("numpy_model", SHA[:16]), ("numpy_model", SHA.upper()), ("encodings", SHA, "a/b"),
                ("encodings", SHA, "")]:
        with pytest.raises(ValueError):
            relpath(*bad)
    with pytest.raises(KeyError):
        relpath("nothing", SHA)


def test_the_shipped_files_follow_the_rule():
    for model, kind in [(bundled.DEFAULT, "numpy_model"), (bundled.BETA_DIAL, "dial")]:
        if model.path.is_file():
            assert (ASSETS / relpath(kind, store.file_sha256(model.path))).is_file(), model.key


def test_the_cache_folder_is_absolute_and_set_by_the_environment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert ModelStore().cache_dir == DEFAULT_CACHE_DIR == ROOT / "cache"  # the repository's, from anywhere
    monkeypatch.setenv(ENV_VAR, "relative/cache")
    s = ModelStore()
    assert s.cache_dir.is_absolute() and s.cache_dir == tmp_path / "relative" / "cache"
    assert not (tmp_path / "relative").exists()  # nothing is made until a file is written
    monkeypatch.setenv(ENV_VAR, "~/vae-cache")
    assert ModelStore().cache_dir.is_absolute() and "~" not in str(ModelStore().cache_dir)
    assert ModelStore(tmp_path / "x").cache_dir == tmp_path / "x"  # an explicit folder wins
    assert s.path("tsne", SHA) == s.cache_dir / relpath("tsne", SHA)
    assert s.path("numpy_model", SHA, folder="out") == Path("out", f"{SHA[:16]}.npz")  # the CLI's --out-dir
    assert s.candidates("dial", SHA) == [ASSETS.resolve() / relpath("dial", SHA), s.cache_dir / relpath("dial", SHA)]


def test_importing_the_store_does_no_work_and_a_shipped_numpy_model_needs_no_torch(tmp_path):
    code = ("import sys; from vae.store import ModelStore; from vae import bundled; "
            f"nm = ModelStore({str(tmp_path / 'c')!r}).numpy_model(bundled.DEFAULT.path); "
            "print(nm.mu.shape, 'torch' in sys.modules, 'streamlit' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["(10000,", "2)", "False", "False"]
    assert not (tmp_path / "c").exists()


# ---- round trips, corrupt and stale files -------------------------------------------------------------------------

def test_forms_round_trip_through_the_cache_folder(fresh_ckpt, tmp_path, mnist_test):
    made = ModelStore(tmp_path / "c", shipped_dir=None)
    nm = made.numpy_model(fresh_ckpt)
    grey = made.encodings(fresh_ckpt)
    evaluated = made.evaluated_encodings(fresh_ckpt)
    ck = vae.load_checkpoint(fresh_ckpt)
    for kind, *q in [("numpy_model",), ("encodings", "grey"), ("encodings", "evaluated")]:
        assert (tmp_path / "c" / relpath(kind, ck.sha256, *q)).is_file()
    expected = analysis.encode_test_split(ck.model, mnist_test, ck.train_config.binarize)
    np.testing.assert_array_equal(evaluated[0], expected[0])
    np.testing.assert_array_equal(evaluated[1], expected[1])
    np.testing.assert_array_equal(grey[0], nm.mu)
    again = ModelStore(tmp_path / "c", shipped_dir=None, load=_no_load)  # another process, say: reads, never loads
    assert again.numpy_model(fresh_ckpt).name == nm.name
    np.testing.assert_array_equal(again.encodings(fresh_ckpt)[1], grey[1])
    np.testing.assert_array_equal(again.evaluated_encodings(str(fresh_ckpt))[1], evaluated[1])
    np.testing.assert_array_equal(again.encodings(nm)[0], nm.mu)  # a NumPy model holds them
    points, pca = again.view_2d(nm, "pca")
    assert pca is None and points is nm.mu and again.has_view_2d(nm, "tsne")  # 2-D: the plane itself


def test_shipped_forms_come_first(tmp_path):
    sha = store.file_sha256(bundled.DEFAULT.path)
    garbage = tmp_path / relpath("numpy_model", sha)
    garbage.parent.mkdir(parents=True)
    garbage.write_bytes(b"not this one")
    nm = ModelStore(tmp_path, load=_no_load).numpy_model(bundled.DEFAULT.path)
    assert nm.sha256 == sha and garbage.read_bytes() == b"not this one"  # read from assets/, the cache untouched
    if bundled.BETA_DIAL.path.is_file():
        dial = ModelStore(tmp_path, load=_no_load).dial_data(bundled.BETA_DIAL.path)
        assert dial.mu.shape[0] == len(dial.betas)


@pytest.mark.parametrize("garbage", GARBAGE)
def test_a_corrupt_cache_file_is_made_again(fresh_ckpt, tmp_path, garbage):
    sha = store.file_sha256(fresh_ckpt)
    s = ModelStore(tmp_path, shipped_dir=None)
    for kind, *q in [("numpy_model",), ("encodings", "grey"), ("encodings", "evaluated")]:
        path = tmp_path / relpath(kind, sha, *q)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(garbage)
    assert s.numpy_model(fresh_ckpt).mu.shape == (10000, 2)
    assert s.evaluated_encodings(fresh_ckpt)[0].shape == (10000, 2)
    fresh = ModelStore(tmp_path, shipped_dir=None, load=_no_load)  # all three were written again, readable
    assert fresh.numpy_model(fresh_ckpt).sha256 == sha
    assert fresh.encodings(fresh_ckpt)[0].shape == fresh.evaluated_encodings(fresh_ckpt)[0].shape == (10000, 2)


def test_a_file_made_from_another_checkpoint_is_not_used(fresh_ckpt, tmp_path):
    s = ModelStore(tmp_path, shipped_dir=None)
    mu, _ = s.encodings(fresh_ckpt)
    ck = vae.load_checkpoint(fresh_ckpt)
    other = vae.save_checkpoint(tmp_path / "other.pt", ck.model, ck.train_config, name="another name")
    other_sha = store.file_sha256(other)
    target = tmp_path / relpath("encodings", other_sha, "grey")
    shutil.copy(tmp_path / relpath("encodings", store.file_sha256(fresh_ckpt), "grey"), target)
    loads = []
    s2 = ModelStore(tmp_path, shipped_dir=None, load=lambda p: loads.append(p) or store.load_checkpoint(p))
    np.testing.assert_array_equal(s2.encodings(other)[0], mu)  # same weights, so the same numbers, but computed
    assert loads == [str(other)]
    with np.load(target) as f:
        assert str(f["sha256"]) == other_sha  # and written again under its own hash


def test_a_read_only_cache_only_costs_time(fresh_ckpt, tmp_path):
    (tmp_path / "a-file").write_text("")
    s = ModelStore(tmp_path / "a-file" / "cache", shipped_dir=None)  # no folder can be made there
    assert s.numpy_model(fresh_ckpt).mu.shape == (10000, 2)


# ---- hashing once ---------------------------------------------------------------------------------------------------

def test_a_checkpoint_file_is_hashed_once(fresh_ckpt, tmp_path, hashes):
    sha = store.file_sha256(fresh_ckpt)
    assert store.file_sha256(fresh_ckpt) == sha
    ck = store.load_checkpoint(fresh_ckpt)
    assert ck.sha256 == sha == hashlib.sha256(fresh_ckpt.read_bytes()).hexdigest()
    assert ModelStore(tmp_path, shipped_dir=None).numpy_model(str(fresh_ckpt)).sha256 == sha  # loads it again
    assert hashes["hashed"] == {sha: 1} and hashes["loaded"] == {sha: 2}
    fresh_ckpt.write_bytes(fresh_ckpt.read_bytes() + b"\0")  # a new version of the file: hashed anew
    assert store.file_sha256(fresh_ckpt) != sha and sum(hashes["hashed"].values()) == 2


def test_the_maths_page_loads_and_hashes_its_checkpoint_once(fresh_ckpt, hashes):
    at = open_app_page(str(ROOT / "app_pages" / "maths.py"), model_path=str(fresh_ckpt))
    sha = store.file_sha256(fresh_ckpt)
    assert at.title and hashes["hashed"] == {sha: 1} and hashes["loaded"] == {sha: 1}


def test_the_kl_lab_loads_and_hashes_each_checkpoint_once(tmp_path, monkeypatch, hashes):
    from ui import cache, state
    monkeypatch.setenv(ENV_VAR, str(tmp_path))  # nothing stored: every encoding is computed from its checkpoint
    for c in (cache.model_store, state.load_model, cache.evaluated_encodings):
        c.clear()
    st.cache_data.clear()
    monkeypatch.setattr(store, "_hashes", {})
    try:
        at = open_app_page(str(ROOT / "app_pages" / "kl_lab.py"), kl_lab_tab="Trained separately",
                           kl_lab_betas=[0.0, 1.0])
        assert [m.value for m in at.markdown if m.value.startswith("### ")] == ["### β = 0", "### β = 1"]
        shas = {store.file_sha256(bundled.by_key(bundled.BETA_SWEEP[b]).path) for b in (0.0, 1.0)}
        assert set(hashes["loaded"]) == set(hashes["hashed"]) == shas
        assert set(hashes["loaded"].values()) == set(hashes["hashed"].values()) == {1}
        assert len(list(tmp_path.glob("encodings/*-evaluated.npz"))) == 2
    finally:
        cache.model_store.clear()


def test_a_picture_is_made_once_kept_with_its_hash_and_made_again_when_stale(tmp_path):
    from PIL import Image

    from ui import images
    made = []

    def make() -> np.ndarray:
        made.append(1)
        return images.to_uint8(np.linspace(0, 1, 28 * 28).reshape(28, 28), 2)

    png = ModelStore(tmp_path, shipped_dir=None).picture("manifold", SHA, "n15", "dims_0_1", "v1", make=make)
    path = tmp_path / relpath("manifold", SHA, "n15", "dims_0_1", "v1")
    assert path.read_bytes() == png and len(made) == 1
    assert Image.open(path).size == (56, 56) and Image.open(path).text["vae-sha256"] == SHA  # still a valid PNG
    assert ModelStore(tmp_path, shipped_dir=None).picture("manifold", SHA, "n15", "dims_0_1", "v1", make=make) == png
    assert len(made) == 1  # read back by a new store (a fresh server), not made again
    other = "f" * 64
    path.write_bytes(png.replace(SHA.encode(), other.encode()))  # another checkpoint's picture under this name
    assert ModelStore(tmp_path, shipped_dir=None).picture("manifold", SHA, "n15", "dims_0_1", "v1", make=make) == png
    assert len(made) == 2
