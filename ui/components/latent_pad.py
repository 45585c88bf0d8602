"""The latent surface: a Streamlit Components v2 element where the map of the test digits is the decoder.

Every test digit is drawn at its posterior mean (a plane through latent space, or a t-SNE view), and the digit at the
point under the cursor is decoded in JavaScript (latent_pad_decoder.js) every animation frame: `st.slider` sends its
value only on release and a Python round trip per frame is too slow. Clicking a dot selects that digit in the browser
at once (its picture, its reconstruction, its posterior ellipse); zoomed in, the dots become the digits. Python hears
z on release and the selected digit (or a clicked mark, on Reconstruct); mount it inside an `st.fragment` so that
those rerun just the fragment.

The decoder's weights (vae.numpy_model's layer list) with the test set's posterior means, sigmas and labels go to the
browser once per model as one static file named by the model store (`static/`, served because
`server.enableStaticServing = true`): passing 2 MB through `data` would re-serialise and hash it on every rerun
(measured 17-44 ms). The test digits' pictures follow in a second, gzipped file, fetched after the map is drawn.
"""
from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st

from ui.palette import CLASS_COLORS
from vae.atomic import write_atomic
from vae.numpy_model import NumpyDecoder
from vae.plot_window import plot_window
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


def dims_plane(latent_dim: int, i: int, j: int, mu: np.ndarray) -> Plane:
    """The plane of latent dimensions i and j (the other dimensions keep their slider values)."""
    eye = np.eye(latent_dim)
    return Plane((0.0,) * latent_dim, tuple(eye[i]), tuple(eye[j]), plot_window(mu[:, [i, j]]),
                 (f"z{i + 1}", f"z{j + 1}"))


def pca_plane(pca, points2d: np.ndarray) -> Plane:
    """The plane of the first two principal components of the posterior means (sklearn PCA): pad point (a, b) is
    pca.inverse_transform([a, b]) plus whatever the sliders hold off the plane."""
    return Plane(tuple(map(float, pca.mean_)), tuple(map(float, pca.components_[0])),
                 tuple(map(float, pca.components_[1])), plot_window(points2d), ("PC1", "PC2"))


def static_url(subdir: str, name: str) -> str:
    """Where the browser finds STATIC_DIR/subdir/name (Streamlit serves static/ at app/static/)."""
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    return "/" + "/".join(p for p in (base, "app/static", subdir, name) if p)


def write_static_gz(rel, data: bytes) -> str:
    """Write `data` gzipped as STATIC_DIR/<rel>.gz (once: kept while its size on disk says the same bytes) and return
    its URL. Gzipped here, once, because the server would otherwise gzip the file on every request (Streamlit's
    middleware compresses the app's static files, except archives): 0.16-0.25 s of server CPU per student for the
    2.3 MB surface file, more for the dial's. The browser unpacks it (DecompressionStream)."""
    path = STATIC_DIR / f"{rel}.gz"
    stamp = path.with_name(path.name + ".size")  # the raw size: a model's file changes size when its data does
    if not (path.is_file() and stamp.is_file() and stamp.read_text() == str(len(data))):
        write_atomic(path, lambda f: f.write(gzip.compress(data, compresslevel=6, mtime=0)))
        write_atomic(stamp, lambda f: f.write(str(len(data)).encode()))
    return static_url(*Path(f"{rel}.gz").parts)


# The component's JS as Streamlit receives it: a few lines that import the real code from a static file. Streamlit
# puts a component's JS into every message that draws it, so the whole 39 KB went to the browser with every release
# of every student (measured with py-spy under bench/load.py: hashing those messages alone was ~4 % of the server's
# CPU). The file is named by its content's hash: a browser fetches and keeps each version once.
LOADER_JS = """const url = new URL(%s, window.location.href).href;
// One module per code file for the page's life (its state, e.g. where each surface's z is, outlives remounts),
// kept on window in case Streamlit evaluates this loader again; forgotten after a failure, so a later mount retries.
const modules = (window.__vaeModules = window.__vaeModules || {});
const load = () => modules[url] || (modules[url] = fetch(url)
  .then((r) => { if (!r.ok) throw new Error(r.status + " " + r.statusText); return r.text(); })
  // imported from a blob, so the server's content type for .js files does not matter
  .then((text) => import(URL.createObjectURL(new Blob([text], {type: "text/javascript"}))))
  .catch((error) => { delete modules[url]; throw error; }));
// Files the component reads first (data.prefetch, URLs separated by spaces) start downloading with its code, not
// after it; the code takes each from window.__vaeEarly once (leaving null: a remount fetches nothing again, a new
// version of the code fetches it itself). A failed download is forgotten, so a later mount tries again.
const early = (window.__vaeEarly = window.__vaeEarly || new Map());
export default function (component) {
  for (const u of String((component.data && component.data.prefetch) || "").split(" ").filter(Boolean))
    if (!early.has(u)) early.set(u, fetch(u).catch((error) => { early.delete(u); throw error; }));
  let cleanup = null, gone = false;
  const say = (text) => {
    const el = component.parentElement.querySelector("[data-status]");
    if (el) el.textContent = text;
  };
  load().then((m) => {
    if (gone) return;
    try { cleanup = m.default(component); }
    catch (error) { say("This component stopped with an error: " + error.message); console.error(error); }
  }, (error) => {
    say("Could not load this component's code (reload the page): " + error.message);
    console.error(error);
  });
  return () => { gone = true; if (typeof cleanup === "function") cleanup(); };
}
"""


