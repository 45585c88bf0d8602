"""Explore the latent space: the map of the test digits' posterior means, the latent pad that decodes in the
browser while you drag, and the decoded manifold, prior samples and interpolations.

Everything here draws from the model's NumPy form (vae.numpy_model: the decoder and the test set's posteriors),
not the torch checkpoint: this is the page a class opens first, and importing torch would take 1.8 s of it."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

import vae
from ui import images
from ui.components.latent_pad import dims_plane, latent_pad, pca_plane, publish_model
from ui.cache import current_numpy_model, map_view, view_is_quick
from ui.plots import add_marker, chart, latent_scatter_figure, latent_scatter_png, selected_customdata
from ui.state import init_state, test_arrays
from vae import latent
from vae.numpy_model import NumpyDecoder, NumpyModel

DIGIT_PX = 112  # a 28 x 28 digit shown 4x


# ---- cached figures and pictures ---------------------------------------------------------------------------------

@st.cache_resource(max_entries=8, show_spinner=False)
def map_figure(sha256: str, dataset: str, method: str, chosen: int | None, _points: np.ndarray, _labels: np.ndarray,
               axes: tuple[str, str]):
    """The map's figure, built once per model, view and chosen digit (10k points take ~0.1 s to build) and shared
    read-only: st.plotly_chart does not modify it."""
    fig = latent_scatter_figure(_points, _labels, axis_titles=axes, height=560)
    if chosen is not None:
        add_marker(fig, float(_points[chosen, 0]), float(_points[chosen, 1]), f"test digit #{chosen}")
    return fig


# The pad's geometry takes percentiles over the 10k means: cached per model, since the pad's fragment reruns on every
# release of every student.
@st.cache_data(max_entries=64, show_spinner=False)
def pad_dims_plane(sha256: str, dataset: str, i: int, j: int, _mu: np.ndarray):
    return dims_plane(_mu.shape[1], i, j, _mu)


@st.cache_data(max_entries=16, show_spinner=False)
def pad_pca_plane(sha256: str, dataset: str, _pca, _points: np.ndarray):
    return pca_plane(_pca, _points)


@st.cache_data(max_entries=16, show_spinner=False)
def slider_limit(sha256: str, dataset: str, _mu: np.ndarray) -> float:
    return float(max(4.0, np.ceil(np.percentile(np.abs(_mu), 99.5))))


# The pictures below are cached as PNG bytes, not arrays: st.image would re-encode an array on every run (the
# manifold alone took ~45 ms of each student's first visit), while bytes pass through untouched. The download
# buttons hand out the same bytes.

@st.cache_data(max_entries=32, show_spinner=False)
def manifold_png(sha256: str, n: int, plane: tuple, _decoder: NumpyDecoder, _axes: np.ndarray | None = None) -> bytes:
    """plane: ("dims", i, j), or ("pca",) with _axes the model's first two principal components."""
    dims = plane[1:] if plane[0] == "dims" else (0, 1)
    grid = images.grid(latent.manifold(_decoder, n=n, dims=dims, axes=_axes).reshape(n * n, 28, 28), nrow=n,
                       padding=0)
    return images.png_bytes(grid, 2)


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

