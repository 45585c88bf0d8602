"""ui.images: the NumPy grid lays digits out exactly as torchvision's make_grid, which it replaces."""
import numpy as np
import pytest
import torch
from torchvision.utils import make_grid

from ui import images


@pytest.mark.parametrize("n, nrow, padding, pad_value", [
    (1, 8, 2, 1.0), (2, 2, 2, 1.0), (7, 3, 2, 1.0), (16, 16, 0, 1.0), (225, 15, 0, 0.0), (5, 10, 1, 0.5),
])
def test_grid_matches_torchvision_make_grid(n, nrow, padding, pad_value):
    digits = np.random.default_rng(n).random((n, 28, 28), dtype=np.float32)
    expected = make_grid(torch.from_numpy(digits).unsqueeze(1), nrow=nrow, padding=padding,
                         pad_value=pad_value)[0].numpy()
    got = images.grid(digits, nrow=nrow, padding=padding, pad_value=pad_value)
    assert got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)


def test_to_uint8_scales_each_pixel_into_a_block():
    img = images.to_uint8(np.array([[0.0, 1.0]]), scale=3)
    assert img.shape == (3, 6) and img.dtype == np.uint8
    assert (img[:, :3] == 0).all() and (img[:, 3:] == 255).all()
