"""Plotly figures for the KL lab: the rate-distortion chart, posterior widths, KL per dimension and the holes map.
Numbers in, figures out; the maths is in vae.analysis."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import plotly.graph_objects as go

from ui.plots import readable_figure
from vae import analysis

BETA_COLORS = {0.0: "#64748b", 0.25: "#0ea5e9", 1.0: "#2563eb", 4.0: "#9333ea", 16.0: "#dc2626"}
RUN_COLOR = "#16a34a"
_GRID = dict(showgrid=True, gridcolor="#e2e8f0", zeroline=False)


def beta_color(beta: float) -> str:
    return BETA_COLORS.get(float(beta), "#0f172a")


def beta_label(beta: float) -> str:
    return f"β = {beta:g}"


# ---- labels that never meet -------------------------------------------------------------------------------------
# The rate-distortion chart is drawn as wide as its column (a phone leaves ~250 px of plot, a projector ~1500) and,
# with large type (ui.plots.scaled), its text is 1.5x larger. Python does not know which, so its labels' positions
# are chosen for all of these sizes at once: no two labels' boxes, nor a label and a marker, meet at any of them.
# Boxes are estimated from Plotly's own rules (drawing.textPointPosition) with a generous glyph width.
LABEL_PLOT_WIDTHS = tuple(range(240, 1601, 20))  # the plot area's width in px
LABEL_PLOT_HEIGHTS = (300, 340, 380, 420)  # its height: 480 less ticks, axis titles and one to three legend rows
LABEL_FONT_SCALES = (1.0, 1.5)  # normal and large type
TEXT_POSITIONS = ("top right", "bottom right", "top left", "bottom left", "middle right", "middle left",
                  "top center", "bottom center")  # in order of preference
SWEEP_MARKER_PX, OTHER_MARKER_PX = 13, 12
LABEL_FONT_PX, LEVEL_FONT_PX = 12, 11  # Plotly's default text size (the beta labels); the -ELBO annotations'
CHAR_EM = 0.55  # a glyph's width in font sizes, on the wide side (Open Sans averages ~0.45 on these labels)


def label_geometry(widths=LABEL_PLOT_WIDTHS, heights=LABEL_PLOT_HEIGHTS, scales=LABEL_FONT_SCALES):
    """Every (plot width, plot height, font scale) combination, as three flat arrays."""
    w, h, s = np.meshgrid(np.asarray(widths, float), np.asarray(heights, float), np.asarray(scales, float))
    return w.ravel(), h.ravel(), s.ravel()


def _to_px(x, y, x_range, y_range, geom):
    w, h, _ = geom
    return ((x - x_range[0]) / (x_range[1] - x_range[0]) * w, (y_range[1] - y) / (y_range[1] - y_range[0]) * h)


def text_point_box(x, y, text, position, marker_px, x_range, y_range, geom, font_px=LABEL_FONT_PX):
    """(left, top, right, bottom) in px from the plot area's top left, one value per geometry: a scatter point's
    text at `position` (Plotly: offset from the marker's centre by marker radius / 0.8 + 1, baseline at
    0.75 em below the nominal top of the text)."""
    px, py = _to_px(x, y, x_range, y_range, geom)
    f = font_px * geom[2]
    width = CHAR_EM * f * len(text) + 2
    r = marker_px / 2 / 0.8 + 1
    v, _, h = position.partition(" ")
    sv = {"top": -1, "middle": 0, "bottom": 1}[v]
    baseline = py + 0.75 * f + sv * r + (sv - 1) * f / 2
    if h == "right":
        left = px + r
    elif h == "left":
        left = px - r - width
    else:
        left = px - width / 2
    return left, baseline - 1.0 * f, left + width, baseline + 0.35 * f


def level_label(c: float, end: int, x_range, y_range) -> dict | None:
    """The annotation naming the line x + y = c at one of its ends: 0 where it enters the plot on the left (x = 0),
    1 where it leaves it, on the right edge or the bottom. None where that end is not in the plot."""
    if end == 0:
        if not y_range[0] <= c <= y_range[1]:
            return None
        x, y, xanchor = float(x_range[0]), float(c), "left"
    else:
        x, y, xanchor = float(min(x_range[1], c - y_range[0])), float(max(y_range[0], c - x_range[1])), "right"
        if not (x_range[0] <= x <= x_range[1] and y_range[0] <= y <= y_range[1]):
            return None
    return dict(x=x, y=y, text=f"−ELBO {c:g}", showarrow=False, xanchor=xanchor, yanchor="bottom",
                font=dict(size=LEVEL_FONT_PX, color="#64748b"))


def annotation_box(ann: dict, x_range, y_range, geom):
    """(left, top, right, bottom) of a text annotation without arrow (1 px border pad), per geometry."""
    px, py = _to_px(ann["x"], ann["y"], x_range, y_range, geom)
    f = ann["font"]["size"] * geom[2]
    width, height = CHAR_EM * f * len(ann["text"]) + 4, 1.35 * f + 2
    left = {"left": px, "right": px - width, "center": px - width / 2}[ann["xanchor"]]
    top = {"bottom": py - height, "top": py, "middle": py - height / 2}[ann["yanchor"]]
    return left, top, left + width, top + height


def marker_box(x, y, marker_px, x_range, y_range, geom):
    px, py = _to_px(x, y, x_range, y_range, geom)
    return px - marker_px / 2, py - marker_px / 2, px + marker_px / 2, py + marker_px / 2


def boxes_meet(a, b, gap: float = 1.0) -> np.ndarray:
    """Per geometry: whether boxes a and b (each (left, top, right, bottom)) come closer than `gap` px."""
    return ((a[0] < b[2] + gap) & (b[0] < a[2] + gap) & (a[1] < b[3] + gap) & (b[1] < a[3] + gap))


def _inside(box, geom) -> np.ndarray:
    w, h, _ = geom
    return (box[0] >= 0) & (box[1] >= 0) & (box[2] <= w) & (box[3] <= h)


def place_labels(sweep: Sequence[dict], others: Sequence[dict], levels: Sequence[float], x_range, y_range,
                 geom=None) -> tuple[list[str] | None, list[dict]]:
    """A text position for each sweep point's label, and the -ELBO lines' labels (annotations) to show, such that
    no label meets another label or a marker, and every label stays inside the plot, at every geometry. Among the
    placements that achieve it, the one that hides the fewest line labels and then prefers positions earlier in
    TEXT_POSITIONS; a line's label goes to its left end, else to its other end, else it is left out. None instead
    of positions when no placement achieves it (the points crowd together, e.g. when a barely trained run far
    away stretches the axes): the figure then names the points in its legend."""
    geom = label_geometry() if geom is None else geom
    texts = [beta_label(p["beta"]) for p in sweep]
    markers = [marker_box(p["kl"], p["recon"], SWEEP_MARKER_PX, x_range, y_range, geom) for p in sweep] + \
              [marker_box(p["kl"], p["recon"], OTHER_MARKER_PX, x_range, y_range, geom) for p in others]
    cand = [[text_point_box(p["kl"], p["recon"], t, pos, SWEEP_MARKER_PX, x_range, y_range, geom)
             for pos in TEXT_POSITIONS] for p, t in zip(sweep, texts)]
    ends = [[level_label(c, end, x_range, y_range) for end in (0, 1)] for c in levels]
    lvl = [box for pair_ in ends for box in (annotation_box(a, x_range, y_range, geom) if a else None
                                             for a in pair_)]  # (line, end) flattened
    n, k = len(sweep), len(TEXT_POSITIONS)
    # Collisions of a label alone: outside the plot, or on a marker (its own excepted).
    own = np.array([[int((~_inside(cand[i][a], geom)).any()) +
                     sum(bool(boxes_meet(cand[i][a], m).any()) for j, m in enumerate(markers) if j != i)
                     for a in range(k)] for i in range(n)])
    pair = np.zeros((n, k, n, k), bool)
    for i in range(n):
        for j in range(i + 1, n):
            for a in range(k):
                for b in range(k):
                    pair[i, a, j, b] = pair[j, b, i, a] = bool(boxes_meet(cand[i][a], cand[j][b]).any())
    # A line label's end is blocked when it meets a marker or leaves the plot, whatever the placement ...
    blocked = np.array([box is None or not _inside(box, geom).all() or any(boxes_meet(box, m).any() for m in markers)
                        for box in lvl], bool)
    # ... or when it meets the label at position a of point i.
    lvl_hit = np.array([[[box is not None and bool(boxes_meet(cand[i][a], box).any()) for box in lvl]
                         for a in range(k)] for i in range(n)], bool).reshape(n, k, len(lvl))
    # Two ends of different lines may collide too: a line's label takes the first free end, in order of c.
    lvl_pair = np.array([[a is not None and b is not None and bool(boxes_meet(a, b).any()) for b in lvl]
                         for a in lvl], bool).reshape(len(lvl), len(lvl))

    def shown_ends(block: np.ndarray) -> list[int | None]:
        taken: list[int] = []
        out = []
        for line in range(len(levels)):
            free = [e for e in (0, 1) if not block[2 * line + e] and not any(lvl_pair[2 * line + e, t] for t in taken)]
            out.append(free[0] if free else None)
            if free:
                taken.append(2 * line + free[0])
        return out

    best: list = [None, None]

    def search(i: int, chosen: list[int], collisions: int, block: np.ndarray, rank: int) -> None:
        hidden = sum(e is None for e in shown_ends(block)) if i == n else sum(
            bool(block[2 * line] and block[2 * line + 1]) for line in range(len(levels)))
        cost = (collisions, hidden, rank)
        if best[0] is not None and cost >= best[0]:
            return
        if i == n:
            best[0], best[1] = cost, list(chosen)
            return
        for a in range(k):
            extra = own[i, a] + sum(int(pair[i, a, j, chosen[j]]) for j in range(i))
            search(i + 1, chosen + [a], collisions + extra, block | lvl_hit[i, a], rank + a)

    search(0, [], 0, blocked, 0)
    if best[0] is not None and best[0][0] > 0:  # every placement makes labels meet somewhere: no labels at all
        return None, [ends[line][e] for line, e in enumerate(shown_ends(blocked)) if e is not None]
    chosen = best[1] or []
    for i, a in enumerate(chosen):
        blocked = blocked | lvl_hit[i, a]
    return [TEXT_POSITIONS[a] for a in chosen], [ends[line][e] for line, e in enumerate(shown_ends(blocked))
                                                 if e is not None]


def rate_distortion_figure(sweep: Sequence[dict], others: Sequence[dict], height: int = 480) -> go.Figure:
    """x = KL (rate), y = reconstruction NLL (distortion), both nats per image; grey lines x + y = c are equal -ELBO.

    Each point dict has "label", "kl", "recon" (and "beta" for the sweep, joined by a line in β order)."""
    points = list(sweep) + list(others)
    fig = go.Figure()
    if not points:
        return fig
    rates = np.array([p["kl"] for p in points])
    dists = np.array([p["recon"] for p in points])
    x_hi = rates.max() * 1.15 + 0.5
    y_lo, y_hi = dists.min() - 0.1 * np.ptp(dists) - 2, dists.max() + 0.1 * np.ptp(dists) + 2
    levels = [float(c) for c in analysis.neg_elbo_levels(rates, dists)]
    positions, level_labels = place_labels(sweep, others, levels, (0.0, x_hi), (y_lo, y_hi))
    for c in levels:
        # The line x + y = c, clipped to the visible window so it does not stretch the axes.
        xs = np.array([0.0, x_hi])
        fig.add_trace(go.Scatter(x=xs, y=c - xs, mode="lines", line=dict(color="#cbd5e1", width=1, dash="dot"),
                                 hoverinfo="skip", showlegend=False))
    for ann in level_labels:  # a line's label gives way to the models' labels and markers
        fig.add_annotation(**ann)
    hover = "%{text}<br>KL %{x:.2f}, recon %{y:.2f}<br>−ELBO %{customdata[0]:.2f}<extra></extra>"
    if sweep and positions is not None:
        fig.add_trace(go.Scatter(
            x=[p["kl"] for p in sweep], y=[p["recon"] for p in sweep], mode="lines+markers+text",
            text=[beta_label(p["beta"]) for p in sweep], textposition=positions, name="bundled 2-D models",
            line=dict(color="#94a3b8", width=1.5),
            marker=dict(size=SWEEP_MARKER_PX, color=[beta_color(p["beta"]) for p in sweep]),
            customdata=[[p["neg_elbo"]] for p in sweep], hovertemplate=hover))
    elif sweep:  # too crowded to label in place: the line, then one legend entry per beta in its colour
        fig.add_trace(go.Scatter(x=[p["kl"] for p in sweep], y=[p["recon"] for p in sweep], mode="lines",
                                 line=dict(color="#94a3b8", width=1.5), hoverinfo="skip", showlegend=False))
        for p in sweep:
            fig.add_trace(go.Scatter(
                x=[p["kl"]], y=[p["recon"]], mode="markers", name=beta_label(p["beta"]), text=[beta_label(p["beta"])],
                marker=dict(size=SWEEP_MARKER_PX, color=beta_color(p["beta"])), customdata=[[p["neg_elbo"]]],
                hovertemplate=hover))
    for p in others:
        fig.add_trace(go.Scatter(
            x=[p["kl"]], y=[p["recon"]], mode="markers", name=p["label"],
            marker=dict(size=OTHER_MARKER_PX, symbol="diamond", color=p.get("color", RUN_COLOR),
                        line=dict(width=1, color="white")),
            hovertemplate=(f"{p['label']}<br>KL %{{x:.2f}}, recon %{{y:.2f}}<br>−ELBO {p['neg_elbo']:.2f}"
                           "<extra></extra>")))
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=10, b=10), plot_bgcolor="white",
                      legend=dict(orientation="h", yanchor="top", y=-0.15),
                      xaxis_title="rate: KL(q(z|x) ‖ p(z)), nats per image",
                      yaxis_title="distortion: −log p(x|z), nats per image")
    fig.update_xaxes(range=[0, x_hi], **_GRID)
    fig.update_yaxes(range=[y_lo, y_hi], **_GRID)
    return readable_figure(fig)


def rate_distortion_summary(points: Sequence[dict]) -> str:
    """The rate-distortion chart in one sentence, for a screen reader: each model's rate and distortion."""
    if not points:
        return "Rate–distortion chart: no models."
    return ("Rate–distortion chart, KL (rate) against reconstruction NLL (distortion), nats per image: "
            + "; ".join(f"{p['label']}: KL {p['kl']:.1f}, recon {p['recon']:.1f}, −ELBO {p['neg_elbo']:.1f}"
                        for p in points) + ".")