def latent_map(ck: NumpyModel, mu: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, str]:
    """The scatter of posterior means; returns the plotted points and the view's name."""
    dim = ck.model_config.latent_dim
    method = "identity"
    if dim > 2:
        view = st.radio("View of the 20-D means" if dim == 20 else f"View of the {dim}-D means",
                        ["PCA", "t-SNE"], horizontal=True, key="explore_view",
                        help="PCA is a linear projection (distances along it are real); t-SNE keeps neighbours "
                             "together but distorts distances. t-SNE takes about a minute, once per model.")
        method = "pca" if view == "PCA" else "tsne"
        if method == "tsne" and not (view_is_quick(ck, "tsne")
                                     or st.session_state.get("tsne_ready") == ck.sha256):
            st.info("t-SNE is slow (about a minute on this machine), so it runs only when you ask. "
                    "It is saved, so each model needs it once.")
            if not st.button("Compute the t-SNE view", key="compute_tsne"):
                method = "pca"
            else:
                st.session_state["tsne_ready"] = ck.sha256
    points, _ = map_view(ck.sha256, "pca" if method == "identity" else method, ck)
    axes = {"identity": ("z₁", "z₂"), "pca": ("PC1", "PC2"), "tsne": ("t-SNE 1", "t-SNE 2")}[method]
    clicked = selected_customdata(st.session_state.get("latent_map"))
    if clicked is not None and clicked != st.session_state.get("explore_digit_clicked"):
        # A new click on the map (read before drawing, so the marker shows without a second rerun).
        st.session_state["explore_digit"] = st.session_state["explore_digit_clicked"] = clicked
    chosen = st.session_state.get("explore_digit")
    fig = map_figure(ck.sha256, ck.dataset, method, chosen if chosen is not None and 0 <= chosen < len(points)
                     else None, points, labels, axes)
    chart(fig, key="latent_map", on_select="rerun", selection_mode="points", config={"displaylogo": False})
    st.caption("Each dot is one test digit x, placed at the mean μ(x) of its posterior q(z|x) = N(μ, diag σ²) "
               "and coloured by its true label (the VAE never saw the labels). Click a dot to inspect it; click "
               "a legend entry to hide a class, double-click to show only that class.")
    st.download_button("Download the map (PNG)", key="download_map", mime="image/png",
                       file_name=f"latent-map-{ck.sha256[:8]}-{method}.png",
                       data=lambda: latent_scatter_png(points, labels, axis_titles=tuple(
                           a.replace("₁", "1").replace("₂", "2") for a in axes)))
    return points, method


def chosen_digit(ck: NumpyModel, test_images: np.ndarray, labels: np.ndarray) -> None:
    """The clicked digit: the image, its reconstruction from mu, and its posterior."""
    mu, sigma = ck.mu, ck.sigma
    index = st.session_state.get("explore_digit")
    if index is None or not 0 <= index < len(mu):
        st.caption("Click a digit on the map to see it, its reconstruction and its posterior here.")
        return
    x = test_images[index] / 255.0
    recon = latent.decode(ck.decoder, mu[index:index + 1])[0]
    st.markdown(f"**Test digit #{index}** (label {int(labels[index])})")
    c1, c2, c3 = st.columns([1, 1, 2])
    c1.image(images.to_uint8(x, 4), caption="the digit x", output_format="PNG")
    c2.image(images.to_uint8(recon, 4), caption="decoded from μ", output_format="PNG")
    with c3:
        rows = [f"| z{i + 1} | {m:+.2f} | {s:.3f} |" for i, (m, s) in enumerate(zip(mu[index], sigma[index]))]
        st.markdown("| dim | μ | σ |\n|---|---|---|\n" + "\n".join(rows[:8]))
        if len(rows) > 8:
            st.caption(f"(first 8 of {len(rows)} dimensions)")
    b1, b2, b3 = st.columns(3)
    b1.button("Put it on the pad", key="digit_to_pad", on_click=_move_pad, args=(mu[index].tolist(),))
    b2.button("Interpolate from it", key="digit_to_a", on_click=_set, args=("interp_a", index))
    b3.button("Interpolate to it", key="digit_to_b", on_click=_set, args=("interp_b", index))


def _set(key: str, value) -> None:
    st.session_state[key] = value


def _move_pad(z: list[float]) -> None:
    """Move the pad from Python: its committed state and a new nonce, so the browser adopts z once."""
    st.session_state["latent_pad"] = {"z": z}
    st.session_state["pad_start"] = z
    st.session_state["pad_nonce"] = st.session_state.get("pad_nonce", 0) + 1


