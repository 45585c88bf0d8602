"""KL lab: what the KL term does. The bundled 2-D models trained at β = 0 … 16 side by side, the rate-distortion
trade-off, posterior widths, KL per dimension with a collapse check, and the holes between q(z) and the prior."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

import vae
from ui import images as im
from ui import keys, kl_figures, pages
from ui.claims import alignment_caption, what_to_notice, window_caption
from ui.cache import checkpoint_sha256, dial_model, evaluated_encodings
from ui.components import beta_dial as dial_component
from ui.lessons import lesson_box
from ui.plots import chart, latent_scatter_figure, selected_customdata
from ui.state import init_state, load_model, model_choices, model_label, test_arrays, test_split
from vae import analysis, bundled
from vae.data import first_of_each_class
from vae.evaluation import has_full_metrics
from vae import latent as lat

HOLE_GAP = 3  # listed holes at least three cells apart: neighbours' numbered markers piled up ("8 6 4")
N_MAP_POINTS = 5000  # latent-map points per β: five WebGL maps on one page stay light
DEMO_DIGITS = 10  # the first test image of each class 0-9
LARGE_TYPE_PER_ROW = 2  # models side by side with large type: each map ~330 px wide on a 1280 px projector
LARGE_TYPE_METRICS_PER_ROW = 3  # the posterior-width tab's "median σ, β = 0.25" metrics, ~220 px each


def _ck(path: str) -> vae.Checkpoint:
    return load_model(path, Path(path).stat().st_mtime)


def sweep_models() -> dict[float, str]:
    """β -> checkpoint path for the bundled 2-D sweep models that are present."""
    return {beta: str(bundled.by_key(key).path) for beta, key in bundled.BETA_SWEEP.items()
            if bundled.by_key(key).path.is_file()}


# ---- cached computations, keyed by the checkpoint's content hash (sha: ui.cache.checkpoint_sha256, no load) -----

def evaluation(path: str, sha: str) -> dict:
    """The test metrics of one checkpoint, as `python -m vae evaluate CKPT --json` gives them: recorded in the
    checkpoint by `evaluate --record` (the bundled models) or by the app's training process when a run ends;
    computed here (once per file) only for a checkpoint that has none."""
    ck = _ck(path)
    if has_full_metrics(ck):
        return ck.metrics
    return _evaluate(path, sha)


@st.cache_data(show_spinner=False, max_entries=64)
def _evaluate(path: str, sha: str) -> dict:
    ck = _ck(path)
    return vae.evaluate_checkpoint(ck, test_split=test_split(ck.dataset))


def encodings(path: str, sha: str) -> tuple[np.ndarray, np.ndarray]:
    """mu and logvar of every test digit, as `vae evaluate` sees them (kept by the model store)."""
    return evaluated_encodings(sha, path)


@st.cache_data(show_spinner=False)
def demo_digits(dataset: str) -> tuple[np.ndarray, np.ndarray]:
    """The first test image of each class: the same digits for every model. (10, 28, 28) floats and indices."""
    split = test_split(dataset)
    idx = first_of_each_class(split.labels.numpy(), DEMO_DIGITS)
    return split.images[idx].numpy().astype(np.float32) / 255.0, idx


@st.cache_data(show_spinner=False, max_entries=32)
def map_facts(path: str, sha: str) -> analysis.MapFacts:
    """Where this model's codes sit against the prior (the numbers behind 'What to notice')."""
    mu, logvar = encodings(path, sha)
    return analysis.map_facts(mu, logvar, test_split(_ck(path).dataset).labels.numpy())


@st.cache_data(show_spinner=False, max_entries=32)
def model_pictures(path: str, sha: str, n_grid: int, prior_seed: int) -> dict[str, np.ndarray]:
    """Reconstructions of the demo digits, 16 prior samples and an n_grid x n_grid manifold, as images."""
    ck = _ck(path)
    digits, _ = demo_digits(ck.dataset)
    manifold = lat.manifold(ck.model, n=n_grid)
    return {"recon": im.grid(lat.reconstruct(ck.model, digits), nrow=5),
            "prior": im.grid(lat.prior_samples(ck.model, 16, seed=prior_seed), nrow=4),
            "manifold": im.grid(manifold.reshape(-1, *manifold.shape[2:]), nrow=n_grid, padding=0)}


