"""Explore the latent space on one surface: the map of the test digits' posterior means IS the decoder. Hover
anywhere and the digit at that z is decoded in the browser every frame; click a dot to select that test digit;
zoom in and the dots become the digits. Below: the decoded manifold, prior samples and interpolations.

Everything here draws from the model's NumPy form (vae.numpy_model: the decoder and the test set's posteriors),
not the torch checkpoint, and no Plotly: this is the page a class opens first, and importing torch would take 1.8 s
of it, drawing a Plotly chart several more (issue 11's cold-start goal)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

import vae
from ui import images, keys, pages, share
from ui.cache import current_numpy_model, manifold_png, map_view, view_is_quick
from ui.map_png import latent_scatter_png
from ui.components.latent_pad import (Plane, dims_plane, latent_pad, pca_plane, publish_images, publish_model,
                                      publish_points)
from ui.state import init_state, keep_widget_values, model_summary, test_arrays, test_labels
from vae import latent
from vae.numpy_model import NumpyDecoder, NumpyModel
from vae.plot_window import percentiles, plot_window

DIGIT_PX = 112  # a 28 x 28 digit shown 4x


# ---- cached geometry and pictures ------------------------------------------------------------------------------

# The pad's geometry takes percentiles over the 10k means: cached per model, since the pad's fragment reruns on every
# release of every student.
@st.cache_data(max_entries=64, show_spinner=False)
def pad_dims_plane(sha256: str, i: int, j: int, _mu: np.ndarray):
    return dims_plane(_mu.shape[1], i, j, _mu)


@st.cache_data(max_entries=16, show_spinner=False)
def pad_pca_plane(sha256: str, _pca, _points: np.ndarray):
    return pca_plane(_pca, _points)


@st.cache_data(max_entries=16, show_spinner=False)
def slider_limit(sha256: str, _mu: np.ndarray) -> float:
    return float(max(4.0, np.ceil(percentiles(np.abs(_mu), [99.5])[0])))


# The pictures below are cached as PNG bytes, not arrays: st.image would re-encode an array on every run (the
# manifold alone took ~45 ms of each student's first visit), while bytes pass through untouched. The download
# buttons hand out the same bytes.

@st.cache_data(max_entries=64, show_spinner=False)
def prior_png(sha256: str, seed: int, _decoder: NumpyDecoder) -> bytes:
    return images.png_bytes(images.grid(latent.prior_samples(_decoder, 32, seed=seed), nrow=16), 2)


@st.cache_data(max_entries=64, show_spinner=False)
def interpolation_png(sha256: str, a: int, b: int, steps: int, mode: str, _decoder: NumpyDecoder,
                      _mu: np.ndarray) -> bytes:
    return images.png_bytes(images.grid(latent.interpolate(_decoder, _mu[a], _mu[b], steps=steps, mode=mode),
                                        nrow=steps), 2)


@st.cache_data(max_entries=64, show_spinner=False)
def test_digits_png(dataset: str, indices: tuple[int, ...], _images: np.ndarray) -> bytes:
    return images.png_bytes(images.grid(_images[list(indices)] / 255.0, nrow=len(indices)), 2)


# ---- sections ----------------------------------------------------------------------------------------------------

VIEWS_HIGH_D = ["the PCA plane", "t-SNE", "two latent dimensions"]
GESTURES_TOUCH = ("Tap or drag: move z and decode it · tap a dot: select that test digit · pinch: zoom · two "
                  "fingers: pan.")
GESTURES = ("Hover: decode the point under the cursor · press and drag: move z · click a dot: select that test "
            "digit · scroll or pinch: zoom · Shift+drag or two fingers: pan.")


def surface_plane(ck: NumpyModel, mu: np.ndarray) -> tuple[Plane, dict | None, np.ndarray] | None:
    """The plane the surface shows, for t-SNE the points file (that view has no inverse), and the test digits'
    2-D positions in it (for the PNG download); None when there is nothing to draw yet."""
    dim = ck.model_config.latent_dim
    if dim == 2:
        return pad_dims_plane(ck.sha256, 0, 1, mu), None, mu
    kind = st.radio(f"View of the {dim}-D means", VIEWS_HIGH_D, horizontal=True, key=keys.EXPLORE_VIEW,
                    help="The PCA plane: the two directions along which the means vary most; moving there moves z "
                         "along them (the other directions keep their slider values). t-SNE keeps neighbours "
                         "together but distorts distances and has no inverse: there the map decodes the mean of "
                         "the digit nearest the cursor. t-SNE takes about a minute, once per model.")
    if kind == "the PCA plane":
        points, pca = map_view(ck.sha256, "pca", ck)
        return pad_pca_plane(ck.sha256, pca, points), None, points
    if kind == "t-SNE":
        if not (view_is_quick(ck, "tsne") or st.session_state.get(keys.TSNE_READY) == ck.sha256):
            st.info("t-SNE is slow (about a minute on this machine), so it runs only when you ask. "
                    "It is saved, so each model needs it once.")
            if not st.button("Compute the t-SNE view", key=keys.COMPUTE_TSNE):
                return None
            st.session_state[keys.TSNE_READY] = ck.sha256
        points, _ = map_view(ck.sha256, "tsne", ck)
        eye = np.eye(dim)
        plane = Plane((0.0,) * dim, tuple(eye[0]), tuple(eye[1]), plot_window(points), ("t-SNE 1", "t-SNE 2"))
        return plane, publish_points(ck.sha256, "tsne", points), points
    c1, c2 = st.columns(2)
    order = dims_by_variance(ck.sha256, mu)
    i = c1.selectbox("Horizontal axis", order, index=0, format_func=lambda d: f"z{d + 1}", key=keys.PAD_I)
    j = c2.selectbox("Vertical axis", order, index=1, format_func=lambda d: f"z{d + 1}", key=keys.PAD_J)
    if i == j:
        st.warning("Pick two different dimensions.")
        return None
    return pad_dims_plane(ck.sha256, i, j, mu), None, mu[:, [i, j]]


@st.fragment
def surface_section(ck: NumpyModel, labels: np.ndarray) -> None:
    """The one surface. A fragment: a release or a click reruns only this, not the tabs below."""
    mu, sigma = ck.mu, ck.sigma
    dim = ck.model_config.latent_dim
    if dim == 1:
        st.info("This model has a 1-D latent space: there is no plane to draw. Prior samples and interpolation "
                "work: open “More views of the decoder” below.")
        return
    chosen = surface_plane(ck, mu)
    if chosen is None:
        return
    plane, view, points = chosen
    large = bool(st.session_state.get(keys.LARGE_TYPE))
    start = st.session_state.get(keys.PAD_START)
    start = start if start is not None and len(start) == dim else [0.0] * dim
    limit = slider_limit(ck.sha256, mu)
    # The selection Python asks for (a link, the maths page) goes into the component's data only when its nonce
    # changes: a click in the browser must not change the data, or the component would be rebuilt after each one.
    nonce = st.session_state.get(keys.SELECT_NONCE, 0)
    asked = st.session_state.setdefault(keys.SELECT_ASKED, {"nonce": None, "digit": None})
    if asked["nonce"] != nonce:
        asked.update(nonce=nonce, digit=st.session_state.get(keys.EXPLORE_DIGIT))
    # The digit beside the map: 200 px on a laptop, 224 with large type, where a projector's 1280 x 720 still
    # leaves the map >= 60 % of the height beside it (with the sidebar open)
    pad = latent_pad(publish_model(ck.sha256, ck.decoder, mu, labels, sigma), plane, start,
                     z_nonce=st.session_state.get(keys.PAD_NONCE, 0), slider_range=(-limit, limit),
                     key=keys.LATENT_PAD,
                     images=publish_images(ck.dataset, len(labels), lambda: test_arrays(ck.dataset)[0]), view=view,
                     selected=asked["digit"], select_nonce=nonce, large=large, digit_px=224 if large else 200,
                     surface_px=640, hint=GESTURES, hint_touch=GESTURES_TOUCH)
    # What Python last heard: a release sends z, a click on a dot the digit (and the browser moves z to its mu)
    heard = st.session_state.setdefault(keys.EXPLORE_HEARD, {"z": start, "selected": None})
    if pad.selected != heard["selected"]:
        heard["selected"] = pad.selected
        st.session_state[keys.EXPLORE_DIGIT] = pad.selected
        if pad.selected is not None:
            heard["z"] = mu[pad.selected].tolist()
        heard["heard_you"] = True
    elif pad.z != heard.get("sent"):
        heard["z"] = pad.z
        heard["heard_you"] = "sent" in heard  # not the first run's starting point
    heard["sent"] = pad.z
    index = st.session_state.get(keys.EXPLORE_DIGIT)
    z = heard["z"] if len(heard["z"]) == dim else start
    share.write_link(z, index)
    coords = ", ".join(f"{v:+.2f}" for v in z[:6]) + (", …" if dim > 6 else "")
    if not heard.get("heard_you"):  # nothing let go of or clicked yet
        st.markdown(f"Python received **z = ({coords})**, the starting point; it hears z again when you let go.")
    else:
        st.markdown(f"Python received **z = ({coords})** when you let go.")
    axes = tuple(a.replace("₁", "1").replace("₂", "2") for a in plane.axis_labels)
    st.download_button("Download the map (PNG)", key=keys.DOWNLOAD_MAP, mime="image/png",
                       file_name=f"latent-map-{ck.sha256[:8]}-{axes[0]}-{axes[1]}.png".replace(" ", ""),
                       data=lambda: latent_scatter_png(points, labels, axis_titles=axes))
    if index is not None and 0 <= index < len(mu):
        chosen_digit(ck, index, labels)


def chosen_digit(ck: NumpyModel, index: int, labels: np.ndarray) -> None:
    """What Python adds to a digit selected on the map: its posterior per dimension, and interpolation."""
    mu, sigma = ck.mu, ck.sigma
    with st.container(border=True):
        st.markdown(f"**Test digit #{index}** (label {int(labels[index])}): its posterior q(z|x) = N(μ, diag σ²)")
        rows = [f"| z{i + 1} | {m:+.2f} | {s:.3f} |" for i, (m, s) in enumerate(zip(mu[index], sigma[index]))]
        st.markdown("| dim | μ | σ |\n|---|---|---|\n" + "\n".join(rows[:8]))
        if len(rows) > 8:
            st.caption(f"(first 8 of {len(rows)} dimensions)")
        b1, b2 = st.columns(2)
        if b1.button("Interpolate from it", key=keys.DIGIT_TO_A):
            st.session_state[keys.INTERP_A] = index
            show_interpolation()
        if b2.button("Interpolate to it", key=keys.DIGIT_TO_B):
            st.session_state[keys.INTERP_B] = index
            show_interpolation()


def show_interpolation() -> None:
    """Open the Interpolation tab (and the expander holding it), which lie outside the surface's fragment."""
    st.session_state[keys.EXPLORE_MORE] = True
    st.session_state[keys.EXPLORE_TAB] = pages.EXPLORE_TABS[2]
    st.rerun()


