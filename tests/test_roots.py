"""The internal Brent root finder against scipy.optimize.brentq."""
import math

import pytest
from numpy.testing import assert_allclose
from scipy.optimize import brentq

from capacity.exceptions import ConvergenceError
from capacity.solvers.roots import brent
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