def component_js(name: str) -> str:
    """A map component's module source: the decoder (latent_pad_decoder.js) and the shared geometry
    (plane_geometry.js), plain functions with no imports or exports, then the component's own <name>.js."""
    return "\n".join((HERE / f).read_text() for f in ("latent_pad_decoder.js", "plane_geometry.js", f"{name}.js"))


def module_loader(name: str, source: str) -> str:
    """JS for st.components.v2.component(js=...) that runs `source` (an ES module with a default export), served
    from STATIC_DIR/components/<name>-<hash>.js."""
    rel = Path("components", f"{name}-{hashlib.sha256(source.encode()).hexdigest()[:16]}.js")
    path = STATIC_DIR / rel
    if not path.is_file():
        write_atomic(path, lambda f: f.write(source.encode()))
        for old in path.parent.glob(f"{name}-*.js"):  # this code's earlier versions: a new server sends only this one
            if old != path:
                old.unlink(missing_ok=True)
    return LOADER_JS % json.dumps(static_url(*rel.parts))


@st.cache_resource(max_entries=16, show_spinner=False)
def publish_model(sha256: str, _decoder: NumpyDecoder, _mu: np.ndarray, _labels: np.ndarray,
                  _sigma: np.ndarray | None = None) -> dict:
    """Write the decoder weights, posterior means (and sigmas: the selected digit's ellipse) and labels as one
    float32 file under static/ (once per model) and return what the browser needs to read it. Cached by the
    checkpoint's hash, so reruns cost nothing."""
    layers, weights = list(_decoder.layers), _decoder.weights
    rel = relpath("pad_file", sha256)  # named by the model store's rule; under static/, which Streamlit serves
    mu = np.asarray(_mu, np.float32)
    sigma = np.asarray(_sigma if _sigma is not None else np.zeros_like(mu), np.float32)
    blob = np.concatenate([weights.astype(np.float32), mu.ravel(), sigma.ravel(), np.asarray(_labels, np.float32)])
    url = write_static_gz(rel, blob.tobytes())
    return {"id": rel.stem, "url": url, "gz": True, "layers": layers, "latent_dim": int(mu.shape[1]),
            "n_points": int(len(mu)), "mu_offset": int(weights.size),
            "sigma_offset": int(weights.size + mu.size) if _sigma is not None else 0,
            "labels_offset": int(weights.size + 2 * mu.size)}


@st.cache_resource(max_entries=4, show_spinner=False)
def publish_images(dataset: str, n: int, _load: Callable[[], np.ndarray]) -> dict:
    """The n test digits themselves, (n, 784) uint8 gzipped (MNIST: 1.6 MB) under static/, for the selected digit's
    picture and the zoomed-in map; the browser fetches them after the map is drawn and unpacks them
    (DecompressionStream). One file per dataset and size; _load() gives the images, (n, 28, 28) uint8, and is called
    only to write that file (reading them took ~0.1 s of the first page's cold start)."""
    name = f"images-{dataset}-{n}.u8.gz"
    path = STATIC_DIR / "latent_pad" / name
    if not path.is_file():
        images = np.ascontiguousarray(_load(), np.uint8).reshape(n, -1)
        write_atomic(path, lambda f: f.write(gzip.compress(images.tobytes(), compresslevel=6, mtime=0)))
    return {"url": static_url("latent_pad", name), "n": int(n)}


@st.cache_resource(max_entries=8, show_spinner=False)
def publish_points(sha256: str, method: str, _points: np.ndarray) -> dict:
    """A 2-D view with no inverse (t-SNE): each test digit's position, float32 (N, 2), for the surface's snap mode."""
    rel = relpath("pad_file", sha256, method)
    path = STATIC_DIR / rel
    pts = np.ascontiguousarray(_points, np.float32)
    if not path.is_file() or path.stat().st_size != pts.nbytes:
        write_atomic(path, lambda f: f.write(pts.tobytes()))
    return {"url": static_url(*rel.parts)}


