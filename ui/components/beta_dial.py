"""The beta dial: a Streamlit Components v2 element where a log-scale beta slider moves, in the browser, the latent
map of the test digits, a manifold grid and prior samples decoded at that beta, reconstructions of a few digits with
one digit's posterior ellipse, and a point on the rate-distortion curve.

It shows one beta-conditioned model (vae.beta_dial): the map is interpolated between the encodings at the model's
beta grid; everything decoded is decoded at the exact beta by createBatchDecoder (latent_pad_decoder.js). The map's
geometry (the beta grid's interpolation, the ring's ellipse and its one magnification) is plane_geometry.js's, shared
with the latent pad. The bulky arrays (decoder weights, the maps at every beta as int16, labels, the followed digits'
pixels) travel once per model as a static file named by the checkpoint's hash, like the latent pad's. Python hears
beta on release only.
"""
from __future__ import annotations

import json

import numpy as np
import streamlit as st

from ui.components.latent_pad import HERE, component_js, module_loader, write_static_gz
from ui.palette import CLASS_COLORS
from vae.beta_dial import DialData
from vae.latent import grid_coordinates
from vae.numpy_model import NumpyDecoder
from vae.plot_window import plot_window
from vae.store import relpath

N_GRID = 10  # the manifold: N_GRID x N_GRID digits over the prior's central 90 % (AEVB fig. 4 spacing)
N_PRIOR = 16  # prior samples, z ~ N(0, I) with a fixed seed: the same z's decode differently as beta moves
PRIOR_SEED = 0


def map_extent(mu: np.ndarray) -> float:
    """Half-width of the square window, centred on 0: holds the prior's +-3 sigma and 99 % of the codes at every beta
    (the maps' one window rule, vae.plot_window)."""
    return plot_window(mu, symmetric=True, pad=0.025)[1]


@st.cache_resource(max_entries=4, show_spinner=False)
def publish(sha256: str, _decoder: NumpyDecoder, _dial: DialData, _labels: np.ndarray, _images: np.ndarray) -> dict:
    """Write the dial's arrays as one file under static/ (once per model) and return what the browser needs."""
    weights = _decoder.weights.astype(np.float32)
    half = map_extent(_dial.mu)
    scale = half * 1.5 / 32767  # int16 codes: 1/20000 of the window, far below a pixel
    mu16 = np.clip(np.round(_dial.mu / scale), -32767, 32767).astype(np.int16)
    chosen_pixels = np.round(np.asarray(_images)[_dial.chosen].reshape(len(_dial.chosen), -1)).astype(np.uint8)
    parts = [weights.tobytes(), mu16.tobytes(), np.asarray(_labels, np.uint8).tobytes(), chosen_pixels.tobytes()]
    blob = b"".join(parts)
    rel = relpath("dial_file", sha256)  # named by the model store's rule; under static/, which Streamlit serves
    url = write_static_gz(rel, blob)  # gzipped once here, not by the server on every request
    offsets = np.cumsum([0] + [len(p) for p in parts]).tolist()
    n_betas, n_points, dim = _dial.mu.shape
    return {"id": rel.stem, "url": url, "layers": list(_decoder.layers),
            "n_weights": int(weights.size), "mu_offset": offsets[1], "labels_offset": offsets[2],
            "chosen_offset": offsets[3], "n_points": int(n_points), "latent_dim": int(dim), "mu_scale": scale,
            "half_extent": half, "betas": _dial.betas.tolist(), "rate": _dial.rate.tolist(),
            "distortion": _dial.distortion.tolist(), "median_sigma": _dial.median_sigma.tolist(),
            "chosen": _dial.chosen.tolist(), "chosen_sigma": _dial.chosen_sigma.round(5).tolist()}


@st.cache_resource(show_spinner=False)
def _component():
    return st.components.v2.component("vae_explorer.beta_dial", html=(HERE / "beta_dial.html").read_text(),
                                      css=(HERE / "beta_dial.css").read_text(),
                                      js=module_loader("beta_dial", component_js("beta_dial")))


def beta_dial(model_info: dict, beta: float = 1.0, *, large: bool = False, key: str = "beta_dial") -> float:
    """Mount the dial at `beta` and return the beta of the last release."""
    prior_z = np.random.default_rng(PRIOR_SEED).standard_normal((N_PRIOR, model_info["latent_dim"]))
    spec = {"model": model_info, "beta": float(beta), "grid": grid_coordinates(N_GRID).round(4).tolist(),
            "prior_z": prior_z.round(4).tolist(), "colors": CLASS_COLORS, "large": bool(large)}
    # One JSON string: the frontend re-invokes only when it changes, and no dataframe detection (see latent_pad).
    result = _component()(key=key, data={"spec": json.dumps(spec)}, default={"beta": float(beta)},
                          on_beta_change=lambda: None)
    value = result.beta if result is not None else None
    return float(value) if value is not None else float(beta)
