r"""Gardner capacity of the decoupled linear associative memory, exact at finite K.

The equations are those of docs/theory.md §2 (and §3 for the max margin).  Per input, the K+1 fields
(h_0 correct, h_1..h_K competitors) must lie in
C_kappa = {h : h_0 - h_k >= kappa for all k}; the replica-symmetric Gardner
computation gives (docs/theory.md §2, eq. (T1))

    1 / alpha_c(K, kappa) = E_z dist^2(z, C_kappa),   z ~ N(0, I_{K+1}),

and the finite-size prediction for a memory with N trainable parameters is
the p solving (T3) p = N * alpha_c(p - 1, kappa).  The root searches call
:func:`capacity.solvers.roots.brent`, and the leading-order p solving p ln p = N/2
comes from :func:`capacity.solvers.plogp.inverse_p_log_p`.

Accuracy: E dist^2 is computed by :mod:`capacity.solvers.dist2` to a relative
error below 1e-10 for K in [1, 1e15] and kappa in [0, 10] (tested against
closed forms at K = 1, 2, against an independent mpmath evaluation of the
tilted-contour route of (T4), and against Monte Carlo); it keeps working, with
the same error estimate, up to K = 1e30 and kappa = 50.

References
----------
E. Gardner, J. Phys. A 21 (1988) 257.
Giorlandino, Goldt, Maillard, "Factual recall in linear associative memories:
sharp asymptotics and mechanistic insights", arXiv:2605.10795.
"""
import math

import numpy as np

from .._validation import check_real
from ..exceptions import ConvergenceError
from ..results import CapacityResult, DminResult, Dist2Result
from ..solvers import dist2 as _k
from ..solvers.plogp import inverse_p_log_p
from ..solvers.roots import brent

__all__ = [
    "K_MAX",
    "KAPPA_MAX",
    "solve_dist2",
    "expected_dist2",
    "alpha_c",
    "solve_p_c",
    "p_c",
    "solve_d_min",
    "d_min",
    "kappa_star",
]

#: Largest K accepted by the decoupled E dist^2 solver (verified to 1e-10 up to 1e15; it runs to here).
K_MAX = 1e30
#: Largest margin accepted (verified to 1e-10 up to 10).
KAPPA_MAX = 50.0

_ABSTOL_REL = 1e-12  # Gauss-Kronrod target relative to the size of E
_MAX_INTERVALS = 400

_MESSAGES = {
    _k.STATUS_OK: "converged",
    _k.STATUS_MAXITER: "adaptive quadrature ran out of intervals before reaching the tolerance",
    _k.STATUS_NONFINITE: "non-finite integrand",
}


def _dist2_iv(K, kappa):
    K = check_real("K", K, low=1.0, high=K_MAX)
    kappa = check_real("kappa", kappa, low=0.0, high=KAPPA_MAX)
    return K, kappa


def _solve(K, kappa):
    # absolute tolerance on the s-integral, scaled to the size of the answer
    scale = 1.0 + 2.0 * math.log1p(K) + kappa * kappa
    value, abserr, nodes, status = _k.expected_dist2_kernel(K, kappa, _ABSTOL_REL * scale, _MAX_INTERVALS)
    ok = status == _k.STATUS_OK and math.isfinite(value) and value > 0.0 and abserr <= 1e-9 * value
    if status == _k.STATUS_OK and not ok:
        status = _k.STATUS_NONFINITE if not math.isfinite(value) else _k.STATUS_MAXITER
    return Dist2Result(
        K=K,
        kappa=kappa,
        expected_dist2=float(value),
        alpha_c=float(1.0 / value) if value > 0 else float("nan"),
        abserr=float(abserr),
        n_nodes=int(nodes),
        success=bool(ok),
        status=int(status),
        message=_MESSAGES.get(status, "unknown status"),
    )


def solve_dist2(K, *, kappa=0.0):
    """E dist^2(z, C_kappa) with its error estimate and solver status (docs/theory.md §2, eqs. (T1), (T4)).

    Parameters
    ----------
    K : float
        Number of competitors, real, ``1 <= K <= 1e30``.
    kappa : float
        Margin, ``0 <= kappa <= 50``.

    Returns
    -------
    Dist2Result
        ``expected_dist2``, ``alpha_c = 1/expected_dist2``, ``abserr``,
        ``success``/``status``/``message``.

    Notes
    -----
    docs/theory.md §2, eqs. (T1) and (T4); see :mod:`capacity.solvers.dist2` for the method.

    Examples
    --------
    >>> round(solve_dist2(2).expected_dist2, 12)   # exactly 5/6
    0.833333333333
    """
    K, kappa = _dist2_iv(K, kappa)
    return _solve(K, kappa)


