"""The latent pad: a Streamlit Components v2 element that decodes in the browser while the user drags.

`st.slider` sends its value only on release and a Python round trip per frame is too slow, so the decoder runs in
JavaScript (latent_pad_decoder.js) over the weights in `vae.numpy_model.export_decoder`'s format (a NumpyDecoder's). They,
with the test set's posterior means (drawn faintly under the pad), go to the browser once per model as a static file
named by the checkpoint's hash (`static/latent_pad/`, served because `server.enableStaticServing = true`): passing
2 MB through `data` would re-serialise and hash it on every rerun (measured 17-44 ms). Python hears the final z on
release only; mount the pad inside an `st.fragment` so that release reruns just the fragment.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st

from ui.plots import CLASS_COLORS
from vae.atomic import write_atomic
from vae.numpy_model import NumpyDecoder
from vae.store import relpath

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE.parent.parent / "static"  # Streamlit serves <main script folder>/static at app/static/


@dataclass(frozen=True)
class Plane:
    """A plane through latent space: z = origin + a u + b v (u, v orthonormal), shown over [lo, hi]^2."""
    origin: tuple[float, ...]
    u: tuple[float, ...]
    v: tuple[float, ...]
    extent: tuple[float, float]
    axis_labels: tuple[str, str]

    def coords(self, z) -> tuple[float, float]:
        d = np.asarray(z, np.float64) - np.asarray(self.origin)
        return float(d @ np.asarray(self.u)), float(d @ np.asarray(self.v))


def _extent(points2d: np.ndarray) -> tuple[float, float]:
    """A square window holding the prior's +-3 sigma and 99% of the points (an autoencoder's may spread further)."""
    q = np.percentile(points2d, [0.5, 99.5]) if len(points2d) else np.array([-3.0, 3.0])
    lo, hi = min(-3.0, float(q[0])), max(3.0, float(q[1]))
    pad = 0.05 * (hi - lo)
    return round(lo - pad, 2), round(hi + pad, 2)


def dims_plane(latent_dim: int, i: int, j: int, mu: np.ndarray) -> Plane:
    """The plane of latent dimensions i and j (the other dimensions keep their slider values)."""
    eye = np.eye(latent_dim)
    return Plane((0.0,) * latent_dim, tuple(eye[i]), tuple(eye[j]), _extent(mu[:, [i, j]]),
                 (f"z{i + 1}", f"z{j + 1}"))


def pca_plane(pca, points2d: np.ndarray) -> Plane:
    """The plane of the first two principal components of the posterior means (sklearn PCA): pad point (a, b) is
    pca.inverse_transform([a, b]) plus whatever the sliders hold off the plane."""
    return Plane(tuple(map(float, pca.mean_)), tuple(map(float, pca.components_[0])),
                 tuple(map(float, pca.components_[1])), _extent(points2d), ("PC1", "PC2"))


def static_url(subdir: str, name: str) -> str:
    """Where the browser finds STATIC_DIR/subdir/name (Streamlit serves static/ at app/static/)."""
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    return "/" + "/".join(p for p in (base, "app/static", subdir, name) if p)


@st.cache_resource(max_entries=16, show_spinner=False)
def publish_model(sha256: str, _decoder: NumpyDecoder, _mu: np.ndarray, _labels: np.ndarray) -> dict:
    """Write the decoder weights, posterior means and labels as one float32 file under static/ (once per model)
    and return what the browser needs to read it. Cached by the checkpoint's hash, so reruns cost nothing."""
    layers, weights = list(_decoder.layers), _decoder.weights
    rel = relpath("pad_file", sha256)  # named by the model store's rule; under static/, which Streamlit serves
    path = STATIC_DIR / rel
    mu = np.asarray(_mu, np.float32)
    blob = np.concatenate([weights.astype(np.float32), mu.ravel(), np.asarray(_labels, np.float32)])
    if not path.is_file() or path.stat().st_size != blob.nbytes:
        write_atomic(path, lambda f: f.write(blob.tobytes()))
    return {"id": rel.stem, "url": static_url(*rel.parts), "layers": layers, "latent_dim": int(mu.shape[1]),
            "n_points": int(len(mu)), "mu_offset": int(weights.size),
            "labels_offset": int(weights.size + mu.size)}


@st.cache_resource(show_spinner=False)
def _component():
    """Registered once per process: the decoder source is prepended to the component's module."""
    js = (HERE / "latent_pad_decoder.js").read_text() + "\n" + (HERE / "latent_pad.js").read_text()
    return st.components.v2.component("vae_explorer.latent_pad", html=(HERE / "latent_pad.html").read_text(),
                                      css=(HERE / "latent_pad.css").read_text(), js=js)


def latent_pad(model_info: dict, plane: Plane, z, *, z_nonce: int = 0, class_names=None, show_points: bool = True,
               slider_range: tuple[float, float] = (-4.0, 4.0), key: str = "latent_pad", pad_px: int = 300,
               digit_px: int = 140) -> list[float]:
    """Mount the pad and return the last committed z (a list of floats).

    z is where the pad starts; it is applied again only when z_nonce changes, so reruns never undo the user's
    dragging. Streamlit stores the committed value under st.session_state[key]["z"] (tests inject it there).
    """
    data = {
        "model": model_info,
        "plane": {"origin": plane.origin, "u": plane.u, "v": plane.v, "extent": plane.extent,
                  "axis_labels": plane.axis_labels},
        "z": [float(x) for x in z], "z_nonce": int(z_nonce), "slider_range": list(slider_range),
        "colors": CLASS_COLORS, "class_names": list(class_names or [str(c) for c in range(10)]),
        "show_points": show_points, "pad_px": pad_px, "digit_px": digit_px,
    }
    # One JSON string under one key: the frontend does not re-invoke an unchanged pad (tests count invocations), and
    # a dict of plain values skips Streamlit's dataframe detection, which imports pandas (0.4 s of the cold start)
    # for any other data, a bare string included.
    result = _component()(key=key, data={"spec": json.dumps(data)}, default={"z": [float(x) for x in z]},
                          on_z_change=lambda: None)
    value = result.z if result is not None else None
    return [float(x) for x in value] if value is not None and len(value) == len(plane.origin) else list(map(float, z))
