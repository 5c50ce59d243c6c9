r"""Large-K asymptotics of the decoupled capacity (docs/theory.md §4).  mpmath lives here.

Three levels, each a function of K (or of d for the inversion):

1. **Leading order.**  E dist^2 ~ 2 ln K, hence p ln p / d^2 -> 1/2 and
   p_c ~ (d^2/2) / W0(d^2/2)  (Lambert W).

2. **Law of large numbers (LLN) form** — the sharp implicit approximation.
   For large K the optimal level t* of (T2) is nearly deterministic
   (dt*/dz_0 = 1/(1 + N_t) = O(1/ln K)), so replacing the competitor sums by their
   means gives

       t + kappa = K Psi(-t),                                   (A1)
       E dist^2 ~ (t + kappa)^2 + 1 + K E(z - t)_+^2,           (A2)

   where the "+1" is E z_0^2 from expanding the cost around z_0 = 0 (the cost's
   second derivative in z_0 is 2(1 - dt*/dz_0) -> 2).  The neglected terms are
   the Poisson fluctuations of the O(ln K) active competitors, which enter at
   relative order 1/t^2, i.e. the error is O(1/ln K).  Measured against the exact
   solver (``benchmarks/table_asymptotics.py``): (E - E_LLN) ln K lies in
   [-2.1, -1.6] for K in [1e3, 1e30] at kappa = 0.

3. **Explicit next order** (closed form).  With L = 2 ln K, expanding (A1) with
   Psi(-t) ~ phi(t)/t^2 gives t^2 = L - ln 2pi - 4 ln t - 2 ln(t + kappa); one
   fixed-point step from t0 = sqrt(L) gives t1, and from (A2), since
   K E(z-t)_+^2 ~ 2 K phi(t)/t^3 = 2 (t + kappa)/t,

       E dist^2 = (t1 + kappa)^2 + 3 + 2 kappa / t1 + O(ln L / L),

   which at kappa = 0 is 2 ln K - 3 ln ln K + c with the constant
   **c = 3 - 3 ln 2 - ln(2 pi) = -0.91735...** derived, not fitted.  The error is
   dominated by the ln ln K / ln K correction of t1 (observed: 1.0 at K = 1e3,
   0.50 at K = 1e12).

Inversion d -> p_c to the same order, in closed form: writing E(p) = 2 ln p - A(p)
with A slowly varying, p E(p) = d^2 becomes q ln q = y with q = p e^{-A/2},
y = (d^2/2) e^{-A/2}.  Every such inversion uses the one solution of p ln p = c,
p = c / W0(c) (docs/theory.md §8; :func:`capacity.solvers.plogp.inverse_p_log_p`
in double precision, ``_inverse_p_log_p`` below in mpmath), so

    p_c = (d^2/2) / W0( (d^2/2) e^{-A(p_0)/2} ),   p_0 = (d^2/2) / W0(d^2/2).

Since E < 2 ln p for large p, p_c ln p_c / d^2 = ln p_c / E -> 1/2 from above,
with relative excess ~ 3 ln ln p / (2 ln p).

All functions accept K or d as float, int, str (e.g. "1e1000") or mpmath
numbers, compute with ``mpmath.workdps(30)``, and return ``mpmath.mpf`` when
``mp=True`` (needed beyond float range) or a float otherwise.

References
----------
Giorlandino, Goldt, Maillard, arXiv:2605.10795 (p_c log p_c / d^2 -> 1/2).
"""
import mpmath

__all__ = [
    "C_NEXT",
    "dist2_leading",
    "dist2_lln",
    "dist2_next",
    "lln_level",
    "p_c_leading",
    "p_c_next",
    "p_c_lln",
]

_DPS = 30


def _mpf_arg(name, value, low):
    if isinstance(value, bool) or value is None:  # strings are allowed: "1e1000" is past a float
        raise TypeError(f"`{name}` must be a real number; got {value!r} of type {type(value).__name__}")
    try:
        x = mpmath.mpf(value)
    except (TypeError, ValueError):
        raise TypeError(f"`{name}` must be a real number; got {value!r}") from None
    if not mpmath.isfinite(x) or x < low:
        raise ValueError(f"`{name}` must be finite and >= {low:g}; got {value!r}")
    return x


def _kappa_arg(kappa):
    return _mpf_arg("kappa", kappa, 0.0)


def _out(x, mp):
    return x if mp else float(x)


with mpmath.workdps(_DPS):
    #: The constant of the next-order expansion E = 2 ln K - 3 ln ln K + C_NEXT (kappa = 0).
    C_NEXT = float(3 - 3 * mpmath.log(2) - mpmath.log(2 * mpmath.pi))


def dist2_leading(K, *, mp=False):
    """Leading order E dist^2 ~ 2 ln K (relative error O(ln ln K / ln K); docs/theory.md §4).

    Examples
    --------
    >>> round(dist2_leading(1e6), 6)
    27.631021
    """
    with mpmath.workdps(_DPS):
        K = _mpf_arg("K", K, 2.0)
        return _out(2 * mpmath.log(K), mp)


def _next_level(K, kappa):
    big_l = 2 * mpmath.log(K)
    t0 = mpmath.sqrt(big_l)
    t1sq = big_l - mpmath.log(2 * mpmath.pi) - 4 * mpmath.log(t0) - 2 * mpmath.log(t0 + kappa)
    if t1sq <= 0:
        raise ValueError(
            f"`K` = {mpmath.nstr(K, 6)} is too small for the next-order expansion at kappa = "
            f"{mpmath.nstr(kappa, 6)} (its level equation has no solution; K >= 60 is needed at kappa = 0)"
        )
    return mpmath.sqrt(t1sq)


