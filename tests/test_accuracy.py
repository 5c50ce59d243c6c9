"""Capacity at a target accuracy (A1)-(A2) and bits per parameter, against independent references.

References built without the code under test: the K = 1 closed form by mpmath quadrature, the exact
E dist^2 of (T1), the naive sorting-rule sampler of tests/naive.py (all K competitors drawn), and
closed-form arithmetic for bits per parameter.
"""
import math

import mpmath
import numpy as np
import pytest

from capacity import expected_dist2, p_c
from capacity.theory import accuracy as acc
from capacity.theory.accuracy import (bits_per_param, facts_per_param, p_c_accuracy, sample_dist2,
                                      solve_accuracy_load, solve_p_c_accuracy)
from tests.naive import naive_dist2_samples


def _k1_inv_alpha(eps, kappa):
    """K = 1: dist^2 = (k' - t)_+^2, t ~ N(0, 1), k' = kappa/sqrt 2; the failures are t < Phi^-1(eps)."""
    kp = mpmath.mpf(kappa) / mpmath.sqrt(2)
    lo = mpmath.sqrt(2) * mpmath.erfinv(2 * mpmath.mpf(eps) - 1)  # Phi^-1(eps)
    phi = lambda x: mpmath.exp(-x * x / 2) / mpmath.sqrt(2 * mpmath.pi)  # noqa: E731
    return float(mpmath.quad(lambda x: (kp - x) ** 2 * phi(x), [lo, kp]))


@pytest.mark.parametrize("eps, kappa", [(0.01, 0.0), (0.1, 0.0), (0.05, 1.0)])
def test_k1_load_matches_the_closed_form(eps, kappa):
    r = solve_accuracy_load(1, eps, kappa=kappa, n_samples=400_000, seed=3)
    exact = _k1_inv_alpha(eps, kappa)
    assert abs(r.inv_alpha - exact) <= 4 * r.tail_se, (r.inv_alpha, exact, r.tail_se)
    assert r.tail_se < 0.02 * exact  # the band is informative


def test_epsilon_zero_is_the_exact_capacity():
    for d in (8, 16, 100):
        r = solve_p_c_accuracy(d, accuracy=1.0)
        assert r.p_c == pytest.approx(p_c(d), rel=1e-9)
        assert r.p_c_se == 0.0 and r.n_samples == 0
    assert solve_accuracy_load(50, 0.0).alpha == pytest.approx(1 / expected_dist2(50), rel=1e-12)


@pytest.mark.parametrize("K", [10, 129, 1000, 1e6])
@pytest.mark.parametrize("kappa", [0.0, 1.0])
def test_samples_have_the_exact_mean(K, kappa):
    x = sample_dist2(K, kappa=kappa, n=100_000, seed=7)
    e = expected_dist2(K, kappa=kappa)
    assert abs(x.mean() - e) <= 4 * x.std() / math.sqrt(x.size), (x.mean(), e)


def test_order_statistics_sampler_matches_drawing_every_competitor():
    # K = 300: the order-statistics sampler (public path) vs the naive sampler of tests/naive.py
    K, n = 300, 60_000
    x = sample_dist2(K, n=n, seed=11)
    y = naive_dist2_samples(K, 0.0, n, np.random.default_rng(12))
    for q in (0.5, 0.9, 0.99):
        # quantile difference in units of its sampling error (binomial order-statistic band)
        lo, hi = np.quantile(y, [q - 4 * math.sqrt(2 * q * (1 - q) / n), q + 4 * math.sqrt(2 * q * (1 - q) / n)])
        assert lo <= np.quantile(x, q) <= hi, q


@pytest.mark.slow
def test_tail_standard_error_is_honest_across_seeds():
    # independent draws differ by no more than their stated errors allow
    rs = [solve_accuracy_load(400, 0.05, n_samples=50_000, seed=s) for s in range(6)]
    ref = solve_accuracy_load(400, 0.05, n_samples=400_000, seed=99)
    z = [(r.inv_alpha - ref.inv_alpha) / math.hypot(r.tail_se, ref.tail_se) for r in rs]
    assert max(abs(v) for v in z) < 4, z


