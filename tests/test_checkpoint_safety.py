"""Every bad checkpoint in tests/data/checkpoints is refused with a CheckpointError and a plain message, and the
hostile ones run nothing: their payload creates a sentinel file, which must never appear. A child process shows that
the same payload DOES create it when the file is opened the unsafe way, so these tests can fail."""
from __future__ import annotations

import multiprocessing
import os
import pickle
import zipfile

import pytest
import torch

import vae
from make_corpus import CHECKPOINT_DIR, CHECKPOINTS, SENTINEL_ENV

HOSTILE = sorted(n for n in CHECKPOINTS if n.startswith("hostile"))
REFUSED = sorted(n for n, (expect, _) in CHECKPOINTS.items() if expect == "refuse")


@pytest.fixture
def sentinel(tmp_path, monkeypatch):
    """The path a hostile payload writes to; the test runs in an empty folder so a default path lands there too."""
    path = tmp_path / "sentinel"
    monkeypatch.setenv(SENTINEL_ENV, str(path))
    monkeypatch.chdir(tmp_path)
    return path


@pytest.mark.parametrize("name", REFUSED)
def test_bad_checkpoints_are_refused_with_a_message(name, sentinel):
    with pytest.raises(vae.CheckpointError) as info:
        vae.load_checkpoint(CHECKPOINT_DIR / name)
    message = str(info.value)
    assert 20 < len(message) < 300 and "Traceback" not in message
    assert not sentinel.exists()


def test_the_valid_checkpoint_loads_from_bytes_and_path():
    ck = vae.load_checkpoint((CHECKPOINT_DIR / "valid_tiny.pt").read_bytes())
    assert ck.name == "tiny test model" and ck.model_config.latent_dim == 2
    assert ck.sha256 == vae.load_checkpoint(CHECKPOINT_DIR / "valid_tiny.pt").sha256


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_checkpoints_run_nothing(name, sentinel, tmp_path):
    with pytest.raises(vae.CheckpointError, match="without running anything"):
        vae.load_checkpoint(CHECKPOINT_DIR / name)
    assert not sentinel.exists()
    assert list(tmp_path.iterdir()) == []  # nothing written anywhere in the working folder either


def _open_unsafely(name: str, sentinel_path: str) -> None:
    """What a careless program does: plain pickle, or torch.load with weights_only=False."""
    os.environ[SENTINEL_ENV] = sentinel_path
    path = CHECKPOINT_DIR / name
    try:
        if zipfile.is_zipfile(path):
            torch.load(path, weights_only=False)
        else:
            with open(path, "rb") as f:
                pickle.load(f)
    except Exception:
        pass  # the payload has run by the time anything fails


@pytest.mark.parametrize("name", HOSTILE)
def test_the_payload_would_run_if_opened_unsafely(name, tmp_path):
    """The control experiment: without weights_only the same file creates the sentinel. It runs in a forked child
    process, so the payload cannot touch this one (and torch need not be imported again, which is slow)."""
    path = tmp_path / "sentinel"
    child = multiprocessing.get_context("fork").Process(target=_open_unsafely, args=(name, str(path)))
    child.start()
    child.join(120)
    assert child.exitcode == 0
    assert path.exists() and path.read_text().startswith("pwned")


def test_a_zip_bomb_is_refused_before_unpacking():
    path = CHECKPOINT_DIR / "zip_bomb.pt"
    with zipfile.ZipFile(path) as z:
        unpacked = sum(i.file_size for i in z.infolist())
    assert path.stat().st_size < 2**20 < vae.checkpoint.MAX_UNPACKED_BYTES < unpacked  # a real bomb, over the cap
    with pytest.raises(vae.CheckpointError, match="unpacks to"):
        vae.load_checkpoint(path)


def test_a_huge_declared_model_is_refused_without_building_it():
    """The config declares 1.6e12 weights; building the model first would raise an allocation error (or, for a
    merely large config, eat the server's memory)."""
    with pytest.raises(vae.CheckpointError, match="do not match"):
        vae.load_checkpoint(CHECKPOINT_DIR / "huge_config.pt")
