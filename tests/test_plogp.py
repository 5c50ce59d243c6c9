"""The inverse of p ln p = c (capacity.solvers.plogp) against scipy.special.lambertw and mpmath."""
import math

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from scipy.special import lambertw

from capacity.solvers.plogp import inverse_p_log_p

CS = np.concatenate([np.logspace(-12, 300, 400), [0.5, 1.0, math.e - 1e-9, math.e, math.e + 1e-9, 3.0, 50.0]])


def test_matches_scipy_lambertw():
    got = np.array([inverse_p_log_p(float(c)) for c in CS])
    ref = CS / lambertw(CS).real
    assert_allclose(got, ref, rtol=5e-16)  # a few ulp


@pytest.mark.parametrize("c", ["1e-12", "0.3", "2.718281828459045", "3.5", "1e4", "3.2e9", "1e150", "1e300"])
def test_matches_mpmath_at_50_digits(c):
    with mpmath.workdps(50):
        x = mpmath.mpf(c)
        ref = x / mpmath.lambertw(x).real
    assert_allclose(inverse_p_log_p(float(c)), float(ref), rtol=4e-16)


@given(c=st.floats(1e-6, 1e300))
def test_solves_p_log_p(c):
    p = inverse_p_log_p(c)
    assert p > 1.0
    assert_allclose(p * math.log(p), c, rtol=1e-14 + 2e-16 / math.log(p))  # ln p loses digits as p -> 1


def test_known_values():
    assert_allclose(inverse_p_log_p(math.e), math.e, rtol=1e-15)  # W0(e) = 1
    assert_allclose(inverse_p_log_p(2 * math.log(2)), 2.0, rtol=1e-15)
    assert_allclose(inverse_p_log_p(1e6 * math.log(1e6)), 1e6, rtol=1e-15)
