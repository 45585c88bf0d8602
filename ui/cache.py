"""The model store (vae.store) behind Streamlit's in-memory caches: what the pages draw of a checkpoint.

The store owns every derived form of a checkpoint, its file names and its folders; this module only keeps its answers
in memory, shared by every session, keyed by the checkpoint file's (path, mtime) or by its content hash as the store
gives it. Nothing here builds a file name: the manifold grid only says which grid it asks the store for (its size,
its plane, a version)."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import streamlit as st

import vae
from ui import images
from ui.state import current_model_file, load_model, test_split
from vae import latent
from vae.beta_dial import DialData
from vae.numpy_model import NumpyDecoder
from vae.store import ModelStore, file_sha256


@st.cache_resource(show_spinner=False)
def model_store() -> ModelStore:
    """The server's one store (its cache folder: $VAE_CACHE_DIR, else the repository's cache/), loading checkpoints
    through ui.state.load_model so every page shares one copy of each, and test splits through ui.state.test_split."""
    return ModelStore(load=lambda path: load_model(path, Path(path).stat().st_mtime), test_split=test_split)


def checkpoint_sha256(path: str) -> str:
    """The content hash of a checkpoint file, without loading it (the file is hashed once per version): the key of
    what a page computes from the checkpoint."""
    return file_sha256(path)


@st.cache_resource(max_entries=32, show_spinner="Preparing the model…")
def numpy_model_of(path: str, mtime: float) -> vae.NumpyModel:
    """The NumPy model of a checkpoint file (shared, read-only): shipped or stored ones need no torch; otherwise made
    from the checkpoint (torch, and the test set encoded once per model) and stored."""
    return model_store().numpy_model(path)


def current_numpy_model() -> vae.NumpyModel:
    """The model picked in the sidebar, in NumPy: what the Explore page draws from."""
    return numpy_model_of(*current_model_file())


@st.cache_data(max_entries=8, show_spinner="Encoding the 10,000 test digits…")
def encodings(sha256: str, _ck: vae.Checkpoint) -> tuple[np.ndarray, np.ndarray]:
    """mu and sigma of q(z|x) for every grey test digit (ModelStore.encodings); sha256 is _ck's."""
    return model_store().encodings(_ck)


@st.cache_data(max_entries=32, show_spinner=False)
def evaluated_encodings(sha256: str, _source: str | vae.Checkpoint) -> tuple[np.ndarray, np.ndarray]:
    """mu and log sigma^2 of every test digit as `vae evaluate` sees them (ModelStore.evaluated_encodings), of a
    checkpoint file (loaded only if they are not stored) or a loaded checkpoint; sha256 is its hash."""
    return model_store().evaluated_encodings(_source)


@st.cache_data(max_entries=16, show_spinner="Computing the 2-D view…")
def map_view(sha256: str, method: str, _model: vae.NumpyModel | vae.Checkpoint):
    """(points (N, 2), fitted PCA or None) of _model's test-set means (ModelStore.view_2d; t-SNE is stored on disk,
    so it is computed once per model). sha256 is _model's."""
    return model_store().view_2d(_model, method)


def view_is_quick(model: vae.NumpyModel | vae.Checkpoint, method: str) -> bool:
    """Whether map_view answers at once: anything but a t-SNE view not computed yet."""
    return model_store().has_view_2d(model, method)


@st.cache_resource(max_entries=4, show_spinner="Encoding the test digits at 64 values of β (once per model)…")
def dial_model(path: str, mtime: float) -> tuple[DialData, NumpyDecoder]:
    """What the KL lab's beta dial shows of a beta-conditioned checkpoint (ModelStore.dial_data: shipped, stored,
    or computed once), and its decoder in NumPy form."""
    ck = load_model(path, mtime)
    return model_store().dial_data(ck), NumpyDecoder.from_model(ck.model)


MANIFOLD_VERSION = "v1"  # part of a stored grid's name: bump it when vae.latent.manifold or the picture changes
STORED_GRID_N = 15  # the page's first grid: the one size worth keeping on disk (others stay in memory only)


@st.cache_data(max_entries=32, show_spinner=False)
def manifold_png(sha256: str, n: int, plane: tuple, _decoder: NumpyDecoder, _axes: np.ndarray | None = None) -> bytes:
    """The decoded n x n grid as a PNG (each digit 2x). The page's first grid (n = STORED_GRID_N over z1, z2 or the
    PCA plane) is kept by the store (ModelStore.picture), so a fresh server's first page reads it rather than
    decoding and encoding it; other sizes and planes are only cached here. plane: ("dims", i, j), or ("pca",) with
    _axes the model's first two principal components (their hash is in the stored grid's name: a refitted PCA with
    flipped signs is another grid). Bytes, not an array: st.image passes them through, the download hands them out."""
    def make() -> bytes:
        dims = plane[1:] if plane[0] == "dims" else (0, 1)
        decoded = latent.manifold(_decoder, n=n, dims=dims, axes=_axes).reshape(n * n, 28, 28)
        return images.to_uint8(images.grid(decoded, nrow=n, padding=0), 2)
    if n != STORED_GRID_N or plane not in (("dims", 0, 1), ("pca",)):
        return images.png_bytes_uint8(make())
    which = "dims_0_1" if plane[0] == "dims" else "pca_" + hashlib.sha256(
        np.ascontiguousarray(_axes, np.float32).tobytes()).hexdigest()[:12]
    return model_store().picture("manifold", sha256, f"n{n}", which, MANIFOLD_VERSION, make=make)
