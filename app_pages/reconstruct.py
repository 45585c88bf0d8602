"""Reconstruct a digit: test digits, your own images or a drawing go through the encoder and decoder. Shows the
MNIST preprocessing step by step, the reconstruction, and where the digit lands on the latent map with its
posterior q(z|x) drawn as an ellipse at true scale."""
from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import numpy as np
import streamlit as st

import vae
from ui import images, keys, pages
from ui.components.draw_canvas import draw_canvas
from ui.cache import current_numpy_model, map_view
from ui.components.latent_pad import dims_plane, latent_pad, pca_plane, publish_model
from ui.state import current_checkpoint, init_state, model_summary, test_arrays, test_split
from vae import latent
from vae.digits import InputError, Preprocessed, preprocess

MAX_UPLOADS = 8  # each upload gets its own row of pictures; more than this is a wall of images on a projector
GALLERY_SIZE = 8
STEP_PX = 84  # every preprocessing step is shown this wide (fits seven columns on a narrow page)
LARGE_TYPE_STEP_PX, LARGE_TYPE_STEPS_PER_ROW = 120, 4  # with large type: wide enough for a caption's longest word
DIGIT_SCALE = 4  # 28 px digits shown 4x, nearest neighbour (crisp pixels) ...
DIGIT_PX = 28 * DIGIT_SCALE  # ... at exactly that width


# ---- cached data (keyed by the checkpoint's content hash) ----------------------------------------------------------

@st.cache_data(max_entries=64, show_spinner=False)
def prepared(data: bytes) -> Preprocessed:
    """An uploaded file through the MNIST recipe, cached on its content (reruns do not redo it)."""
    return preprocess(data)


# ---- pictures ----------------------------------------------------------------------------------------------------

