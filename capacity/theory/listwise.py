r"""Listwise retrieval: capacity under the tail-average margin (docs/theory.md §7).

Per input the K + 1 fields (h_0 correct, g = h_1..h_K competitors) must satisfy

    h_0 - T_k(g) / k >= kappa,     T_k(g) = sum of the k largest entries of g,

a convex polyhedron C_{kappa,k} (T_k is convex: it is the support function of
the capped simplex S_k = {u in [0,1]^K : sum u = k}).  As for top-1 retrieval
(docs/theory.md §2, eq. (T1)) the Gardner capacity is

    1 / alpha_c(K, k, kappa) = E_z dist^2(z, C_{kappa,k}),   z ~ N(0, I_{K+1}),

and k = 1 is the top-1 problem of :mod:`capacity.theory.decoupled`.

**Exact projection** (KKT; docs/theory.md §7).  If z is infeasible the constraint
is active with a multiplier lambda > 0 and, writing sigma = lambda / k and
w = (z_1..z_K),

    h_0 = z_0 + lambda,    g = prox_{sigma T_k}(w) = w - sigma Pi_{S_k}(w / sigma)   (Moreau).

In sorted order the top a competitors are lowered by sigma, the next b flattened
onto a level theta, the rest untouched; the groups change by single moves as sigma
grows, and G(sigma) = T_k(g)/k + kappa - k sigma is piecewise linear and strictly
decreasing, so the projection (G(sigma) = z_0) is found by walking the path after one
sort (:func:`capacity.solvers.listwise_kernels.walk_path`).  For integer k the first
piece lowers the top k uniformly: dist^2 = k/(k+1) (T_k(w)/k + kappa - z_0)^2.  With
k = K the set is a half-space and E dist^2 is Gardner's integral at margin
kappa sqrt(K/(K+1)).

**Expected distance** (Monte Carlo, exact in law, z_0 integrated analytically).
For a fixed competitor sample w the squared distance is, along the path,
a piecewise quadratic function of z_0 (sigma is linear in z_0 on each piece),
so E_{z_0} dist^2 is a sum of closed-form Gaussian integrals (Rao-Blackwell).
Only the competitors the path reaches before z_0 = -12 matter (below that the
Gaussian weight bounds the omitted part by 1e-25 absolute); they are drawn
*exactly* as order statistics by Renyi's representation (the j-th largest of K
uniforms is prod_{i<=j} V_i^{1/(K-i+1)}), ranks above the window entering only
through their sum.  Cost per sample: O(k + window), window ~ 64 + 6 ln K,
independent of K for fixed k (K up to 1e15).  The reported standard error is
the Monte Carlo one over competitor samples.

**Large-K limit for k = ceil(r K).**  The tail average of K Gaussians tends to
kappa_r = E[z | z > Phi^{-1}(1 - r)] = phi(Phi^{-1}(1 - r)) / r with O(K^{-1/2})
fluctuations, and lowering k ~ rK competitors by sigma = lambda/k costs only
k sigma^2 = lambda^2 / k; so the optimum raises h_0 alone:
dist^2 -> (kappa + kappa_r - z_0)_+^2, whose mean is Gardner's
alpha_c(kappa + kappa_r)^{-1} = int_{-x}^inf Dt (t + x)^2 = (1 + x^2) Phi(x) + x phi(x),
x = kappa + kappa_r.  The load at capacity scales like d^2 (no log).

References
----------
Barnfield, Kim, Nichani, Lee, Lu, "Sharp Capacity Thresholds in Linear
Associative Memory: From Winner-Take-All to Listwise Retrieval", arXiv:2605.05189.
E. Gardner, J. Phys. A 21 (1988) 257.
A. Renyi, "On the theory of order statistics", Acta Math. Hung. 4 (1953) 191.
"""
import math
from dataclasses import dataclass

import numpy as np

from .._validation import check_int, check_real
from ..results import Result
from ..solvers import listwise_kernels as _kern
from ..solvers.order_stats import normal_order_stats
from ..solvers.roots import integer_regula_falsi

__all__ = [
    "K_MAX_LISTWISE",
    "KAPPA_MAX",
    "K_TAIL_MAX",
    "ListwiseDist2Result",
    "ListwiseAlphaResult",
    "ListwisePcResult",
    "project_listwise",
    "listwise_dist2",
    "listwise_alpha_c",
    "listwise_p_c",
    "listwise_limit_dist2",
    "listwise_limit_alpha",
    "ratio_k",
]