def _checked(res):
    if not res.success:
        raise ConvergenceError(
            f"E dist^2 at K={res.K!r}, kappa={res.kappa!r}: {res.message} (abserr={res.abserr:.3g})"
        )
    return res.expected_dist2


def expected_dist2(K, *, kappa=0.0):
    """E_z dist^2(z, C_kappa), z ~ N(0, I_{K+1}) — the inverse Gardner load (docs/theory.md §2, eq. (T1)).

    Relative accuracy 1e-10 for ``1 <= K <= 1e15``, ``0 <= kappa <= 10``.
    Raises :class:`~capacity.exceptions.ConvergenceError` if the solver
    reports trouble; use :func:`solve_dist2` for the status instead.

    Examples
    --------
    >>> round(expected_dist2(1), 12)   # Gardner: alpha_c = 2 at kappa = 0
    0.5
    """
    return _checked(solve_dist2(K, kappa=kappa))


def alpha_c(K, *, kappa=0.0):
    """Gardner capacity alpha_c(K, kappa) = 1 / E dist^2(z, C_kappa) (docs/theory.md §2, eq. (T1)).

    Examples
    --------
    >>> round(alpha_c(1), 12), round(alpha_c(2), 12)
    (2.0, 1.2)
    """
    return 1.0 / expected_dist2(K, kappa=kappa)


def _p_leading(n_params):
    """Leading-order p solving p ln p = N / 2, i.e. p = (N/2) / W0(N/2) (NaN when that p < e; docs/theory.md §4)."""
    y = 0.5 * n_params
    if y <= math.e:
        return float("nan")
    return inverse_p_log_p(y)


def solve_p_c(d, *, kappa=0.0, n_params=None):
    """Finite-size capacity: the p solving p = N alpha_c(p - 1, kappa) (docs/theory.md §2, eq. (T3)).

    Parameters
    ----------
    d : float
        Embedding dimension (``d >= 1``; real values are allowed).
    kappa : float
        Normalised margin, ``0 <= kappa <= 50``.
    n_params : float, optional
        Number of trainable parameters N; default ``d**2`` (one d x d layer).
        Other architectures pass their own N (e.g. ``d*m`` for a frozen first
        layer of width m).

    Returns
    -------
    CapacityResult
        ``p_c``, ``K = p_c - 1``, ``alpha_c`` at that K,
        ``p_log_p_over_d2 = p_c ln p_c / d^2`` and the leading-order
        asymptotic ``p_leading = (N/2)/W0(N/2)``.

    Notes
    -----
    N alpha_c(p - 1) decreases in p, so the root is unique; it is bracketed
    at K >= 1 (p >= 2) and found by Brent's method to a relative 1e-12.  If
    even p = 2 is not storable (2 E(1, kappa) > N) a ValueError names the
    arguments.  At d = 10..20 the answer has p ln p / d^2 ~ 1, far from the
    asymptotic 1/2.

    Examples
    --------
    >>> r = solve_p_c(10)
    >>> 30 < r.p_c < 31
    True
    """
    d = check_real("d", d, low=1.0, high=1e12)
    kappa = check_real("kappa", kappa, low=0.0, high=KAPPA_MAX)
    n = d * d if n_params is None else check_real("n_params", n_params, low=0.0, low_open=True, high=1e24)
    e1 = _checked(_solve(1.0, kappa))
    if 2.0 * e1 > n:
        raise ValueError(
            f"no storable load: N = {n:g} parameters store fewer than 2 items at `kappa` = {kappa:g} "
            f"(need N >= 2 E(1, kappa) = {2 * e1:.6g})"
        )

    def f(p):
        return p * _checked(_solve(p - 1.0, kappa)) / n - 1.0

    if 2.0 * e1 == n:
        p = 2.0
    else:
        # bracket from the leading asymptotics: p E(p-1) ~ 2 p ln p, so p_c <= N/(2 ln p) is
        # close; expand geometrically until the sign changes
        guess = _p_leading(n)
        if not math.isfinite(guess) or guess < 2.0:
            guess = 3.0
        lo, hi = max(2.0, 0.5 * guess), max(3.0, 1.25 * guess)
        flo = f(lo)
        while flo > 0.0 and lo > 2.0:
            hi, lo = lo, max(2.0, 0.5 * lo)
            flo = f(lo)
        fhi = f(hi)
        while fhi < 0.0:
            lo, hi = hi, 2.0 * hi
            fhi = f(hi)
        if flo == 0.0:
            p = lo
        else:
            p = brent(f, lo, hi, xtol=1e-12 * hi, rtol=1e-13)
    K = p - 1.0
    e = _checked(_solve(K, kappa))
    return CapacityResult(
        d=d,
        kappa=kappa,
        n_params=n,
        p_c=float(p),
        K=float(K),
        alpha_c=float(1.0 / e),
        p_log_p_over_d2=float(p * math.log(p) / (d * d)),
        p_leading=_p_leading(n),
    )


