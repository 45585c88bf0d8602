"""vae.numpy_model.export_decoder: the flat format the browser's latent pad runs, and vae.numpy_model.NumpyDecoder, the
same forward pass in NumPy (the Explore page's decoder), both checked against torch."""
import numpy as np
import pytest
import torch

import vae
from vae import latent
from vae.latent import decode
from vae.numpy_model import export_decoder
from vae.numpy_model import NumpyDecoder


@pytest.mark.parametrize("cfg", [
    vae.ModelConfig(arch="mlp", latent_dim=2, hidden=(512, 256)),  # the bundled 2-D models
    vae.ModelConfig(arch="mlp", latent_dim=20, hidden=(512, 256)),  # the bundled 20-D model
    vae.ModelConfig(arch="conv", latent_dim=2, hidden=(8, 16, 12)),  # a user's conv run
])
def test_exported_decoder_in_numpy_matches_torch(cfg):
    torch.manual_seed(0)
    model = vae.VAE(cfg).eval()
    layers, weights = export_decoder(model)
    assert weights.dtype == np.float32
    assert weights.size == sum(p.numel() for p in model.decoder.parameters())
    assert layers[-1] == {"type": "sigmoid"}
    z = np.random.default_rng(1).standard_normal((4, cfg.latent_dim)).astype(np.float32) * 2
    exported = NumpyDecoder(tuple(layers), weights, cfg.latent_dim)
    got = decode(exported, z)  # vae.latent dispatches to NumPy
    assert got.shape == (4, 28, 28) and got.dtype == np.float32
    np.testing.assert_allclose(got, decode(model, z), atol=1e-5)
    # and every decoding tool gives the same pictures from either decoder
    np.testing.assert_allclose(latent.manifold(exported, n=5), latent.manifold(model, n=5), atol=1e-5)
    np.testing.assert_allclose(latent.prior_samples(exported, 6, seed=3), latent.prior_samples(model, 6, seed=3),
                               atol=1e-5)
    np.testing.assert_allclose(latent.interpolate(exported, z[0], z[1], steps=5, mode="spherical"),
                               latent.interpolate(model, z[0], z[1], steps=5, mode="spherical"), atol=1e-5)


def test_conv_export_describes_shapes():
    model = vae.VAE(vae.ModelConfig(arch="conv", latent_dim=3, hidden=(4, 6, 5)))
    layers, _ = export_decoder(model)
    convs = [layer for layer in layers if layer["type"] == "conv_transpose"]
    assert [(c["in_size"], c["out_size"]) for c in convs] == [(7, 14), (14, 28)]
    assert [c["in_channels"] for c in convs] == [6, 4]
