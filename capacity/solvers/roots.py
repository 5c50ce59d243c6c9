"""Scalar root finding for the theory's monotone equations (no physics here).

- :func:`brent`: a small Brent method (inverse quadratic interpolation guarded by
  bisection; R. P. Brent, *Algorithms for Minimization without Derivatives*, 1973,
  ch. 4) so that importing :mod:`capacity` does not pull in ``scipy.optimize`` --
  the command line answers in well under a second.  Tested against
  ``scipy.optimize.brentq``.
- :func:`integer_regula_falsi`: the sign change of a function evaluated only at
  integers (regula falsi falling back to bisection), for Monte Carlo functions
  that are only meaningful there.

See docs/theory.md §8 ("Root finding").
"""
import math

from .._validation import check_callable, check_int, check_real
from ..exceptions import ConvergenceError

__all__ = ["brent", "integer_regula_falsi"]


def brent(f, a, b, *, xtol=1e-12, rtol=4 * 2.220446049250313e-16, maxiter=200):
    """Root of ``f`` in the bracket ``[a, b]`` (``f(a)`` and ``f(b)`` of opposite signs).

    Converges to ``|x - root| <= xtol + rtol |x|``.  Raises ``ValueError`` if the
    bracket does not bracket and :class:`ConvergenceError` after ``maxiter``
    iterations.
    """
    check_callable("f", f)
    a, b = check_real("a", a), check_real("b", b)
    xtol = check_real("xtol", xtol, low=0.0)
    rtol = check_real("rtol", rtol, low=0.0)
    maxiter = check_int("maxiter", maxiter, low=1)
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


def integer_regula_falsi(f, lo, hi, *, maxiter=200):
    """Consecutive integers ``lo' < hi'`` with ``f(lo') <= 0 < f(hi')``, from an integer bracket.

    Parameters
    ----------
    f : callable
        Called on Python ints only.
    lo, hi : int
        A bracket: ``lo < hi``, ``f(lo) <= 0 < f(hi)`` (not checked).
    maxiter : int
        Largest number of evaluations inside the bracket.

    Returns
    -------
    (int, int)

    Raises
    ------
    ConvergenceError
        If the bracket has not shrunk to consecutive integers after ``maxiter`` steps.

    Notes
    -----
    Regula falsi on the integers (the secant point, rounded and kept strictly inside
    the bracket); when the same end moves twice in a row the next step bisects, so
    the bracket at least halves every third step (docs/theory.md §8).

    Examples
    --------
    >>> integer_regula_falsi(lambda p: p * p - 50, 1, 100)
    (7, 8)
    """
    check_callable("f", f)
    lo, hi = check_int("lo", lo), check_int("hi", hi)
    if not lo < hi:
        raise ValueError(f"`lo` must be < `hi`; got lo = {lo}, hi = {hi}")
    maxiter = check_int("maxiter", maxiter, low=1)
    flo, fhi = f(lo), f(hi)
    kept = 0  # +1: lo moved last time, -1: hi moved last time
    stalled = False
    for _ in range(maxiter):
        if hi - lo <= 1:
            return lo, hi
        if stalled:
            p = (lo + hi) // 2
        else:
            p = int(round(lo + (-flo) / (fhi - flo) * (hi - lo)))
        p = min(hi - 1, max(lo + 1, p))
        fp = f(p)
        moved = 1 if fp <= 0.0 else -1
        stalled = moved == kept and not stalled
        kept = moved
        if fp <= 0.0:
            lo, flo = p, fp
        else:
            hi, fhi = p, fp
    raise ConvergenceError(f"integer_regula_falsi: no pair of consecutive integers after {maxiter} steps "
                           f"(bracket [{lo}, {hi}])")
