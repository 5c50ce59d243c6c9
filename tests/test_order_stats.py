"""Renyi's order statistics (capacity.solvers.order_stats) against brute-force sorting and exact laws.

Fixed seeds; Monte Carlo comparisons use 4-sigma bands.
"""
import math

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import special

from capacity.solvers.order_stats import normal_order_stats


def _renyi(rng, n, K, B):
    """B top ranks of K normals for n samples, shape (B, n)."""
    z, _ = normal_order_stats(np.log(1.0 - rng.random((B, n))), K)
    return z


def _brute(rng, n, K, B):
    """The same by sorting n x K standard normals."""
    z = -np.sort(-rng.standard_normal((n, K)), axis=1)
    return z[:, :B].T


@pytest.mark.parametrize("K, B", [(1, 1), (10, 10), (50, 6), (400, 12)])
def test_distribution_matches_brute_force_sorting(K, B):
    # every rank, including the low ones (U < 1/2, the ndtri(U) branch) when B = K
    n = 20_000
    fast = _renyi(np.random.default_rng(1), n, K, B)
    slow = _brute(np.random.default_rng(2), n, K, B)
    assert np.all(np.diff(fast, axis=0) <= 0)
    for name, f in (("mean", lambda z: z), ("second moment", lambda z: z * z), ("above 0", lambda z: z > 0)):
        a, b = f(fast).astype(float), f(slow).astype(float)
        diff = a.mean(axis=1) - b.mean(axis=1)
        se = np.sqrt(a.var(axis=1, ddof=1) / n + b.var(axis=1, ddof=1) / n) + 1e-300
        assert np.all(np.abs(diff) < 4 * se), (name, diff / se)


@pytest.mark.parametrize("K", [10**6, 10**15])
def test_top_rank_has_the_exact_law_of_the_maximum(K):
    # P(max of K normals <= x) = Phi(x)^K, at its quartiles: binomial 4-sigma bands
    n = 20_000
    top = _renyi(np.random.default_rng(3), n, K, 1)[0]
    for q in (0.1, 0.3, 0.5, 0.7, 0.9):
        x = -special.ndtri(-math.expm1(math.log(q) / K))  # the q-quantile of the maximum
        p = math.exp(K * special.log_ndtr(x))
        assert abs(p - q) < 1e-6
        assert abs(np.mean(top <= x) - p) < 4 * math.sqrt(p * (1 - p) / n) + 1e-12


def test_chunks_carry_exactly():
    # ranks drawn in two chunks with the carried log U are the same numbers as in one go
    rng = np.random.default_rng(4)
    log_v = np.log(1.0 - rng.random((30, 7)))
    K = 10**9
    z, log_u = normal_order_stats(log_v, K)
    z1, lu1 = normal_order_stats(log_v[:11], K)
    z2, _ = normal_order_stats(log_v[11:], K, first_rank=11, log_u_above=lu1[-1])
    assert_allclose(np.concatenate([z1, z2]), z, rtol=1e-14)
    assert np.all(log_u[-1] <= 0.0)


def test_uniform_order_statistics_are_renyis_product():
    # U_(j) = prod_{i <= j} V_i^{1/(K - i + 1)} and z = Phi^{-1}(U), written out directly
    rng = np.random.default_rng(5)
    K, B = 25, 25
    v = 1.0 - rng.random((B, 3))
    z, log_u = normal_order_stats(np.log(v), K)
    u = np.cumprod(v ** (1.0 / (K - np.arange(B)))[:, None], axis=0)
    assert_allclose(np.exp(log_u), u, rtol=1e-13)
    assert_allclose(z, special.ndtri(u), rtol=1e-9, atol=1e-12)