def dist2_next(K, *, kappa=0.0, mp=False):
    """Explicit next-order expansion (t1 + kappa)^2 + 3 + 2 kappa / t1 (error O(ln ln K / ln K); docs/theory.md §4).

    At kappa = 0 this is 2 ln K - 3 ln(2 ln K) - ln(2 pi) + 3 = 2 ln K - 3 ln ln K + C_NEXT.

    Examples
    --------
    >>> import math
    >>> K = 1e9
    >>> abs(dist2_next(K) - (2*math.log(K) - 3*math.log(math.log(K)) + C_NEXT)) < 1e-12
    True
    """
    with mpmath.workdps(_DPS):
        K = _mpf_arg("K", K, 30.0)
        kappa = _kappa_arg(kappa)
        t1 = _next_level(K, kappa)
        return _out((t1 + kappa) ** 2 + 3 + 2 * kappa / t1, mp)


def _psi_neg(t):
    """Psi(-t) = phi(t) - t sf(t) = E (z - t)_+ (mpmath, no cancellation at working precision)."""
    return mpmath.npdf(t) - t * mpmath.ncdf(-t)


def lln_level(K, *, kappa=0.0, mp=False):
    """The LLN level t solving t + kappa = K Psi(-t) (A1; docs/theory.md §4).

    Examples
    --------
    >>> round(lln_level(1e6), 6)   # the level sits near the top of 1e6 Gaussians
    4.122525
    """
    with mpmath.workdps(_DPS):
        K = _mpf_arg("K", K, 1.0)
        kappa = _kappa_arg(kappa)
        try:  # the explicit next-order level is a good start where its equation has a solution
            guess = _next_level(K, kappa)
        except ValueError:
            guess = mpmath.mpf(1)
        # t + kappa - K Psi(-t) is increasing in t; solve in log form for stability
        f = lambda t: mpmath.log(t + kappa) - mpmath.log(K) - mpmath.log(_psi_neg(t))  # noqa: E731
        lo = mpmath.mpf("1e-6") - kappa if kappa > 0 else mpmath.mpf("1e-6")
        hi = guess + 2
        while f(hi) < 0:
            hi *= 2
        lo = max(lo, mpmath.mpf("-1e3"))
        t = mpmath.findroot(f, (lo, hi), solver="anderson", tol=mpmath.mpf(10) ** (-_DPS + 5))
        return _out(t, mp)


def dist2_lln(K, *, kappa=0.0, mp=False):
    """Sharp implicit (LLN) approximation (A2): (t + kappa)^2 + 1 + K E(z - t)_+^2, error O(1/ln K).

    docs/theory.md §4.

    Examples
    --------
    >>> abs(dist2_lln(1e12) - 44.9504) < 1e-3
    True
    """
    with mpmath.workdps(_DPS):
        K = _mpf_arg("K", K, 1.0)
        kappa = _kappa_arg(kappa)
        t = lln_level(K, kappa=kappa, mp=True)
        second = (1 + t * t) * mpmath.ncdf(-t) - t * mpmath.npdf(t)
        return _out((t + kappa) ** 2 + 1 + K * second, mp)


def _inverse_p_log_p(c):
    """The p > 1 solving p ln p = c in mpmath: p = c / W0(c) (docs/theory.md §8)."""
    return c / mpmath.lambertw(c).real


def _d2_arg(d):
    d = _mpf_arg("d", d, 2.0)
    return d * d / 2


def p_c_leading(d, *, mp=False):
    """Leading-order capacity: p ln p = d^2 / 2, i.e. p = (d^2/2) / W0(d^2/2) (docs/theory.md §4).

    Examples
    --------
    >>> round(p_c_leading(100), 3)
    754.584
    """
    with mpmath.workdps(_DPS):
        y = _d2_arg(d)
        return _out(_inverse_p_log_p(y), mp)


def p_c_next(d, *, kappa=0.0, mp=False):
    """Closed-form next-order inversion of p E(p - 1, kappa) = d^2 (see module notes; docs/theory.md §4).

    Uses E = 2 ln p - A(p) with A from :func:`dist2_next` evaluated at the
    leading-order p_0, then p = e^{A/2} q with q ln q = (d^2/2) e^{-A/2}, i.e.
    p = (d^2/2) / W0((d^2/2) e^{-A/2}).

    Examples
    --------
    >>> 1100 < p_c_next(100) < 1300
    True
    """
    with mpmath.workdps(_DPS):
        y = _d2_arg(d)
        kappa = _kappa_arg(kappa)
        p0 = _inverse_p_log_p(y)
        try:
            a = 2 * mpmath.log(p0) - dist2_next(p0 - 1, kappa=kappa, mp=True)
        except ValueError:
            raise ValueError(f"`d` = {d!r} is too small for the next-order inversion (d >= 24 is needed)") from None
        return _out(mpmath.exp(a / 2) * _inverse_p_log_p(y * mpmath.exp(-a / 2)), mp)


def p_c_lln(d, *, kappa=0.0, mp=False):
    """p solving p E_LLN(p - 1, kappa) = d^2 (the implicit LLN form, error O(1/ln d); docs/theory.md §4)."""
    with mpmath.workdps(_DPS):
        y = _d2_arg(d)
        kappa = _kappa_arg(kappa)
        d2 = 2 * y
        p0 = _inverse_p_log_p(y)
        f = lambda lp: lp + mpmath.log(dist2_lln(mpmath.exp(lp) - 1, kappa=kappa, mp=True)) - mpmath.log(d2)  # noqa: E731
        lp = mpmath.findroot(f, mpmath.log(p0) + mpmath.mpf("0.3"), tol=mpmath.mpf(10) ** (-_DPS + 8))
        return _out(mpmath.exp(lp), mp)
