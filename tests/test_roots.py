"""The root finders of capacity.solvers.roots: Brent against scipy.optimize.brentq, the integer regula falsi
against a brute-force scan."""
import math

import pytest
from numpy.testing import assert_allclose
from scipy.optimize import brentq

from capacity.exceptions import ConvergenceError
from capacity.solvers.roots import brent, integer_regula_falsi
from capacity.theory.decoupled import _p_leading


@pytest.mark.parametrize(
    "f, a, b",
    [
        (lambda x: x**3 - 2 * x - 5, 2.0, 3.0),
        (lambda x: math.exp(x) - 1e6, 0.0, 100.0),
        (lambda x: math.atan(x - 0.3), -50.0, 1e3),
        (lambda x: x**5 - 0.3, 0.0, 5.0),
        (lambda x: math.log(x) + x * x - 3.0, 0.01, 10.0),
    ],
)
def test_brent_matches_scipy(f, a, b):
    assert_allclose(brent(f, a, b, xtol=1e-14), brentq(f, a, b, xtol=1e-14), rtol=1e-12, atol=1e-12)


def test_brent_errors():
    with pytest.raises(ValueError, match="do not bracket"):
        brent(lambda x: x * x + 1, -1.0, 1.0)
    with pytest.raises(ConvergenceError):
        brent(lambda x: math.exp(x) - 1.5, 0.0, 10.0, xtol=0.0, rtol=0.0, maxiter=3)


def test_leading_order_lambert_w():
    from scipy.special import lambertw

    for n in (10.0, 1e4, 1e12, 1e24):
        y = n / 2
        assert_allclose(_p_leading(n), y / lambertw(y).real, rtol=1e-14)


def _scan(f, lo, hi):
    """Brute force: the first integer p in (lo, hi] with f(p) > 0, and its predecessor."""
    p = next(q for q in range(lo + 1, hi + 1) if f(q) > 0)
    return p - 1, p


@pytest.mark.parametrize(
    "f, lo, hi",
    [
        (lambda p: p * p - 50.0, 1, 100),
        (lambda p: p * math.log(p) - 1e6, 2, 10**7),
        (lambda p: math.tanh((p - 12345.5) / 1000.0), 0, 10**6),  # nearly flat far from the root
        (lambda p: -1.0 if p < 777 else 1e9, 3, 10**5),  # a step: regula falsi alone would crawl
        (lambda p: p - 10.0, 10, 11),  # f(lo) = 0 is allowed: f(lo) <= 0 < f(hi)
    ],
)
def test_integer_regula_falsi_matches_a_scan(f, lo, hi):
    calls = []

    def counted(p):
        assert isinstance(p, int)
        calls.append(p)
        return f(p)

    got = integer_regula_falsi(counted, lo, hi)
    assert got == _scan(f, lo, hi)
    assert len(calls) <= 2 + 3 * math.ceil(math.log2(hi - lo + 1))  # the bracket halves at least every third step


def test_integer_regula_falsi_raises_convergence_error():
    with pytest.raises(ConvergenceError, match="consecutive integers"):
        integer_regula_falsi(lambda p: -1.0 if p < 777 else 1e9, 0, 10**6, maxiter=3)
