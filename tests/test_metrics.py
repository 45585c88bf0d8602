"""Evaluation maths: the importance-weighted bound against the ELBO, active units, evaluate's keys."""
import math

import pytest
import torch

import vae
from vae.metrics import active_units, elbo_parts, evaluate, iw_log_likelihood


@pytest.fixture(scope="module")
def model_and_x(tiny_ckpt, mnist_test):
    ck = vae.load_checkpoint(tiny_ckpt)
    x = torch.bernoulli(mnist_test.floats()[:200], generator=torch.Generator().manual_seed(1))
    return ck.model, x


def _mean_se(t: torch.Tensor):
    return t.mean().item(), (t.std() / math.sqrt(len(t))).item()


def test_iw_bound_with_one_sample_is_the_elbo_in_expectation(model_and_x):
    model, x = model_and_x
    # L_1 per image, averaged over 20 independent draws each, against the ELBO with many draws of z.
    l1 = torch.stack([iw_log_likelihood(model, x, k=1, seed=s) for s in range(20)]).mean(0)
    elbo = -torch.tensor([elbo_parts(model, x, seed=s)["neg_elbo"] for s in range(20)]).mean()
    mean, se = _mean_se(l1)
    assert abs(mean - elbo.item()) < 4 * se + 0.05, (mean, elbo, se)


def test_iw_bound_does_not_decrease_with_k(model_and_x):
    model, x = model_and_x
    l1, l10, l100 = (iw_log_likelihood(model, x, k=k, seed=3) for k in (1, 10, 100))
    for lo, hi in ((l1, l10), (l10, l100)):
        mean, se = _mean_se(hi - lo)  # paired differences over 200 images
        assert mean > -3 * se
    mean, se = _mean_se(l100 - l1)
    assert mean > 3 * se  # a real tightening: the posterior is not exact, so more samples help


def test_iw_chunking_does_not_change_the_estimate(model_and_x):
    model, x = model_and_x
    a = iw_log_likelihood(model, x[:20], k=60, chunk=60, seed=0)
    b = iw_log_likelihood(model, x[:20], k=60, chunk=7, seed=0)
    assert a.shape == (20,)
    assert torch.isfinite(a).all() and (a < 0).all()
    assert torch.allclose(a.mean(), b.mean(), atol=3.0)


def test_active_units_counts_dimensions_with_varying_means():
    g = torch.Generator().manual_seed(0)
    mu = torch.stack([torch.randn(1000, generator=g), 0.01 * torch.randn(1000, generator=g),
                      torch.zeros(1000)], 1)
    n, var = active_units(mu)
    assert n == 1 and var.shape == (3,)


def test_evaluate_reports_the_parts_that_add_up(model_and_x):
    model, x = model_and_x
    out = evaluate(model, x, iw_samples=20)
    assert out["neg_elbo"] == pytest.approx(out["recon"] + out["kl"], rel=1e-5)
    assert out["nll_iw"] <= out["neg_elbo"] + 1.0
    assert len(out["kl_per_dim"]) == out["latent_dim"] == 2
    assert out["n_test"] == 200 and 0 <= out["active_units"] <= 2