@st.cache_data(show_spinner=False, max_entries=32)
def holes_data(path: str, sha: str, limit: float, bins: int) -> dict:
    mu, logvar = encodings(path, sha)
    sigma = np.exp(0.5 * logvar)
    edges = analysis.grid_edges(limit, bins)
    prior = analysis.prior_mass(edges)
    post = analysis.aggregate_posterior_mass(mu, sigma, edges)
    holes = analysis.find_holes(prior, post, edges, k=8, min_gap=HOLE_GAP)
    decoded = (lat.decode(_ck(path).model, np.array([h.z for h in holes], np.float32)) if holes
               else np.zeros((0, 28, 28)))
    mu_hist = analysis.mu_histogram(mu, edges)
    return {"edges": edges, "mu_hist": mu_hist, "aggregate": post, "holes": holes,
            "decoded": decoded, "hole_fraction": analysis.hole_fraction(prior, post),
            "outside": float(1 - mu_hist.sum())}


# ---- tabs ---------------------------------------------------------------------------------------------------------

def beta_dial() -> None:
    m = bundled.BETA_DIAL
    if not m.path.is_file():
        st.info(f"The β-conditioned model is missing from {bundled.MODELS_DIR}: `./assets/train_models.sh "
                f"{m.key}` trains it. The other tabs work without it.")
        return
    # One short line: on a projector (1280 x 720, large type) every line here pushes the map below the fold.
    st.markdown("**One** network for every β from 0.01 to 16 (Bae et al. 2023): drag β.",
                help="Multi-Rate VAE: each hidden unit's activation, and each of the encoder's outputs (μ, "
                     "log σ²), is scaled by sigmoid(a·u + b), u = log β rescaled to [−1, 1]; each training digit "
                     "drew its own β. The map, grid, prior samples and reconstructions below all come from this "
                     "one network.")
    dial, decoder = dial_model(str(m.path), m.path.stat().st_mtime)
    images, labels = test_arrays("mnist")
    info = dial_component.publish(dial.sha256, decoder, dial, labels, images)
    beta = dial_component.beta_dial(info, 1.0, large=bool(st.session_state.get(keys.LARGE_TYPE)), key=keys.KL_LAB_DIAL)
    facts = dial.facts(beta)
    st.caption(f"At β = {beta:.3g} (where you last let go): rate {facts.rate:.1f} nats, distortion "
               f"{facts.distortion:.1f} nats, objective recon + β·KL = {facts.objective:.1f}; "
               f"{facts.outside_3sigma:.0%} of the codes lie outside the prior's 3σ circle; median σ "
               f"{facts.median_sigma:.3f}.")


