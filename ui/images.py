"""Turning arrays of digits into crisp pictures: nearest-neighbour upscaling (no blur) and PNG bytes for downloads."""
from __future__ import annotations

import io

import numpy as np
from PIL import Image


def to_uint8(image: np.ndarray, scale: int = 1) -> np.ndarray:
    """(H, W) floats in [0, 1] -> (H*scale, W*scale) uint8, each pixel a scale x scale block."""
    img = (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8)
    return img.repeat(scale, 0).repeat(scale, 1) if scale > 1 else img


def grid(images: np.ndarray, nrow: int, padding: int = 2, pad_value: float = 1.0) -> np.ndarray:
    """(N, H, W) floats -> one (H', W') image with the digits tiled nrow per row, laid out exactly as torchvision's
    make_grid (tests/test_images.py compares the two).

    Not make_grid itself: importing torchvision pulls in torch._dynamo, 1.8 s of the app's cold start (measured),
    for what is a reshape in NumPy.
    """
    images = np.asarray(images, np.float32)
    n, h, w = images.shape
    if n == 1:
        return images[0].copy()  # make_grid returns a single image as it is, without a frame
    cols = min(nrow, n)
    rows = -(-n // cols)
    out = np.full((rows * (h + padding) + padding, cols * (w + padding) + padding), pad_value, np.float32)
    for k, image in enumerate(images):
        r, c = divmod(k, cols)
        top, left = padding + r * (h + padding), padding + c * (w + padding)
        out[top:top + h, left:left + w] = image
    return out


def png_bytes(image: np.ndarray, scale: int = 1) -> bytes:
    """A PNG file of an (H, W) float image, for st.download_button and st.image."""
    return png_bytes_uint8(to_uint8(image, scale))


def png_bytes_uint8(pixels: np.ndarray) -> bytes:
    """A PNG file of (H, W) grey or (H, W, 3) RGB uint8 pixels."""
    buf = io.BytesIO()
    # zlib level 1: digits on white compress about as well as at the default 6, and encoding is several times faster.
    Image.fromarray(pixels).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()
