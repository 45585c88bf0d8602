"""Every Plotly figure the app draws sets its own text colour, >= 4.5:1 on white, everywhere text can appear: left
to Streamlit's chart theme, ticks, axis titles, legend and hover text are #808495 (3.7:1). And class maps carry a
cue besides colour: each class's digit at its cluster's centre, in dark ink."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from colour_science import contrast
from ui import kl_figures
from ui.palette import CLASS_COLORS, CLASS_TEXT
from ui.plots import CHART_TEXT, class_centre_labels, latent_scatter_figure, scaled
from ui.training import loss_curves_figure, replay_figure
from vae import analysis

THEME_GREY = "#808495"  # Streamlit's chart text, for the check that the test can fail


def figures() -> dict:
    rng = np.random.default_rng(0)
    points, labels = rng.standard_normal((300, 2)).astype(np.float32), np.arange(300) % 10
    edges = analysis.grid_edges(4.0, 8)
    history = [{"epoch": e, "train_recon": 100 - e, "train_kl": 5.0, "train_neg_elbo": 105 - e} for e in (1, 2)]
    holes = [analysis.Hole(z=(0.5, 0.5), prior_mass=0.01, posterior_mass=0.0001)] \
        if hasattr(analysis, "Hole") else []
    return {
        "latent map": latent_scatter_figure(points, labels, title="a title"),
        "loss curves": loss_curves_figure(history, {"recon": 90.0, "kl": 5.0, "neg_elbo": 95.0}, epoch=3),
        "replay": replay_figure([0, 1], [points, points * 2], labels),
        "holes": kl_figures.holes_figure(np.full((8, 8), 1 / 64), edges, holes, None, title="holes"),
        "rate-distortion": kl_figures.rate_distortion_figure(
            [{"beta": 1.0, "label": "β = 1", "kl": 5.0, "recon": 140.0, "neg_elbo": 145.0},
             {"beta": 4.0, "label": "β = 4", "kl": 2.0, "recon": 150.0, "neg_elbo": 152.0}],
            [{"label": "Your run", "kl": 4.0, "recon": 145.0, "neg_elbo": 149.0}]),
        "posterior width": kl_figures.sigma_violin_figure({1.0: rng.standard_normal(50), 4.0: rng.standard_normal(50)}),
        "KL per dimension": kl_figures.kl_per_dim_figure(np.array([2.0, 0.001]), np.array([True, False])),
    }


def text_colours(fig: go.Figure) -> dict[str, str | None]:
    """Where text can appear -> the colour the figure gives it (None: left to the theme)."""
    spec = fig.to_dict()
    layout = spec["layout"]
    get = lambda d, *path: (d := d or {}) and [d := (d or {}).get(p) for p in path][-1]  # noqa: E731
    out = {"font": get(layout, "font", "color"), "legend": get(layout, "legend", "font", "color"),
           "legend title": get(layout, "legend", "title", "font", "color"),
           "hover": get(layout, "hoverlabel", "font", "color"), "title": get(layout, "title", "font", "color")}
    for key in [k for k in layout if k.startswith(("xaxis", "yaxis"))]:
        out[f"{key} ticks"] = get(layout, key, "tickfont", "color")
        out[f"{key} title"] = get(layout, key, "title", "font", "color")
    for i, a in enumerate(layout.get("annotations", [])):
        out[f"annotation {i} {a.get('text')}"] = get(a, "font", "color")
    for i, trace in enumerate(spec["data"]):
        if "colorbar" in trace:
            out[f"trace {i} colour bar"] = get(trace, "colorbar", "tickfont", "color")
    return out


@pytest.mark.parametrize("name", list(figures()))
def test_every_chart_text_is_dark_enough_on_white(name):
    colours = text_colours(figures()[name])
    unset = [where for where, c in colours.items() if c is None]
    assert not unset, f"{name}: left to the theme's {THEME_GREY}: {unset}"
    faint = {where: c for where, c in colours.items() if contrast(c) < 4.5}
    assert not faint, f"{name}: under 4.5:1 on white: {faint}"


@pytest.mark.parametrize("name", list(figures()))
def test_large_type_keeps_the_colours(name):
    fig = figures()[name]
    big = scaled(fig, large=True)
    assert text_colours(big) == text_colours(fig)


def test_the_check_fails_on_the_theme_grey():
    assert contrast(THEME_GREY) < 4.5 <= contrast(CHART_TEXT)
    bare = go.Figure(go.Scatter(x=[0, 1], y=[0, 1]))
    assert None in text_colours(bare).values()


def test_each_class_is_named_at_its_centre_in_dark_ink_edged_in_its_colour():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10), 50)
    centres = np.stack([np.cos(np.arange(10)), np.sin(np.arange(10))], 1) * 5
    points = centres[labels] + 0.3 * rng.standard_normal((500, 2))
    tags = {a["text"]: a for a in class_centre_labels(points, labels)}
    assert set(tags) == {f"<b>{c}</b>" for c in range(10)}
    for c in range(10):
        tag = tags[f"<b>{c}</b>"]
        assert np.hypot(tag["x"] - centres[c, 0], tag["y"] - centres[c, 1]) < 0.3
        assert tag["font"]["color"] == CLASS_TEXT and tag["bordercolor"] == CLASS_COLORS[c]
    fig = latent_scatter_figure(points.astype(np.float32), labels)
    assert len(fig.layout.annotations) == 10


def test_crowded_centres_are_named_once_not_stacked():
    """A collapsed map (every class at the origin) in a window 8 wide: one tag, not ten on top of each other; two
    clusters a third of the window apart keep theirs."""
    labels = np.repeat(np.arange(10), 20)
    points = 0.001 * np.random.default_rng(0).standard_normal((200, 2))
    assert len(class_centre_labels(points, labels, span=8.0)) == 1
    points[labels == 3] += (3.0, 0.0)
    assert sorted(a["text"] for a in class_centre_labels(points, labels, span=8.0))[-1] == "<b>3</b>"
    assert len(class_centre_labels(points, labels, span=8.0)) == 2
