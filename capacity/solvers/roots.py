"""Scalar root finding for the theory's monotone equations (no physics here).

A small Brent method (inverse quadratic interpolation guarded by bisection;
R. P. Brent, *Algorithms for Minimization without Derivatives*, 1973, ch. 4)
so that importing :mod:`capacity` does not pull in ``scipy.optimize`` — the
command line answers in well under a second.  Tested against
``scipy.optimize.brentq``.
"""
import math

from ..exceptions import ConvergenceError

__all__ = ["brent"]


def brent(f, a, b, *, xtol=1e-12, rtol=4 * 2.220446049250313e-16, maxiter=200):
    """Root of ``f`` in the bracket ``[a, b]`` (``f(a)`` and ``f(b)`` of opposite signs).

    Converges to ``|x - root| <= xtol + rtol |x|``.  Raises ``ValueError`` if the
    bracket does not bracket and :class:`ConvergenceError` after ``maxiter``
    iterations.
    """
    fa, fb = f(a), f(b)
    if fa == 0.0:
        return a
    if fb == 0.0:
        return b
    if (fa > 0) == (fb > 0):
        raise ValueError(f"brent: f(a) = {fa:g} and f(b) = {fb:g} do not bracket a root in [{a:g}, {b:g}]")
    c, fc = a, fa
    d = e = b - a
    for _ in range(maxiter):
        if (fb > 0) == (fc > 0):
            c, fc = a, fa
            d = e = b - a
        if abs(fc) < abs(fb):
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol = 2.0 * rtol * abs(b) + 0.5 * xtol
        m = 0.5 * (c - b)
        if abs(m) <= tol or fb == 0.0:
            return b
        if abs(e) >= tol and abs(fa) > abs(fb):
            s = fb / fa
            if a == c:  # secant
                p = 2.0 * m * s
                q = 1.0 - s
            else:  # inverse quadratic interpolation
                q = fa / fc
                r = fb / fc
                p = s * (2.0 * m * q * (q - r) - (b - a) * (r - 1.0))
                q = (q - 1.0) * (r - 1.0) * (s - 1.0)
            if p > 0:
                q = -q
            else:
                p = -p
            if 2.0 * p < min(3.0 * m * q - abs(tol * q), abs(e * q)):
                e, d = d, p / q
            else:
                d = e = m
        else:
            d = e = m
        a, fa = b, fb
        b += d if abs(d) > tol else math.copysign(tol, m)
        fb = f(b)
    raise ConvergenceError(f"brent: no convergence in {maxiter} iterations (bracket [{b:g}, {c:g}])")
