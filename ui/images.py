"""Turning arrays of digits into crisp pictures: nearest-neighbour upscaling (no blur) and PNG bytes for downloads."""
from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image
from torchvision.utils import make_grid


def to_uint8(image: np.ndarray, scale: int = 1) -> np.ndarray:
    """(H, W) floats in [0, 1] -> (H*scale, W*scale) uint8, each pixel a scale x scale block."""
    img = (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8)
    return img.repeat(scale, 0).repeat(scale, 1) if scale > 1 else img


def grid(images: np.ndarray, nrow: int, padding: int = 2, pad_value: float = 1.0) -> np.ndarray:
    """(N, H, W) floats -> one (H', W') image with the digits tiled nrow per row (torchvision's make_grid)."""
    t = torch.as_tensor(np.asarray(images, np.float32)).unsqueeze(1)  # (N, 1, H, W)
    return make_grid(t, nrow=nrow, padding=padding, pad_value=pad_value)[0].numpy()


def png_bytes(image: np.ndarray, scale: int = 1) -> bytes:
    """A PNG file of an (H, W) float image, for st.download_button and st.image."""
    buf = io.BytesIO()
    Image.fromarray(to_uint8(image, scale)).save(buf, format="PNG")
    return buf.getvalue()