def side_by_side(models: dict[float, str]) -> None:
    st.markdown("The same encoder and decoder, trained with the loss **−log p(x|z) + β · KL(q(z|x) ‖ p(z))**. "
                "Read each column top to bottom: where the test digits land, how well they come back, what the "
                "prior generates, and what each point of the prior's plane decodes to.")
    c1, c2, c3 = st.columns([2, 2, 1])
    limit = c1.select_slider("Axis range of the latent maps (the same for every β)", [2, 3, 4, 6, 10, 20, 50],
                             value=4, key=keys.KL_LAB_AXIS, format_func=lambda v: f"±{v}")
    n_grid = c2.select_slider("Manifold grid", [6, 8, 10, 12, 15], value=10, key=keys.KL_LAB_GRID,
                              format_func=lambda v: f"{v} × {v}")
    prior_seed = c3.number_input("Prior-sample seed", 0, 9999, 0, key=keys.KL_LAB_SEED)
    digits, _ = demo_digits("mnist")
    st.caption("The same 10 test digits go through every model (reconstructions below):")
    st.image(im.to_uint8(im.grid(digits, nrow=10), 2), output_format="PNG",
             alt="The first test digit of each class, 0 to 9, left to right.")
    labels = test_split("mnist").labels.numpy()[:N_MAP_POINTS]
    # Large type makes five columns too narrow (at 1280 px each was ~120 px: maps cut off, "β = 0.25" on two lines,
    # words split, image grids 70 px): two models to a row instead, each as wide as half the page.
    per_row = LARGE_TYPE_PER_ROW if st.session_state.get(keys.LARGE_TYPE) else len(models)
    cols = [col for _ in range(0, len(models), per_row) for col in st.columns(per_row)]
    for col, (beta, path) in zip(cols, models.items()):
        sha = checkpoint_sha256(path)  # a rerun with everything cached loads no checkpoint
        mu, logvar = encodings(path, sha)
        pics = model_pictures(path, sha, n_grid, int(prior_seed))
        with col:
            st.markdown(f"### {kl_figures.beta_label(beta)}")
            fig = latent_scatter_figure(mu[:N_MAP_POINTS, :2], labels, height=300, marker_size=3,
                                        label_span=2 * limit)
            # A little room on the right: Plotly hides a tick label that would stick out of the chart, and with
            # none the last one (+limit) was hidden, so the axis seemed to end at limit / 2.
            fig.update_layout(showlegend=False, margin=dict(l=0, r=14, t=0, b=0))
            fig.update_xaxes(range=[-limit, limit], title=None)
            # Narrow columns are not square: drop the equal-aspect lock so both axes really show ±limit.
            fig.update_yaxes(range=[-limit, limit], title=None, scaleanchor=None)
            name = kl_figures.beta_label(beta)
            caption = window_caption(mu, limit)
            chart(fig, width="stretch", key=keys.kl_map(beta), config={"displayModeBar": False},
                  alt=f"The latent map of the model trained at {name}: {N_MAP_POINTS} test digits' posterior means "
                      f"within ±{limit}, coloured by label, each digit's number at its cluster's centre; {caption}.")
            st.caption(caption)
            st.markdown("**Reconstructions**")
            st.image(im.to_uint8(pics["recon"], 2), output_format="PNG", width="stretch",
                     alt=f"{name}: the ten digits 0 to 9 above, reconstructed, in two rows of five.")
            st.markdown("**Prior samples** z ~ N(0, I)")
            st.image(im.to_uint8(pics["prior"], 2), output_format="PNG", width="stretch",
                     alt=f"{name}: 16 images decoded from prior samples, seed {int(prior_seed)}, four rows of four.")
            st.markdown("**Manifold** (prior quantiles)")
            st.image(im.to_uint8(pics["manifold"], 2), output_format="PNG", width="stretch",
                     alt=f"{name}: a {n_grid} by {n_grid} grid of images decoded at the prior's quantiles over the "
                         "latent plane.")
    facts = {beta: map_facts(path, checkpoint_sha256(path)) for beta, path in models.items()}
    metrics = {beta: evaluation(path, checkpoint_sha256(path)) for beta, path in models.items()}
    st.info("**What to notice.**\n\n" + "\n".join(f"- {line}" for line in what_to_notice(facts, metrics)))
    all_labels = test_split("mnist").labels.numpy()
    mus = {beta: encodings(path, checkpoint_sha256(path))[0] for beta, path in models.items()}
    betas = list(mus)
    turns = {(a, b): analysis.map_turn(mus[a], mus[b], all_labels) for i, a in enumerate(betas) for b in betas[i + 1:]}
    st.caption(alignment_caption(turns, {_ck(path).train_config.seed for path in models.values()}))


