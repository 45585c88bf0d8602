"""The numbers behind the KL lab and the math panel: Monte-Carlo vs closed-form KL, the ELBO of one digit and its gap
to log p(x), posterior widths, KL per dimension with a collapse check, and the "holes" between the aggregate
posterior and the prior. NumPy in, NumPy (or plain floats) out; pure functions, seeded where random.

Notation: q(z|x) = N(mu, diag(sigma^2)) is the encoder, p(z) = N(0, I) the prior, p(x|z) the decoder.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy.special import ndtr  # standard normal CDF

from .data import Split, evaluation_images
from .losses import kl_per_dim, reconstruction_nll, reparameterise
from .metrics import encode_all, iw_log_likelihood
from .model import VAE

COLLAPSE_KL_NATS = 0.1  # below this total KL the code carries (almost) no information about x


@dataclass(frozen=True)
class Estimate:
    """A Monte-Carlo estimate: the sample mean, its standard error std / sqrt(n), and n."""
    mean: float
    stderr: float
    n: int


def _mean_and_stderr(values: np.ndarray) -> Estimate:
    n = len(values)
    stderr = float(values.std(ddof=1) / math.sqrt(n)) if n > 1 else float("inf")
    return Estimate(float(values.mean()), stderr, n)


# ---- KL(q(z|x) || p(z)) for one digit --------------------------------------------------------------------------

def kl_closed_form(mu, logvar) -> float:
    """KL(N(mu, sigma^2) || N(0, I)) = 1/2 sum_d (mu_d^2 + sigma_d^2 - 1 - log sigma_d^2), in nats.

    (Kingma & Welling 2013, appendix B.) mu, logvar: (D,) for one digit.
    """
    return float(kl_per_dim(np.asarray(mu, np.float64), np.asarray(logvar, np.float64)).sum())


def draws(mu, logvar, eps) -> np.ndarray:
    """z for each row of eps ~ N(0, I) (n, D), by the reparameterisation (vae.losses.reparameterise), float64."""
    mu, logvar = np.asarray(mu, np.float64), np.asarray(logvar, np.float64)
    return reparameterise(mu, np.exp(0.5 * logvar), np.asarray(eps, np.float64))


def kl_monte_carlo(mu, logvar, n: int, seed: int = 0) -> Estimate:
    """KL(q || p) = E_q[log q(z) - log p(z)], estimated from n draws z_i = mu + sigma * eps_i.

    With z = mu + sigma * eps: log q(z) = sum_d -1/2 (eps_d^2 + log sigma_d^2 + log 2 pi) and
    log p(z) = sum_d -1/2 (z_d^2 + log 2 pi), so each draw contributes
    1/2 sum_d (z_d^2 - eps_d^2 - log sigma_d^2). Unbiased; the error shrinks as 1 / sqrt(n).
    """
    if n < 2:
        raise ValueError("n must be at least 2 to estimate a standard error")
    mu, logvar = np.asarray(mu, np.float64), np.asarray(logvar, np.float64)
    eps = np.random.default_rng(seed).standard_normal((n, len(mu)))
    z = draws(mu, logvar, eps)
    log_ratio = 0.5 * np.sum(z**2 - eps**2 - logvar, axis=1)  # log q(z) - log p(z) per draw, (n,)
    return _mean_and_stderr(log_ratio)


# ---- the ELBO of one digit -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DigitELBO:
    """The pieces of log p(x) = ELBO + KL(q(z|x) || p(z|x)) for one digit, all in nats."""
    mu: np.ndarray  # (D,)
    logvar: np.ndarray  # (D,)
    recon: Estimate  # E_q[-log p(x|z)], Monte-Carlo over n draws of z
    kl: float  # KL(q(z|x) || p(z)), closed form
    elbo: float  # -(recon + kl)
    log_px: float  # importance-weighted estimate of log p(x) (Burda et al. 2015) with k samples
    k: int

    @property
    def gap(self) -> float:
        """log p(x) - ELBO = KL(q(z|x) || p(z|x)) >= 0: how far q is from the true posterior. (Estimated: log_px is
        itself a lower bound that tightens with k, so this slightly under-states the gap.)"""
        return self.log_px - self.elbo


@torch.no_grad()
def digit_elbo(model: VAE, x, n: int = 100, k: int = 1000, seed: int = 0) -> DigitELBO:
    """ELBO(x) = E_q[log p(x|z)] - KL(q(z|x) || p(z)) for one image x (784,) or (28, 28) in [0, 1].

    The reconstruction term averages n reparameterised draws; KL is closed form; log p(x) uses k importance samples.
    """
    model.eval()
    xt = torch.as_tensor(np.asarray(x, np.float32)).reshape(1, -1)
    mu, logvar = model.encode(xt)
    gen = torch.Generator().manual_seed(seed)
    eps = torch.randn((n, *mu.shape), generator=gen)  # (n, 1, D)
    z = mu + torch.exp(0.5 * logvar) * eps
    nll = reconstruction_nll(model.decode(z), xt, model.cfg.likelihood, model.cfg.obs_std)[:, 0]  # (n,)
    recon = _mean_and_stderr(nll.double().numpy())
    mu_np, logvar_np = mu[0].double().numpy(), logvar[0].double().numpy()
    kl = kl_closed_form(mu_np, logvar_np)
    log_px = float(iw_log_likelihood(model, xt, k=k, seed=seed)[0])
    return DigitELBO(mu_np, logvar_np, recon, kl, -(recon.mean + kl), log_px, k)


def encode_test_split(model: VAE, split: Split, binarize: str) -> tuple[np.ndarray, np.ndarray]:
    """mu and logvar (N, D) of q(z|x) for the test images exactly as `python -m vae evaluate` feeds them
    (binarised once with its fixed seed when binarize="dynamic"), so per-dimension KL and active units agree."""
    mu, logvar = encode_all(model, evaluation_images(split, binarize))
    return mu.double().numpy(), logvar.double().numpy()


# ---- posterior width, KL per dimension, collapse ---------------------------------------------------------------

def log10_sigma(sigma) -> tuple[np.ndarray, float]:
    """All posterior standard deviations as log10 sigma (flattened), and the median sigma.

    With beta = 0 nothing pulls sigma towards 1, so it shrinks toward 0 (the VAE degenerates into an autoencoder)."""
    s = np.asarray(sigma, np.float64).ravel()
    return np.log10(np.maximum(s, 1e-30)), float(np.median(s))


@dataclass(frozen=True)
class CollapseCheck:
    kl_per_dim: np.ndarray  # (D,) mean KL of each dimension over the data, nats
    mu_variance: np.ndarray  # (D,) Var_x(E_q[z_d]); a dimension is active when this exceeds the threshold
    active: np.ndarray  # (D,) bool
    total_kl: float
    collapsed: bool
    advice: str  # what to try, empty when not collapsed


def collapse_check(mu, logvar, threshold: float = 0.01) -> CollapseCheck:
    """KL per dimension, active units (Burda et al. 2015: Var_x(E_q[z_d]) > threshold) and posterior collapse.

    Collapse is flagged when fewer than half the dimensions are active or the mean total KL is under 0.1 nats:
    the decoder then ignores z, and prior samples all look alike.
    """
    mu, logvar = np.asarray(mu, np.float64), np.asarray(logvar, np.float64)
    kl = kl_per_dim(mu, logvar).mean(0)
    var = mu.var(0, ddof=1) if len(mu) > 1 else np.zeros(mu.shape[1])
    active = var > threshold
    total = float(kl.sum())
    reasons = []
    if active.sum() < mu.shape[1] / 2:
        reasons.append(f"only {int(active.sum())} of {mu.shape[1]} latent dimensions are active")
    if total < COLLAPSE_KL_NATS:
        reasons.append(f"the total KL is {total:.3f} nats (under {COLLAPSE_KL_NATS})")
    advice = ""
    if reasons:
        advice = ("Posterior collapse: " + " and ".join(reasons) + ". The encoder's output barely depends on the "
                  "digit. Try a lower β, or a KL warm-up (start with β = 0 and raise it over the first epochs) so "
                  "the decoder learns to use z before the KL term pulls q(z|x) onto the prior.")
    return CollapseCheck(kl, var, active, total, bool(reasons), advice)


# ---- holes: aggregate posterior vs prior ------------------------------------------------------------------------

def grid_edges(limit: float = 4.0, bins: int = 32) -> np.ndarray:
    """bins + 1 equally spaced edges on [-limit, limit], the same for both axes."""
    return np.linspace(-limit, limit, bins + 1)


def mu_histogram(mu_2d, edges) -> np.ndarray:
    """Fraction of the encoded means in each cell, (bins_y, bins_x) with row 0 at the bottom (y = edges[0]).

    Fractions are of ALL points, so the grid sums to the share of points inside the window (1 when all are)."""
    mu_2d = np.asarray(mu_2d, np.float64)
    counts, _, _ = np.histogram2d(mu_2d[:, 1], mu_2d[:, 0], bins=[edges, edges])
    return counts / max(len(mu_2d), 1)


def prior_mass(edges) -> np.ndarray:
    """P(z in cell) under N(0, I): the product of 1-D normal CDF differences, (bins_y, bins_x)."""
    p = np.diff(ndtr(np.asarray(edges, np.float64)))
    return np.outer(p, p)


def aggregate_posterior_mass(mu_2d, sigma_2d, edges) -> np.ndarray:
    """P(z in cell) under the aggregate posterior q(z) = 1/N sum_i N(mu_i, diag(sigma_i^2)), (bins_y, bins_x).

    Each axis factorises: mass_i(cell) = Px_i(column) * Py_i(row), so the grid is Py^T Px / N. Unlike the histogram
    of mu, this counts the width of every posterior: it is where prior samples should land if q matched p."""
    mu, sigma = np.asarray(mu_2d, np.float64), np.maximum(np.asarray(sigma_2d, np.float64), 1e-12)
    e = np.asarray(edges, np.float64)
    px = np.diff(ndtr((e[None, :] - mu[:, :1]) / sigma[:, :1]), axis=1)  # (N, bins)
    py = np.diff(ndtr((e[None, :] - mu[:, 1:2]) / sigma[:, 1:2]), axis=1)
    return py.T @ px / len(mu)


@dataclass(frozen=True)
class Hole:
    z: tuple[float, float]  # centre of the cell
    prior_mass: float
    posterior_mass: float


def find_holes(prior: np.ndarray, posterior: np.ndarray, edges, ratio: float = 0.1, k: int = 8,
               min_prior: float = 2e-4, min_gap: int = 1) -> list[Hole]:
    """Cells the prior samples from often (prior mass >= min_prior) but where the data's codes rarely go
    (posterior mass < ratio * prior mass), the k most prior-probable first. A prior sample that lands in one
    decodes to something the decoder never had to reconstruct. min_gap > 1 skips a cell closer than min_gap cells
    (in rows or columns) to one already listed: the list then spreads over the holes instead of naming neighbours."""
    centres = (np.asarray(edges[:-1]) + np.asarray(edges[1:])) / 2
    is_hole = (prior >= min_prior) & (posterior < ratio * prior)
    rows, cols = np.nonzero(is_hole)
    chosen: list[int] = []
    for i in np.argsort(-prior[rows, cols], kind="stable"):
        if len(chosen) == k:
            break
        if all(max(abs(rows[i] - rows[j]), abs(cols[i] - cols[j])) >= min_gap for j in chosen):
            chosen.append(int(i))
    return [Hole((float(centres[cols[i]]), float(centres[rows[i]])), float(prior[rows[i], cols[i]]),
                 float(posterior[rows[i], cols[i]])) for i in chosen]


def in_hole(z_2d, prior: np.ndarray, posterior: np.ndarray, edges, ratio: float = 0.1) -> np.ndarray:
    """(n,) bool: whether each point z lies in a hole cell as hole_fraction counts them (posterior mass under
    ratio * prior mass); points outside the grid are not."""
    z, e = np.asarray(z_2d, np.float64), np.asarray(edges, np.float64)
    col, row = np.searchsorted(e, z[:, 0]) - 1, np.searchsorted(e, z[:, 1]) - 1
    inside = (col >= 0) & (col < len(e) - 1) & (row >= 0) & (row < len(e) - 1)
    col, row = np.clip(col, 0, len(e) - 2), np.clip(row, 0, len(e) - 2)
    return inside & (posterior[row, col] < ratio * prior[row, col])


def nearest_distance(images, reference, chunk: int = 500) -> np.ndarray:
    """(n,) Euclidean pixel distance from each image to its nearest reference image (both in [0, 1]): how far a
    decoded picture is from every real digit, with no classifier involved."""
    a = np.asarray(images, np.float32).reshape(len(images), -1)
    b = np.asarray(reference, np.float32).reshape(len(reference), -1)
    b2 = (b ** 2).sum(1)
    out = np.empty(len(a), np.float64)
    for start in range(0, len(a), chunk):
        block = a[start:start + chunk]
        d2 = (block ** 2).sum(1)[:, None] + b2[None] - 2 * block @ b.T
        out[start:start + chunk] = np.sqrt(np.maximum(d2.min(1), 0))
    return out


@dataclass(frozen=True)
class HoleSamples:
    """Prior samples z ~ N(0, I), split by whether they land in a hole, and how their decoded images compare."""
    share_in_holes: float  # the share of prior samples that land in a hole
    distance_in_holes: float  # mean distance of their decoded images to the nearest test digit (nan when none)
    distance_covered: float  # the same for the samples landing anywhere else


def hole_samples(decode, prior: np.ndarray, posterior: np.ndarray, edges, reference, n: int = 2000,
                 seed: int = 0) -> HoleSamples:
    """Draw n prior samples, decode them (decode: (n, 2) float32 -> (n, 28, 28)) and compare the decoded images of
    those that land in a hole with those of the rest, by nearest_distance to the reference (test) digits."""
    z = np.random.default_rng(seed).standard_normal((n, 2)).astype(np.float32)
    hole = in_hole(z, prior, posterior, edges)
    dist = nearest_distance(decode(z), reference)
    return HoleSamples(float(hole.mean()), float(dist[hole].mean()) if hole.any() else float("nan"),
                       float(dist[~hole].mean()))


def hole_fraction(prior: np.ndarray, posterior: np.ndarray, ratio: float = 0.1) -> float:
    """The share of prior mass in cells where the posterior mass is under ratio * prior mass: roughly the chance
    that a prior sample lands in a hole."""
    return float(prior[posterior < ratio * prior].sum())


# ---- rate-distortion ---------------------------------------------------------------------------------------------

def neg_elbo_levels(rates, distortions, n: int = 6) -> np.ndarray:
    """Round values c of -ELBO = rate + distortion, at most about 2n of them, spanning the given points: the
    chart draws the lines x + y = c (every point on one line has the same -ELBO)."""
    total = np.asarray(rates, np.float64) + np.asarray(distortions, np.float64)
    lo, hi = float(total.min()), float(total.max())
    span = max(hi - lo, 1.0)
    step = next(m * 10**e for e in range(-1, 6) for m in (1, 2, 5) if span / (m * 10**e) <= n)
    return np.arange(math.floor(lo / step) * step, hi + step, step)


def magnified_difference(images, reference, factors=(1, 2, 5, 10, 20, 50, 100, 200, 500)):
    """|images - reference| per pixel, magnified by the largest factor in `factors` that keeps every value <= 1,
    so a difference too faint to see becomes visible. Returns (magnified (N, H, W) in [0, 1], factor, largest
    difference before magnifying)."""
    diff = np.abs(np.asarray(images, np.float64) - np.asarray(reference, np.float64))
    largest = float(diff.max()) if diff.size else 0.0
    factor = max([f for f in factors if f * largest <= 1.0] or [1])
    return np.clip(diff * factor, 0, 1), factor, largest


def sigma_magnification(sigma_all, target: float = 0.5, factors=(1, 2, 5, 10, 20, 50, 100)) -> int:
    """One magnification for every digit of a model's mu +- sigma bars: the largest factor that draws the model's
    median sigma (over all test digits and dimensions) no longer than `target` (in z units). One factor per model,
    not per digit, so a bar's drawn length follows sigma from digit to digit."""
    median = float(np.median(np.asarray(sigma_all, np.float64)))
    return max([f for f in factors if f * median <= target] or [factors[0]])


