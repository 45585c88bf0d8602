"""The class colours, shared by Plotly figures, the PNG export and the JavaScript components. No Plotly here: the
Explore page imports this without paying for Plotly."""
from __future__ import annotations

# Petroff 10 (M. Petroff, "Accessible color sequences for data visualization", 2021; matplotlib's `petroff10`),
# chosen because every pair stays apart under the common colour-vision deficiencies. Measured (Machado et al. 2009
# simulation at full severity, CIEDE2000 between every pair; tests/test_palette.py): smallest difference 17.3 with
# normal vision, 12.6 under deuteranopia, 11.9 under protanopia, 13.3 under tritanopia (Tableau 10, used before,
# had 0.7 / 1.2 / 6.9). Solid marks only: drawn at 60 % opacity on white the smallest falls to ~7.5, hence
# CLASS_OPACITY. Colour is never the only cue: maps also write each class's digit (ui.plots.class_centre_labels).
# Also used by the latent pad and β dial (JS) and the PNG export, so a digit has the same colour everywhere.
CLASS_COLORS = ["#3f90da", "#ffa90e", "#bd1f01", "#94a4a2", "#832db6",
                "#a96b59", "#e76300", "#b9ac70", "#717581", "#92dadd"]
# The least opacity a dot of a class map is drawn with: at 0.8 on white every pair keeps CIEDE2000 >= 10 under
# each simulation (tests/test_palette.py).
CLASS_OPACITY = 0.8
# Text drawn in the classes' place (legend labels, a class's digit on a map) is this dark ink, never the class
# colour: five of the ten colours are under 3:1 on white.
CLASS_TEXT = "#0f172a"


def class_color(label: int) -> str:
    return CLASS_COLORS[int(label) % len(CLASS_COLORS)]