def rate_distortion(models: dict[float, str]) -> None:
    st.markdown("Every model pays **rate** (KL: nats spent describing z) and **distortion** (reconstruction "
                "NLL). The −ELBO is their sum, so points on the same dotted line x + y = c have the same −ELBO. "
                "β picks the trade-off. Numbers are on the full MNIST test split, identical to "
                "`python -m vae evaluate CKPT --json`.")
    sweep, others = [], []
    own = [c for c in model_choices("mnist") if not c.bundled]
    extra = [c for c in model_choices("mnist") if c.bundled and c.path not in models.values()]
    todo = [(None, c.label, c.path) for c in extra + own]
    with st.spinner("Evaluating on the 10,000 test digits (first time only, a few seconds per model)…"):
        for beta, path in models.items():
            ck = _ck(path)
            m = evaluation(path, ck.sha256)
            sweep.append({"beta": beta, "label": kl_figures.beta_label(beta), "path": path, **_rd(m)})
        for _, label, path in todo:
            ck = _ck(path)
            m = evaluation(path, ck.sha256)
            others.append({"label": label, "path": path, "color": kl_figures.RUN_COLOR if "Your run" in label
                           else "#0f172a", **_rd(m)})
    chart(kl_figures.rate_distortion_figure(sweep, others), width="stretch", key=keys.KL_RD_CHART,
          alt=kl_figures.rate_distortion_summary(sweep + others))
    rows = [{"model": p["label"], "β": p.get("beta", _ck(p["path"]).train_config.beta), "KL (rate)": p["kl"],
             "recon NLL (distortion)": p["recon"], "−ELBO": p["neg_elbo"], "active units": p["active_units"],
             "file": _shown_path(p["path"])} for p in sweep + others]
    st.dataframe(rows, hide_index=True, key=keys.KL_RD_TABLE,
                 column_config={k: st.column_config.NumberColumn(format="%.3f")
                                for k in ("KL (rate)", "recon NLL (distortion)", "−ELBO")})
    if not own:
        st.caption("Your own runs appear here once they finish or are stopped on the Train page.")


