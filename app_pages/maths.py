"""The maths, live: what the encoder outputs, the reparameterisation, the closed-form KL and the ELBO, each equation
next to its number on the current test digit for the sidebar's model. The numbers come from vae.analysis."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from ui import images as im
from ui import keys, pages
from ui.cache import evaluated_encodings
from ui.lessons import lesson_box, wrap_formulas
from ui.plots import chart, readable_figure
from ui.state import current_checkpoint, init_state, test_split
from vae import analysis
from vae.data import evaluation_images
from vae.losses import kl_per_dim
from vae import latent as lat

VISIBLE = 32 / 255  # a difference in grey level that is plain to see on a projector
DIGIT_PX = 112  # the test digit, 28 px shown 4x
N_CHOICES = [10, 30, 100, 300, 1000, 3000, 10000, 100000]


@st.cache_data(show_spinner=False, max_entries=256)
def digit_numbers(sha: str, index: int, n: int, k: int, seed: int, _ck) -> analysis.DigitELBO:
    """The page's numbers for one test digit; sha is _ck's (the page's checkpoint, passed in: never loaded twice)."""
    x = digit_input(_ck.dataset, index, _ck.train_config.binarize)
    return analysis.digit_elbo(_ck.model, x, n=n, k=k, seed=seed)


@st.cache_resource(show_spinner=False, max_entries=4)
def evaluated_digits(dataset: str, binarize: str) -> np.ndarray:
    """The test split as `vae evaluate` feeds it (one seeded binarisation, vae.data.evaluation_images), (N, 28, 28)
    float32: binarising the whole split takes ~0.1 s, once per server. Shared; never mutate it."""
    return evaluation_images(test_split(dataset), binarize).numpy().reshape(-1, 28, 28)


def digit_input(dataset: str, index: int, binarize: str) -> np.ndarray:
    """The digit as the model sees it: for models trained on binary pixels, the very binary image `vae evaluate`
    scored (the page's numbers are that digit's share of the test figures)."""
    return evaluated_digits(dataset, binarize)[index]


def _sync_digit() -> None:
    st.session_state[keys.EXPLORE_DIGIT] = int(st.session_state[keys.MATHS_DIGIT])  # the Explore page's chosen digit,
    st.session_state[keys.SELECT_NONCE] = st.session_state.get(keys.SELECT_NONCE, 0) + 1  # which its map then shows


def digit_picker(ck) -> int:
    n = len(test_split(ck.dataset))
    st.session_state.setdefault(keys.MATHS_DIGIT, int(st.session_state.get(keys.EXPLORE_DIGIT) or 0))
    index = st.number_input("Test digit #", 0, n - 1, key=keys.MATHS_DIGIT, on_change=_sync_digit,
                            help="The same digit the Explore page has selected.")
    return int(index)


def number_table(rows: list[dict], key: str, decimals: int) -> None:
    """A table of one label column and number columns: a dataframe (it scrolls, sorts), or with large type a plain
    table, whose text grows with the page's (a dataframe draws its cells at a fixed ~13 px: unreadable on a
    projector)."""
    numbers = [name for name, value in rows[0].items() if not isinstance(value, str)] if rows else []
    if st.session_state.get(keys.LARGE_TYPE):
        st.table([{k: (f"{v:.{decimals}f}" if k in numbers else v) for k, v in row.items()} for row in rows],
                 hide_index=True)
    else:
        st.dataframe(rows, hide_index=True, key=key, column_config={
            name: st.column_config.NumberColumn(format=f"%.{decimals}f") for name in numbers})


def encoder_output(ck, d: analysis.DigitELBO) -> None:
    sigma = np.exp(0.5 * d.logvar)
    # The table of mu and sigma opens the tab (lesson 1 is about it: on a laptop it is on the first screen, under the
    # lesson box); the equation heads the chart beside it.
    # Large type: one above the other (beside the table, the equation ran ~60 px past its column's edge).
    large = st.session_state.get(keys.LARGE_TYPE)
    left, right = (st.container(), st.container()) if large else st.columns([2, 3])
    with left:
        number_table([{"dimension": f"z{i + 1}", "μ": d.mu[i], "log σ²": d.logvar[i], "σ": sigma[i]}
                      for i in range(len(d.mu))], keys.MATHS_ENCODER_TABLE, decimals=3)
        st.caption("log σ² can be any real number, so the network needs no constraint; σ = exp(½ log σ²) > 0.")
    with right:
        st.latex(r"\begin{aligned} q_\phi(z \mid x) &= \mathcal{N}\big(z;\ \mu,\ \operatorname{diag}\sigma^2\big) \\ "
                 r"\text{encoder}(x) &= (\mu,\ \log\sigma^2) \in \mathbb{R}^{D} \times \mathbb{R}^{D} \end{aligned}")
        fig = go.Figure()
        dims = [f"z{i + 1}" for i in range(len(d.mu))]
        fig.add_trace(go.Bar(x=dims, y=[2] * len(dims), base=[-1] * len(dims), marker_color="#fde68a", opacity=0.6,
                             name="prior N(0, 1): ±1", hoverinfo="skip"))
        # σ is often ~0.01 here: at true scale the bar hid under the marker. Drawn k times longer, k the same for
        # every digit of the model (its median σ decides), so the bar's length still follows σ from digit to digit;
        # μ as a short dash, so even a short bar shows above and below it.
        k = sigma_scale(ck)
        fig.add_trace(go.Scatter(x=dims, y=d.mu, mode="markers", name=f"μ ± {k}σ of q(z|x) (σ drawn {k}× larger)",
                                 marker=dict(size=16, symbol="line-ew", line=dict(width=3, color="#1d4ed8")),
                                 error_y=dict(type="data", array=k * sigma, thickness=3, width=10, color="#1d4ed8")))
        fig.update_layout(height=320, margin=dict(l=10, r=10, t=10, b=10), plot_bgcolor="white",
                          legend=dict(orientation="h", y=-0.2), yaxis_title="z")
        shown = min(len(d.mu), 8)
        chart(readable_figure(fig), width="stretch", key=keys.MATHS_ENCODER_CHART,
              alt=f"μ ± σ of q(z|x) per latent dimension (the bars drawn {k} times longer than σ), against the "
                  "prior's band from −1 to 1: "
                  + ", ".join(f"z{i + 1} {d.mu[i]:+.2f} ± {sigma[i]:.2f}" for i in range(shown))
                  + ("" if shown == len(d.mu) else f", … ({len(d.mu)} dimensions in the table)"))
        st.caption(f"Bars: σ drawn **{k}× larger** than on the z axis, the same for every digit of this model (at "
                   "true scale most would hide under the dash).")


def sigma_scale(ck) -> int:
    """The μ ± σ bars' magnification for this model (vae.analysis.sigma_magnification of its test digits' σ)."""
    _, logvar = evaluated_encodings(ck.sha256, ck)
    return analysis.sigma_magnification(np.exp(0.5 * logvar))


def reparameterisation(ck, d: analysis.DigitELBO) -> None:
    st.latex(r"z = \mu + \sigma \odot \varepsilon,\quad \varepsilon \sim {\mathcal{N}(0, I)}"
             r"\qquad\Rightarrow\qquad \frac{\partial z}{\partial \mu} = 1,\quad "
             r"\frac{\partial z}{\partial \sigma} = \varepsilon")
    st.markdown("The randomness is in ε, which does not depend on the network, so gradients flow through μ and σ.")
    seed = st.session_state.setdefault(keys.MATHS_EPS_SEED, 0)
    if st.button("Draw new ε", key=keys.MATHS_DRAW_EPS, type="primary"):
        seed = st.session_state[keys.MATHS_EPS_SEED] = seed + 1
    eps = np.random.default_rng(seed).standard_normal((8, len(d.mu)))
    z = analysis.draws(d.mu, d.logvar, eps)
    sigma = np.exp(0.5 * d.logvar)
    lines = [rf"z_{i + 1} = {d.mu[i]:.3f} + {sigma[i]:.3f} \times ({eps[0, i]:+.3f}) = {z[0, i]:.3f}"
             for i in range(min(len(d.mu), 4))]
    st.latex(r"\begin{aligned}" + r"\\ ".join(lines) + r"\end{aligned}")
    if len(d.mu) > 4:
        st.caption(f"(first 4 of {len(d.mu)} dimensions)")
    st.markdown("**Eight draws of z, decoded** (first: the one written out above), and the decoded mean μ:")
    decoded = lat.decode(ck.model, z.astype(np.float32))
    at_mu = lat.decode(ck.model, d.mu[None].astype(np.float32))[0]
    c1, c2 = st.columns([8, 1])
    c1.image(im.to_uint8(im.grid(decoded, nrow=8), 4), output_format="PNG",
             alt=f"Eight images decoded from eight draws z = μ + σ·ε for test digit "
                 f"#{st.session_state.get(keys.MATHS_DIGIT, 0)}, left to right.")
    c2.image(im.to_uint8(at_mu, 4), output_format="PNG", caption="μ", alt="The image decoded at μ.")
    # With a small σ the eight digits look alike: show where they differ, magnified, and say by how much.
    magnified, factor, largest = analysis.magnified_difference(decoded, at_mu)
    c1.image(im.to_uint8(im.grid(magnified, nrow=8), 4), output_format="PNG",
             alt=f"Each draw's difference from the image decoded at μ, magnified {factor} times; black is no "
                 "difference.")
    visible = int((np.abs(decoded - at_mu) > VISIBLE).sum())
    c1.caption(f"The row just above: each draw's difference from the digit decoded at μ, **magnified {factor}×** "
               f"(black: no difference). The largest is {largest * 255:.0f} of 255 grey levels; {visible} of the "
               f"{decoded[..., 0].size * 28:,} pixels differ by more than {VISIBLE * 255:.0f} (σ here: "
               f"{', '.join(f'{s:.3f}' for s in sigma[:4])}).")


def metric_columns(n: int) -> list:
    """n columns for st.metric: one row, or rows of two with large type (a projector's narrow page cut the values
    to "-80…")."""
    per_row = 2 if st.session_state.get(keys.LARGE_TYPE) else n
    return [col for start in range(0, n, per_row) for col in st.columns(per_row)][:n]


def closed_form_kl(ck, d: analysis.DigitELBO) -> None:
    # each bracketed term in {}: a narrow screen breaks between terms (pages.FORMULA_WRAP_CSS), never inside one
    st.latex(r"{\mathrm{KL}\big(q(z \mid x)\,\|\,\mathcal{N}(0, I)\big)} = {\tfrac{1}{2}\sum_{d=1}^{D}"
             r"\big(\mu_d^2 + \sigma_d^2 - 1 - \log\sigma_d^2\big)}"
             r"\ \approx\ {\frac{1}{n}\sum_{i=1}^{n}\big[\log q(z_i \mid x) - \log p(z_i)\big]},"
             r"\ z_i \sim {q(z \mid x)}")
    n = st.select_slider("Monte-Carlo samples n", N_CHOICES, value=1000, key=keys.MATHS_MC_N)
    seed = st.session_state.get(keys.MATHS_EPS_SEED, 0)
    mc = analysis.kl_monte_carlo(d.mu, d.logvar, n=int(n), seed=seed)
    c1, c2, c3 = metric_columns(3)
    c1.metric("closed form", f"{d.kl:.4f} nats")
    c2.metric(f"Monte-Carlo, n = {n:,}", f"{mc.mean:.4f} ± {mc.stderr:.4f}", help="± one standard error, "
              "std / √n: the estimate is within 2 of these of the truth about 95% of the time.")
    dev = (mc.mean - d.kl) / mc.stderr if mc.stderr > 0 else 0.0
    c3.metric("difference, in standard errors", f"{dev:+.2f}")
    st.caption("Multiply n by 100 and the standard error shrinks 10×. The closed form needs no sampling at all, "
               "which is why the VAE loss uses it.")
    per_dim = kl_per_dim(d.mu, d.logvar)
    number_table([{"dimension": f"z{i + 1}", "KL": per_dim[i]} for i in range(len(per_dim))], keys.MATHS_KL_TABLE,
                 decimals=4)


def elbo(ck, d: analysis.DigitELBO) -> None:
    # One term per line (an aligned block cannot wrap): two terms on a line ran off a projector's page, and a
    # phone's right edge cut the last one.
    # log p(x) on a line of its own: beside the first step it made that line 25 px wider than a phone's page.
    st.latex(r"\begin{aligned}&\log p(x) \\ &= \mathbb{E}_{q(z|x)}\Big[\log \frac{p(x, z)}{p(z \mid x)}\Big] \\"
             r"&= \mathbb{E}_{q}\Big[\log \frac{p(x, z)}{q(z \mid x)}\Big] \\"
             r"&\quad + \mathbb{E}_{q}\Big[\log \frac{q(z \mid x)}{p(z \mid x)}\Big] \\"
             r"&= \underbrace{\mathbb{E}_{q}[\log p(x \mid z)] - \mathrm{KL}\big(q(z|x)\,\|\,p(z)\big)}"
             r"_{\mathrm{ELBO}(x)} \\ &\quad + \underbrace{\mathrm{KL}\big(q(z|x)\,\|\,p(z|x)\big)}_{\ge\ 0}"
             r"\end{aligned}")
    c1, c2, c3, c4, c5 = metric_columns(5)
    c1.metric("E_q[log p(x|z)]", f"{-d.recon.mean:.2f}", help=f"Monte-Carlo over n = {d.recon.n} draws of z; "
              f"± {d.recon.stderr:.2f} (one standard error)")
    c2.metric("− KL(q ‖ p(z))", f"{-d.kl:.2f}", help="closed form")
    c3.metric("= ELBO", f"{d.elbo:.2f}")
    c4.metric("log p(x)", f"{d.log_px:.2f}", help=f"importance-weighted estimate, k = {d.k} samples (Burda et al.)")
    c5.metric("gap = KL(q ‖ p(z|x))", f"{d.gap:.2f}")
    st.caption(f"All in nats, for this digit. E_q[log p(x|z)] is ± {d.recon.stderr:.2f} (n = {d.recon.n}). The gap "
               "is how far the encoder's Gaussian is from the true posterior p(z|x); training pushes the ELBO up "
               "both by explaining x better and by closing this gap.")


def main() -> None:
    init_state()
    st.title("The maths, live")
    wrap_formulas()
    lesson_box(pages.MATHS)
    ck = current_checkpoint()
    # One short row (the digit at its 112 px, the two sliders side by side), so that the tab's own numbers (lesson
    # 1's table of mu and sigma) start on a laptop's first screen, under the lesson box.
    top = st.columns([1, 1, 1, 1])
    with top[0]:
        index = digit_picker(ck)
        st.caption(f"Model: {ck.name or Path(st.session_state[keys.MODEL_PATH]).stem}"
                   + (". Digits binarised, as in training." if ck.train_config.binarize == "dynamic" else ""))
    n = top[1].select_slider("Samples of z for E_q[·]", [10, 100, 1000], value=100, key=keys.MATHS_N)
    k = top[2].select_slider("Importance samples k for log p(x)", [100, 1000, 5000], value=1000, key=keys.MATHS_K)
    x = digit_input(ck.dataset, index, ck.train_config.binarize)
    label = int(test_split(ck.dataset).labels[index])
    top[3].image(im.to_uint8(x, 4), output_format="PNG", width=DIGIT_PX, caption=f"#{index} · label {label}",
                 alt=f"Test digit #{index}, a {label}"
                     + (", binarised as the model sees it." if ck.train_config.binarize == "dynamic" else "."))
    d = digit_numbers(ck.sha256, index, int(n), int(k), 0, ck)
    st.session_state.setdefault(keys.MATHS_TAB, pages.MATHS_TABS[0])
    if st.session_state[keys.MATHS_TAB] not in pages.MATHS_TABS:
        st.session_state[keys.MATHS_TAB] = pages.MATHS_TABS[0]
    tabs = st.tabs(pages.MATHS_TABS, key=keys.MATHS_TAB, on_change="rerun")
    for tab, draw in zip(tabs, [encoder_output, reparameterisation, closed_form_kl, elbo]):
        if tab.open:
            with tab:
                draw(ck, d)


main()
