"""Derived-data caches on disk (encodings, t-SNE, NumPy models): a corrupt file is rebuilt silently, never a crash."""
from __future__ import annotations

import hashlib

import numpy as np
import pytest

import vae
from conftest import ROOT, open_app_page
from ui import cache
from vae import latent
from vae.numpy_model import numpy_model_name

GARBAGE = [b"", b"\x00" * 37, b"PK\x03\x04 a zip cut short", b"\x93NUMPY garbage after a numpy magic"]


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    """An empty cache folder, and no shipped NumPy models, so every derived file comes from this test."""
    folder = tmp_path / "cache"
    monkeypatch.setattr(cache, "CACHE_DIR", folder)
    monkeypatch.setattr(cache, "NUMPY_MODEL_DIRS", (folder / "numpy_models",))
    cache.encodings.clear()
    cache.numpy_model_of.clear()
    cache.map_view.clear()
    yield folder
    cache.encodings.clear()
    cache.numpy_model_of.clear()
    cache.map_view.clear()


@pytest.mark.parametrize("garbage", GARBAGE)
def test_corrupt_encodings_file_is_recomputed(tiny_ckpt, cache_dir, garbage):
    ck = vae.load_checkpoint(tiny_ckpt)
    path = cache_dir / "encodings" / f"{ck.sha256[:16]}-mnist.npz"
    path.parent.mkdir(parents=True)
    path.write_bytes(garbage)
    mu, sigma = cache.encodings(ck.sha256, ck.dataset, ck)
    assert mu.shape == sigma.shape == (10000, 2) and np.isfinite(mu).all()
    with np.load(path) as f:  # and the file was written again, readable
        np.testing.assert_array_equal(f["mu"], mu)


@pytest.mark.parametrize("garbage", GARBAGE)
def test_corrupt_numpy_model_is_made_again(tiny_ckpt, cache_dir, garbage):
    sha = hashlib.sha256(tiny_ckpt.read_bytes()).hexdigest()
    path = cache_dir / "numpy_models" / numpy_model_name(sha)
    path.parent.mkdir(parents=True)
    path.write_bytes(garbage)
    nm = cache.numpy_model_of(str(tiny_ckpt), tiny_ckpt.stat().st_mtime)
    assert nm.sha256 == sha and nm.mu.shape == (10000, 2)
    assert vae.load_numpy_model(path, sha256=sha).name == nm.name  # replaced by a good one


@pytest.mark.parametrize("garbage", GARBAGE[:2] + [np.zeros((3, 2), np.float32).tobytes()])
def test_corrupt_tsne_file_is_recomputed(tmp_path, garbage):
    mu = np.random.default_rng(0).standard_normal((200, 5)).astype(np.float32)
    points, _ = latent.project_2d(mu, "tsne", cache_dir=tmp_path, cache_key="k")
    path = next(tmp_path.glob("tsne-k-*.npy"))
    path.write_bytes(garbage)
    again, _ = latent.project_2d(mu, "tsne", cache_dir=tmp_path, cache_key="k")
    np.testing.assert_allclose(again, points, atol=1e-4)  # same seed: the same embedding, rebuilt
    assert np.load(path).shape == (200, 2)


def test_explore_page_opens_over_corrupt_caches(tiny_ckpt, cache_dir):
    sha = hashlib.sha256(tiny_ckpt.read_bytes()).hexdigest()
    for path in (cache_dir / "numpy_models" / numpy_model_name(sha), cache_dir / "encodings" / f"{sha[:16]}-mnist.npz"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"garbage")
    at = open_app_page(str(ROOT / "app_pages" / "explore.py"), model_path=str(tiny_ckpt))
    assert at.title[0].value == "Explore the latent space" and not at.error
