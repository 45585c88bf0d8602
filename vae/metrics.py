"""Evaluation: the test -ELBO and its parts, the importance-weighted log-likelihood, KL per dimension, active units."""
from __future__ import annotations

import math

import torch

from .losses import kl_per_dim, neg_elbo, reconstruction_nll, reparameterise
from .model import VAE


@torch.no_grad()
def elbo_parts(model: VAE, x: torch.Tensor, batch_size: int = 1000, seed: int = 0, beta=None) -> dict[str, float]:
    """Mean -ELBO, reconstruction NLL and KL in nats per image, with one seeded sample of z per image.

    beta: where a conditioned model is evaluated (the -ELBO itself always weighs the KL by 1)."""
    model.eval()
    cfg = model.cfg
    torch.manual_seed(seed)
    totals = torch.zeros(3, dtype=torch.float64, device=x.device)  # on x's device: no copy per batch
    for start in range(0, len(x), batch_size):
        xb = x[start:start + batch_size]
        logits, mu, logvar, _ = model(xb, beta=beta)
        loss, recon, kl = neg_elbo(logits, xb, mu, logvar, 1.0, cfg.likelihood, cfg.obs_std)
        totals += torch.stack([loss.sum(), recon.sum(), kl.sum()]).double()
    neg, recon, kl = (totals / len(x)).tolist()
    return {"neg_elbo": neg, "recon": recon, "kl": kl}


@torch.no_grad()
def iw_log_likelihood(model: VAE, x: torch.Tensor, k: int = 1000, batch_size: int = 100,
                      chunk: int = 250, seed: int = 0, beta=None) -> torch.Tensor:
    """Importance-weighted estimate of log p(x) per image (Burda et al. 2015, eq. 8), (N,) in nats.

    log p(x) >= L_k = E[log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x)],  z_i ~ q(z|x).
    L_1 is the ELBO, and L_k does not decrease with k. The k samples are processed in chunks to bound memory,
    and combined with a log-mean-exp.
    """
    model.eval()
    cfg = model.cfg
    gen = torch.Generator(device=x.device).manual_seed(seed)
    out = []
    for start in range(0, len(x), batch_size):
        xb = x[start:start + batch_size]  # (B, P)
        mu, logvar = model.encode(xb, beta)  # (B, D)
        std = torch.exp(0.5 * logvar)
        log_w = []
        for done in range(0, k, chunk):
            n = min(chunk, k - done)
            eps = torch.randn((n, *mu.shape), generator=gen, device=x.device)  # (n, B, D)
            z = reparameterise(mu, std, eps)
            log_px_z = -reconstruction_nll(model.decode(z, beta), xb, cfg.likelihood, cfg.obs_std)  # (n, B)
            log_pz = -0.5 * (z.pow(2) + math.log(2 * math.pi)).sum(-1)
            log_qz = -0.5 * (eps.pow(2) + logvar + math.log(2 * math.pi)).sum(-1)
            log_w.append(log_px_z + log_pz - log_qz)
        log_w = torch.cat(log_w)  # (k, B)
        out.append(torch.logsumexp(log_w, 0) - math.log(k))
    return torch.cat(out)


@torch.no_grad()
def encode_all(model: VAE, x: torch.Tensor, batch_size: int = 2000, beta=None) -> tuple[torch.Tensor, torch.Tensor]:
    """mu and logvar of q(z|x) for every image: (N, D) each."""
    model.eval()
    mus, logvars = [], []
    for start in range(0, len(x), batch_size):
        mu, logvar = model.encode(x[start:start + batch_size], beta)
        mus.append(mu)
        logvars.append(logvar)
    return torch.cat(mus), torch.cat(logvars)


def kl_by_dimension(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Mean KL of each latent dimension over the data, (D,) nats."""
    return kl_per_dim(mu, logvar).mean(0)


def active_units(mu: torch.Tensor, threshold: float = 0.01) -> tuple[int, torch.Tensor]:
    """Dimensions with Cov_x(E_q[z_d]) > threshold are active (Burda et al. 2015, sec. 5.2).

    Returns the count and the per-dimension variance of the posterior means, (D,).
    """
    var = mu.double().var(0, unbiased=True).float()
    return int((var > threshold).sum()), var


@torch.no_grad()
def evaluate(model: VAE, x: torch.Tensor, iw_samples: int = 0, seed: int = 0, beta=None) -> dict:
    """All the test metrics for one model on (N, 784) images (already binarised when that applies).

    beta: where to evaluate a conditioned model; "objective" is then recon + beta * KL, what it minimised there."""
    out = elbo_parts(model, x, seed=seed, beta=beta)
    if beta is not None:
        out["objective"] = out["recon"] + float(beta) * out["kl"]
    mu, logvar = encode_all(model, x, beta=beta)
    n_active, _ = active_units(mu)
    out["active_units"] = n_active
    out["kl_per_dim"] = kl_by_dimension(mu, logvar).tolist()
    out["latent_dim"] = model.cfg.latent_dim
    out["n_test"] = len(x)
    if iw_samples:
        out["nll_iw"] = float(-iw_log_likelihood(model, x, k=iw_samples, seed=seed, beta=beta).double().mean())
        out["iw_samples"] = iw_samples
    return out


__all__ = ["elbo_parts", "iw_log_likelihood", "encode_all", "kl_by_dimension", "active_units", "evaluate"]