def _shown_path(path: str) -> str:
    """A checkpoint's path as a class may see it: relative to the app's folder, never the server's absolute path."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return Path(path).name


def _rd(m: dict) -> dict:
    return {"kl": m["kl"], "recon": m["recon"], "neg_elbo": m["neg_elbo"], "active_units": m["active_units"]}


def posterior_width(models: dict[float, str]) -> None:
    st.markdown("Each digit's posterior q(z|x) has a width σ per dimension. The KL term pulls σ toward the prior's "
                "σ = 1; without it (β = 0) nothing stops the encoder making σ tiny, and the VAE becomes a "
                "deterministic autoencoder.")
    log_sigmas, medians = {}, {}
    for beta, path in models.items():
        _, logvar = encodings(path, checkpoint_sha256(path))
        values, medians[beta] = analysis.log10_sigma(np.exp(0.5 * logvar))
        log_sigmas[beta] = values[:: max(1, len(values) // 4000)]  # a thinned copy is plenty for a violin
    per_row = LARGE_TYPE_METRICS_PER_ROW if st.session_state.get(keys.LARGE_TYPE) else len(models)  # else cut short
    cols = [col for _ in range(0, len(models), per_row) for col in st.columns(per_row)]
    for col, beta in zip(cols, models):
        col.metric(f"median σ, {kl_figures.beta_label(beta)}", f"{medians[beta]:.3g}")
    chart(kl_figures.sigma_violin_figure(log_sigmas), width="stretch", key=keys.KL_SIGMA_CHART,
          alt="Violins of log₁₀ σ of every posterior dimension of every test digit, one per β, against the prior's "
              "σ = 1; median σ: " + ", ".join(f"{kl_figures.beta_label(b)}: {m:.3g}" for b, m in medians.items()))


def kl_per_dimension() -> None:
    choices = model_choices()
    labels = {c.path: model_label(c) for c in choices}
    paths = list(labels)
    current = st.session_state.get(keys.MODEL_PATH)
    st.session_state.setdefault(keys.KL_LAB_MODEL, current if current in paths else paths[0])
    if st.session_state[keys.KL_LAB_MODEL] not in paths:
        st.session_state[keys.KL_LAB_MODEL] = paths[0]
    path = st.selectbox("Model", paths, format_func=labels.get, key=keys.KL_LAB_MODEL)
    ck = _ck(path)
    mu, logvar = encodings(path, ck.sha256)
    check = analysis.collapse_check(mu, logvar)
    c1, c2, c3 = st.columns(3)
    c1.metric("total KL (mean per digit)", f"{check.total_kl:.2f} nats")
    c2.metric("active units", f"{int(check.active.sum())} of {len(check.active)}")
    c3.metric("β used in training", f"{ck.train_config.beta:g}")
    chart(kl_figures.kl_per_dim_figure(check.kl_per_dim, check.active), width="stretch", key=keys.KL_DIM_CHART,
          alt="Bars of the mean KL per latent dimension, in nats: " + ", ".join(
              f"z{d + 1} {v:.2f}" + ("" if a else " (inactive)")
              for d, (v, a) in enumerate(zip(check.kl_per_dim, check.active))))
    st.caption("A dimension is active when its posterior mean varies across digits: Var_x(E_q[z_d]) > 0.01 "
               "(Burda et al. 2015). An inactive one has q(z_d|x) ≈ N(0, 1) for every digit: it carries nothing.")
    if check.collapsed:
        st.warning(check.advice, icon=":material/warning:")
    else:
        st.success(f"No posterior collapse: {int(check.active.sum())} of {len(check.active)} dimensions carry "
                   f"information, {check.total_kl:.2f} nats in all.")


def holes_map(models: dict[float, str]) -> None:
    st.markdown("The decoder learned from the places where the encoder puts digits. Blue: where the test digits' "
                "codes are. Orange: the prior's 1σ, 2σ and 3σ circles. Red: **holes**, cells the prior samples "
                "often but the aggregate posterior q(z) = mean of q(z|x) hardly covers (under a tenth of the "
                "prior's mass). Click a hole to decode it: the decoder blends the codes around it, so it may well "
                "draw a clean digit, but on average a less typical one than where the codes are.")
    two_d = {kl_figures.beta_label(b): p for b, p in models.items()}
    two_d.update({c.label: c.path for c in model_choices("mnist") if not c.bundled
                  and _ck(c.path).model_config.latent_dim == 2})
    names = list(two_d)
    default = kl_figures.beta_label(1.0) if kl_figures.beta_label(1.0) in names else names[0]
    st.session_state.setdefault(keys.KL_LAB_HOLES_MODEL, default)
    if st.session_state[keys.KL_LAB_HOLES_MODEL] not in names:
        st.session_state[keys.KL_LAB_HOLES_MODEL] = default
    c1, c2 = st.columns([3, 2])
    name = c1.radio("2-D model", names, horizontal=True, key=keys.KL_LAB_HOLES_MODEL)
    view = c2.radio("Blue shows", ["encoded μ", "aggregate posterior q(z)"], horizontal=True,
                    key=keys.KL_LAB_HOLES_VIEW, help="μ: a histogram of the posterior means. q(z): every digit's "
                    "Gaussian, width included; the holes are computed from this one.")
    path = two_d[name]
    data = holes_data(path, checkpoint_sha256(path), 4.0, 32)
    holes = data["holes"]
    # The hole picker's labels are coordinates, different for every model. A browser keeps showing the label it was
    # drawn with until the server sets a value, and sends it back: after a switch of model that label is no option,
    # and Streamlit hands it over as a str (a TypeError below, on every later switch). Start each model at its first
    # hole, which also sends the browser the new label, and accept only an index of this model's holes.
    hole = st.session_state.get(keys.KL_LAB_HOLE)
    if (st.session_state.get(keys.KL_LAB_HOLE_MODEL) != name or not isinstance(hole, int)
            or not 0 <= hole < max(len(holes), 1)):
        st.session_state[keys.KL_LAB_HOLE] = 0
    st.session_state[keys.KL_LAB_HOLE_MODEL] = name
    clicked = selected_customdata(st.session_state.get(keys.KL_LAB_HOLES_CHART))
    if clicked is not None and clicked != st.session_state.get(keys.KL_LAB_LAST_CLICK) and clicked < len(holes):
        st.session_state[keys.KL_LAB_HOLE] = clicked  # a new click wins; an old one must not undo the selectbox
    st.session_state[keys.KL_LAB_LAST_CLICK] = clicked
    density = data["mu_hist"] if view == "encoded μ" else data["aggregate"]
    # Large type: the map above its panel, as wide as the page (beside it, a projector drew it ~200 px wide).
    large = st.session_state.get(keys.LARGE_TYPE)
    left, right = (st.container(), st.container()) if large else st.columns([3, 2])
    with left:
        st.markdown(f"**{name}: {view} vs the prior**")
        fig = kl_figures.holes_figure(density, data["edges"], holes, st.session_state[keys.KL_LAB_HOLE])
        chart(fig, width="stretch", key=keys.KL_LAB_HOLES_CHART, on_select="rerun",
              selection_mode="points", config={"displayModeBar": False},
              alt=f"{name}: {view} as a blue heatmap over ±4, the prior's 1σ, 2σ and 3σ circles in orange, and "
                  + (f"{len(holes)} holes as red markers numbered 1 to {len(holes)}; pick one below to decode it."
                     if holes else "no holes."))
    with right:
        st.metric("prior mass in holes", f"{data['hole_fraction']:.0%}",
                  help="The chance that a prior sample lands in a hole (on this 32 × 32 grid over ±4).")
        if data["outside"] > 0.005:
            st.caption(f"{data['outside']:.0%} of the codes lie outside the ±4 window.")
        if not holes:
            st.success("No holes: the aggregate posterior covers the prior everywhere it matters. Prior samples "
                       "look like the digits this model reconstructs.")
            return
        i = st.selectbox("Decode hole", range(len(holes)), key=keys.KL_LAB_HOLE,
                         format_func=lambda k: f"{k + 1} at ({holes[k].z[0]:+.2f}, {holes[k].z[1]:+.2f})")
        h = holes[i]
        st.image(im.to_uint8(data["decoded"][i], 8), output_format="PNG",
                 caption=f"decoded at z = ({h.z[0]:+.2f}, {h.z[1]:+.2f})",
                 alt=f"What the {name} model decodes at hole {i + 1}, z = ({h.z[0]:+.2f}, {h.z[1]:+.2f}).")
        st.caption(f"The prior puts {h.prior_mass:.2%} of its samples in this cell; the test digits' q(z) puts "
                   f"{h.posterior_mass:.3%} there. The decoder was never trained to make anything here, so what it "
                   "draws is a guess.")
        st.markdown("**All holes, decoded**")
        st.image(im.to_uint8(im.grid(data["decoded"], nrow=len(holes)), 2), output_format="PNG",
                 alt=f"What the {name} model decodes at each of its {len(holes)} holes, 1 to {len(holes)}, left to "
                     "right.")


def main() -> None:
    init_state()
    st.title("KL lab: what the KL term does")
    lesson_box(pages.KL_LAB)
    models = sweep_models()
    if not models:
        st.error(f"The bundled β-sweep models are missing from {bundled.MODELS_DIR}. Reinstall the project or run "
                 "assets/train_models.sh.")
        return
    st.session_state.setdefault(keys.KL_LAB_TAB, pages.KL_LAB_TABS[0])
    if st.session_state[keys.KL_LAB_TAB] not in pages.KL_LAB_TABS:
        st.session_state[keys.KL_LAB_TAB] = pages.KL_LAB_TABS[0]
    tabs = st.tabs(pages.KL_LAB_TABS, key=keys.KL_LAB_TAB, on_change="rerun")
    betas = st.session_state.get(keys.KL_LAB_BETAS)  # a lesson may narrow the sweep, e.g. to β = 0, 1, 4
    shown = {b: p for b, p in models.items() if not betas or b in betas}
    if betas:
        st.caption(f"Showing β ∈ {{{', '.join(f'{b:g}' for b in shown)}}} (set by the lesson). "
                   "End the lesson to see the whole sweep.")
    sections = [beta_dial, lambda: side_by_side(shown), lambda: rate_distortion(models),
                lambda: posterior_width(shown),
                kl_per_dimension, lambda: holes_map(models)]
    for tab, draw in zip(tabs, sections):
        if tab.open:  # only the open tab's content runs: each section is expensive the first time
            with tab:
                draw()


main()