@st.fragment
def pad_section(ck: NumpyModel, mu: np.ndarray, labels: np.ndarray) -> None:
    """The latent pad. A fragment: releasing the pad reruns only this, not the 10k-point map."""
    dim = ck.model_config.latent_dim
    if dim == 1:
        st.info("This model has a 1-D latent space: there is no plane for the pad. The manifold tab below needs "
                "two dimensions too; prior samples and interpolation work.")
    if dim > 2:
        kind = st.radio("The pad moves in", ["the PCA plane", "two latent dimensions"], horizontal=True,
                        key="pad_plane", help="The other dimensions keep their slider values.")
        if kind == "the PCA plane":
            points, pca = map_view(ck.sha256, "pca", ck)
            plane = pad_pca_plane(ck.sha256, ck.dataset, pca, points)
        else:
            c1, c2 = st.columns(2)
            options = list(range(dim))
            i = c1.selectbox("Horizontal axis", options, index=0, format_func=lambda d: f"z{d + 1}", key="pad_i")
            j = c2.selectbox("Vertical axis", options, index=1, format_func=lambda d: f"z{d + 1}", key="pad_j")
            if i == j:
                st.warning("Pick two different dimensions.")
                return
            plane = pad_dims_plane(ck.sha256, ck.dataset, i, j, mu)
    else:
        plane = pad_dims_plane(ck.sha256, ck.dataset, 0, 1, mu) if dim == 2 else None
    if plane is None:
        return
    model_info = publish_model(ck.sha256, ck.decoder, mu, labels)
    # Where the pad starts: the origin, or the last point Python put there. Not the user's last release, so that
    # releasing does not change the component's data (which would rebuild it in the browser).
    start = st.session_state.get("pad_start")
    start = start if start is not None and len(start) == dim else [0.0] * dim
    limit = slider_limit(ck.sha256, ck.dataset, mu)
    z = latent_pad(model_info, plane, start, z_nonce=st.session_state.get("pad_nonce", 0),
                   slider_range=(-limit, limit), key="latent_pad")
    decoded = latent.decode(ck.decoder, np.asarray([z], np.float32))[0]
    c1, c2 = st.columns([1, 2] if st.session_state.get("large_type") else [1, 3])  # large: the caption fits
    c1.image(images.to_uint8(decoded, 3), caption="decoded in Python", output_format="PNG")
    coords = ", ".join(f"{v:+.2f}" for v in z[:6]) + (", …" if dim > 6 else "")
    c2.markdown(f"Python received **z = ({coords})** when you let go.")
    c2.caption("Hover over the plane to preview, press and drag to move z, or drag a slider: the digit is "
               "decoded in your browser on every frame. The decoder turns z into p(x|z), one Bernoulli per pixel; "
               "the picture shows the means sigmoid(f_θ(z)). An encoded digit lands at z = μ + σ·ε, ε ~ N(0, I).")


@st.cache_data(max_entries=16, show_spinner=False)
def dims_by_variance(sha256: str, _mu: np.ndarray) -> list[int]:
    """The latent dimensions, the one along which the test digits' means vary most first."""
    return [int(d) for d in np.argsort(-np.var(_mu, axis=0), kind="stable")]


def manifold_section(ck: NumpyModel, mu: np.ndarray) -> None:
    dim = ck.model_config.latent_dim
    c1, c2, c3, c4 = st.columns(4)
    n = c1.slider("Grid size n", 5, 30, 15, key="manifold_n")
    plane, axes, names = ("dims", 0, 1), None, ("z1", "z2")
    if dim > 2:
        # Not (z1, z2) with the other dimensions at 0: in 20-D, two of twenty coordinates barely move the digit
        # (the grid was ~225 near-identical 8s). The PCA plane of the means, or the two most varied dimensions.
        kind = c2.radio("The grid spans", ["the PCA plane", "two latent dimensions"], key="manifold_plane",
                        help="The PCA plane: the two directions along which the test digits' means vary most. "
                             "Two dimensions: the others are held at 0; the lists start with the most varied.")
        if kind == "the PCA plane":
            _, pca = map_view(ck.sha256, "pca", ck)
            plane, axes, names = ("pca",), np.asarray(pca.components_[:2], np.float32), ("PC1", "PC2")
        else:
            order = dims_by_variance(ck.sha256, mu)
            i = c3.selectbox("Horizontal dimension", order, 0, format_func=lambda d: f"z{d + 1}", key="manifold_i")
            j = c4.selectbox("Vertical dimension", order, 1, format_func=lambda d: f"z{d + 1}", key="manifold_j")
            if i == j:
                st.warning("Pick two different dimensions.")
                return
            plane, names = ("dims", i, j), (f"z{i + 1}", f"z{j + 1}")
    if dim < 2:
        st.info("The manifold grid needs at least two latent dimensions.")
        return
    png = manifold_png(ck.sha256, n, plane, ck.decoder, axes)
    st.image(png, output_format="PNG")
    if plane[0] == "pca":
        over = (f"over the plane of the test digits' two principal components through z = 0, z = a·PC1 + b·PC2 "
                "(unit directions; the prior is round, so along each it is N(0, 1))")
    else:
        over = f"over ({names[0]}, {names[1]})" + ("" if dim == 2 else f" (the other {dim - 2} dimensions held at 0)")
    st.caption(f"The decoder's mean image at each point of an {n}×{n} grid {over}. The coordinates are Φ⁻¹ of "
               "evenly spaced probabilities from 0.05 to 0.95 (Φ is the standard normal CDF), so every cell holds "
               "the same prior mass, as in Kingma & Welling (2013), fig. 4.")
    st.download_button("Download the grid (PNG)", png, key="download_manifold", mime="image/png",
                       file_name=f"manifold-{ck.sha256[:8]}-{'-'.join(map(str, plane))}-{n}x{n}.png")


