"""Derived data shared by the pages, cached per model (keyed by the checkpoint's content hash, never its path)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

import vae
from ui.state import test_split
from vae import latent
from vae.atomic import write_atomic

CACHE_DIR = Path("cache")  # derived data keyed by checkpoint hash (git-ignored): encodings, t-SNE


@st.cache_data(max_entries=8, show_spinner="Encoding the 10,000 test digits…")
def encodings(sha256: str, dataset: str, _ck: vae.Checkpoint) -> tuple[np.ndarray, np.ndarray]:
    """mu and sigma of q(z|x) for every test digit. Also kept on disk, so a restarted server starts fast; an
    unreadable cache file is recomputed."""
    path = CACHE_DIR / "encodings" / f"{sha256[:16]}-{dataset}.npz"
    try:
        with np.load(path) as f:
            return f["mu"], f["sigma"]
    except (OSError, KeyError, ValueError):
        pass  # not there yet (or unreadable): compute below
    mu, sigma = latent.posterior(_ck.model, test_split(dataset).floats().numpy())
    try:
        write_atomic(path, lambda f: np.savez(f, mu=mu, sigma=sigma))
    except OSError:
        pass  # a read-only disk only costs speed
    return mu, sigma


@st.cache_data(max_entries=16, show_spinner="Computing the 2-D view…")
def map_view(sha256: str, dataset: str, method: str, _mu: np.ndarray):
    """(points (N, 2), fitted PCA or None). t-SNE is also cached on disk, so it is computed once per model."""
    return latent.project_2d(_mu, method=method, cache_dir=CACHE_DIR / "tsne", cache_key=f"{sha256[:16]}-{dataset}")
