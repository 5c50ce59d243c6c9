"""Gauss rules of capacity.solvers.quadrature against closed-form moments, numpy's own Gauss rules, mpmath
and scipy.integrate.quad (independent references)."""
import math

import mpmath
import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import integrate, special

from capacity.solvers import quadrature as Q


def _sphere_density(d):
    """Density of one coordinate of a uniform point of S^{d-1}: (1 - c^2)^((d-3)/2) / B(1/2, (d-1)/2)."""
    norm = math.exp(special.betaln(0.5, 0.5 * (d - 1.0)))
    return lambda c: (1.0 - c * c) ** (0.5 * (d - 3.0)) / norm


def test_legendre_panels_integrate_polynomials_and_exp():
    x, w = Q.legendre_panels(-1.5, 2.5, 7, 5)
    assert x.size == w.size == 35
    assert_allclose(np.sum(w), 4.0, rtol=1e-15)
    # 5 points per panel: exact up to degree 9
    assert_allclose(np.sum(w * x**9), (2.5**10 - 1.5**10) / 10, rtol=1e-13)
    assert_allclose(np.sum(w * np.exp(x)), math.exp(2.5) - math.exp(-1.5), rtol=1e-12)
    # one panel is numpy's own Gauss-Legendre rule
    x1, w1 = Q.legendre_panels(-1.0, 1.0, 1, 6)
    xr, wr = np.polynomial.legendre.leggauss(6)
    assert_allclose(x1, xr, atol=1e-15)
    assert_allclose(w1, wr, atol=1e-15)


def test_normal_panels_moments_and_a_smooth_expectation():
    z, w = Q.normal_panels(24, 6, 9.0)
    assert_allclose(np.sum(w), 1.0, rtol=1e-15)
    assert_allclose([np.sum(w * z), np.sum(w * z**2), np.sum(w * z**4)], [0.0, 1.0, 3.0], rtol=1e-13, atol=1e-15)
    assert_allclose(np.sum(w * np.cos(z)), math.exp(-0.5), rtol=1e-13)  # E cos Z = e^{-1/2}
    # E Phi(2Z - 1) = Phi(-1/sqrt 5), checked in mpmath too; 2.4e-11 is the rule's own error here
    with mpmath.workdps(30):
        ref = mpmath.quad(lambda t: mpmath.npdf(t) * mpmath.ncdf(2 * t - 1), [-mpmath.inf, 0.5, mpmath.inf])
    assert_allclose(float(ref), special.ndtr(-1 / math.sqrt(5)), rtol=1e-15)
    assert_allclose(np.sum(w * special.ndtr(2 * z - 1)), float(ref), rtol=5e-11)


@pytest.mark.parametrize("d", [3, 5, 20, 400])
def test_sphere_coordinate_rules_match_the_beta_law(d):
    dens = _sphere_density(d)
    f = lambda c: np.exp(3.0 * c) * (1.0 + c)  # noqa: E731  (smooth, not a polynomial)
    ref, _ = integrate.quad(lambda c: f(c) * dens(c), -1.0, 1.0, epsabs=1e-15, epsrel=1e-13, limit=200)
    for c, w in (Q.sphere_coordinate_panels(d, 24, 6, 9.0), Q.sphere_coordinate_jacobi(d, 12)):
        assert np.all(np.abs(c) <= 1.0)
        assert_allclose(np.sum(w), 1.0, rtol=1e-14)
        # E c^2 = 1/d, E c^4 = 3/(d(d+2))
        assert_allclose([np.sum(w * c * c), np.sum(w * c**4)], [1.0 / d, 3.0 / (d * (d + 2))], rtol=1e-13)
        assert_allclose(np.sum(w * f(c)), ref, rtol=1e-10)


def test_sphere_coordinate_jacobi_is_scipys_rule_normalised():
    c, w = Q.sphere_coordinate_jacobi(9, 7)
    xr, wr = special.roots_jacobi(7, 3.0, 3.0)
    assert_allclose(c, xr, rtol=1e-15)
    assert_allclose(w, wr / wr.sum(), rtol=1e-14)


def test_normal_hermite_against_numpy_hermite_e():
    z, w = Q.normal_hermite(9)
    xr, wr = np.polynomial.hermite_e.hermegauss(9)
    assert_allclose(z, xr, atol=1e-14)
    assert_allclose(w, wr / math.sqrt(2.0 * math.pi), rtol=1e-13)
    assert_allclose([np.sum(w * z**2), np.sum(w * z**8)], [1.0, 105.0], rtol=1e-13)


@pytest.mark.parametrize("k, n, rtol_smooth", [(0.7, 8, 1e-5), (3.0, 8, 1e-10), (50.0, 10, 1e-13),
                                               (60.0, 16, 1e-13), (500.0, 16, 1e-13), (1e4, 10, 1e-12)])
def test_gamma_rule_moments_and_a_non_polynomial(k, n, rtol_smooth):
    scale = 0.37
    x, w = Q.gamma_rule(k, scale, n)
    assert np.all(x > 0)
    assert_allclose(np.sum(w), 1.0, rtol=1e-15)
    # E X = k s, E X^2 = k (k + 1) s^2, E X^3 = k (k + 1) (k + 2) s^3
    assert_allclose(np.sum(w * x), k * scale, rtol=1e-13)
    assert_allclose(np.sum(w * x**2), k * (k + 1) * scale**2, rtol=1e-13)
    assert_allclose(np.sum(w * x**3), k * (k + 1) * (k + 2) * scale**3, rtol=1e-12)
    # a smooth non-polynomial: E exp(-t X) = (1 + t s)^(-k) at t = 1/(k s); the Laguerre rule is least
    # accurate for a small shape (measured 2.3e-6 at k = 0.7, n = 8)
    t = 1.0 / (k * scale)
    assert_allclose(np.sum(w * np.exp(-t * x)), (1.0 + t * scale) ** (-k), rtol=rtol_smooth)
    if k >= 50:  # the Wilson-Hilferty branch: E sqrt(X) = sqrt(s) Gamma(k + 1/2) / Gamma(k) (mpmath)
        with mpmath.workdps(30):
            ref = float(mpmath.sqrt(scale) * mpmath.gamma(k + 0.5) / mpmath.gamma(k))
        assert_allclose(np.sum(w * np.sqrt(x)), ref, rtol=1e-12)


def test_gamma_rule_from_moments():
    x, w = Q.gamma_rule_moments(2.5, 0.4, 12)
    assert_allclose(np.sum(w * x), 2.5, rtol=1e-13)
    assert_allclose(np.sum(w * (x - 2.5) ** 2), 0.4, rtol=1e-12)
    x2, w2 = Q.gamma_rule(2.5**2 / 0.4, 0.4 / 2.5, 12)
    assert_allclose(x, x2, rtol=1e-15)
    assert_allclose(w, w2, rtol=1e-15)
