"""Shared Plotly figure builders. Pages call these so every latent map looks and behaves the same."""
from __future__ import annotations

import base64
import re
from typing import Sequence

import numpy as np
import plotly.graph_objects as go

from ui import keys
from ui.map_png import latent_scatter_png  # noqa: F401  (re-exported)
from ui.palette import CLASS_COLORS, CLASS_OPACITY, CLASS_TEXT, class_color  # noqa: F401  (re-exported)

# Every chart's text: Streamlit's chart theme draws ticks, axis titles, legend and hover text in #808495, 3.7:1 on
# white (WCAG AA needs 4.5:1). Slate 700 is 10.4:1. Set on each figure as it is built (readable_text), where the
# theme does not override it.
CHART_TEXT = "#334155"


def typed_array(values: np.ndarray) -> dict:
    """An array as plotly.js's typed-array spec, the form Figure.to_dict() gives numpy arrays anyway. Handing it over
    ready skips Plotly's per-array validation and copying, on building the figure and again in st.plotly_chart."""
    a = np.ascontiguousarray(values)
    a = a.astype(a.dtype.newbyteorder("<"), copy=False)  # plotly.js reads little-endian
    return {"dtype": a.dtype.str[1:], "bdata": base64.b64encode(a.tobytes()).decode("ascii")}


def latent_scatter_figure(points: np.ndarray, labels: np.ndarray, *, class_names: Sequence[str] | None = None,
                          axis_titles: tuple[str, str] = ("z₁", "z₂"), title: str | None = None,
                          height: int = 520, marker_size: float = 4, opacity: float = CLASS_OPACITY,
                          equal_axes: bool = True, label_span: float | None = None) -> go.Figure:
    """A 2-D scatter of latent points coloured by label, one WebGL trace per class.

    One trace per class makes the legend toggle classes (click: hide/show, double-click: only this one). Each
    class's digit is written at its cluster's centre (class_centre_labels): colour is never the only cue.
    Scattergl, not SVG Scatter: 10k SVG nodes slow every rerun and Plotly's click selection (measured 75 -> 41 ms).
    `label_span`: the width of the window the map will show, when the caller sets the axes' range itself (the
    digits at the clusters' centres are spaced for it).
    Each point's `customdata` is its row in `points`, so a selection event maps back to the dataset:
    `event["selection"]["points"][0]["customdata"]` (per-trace `point_index` alone does not).
    Add markers on top with `fig.add_trace(...)`; they stay above because traces draw in order.
    """
    points = np.asarray(points, np.float32)
    labels = np.asarray(labels)
    traces = []
    for label in np.unique(labels):
        idx = np.flatnonzero(labels == label)
        name = class_names[int(label)] if class_names is not None else str(label)
        traces.append(dict(
            type="scattergl", x=typed_array(points[idx, 0]), y=typed_array(points[idx, 1]), mode="markers",
            name=name, customdata=typed_array(idx.astype(np.int32)),
            marker=dict(size=marker_size, color=class_color(label), opacity=opacity),
            hovertemplate=f"label {name}<br>({axis_titles[0]}, {axis_titles[1]}) = (%{{x:.2f}}, %{{y:.2f}})"
                          "<br>test digit #%{customdata}<extra></extra>"))
    axis = dict(showgrid=True, gridcolor="#e2e8f0", zeroline=True, zerolinecolor="#94a3b8")
    layout = dict(
        height=height, title=dict(text=title) if title else None, margin=dict(l=10, r=10, t=40 if title else 10, b=10),
        legend=dict(title=dict(text="digit (click to hide)"), itemsizing="constant", itemclick="toggle",
                    itemdoubleclick="toggleothers"),
        xaxis=dict(axis, title=dict(text=axis_titles[0])), yaxis=dict(axis, title=dict(text=axis_titles[1])),
        plot_bgcolor="white", annotations=class_centre_labels(points, labels, class_names,
                                                                       span=label_span))
    if equal_axes:
        # Same scale on both axes: distances (and posterior ellipses drawn on top) are not distorted.
        layout["yaxis"].update(scaleanchor="x", scaleratio=1)
    # One validated constructor call over plain dicts and typed arrays: add_trace and update_* one by one took
    # 31 ms for 10k points, plain dicts of numpy arrays 11 ms (measured). It matters on pages that draw this map on
    # every run (Reconstruct), and st.plotly_chart's own copy of the figure is cheaper too.
    return go.Figure(dict(data=traces, layout=readable_text({k: v for k, v in layout.items() if v is not None})))


