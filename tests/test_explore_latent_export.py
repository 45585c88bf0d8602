"""vae.latent.export_decoder: the flat format the browser's latent pad runs, checked against torch."""
import numpy as np
import pytest
import torch

import vae
from vae.latent import decode, export_decoder, run_exported_decoder


@pytest.mark.parametrize("cfg", [
    vae.ModelConfig(arch="mlp", latent_dim=2, hidden=(512, 256)),  # the bundled 2-D models
    vae.ModelConfig(arch="mlp", latent_dim=20, hidden=(512, 256)),  # the bundled 20-D model
    vae.ModelConfig(arch="conv", latent_dim=2, hidden=(8, 16, 12)),  # a user's conv run
])
def test_export_round_trips_through_numpy_reference(cfg):
    torch.manual_seed(0)
    model = vae.VAE(cfg).eval()
    layers, weights = export_decoder(model)
    assert weights.dtype == np.float32
    assert weights.size == sum(p.numel() for p in model.decoder.parameters())
    assert layers[-1] == {"type": "sigmoid"}
    z = np.random.default_rng(1).standard_normal((4, cfg.latent_dim)).astype(np.float32) * 2
    expected = decode(model, z).reshape(4, -1)
    for zi, ei in zip(z, expected):
        np.testing.assert_allclose(run_exported_decoder(layers, weights, zi), ei, atol=1e-5)


def test_conv_export_describes_shapes():
    model = vae.VAE(vae.ModelConfig(arch="conv", latent_dim=3, hidden=(4, 6, 5)))
    layers, _ = export_decoder(model)
    convs = [layer for layer in layers if layer["type"] == "conv_transpose"]
    assert [(c["in_size"], c["out_size"]) for c in convs] == [(7, 14), (14, 28)]
    assert [c["in_channels"] for c in convs] == [6, 4]
