"""Derived-data caches on disk (encodings, t-SNE, NumPy models): a corrupt file is rebuilt silently, never a crash."""
from __future__ import annotations

import hashlib

import numpy as np
import pytest

import vae
from conftest import ROOT, open_app_page
from ui import cache
from vae.store import ENV_VAR, ModelStore, relpath

GARBAGE = [b"", b"\x00" * 37, b"PK\x03\x04 a zip cut short", b"\x93NUMPY garbage after a numpy magic"]


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    """An empty cache folder for the app's store, set as the app sets it ($VAE_CACHE_DIR), so every derived file of
    the tiny checkpoint (never shipped) comes from this test."""
    folder = tmp_path / "cache"
    monkeypatch.setenv(ENV_VAR, str(folder))
    clear = (cache.model_store, cache.encodings, cache.numpy_model_of, cache.map_view)
    for c in clear:
        c.clear()
    assert cache.model_store().cache_dir == folder.resolve()
    yield folder
    for c in clear:
        c.clear()


@pytest.mark.parametrize("garbage", GARBAGE)
def test_corrupt_encodings_file_is_recomputed(tiny_ckpt, cache_dir, garbage):
    ck = vae.load_checkpoint(tiny_ckpt)
    path = cache_dir / relpath("encodings", ck.sha256, "grey")
    path.parent.mkdir(parents=True)
    path.write_bytes(garbage)
    mu, sigma = cache.encodings(ck.sha256, ck)
    assert mu.shape == sigma.shape == (10000, 2) and np.isfinite(mu).all()
    with np.load(path) as f:  # and the file was written again, readable
        np.testing.assert_array_equal(f["mu"], mu)


@pytest.mark.parametrize("garbage", GARBAGE)
def test_corrupt_numpy_model_is_made_again(tiny_ckpt, cache_dir, garbage):
    sha = hashlib.sha256(tiny_ckpt.read_bytes()).hexdigest()
    path = cache_dir / relpath("numpy_model", sha)
    path.parent.mkdir(parents=True)
    path.write_bytes(garbage)
    nm = cache.numpy_model_of(str(tiny_ckpt), tiny_ckpt.stat().st_mtime)
    assert nm.sha256 == sha and nm.mu.shape == (10000, 2)
    assert vae.load_numpy_model(path, sha256=sha).name == nm.name  # replaced by a good one


@pytest.mark.parametrize("garbage", GARBAGE[:2] + [np.zeros((3, 2), np.float32).tobytes()])
def test_corrupt_tsne_file_is_recomputed(tmp_path, garbage):
    mu = np.random.default_rng(0).standard_normal((200, 5)).astype(np.float32)
    model = vae.NumpyModel("ab" * 32, "", "mnist", 0, vae.ModelConfig(latent_dim=5), vae.TrainConfig(), None,
                           mu, np.ones_like(mu))
    store = ModelStore(tmp_path, shipped_dir=None)
    points, _ = store.view_2d(model, "tsne")
    path = tmp_path / relpath("tsne", model.sha256)
    assert path.is_file() and store.has_view_2d(model, "tsne")
    path.write_bytes(garbage)
    again, _ = store.view_2d(model, "tsne")
    np.testing.assert_allclose(again, points, atol=1e-4)  # same seed: the same embedding, rebuilt
    with np.load(path) as f:
        assert f["points"].shape == (200, 2)


def test_explore_page_opens_over_corrupt_caches(tiny_ckpt, cache_dir):
    sha = hashlib.sha256(tiny_ckpt.read_bytes()).hexdigest()
    for path in (cache_dir / relpath("numpy_model", sha), cache_dir / relpath("encodings", sha, "grey")):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"garbage")
    at = open_app_page(str(ROOT / "app_pages" / "explore.py"), model_path=str(tiny_ckpt))
    assert at.title[0].value == "Explore the latent space" and not at.error