def sigma_violin_figure(log_sigmas: dict[float, np.ndarray], height: int = 420) -> go.Figure:
    """One violin of log10 sigma per β; the dashed line is the prior's sigma = 1."""
    fig = go.Figure()
    for beta, values in log_sigmas.items():
        fig.add_trace(go.Violin(y=values, name=beta_label(beta), line_color=beta_color(beta), box_visible=True,
                                meanline_visible=False, points=False, spanmode="hard",
                                hoverinfo="y"))
    fig.add_hline(y=0, line=dict(color="#0f172a", dash="dash", width=1),
                  annotation_text="σ = 1 (the prior's width)", annotation_position="top left")
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=10, b=10), showlegend=False, plot_bgcolor="white",
                      yaxis_title="log₁₀ σ of q(z|x) (every dimension, every test digit)")
    fig.update_yaxes(**_GRID)
    return readable_figure(fig)


def kl_per_dim_figure(kl_per_dim: np.ndarray, active: np.ndarray, height: int = 320) -> go.Figure:
    """Bars of the mean KL of each latent dimension; grey bars are inactive dimensions."""
    dims = [f"z{d + 1}" for d in range(len(kl_per_dim))]
    colors = ["#2563eb" if a else "#cbd5e1" for a in active]
    fig = go.Figure(go.Bar(x=dims, y=kl_per_dim, marker_color=colors,
                           hovertemplate="%{x}: %{y:.3f} nats<extra></extra>"))
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=10, b=10), plot_bgcolor="white",
                      yaxis_title="mean KL, nats", xaxis_title="latent dimension (grey = inactive)")
    fig.update_yaxes(**_GRID)
    return readable_figure(fig)


