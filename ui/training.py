"""Figures and labels for the Train page: the live loss curves and the latent-map replay (Plotly, no torch)."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from ui.palette import CLASS_OPACITY, class_color
from ui.plots import class_centre_labels, readable_text, typed_array
from vae.plot_window import plot_window

CURVES = [("recon", "Reconstruction (nats)"), ("kl", "KL (nats)"), ("neg_elbo", "−ELBO (nats)")]
# Not class colours: train is solid, test dashed, so the two series differ without colour too.
TRAIN_COLOR, TEST_COLOR = "#2563eb", "#c2410c"
LARGE_TYPE_GAP = 0.13  # between the loss panels with large type: 18 px tick labels ("0.016") met the next panel


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "estimating…"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def loss_curves_figure(history: list[dict], in_progress: dict | None = None, epoch: int = 0,
                       height: int = 300, gap: float = 0.08) -> go.Figure:
    """Reconstruction, KL and −ELBO per epoch, train (solid) and test (dashed), side by side.

    `in_progress` (running means of the epoch being trained) is drawn as a hollow marker at x = epoch, so the
    chart moves between epochs too. `gap` is the room between panels, a fraction of the width: each panel's
    y tick labels sit in it (large type needs more, LARGE_TYPE_GAP).
    Built as one dict, not with make_subplots and add_trace: the page redraws it
    every second while a run trains, and Plotly's per-call validation took ~30 ms of the server's GIL each time.
    """
    epochs = [h["epoch"] for h in history]
    width = (1 - 2 * gap) / 3  # three equal panels; what make_subplots(cols=3, horizontal_spacing=gap) gives
    traces, layout = [], {"annotations": []}
    for col, (key, title) in enumerate(CURVES):
        axis = "" if col == 0 else str(col + 1)  # x, x2, x3
        first = col == 0  # one legend entry per series, not three
        on = {"xaxis": f"x{axis}", "yaxis": f"y{axis}"}
        traces.append({"type": "scatter", "x": epochs, "y": [h.get(f"train_{key}") for h in history],
                       "mode": "lines+markers", "name": "train", "legendgroup": "train", "showlegend": first,
                       "line": {"color": TRAIN_COLOR}, **on})
        test = [(h["epoch"], h[f"test_{key}"]) for h in history if f"test_{key}" in h]
        if test:
            traces.append({"type": "scatter", "x": [e for e, _ in test], "y": [v for _, v in test],
                           "mode": "lines+markers", "name": "test", "legendgroup": "test", "showlegend": first,
                           "line": {"color": TEST_COLOR, "dash": "dash"}, **on})
        if in_progress and key in in_progress:
            traces.append({"type": "scatter", "x": [epoch], "y": [in_progress[key]], "mode": "markers",
                           "name": "this epoch so far", "legendgroup": "now", "showlegend": first,
                           "marker": {"color": TRAIN_COLOR, "symbol": "circle-open", "size": 10}, **on})
        left = col * (width + gap)
        grid = {"showgrid": True, "gridcolor": "#e2e8f0"}
        layout[f"xaxis{axis}"] = {"anchor": f"y{axis}", "domain": [left, left + width], "title": {"text": "epoch"},
                                  "rangemode": "tozero", **grid}
        layout[f"yaxis{axis}"] = {"anchor": f"x{axis}", "domain": [0.0, 1.0], **grid}
        layout["annotations"].append({"text": title, "x": left + width / 2, "y": 1.0, "xref": "paper",
                                      "yref": "paper", "xanchor": "center", "yanchor": "bottom",
                                      "showarrow": False, "font": {"size": 16}})
    layout.update(height=height, margin={"l": 10, "r": 10, "t": 40, "b": 10}, plot_bgcolor="white",
                  legend={"orientation": "h", "yanchor": "bottom", "y": -0.45, "x": 0})
    return go.Figure({"data": traces, "layout": readable_text(layout, traces)})


def loss_curves_summary(history: list[dict]) -> str:
    """The loss curves in one sentence, for a screen reader (the chart's text alternative)."""
    if not history:
        return "Loss curves: no epoch has finished yet."
    first, last = history[0], history[-1]
    parts = [f"{title.split(' (')[0]} {first.get(f'train_{key}', float('nan')):.1f} → "
             f"{last.get(f'train_{key}', float('nan')):.1f}" for key, title in CURVES]
    return (f"Loss curves over {len(history)} epochs, training set, epoch {first['epoch']} to {last['epoch']}, "
            f"in nats: " + "; ".join(parts) + ".")


def replay_ranges(frames: list[np.ndarray]) -> tuple[list[float], list[float]]:
    """The replay's axes, the same for every epoch (0.5–99.5th percentiles of every frame), so the map's motion
    is real, not a rescaling."""
    everything = np.concatenate(frames)
    return [list(plot_window(everything[:, k], cover=None, pad=0.08)) for k in (0, 1)]  # a run's own spread


def replay_figure(epochs: list[int], frames: list[np.ndarray], labels: np.ndarray, *, index: int = -1,
                  classes=None, axis_titles=("z₁", "z₂"), height: int = 560) -> go.Figure:
    """The latent map of the fixed test digits after epoch epochs[index], on axes fixed over all epochs, with each
    class's digit at its cluster's centre; `classes` (None: all) are the digits drawn.

    One epoch per figure: the page steps through them with its own Play/Pause button and epoch slider (Streamlit
    widgets, which the keyboard reaches; Plotly's animation buttons and slider are SVG that it does not), and no
    animation runs on its own. SVG scatter: 1000 points. Plain dicts and typed arrays: cheap to build per step."""
    labels = np.asarray(labels)
    shown = [int(c) for c in np.unique(labels) if classes is None or int(c) in set(classes)]
    points = frames[index]
    traces = [{"type": "scatter", "x": typed_array(points[labels == c, 0]), "y": typed_array(points[labels == c, 1]),
               "mode": "markers", "name": str(c), "hovertemplate": f"digit {c}<extra></extra>",
               "marker": {"size": 5, "color": class_color(c), "opacity": CLASS_OPACITY}}
              for c in shown]
    x_range, y_range = replay_ranges(frames)
    keep = np.isin(labels, shown)
    axis = dict(gridcolor="#e2e8f0", zerolinecolor="#94a3b8")
    layout = dict(
        height=height, plot_bgcolor="white", margin=dict(l=10, r=10, t=30, b=10),
        title=dict(text=f"Epoch {epochs[index]}"),
        xaxis=dict(axis, range=x_range, title=dict(text=axis_titles[0])),
        yaxis=dict(axis, range=y_range, title=dict(text=axis_titles[1]), scaleanchor="x", scaleratio=1),
        legend=dict(title=dict(text="digit"), itemsizing="constant"),
        annotations=class_centre_labels(points[keep], labels[keep]))
    return go.Figure({"data": traces, "layout": readable_text(layout, traces)})
