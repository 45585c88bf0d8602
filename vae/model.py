"""The VAE: an encoder q(z|x) = N(mu, diag(sigma^2)), a decoder p(x|z), and the reparameterisation between them.

Kingma & Welling 2013, "Auto-Encoding Variational Bayes", https://arxiv.org/abs/1312.6114.
Images travel flat, as (B, 784) floats in [0, 1]; the decoder returns logits so losses can use stable BCE.
"""
from __future__ import annotations

import torch
from torch import nn

from .config import ModelConfig


def _mlp(sizes: list[int]) -> nn.Sequential:
    """Linear layers with ReLU between them (none after the last)."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class ConvEncoder(nn.Module):
    """28x28 -> 14x14 -> 7x7 with two stride-2 convs, then dense layers to 2*D outputs."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        c1, c2, *dense = cfg.hidden
        side = cfg.image_size // 4
        self.convs = nn.Sequential(
            nn.Conv2d(1, c1, 4, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(c1, c2, 4, stride=2, padding=1), nn.ReLU(), nn.Flatten())
        self.head = _mlp([c2 * side * side, *dense, 2 * cfg.latent_dim])
        self.image_size = cfg.image_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.convs(x.view(-1, 1, self.image_size, self.image_size))  # (B, c2*7*7)
        return self.head(h)


class ConvDecoder(nn.Module):
    """Mirror of ConvEncoder: dense layers up to c2x7x7, then two stride-2 transposed convs to 28x28 logits."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        c1, c2, *dense = cfg.hidden
        self.side = cfg.image_size // 4
        self.c2 = c2
        self.dense = nn.Sequential(_mlp([cfg.latent_dim, *dense[::-1], c2 * self.side * self.side]), nn.ReLU())
        self.deconvs = nn.Sequential(
            nn.ConvTranspose2d(c2, c1, 4, stride=2, padding=1), nn.ReLU(),
            nn.ConvTranspose2d(c1, 1, 4, stride=2, padding=1))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.dense(z).view(-1, self.c2, self.side, self.side)  # (B, c2, 7, 7)
        return self.deconvs(h).flatten(1)  # (B, 784)


class VAE(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        n_pixels = cfg.image_size * cfg.image_size
        if cfg.arch == "mlp":
            self.encoder = _mlp([n_pixels, *cfg.hidden, 2 * cfg.latent_dim])
            self.decoder = _mlp([cfg.latent_dim, *cfg.hidden[::-1], n_pixels])
        else:
            self.encoder = ConvEncoder(cfg)
            self.decoder = ConvDecoder(cfg)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, 784) in [0, 1] -> mu (B, D), logvar (B, D), the parameters of q(z|x)."""
        h = self.encoder(x.flatten(1))  # (B, 2D)
        mu, logvar = h.chunk(2, dim=-1)
        return mu, logvar

    @staticmethod
    def reparameterize(mu: torch.Tensor, logvar: torch.Tensor, n_samples: int = 0) -> torch.Tensor:
        """z = mu + sigma * eps with eps ~ N(0, I), so gradients flow to mu and logvar.

        n_samples=0 returns (B, D); n_samples=L returns L independent draws, (L, B, D).
        """
        std = torch.exp(0.5 * logvar)
        shape = mu.shape if n_samples == 0 else (n_samples, *mu.shape)
        eps = torch.randn(shape, dtype=mu.dtype, device=mu.device)
        return mu + std * eps

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """z (..., D) -> Bernoulli logits (..., 784); sigmoid(logits) is the mean image."""
        lead = z.shape[:-1]
        return self.decoder(z.reshape(-1, z.shape[-1])).view(*lead, -1)

    def forward(self, x: torch.Tensor, n_samples: int = 0):
        """Returns logits, mu, logvar, z for one (or n_samples) draws of z per input."""
        mu, logvar = self.encode(x)
        z = self.reparameterize(mu, logvar, n_samples)
        return self.decode(z), mu, logvar, z

    @torch.no_grad()
    def decode_images(self, z: torch.Tensor) -> torch.Tensor:
        """z (B, D) -> mean images (B, 28, 28) in [0, 1]."""
        s = self.cfg.image_size
        return torch.sigmoid(self.decode(z)).view(-1, s, s)