# ---- what a model's pictures show, as numbers (the KL lab's sentences are built from these) -------------------------

PRIOR_SAMPLES = 1000  # z ~ N(0, I) drawn to see where the prior's samples land among the codes


@dataclass(frozen=True)
class MapFacts:
    outside_3sigma: float  # share of the test digits' codes outside the prior's 3-sigma circle (|mu| > 3)
    max_radius: float  # the farthest code from the origin
    median_sigma: float
    prior_share: np.ndarray  # (10,) share of prior samples whose nearest code is of that class


def map_facts(mu, logvar, labels, seed: int = 0) -> MapFacts:
    """Where the codes (posterior means, 2-D) sit against the prior, and where the prior's samples land among them:
    each of PRIOR_SAMPLES draws z ~ N(0, I) counts for the class of its nearest code."""
    mu = np.asarray(mu, np.float64)[:, :2]
    radius = np.linalg.norm(mu, axis=1)
    z = np.random.default_rng(seed).standard_normal((PRIOR_SAMPLES, 2))
    nearest = np.empty(PRIOR_SAMPLES, np.int64)
    for start in range(0, PRIOR_SAMPLES, 250):  # (250, N) distances at a time
        d = ((z[start:start + 250, None, :] - mu[None]) ** 2).sum(-1)
        nearest[start:start + 250] = d.argmin(1)
    share = np.bincount(np.asarray(labels)[nearest], minlength=10) / PRIOR_SAMPLES
    return MapFacts(float(np.mean(radius > 3)), float(radius.max()), float(np.median(np.exp(0.5 * logvar))), share)


