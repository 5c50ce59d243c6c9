r"""Gauss quadrature rules for expectations over simple laws (no physics).

Every rule returns ``(nodes, weights)`` as NumPy arrays.  The rules for laws
(:func:`normal_panels`, :func:`sphere_coordinate_panels`,
:func:`sphere_coordinate_jacobi`, :func:`normal_hermite`, :func:`gamma_rule`,
:func:`gamma_rule_moments`) have weights normalised to sum 1, so that
``sum(w * f(x))`` is E f(X); :func:`legendre_panels` integrates over an interval.
They are the rules of docs/theory.md §8 ("Quadrature rules"), used by the
Hebbian theory (:mod:`capacity.theory.hebbian`).

References
----------
G. H. Golub, J. H. Welsch, "Calculation of Gauss quadrature rules", Math. Comp. 23 (1969) 221.
E. B. Wilson, M. M. Hilferty, "The distribution of chi-square", PNAS 17 (1931) 684.
"""
import math

import numpy as np

__all__ = [
    "legendre_panels",
    "normal_panels",
    "sphere_coordinate_panels",
    "sphere_coordinate_jacobi",
    "normal_hermite",
    "gamma_rule",
    "gamma_rule_moments",
]


def legendre_panels(lo, hi, n_panels, order):
    """Composite Gauss-Legendre rule on [lo, hi]: ``n_panels`` equal panels of ``order`` points each.

    The weights sum to hi - lo (an integral, not an expectation).

    Examples
    --------
    >>> x, w = legendre_panels(0.0, 2.0, 4, 3)
    >>> x.size, round(float(np.sum(w * x**5)), 12)    # exact for polynomials of degree <= 5
    (12, 10.666666666667)
    """
    x, w = np.polynomial.legendre.leggauss(order)
    edges = np.linspace(lo, hi, n_panels + 1)
    half = 0.5 * np.diff(edges)
    mid = 0.5 * (edges[1:] + edges[:-1])
    nodes = (mid[:, None] + half[:, None] * x[None, :]).ravel()
    weights = (half[:, None] * w[None, :]).ravel()
    return nodes, weights


def normal_panels(n_panels, order, z_max):
    """Standard normal: composite Gauss-Legendre on [-z_max, z_max] times the density (weights sum to 1).

    Examples
    --------
    >>> z, w = normal_panels(24, 6, 9.0)
    >>> round(float(np.sum(w * z**2)), 12)
    1.0
    """
    z, w = legendre_panels(-z_max, z_max, n_panels, order)
    w = w * np.exp(-0.5 * z * z)
    return z, w / w.sum()


def sphere_coordinate_panels(d, n_panels, order, z_max):
    """A coordinate c of a uniform point of S^{d-1} (density ~ (1 - c^2)^((d-3)/2)), as c = sin(theta).

    Composite Gauss-Legendre in theta on |theta| <= min(pi/2, (z_max + 0.5)/sqrt(d - 2)),
    i.e. out to about z_max standard deviations of sqrt(d) c; weights sum to 1.

    Examples
    --------
    >>> c, w = sphere_coordinate_panels(20, 24, 6, 9.0)
    >>> round(float(np.sum(w * c**2)), 12)      # E c^2 = 1/d
    0.05
    """
    tmax = min(0.5 * math.pi, (z_max + 0.5) / math.sqrt(max(d - 2.0, 1.0)))
    th, w = legendre_panels(-tmax, tmax, n_panels, order)
    logw = (d - 2.0) * np.log(np.cos(th)) if d > 2 else np.zeros_like(th)
    w = w * np.exp(logw - logw.max())
    return np.sin(th), w / w.sum()


def sphere_coordinate_jacobi(d, n):
    """A coordinate of a uniform point of S^{d-1}: Gauss-Jacobi with parameters ((d-3)/2, (d-3)/2), weights sum 1.

    Examples
    --------
    >>> c, w = sphere_coordinate_jacobi(7, 6)
    >>> round(float(np.sum(w * c**2)), 12)      # E c^2 = 1/d
    0.142857142857
    """
    from scipy import special

    x, w = special.roots_jacobi(n, 0.5 * (d - 3.0), 0.5 * (d - 3.0))
    return x, w / w.sum()


def normal_hermite(n):
    """Standard normal: probabilists' Gauss-Hermite with weights normalised to sum 1.

    Examples
    --------
    >>> z, w = normal_hermite(4)
    >>> round(float(np.sum(w * z**4)), 12)     # E z^4 = 3
    3.0
    """
    from scipy import special

    x, w = special.roots_hermitenorm(n)
    return x, w / w.sum()


def gamma_rule(k, scale, n):
    """Gauss rule for Gamma(shape k, scale) (weights sum to 1).

    Generalised Gauss-Laguerre for k <= 50; above, Gauss-Hermite in the
    Wilson-Hilferty variable z (X = k (1 - c + z sqrt(c))^3, c = 1/(9k), nearly normal)
    with the exact density ratio in the weights.

    Examples
    --------
    >>> x, w = gamma_rule(3.0, 2.0, 8)
    >>> round(float(np.sum(w * x)), 12), round(float(np.sum(w * x * x)), 12)   # k s, k (k + 1) s^2
    (6.0, 48.0)
    """
    from scipy import special

    if k <= 50.0:
        x, w = special.roots_genlaguerre(n, k - 1.0)
        return x * scale, w / w.sum()
    z, w = special.roots_hermitenorm(n)
    c = 1.0 / (9.0 * k)
    y = 1.0 - c + z * math.sqrt(c)
    x = k * y**3
    logr = (k - 1.0) * np.log(x) - x + 2.0 * np.log(y) + 0.5 * z * z
    w = w * np.exp(logr - logr.max())
    return x * scale, w / w.sum()


def gamma_rule_moments(mean, var, n):
    """:func:`gamma_rule` for the Gamma law with the given mean and variance (shape mean^2/var, scale var/mean).

    Examples
    --------
    >>> x, w = gamma_rule_moments(2.0, 0.5, 10)
    >>> round(float(np.sum(w * x)), 12), round(float(np.sum(w * (x - 2.0) ** 2)), 12)
    (2.0, 0.5)
    """
    return gamma_rule(mean * mean / var, var / mean, n)
