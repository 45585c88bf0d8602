"""Pure loss functions. All return per-example values in nats; callers choose the reduction.

ELBO(x) = E_q(z|x)[log p(x|z)] - KL(q(z|x) || N(0, I))   (Kingma & Welling 2013, eq. 3 and Appendix B)
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F


def reparameterise(mu, sigma, eps):
    """z = mu + sigma * eps with eps ~ N(0, I): a draw of q(z|x) written as a differentiable function of (mu, sigma)
    and noise that does not depend on them (Kingma & Welling 2013, sec. 2.4). Torch tensors or NumPy arrays."""
    return mu + sigma * eps


def kl_per_dim(mu, logvar):
    """KL(N(mu, sigma^2) || N(0, 1)) for each dimension: 1/2 (mu^2 + sigma^2 - 1 - log sigma^2). (B, D) -> (B, D).
    Torch tensors or NumPy arrays."""
    exp = torch.exp if isinstance(logvar, torch.Tensor) else np.exp
    return 0.5 * (mu**2 + exp(logvar) - 1.0 - logvar)


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Closed-form KL(q(z|x) || N(0, I)) = 1/2 sum_d (mu_d^2 + sigma_d^2 - 1 - log sigma_d^2). (B, D) -> (B,)."""
    return kl_per_dim(mu, logvar).sum(-1)


def reconstruction_nll(logits: torch.Tensor, x: torch.Tensor, likelihood: str = "bernoulli",
                       obs_std: float = 0.1) -> torch.Tensor:
    """-log p(x|z) summed over pixels. logits (..., B, P), x (B, P) -> (..., B).

    Bernoulli: -log p = BCE(sigmoid(logits), x) = softplus(l) - x*l, computed stably from the logits.
    Gaussian:  -log p = ||x - sigmoid(l)||^2 / (2 s^2) + P log(s sqrt(2 pi)), with fixed std s = obs_std.
    """
    x = x.expand_as(logits)
    if likelihood == "bernoulli":
        return F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(-1)
    if likelihood == "gaussian":
        sq = (x - torch.sigmoid(logits)).pow(2).sum(-1)
        return sq / (2 * obs_std**2) + x.shape[-1] * math.log(obs_std * math.sqrt(2 * math.pi))
    raise ValueError(f"unknown likelihood {likelihood!r}")


def neg_elbo(logits: torch.Tensor, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor,
             beta: float | torch.Tensor = 1.0, likelihood: str = "bernoulli", obs_std: float = 0.1):
    """beta-weighted negative ELBO per example: recon + beta * KL (Higgins et al. 2017 for beta != 1).
    beta: one number, or one per example (B,), as a beta-conditioned model trains.

    logits may hold L samples of z per example, (L, B, P): the reconstruction term is then their mean,
    the L-sample Monte-Carlo estimate of E_q[-log p(x|z)]. Returns (loss, recon, kl), each (B,).
    """
    recon = reconstruction_nll(logits, x, likelihood, obs_std)
    if recon.dim() == 2:
        recon = recon.mean(0)
    kl = kl_divergence(mu, logvar)
    return recon + beta * kl, recon, kl
