"""The latent map as a PNG for slides: NumPy and Pillow only (no Plotly, kaleido or browser)."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ui.palette import CLASS_TEXT, class_color


def latent_scatter_png(points: np.ndarray, labels: np.ndarray, *, class_names: Sequence[str] | None = None,
                       axis_titles: tuple[str, str] = ("z1", "z2"), size: int = 1200, dot: int = 3) -> bytes:
    """The latent map as a PNG for slides, rasterised with NumPy and Pillow (no kaleido or browser needed). Each
    class's digit is written at its cluster's centre (the median), dark on a white tag edged in its colour, as on
    the app's maps: a projector or a printout in grey still tells the classes apart."""
    import io

    from PIL import Image, ImageDraw, ImageFont

    points = np.asarray(points, np.float64)
    labels = np.asarray(labels)
    margin, legend_w = 70, 150
    img = Image.new("RGB", (size + legend_w, size), "white")
    draw = ImageDraw.Draw(img)
    try:
        font = ImageFont.load_default(size=22)
    except TypeError:  # Pillow < 10.1 has only the small bitmap font
        font = ImageFont.load_default()
    lo, hi = points.min(0), points.max(0)
    span = float((hi - lo).max()) * 1.05 or 1.0  # one scale for both axes, as on screen
    centre = (lo + hi) / 2
    plot = size - 2 * margin
    to_px = lambda p: (margin + (p[..., 0] - centre[0] + span / 2) / span * plot,  # noqa: E731
                       size - margin - (p[..., 1] - centre[1] + span / 2) / span * plot)
    for t in range(int(np.floor(centre.min() - span)), int(np.ceil(centre.max() + span)) + 1):  # unit grid
        x, y = to_px(np.array([t, t], np.float64))
        if margin <= x <= size - margin:
            draw.line([(x, margin), (x, size - margin)], fill="#94a3b8" if t == 0 else "#e2e8f0", width=1)
            draw.text((x, size - margin + 8), str(t), fill="#475569", font=font, anchor="mt")
        if margin <= y <= size - margin:
            draw.line([(margin, y), (size - margin, y)], fill="#94a3b8" if t == 0 else "#e2e8f0", width=1)
            draw.text((margin - 8, y), str(t), fill="#475569", font=font, anchor="rm")
    draw.rectangle([margin, margin, size - margin, size - margin], outline="#475569")
    xs, ys = to_px(points)
    order = np.random.default_rng(0).permutation(len(points))  # no class is always painted on top
    for i in order:
        draw.ellipse([xs[i] - dot, ys[i] - dot, xs[i] + dot, ys[i] + dot], fill=class_color(labels[i]))
    for label in np.unique(labels):
        x, y = np.median(xs[labels == label]), np.median(ys[labels == label])
        name = class_names[int(label)] if class_names is not None else str(label)
        box = draw.textbbox((x, y), name, font=font, anchor="mm")
        draw.rectangle([box[0] - 6, box[1] - 4, box[2] + 6, box[3] + 4], fill="white", outline=class_color(label),
                       width=3)
        draw.text((x, y), name, fill=CLASS_TEXT, font=font, anchor="mm")
    draw.text((size / 2, size - 22), axis_titles[0], fill="#0f172a", font=font, anchor="mm")
    draw.text((18, margin - 30), axis_titles[1], fill="#0f172a", font=font, anchor="lm")
    for row, label in enumerate(np.unique(labels)):
        y = margin + 34 * row
        draw.ellipse([size + 10, y - 8, size + 26, y + 8], fill=class_color(label))
        name = class_names[int(label)] if class_names is not None else str(label)
        draw.text((size + 36, y), name, fill="#0f172a", font=font, anchor="lm")
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    return buf.getvalue()
