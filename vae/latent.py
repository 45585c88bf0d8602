"""Latent-space tools the app draws from: posteriors, reconstructions, manifold grids, prior samples,
interpolations and 2-D views of the embedding. NumPy in, NumPy out, so callers need no torch."""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np
import torch

from .model import VAE


def _t(x) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x, dtype=np.float32))


@torch.no_grad()
def posterior(model: VAE, images) -> tuple[np.ndarray, np.ndarray]:
    """images (N, 28, 28) or (N, 784) in [0, 1] -> mu (N, D) and sigma (N, D) of q(z|x)."""
    x = _t(images).reshape(len(images), -1)
    mus, sigmas = [], []
    for start in range(0, len(x), 2000):
        mu, logvar = model.encode(x[start:start + 2000])
        mus.append(mu)
        sigmas.append(torch.exp(0.5 * logvar))
    return torch.cat(mus).numpy(), torch.cat(sigmas).numpy()


@torch.no_grad()
def decode(model: VAE, z) -> np.ndarray:
    """z (N, D) -> mean images (N, 28, 28) in [0, 1]."""
    return model.decode_images(_t(z).reshape(-1, model.cfg.latent_dim)).numpy()


@torch.no_grad()
def reconstruct(model: VAE, images, sample: bool = False, seed: int | None = None) -> np.ndarray:
    """Decode the posterior mean (sample=False) or one draw z = mu + sigma * eps (sample=True)."""
    mu, sigma = posterior(model, images)
    if sample:
        rng = np.random.default_rng(seed)
        mu = mu + sigma * rng.standard_normal(mu.shape).astype(np.float32)
    return decode(model, mu)


def prior_samples(model: VAE, n: int, seed: int = 0) -> np.ndarray:
    """n images decoded from z ~ N(0, I)."""
    z = np.random.default_rng(seed).standard_normal((n, model.cfg.latent_dim)).astype(np.float32)
    return decode(model, z)


def grid_coordinates(n: int, eps: float = 0.05) -> np.ndarray:
    """n values spaced by the inverse Gaussian CDF on (eps, 1 - eps), as in Kingma & Welling's figure 4:
    each cell of the grid holds equal prior mass."""
    p = torch.linspace(eps, 1 - eps, n)
    return torch.distributions.Normal(0.0, 1.0).icdf(p).numpy()


def manifold(model: VAE, n: int = 15, dims: tuple[int, int] = (0, 1), base=None) -> np.ndarray:
    """An (n, n, 28, 28) grid of decoded images over two latent dimensions (others held at `base`, default 0).
    Row 0 is the top of the plane (largest z[dims[1]])."""
    coords = grid_coordinates(n)
    z = np.tile(np.zeros(model.cfg.latent_dim, np.float32) if base is None else np.asarray(base, np.float32),
                (n * n, 1))
    ys, xs = np.meshgrid(coords[::-1], coords, indexing="ij")
    z[:, dims[0]] = xs.ravel()
    z[:, dims[1]] = ys.ravel()
    images = decode(model, z)
    return images.reshape(n, n, *images.shape[1:])


def interpolate(model: VAE, z_a, z_b, steps: int = 10, mode: str = "linear") -> np.ndarray:
    """Decode `steps` points from z_a to z_b: "linear" or "spherical" (slerp, which keeps the norm typical of
    the prior in high dimensions)."""
    a, b = np.asarray(z_a, np.float64), np.asarray(z_b, np.float64)
    t = np.linspace(0, 1, steps)[:, None]
    if mode == "spherical":
        cos = np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12)
        omega = np.arccos(np.clip(cos, -1, 1))
        if omega < 1e-6:
            z = (1 - t) * a + t * b
        else:
            z = (np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega)
    elif mode == "linear":
        z = (1 - t) * a + t * b
    else:
        raise ValueError(f"mode must be 'linear' or 'spherical', not {mode!r}")
    return decode(model, z.astype(np.float32))


def project_2d(mu: np.ndarray, method: str = "pca", cache_dir: str | os.PathLike | None = None,
               cache_key: str = "", max_points: int = 10000, seed: int = 0):
    """A 2-D view of the posterior means: identity for D = 2, else PCA or t-SNE (scikit-learn).

    Returns (points (N, 2), pca) where pca is the fitted sklearn PCA (None otherwise), so a point on the plane
    can be mapped back with pca.inverse_transform. t-SNE results are cached in cache_dir under the checkpoint's
    content hash; a corrupt cache file is rebuilt silently. t-SNE is capped at max_points (the first N).
    """
    mu = np.asarray(mu, np.float32)
    if mu.shape[1] == 2:
        return mu, None
    if method == "pca":
        from sklearn.decomposition import PCA
        pca = PCA(n_components=2, random_state=seed).fit(mu)
        return pca.transform(mu).astype(np.float32), pca
    if method != "tsne":
        raise ValueError(f"method must be 'pca' or 'tsne', not {method!r}")
    mu = mu[:max_points]
    digest = hashlib.sha256(mu.tobytes()).hexdigest()[:16]
    path = Path(cache_dir) / f"tsne-{cache_key or digest}-{len(mu)}-{seed}.npy" if cache_dir else None
    if path and path.is_file():
        try:
            cached = np.load(path, allow_pickle=False)
            if cached.shape == (len(mu), 2) and np.isfinite(cached).all():
                return cached, None
        except (OSError, ValueError):
            pass  # corrupt or truncated: rebuild below
    from sklearn.manifold import TSNE
    points = TSNE(n_components=2, init="pca", random_state=seed, perplexity=30).fit_transform(mu).astype(np.float32)
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            np.save(f, points)
        os.replace(tmp, path)
    return points, None