@pytest.mark.slow
def test_capacity_at_95_percent_against_a_naive_reference():
    # the root of p = d^2 / E[dist^2 1{dist^2 <= t}] with the naive sampler at integer p around it
    d, eps = 16, 0.05
    r = solve_p_c_accuracy(d, accuracy=1 - eps, n_samples=100_000, seed=5)
    rng = np.random.default_rng(6)

    def g(p):
        x = naive_dist2_samples(p - 1, 0.0, 100_000, rng)
        t = np.quantile(x, 1 - eps)
        return p * np.mean(np.where(x <= t, x, 0.0)) / d**2 - 1

    lo, hi = math.floor(r.p_c - 4 * r.p_c_se - 1), math.ceil(r.p_c + 4 * r.p_c_se + 1)
    assert g(lo) < 0 < g(hi), (r.p_c, r.p_c_se)


def test_lower_accuracy_stores_more():
    a = solve_p_c_accuracy(32, accuracy=0.99, n_samples=20_000)
    b = solve_p_c_accuracy(32, accuracy=0.9, n_samples=20_000)
    assert p_c(32) < a.p_c < b.p_c
    assert 0 < a.p_c_se < 0.01 * a.p_c


def test_bits_and_facts_per_parameter():
    p, n = 1192.028667, 100**2
    assert bits_per_param(p, n) == pytest.approx(p * math.log(p) / math.log(2) / n, rel=1e-14)
    assert facts_per_param(p, n) == pytest.approx(0.1192028667)
    eps = 0.01
    h2 = -(eps * math.log2(eps) + (1 - eps) * math.log2(1 - eps))
    fano = p * (math.log2(p) - h2 - eps * math.log2(p - 1)) / n
    assert bits_per_param(p, n, accuracy=1 - eps) == pytest.approx(fano, rel=1e-14)
    # the one-layer limit 1/(2 ln 2), approached from above like (3/2) ln ln p / ln p (from
    # E dist^2 = 2 ln K - 3 ln ln K + O(1), docs/theory.md §4): the ratio decreases towards 3/2
    limit = 1 / (2 * math.log(2))
    ratios = []
    for d in (100, 10_000, 10**6, 10**9, 10**12):
        pc = p_c(d)
        excess = bits_per_param(pc, float(d) ** 2) / limit - 1
        ratios.append(excess * math.log(pc) / math.log(math.log(pc)))
    assert all(a > b for a, b in zip(ratios, ratios[1:])) and 1.5 < ratios[-1] < 2.0, ratios


def test_capacity_result_reports_bits():
    r = solve_p_c_accuracy(100)
    assert r.bits_per_param == pytest.approx(bits_per_param(r.p_c, 1e4))
    assert r.facts_per_param == pytest.approx(r.p_c / 1e4)


@pytest.mark.parametrize("call, exc, name", [
    (lambda: solve_p_c_accuracy(16, accuracy=0.0), ValueError, "accuracy"),
    (lambda: solve_p_c_accuracy(16, accuracy=1.5), ValueError, "accuracy"),
    (lambda: solve_p_c_accuracy(16, accuracy="x"), TypeError, "accuracy"),
    (lambda: solve_p_c_accuracy(0, accuracy=0.9), ValueError, "d"),
    (lambda: solve_accuracy_load(10, -0.1), ValueError, "epsilon"),
    (lambda: solve_accuracy_load(10, 1.0), ValueError, "epsilon"),
    (lambda: solve_accuracy_load(10, 0.1, n_samples=10), ValueError, "n_samples"),
    (lambda: sample_dist2(10.5), ValueError, "K"),
    (lambda: bits_per_param(10, 0), ValueError, "n_params"),
    (lambda: bits_per_param(10, 100, accuracy=2), ValueError, "accuracy"),
])
def test_bad_input_is_refused_in_one_line(call, exc, name):
    with pytest.raises(exc) as info:
        call()
    msg = str(info.value)
    assert "\n" not in msg and f"`{name}`" in msg, msg


def test_module_constants():
    assert acc.N_SAMPLES >= 100_000
