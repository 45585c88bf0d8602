"""Latent-space tools the app draws from: posteriors, reconstructions, manifold grids, prior samples,
interpolations and 2-D views of the embedding. NumPy in, NumPy out, so callers need no torch.

The decoding functions take a VAE or a vae.numpy_model.NumpyDecoder (the same decoder in NumPy). torch is imported
inside the functions that need it, so a page that only decodes with a NumpyDecoder never imports it (1.8 s).
"""
from __future__ import annotations

from statistics import NormalDist
from typing import TYPE_CHECKING, Union

import numpy as np

from .numpy_model import NumpyDecoder

if TYPE_CHECKING:
    import torch

    from .model import VAE

Decoder = Union["VAE", NumpyDecoder]  # anything decode() runs


def _t(x) -> "torch.Tensor":
    import torch
    return torch.as_tensor(np.asarray(x, dtype=np.float32))


def latent_dim(model: Decoder) -> int:
    return model.latent_dim if isinstance(model, NumpyDecoder) else model.cfg.latent_dim


def posterior(model: "VAE", images, beta: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """images (N, 28, 28) or (N, 784) in [0, 1] -> mu (N, D) and sigma (N, D) of q(z|x) (at beta, for a
    beta-conditioned model)."""
    import torch

    from .metrics import encode_all  # (torch)

    mu, logvar = encode_all(model, _t(images).reshape(len(images), -1), beta=beta)
    return mu.numpy(), torch.exp(0.5 * logvar).numpy()


def decode(model: Decoder, z, beta: float | None = None) -> np.ndarray:
    """z (N, D) -> mean images (N, 28, 28) in [0, 1]. beta: only for a beta-conditioned model."""
    if isinstance(model, NumpyDecoder):
        return model.decode_images(z, beta)
    import torch
    with torch.no_grad():
        return model.decode_images(_t(z).reshape(-1, model.cfg.latent_dim), beta).numpy()


def reconstruct(model: "VAE", images, sample: bool = False, seed: int | None = None) -> np.ndarray:
    """Decode the posterior mean (sample=False) or one draw z = mu + sigma * eps (sample=True)."""
    mu, sigma = posterior(model, images)
    return decode(model, sample_posterior(mu, sigma, seed) if sample else mu)


def prior_samples(model: Decoder, n: int, seed: int = 0) -> np.ndarray:
    """n images decoded from z ~ N(0, I)."""
    z = np.random.default_rng(seed).standard_normal((n, latent_dim(model))).astype(np.float32)
    return decode(model, z)


def grid_coordinates(n: int, eps: float = 0.05) -> np.ndarray:
    """n values spaced by the inverse Gaussian CDF on (eps, 1 - eps), as in Kingma & Welling's figure 4:
    each cell of the grid holds equal prior mass."""
    return np.array([NormalDist().inv_cdf(p) for p in np.linspace(eps, 1 - eps, n)], np.float32)


def manifold(model: Decoder, n: int = 15, dims: tuple[int, int] = (0, 1), base=None, axes=None) -> np.ndarray:
    """An (n, n, 28, 28) grid of decoded images over two latent dimensions (others held at `base`, default 0).
    Row 0 is the top of the plane (largest z[dims[1]]).

    axes: instead of dims, two orthonormal directions (2, D), e.g. the first two principal components of the
    posterior means: z = base + a * axes[0] + b * axes[1]. The prior is round, so along any unit direction it is
    N(0, 1) and the grid's cells still hold equal prior mass."""
    coords = grid_coordinates(n)
    z = np.tile(np.zeros(latent_dim(model), np.float32) if base is None else np.asarray(base, np.float32),
                (n * n, 1))
    ys, xs = np.meshgrid(coords[::-1], coords, indexing="ij")
    if axes is None:
        z[:, dims[0]] = xs.ravel()
        z[:, dims[1]] = ys.ravel()
    else:
        axes = np.asarray(axes, np.float32)
        z += xs.reshape(-1, 1) * axes[0] + ys.reshape(-1, 1) * axes[1]
    images = decode(model, z)
    return images.reshape(n, n, *images.shape[1:])


def interpolate(model: Decoder, z_a, z_b, steps: int = 10, mode: str = "linear") -> np.ndarray:
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


def project_2d(mu: np.ndarray, method: str = "pca", max_points: int = 10000, seed: int = 0):
    """A 2-D view of the posterior means: identity for D = 2, else PCA or t-SNE (scikit-learn).

    Returns (points (N, 2), pca) where pca is the fitted sklearn PCA (None otherwise), so a point on the plane
    can be mapped back with pca.inverse_transform. t-SNE is capped at max_points (the first N) and takes about a
    minute: vae.store.ModelStore.view_2d keeps it on disk, once per model.
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
    from sklearn.manifold import TSNE
    points = TSNE(n_components=2, init="pca", random_state=seed, perplexity=30).fit_transform(mu[:max_points])
    return points.astype(np.float32), None


def sample_posterior(mu, sigma, seed: int | None = None) -> np.ndarray:
    """One draw z = mu + sigma * eps, eps ~ N(0, I), per row: the reparameterisation trick, shown to students."""
    from .losses import reparameterise  # (torch: the module's other formulas need it)

    mu, sigma = np.asarray(mu, np.float32), np.asarray(sigma, np.float32)
    eps = np.random.default_rng(seed).standard_normal(mu.shape).astype(np.float32)
    return reparameterise(mu, sigma, eps)


def posterior_ellipse(mu, sigma, pca=None, n_std: float = 1.0, n_points: int = 73) -> np.ndarray:
    """The n_std contour of q(z|x) = N(mu, diag sigma^2) in the 2-D view, as an (n_points, 2) closed polygon.

    D = 2 (pca None): the axis-aligned ellipse with semi-axes n_std * sigma, at true scale.
    D > 2: the projection through the fitted PCA: a linear map W of a Gaussian is Gaussian, with mean W(mu - m)
    and covariance W diag(sigma^2) W^T, so the ellipse may be tilted. It is the shadow of the D-dimensional
    ellipsoid on the plane, not a slice through it.
    """
    mu, sigma = np.asarray(mu, np.float64).ravel(), np.asarray(sigma, np.float64).ravel()
    t = np.linspace(0, 2 * np.pi, n_points)
    circle = np.stack([np.cos(t), np.sin(t)], axis=1)  # (n_points, 2)
    if pca is None:
        if mu.size != 2:
            raise ValueError(f"a {mu.size}-D posterior needs a PCA to project it onto the plane")
        return (mu + n_std * circle * sigma).astype(np.float32)
    w = np.asarray(pca.components_, np.float64)  # (2, D)
    centre = (mu - pca.mean_) @ w.T
    cov = (w * sigma ** 2) @ w.T  # (2, 2)
    vals, vecs = np.linalg.eigh(cov)
    axes = vecs * np.sqrt(np.clip(vals, 0, None))  # columns: the ellipse's semi-axes (1 sigma)
    return (centre + n_std * circle @ axes.T).astype(np.float32)
