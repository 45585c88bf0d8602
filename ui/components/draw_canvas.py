"""A drawing canvas (Streamlit Components v2) for one digit: mouse, pen and touch, a thick round brush, undo
and clear. The browser sends the drawing at the end of each stroke, not while drawing, so Python reruns once per
stroke. (The unmaintained streamlit-drawable-canvas package breaks on current Streamlit, hence our own.)

The value is `{"size": N, "ink": base64 of N*N uint8 coverages, "strokes": k, "version": v}`: a base64 string,
not bytes, because bytes nested in a dict are silently sent as their Python repr. Tests inject it with
`at.session_state[key] = {"drawing": drawing_state(ink_array)}`.
"""
from __future__ import annotations

import base64
import binascii
import json
from pathlib import Path

import numpy as np
import streamlit as st

HERE = Path(__file__).resolve().parent


@st.cache_resource(show_spinner=False)
def _component():
    """Registered once per process."""
    read = lambda ext: (HERE / f"draw_canvas.{ext}").read_text()  # noqa: E731
    return st.components.v2.component("vae_explorer.draw_canvas", html=read("html"), css=read("css"), js=read("js"))


def draw_canvas(*, key: str = "draw_canvas", size_px: int = 280, out_px: int = 56,
                brush_px: int = 22) -> np.ndarray | None:
    """Mount the canvas; return the last drawing as (out_px, out_px) float32 ink in [0, 1] (1 = ink), or None
    when nothing is drawn. The brush is about 1/13 of the canvas: drawn large, a stroke then becomes 2-3 px of
    the 20 px MNIST box, as thick as MNIST's own pen strokes."""
    data = json.dumps({"size_px": size_px, "out_px": out_px, "brush_px": brush_px})
    result = _component()(key=key, data=data, on_drawing_change=lambda: None)
    return drawing_to_array(result.drawing if result is not None else None)


def drawing_to_array(value) -> np.ndarray | None:
    """The component's state -> (N, N) float32 ink, or None for nothing drawn or a malformed value."""
    if not isinstance(value, dict) or not value.get("strokes"):
        return None
    try:
        size = int(value["size"])
        ink = np.frombuffer(base64.b64decode(value["ink"], validate=True), np.uint8)
    except (KeyError, TypeError, ValueError, binascii.Error):
        return None
    if not 8 <= size <= 1024 or ink.size != size * size:
        return None
    return ink.reshape(size, size).astype(np.float32) / 255.0


def drawing_state(ink: np.ndarray, strokes: int = 1) -> dict:
    """The value the browser would send for an (N, N) ink array in [0, 1] (for tests and lessons)."""
    ink = np.asarray(ink, np.float64)
    u8 = (np.clip(ink, 0, 1) * 255 + 0.5).astype(np.uint8)
    return {"size": int(ink.shape[0]), "ink": base64.b64encode(u8.tobytes()).decode("ascii"),
            "strokes": int(strokes), "version": 1}