def holes_figure(density: np.ndarray, edges: np.ndarray, holes: Sequence[analysis.Hole], selected: int | None,
                 title: str | None = None, height: int = 620) -> go.Figure:
    """The density as a heatmap (log colour), the prior's 1, 2, 3 σ circles, and the holes as numbered markers.

    Hole markers carry customdata = their index, so a click selects one."""
    centres = (edges[:-1] + edges[1:]) / 2
    with np.errstate(divide="ignore"):
        shown = np.where(density > 0, np.log10(np.maximum(density, 1e-300)), np.nan)
    fig = go.Figure(go.Heatmap(
        x=centres, y=centres, z=shown, colorscale="Blues", zmin=-4.5, zmax=max(-1.0, float(np.nanmax(shown))
                                                                             if np.isfinite(shown).any() else -1),
        # under the plot, not beside it: beside it took ~80 px of a phone's width from the map
        colorbar=dict(title=dict(text="log₁₀ share", side="right"), thickness=10, orientation="h", len=0.6,
                      x=0.5, xanchor="center", y=-0.2, yanchor="top"),
        hovertemplate="(%{x:.2f}, %{y:.2f})<br>log₁₀ share %{z:.2f}<extra></extra>"))
    t = np.linspace(0, 2 * np.pi, 181)
    for r in (1, 2, 3):
        fig.add_trace(go.Scatter(x=r * np.cos(t), y=r * np.sin(t), mode="lines", hoverinfo="skip",
                                 line=dict(color="#f59e0b", width=2 if r == 1 else 1.5,
                                           dash="solid" if r < 3 else "dash"),
                                 name="prior N(0, I): 1σ, 2σ, 3σ circles", showlegend=r == 1))
    if holes:
        sizes = [22 if i == selected else 15 for i in range(len(holes))]
        fig.add_trace(go.Scatter(
            x=[h.z[0] for h in holes], y=[h.z[1] for h in holes], mode="markers+text", name="hole (click to decode)",
            text=[str(i + 1) for i in range(len(holes))], textposition="middle center",
            textfont=dict(color="white", size=11), customdata=list(range(len(holes))),
            marker=dict(size=sizes, color="#dc2626", symbol="circle", line=dict(width=1.5, color="white")),
            hovertemplate="hole %{text} at (%{x:.2f}, %{y:.2f})<extra></extra>"))
    lim = float(edges[-1])
    # The legend above the plot: below it, it sat on the z₁ axis title.
    fig.update_layout(height=height, title=title, margin=dict(l=10, r=10, t=40 if title else 10, b=70),
                      plot_bgcolor="white", legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0),
                      xaxis_title="z₁", yaxis_title="z₂")
    # Square cells and exactly ±lim on both axes: the plot shrinks to a square (a narrow phone's tall plot had
    # stretched the y axis to ±8 instead, and the map shrank to a third of the width).
    fig.update_xaxes(range=[-lim, lim], showgrid=False, constrain="domain")
    fig.update_yaxes(range=[-lim, lim], scaleanchor="x", scaleratio=1, showgrid=False, constrain="domain",
                     constraintoward="top")
    return readable_figure(fig)