def prior_section(ck: NumpyModel) -> None:
    seed = st.session_state.setdefault("prior_seed", 0)
    if st.button("Draw new samples", key="prior_new"):
        seed = st.session_state["prior_seed"] = seed + 1
    st.image(prior_png(ck.sha256, seed, ck.decoder), output_format="PNG")
    st.caption("z ~ N(0, I), the prior, then the decoder's mean image. Where the posteriors do not cover the "
               "prior, samples look like no digit at all.")


def interpolation_section(ck: NumpyModel, test_images: np.ndarray, labels: np.ndarray) -> None:
    mu = ck.mu
    st.session_state.setdefault("interp_a", 0)
    st.session_state.setdefault("interp_b", 1)
    c1, c2, c3 = st.columns(3)
    a = c1.number_input("From test digit #", 0, len(mu) - 1, key="interp_a")
    b = c2.number_input("To test digit #", 0, len(mu) - 1, key="interp_b")
    steps = c3.slider("Steps", 3, 16, 10, key="interp_steps")
    st.image(test_digits_png(ck.dataset, (a, b), test_images), output_format="PNG",
             caption=f"#{a} (label {int(labels[a])}) and #{b} (label {int(labels[b])})")
    for mode in ("linear", "spherical"):
        st.image(interpolation_png(ck.sha256, a, b, steps, mode, ck.decoder, mu), caption=mode, output_format="PNG")
    st.caption("Linear: z(t) = (1 − t) μ_a + t μ_b. Spherical (slerp): z(t) = [sin((1 − t)Ω) μ_a + sin(tΩ) μ_b] / "
               "sin Ω, with Ω the angle between μ_a and μ_b; it keeps the norm that prior samples have in many "
               "dimensions, where the straight line passes close to the origin.")


def main() -> None:
    init_state()
    ck = current_numpy_model()
    st.title("Explore the latent space")
    try:
        test_images, labels = test_arrays(ck.dataset)
    except vae.DataUnavailableError as exc:
        st.error(f"The {ck.dataset} test set is not available: {exc}")
        return
    mu = ck.mu
    st.caption(f"Model: {ck.name or Path(st.session_state['model_path']).stem} · "
               f"{ck.model_config.latent_dim}-D latent · {ck.model_config.arch.upper()} · "
               f"β = {ck.train_config.beta:g}")

    left, right = st.columns([1, 1.1], gap="medium")
    with left:
        st.subheader("The latent map")
        latent_map(ck, mu, labels)
        chosen_digit(ck, test_images, labels)
    with right:
        st.subheader("The latent pad")
        pad_section(ck, mu, labels)

    tab_grid, tab_prior, tab_interp = st.tabs(["Decoded manifold", "Prior samples", "Interpolation"])
    with tab_grid:
        manifold_section(ck, mu)
    with tab_prior:
        prior_section(ck)
    with tab_interp:
        interpolation_section(ck, test_images, labels)


main()