#: Largest number of competitors K accepted by the listwise Monte Carlo routines
#: (the decoupled solver's bound is :data:`capacity.theory.decoupled.K_MAX`).
K_MAX_LISTWISE = 10**15
#: Largest tail size k accepted by the Monte Carlo routines (the cost per sample grows like k).
K_TAIL_MAX = 10**6
#: Largest margin accepted.
KAPPA_MAX = 50.0

_Z0_CUT = 12.0  # z_0 below -12 is omitted: its Gaussian weight bounds the loss by 1e-25
_BLOCK = 256  # samples per random block (fixed, so that common random numbers line up across K)
_ROW_CHUNK = 4096  # order-statistic ranks generated per chunk


_METHOD = (
    "Monte Carlo over exactly sampled competitor order statistics (Renyi), "
    "z_0 integrated analytically along the exact projection path"
)


# ----------------------------------------------------------------------------- sampling


def _order_stat_window(entropy, block, nb, K, lo, hi):
    """Exact sorted competitor ranks [lo, hi) (descending) and the sum of ranks < lo, for a block.

    Rank j (0-based) of sample i uses the j-th row of uniforms of the block's
    stream, so the same (entropy, block) gives the same uniforms for every K and
    window: results are nested in the window and smooth in K (common random numbers).
    The uniforms become normal order statistics by Renyi's representation
    (:func:`capacity.solvers.order_stats.normal_order_stats`, docs/theory.md §8).
    """
    rng = np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=(block,)))
    logu = np.zeros(nb)
    s_lo = np.zeros(nb)
    win = np.empty((hi - lo, nb))
    for r0 in range(0, hi, _ROW_CHUNK):
        r1 = min(hi, r0 + _ROW_CHUNK)
        log_v = np.log(1.0 - rng.random((r1 - r0, nb)))  # uniforms in (0, 1]
        vals, log_u = normal_order_stats(log_v, K, first_rank=r0, log_u_above=logu)
        logu = log_u[-1].copy()
        if r1 <= lo:
            s_lo += vals.sum(axis=0)
        elif r0 >= lo:
            win[r0 - lo:r1 - lo] = vals
        else:
            s_lo += vals[: lo - r0].sum(axis=0)
            win[: r1 - lo] = vals[lo - r0:]
    return np.ascontiguousarray(win.T), s_lo


def _window0(K, k, kappa):
    lk = math.log(K + 1.0)
    return int(64 + 3 * (2 * lk + kappa * math.sqrt(2 * lk)))


def _estimate_samples(K, k, kappa, n, entropy):
    """Per-sample E_{z_0} dist^2 (exact in law) for n competitor samples."""
    out = np.empty(n)
    w0 = _window0(K, k, kappa)
    for block, start in enumerate(range(0, n, _BLOCK)):
        nb = min(_BLOCK, n - start)
        above = below = w0
        while True:
            lo = max(0, k - 1 - above)
            hi = min(K, k + 1 + below)
            win, s_lo = _order_stat_window(entropy, block, nb, K, lo, hi)
            y = np.empty(nb)
            st = np.empty(nb, dtype=np.int64)
            _kern.rao_blackwell_block(win, lo, hi, s_lo, K, k, kappa, -_Z0_CUT, y, st,
                                      _kern.GL8_NODES, _kern.GL8_WEIGHTS)
            if np.all(st == _kern.STATUS_OK):
                break
            if np.any(st == _kern.STATUS_NEED_BELOW):
                below *= 4
            if np.any(st == _kern.STATUS_NEED_ABOVE):
                above *= 4
        out[start:start + nb] = y
    return out


def _entropy(seed):
    if seed is None:
        return int(np.random.SeedSequence().entropy)
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(0, 2**63))
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"`seed` must be None, a non-negative integer or a numpy Generator; got {seed!r}")
    return int(seed)


# ----------------------------------------------------------------------------- results


@dataclass(frozen=True)
class ListwiseDist2Result(Result):
    """E dist^2(z, C_{kappa,k}) by Monte Carlo: ``value`` +- ``stderr`` (one standard error; docs/theory.md §7).

    ``alpha_c = 1/value`` with ``alpha_c_stderr`` by the delta method.  ``seed``
    is the integer entropy actually used (re-running with it reproduces the result).
    The estimator cannot fail (the window of order statistics widens until every
    projection path fits), so there is no status.
    """

    K: int
    k: int
    kappa: float
    value: float
    stderr: float
    alpha_c: float
    alpha_c_stderr: float
    n_samples: int
    seed: int
    method: str


