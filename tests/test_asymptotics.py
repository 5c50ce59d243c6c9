"""Asymptotics (docs/theory.md §4) approach the exact finite-K values at the stated rates."""
import math

import mpmath
import pytest
from numpy.testing import assert_allclose

from capacity import expected_dist2, p_c
from capacity.theory import asymptotics as A

KS = [1e3, 1e6, 1e9, 1e12, 1e15, 1e20, 1e30]


def test_constant_is_the_derived_one():
    assert_allclose(A.C_NEXT, 3 - 3 * math.log(2) - math.log(2 * math.pi), rtol=1e-15)
    for K in (1e4, 1e9, 1e30):
        closed = 2 * math.log(K) - 3 * math.log(math.log(K)) + A.C_NEXT
        assert_allclose(A.dist2_next(K), closed, rtol=1e-13)


@pytest.fixture(scope="module")
def exact():
    return {K: expected_dist2(K) for K in KS}


def test_lln_form_error_is_order_one_over_lnK(exact):
    # (E - E_LLN) ln K stays in a narrow band and drifts monotonically: an O(1/ln K) error
    scaled = [(exact[K] - A.dist2_lln(K)) * math.log(K) for K in KS]
    assert all(-2.2 < s < -1.5 for s in scaled)
    assert all(b > a for a, b in zip(scaled, scaled[1:]))


def test_next_order_error_is_order_lnlnK_over_lnK(exact):
    errs = [exact[K] - A.dist2_next(K) for K in KS]
    assert all(b < a for a, b in zip(errs, errs[1:]))  # monotone approach from above
    ratio = [e * math.log(K) / math.log(math.log(K)) for e, K in zip(errs, KS)]
    assert all(3.4 < r < 4.5 for r in ratio)


def test_leading_order_relative_error_vanishes(exact):
    rel = [abs(exact[K] / A.dist2_leading(K) - 1) for K in KS]
    assert all(b < a for a, b in zip(rel, rel[1:]))


def test_kappa_positive_lln_is_closer_than_next(exact):
    for K in (1e6, 1e15):
        e = expected_dist2(K, kappa=1.0)
        assert abs(e - A.dist2_lln(K, kappa=1.0)) < abs(e - A.dist2_next(K, kappa=1.0)) < 0.1 * e


def test_lln_level_solves_its_equation():
    with mpmath.workdps(30):
        for K, kappa in ((1e6, 0.0), (1e15, 2.0), ("1e1000", 0.5)):
            t = A.lln_level(K, kappa=kappa, mp=True)
            psi = mpmath.npdf(t) - t * mpmath.ncdf(-t)
            assert abs((t + kappa) / (mpmath.mpf(K) * psi) - 1) < 1e-20


def test_beyond_float_range():
    e = A.dist2_lln("1e1000", mp=True)
    L = 2 * mpmath.log(mpmath.mpf("1e1000"))
    assert abs(e / L - 1) < 0.01  # leading order dominates
    p = A.p_c_next("1e100", mp=True)
    # p ln p / d^2 -> 1/2 from above, excess ~ 3 ln ln p / (2 ln p) ~ 0.018 at d = 1e100
    assert 0.5 < p * mpmath.log(p) / mpmath.mpf("1e200") < 0.52


@pytest.mark.parametrize("d", [32, 100, 1000, 1e6])
def test_p_c_inversions(d):
    pc = p_c(d)
    lead, nxt, lln = A.p_c_leading(d), A.p_c_next(d), A.p_c_lln(d)
    # the leading order underestimates, the next order overestimates, the LLN form is closest
    assert lead < pc < nxt
    assert abs(lln / pc - 1) < abs(nxt / pc - 1) < abs(lead / pc - 1)
    # and every form satisfies its own definition
    assert_allclose(lead * math.log(lead), d * d / 2, rtol=1e-12)
    assert_allclose(lln * A.dist2_lln(lln - 1), d * d, rtol=1e-12)


def test_p_log_p_over_d2_converges_to_half_from_above():
    vals = [p_c(d) * math.log(p_c(d)) / d**2 for d in (10, 100, 1000, 1e4, 1e6)]
    assert all(v > 0.5 for v in vals)
    assert all(b < a for a, b in zip(vals, vals[1:]))
    # at d = 10..20 the finite-size value is near 1, far from the limit (docs/theory.md §2)
    assert 0.95 < p_c(20) * math.log(p_c(20)) / 400 < 1.06


def test_relative_error_of_next_inversion_decays():
    errs = [abs(A.p_c_next(d) / p_c(d) - 1) for d in (100, 1000, 1e4, 1e6)]
    assert all(b < a for a, b in zip(errs, errs[1:]))


@pytest.mark.parametrize("fn, arg", [(A.dist2_leading, "x"), (A.dist2_next, -5), (A.p_c_leading, float("nan"))])
def test_bad_input(fn, arg):
    with pytest.raises((TypeError, ValueError), match="`"):
        fn(arg)


def test_too_small_for_next_order():
    with pytest.raises(ValueError, match="too small"):
        A.dist2_next(40)
    with pytest.raises(ValueError, match="too small"):
        A.p_c_next(10)


@pytest.mark.parametrize("K", [2, 30, 45, 59, 60, 1e3])
def test_lln_level_solves_its_equation_for_small_K(K):
    # 30 <= K < 60 used to fail: the explicit next-order start has no solution there
    import mpmath

    with mpmath.workdps(40):
        t = A.lln_level(K, mp=True)
        resid = t - K * (mpmath.npdf(t) - t * mpmath.ncdf(-t))
        assert abs(float(resid / t)) < 1e-20  # root found in log form at the module's working precision


def test_p_c_lln_defined_through_small_d():
    vals = [float(A.p_c_lln(d)) for d in range(8, 17)]
    assert all(b > a for a, b in zip(vals, vals[1:]))