def class_centre_labels(points: np.ndarray, labels: np.ndarray, class_names: Sequence[str] | None = None,
                        *, font_px: int = 13, min_gap: float = 0.07, span: float | None = None) -> list[dict]:
    """Each class's digit at its cluster's centre (the median of its points), as annotations: dark text on a white
    tag edged in the class's colour, the cue that does not depend on colour. Annotations are drawn above WebGL
    points, and Plotly hides one whose point is outside the axes' range. Where centres crowd together (a collapsed
    map: every class at the origin) a tag closer than `min_gap` of the map's span (`span`, else the width of the
    middle 98 % of the points) to one already placed is left out (larger classes first), rather than stacking tags
    on one spot."""
    points = np.asarray(points, np.float64)
    labels = np.asarray(labels)
    if not len(points):
        return []
    if span is None:
        lo, hi = np.percentile(points, [1, 99], axis=0)
        span = float((hi - lo).max())
    span = span or 1.0
    classes = sorted(np.unique(labels), key=lambda c: -int(np.sum(labels == c)))
    placed, out = [], []
    for c in classes:
        centre = np.median(points[labels == c], axis=0)
        if any(np.abs(centre - p).max() < min_gap * span for p in placed):  # the two tags' boxes would meet
            continue
        placed.append(centre)
        name = class_names[int(c)] if class_names is not None else str(c)
        out.append(dict(x=float(centre[0]), y=float(centre[1]), text=f"<b>{name}</b>", showarrow=False,
                        font=dict(size=font_px, color=CLASS_TEXT), bgcolor="rgba(255,255,255,0.85)",
                        bordercolor=class_color(c), borderwidth=2, borderpad=1,
                        hovertext=f"the centre of the {name}s"))
    return sorted(out, key=lambda a: a["text"])


def _colour_where_unset(owner: dict, key: str, color: str = CHART_TEXT) -> None:
    """owner[key]["color"] = color unless the figure chose one (owner[key] becomes a new dict)."""
    font = dict(owner.get(key) or {})
    font.setdefault("color", color)
    owner[key] = font


def readable_text(layout: dict, data: Sequence[dict] = ()) -> dict:
    """`layout` (a dict, changed in place and returned) with every text it can show in CHART_TEXT unless the figure
    set a colour: the base font, the title, each axis's ticks and title (the axes the traces use included), the
    legend, hover labels, annotations, slider and button labels. Colour bars are on the traces: `data` (dicts)."""
    _colour_where_unset(layout, "font")
    axes = {k for k in layout if _AXIS_KEY.match(k)} | {"xaxis", "yaxis"}
    for trace in data:
        for ref in ("xaxis", "yaxis"):
            if isinstance(trace.get(ref), str):
                axes.add(ref[0] + "axis" + trace[ref][1:])
        if isinstance(trace.get("colorbar"), dict):
            bar = trace["colorbar"] = dict(trace["colorbar"])
            _colour_where_unset(bar, "tickfont")
            if bar.get("title") is not None:
                bar["title"] = _text(bar["title"])
                _colour_where_unset(bar["title"], "font")
    for key in axes:
        axis = layout[key] = dict(layout.get(key) or {})
        _colour_where_unset(axis, "tickfont")
        axis["title"] = _text(axis.get("title") or {})
        _colour_where_unset(axis["title"], "font")
    for key in ("title", "legend"):
        owner = layout[key] = _text(layout.get(key) or {}) if key == "title" else dict(layout.get(key) or {})
        _colour_where_unset(owner, "font")
    layout["legend"]["title"] = _text(layout["legend"].get("title") or {})
    _colour_where_unset(layout["legend"]["title"], "font")
    layout["hoverlabel"] = dict(layout.get("hoverlabel") or {})
    _colour_where_unset(layout["hoverlabel"], "font")
    for key in ("annotations", "sliders", "updatemenus"):
        if layout.get(key):
            layout[key] = [dict(item) for item in layout[key]]
            for item in layout[key]:
                _colour_where_unset(item, "font")
                if key == "sliders":
                    item["currentvalue"] = dict(item.get("currentvalue") or {})
                    _colour_where_unset(item["currentvalue"], "font")
    return layout