@dataclass(frozen=True)
class ListwiseAlphaResult(Result):
    """Listwise Gardner capacity alpha_c(K, k, kappa) = 1/E dist^2: ``value`` +- ``stderr`` (delta method).

    docs/theory.md §7; no status (see :class:`ListwiseDist2Result`).
    """

    K: int
    k: int
    kappa: float
    value: float
    stderr: float
    dist2: float
    dist2_stderr: float
    n_samples: int
    seed: int
    method: str


@dataclass(frozen=True)
class ListwisePcResult(Result):
    """Finite-size listwise capacity: the p solving p = N alpha_c(p - 1, k, kappa) (docs/theory.md §7).

    ``value`` is p_c (``stderr`` its Monte Carlo standard error by the delta
    method); ``k`` is the tail size at p_c (fixed, or ceil(r (p_c - 1)) in the
    ratio form, then ``r`` is set); ``alpha`` = p_c / N; ``limit_alpha`` is the
    large-K limit (ratio form only, else NaN).  Failures raise (``ValueError``,
    :class:`~capacity.exceptions.ConvergenceError`), so there is no status.
    """

    d: float
    k: int
    r: float
    kappa: float
    n_params: float
    value: float
    stderr: float
    K: float
    alpha: float
    alpha_c: float
    alpha_c_stderr: float
    p_log_p_over_d2: float
    p_over_d2: float
    limit_alpha: float
    n_samples: int
    n_evaluations: int
    seed: int
    method: str


# ----------------------------------------------------------------------------- public API


def _kappa_iv(kappa):
    return check_real("kappa", kappa, low=0.0, high=KAPPA_MAX)


def _kk_iv(K, k):
    K = check_int("K", K, low=1, high=K_MAX_LISTWISE)
    k = check_int("k", k, low=1, high=min(K, K_TAIL_MAX))
    return K, k


def _r_iv(r):
    return check_real("r", r, low=0.0, low_open=True, high=1.0)


def ratio_k(K, r):
    """Tail size of the ratio form: k = ceil(r K), at least 1 (docs/theory.md §7).

    Examples
    --------
    >>> ratio_k(1000, 0.1), ratio_k(10, 0.05), ratio_k(7, 1.0)
    (100, 1, 7)
    """
    K = check_int("K", K, low=1, high=K_MAX_LISTWISE)
    r = _r_iv(r)
    return _ratio_k(K, r)


def _ratio_k(K, r):
    x = r * K
    k = math.ceil(x - 1e-9 * max(1.0, x))  # r K = 100.00000000000001 in floating point still means 100
    return int(min(K, max(1, k)))


def project_listwise(z, k, kappa=0.0):
    """Exact Euclidean projection onto C_{kappa,k} = {h : h_0 - mean(top-k of h_1..h_K) >= kappa}.

    docs/theory.md §7 ("Tail-average margin and the exact projection path").

    Parameters
    ----------
    z : array_like, shape (K + 1,) or (n, K + 1)
        Points to project; column 0 is the correct field, columns 1..K the
        competitors (K >= 1).
    k : int
        Tail size, ``1 <= k <= K``.
    kappa : float
        Margin, ``0 <= kappa <= 50``.

    Returns
    -------
    h : ndarray, same shape as z
        The projection.
    dist2 : float or ndarray of shape (n,)
        Squared distance ``||z - h||^2``.

    Notes
    -----
    KKT: h_0 = z_0 + lambda and the competitors are prox_{(lambda/k) T_k}(w),
    computed through Moreau's identity from the capped-simplex projection; the
    multiplier solves a 1-D piecewise-linear monotone equation, walked exactly
    (see the module notes and docs/theory.md §7).  k = 1 reproduces the top-1
    projection (docs/theory.md §2, eq. (T2)):
    competitors above t are set to t, h_0 = t + kappa.

    Examples
    --------
    >>> h, d2 = project_listwise([0.0, 1.0, 0.5, -2.0], k=2)
    >>> [round(float(x), 6) for x in h], round(float(d2), 6)   # top two lowered by 1/4, h_0 raised by 1/2
    ([0.5, 0.75, 0.25, -2.0], 0.375)
    """
    zz = np.asarray(z, dtype=float)
    if zz.ndim not in (1, 2) or zz.shape[-1] < 2:
        raise ValueError(f"`z` must have shape (K + 1,) or (n, K + 1) with K >= 1; got shape {zz.shape}")
    if not np.all(np.isfinite(zz)):
        raise ValueError("`z` must be finite; got NaN or infinite entries")
    K = zz.shape[-1] - 1
    k = check_int("k", k, low=1, high=K)
    kappa = _kappa_iv(kappa)
    z2 = np.ascontiguousarray(np.atleast_2d(zz))
    h = np.empty_like(z2)
    dist2 = np.empty(z2.shape[0])
    _kern.project_rows(z2, k, kappa, h, dist2)
    if zz.ndim == 1:
        return h[0], float(dist2[0])
    return h, dist2


