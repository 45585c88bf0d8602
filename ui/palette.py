"""The class colours, shared by Plotly figures, the PNG export and the JavaScript components. No Plotly here: the
Explore page imports this without paying for Plotly."""
from __future__ import annotations

# Tableau 10: distinct on a projector and for the common colour-vision deficiencies. Also used by the latent pad
# (JS) and the PNG export, so a digit has the same colour everywhere.
CLASS_COLORS = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"]


def class_color(label: int) -> str:
    return CLASS_COLORS[int(label) % len(CLASS_COLORS)]
