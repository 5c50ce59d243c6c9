"""Laws of the optimal fields: exact P(raised) and exact sampling of the projection."""
import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

from capacity import expected_dist2, prob_raised, sample_projection

from .naive import brute_force_dist2


def test_prob_raised_closed_forms():
    # untouched iff z_0 - kappa >= max_k z_k: P = 1/(K+1) at kappa = 0 by symmetry
    for K in (1, 2, 9, 99):
        assert_allclose(prob_raised(K), 1 - 1 / (K + 1), rtol=1e-11)
    # K = 1: P(z_1 - z_0 > -kappa) = Phi(kappa / sqrt 2)
    from scipy.special import ndtr

    for kappa in (0.5, 2.0):
        assert_allclose(prob_raised(1, kappa=kappa), ndtr(kappa / math.sqrt(2)), rtol=1e-11)


@pytest.mark.parametrize("K, kappa", [(1, 0.0), (2, 1.0), (50, 0.0), (5000, 1.0), (10**9, 0.0), (10**15, 2.0)])
def test_sampler_matches_exact_quantities(K, kappa):
    n = 40_000
    s = sample_projection(K, kappa=kappa, n_samples=n, seed=K % 1000 + 1)
    e = expected_dist2(K, kappa=kappa)
    assert abs(s.dist2.mean() - e) < 4 * s.dist2.std(ddof=1) / math.sqrt(n)
    pr = prob_raised(K, kappa=kappa)
    se = math.sqrt(max(pr * (1 - pr), 1.0 / n) / n)
    assert abs(s.raised.mean() - pr) < 4 * se + 1e-12


def test_structure_of_the_projection():
    s = sample_projection(30, kappa=0.5, n_samples=5000, seed=3)
    assert_allclose(s.h0, s.t + 0.5)
    assert np.all((s.n_active > 0) == s.raised)
    assert np.all(s.dist2[~s.raised] == 0)
    # raised inputs sit exactly kappa above their flattened top competitor: the point mass of the margin
    top = np.minimum(s.top_competitor, s.t)
    assert_allclose((s.h0 - top)[s.raised], 0.5, atol=1e-12)
    # unraised inputs keep a gap >= kappa
    assert np.all((s.h0 - s.top_competitor)[~s.raised] >= 0.5 - 1e-12)


def test_sampled_projection_equals_brute_force():
    # re-draw the same z with the full sampler and project by NNLS
    K, kappa, n = 6, 0.8, 40
    s = sample_projection(K, kappa=kappa, n_samples=n, seed=11)
    rng = np.random.default_rng(11)
    z0 = rng.standard_normal(n)
    zs = rng.standard_normal((n, K))
    for i in range(n):
        assert_allclose(s.dist2[i], brute_force_dist2(np.concatenate([[z0[i]], zs[i]]), kappa), atol=1e-9)


def test_order_statistic_sampler_agrees_with_full_sampling():
    # K = 600 is drawn by the top-order-statistics route; compare with a full draw of 600 Gaussians
    n = 20_000
    fast = sample_projection(600, n_samples=n, seed=5)
    assert "order statistics" in fast.method
    rng = np.random.default_rng(6)
    full_top = rng.standard_normal((n, 600)).max(axis=1)
    diff = fast.top_competitor.mean() - full_top.mean()
    se = math.sqrt(fast.top_competitor.var() / n + full_top.var() / n)
    assert abs(diff) < 4 * se


def test_summary_and_bad_input():
    s = sample_projection(10, n_samples=100, seed=0).summary()
    assert {"mean_dist2", "mean_dist2_se", "mean_n_active", "mean_raised", "method"} <= set(s)
    with pytest.raises(ValueError, match="`K` must be an integer"):
        sample_projection(2.5)
    with pytest.raises(ValueError, match="`kappa`"):
        sample_projection(3, kappa=-1)
    with pytest.raises(ValueError, match="`n_samples`"):
        sample_projection(3, n_samples=0)