@st.cache_data(max_entries=16, show_spinner=False)
def dims_by_variance(sha256: str, _mu: np.ndarray) -> list[int]:
    """The latent dimensions, the one along which the test digits' means vary most first."""
    return [int(d) for d in np.argsort(-np.var(_mu, axis=0), kind="stable")]


def manifold_section(ck: NumpyModel, mu: np.ndarray) -> None:
    dim = ck.model_config.latent_dim
    c1, c2, c3, c4 = st.columns(4)
    n = c1.slider("Grid size n", 5, 30, 15, key=keys.MANIFOLD_N)
    plane, axes, names = ("dims", 0, 1), None, ("z1", "z2")
    if dim > 2:
        # Not (z1, z2) with the other dimensions at 0: in 20-D, two of twenty coordinates barely move the digit
        # (the grid was ~225 near-identical 8s). The PCA plane of the means, or the two most varied dimensions.
        kind = c2.radio("The grid spans", ["the PCA plane", "two latent dimensions"], key=keys.MANIFOLD_PLANE,
                        help="The PCA plane: the two directions along which the test digits' means vary most. "
                             "Two dimensions: the others are held at 0; the lists start with the most varied.")
        if kind == "the PCA plane":
            _, pca = map_view(ck.sha256, "pca", ck)
            plane, axes, names = ("pca",), np.asarray(pca.components_[:2], np.float32), ("PC1", "PC2")
        else:
            order = dims_by_variance(ck.sha256, mu)
            i = c3.selectbox("Horizontal dimension", order, 0, format_func=lambda d: f"z{d + 1}", key=keys.MANIFOLD_I)
            j = c4.selectbox("Vertical dimension", order, 1, format_func=lambda d: f"z{d + 1}", key=keys.MANIFOLD_J)
            if i == j:
                st.warning("Pick two different dimensions.")
                return
            plane, names = ("dims", i, j), (f"z{i + 1}", f"z{j + 1}")
    if dim < 2:
        st.info("The manifold grid needs at least two latent dimensions.")
        return
    png = manifold_png(ck.sha256, n, plane, ck.decoder, axes)
    if plane[0] == "pca":
        over = ("over the plane of the test digits' two principal components through z = 0, z = a·PC1 + b·PC2 "
                "(unit directions; the prior is round, so along each it is N(0, 1))")
    else:
        over = f"over ({names[0]}, {names[1]})" + ("" if dim == 2 else f" (the other {dim - 2} dimensions held at 0)")
    article = "an" if n in (8, 11, 18) else "a"  # the grid sizes offered are 5 to 30
    st.image(png, output_format="PNG",
             alt=f"{article.capitalize()} {n} by {n} grid of images decoded by the model at evenly spaced prior "
                 f"quantiles of {names[0]} (left to right) and {names[1]} (bottom to top).")
    st.caption(f"The decoder's mean image at each point of {article} {n}×{n} grid {over}. The coordinates are "
               "Φ⁻¹ of evenly spaced probabilities from 0.05 to 0.95 (Φ is the standard normal CDF), so every cell "
               "holds the same prior mass, as in Kingma & Welling (2013), fig. 4.")
    st.download_button("Download the grid (PNG)", png, key=keys.DOWNLOAD_MANIFOLD, mime="image/png",
                       file_name=f"manifold-{ck.sha256[:8]}-{'-'.join(map(str, plane))}-{n}x{n}.png")