def _dist2_mc(K, k, kappa, n, entropy):
    y = _estimate_samples(K, k, kappa, n, entropy)
    mean = float(y.mean())
    se = float(y.std(ddof=1) / math.sqrt(n)) if n > 1 else float("nan")
    return mean, se


def listwise_dist2(K, k, *, kappa=0.0, n_samples=20000, seed=0):
    """E dist^2(z, C_{kappa,k}), z ~ N(0, I_{K+1}) — the inverse listwise Gardner load (Monte Carlo).

    Parameters
    ----------
    K : int
        Number of competitors, ``1 <= K <= 1e15``.
    k : int
        Tail size, ``1 <= k <= min(K, 1e6)`` (cost per sample grows like k).
    kappa : float
        Margin, ``0 <= kappa <= 50``.
    n_samples : int
        Number of competitor samples (``>= 2``).
    seed : int, numpy.random.Generator or None
        Randomness; the same integer gives the same competitor uniforms for every
        K and k (common random numbers).

    Returns
    -------
    ListwiseDist2Result
        ``value`` +- ``stderr`` (Monte Carlo standard error), ``alpha_c`` and
        its delta-method ``alpha_c_stderr``.

    Notes
    -----
    docs/theory.md §7: eq. (T1) with C_{kappa,k}.  Exact in law: competitor order statistics
    are sampled exactly (Renyi), z_0 is integrated in closed form along the
    exact projection path (Rao-Blackwellisation, which leaves only the
    competitor noise: for k = ceil(rK) the standard error falls like
    1/sqrt(n K)); the part z_0 < -12 is omitted (< 1e-25).  At k = 1 it agrees
    with :func:`capacity.expected_dist2`; it decreases in k and increases in K
    and kappa.

    Examples
    --------
    >>> res = listwise_dist2(2, 1, n_samples=4000, seed=1)
    >>> bool(abs(res.value - 5/6) < 4 * res.stderr)     # top-1 closed form at K = 2
    True
    """
    K, k = _kk_iv(K, k)
    kappa = _kappa_iv(kappa)
    n = check_int("n_samples", n_samples, low=2, high=10**8)
    entropy = _entropy(seed)
    mean, se = _dist2_mc(K, k, kappa, n, entropy)
    return ListwiseDist2Result(
        K=K, k=k, kappa=kappa, value=mean, stderr=se,
        alpha_c=1.0 / mean, alpha_c_stderr=se / (mean * mean),
        n_samples=n, seed=entropy, method=_METHOD,
    )


def listwise_alpha_c(K, k, *, kappa=0.0, n_samples=20000, seed=0):
    """Listwise Gardner capacity alpha_c(K, k, kappa) = 1 / E dist^2(z, C_{kappa,k}) (Monte Carlo).

    docs/theory.md §7, eq. (T1) with C_{kappa,k}.  Same arguments as
    :func:`listwise_dist2`; the standard error of alpha is the delta-method
    ``stderr(E) / E^2``.

    Examples
    --------
    >>> res = listwise_alpha_c(1, 1, n_samples=4000, seed=2)   # Gardner: alpha_c = 2
    >>> bool(abs(res.value - 2.0) < 4 * res.stderr)
    True
    """
    d = listwise_dist2(K, k, kappa=kappa, n_samples=n_samples, seed=seed)
    return ListwiseAlphaResult(
        K=d.K, k=d.k, kappa=d.kappa, value=d.alpha_c, stderr=d.alpha_c_stderr,
        dist2=d.value, dist2_stderr=d.stderr, n_samples=d.n_samples, seed=d.seed,
        method=d.method,
    )


