"""The VAE: an encoder q(z|x) = N(mu, diag(sigma^2)), a decoder p(x|z), and the reparameterisation between them.

Kingma & Welling 2013, "Auto-Encoding Variational Bayes", https://arxiv.org/abs/1312.6114.
Images travel flat, as (B, 784) floats in [0, 1]; the decoder returns logits so losses can use stable BCE.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from .config import ModelConfig
from .losses import reparameterise


class BetaGate(nn.Module):
    """Scales each unit's pre-activation by sigmoid(a * u + b), u = log beta rescaled to [-1, 1] over the range.

    The Multi-Rate VAE's gate (Bae et al. 2023, eq. 9: sigmoid(a log beta + b) per unit, a and b learned); the
    rescaling of log beta is the same family of functions, only better conditioned for Adam.
    """

    def __init__(self, n: int, beta_range: tuple[float, float]):
        super().__init__()
        self.a = nn.Parameter(torch.empty(n).uniform_(-1, 1))  # nn.Linear(1, n)'s initialisation, as MR-VAE
        self.b = nn.Parameter(torch.empty(n).uniform_(-1, 1))
        lo, hi = math.log(beta_range[0]), math.log(beta_range[1])
        self.centre, self.half_width = (lo + hi) / 2, (hi - lo) / 2

    def forward(self, h: torch.Tensor, log_beta: torch.Tensor) -> torch.Tensor:
        u = ((log_beta - self.centre) / self.half_width).unsqueeze(-1)  # (B, 1)
        return h * torch.sigmoid(self.a * u + self.b)  # (B, n)

    @torch.no_grad()
    def split_at(self, beta: float) -> None:
        """Start the first SPLIT_SHARE of the units open only above beta, the others only below (ModelConfig.
        gate_split): sigmoid(+-SPLIT_STEEPNESS * (u - u_split))."""
        u = (math.log(beta) - self.centre) / self.half_width
        k = int(len(self.a) * SPLIT_SHARE)
        self.a[:k], self.b[:k] = SPLIT_STEEPNESS, -SPLIT_STEEPNESS * u
        self.a[k:], self.b[k:] = -SPLIT_STEEPNESS, SPLIT_STEEPNESS * u


SPLIT_SHARE = 0.25  # of each hidden layer's units, for the betas above gate_split (one probe, README)
SPLIT_STEEPNESS = 12.0  # in u (log beta over the range, rescaled to [-1, 1]): a gate goes 0.05 -> 0.95 over ~0.5 u


def _mlp(sizes: list[int], beta_range: tuple[float, float] | None = None, gate_last: bool = False,
         gate_input: bool = False, split: float | None = None) -> nn.Sequential:
    """Linear layers with ReLU between them (none after the last); with beta_range a BetaGate before each ReLU
    (split: their units start split at that beta, BetaGate.split_at), with gate_last one after the last layer too,
    with gate_input one on the input."""
    layers: list[nn.Module] = [BetaGate(sizes[0], beta_range)] if beta_range is not None and gate_input else []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        last = i == len(sizes) - 2
        if beta_range is not None and (not last or gate_last):
            layers.append(BetaGate(n_out, beta_range))
            if split is not None and not last:
                layers[-1].split_at(split)
        if not last:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def _run(seq: nn.Sequential, h: torch.Tensor, log_beta: torch.Tensor | None) -> torch.Tensor:
    for layer in seq:
        h = layer(h, log_beta) if isinstance(layer, BetaGate) else layer(h)
    return h


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
            self.encoder = _mlp([n_pixels, *cfg.hidden, 2 * cfg.latent_dim], cfg.beta_range, cfg.gate_heads,
                                split=cfg.gate_split)
            self.decoder = _mlp([cfg.latent_dim, *cfg.hidden[::-1], n_pixels], cfg.beta_range,
                                gate_input=cfg.gate_latent, split=cfg.gate_split)
        else:
            self.encoder = ConvEncoder(cfg)
            self.decoder = ConvDecoder(cfg)

    @property
    def conditioned(self) -> bool:
        """True for a beta-conditioned model (cfg.beta_range set): encode and decode then need beta."""
        return self.cfg.beta_range is not None

    def _log_beta(self, beta, n: int, like: torch.Tensor) -> torch.Tensor | None:
        """beta (a number, or one per row) -> log beta as (n,), checked against the model's range."""
        if not self.conditioned:
            if beta is not None:
                raise ValueError("this model was trained for one beta; it takes no beta argument")
            return None
        if beta is None:
            raise ValueError(f"this model is conditioned on beta in {list(self.cfg.beta_range)}; pass beta")
        b = torch.as_tensor(beta, dtype=like.dtype, device=like.device)
        lo, hi = self.cfg.beta_range
        if bool(((b < lo * (1 - 1e-6)) | (b > hi * (1 + 1e-6))).any()):
            raise ValueError(f"beta must lie in this model's range [{lo:g}, {hi:g}]")
        return b.log().expand(n) if b.dim() == 0 else b.log().reshape(n)

    def encode(self, x: torch.Tensor, beta=None) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, 784) in [0, 1] -> mu (B, D), logvar (B, D), the parameters of q(z|x).

        beta: only for a conditioned model, a number or (B,) values in cfg.beta_range."""
        x = x.flatten(1)
        if self.cfg.arch == "conv":
            h = self.encoder(x)
        else:
            h = _run(self.encoder, x, self._log_beta(beta, len(x), x))  # (B, 2D)
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
        return reparameterise(mu, std, eps)

    def decode(self, z: torch.Tensor, beta=None) -> torch.Tensor:
        """z (..., D) -> Bernoulli logits (..., 784); sigmoid(logits) is the mean image.

        beta (conditioned models): a number, or one value per row of z's last batch axis, (B,) for z (L, B, D)."""
        lead = z.shape[:-1]
        flat = z.reshape(-1, z.shape[-1])  # (N, D)
        if self.cfg.arch == "conv":
            return self.decoder(flat).view(*lead, -1)
        if beta is not None and torch.as_tensor(beta).dim() > 0:
            beta = torch.as_tensor(beta, dtype=z.dtype, device=z.device).expand(lead).reshape(-1)
        return _run(self.decoder, flat, self._log_beta(beta, len(flat), flat)).view(*lead, -1)

    def forward(self, x: torch.Tensor, n_samples: int = 0, beta=None):
        """Returns logits, mu, logvar, z for one (or n_samples) draws of z per input."""
        mu, logvar = self.encode(x, beta)
        z = self.reparameterize(mu, logvar, n_samples)
        return self.decode(z, beta), mu, logvar, z

    @torch.no_grad()
    def decode_images(self, z: torch.Tensor, beta=None) -> torch.Tensor:
        """z (B, D) -> mean images (B, 28, 28) in [0, 1]."""
        s = self.cfg.image_size
        return torch.sigmoid(self.decode(z, beta)).view(-1, s, s)
