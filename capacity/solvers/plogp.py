r"""The inverse of p ln p = c (no physics): p = c / W0(c), W0 the principal branch of Lambert W.

The leading-order capacities (p ln p = d^2/2 for the optimal memory, p ln p = c d^2
for the Hebbian one) and the bracket of the finite-size root search all need the
p > 1 solving p ln p = c; see docs/theory.md §8 ("The inverse of p ln p = c").
W0(c) is computed by Newton's method on w e^w = c in double precision, without
SciPy.  The arbitrary-precision counterpart lives in
:mod:`capacity.theory.asymptotics` (mpmath).

References
----------
R. M. Corless, G. H. Gonnet, D. E. G. Hare, D. J. Jeffrey, D. E. Knuth, "On the
Lambert W function", Adv. Comput. Math. 5 (1996) 329.
"""
import math

from .._validation import check_real

__all__ = ["inverse_p_log_p"]


def _lambert_w0(c):
    """W0(c) for c > 0 by Newton's method on w e^w = c (monotone from above after at most one step)."""
    if c > math.e:
        w = math.log(c) - math.log(math.log(c))  # the two-term expansion, a lower bound
    else:
        w = math.log1p(c)  # an upper bound of W0 on c >= 0
    for _ in range(50):
        step = (w - c * math.exp(-w)) / (1.0 + w)
        w -= step
        if abs(step) <= 1e-15 * w:
            break
    return w


def inverse_p_log_p(c):
    """The p > 1 solving p ln p = c, for c > 0: p = c / W0(c).

    Parameters
    ----------
    c : float
        Right-hand side, ``0 < c < inf`` (TypeError / ValueError naming `c` otherwise).

    Returns
    -------
    float
        p = c / W0(c); relative error ~1e-16 (agrees with ``scipy.special.lambertw``
        to a few ulp).

    Notes
    -----
    docs/theory.md §8.  Newton's iteration for w e^w = c starts from
    ln c - ln ln c (c > e) or ln(1 + c) (c <= e) and stops when the step is below
    1e-15 w.

    Examples
    --------
    >>> p = inverse_p_log_p(50.0)
    >>> round(p * math.log(p), 12)
    50.0
    >>> inverse_p_log_p(math.e) == math.e
    True
    """
    c = check_real("c", c, low=0.0, low_open=True)
    return float(c / _lambert_w0(c))
