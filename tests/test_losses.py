"""The maths: closed-form KL against Monte Carlo, its zero, gradients through the reparameterisation, beta applied."""
import math

import torch

import vae
from vae.losses import kl_divergence, kl_per_dim, neg_elbo, reconstruction_nll


def test_kl_is_exactly_zero_at_the_prior():
    mu, logvar = torch.zeros(4, 3), torch.zeros(4, 3)
    assert torch.equal(kl_divergence(mu, logvar), torch.zeros(4))


def test_kl_is_positive_away_from_the_prior():
    g = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(100, 5, generator=g), torch.randn(100, 5, generator=g)
    assert (kl_divergence(mu, logvar) > 0).all()
    assert torch.allclose(kl_per_dim(mu, logvar).sum(-1), kl_divergence(mu, logvar))


def test_closed_form_kl_matches_monte_carlo():
    """KL(q||p) = E_q[log q(z) - log p(z)]: 200k samples agree with the closed form within 4 standard errors."""
    torch.manual_seed(0)
    mu = torch.tensor([[0.7, -1.2, 0.1]])
    logvar = torch.tensor([[-0.5, 0.8, -2.0]])
    n = 200_000
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    z = q.sample((n,))  # (n, 1, 3)
    p = torch.distributions.Normal(0.0, 1.0)
    log_ratio = (q.log_prob(z) - p.log_prob(z)).sum(-1).squeeze(1)  # (n,)
    mc, se = log_ratio.mean(), log_ratio.std() / math.sqrt(n)
    closed = kl_divergence(mu, logvar)[0]
    assert abs(mc - closed) < 4 * se, (mc, closed, se)


def test_gradients_reach_mu_and_logvar_through_the_reparameterisation():
    mu = torch.zeros(8, 2, requires_grad=True)
    logvar = torch.zeros(8, 2, requires_grad=True)
    z = vae.VAE.reparameterize(mu, logvar)
    (z ** 2).sum().backward()
    assert mu.grad is not None and mu.grad.abs().sum() > 0
    assert logvar.grad is not None and logvar.grad.abs().sum() > 0


def test_bernoulli_nll_is_the_binary_cross_entropy():
    logits = torch.tensor([[2.0, -1.0, 0.0]])
    x = torch.tensor([[1.0, 0.0, 1.0]])
    p = torch.sigmoid(logits)
    expected = -(x * p.log() + (1 - x) * (1 - p).log()).sum(-1)
    assert torch.allclose(reconstruction_nll(logits, x), expected, atol=1e-6)


def test_bce_is_stable_for_extreme_logits():
    logits = torch.tensor([[1e4, -1e4]])
    x = torch.tensor([[0.0, 1.0]])
    out = reconstruction_nll(logits, x)
    assert torch.isfinite(out).all() and out.item() > 1e4


def test_gaussian_likelihood_matches_torch_normal():
    logits = torch.randn(2, 5)
    x = torch.rand(2, 5)
    expected = -torch.distributions.Normal(torch.sigmoid(logits), 0.3).log_prob(x).sum(-1)
    assert torch.allclose(reconstruction_nll(logits, x, "gaussian", 0.3), expected, atol=1e-5)


def test_beta_really_weights_the_kl():
    torch.manual_seed(0)
    logits, x = torch.randn(3, 10), torch.rand(3, 10).round()
    mu, logvar = torch.randn(3, 2), torch.randn(3, 2)
    l1, recon, kl = neg_elbo(logits, x, mu, logvar, beta=1.0)
    l4, _, _ = neg_elbo(logits, x, mu, logvar, beta=4.0)
    l0, _, _ = neg_elbo(logits, x, mu, logvar, beta=0.0)
    assert torch.allclose(l4 - l1, 3 * kl)
    assert torch.allclose(l0, recon)


def test_multiple_samples_average_the_reconstruction_term():
    x = torch.rand(3, 10).round()
    logits = torch.randn(4, 3, 10)  # L = 4 samples
    _, recon, _ = neg_elbo(logits, x, torch.zeros(3, 2), torch.zeros(3, 2))
    assert torch.allclose(recon, reconstruction_nll(logits, x).mean(0))