def prior_section(ck: NumpyModel) -> None:
    seed = st.session_state.setdefault(keys.PRIOR_SEED, 0)
    if st.button("Draw new samples", key=keys.PRIOR_NEW):
        seed = st.session_state[keys.PRIOR_SEED] = seed + 1
    st.image(prior_png(ck.sha256, seed, ck.decoder), output_format="PNG",
             alt=f"32 images decoded from random prior samples z ~ N(0, I), draw {seed + 1}, in two rows of 16.")
    st.caption("z ~ N(0, I), the prior, then the decoder's mean image. Where the posteriors do not cover the "
               "prior, samples look like no digit at all.")


def interpolation_section(ck: NumpyModel, labels: np.ndarray) -> None:
    mu = ck.mu
    test_images = test_arrays(ck.dataset)[0]
    st.session_state.setdefault(keys.INTERP_A, 0)
    st.session_state.setdefault(keys.INTERP_B, 1)
    c1, c2, c3 = st.columns(3)
    a = c1.number_input("From test digit #", 0, len(mu) - 1, key=keys.INTERP_A)
    b = c2.number_input("To test digit #", 0, len(mu) - 1, key=keys.INTERP_B)
    steps = c3.slider("Steps", 3, 16, 10, key=keys.INTERP_STEPS)
    ends = f"test digit #{a} (a {int(labels[a])}) and test digit #{b} (a {int(labels[b])})"
    st.image(test_digits_png(ck.dataset, (a, b), test_images), output_format="PNG",
             caption=f"#{a} (label {int(labels[a])}) and #{b} (label {int(labels[b])})", alt=f"The two ends: {ends}.")
    for mode in ("linear", "spherical"):
        st.image(interpolation_png(ck.sha256, a, b, steps, mode, ck.decoder, mu), caption=mode, output_format="PNG",
                 alt=f"{steps} images decoded along the {mode} path in latent space from the mean of test digit #{a} "
                     f"(a {int(labels[a])}) to that of #{b} (a {int(labels[b])}), left to right.")
    st.caption("Linear: z(t) = (1 − t) μ_a + t μ_b. Spherical (slerp): z(t) = [sin((1 − t)Ω) μ_a + sin(tΩ) μ_b] / "
               "sin Ω, with Ω the angle between μ_a and μ_b; it keeps the norm that prior samples have in many "
               "dimensions, where the straight line passes close to the origin.")


