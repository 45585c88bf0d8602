"""vae.analysis: Monte-Carlo vs closed-form KL, the ELBO gap of one digit, collapse check, holes-map densities."""
import numpy as np
import pytest
import torch

import vae
from vae import analysis


@pytest.mark.parametrize("mu, logvar", [([0.0, 0.0], [0.0, 0.0]), ([1.5, -0.7], [-2.0, 0.5]),
                                        ([3.0, 0.1, -1.0], [-6.0, -0.1, 1.2])])
def test_monte_carlo_kl_agrees_with_closed_form_within_a_few_standard_errors(mu, logvar):
    exact = analysis.kl_closed_form(mu, logvar)
    for seed in range(5):
        est = analysis.kl_monte_carlo(mu, logvar, n=2000, seed=seed)
        assert est.n == 2000
        assert abs(est.mean - exact) <= 4 * est.stderr + 1e-12


def test_closed_form_kl_matches_the_library_and_is_zero_only_at_the_prior():
    mu, logvar = np.array([0.3, -1.2]), np.array([-0.5, 0.8])
    lib = float(vae.kl_divergence(torch.tensor(mu)[None], torch.tensor(logvar)[None])[0])
    assert analysis.kl_closed_form(mu, logvar) == pytest.approx(lib, rel=1e-9)
    assert analysis.kl_closed_form([0, 0], [0, 0]) == 0.0
    assert analysis.kl_closed_form([0, 0], [0.1, 0]) > 0


def test_monte_carlo_error_shrinks_like_one_over_root_n():
    small = analysis.kl_monte_carlo([1.0, 2.0], [-1.0, 0.3], n=100, seed=1).stderr
    large = analysis.kl_monte_carlo([1.0, 2.0], [-1.0, 0.3], n=10000, seed=1).stderr
    assert large == pytest.approx(small / 10, rel=0.3)
    with pytest.raises(ValueError):
        analysis.kl_monte_carlo([0.0], [0.0], n=1)


def test_reparameterised_draws_have_the_requested_mean_and_spread():
    eps = np.random.default_rng(0).standard_normal((20000, 2))
    z = analysis.draws([2.0, -1.0], np.log([0.25, 4.0]), eps)
    np.testing.assert_allclose(z.mean(0), [2.0, -1.0], atol=0.05)
    np.testing.assert_allclose(z.std(0), [0.5, 2.0], rtol=0.03)


def test_digit_elbo_is_below_log_px_and_its_parts_add_up(tiny_ckpt, mnist_test):
    ck = vae.load_checkpoint(tiny_ckpt)
    x = (mnist_test.floats()[0] > 0.5).float().numpy()
    d = analysis.digit_elbo(ck.model, x, n=200, k=500, seed=0)
    assert d.elbo == pytest.approx(-(d.recon.mean + d.kl))
    assert d.kl == pytest.approx(analysis.kl_closed_form(d.mu, d.logvar))
    assert d.recon.stderr > 0 and d.recon.n == 200
    assert d.gap > -3 * d.recon.stderr  # log p(x) >= ELBO (up to Monte-Carlo noise)
    assert d.gap < 50  # and a trained encoder is not absurdly far from the true posterior


def test_collapse_check_flags_dead_codes_and_passes_a_healthy_one():
    rng = np.random.default_rng(0)
    healthy = analysis.collapse_check(rng.standard_normal((500, 4)) * 2, np.full((500, 4), -2.0))
    assert not healthy.collapsed and healthy.advice == "" and healthy.active.all()
    assert healthy.kl_per_dim.shape == (4,) and healthy.total_kl == pytest.approx(healthy.kl_per_dim.sum())
    # Three of four dimensions sit on the prior: fewer than half active.
    mu = np.zeros((500, 4))
    mu[:, 0] = rng.standard_normal(500) * 2
    logvar = np.zeros((500, 4))
    half_dead = analysis.collapse_check(mu, logvar)
    assert half_dead.collapsed and half_dead.active.tolist() == [True, False, False, False]
    assert "β" in half_dead.advice and "warm-up" in half_dead.advice
    # Every dimension varies a little, but the total KL is tiny.
    tiny_kl = analysis.collapse_check(rng.standard_normal((500, 2)) * 0.15, np.zeros((500, 2)))
    assert tiny_kl.active.all() and tiny_kl.total_kl < 0.1 and tiny_kl.collapsed


