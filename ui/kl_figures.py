"""Plotly figures for the KL lab: the rate-distortion chart, posterior widths, KL per dimension and the holes map.
Numbers in, figures out; the maths is in vae.analysis."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import plotly.graph_objects as go

from vae import analysis

BETA_COLORS = {0.0: "#64748b", 0.25: "#0ea5e9", 1.0: "#2563eb", 4.0: "#9333ea", 16.0: "#dc2626"}
RUN_COLOR = "#16a34a"
_GRID = dict(showgrid=True, gridcolor="#e2e8f0", zeroline=False)


def beta_color(beta: float) -> str:
    return BETA_COLORS.get(float(beta), "#0f172a")


def beta_label(beta: float) -> str:
    return f"β = {beta:g}"


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
    for c in analysis.neg_elbo_levels(rates, dists):
        # The line x + y = c, clipped to the visible window so it does not stretch the axes.
        xs = np.array([0.0, x_hi])
        fig.add_trace(go.Scatter(x=xs, y=c - xs, mode="lines", line=dict(color="#cbd5e1", width=1, dash="dot"),
                                 hoverinfo="skip", showlegend=False))
        y_at_0 = c
        if y_lo <= y_at_0 <= y_hi:
            fig.add_annotation(x=0, y=y_at_0, text=f"−ELBO {c:g}", showarrow=False, xanchor="left", yanchor="bottom",
                               font=dict(size=11, color="#64748b"))
    if sweep:
        fig.add_trace(go.Scatter(
            x=[p["kl"] for p in sweep], y=[p["recon"] for p in sweep], mode="lines+markers+text",
            text=[beta_label(p["beta"]) for p in sweep], textposition="top right", name="bundled 2-D models",
            line=dict(color="#94a3b8", width=1.5),
            marker=dict(size=13, color=[beta_color(p["beta"]) for p in sweep]),
            customdata=[[p["neg_elbo"]] for p in sweep],
            hovertemplate="%{text}<br>KL %{x:.2f}, recon %{y:.2f}<br>−ELBO %{customdata[0]:.2f}<extra></extra>"))
    for p in others:
        fig.add_trace(go.Scatter(
            x=[p["kl"]], y=[p["recon"]], mode="markers", name=p["label"],
            marker=dict(size=12, symbol="diamond", color=p.get("color", RUN_COLOR), line=dict(width=1, color="white")),
            hovertemplate=f"{p['label']}<br>KL %{{x:.2f}}, recon %{{y:.2f}}<br>−ELBO {p['neg_elbo']:.2f}<extra></extra>"))
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=10, b=10), plot_bgcolor="white",
                      legend=dict(orientation="h", yanchor="top", y=-0.15),
                      xaxis_title="rate: KL(q(z|x) ‖ p(z)), nats per image",
                      yaxis_title="distortion: −log p(x|z), nats per image")
    fig.update_xaxes(range=[0, x_hi], **_GRID)
    fig.update_yaxes(range=[y_lo, y_hi], **_GRID)
    return fig


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
    return fig


def kl_per_dim_figure(kl_per_dim: np.ndarray, active: np.ndarray, height: int = 320) -> go.Figure:
    """Bars of the mean KL of each latent dimension; grey bars are inactive dimensions."""
    dims = [f"z{d + 1}" for d in range(len(kl_per_dim))]
    colors = ["#2563eb" if a else "#cbd5e1" for a in active]
    fig = go.Figure(go.Bar(x=dims, y=kl_per_dim, marker_color=colors,
                           hovertemplate="%{x}: %{y:.3f} nats<extra></extra>"))
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=10, b=10), plot_bgcolor="white",
                      yaxis_title="mean KL, nats", xaxis_title="latent dimension (grey = inactive)")
    fig.update_yaxes(**_GRID)
    return fig


def holes_figure(density: np.ndarray, edges: np.ndarray, holes: Sequence[analysis.Hole], selected: int | None,
                 title: str, height: int = 560) -> go.Figure:
    """The density as a heatmap (log colour), the prior's 1, 2, 3 σ circles, and the holes as numbered markers.

    Hole markers carry customdata = their index, so a click selects one."""
    centres = (edges[:-1] + edges[1:]) / 2
    with np.errstate(divide="ignore"):
        shown = np.where(density > 0, np.log10(np.maximum(density, 1e-300)), np.nan)
    fig = go.Figure(go.Heatmap(
        x=centres, y=centres, z=shown, colorscale="Blues", zmin=-4.5, zmax=max(-1.0, float(np.nanmax(shown))
                                                                             if np.isfinite(shown).any() else -1),
        colorbar=dict(title="log₁₀ share", thickness=12), hovertemplate="(%{x:.2f}, %{y:.2f})<br>log₁₀ share "
                                                                        "%{z:.2f}<extra></extra>"))
    t = np.linspace(0, 2 * np.pi, 181)
    for r in (1, 2, 3):
        fig.add_trace(go.Scatter(x=r * np.cos(t), y=r * np.sin(t), mode="lines", hoverinfo="skip",
                                 line=dict(color="#f59e0b", width=2 if r == 1 else 1.5, dash="solid" if r < 3 else "dash"),
                                 name=f"prior N(0, I): {r}σ circle", showlegend=r == 1))
    if holes:
        sizes = [22 if i == selected else 15 for i in range(len(holes))]
        fig.add_trace(go.Scatter(
            x=[h.z[0] for h in holes], y=[h.z[1] for h in holes], mode="markers+text", name="hole (click to decode)",
            text=[str(i + 1) for i in range(len(holes))], textposition="middle center",
            textfont=dict(color="white", size=11), customdata=list(range(len(holes))),
            marker=dict(size=sizes, color="#dc2626", symbol="circle", line=dict(width=1.5, color="white")),
            hovertemplate="hole %{text} at (%{x:.2f}, %{y:.2f})<extra></extra>"))
    lim = float(edges[-1])
    fig.update_layout(height=height, title=title, margin=dict(l=10, r=10, t=40, b=10), plot_bgcolor="white",
                      legend=dict(orientation="h", yanchor="top", y=-0.08), xaxis_title="z₁", yaxis_title="z₂")
    fig.update_xaxes(range=[-lim, lim], showgrid=False)
    fig.update_yaxes(range=[-lim, lim], scaleanchor="x", scaleratio=1, showgrid=False)
    return fig