def map_turn(mu_a, mu_b, labels) -> tuple[float, bool]:
    """How model b's 2-D map is turned against model a's: the rotation (degrees, -180..180) and whether a mirror
    is needed, of the orthogonal map that best carries a's class centres onto b's (Procrustes on the centred
    centres). Two maps "line up" when the angle is small and there is no mirror."""
    labels = np.asarray(labels)
    classes = np.unique(labels)
    a = np.stack([np.asarray(mu_a, np.float64)[labels == c, :2].mean(0) for c in classes])
    b = np.stack([np.asarray(mu_b, np.float64)[labels == c, :2].mean(0) for c in classes])
    u, _, vt = np.linalg.svd((a - a.mean(0)).T @ (b - b.mean(0)))
    r = u @ vt  # a @ r ~ b
    mirrored = bool(np.linalg.det(r) < 0)
    if mirrored:
        r = r @ np.diag([1.0, -1.0])
    return float(np.degrees(np.arctan2(r[0, 1], r[0, 0]))), mirrored


__all__ = ["Estimate", "kl_closed_form", "draws", "kl_monte_carlo", "DigitELBO", "digit_elbo",
           "encode_test_split", "log10_sigma", "CollapseCheck", "collapse_check", "grid_edges", "mu_histogram",
           "prior_mass", "aggregate_posterior_mass", "Hole", "find_holes", "hole_fraction", "in_hole",
           "nearest_distance", "HoleSamples", "hole_samples", "neg_elbo_levels", "MapFacts", "map_facts",
           "magnified_difference", "map_turn", "sigma_magnification"]