@st.cache_resource(show_spinner=False)
def _component():
    """Registered once per process: the decoder and the shared geometry are prepended to the component's module."""
    js = component_js("latent_pad")
    return st.components.v2.component("vae_explorer.latent_pad", html=(HERE / "latent_pad.html").read_text(),
                                      css=(HERE / "latent_pad.css").read_text(), js=module_loader("latent_pad", js))


# The keys of the focused map, under it on every page that shows one (the map's accessible name says them in words)
KEYS_HINT = ("Once the map has focus (click it or Tab to it): arrows move z (Shift: larger steps) · Enter or "
             "Space: select the test digit nearest z · Esc: clear the selection · + / −: zoom at z · W A S D: pan · "
             "0: the whole map · Home: z to the origin.")


@dataclass
class PadState:
    """What the surface last told Python."""
    z: list[float]  # the committed z (on release)
    selected: int | None  # the test digit clicked on the map, or None
    mark: int | None  # the mark (Reconstruct: an upload or drawing) clicked on the map, or None


def latent_pad(model_info: dict, plane: Plane, z, *, z_nonce: int = 0, class_names=None, show_points: bool = True,
               slider_range: tuple[float, float] = (-4.0, 4.0), key: str = "latent_pad", surface_px: int = 640,
               digit_px: int = 196, images: dict | None = None, view: dict | None = None,
               selected: int | None = None, select_nonce: int = 0, marks: list[dict] | None = None,
               highlight: int | None = None, large: bool = False, hint: str = "", hint_touch: str = "",
               axis_labels: tuple[str, str] | None = None) -> PadState:
    """Mount the latent surface and return what it last committed.

    z is where it starts; it is applied again only when z_nonce changes, so reruns never undo the user's dragging
    (likewise `selected` with select_nonce). images: publish_images(...), for the selection's picture and the
    zoomed-in map. view: publish_points(...) for a view with no inverse (t-SNE): the pointer then picks the nearest
    digit. marks: [{"z", "sigma", "name", "short", "image" (base64 of 784 uint8)}] drawn numbered, with their
    ellipses; `highlight` is the one drawn red. hint: the gestures, said under the map (hint_touch on a touch
    screen). Streamlit stores the committed values under
    st.session_state[key] ("z", "selected", "mark"; tests inject them there).
    """
    data = {
        "model": model_info,
        "plane": {"origin": plane.origin, "u": plane.u, "v": plane.v, "extent": plane.extent,
                  "axis_labels": plane.axis_labels},
        "axis_labels": list(axis_labels or plane.axis_labels),
        "z": [float(x) for x in z], "z_nonce": int(z_nonce), "slider_range": list(slider_range),
        "colors": CLASS_COLORS, "class_names": list(class_names or [str(c) for c in range(10)]),
        "show_points": show_points, "surface_px": int(surface_px), "digit_px": int(digit_px),
        "images": images, "view": view, "selected": selected, "select_nonce": int(select_nonce),
        "marks": marks or [], "highlight": highlight, "large": bool(large), "hint": hint, "hint_touch": hint_touch,
        "keys_hint": KEYS_HINT,
    }
    # Two plain strings (the spec as JSON, the URLs the loader fetches early): the frontend does not re-invoke an
    # unchanged pad (tests count invocations), and a dict of plain values skips Streamlit's dataframe detection, which
    # imports pandas (0.4 s of the cold start) for any other data, a bare string included.
    prefetch = " ".join(f["url"] for f in (model_info, view) if f)  # the first files the surface needs
    result = _component()(key=key, data={"spec": json.dumps(data), "prefetch": prefetch},
                          default={"z": [float(x) for x in z]},
                          on_z_change=lambda: None, on_selected_change=lambda: None, on_mark_change=lambda: None)
    value = getattr(result, "z", None) if result is not None else None
    z_out = [float(x) for x in value] if value is not None and len(value) == len(plane.origin) else list(map(float, z))
    sel = getattr(result, "selected", None) if result is not None else None
    mark = getattr(result, "mark", None) if result is not None else None
    n = model_info.get("n_points", 0)
    return PadState(z_out, int(sel) if isinstance(sel, (int, float)) and 0 <= sel < n else None,
                    int(mark) if isinstance(mark, (int, float)) and 0 <= mark < len(marks or []) else None)