def p_c(d, *, kappa=0.0, n_params=None):
    """Finite-size capacity p_c(d, kappa): the p solving p = N alpha_c(p - 1, kappa) (docs/theory.md §2, eq. (T3)).

    See :func:`solve_p_c` for parameters and the full result.

    Examples
    --------
    >>> round(p_c(16), 1)
    61.7
    """
    return solve_p_c(d, kappa=kappa, n_params=n_params).p_c


def solve_d_min(p, *, kappa=0.0):
    """Smallest dimension of a d x d memory that stores p facts (inverse of (T3); docs/theory.md §2), full result.

    p is storable in dimension d iff p <= d^2 alpha_c(p - 1, kappa), i.e.
    d >= d_c = sqrt(p E(p - 1, kappa)).  Returns a :class:`DminResult` with the
    real threshold ``d_c`` and the integer ``d_min = ceil(d_c)``.

    Examples
    --------
    >>> r = solve_d_min(62)
    >>> r.d_min
    17
    """
    p = check_real("p", p, low=2.0, high=1e24)
    kappa = check_real("kappa", kappa, low=0.0, high=KAPPA_MAX)
    res = _solve(p - 1.0, kappa)
    e = _checked(res)
    dc = math.sqrt(p * e)
    return DminResult(
        p=p,
        kappa=kappa,
        K=p - 1.0,
        d_c=float(dc),
        d_min=int(math.ceil(dc)),
        alpha_c=float(1.0 / e),
    )


def d_min(p, *, kappa=0.0):
    """Smallest integer d such that a d x d memory stores p facts: ceil(sqrt(p E(p - 1, kappa))).

    docs/theory.md §2 ("(T3) Finite-size self-consistency, and d_min").

    Examples
    --------
    >>> d_min(62), d_min(61)
    (17, 16)
    """
    return solve_d_min(p, kappa=kappa).d_min


def kappa_star(alpha, K):
    """Largest normalised margin at load alpha: the kappa solving alpha E(K, kappa) = 1 (docs/theory.md §3).

    Parameters
    ----------
    alpha : float
        Load p / N, ``0 < alpha <= alpha_c(K, 0)``.
    K : float
        Number of competitors, ``K >= 1``.

    Notes
    -----
    E(K, kappa) increases in kappa and, by Jensen's inequality applied to the
    convex dist^2, E(K, kappa) >= dist^2(0, C_kappa) = kappa^2 K / (K + 1), which
    brackets the root.  Solved by Brent's method to 1e-12.

    Examples
    --------
    >>> round(kappa_star(2.0, 1), 12)     # at capacity the margin is 0
    0.0
    """
    alpha = check_real("alpha", alpha, low=0.0, low_open=True)
    K = check_real("K", K, low=1.0, high=K_MAX)
    e0 = _checked(_solve(K, 0.0))
    if alpha * e0 > 1.0 + 1e-12:
        raise ValueError(f"`alpha` must be <= alpha_c(K, 0) = {1.0 / e0:.10g} for K = {K:g}; got {alpha!r}")
    if alpha * e0 >= 1.0:
        return 0.0
    hi = math.sqrt((K + 1.0) / (K * alpha))
    if hi > KAPPA_MAX:
        raise ValueError(
            f"`alpha` = {alpha!r} is too small: the margin would exceed kappa = {KAPPA_MAX:g} (K = {K:g})"
        )

    def f(kappa):
        return alpha * _checked(_solve(K, kappa)) - 1.0

    return float(brent(f, 0.0, hi, xtol=1e-12, rtol=1e-13))
