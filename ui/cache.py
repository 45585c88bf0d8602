"""Derived data shared by the pages, cached per model (keyed by the checkpoint's content hash, never its path)."""
from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import numpy as np
import streamlit as st

import vae
from ui.state import current_model_file, load_model, test_split
from vae import latent
from vae.atomic import write_atomic
from vae.beta_dial import SHIPPED_DIR, DialData, dial_data_for, dial_file_name, load_dial_data, save_dial_data
from vae.data import ASSETS
from vae.numpy_model import NumpyDecoder, load_numpy_model, make_numpy_model, numpy_model_name, save_numpy_model

CACHE_DIR = Path("cache")  # derived data keyed by checkpoint hash (git-ignored): encodings, t-SNE, NumPy models
# The NumPy form (vae.numpy_model) of the bundled default model ships in assets/numpy_models, so even the first start
# on a new machine draws the Explore page without torch; the others are made on first use and kept in cache/.
NUMPY_MODEL_DIRS = (ASSETS / "numpy_models", CACHE_DIR / "numpy_models")
# The beta dial's encodings of the bundled conditioned model ship too (a minute on one core to make).
DIAL_DIRS = (SHIPPED_DIR, CACHE_DIR / "beta_dial")


def saved_numpy_model(sha256: str) -> vae.NumpyModel | None:
    """The shipped or saved NumPy model of the checkpoint with this hash, if a readable one exists."""
    for folder in NUMPY_MODEL_DIRS:
        path = folder / numpy_model_name(sha256)
        if path.is_file():
            try:
                return load_numpy_model(path, sha256=sha256)
            except ValueError:
                pass  # unreadable or stale: made again from the checkpoint
    return None


@st.cache_resource(max_entries=32, show_spinner="Preparing the model…")
def numpy_model_of(path: str, mtime: float) -> vae.NumpyModel:
    """The NumPy model of a checkpoint file (shared, read-only). Found by the file's hash in assets/ or cache/;
    otherwise made from the checkpoint (this imports torch and encodes the test set, once per model) and saved."""
    sha256 = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    nm = saved_numpy_model(sha256)
    if nm is not None:
        return nm
    ck = load_model(path, mtime)
    nm = make_numpy_model(ck, *encodings(ck.sha256, ck.dataset, ck))
    try:
        save_numpy_model(CACHE_DIR / "numpy_models" / numpy_model_name(ck.sha256), nm)
    except OSError:
        pass  # a read-only disk only costs speed
    return nm


def current_numpy_model() -> vae.NumpyModel:
    """The model picked in the sidebar, in NumPy: what the Explore page draws from."""
    return numpy_model_of(*current_model_file())


@st.cache_data(max_entries=8, show_spinner="Encoding the 10,000 test digits…")
def encodings(sha256: str, dataset: str, _ck: vae.Checkpoint) -> tuple[np.ndarray, np.ndarray]:
    """mu and sigma of q(z|x) for every test digit. Also kept on disk (and in NumPy models), so a restarted server
    starts fast; an unreadable cache file is recomputed."""
    path = CACHE_DIR / "encodings" / f"{sha256[:16]}-{dataset}.npz"
    try:
        with np.load(path) as f:
            return f["mu"], f["sigma"]
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile):
        pass  # not there yet (or unreadable): look for a NumPy model, else compute below
    nm = saved_numpy_model(sha256)
    if nm is not None:
        return nm.mu, nm.sigma
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


@st.cache_resource(max_entries=4, show_spinner="Encoding the test digits at 64 values of β (once per model)…")
def dial_model(path: str, mtime: float) -> tuple[DialData, NumpyDecoder]:
    """What the KL lab's beta dial shows of a beta-conditioned checkpoint (vae.beta_dial), and its decoder in
    NumPy form. Found by the file's hash in assets/ or cache/, else computed once and saved to cache/."""
    ck = load_model(path, mtime)
    name = dial_file_name(ck.sha256)
    decoder = NumpyDecoder.from_model(ck.model)
    for folder in DIAL_DIRS:
        if (folder / name).is_file():
            try:
                return load_dial_data(folder / name, ck.sha256), decoder
            except ValueError:
                pass  # unreadable or stale: made again below
    data = dial_data_for(ck, test_split(ck.dataset))
    try:
        save_dial_data(CACHE_DIR / "beta_dial" / name, data)
    except OSError:
        pass  # a read-only disk only costs time
    return data, decoder