def main() -> None:
    init_state()
    ck = current_numpy_model()
    try:  # the labels alone: the images are read only if a tab or the surface's file needs them
        labels = test_labels(ck.dataset)
    except vae.DataUnavailableError as exc:
        st.title("Explore the latent space")
        st.error(f"The {ck.dataset} test set is not available: {exc}")
        return
    st.title("Explore the latent space")
    name = ck.name or Path(st.session_state[keys.MODEL_PATH]).stem
    st.caption(f"Model: {model_summary(name, ck.model_config, ck.train_config)}. Each dot is one test digit x at the "
               "mean μ(x) of its posterior q(z|x), coloured by its true label (the VAE never saw the labels).")
    share.apply_link(ck.mu)
    surface_section(ck, labels)

    # A lazy expander of lazy tabs: only what is open runs and is sent. On a student's first visit the open tab's
    # slider and picture cost the page ~0.13 s before the map showed (the browser loads, compiles and lays out each
    # widget kind before it shows the page): the first render holds only Streamlit's frontend and the surface.
    more = st.expander("More views of the decoder: the manifold grid, prior samples, interpolation",
                       key=keys.EXPLORE_MORE, on_change="rerun")
    if not more.open:
        # their widgets are not drawn: kept, or "Interpolate from it", closing the views, "Interpolate to it" lost
        # the first digit
        keep_widget_values(keys.EXPLORE_TAB, *(key for tab in keys.EXPLORE_TAB_WIDGETS for key in tab))
        return
    with more:
        explore_tabs(ck, labels)


def explore_tabs(ck: NumpyModel, labels: np.ndarray) -> None:
    tab_grid, tab_prior, tab_interp = st.tabs(pages.EXPLORE_TABS, key=keys.EXPLORE_TAB, on_change="rerun")
    for tab, widgets in zip((tab_grid, tab_prior, tab_interp), keys.EXPLORE_TAB_WIDGETS):
        if not tab.open:
            keep_widget_values(*widgets)
    if tab_grid.open:
        with tab_grid:
            manifold_section(ck, ck.mu)
    if tab_prior.open:
        with tab_prior:
            prior_section(ck)
    if tab_interp.open:
        with tab_interp:
            interpolation_section(ck, labels)


main()