def _gardner_dist2(x):
    """int_{-x}^inf Dt (t + x)^2 = E (x + Z)_+^2 = (1 + x^2) Phi(x) + x phi(x)."""
    from scipy import special

    return float((1.0 + x * x) * special.ndtr(x) + x * math.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi))


def _kappa_r(r):
    from scipy import special

    if r == 1.0:
        return 0.0
    q = float(special.ndtri(1.0 - r)) if r > 0.5 else -float(special.ndtri(r))
    return math.exp(-0.5 * q * q) / math.sqrt(2.0 * math.pi) / r


def listwise_limit_dist2(r, *, kappa=0.0):
    """Large-K limit of E dist^2 for k = ceil(rK): Gardner's integral at margin kappa + kappa_r.

    kappa_r = phi(Phi^{-1}(1 - r)) / r is the mean of a standard normal above
    its (1 - r) quantile.  See the module notes and docs/theory.md §7
    ("Large-K ratio limit") for the derivation.

    Examples
    --------
    >>> round(listwise_limit_dist2(1.0), 12)     # r = 1 (mean of all): Gardner at kappa = 0
    0.5
    """
    r = _r_iv(r)
    kappa = _kappa_iv(kappa)
    return _gardner_dist2(kappa + _kappa_r(r))


def listwise_limit_alpha(r, *, kappa=0.0):
    """Large-K listwise capacity for k = ceil(rK): Gardner's alpha_c(kappa + kappa_r) (docs/theory.md §7).

    kappa_r = phi(Phi^{-1}(1 - r))/r.

    Parameters
    ----------
    r : float
        Tail fraction, ``0 < r <= 1``.
    kappa : float
        Margin, ``0 <= kappa <= 50``.

    Notes
    -----
    docs/theory.md §7: alpha_c(kappa)^{-1} = int_{-kappa}^inf Dt (t + kappa)^2
    = (1 + kappa^2) Phi(kappa) + kappa phi(kappa) (Gardner 1988), evaluated at
    kappa + kappa_r.  The capacity is p_c ~ alpha d^2, without the 1/ln p of
    top-1 retrieval.

    Examples
    --------
    >>> round(listwise_limit_alpha(1.0), 12), round(listwise_limit_alpha(0.5), 4)
    (2.0, 0.6577)
    """
    return 1.0 / listwise_limit_dist2(r, kappa=kappa)