def readable_figure(fig: go.Figure) -> go.Figure:
    """A go.Figure built with add_trace / update_layout, its text made readable (readable_text) in place: for the
    figures' builders, before the figure is cached or shared."""
    data = [t.to_plotly_json() for t in fig.data]
    colour_bars = [t for t in data if isinstance(t.get("colorbar"), dict)]
    layout = fig.layout.to_plotly_json()
    layout.pop("template", None)  # Plotly's default template, as it is: not text this figure draws
    fig.update_layout(readable_text(layout, colour_bars))
    for trace, spec in zip(fig.data, data):
        if isinstance(spec.get("colorbar"), dict):
            trace.colorbar = spec["colorbar"]
    return fig


def selected_customdata(event) -> int | None:
    """The customdata (a test-digit row, a cell index) of the first selected point that carries a number, from an
    st.plotly_chart selection event; None when nothing usable is selected. Dict access works live and in AppTest;
    markers drawn on top carry no customdata and are skipped."""
    try:
        points = event["selection"]["points"]
    except (KeyError, TypeError):
        return None
    for point in points:
        data = np.ravel(point.get("customdata")) if point.get("customdata") is not None else ()
        if len(data) and isinstance(data[0], (int, float, np.number)):
            return int(data[0])
    return None


# ---- large type (the sidebar's projector toggle) -----------------------------------------------------------------

LARGE_FONT_PX = 18  # a chart's text with large type: ticks, legend, hover, annotations (Plotly's default is 12)
LARGE_FONT_SCALE = LARGE_FONT_PX / 12  # a size a figure sets itself grows as much
_AXIS_KEY = re.compile(r"^[xy]axis\d*$")


def _text(value) -> dict:
    """A title as a dict: Plotly takes a plain string too."""
    return dict(value) if isinstance(value, dict) else {"text": value}


def _font(owner: dict, key: str = "font", px: float = LARGE_FONT_PX) -> None:
    """owner[key].size: scaled where the figure set one, else px. Replaces owner[key] with a new dict."""
    font = dict(owner.get(key) or {})
    size = font.get("size")
    font["size"] = size * LARGE_FONT_SCALE if isinstance(size, (int, float)) else px
    owner[key] = font


def _titled(owner: dict, key: str, px: float) -> None:
    if owner.get(key) is not None:
        owner[key] = _text(owner[key])
        _font(owner[key], px=px)