def step_picture(image: np.ndarray) -> np.ndarray:
    """Small steps (20 or 28 px) are enlarged with crisp pixels; big ones are shown as they are."""
    return images.to_uint8(image, max(1, STEP_PX // max(image.shape[:2])))


def error_rgb(x: np.ndarray, recon: np.ndarray, scale: int = DIGIT_SCALE) -> np.ndarray:
    """Per-pixel error on white: red where the reconstruction adds ink, blue where it misses ink."""
    d = np.clip(recon - x, -1, 1)
    rgb = np.ones(x.shape + (3,), np.float32)
    rgb[..., 1] -= np.abs(d)  # green falls with either error
    rgb[..., 0] -= np.clip(-d, 0, 1)  # missing ink: blue
    rgb[..., 2] -= np.clip(d, 0, 1)  # extra ink: red
    return images.to_uint8(rgb, scale)


def tile(pictures: list[np.ndarray], gap: int = 4) -> np.ndarray:
    """Side by side, separated by white gaps (for RGB pictures, which images.grid does not take)."""
    h = pictures[0].shape[0]
    white = np.full((h, gap) + pictures[0].shape[2:], 255, np.uint8)
    parts = [p for pic in pictures for p in (pic, white)][:-1]
    return np.concatenate(parts, axis=1)


# ---- one digit: steps, reconstruction, posterior -----------------------------------------------------------------

@st.cache_data(max_entries=64, show_spinner=False)
def step_pngs(digest: str, _prep: Preprocessed) -> list[bytes]:
    """The steps' pictures as PNG bytes, per source image (digest): every rerun of the page (a new ε, another
    upload) would otherwise encode them all again."""
    return [images.png_bytes_uint8(step_picture(step.image)) for step in _prep.steps]


def show_steps(prep: Preprocessed, source: str = "the image") -> None:
    # Large type: eight 84 px pictures in a row left "Background" split mid-word in its caption; four to a row,
    # wider.
    large = st.session_state.get(keys.LARGE_TYPE)
    per_row = LARGE_TYPE_STEPS_PER_ROW if large else len(prep.steps)
    cols = [col for _ in range(0, len(prep.steps), per_row) for col in st.columns(per_row)]
    digest = hashlib.sha256(prep.steps[0].image.tobytes()).hexdigest()  # the source image, as loaded
    for i, (col, step, png) in enumerate(zip(cols, prep.steps, step_pngs(digest, prep))):
        # A fixed width: otherwise a long caption widens its figure and stretches the picture with it.
        col.image(png, caption=f"{i + 1}. {step.title}", width=LARGE_TYPE_STEP_PX if large else STEP_PX,
                  output_format="PNG", alt=f"{source}, step {i + 1} of {len(prep.steps)}: {step.title}")
    with st.expander("What happened at each step"):
        st.markdown("\n".join(f"{i + 1}. **{s.title}.** {s.note}" for i, s in enumerate(prep.steps)))


def digit_result(ck: vae.Checkpoint, prep: Preprocessed, key: str, source: str = "the digit") -> dict:
    """The MNIST-style digit, its reconstruction from mu and from a random z; returns what the map needs."""
    mu, sigma = latent.posterior(ck.model, prep.digit[None])
    seed = st.session_state.setdefault(keys.digit_eps(key), 0)
    z = latent.sample_posterior(mu, sigma, seed=seed)
    from_mu, from_z = latent.decode(ck.model, np.concatenate([mu, z]))
    c1, c2, c3, c4 = st.columns([1, 1, 1, 1.6])
    for col, image, caption in ((c1, prep.digit, "the encoder's input x"), (c2, from_mu, "decoded from μ"),
                                (c3, from_z, f"decoded from z = μ + σ·ε (draw {seed + 1})")):
        col.image(images.to_uint8(image, DIGIT_SCALE), caption=caption, width=DIGIT_PX, output_format="PNG",
                  alt=f"{source}: {caption}, 28 by 28 pixels")
    with c4:
        st.markdown(posterior_text(mu[0], sigma[0], z[0]))
        st.caption("z changes with every ε; μ and σ do not.")
        st.button("Resample ε", key=keys.digit_resample(key), on_click=_bump, args=(keys.digit_eps(key),),
                  help="z = μ + σ·ε with a fresh ε ~ N(0, I): the encoder gives a distribution, not a point.")
    return {"mu": mu[0], "sigma": sigma[0], "z": z[0], "digit": prep.digit, "recon": from_mu}


def posterior_text(mu: np.ndarray, sigma: np.ndarray, z: np.ndarray, shown: int = 4) -> str:
    fmt = lambda v: ", ".join(f"{x:+.2f}" for x in v[:shown]) + (", …" if len(v) > shown else "")  # noqa: E731
    sig = ", ".join(f"{x:.3f}" for x in sigma[:shown]) + (", …" if len(sigma) > shown else "")
    return (f"q(z|x) = N(μ, diag σ²)  \nμ = ({fmt(mu)})  \nσ = ({sig})  \n"
            f"z = ({fmt(z)})")


def _bump(key: str) -> None:
    st.session_state[key] = st.session_state.get(key, 0) + 1


# ---- the latent map with posteriors ------------------------------------------------------------------------------

def posterior_map(ck: vae.Checkpoint, results: list[tuple[str, dict]], key: str) -> None:
    """The same surface as Explore, with each of your digits marked by its number and its own picture, and its
    posterior's 1-sigma ellipse (magnified, with the factor written, when too small to see)."""
    nm = current_numpy_model()
    dim = ck.model_config.latent_dim
    if dim < 2:
        st.info("This model's latent space has one dimension: there is no plane to draw.")
        return
    if dim == 2:
        plane = dims_plane(2, 0, 1, nm.mu)
    else:
        points, pca = map_view(ck.sha256, "pca", nm)
        plane = pca_plane(pca, points)
    labels = test_arrays(ck.dataset)[1]
    names = [name for name, _ in results]
    state_key = keys.map_highlight(key)
    if st.session_state.get(state_key) not in names:
        st.session_state[state_key] = names[0]
    marks = [{"z": r["mu"].tolist(), "sigma": r["sigma"].tolist(), "name": name,
              "short": name[1:] if name.startswith("#") else str(i + 1),
              "image": base64.b64encode(images.to_uint8(r["digit"], 1).tobytes()).decode("ascii")}
             for i, (name, r) in enumerate(results)]
    highlight = names.index(st.session_state[state_key])
    pad = latent_pad(publish_model(nm.sha256, nm.decoder, nm.mu, labels, nm.sigma), plane, results[highlight][1]["mu"],
                     z_nonce=highlight, key=keys.map_surface(key), marks=marks, highlight=highlight,
                     large=bool(st.session_state.get(keys.LARGE_TYPE)), digit_px=160, surface_px=560,
                     hint="Each of your digits is marked by its number, beside its own picture, at μ; the ring is "
                          "its posterior's 1σ ellipse. Hover to decode, scroll or pinch to zoom.")
    if pad.mark is not None and pad.mark != st.session_state.get(keys.map_mark_heard(key)):
        st.session_state[keys.map_mark_heard(key)] = pad.mark  # a mark clicked on the map: select its entry
        st.session_state[state_key] = names[pad.mark]
        st.rerun()
    if len(names) > 1:
        st.radio("Highlight", names, key=state_key, horizontal=True,
                 help="Or click a numbered mark on the map.")
    if dim > 2:
        st.caption(f"This model's latent space has {dim} dimensions, so the map is the same PCA view as on the "
                   "Explore page. The ellipse is the **projection** of the posterior onto this plane (its shadow: "
                   "covariance W·diag(σ²)·Wᵀ), not a slice through it.")


def download_reconstructions(results: list[tuple[str, dict]], key: str, file_stem: str) -> None:
    """Inputs on the top row, their reconstructions from μ below: one PNG for slides."""
    digits = np.stack([r["digit"] for _, r in results] + [r["recon"] for _, r in results])
    png = images.png_bytes(images.grid(digits, nrow=len(results)), scale=DIGIT_SCALE)
    st.download_button("Download the reconstructions (PNG)", png, file_name=f"{file_stem}.png", mime="image/png",
                       key=keys.map_download(key))


# ---- the three sources -------------------------------------------------------------------------------------------

@st.cache_data(max_entries=64, show_spinner=False)
def gallery(sha256: str, pool_class: int | None, seed: int, _model, _split: vae.Split) -> dict:
    """GALLERY_SIZE test digits (of one class, or any) and their reconstructions, as PNG bytes: cached, because
    every student opening the page sees the same first gallery and st.image would re-encode arrays each run."""
    labels = _split.labels.numpy()
    pool = np.flatnonzero(labels == pool_class) if pool_class is not None else np.arange(len(labels))
    idx = np.sort(np.random.default_rng(seed).choice(pool, GALLERY_SIZE, replace=False))
    x = _split.images[idx].numpy().astype(np.float32) / 255.0
    recon = latent.reconstruct(_model, x)
    strip = lambda a: images.png_bytes(images.grid(a, nrow=GALLERY_SIZE, padding=1), DIGIT_SCALE)  # noqa: E731
    return {"idx": idx.tolist(), "labels": labels[idx].tolist(), "x": strip(x), "recon": strip(recon),
            "error": images.png_bytes_uint8(tile([error_rgb(a, b) for a, b in zip(x, recon)])),
            "mae": np.abs(recon - x).mean(axis=(1, 2)).tolist(),
            "download": images.png_bytes(images.grid(np.concatenate([x, recon]), nrow=GALLERY_SIZE), DIGIT_SCALE)}


def test_digits_tab(ck: vae.Checkpoint, split: vae.Split) -> None:
    c1, c2, c3 = st.columns([2, 2, 1])
    which = c1.radio("Which digits", ["Random", "One class"], horizontal=True, key=keys.GALLERY_MODE)
    digit_class = c2.selectbox("Class", range(10), key=keys.GALLERY_CLASS, disabled=which == "Random")
    c3.button("New digits", key=keys.GALLERY_NEW, on_click=_bump, args=(keys.GALLERY_SEED,))
    g = gallery(ck.sha256, digit_class if which == "One class" else None, st.session_state.get(keys.GALLERY_SEED, 0),
                ck.model, split)
    digits = ", ".join(f"#{i} (a {c})" for i, c in zip(g["idx"], g["labels"]))
    for caption, png, alt in (
            ("original x", g["x"], f"{len(g['idx'])} test digits, left to right: {digits}"),
            ("reconstruction (decoded from μ)", g["recon"], "Their reconstructions, decoded from μ, in the same order"),
            ("error: red = extra ink, blue = missing ink", g["error"],
             "Each reconstruction's error in the same order: red where it adds ink, blue where it misses ink")):
        st.image(png, caption=caption, output_format="PNG", alt=alt)
    st.caption(f"Test digits #{', #'.join(map(str, g['idx']))}. Mean absolute pixel error per digit: "
               f"{', '.join(f'{v:.3f}' for v in g['mae'])}. Blurry, averaged strokes are typical of a VAE with a "
               "small latent space: the decoder draws the mean of p(x|z), not one sample.")
    st.download_button("Download originals and reconstructions (PNG)", g["download"], mime="image/png",
                       file_name=f"reconstructions-{ck.sha256[:8]}.png", key=keys.GALLERY_DOWNLOAD)


def upload_tab(ck: vae.Checkpoint) -> None:
    files = st.file_uploader("Photos, scans or drawings of digits (one digit per image)", accept_multiple_files=True,
                             key=keys.UPLOAD_FILES,
                             help="Any format Pillow reads (PNG, JPEG, GIF, TIFF, WebP, BMP …). Dark ink on light "
                                  "paper or light ink on dark both work.")
    if not files:
        st.info("Upload one or more images of handwritten digits. Each goes through MNIST's own preprocessing, "
                "shown step by step, then through the VAE.")
        return
    if len(files) > MAX_UPLOADS:
        st.warning(f"{len(files)} images uploaded: showing the first {MAX_UPLOADS}. Remove some to see others.")
    results = []
    for i, f in enumerate(files[:MAX_UPLOADS]):
        st.markdown(f"#### {i + 1}. {f.name}")
        try:
            prep = prepared(f.getvalue())
        except InputError as exc:
            st.error(f"**{f.name}**: {exc}")
            continue
        show_steps(prep, source=f"Upload {i + 1}, {f.name}")
        results.append((f"#{i + 1}", digit_result(ck, prep, key=keys.upload_digit(i), source=f"Upload {i + 1}")))
        st.divider()
    if results:
        st.subheader("Where your digits land")
        posterior_map(ck, results, key=keys.UPLOAD_MAP)
        download_reconstructions(results, keys.UPLOAD_MAP, f"my-digits-{ck.sha256[:8]}")


def draw_tab(ck: vae.Checkpoint) -> None:
    if st.session_state.get(keys.LARGE_TYPE):
        # A projector's page (1280 px, large type, the sidebar open) has no room for the canvas and four pictures
        # side by side: the pictures overlapped the canvas and each other. The results go under the canvas.
        left = right = st.container()
    else:
        left, right = st.columns([1, 2.2], gap="large")
    with left:
        ink = draw_canvas(key=keys.DRAW_CANVAS)
        st.caption("Mouse, pen or finger. The VAE sees your digit each time you lift the pen.")
    with right:
        if ink is None:
            st.info("Draw a digit on the canvas: the reconstruction appears when you finish a stroke. "
                    "Try a 7 with and without the bar, or something that is no digit at all.")
            return
        try:
            # The canvas sends ink (1 = ink); as paper (dark ink on white) it goes through the same steps as a scan.
            prep = preprocess(1.0 - ink)
        except InputError as exc:
            st.warning(str(exc))
            return
        result = digit_result(ck, prep, key=keys.DRAWN_DIGIT, source="Your drawing")
    st.markdown("**How your drawing became an MNIST-style digit**")
    show_steps(prep, source="Your drawing")
    posterior_map(ck, [("your drawing", result)], key=keys.DRAW_MAP)
    download_reconstructions([("your drawing", result)], keys.DRAW_MAP, f"my-drawing-{ck.sha256[:8]}")


def main() -> None:
    init_state()
    ck = current_checkpoint()
    st.title("Reconstruct a digit")
    try:
        split = test_split(ck.dataset)
    except vae.DataUnavailableError as exc:
        st.error(f"The {ck.dataset} test set is not available: {exc}")
        return
    name = ck.name or Path(st.session_state[keys.MODEL_PATH]).stem
    st.caption(f"Model: {model_summary(name, ck.model_config, ck.train_config)}. The encoder maps x to q(z|x) = "
               "N(μ,\u00a0diag\u00a0σ²); the decoder maps z back to an image.")  # the formula never split
    tab_test, tab_upload, tab_draw = st.tabs(pages.RECONSTRUCT_TABS)
    with tab_test:
        test_digits_tab(ck, split)
    with tab_upload:
        upload_tab(ck)
    with tab_draw:
        draw_tab(ck)


main()