def test_mu_histogram_sums_to_the_share_of_points_inside_the_window():
    edges = analysis.grid_edges(4.0, 16)
    pts = np.array([[0.1, 0.1], [0.2, 0.1], [-3.9, 3.9], [10.0, 0.0]])
    h = analysis.mu_histogram(pts, edges)
    assert h.shape == (16, 16)
    assert h.sum() == pytest.approx(0.75)
    assert h[8, 8] == pytest.approx(0.5)  # the two points just above the origin
    assert h[15, 0] == pytest.approx(0.25)  # (x=-3.9, y=3.9): top row, left column


def test_prior_and_aggregate_posterior_masses_are_probabilities():
    edges = analysis.grid_edges(6.0, 24)
    prior = analysis.prior_mass(edges)
    assert prior.sum() == pytest.approx((2 * 0.5 * (1 + torch.erf(torch.tensor(6 / 2**0.5))).item() - 1) ** 2)
    assert prior[12, 12] == prior.max()
    rng = np.random.default_rng(0)
    mu = rng.standard_normal((300, 2))
    post = analysis.aggregate_posterior_mass(mu, np.full((300, 2), 0.3), edges)
    assert post.sum() == pytest.approx(1.0, abs=1e-6)
    # Tiny sigmas: the aggregate posterior is the histogram of mu.
    np.testing.assert_allclose(analysis.aggregate_posterior_mass(mu, np.full((300, 2), 1e-9), edges),
                               analysis.mu_histogram(mu, edges), atol=1e-9)


def test_find_holes_marks_the_empty_prior_region():
    edges = analysis.grid_edges(4.0, 16)
    prior = analysis.prior_mass(edges)
    rng = np.random.default_rng(0)
    mu = rng.standard_normal((2000, 2)) * 0.4 + [2.0, 0.0]  # all codes on the right: the left half is a hole
    post = analysis.aggregate_posterior_mass(mu, np.full((2000, 2), 0.2), edges)
    holes = analysis.find_holes(prior, post, edges, k=5)
    assert len(holes) == 5
    assert all(h.z[0] < 1.0 for h in holes)  # nothing near the codes (x = 2 ± 0.45)
    assert all(h.posterior_mass < 0.1 * h.prior_mass for h in holes)
    assert holes[0].prior_mass >= holes[-1].prior_mass
    assert 0.4 < analysis.hole_fraction(prior, post) < 1.0
    # A perfect match with the prior has no holes.
    assert analysis.find_holes(prior, prior, edges) == []
    # min_gap spreads the list: no two listed holes in neighbouring cells
    step = edges[1] - edges[0]
    spread = analysis.find_holes(prior, post, edges, k=5, min_gap=2)
    assert len(spread) == 5 and spread[0] == holes[0]
    assert all(max(abs(a.z[0] - b.z[0]), abs(a.z[1] - b.z[1])) >= 2 * step - 1e-9
               for i, a in enumerate(spread) for b in spread[i + 1:])
    assert any(max(abs(a.z[0] - b.z[0]), abs(a.z[1] - b.z[1])) < 2 * step - 1e-9
               for i, a in enumerate(holes) for b in holes[i + 1:])  # without it, neighbours are listed


def test_neg_elbo_levels_span_the_points_with_few_round_lines():
    levels = analysis.neg_elbo_levels([0.5, 5.0, 12.0], [200.0, 190.0, 185.0])
    assert levels.min() <= 195.5 and levels.max() >= 200.5
    assert 2 <= len(levels) <= 14
    assert np.allclose(np.diff(levels), levels[1] - levels[0])
