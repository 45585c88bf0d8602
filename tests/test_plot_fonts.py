"""ui.plots.scaled: with large type a chart's text grows to about 18 px (ticks, titles, legend, annotations, colour
bars, sliders), its own sizes scaled as much; without, the figure is handed over as it is. The figure passed in is
never changed (figures are cached and shared between sessions), whether a go.Figure or a plain dict."""
from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import pytest

from ui import kl_figures
from ui.plots import LARGE_FONT_PX, latent_scatter_figure, scaled, typed_array
from ui.training import loss_curves_figure, replay_figure
from vae import analysis


def as_json(fig) -> str:
    return json.dumps(fig.to_dict() if isinstance(fig, go.Figure) else fig, sort_keys=True, default=str)


def layout_of(fig) -> dict:
    return fig.to_dict()["layout"] if isinstance(fig, go.Figure) else fig["layout"]


def figures() -> dict:
    rng = np.random.default_rng(0)
    points, labels = rng.standard_normal((300, 2)).astype(np.float32), np.arange(300) % 10
    edges = analysis.grid_edges(4.0, 8)
    history = [{"epoch": e, "train_recon": 100 - e, "train_kl": 5.0, "train_neg_elbo": 105 - e} for e in (1, 2)]
    return {
        "latent map": latent_scatter_figure(points, labels, title="a title"),
        "loss curves": loss_curves_figure(history),
        "replay": replay_figure([0, 1], [points, points * 2], labels),
        "holes": kl_figures.holes_figure(np.full((8, 8), 1 / 64), edges, [], None, title="holes"),
        "rate-distortion": kl_figures.rate_distortion_figure(
            [{"beta": 1.0, "label": "β = 1", "kl": 5.0, "recon": 140.0, "neg_elbo": 145.0}], []),
        "plain dict": {"data": [{"type": "scattergl", "x": typed_array(points[:, 0]), "y": typed_array(points[:, 1]),
                                 "mode": "markers", "xaxis": "x2", "yaxis": "y2"}],
                       "layout": {"title": "plain", "font": {"size": 10},
                                  "annotations": [{"text": "note", "font": {"size": 12}, "showarrow": False}],
                                  "xaxis2": {"title": "z₁", "tickfont": {"color": "#333"}}}},
    }


@pytest.mark.parametrize("name", list(figures()))
def test_normal_type_hands_the_figure_over_as_it_is(name):
    fig = figures()[name]
    assert scaled(fig, large=False) is fig


@pytest.mark.parametrize("name", list(figures()))
def test_large_type_scales_every_text_and_leaves_the_figure_alone(name):
    fig = figures()[name]
    before = as_json(fig)
    kept = copy.deepcopy(fig) if isinstance(fig, dict) else None
    big = scaled(fig, large=True)
    assert as_json(fig) == before, "the figure passed in was changed"
    if kept is not None:
        assert fig == kept and big is not fig and big["layout"] is not fig["layout"]
    layout = layout_of(big)
    sizes = [layout["font"]["size"], layout["legend"]["font"]["size"], layout["hoverlabel"]["font"]["size"]]
    axes = [k for k in layout if k.startswith(("xaxis", "yaxis"))]
    assert {"xaxis", "yaxis"} <= set(axes)
    sizes += [layout[k]["tickfont"]["size"] for k in axes]
    sizes += [layout[k]["title"]["font"]["size"] for k in axes if "title" in layout[k]]
    sizes += [a["font"]["size"] for a in layout.get("annotations", [])]
    if "title" in layout:
        sizes.append(layout["title"]["font"]["size"])
    assert min(sizes) >= 0.9 * LARGE_FONT_PX * (10 / 12 if name == "plain dict" else 1), sizes
    # The data are the same numbers (typed arrays stay typed arrays).
    data = big.to_dict()["data"] if isinstance(big, go.Figure) else big["data"]
    original = fig.to_dict()["data"] if isinstance(fig, go.Figure) else fig["data"]
    assert [t.get("x") for t in data] == [t.get("x") for t in original]


def test_sizes_a_figure_sets_itself_are_scaled_not_replaced():
    fig = figures()["plain dict"]
    layout = scaled(fig, large=True)["layout"]
    assert layout["font"]["size"] == pytest.approx(15)  # 10 px x 1.5
    assert layout["annotations"][0]["font"]["size"] == pytest.approx(18)  # 12 px x 1.5
    assert layout["title"] == {"text": "plain", "font": {"size": LARGE_FONT_PX + 4}}  # a string title becomes a dict
    assert "xaxis2" in layout and "yaxis2" in layout  # the axes the trace uses, not only the defaults
    assert layout["xaxis2"]["tickfont"] == {"color": "#333", "size": LARGE_FONT_PX}


def test_frames_sliders_and_colour_bars_come_through():
    figs = figures()
    points = np.zeros((4, 2), np.float32)
    animated = latent_scatter_figure(points, np.arange(4))
    animated.frames = [go.Frame(name="0", data=[])]
    animated.update_layout(sliders=[{"currentvalue": {"prefix": "epoch "}, "steps": [{"label": "0"}]}])
    big = scaled(animated, large=True).to_dict()
    assert big["frames"] == animated.to_dict()["frames"]
    assert big["layout"]["sliders"][0]["currentvalue"]["font"]["size"] == LARGE_FONT_PX
    holes = scaled(figs["holes"], large=True).to_dict()
    assert holes["data"][0]["colorbar"]["tickfont"]["size"] == LARGE_FONT_PX


def test_the_session_toggle_decides(monkeypatch):
    import streamlit as st

    fig = figures()["latent map"]
    monkeypatch.setattr(st, "session_state", {"large_type": False})
    assert scaled(fig) is fig
    monkeypatch.setattr(st, "session_state", {"large_type": True})
    assert layout_of(scaled(fig))["xaxis"]["tickfont"]["size"] == LARGE_FONT_PX


def test_every_page_draws_its_charts_through_the_helper():
    """A chart drawn with st.plotly_chart directly would keep small text with large type."""
    pages = Path(__file__).resolve().parent.parent / "app_pages"
    direct = [f"{p.name}:{i}" for p in sorted(pages.glob("*.py"))
              for i, line in enumerate(p.read_text().splitlines(), 1) if re.search(r"\bst\.plotly_chart\(", line)]
    assert not direct, direct