def _large_layout(layout: dict, data: Sequence[dict]) -> dict:
    """A new layout with larger text; `layout` (and everything in it) is left as it was. Only the dicts on the way
    to a font are copied: the rest (typed arrays in shapes, slider steps) is shared."""
    out = dict(layout)
    _font(out)
    _titled(out, "title", LARGE_FONT_PX + 4)
    # Every axis gets explicit sizes: Streamlit's theme sets tick and title sizes on the axes of its template, so a
    # base font alone would not reach them. Axes may be implicit (no layout key) and referenced by traces only.
    axes = {k for k in out if _AXIS_KEY.match(k)} | {"xaxis", "yaxis"}
    for trace in data:
        for ref in ("xaxis", "yaxis"):
            if isinstance(trace.get(ref), str):  # "x2" -> "xaxis2"
                axes.add(ref[0] + "axis" + trace[ref][1:])
    for key in axes:
        axis = out[key] = dict(out.get(key) or {})
        _font(axis, "tickfont")
        _titled(axis, "title", LARGE_FONT_PX + 1)
    legend = out["legend"] = dict(out.get("legend") or {})
    _font(legend)
    _titled(legend, "title", LARGE_FONT_PX)
    below = legend.get("orientation") == "h" and legend.get("yref", "paper") == "paper" and legend.get("y", 1) < 0
    if below or ("orientation" not in legend and not out.get("sliders")):
        # A legend on the right (Plotly's default) at this size takes ~190 px, most of a chart in a half-page
        # column (the Explore map's plot was squeezed to ~100 px): it goes under the plot instead. Not where a
        # slider is (the Train page's replay): that is under the plot. At the foot of the whole chart (y in the
        # container's terms): just under the plot (paper, as some figures put it) it met the larger tick labels
        # and axis title; Plotly makes room for it at the foot.
        legend.update(orientation="h", yref="container", y=0, yanchor="bottom")
    hover = out["hoverlabel"] = dict(out.get("hoverlabel") or {})
    _font(hover)
    for key in ("annotations", "sliders", "updatemenus"):
        if out.get(key):
            out[key] = [dict(item) for item in out[key]]
            for item in out[key]:
                _font(item)
                if key == "sliders":
                    item["currentvalue"] = dict(item.get("currentvalue") or {})
                    _font(item["currentvalue"])
                    pad = item["pad"] = dict(item.get("pad") or {})  # clear of the larger axis title above it
                    pad["t"] = pad.get("t", 20) * LARGE_FONT_SCALE
    return out


def _large_trace(trace: dict) -> dict:
    """A trace with its colour bar's text enlarged (a copy; the trace itself is left as it was)."""
    if not isinstance(trace.get("colorbar"), dict):
        return trace
    bar = dict(trace["colorbar"])
    _font(bar, "tickfont")
    _titled(bar, "title", LARGE_FONT_PX)
    return {**trace, "colorbar": bar}


def large_type() -> bool:
    """Whether the sidebar's "Large type (projector)" toggle is on in this session."""
    import streamlit as st

    return bool(st.session_state.get(keys.LARGE_TYPE))


def scaled(fig, large: bool | None = None):
    """The figure as this session should see it: `fig` itself with normal type; with large type a copy whose text
    (ticks, axis and chart titles, legend, hover labels, annotations, colour bars) is about LARGE_FONT_PX and whose
    own font sizes are scaled by as much, so a projector's back row can read it.

    `fig` is never changed: figures are cached and shared between sessions (a go.Figure or a plain dict of typed
    arrays). A go.Figure becomes a dict: st.plotly_chart turns a figure into one anyway (to_dict), and the copy costs
    about that much again. The normal path costs nothing. Large type also changes the chart's spec, so a chart
    drawn before the toggle is redrawn (Streamlit's theme alone sizes text once, when the chart is first drawn)."""
    if not (large_type() if large is None else large):
        return fig
    if isinstance(fig, go.Figure):
        # Copies of its traces and layout, rebuilt without validating them again (they were validated when `fig`
        # was built; validation is most of what a copy costs). Frames (the Train page's replay) are not copied:
        # nothing changes them, and the new figure only reads them, as st.plotly_chart's to_dict() does.
        data = [_large_trace(trace.to_plotly_json()) for trace in fig.data]
        large = go.Figure({"data": data, "layout": _large_layout(fig.layout.to_plotly_json(), data)}, _validate=False)
        if fig.frames:
            if hasattr(large, "_frame_objs"):
                large._frame_objs = fig._frame_objs
            else:  # another Plotly: copy them, validated
                large.frames = fig.frames
        return large
    data = list(fig.get("data") or [])
    return {**fig, "data": [_large_trace(t) for t in data], "layout": _large_layout(fig.get("layout") or {}, data)}


def chart(fig, **kwargs):
    """st.plotly_chart with the session's type size: every page draws its Plotly figures through this."""
    import streamlit as st

    return st.plotly_chart(scaled(fig), **kwargs)
