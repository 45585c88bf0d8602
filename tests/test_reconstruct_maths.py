"""The latent helpers the Reconstruct page draws with: z = mu + sigma * eps, and the posterior's ellipse."""
import numpy as np
from sklearn.decomposition import PCA

from vae import latent


def test_sample_posterior_is_mu_plus_sigma_eps():
    mu, sigma = np.array([[1.0, -2.0]]), np.array([[0.1, 0.5]])
    draws = np.concatenate([latent.sample_posterior(mu, sigma, seed=s) for s in range(4000)])
    assert np.allclose(draws.mean(0), mu[0], atol=0.03) and np.allclose(draws.std(0), sigma[0], rtol=0.05)
    assert np.array_equal(latent.sample_posterior(mu, sigma, 7), latent.sample_posterior(mu, sigma, 7))
    assert not np.array_equal(latent.sample_posterior(mu, sigma, 7), latent.sample_posterior(mu, sigma, 8))


def test_2d_ellipse_is_mu_plus_minus_sigma_per_axis():
    e = latent.posterior_ellipse([1.0, 2.0], [0.1, 0.3], n_points=73)
    assert np.allclose(e.min(0), [0.9, 1.7], atol=1e-6) and np.allclose(e.max(0), [1.1, 2.3], atol=1e-6)
    assert np.allclose(e[0], e[-1])  # closed outline
    assert np.allclose(latent.posterior_ellipse([0, 0], [1, 1], n_std=2), 2 * latent.posterior_ellipse(
        [0, 0], [1, 1]), atol=1e-6)


def test_projected_ellipse_is_the_contour_of_the_projected_gaussian():
    """Monte Carlo: project samples of N(mu, diag sigma^2) through the PCA; their covariance's 1-sigma contour
    is the ellipse (Mahalanobis distance 1 at every outline point)."""
    rng = np.random.default_rng(0)
    pca = PCA(2).fit(rng.normal(size=(500, 5)) * [3, 2, 1, 1, 1])
    mu, sigma = rng.normal(size=5), np.array([0.1, 0.2, 0.3, 0.05, 0.4])
    outline = latent.posterior_ellipse(mu, sigma, pca)
    projected = pca.transform(mu + sigma * rng.normal(size=(100_000, 5)))
    d = outline - projected.mean(0)
    mahalanobis2 = np.einsum("ni,ij,nj->n", d, np.linalg.inv(np.cov(projected.T)), d)
    assert np.allclose(mahalanobis2, 1, atol=0.03)