def listwise_p_c(d, k=None, *, r=None, kappa=0.0, n_params=None, n_samples=4000, seed=0):
    """Finite-size listwise capacity: the p solving p = N alpha_c(p - 1, k, kappa) (docs/theory.md §7, eq. (T3)).

    Parameters
    ----------
    d : float
        Embedding dimension, ``d >= 1``.
    k : int, optional
        Fixed tail size (``k >= 1``).  Give exactly one of ``k`` and ``r``.
    r : float, optional
        Ratio form: the tail size follows the number of competitors,
        k = ceil(r (p - 1)), ``0 < r <= 1``.
    kappa : float
        Margin, ``0 <= kappa <= 50``.
    n_params : float, optional
        Number of trainable parameters N; default ``d**2``.
    n_samples : int
        Monte Carlo samples per evaluation of E dist^2.
    seed : int or None
        One seed for every evaluation (common random numbers).

    Returns
    -------
    ListwisePcResult
        ``value`` = p_c with its delta-method ``stderr``, the load
        ``alpha = p_c / N``, ``p_log_p_over_d2`` and ``p_over_d2``.

    Notes
    -----
    f(p) = p E(p - 1, k, kappa) / N - 1 is evaluated on integers p with the same
    seed, so every evaluation reuses the same competitor uniforms: the Renyi
    order statistics then move smoothly with K and the Monte Carlo noise is
    common to all p (fixed k: f is increasing, the root is sharp).  The root is
    bracketed on the integers by regula falsi and p_c interpolated linearly
    between the two bracketing integers.  stderr(p_c) = p stderr(E) / (E + p dE/dp),
    with dE/dp from a secant over +-5 % (also common random numbers).

    In the ratio form ceil(r (p - 1)) jumps by one every 1/r items and E drops
    at each jump, so f is a sawtooth whose roots spread over a few items
    (relative width ~ 1/(r p)); p_c is defined as the *first* upcrossing (every
    smaller p is storable), located by scanning two periods below the bracket.

    Examples
    --------
    >>> res = listwise_p_c(8, k=1, n_samples=2000, seed=0)
    >>> from capacity import p_c
    >>> bool(abs(res.value - p_c(8)) < 4 * res.stderr + 0.5)
    True
    """
    d = check_real("d", d, low=1.0, high=1e7)
    kappa = _kappa_iv(kappa)
    if (k is None) == (r is None):
        raise ValueError(f"give exactly one of `k` (fixed tail size) and `r` (ratio form); got k={k!r}, r={r!r}")
    if k is not None:
        k = check_int("k", k, low=1, high=K_TAIL_MAX)
    else:
        r = _r_iv(r)
    N = d * d if n_params is None else check_real("n_params", n_params, low=0.0, low_open=True, high=1e24)
    n = check_int("n_samples", n_samples, low=2, high=10**8)
    entropy = _entropy(seed)

    cache = {}

    def k_of(p):
        return k if r is None else _ratio_k(p - 1, r)

    def E(p):
        if p not in cache:
            kk = k_of(p)
            if kk > K_TAIL_MAX or p - 1 > K_MAX_LISTWISE:
                raise ValueError(
                    f"`d` = {d:g} is too large for the Monte Carlo: it needs K = {p - 1} competitors with tail "
                    f"size k = {kk} (allowed k <= {K_TAIL_MAX}, K <= {K_MAX_LISTWISE:g})"
                )
            cache[p] = _dist2_mc(p - 1, kk, kappa, n, entropy)
        return cache[p][0]

    def f(p):
        return p * E(p) / N - 1.0

    p_min = 2 if k is None else k + 1
    if f(p_min) > 0.0:
        raise ValueError(
            f"no storable load: N = {N:g} parameters store fewer than {p_min} items at `kappa` = {kappa:g}"
            + (f" with `k` = {k}" if r is None else f" with `r` = {r:g}")
        )
    # initial guess: top-1 capacity is a lower bound for fixed k (E decreases in k); the limit for the ratio form
    if r is None:
        guess = N / (2.0 * max(1.0, math.log(max(N, 3.0))))
    else:
        guess = N / listwise_limit_dist2(r, kappa=kappa)
    lo = max(p_min, int(guess))
    if f(lo) > 0.0:
        hi = lo
        lo = max(p_min, hi // 2)
        while f(lo) > 0.0:
            hi, lo = lo, max(p_min, lo // 2)
    else:
        hi = max(lo + 1, int(1.5 * lo))
        while f(hi) <= 0.0:
            lo, hi = hi, 2 * hi
    lo, hi = integer_regula_falsi(f, lo, hi)
    if r is not None:
        # first upcrossing: scan below the bracket for a non-storable p (the sawtooth of ceil(r (p - 1)))
        period = int(math.ceil(1.0 / r)) + 1
        while True:
            bad = next((p for p in range(lo - 1, max(p_min, lo - 2 * period) - 1, -1) if f(p) > 0.0), None)
            if bad is None:
                break
            lo2 = max(p_min, bad - 2 * period)
            while f(lo2) > 0.0:
                lo2 = max(p_min, lo2 - 2 * period)
            lo, hi = integer_regula_falsi(f, lo2, bad)
    flo, fhi = f(lo), f(hi)
    pc = lo + (-flo) / (fhi - flo)
    # E and its standard error at p_c (interpolated), slope dE/dp by a +-5 % secant (common random numbers)
    t = pc - lo
    e_c = (1 - t) * E(lo) + t * E(hi)
    se_c = (1 - t) * cache[lo][1] + t * cache[hi][1]
    h = max(1, int(round(0.05 * pc)))
    pa, pb = max(p_min, lo - h), hi + h
    slope = (E(pb) - E(pa)) / (pb - pa)
    denom = e_c + pc * slope
    se_p = pc * se_c / denom if denom > 0 else float("nan")
    kk = k_of(int(round(pc)))
    alpha_c = 1.0 / e_c
    return ListwisePcResult(
        d=d, k=int(kk), r=float("nan") if r is None else r, kappa=kappa, n_params=N,
        value=float(pc), stderr=float(se_p), K=float(pc - 1.0), alpha=float(pc / N),
        alpha_c=float(alpha_c), alpha_c_stderr=float(se_c / (e_c * e_c)),
        p_log_p_over_d2=float(pc * math.log(pc) / (d * d)), p_over_d2=float(pc / (d * d)),
        limit_alpha=float("nan") if r is None else listwise_limit_alpha(r, kappa=kappa),
        n_samples=n, n_evaluations=len(cache), seed=entropy, method=_METHOD,
    )

