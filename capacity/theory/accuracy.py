r"""Capacity at a target accuracy (docs/accuracy.md §1), and facts and bits per parameter (§2).

**Storage with a fraction ε of failed inputs.** At zero temperature the replica-symmetric Gardner
computation with an error-counting cost gives up the inputs whose fields are farthest from C_κ and
projects the rest: with a threshold t,

    ε = P(dist² > t),      1 / α(ε; K, κ) = E[dist² · 1{dist² ≤ t}],      z ~ N(0, I_{K+1}),    (A1)

dist² = dist²(z, C_κ) as in (T1), and the finite-size capacity at accuracy A = 1 − ε is the p solving

    p = N · α(ε; p − 1, κ).                                                                        (A2)

At ε = 0 this is (T3) exactly.  The replica-symmetric answer is not exact for error counting (the set of
memories that fail at most εp inputs is not convex); docs/accuracy.md §1 says what is known about the size
of the correction and how the simulator checks it.

**Numerics.** E dist² is the exact (T1) value of :mod:`capacity.theory.decoupled` (relative error below
1e-10); only the tail term E[dist² 1{dist² > t}] is estimated, by exact sampling of dist²:

- the projection needs only the competitors above the level t* (J of them, E J ~ ln K), so for K > 2M
  a sample draws the M + 1 largest of K standard normals exactly — the (M+1)-th largest tail probability
  is Beta(M + 1, K − M), the M larger ones are uniform below it — through fixed uniforms (common random
  numbers: the estimate is a continuous function of K, so the root of (A2) is found by Brent's method
  on one random draw); if a sample's projection needs more than M competitors M is doubled (exactness
  never depends on M);
- for K ≤ 2M, K integer, the K competitors are drawn directly; for real K below 2M the tail term is
  interpolated linearly between the neighbouring integers (stated in the result's ``method``);
- with t̂ the empirical (1 − ε)-quantile, the tail term is estimated as mean((X − t̂)₊) + t̂ ε, whose
  first-order error does not depend on the error of t̂; its standard error is sd((X − t̂)₊)/√n
  (tested for coverage against independent seeds).

**Facts and bits per parameter.** A memory storing p facts with every fact recalled holds the map from p
inputs to p targets: log₂ p bits per fact, so ``bits_per_param = p log₂ p / N`` and ``facts_per_param =
p / N``.  At accuracy A < 1 the information needed is reduced, by Fano's inequality, to at least
p [log₂ p − H₂(ε) − ε log₂(p − 1)] bits (H₂ the binary entropy): that is what is reported at A < 1.
For the one-layer memory, p_c log₂ p_c / d² → 1/(2 ln 2) ≈ 0.721 as d → ∞ (from p ln p / d² → 1/2);
at d = 100 it is 1.218.
"""
import dataclasses
import math

import numpy as np

from .._validation import check_int, check_real
from ..results import Result
from ..solvers.roots import brent
from .decoupled import K_MAX, KAPPA_MAX, expected_dist2

__all__ = ["AccuracyLoadResult", "AccuracyCapacityResult", "sample_dist2", "solve_accuracy_load",
           "solve_p_c_accuracy", "p_c_accuracy", "accuracy_at", "facts_per_param", "bits_per_param", "N_SAMPLES"]

#: Default number of exact dist² samples per evaluation of the tail term.
N_SAMPLES = 200_000
#: Competitors drawn per sample in the order-statistics sampler (doubled when a projection needs more).
_TOP = 64
_SEED = 20261205
_FIRST = 16


@dataclasses.dataclass(frozen=True)
class AccuracyLoadResult(Result):
    """α(ε; K, κ) of (A1): the load at which a fraction ε of inputs fails (docs/accuracy.md §1).

    ``inv_alpha`` = E[dist² 1{dist² ≤ t}] = ``expected_dist2`` (exact) − ``tail`` (Monte Carlo, standard
    error ``tail_se``); ``alpha`` = 1 / inv_alpha with standard error ``alpha_se``; ``threshold`` is t̂,
    the empirical (1 − ε)-quantile of dist²; ``method`` says how the samples were drawn.
    """

    K: float
    kappa: float
    epsilon: float
    alpha: float
    alpha_se: float
    inv_alpha: float
    expected_dist2: float
    tail: float
    tail_se: float
    threshold: float
    n_samples: int
    seed: int
    method: str


@dataclasses.dataclass(frozen=True)
class AccuracyCapacityResult(Result):
    """Finite-size capacity at accuracy A = 1 − ε: the p solving p = N α(ε; p − 1, κ) (eq. (A2)).

    ``p_c_se``: the Monte Carlo standard error of ``p_c`` (from ``alpha_se`` and the slope of (A2)),
    zero at ε = 0 where no sampling is involved.  ``facts_per_param`` = p_c / N and
    ``bits_per_param`` as in :func:`bits_per_param`.
    """

    d: float
    kappa: float
    accuracy: float
    epsilon: float
    n_params: float
    p_c: float
    p_c_se: float
    K: float
    alpha: float
    alpha_se: float
    threshold: float
    facts_per_param: float
    bits_per_param: float
    n_samples: int
    seed: int
    method: str


# --------------------------------------------------------------------------------------------- sampling

def _projection_dist2(z0, comps, kappa):
    """dist²(z, C_κ) for rows (z0, comps sorted descending, last column a boundary), and an OK mask.

    Sorting rule of docs/theory.md (T2): t_j = (z0 − κ + Σ_{i≤j} c_(i)) / (j + 1), accept the first
    j with c_(j+1) <= t_j.  ``comps`` has M + 1 columns; a row is OK when some j <= M is accepted.
    """
    n, m1 = comps.shape
    csum = np.concatenate([np.zeros((n, 1)), np.cumsum(comps[:, :-1], axis=1)], axis=1)  # j = 0..M
    j = np.arange(m1)
    t = (z0[:, None] - kappa + csum) / (j + 1.0)
    accept = comps <= t  # c_(j+1) <= t_j, column j
    ok = accept.any(axis=1)
    first = np.argmax(accept, axis=1)
    tj = t[np.arange(n), first]
    mask = j[None, :] < first[:, None]
    excess = np.where(mask, comps - tj[:, None], 0.0)
    d2 = (tj + kappa - z0) ** 2 + np.sum(excess * excess, axis=1)
    return d2, ok


def _top_order_statistics(K, top, v, u_sorted):
    """The ``top`` + 1 largest of K standard normals, descending, from uniforms v (n,) and u (n, top) sorted.

    Scaling sorted uniforms by the (top+1)-th smallest tail probability keeps their order, so the draw
    is sorted once and reused for every K.
    """
    from scipy import special

    q_last = special.betaincinv(top + 1.0, K - top, v)  # (top+1)-th smallest upper-tail probability
    q = np.concatenate([u_sorted * q_last[:, None], q_last[:, None]], axis=1)
    return -special.ndtri(q)


class _Draw:
    """One fixed random draw (common random numbers) reused across K within a computation."""

    def __init__(self, n, seed):
        self.n, self.seed = n, seed
        self._large = {}
        self._integer = {}

    def large(self, top):
        if top not in self._large:
            rng = np.random.default_rng([self.seed, 2, top])
            z0 = rng.standard_normal(self.n)
            v = rng.random(self.n)
            u = np.sort(rng.random((self.n, top)), axis=1)
            self._large = {top: (z0, v, u)}  # keep one size only (memory: n * top doubles)
        return self._large[top]

    def integer(self, K):
        if K not in self._integer:
            rng = np.random.default_rng([self.seed, 1, int(K)])
            z0 = rng.standard_normal(self.n)
            comps = -np.sort(-rng.standard_normal((self.n, int(K))), axis=1)
            self._integer[K] = (z0, np.concatenate([comps, np.full((self.n, 1), -np.inf)], axis=1))
        return self._integer[K]


def _samples_integer(K, kappa, draw):
    """Exact dist² samples at integer K <= 2M, all K competitors drawn (one stream per K)."""
    z0, comps = draw.integer(K)
    d2, ok = _projection_dist2(z0, comps, kappa)
    assert ok.all()  # the boundary -inf always accepts
    return d2


def _samples_large(K, kappa, draw):
    """Exact dist² samples for K > 2M from the M + 1 largest competitors (common random numbers in K)."""
    top = _TOP
    while True:
        if top >= K / 2:  # the order-statistics sampler would be no cheaper than drawing them all
            raise ValueError(f"`K` = {K:g} needs more than {top} competitors per projection; "
                             f"use an integer K and the direct sampler")
        z0, v, u = draw.large(top)
        # most projections flatten a few competitors: try the largest _FIRST first, and redo only the
        # rows that need more with all top + 1 (the first accepted j is the same either way)
        from scipy import special

        q_last = special.betaincinv(top + 1.0, K - top, v)
        d2, ok = _projection_dist2(z0, -special.ndtri(u[:, :_FIRST + 1] * q_last[:, None]), kappa)
        rest = np.flatnonzero(~ok)
        if rest.size:
            d2[rest], ok[rest] = _projection_dist2(z0[rest], _top_order_statistics(K, top, v[rest], u[rest]), kappa)
        if ok.all():
            return d2
        top *= 4


def _direct_limit():
    return 2 * _TOP


def sample_dist2(K, *, kappa=0.0, n=N_SAMPLES, seed=_SEED):
    """``n`` exact samples of dist²(z, C_κ), z ~ N(0, I_{K+1}) (docs/accuracy.md §1).

    K integer up to 2·64 draws every competitor; larger K (real allowed) draws the largest ones exactly
    from their order statistics, with common random numbers so that the samples are continuous in K.

    Examples
    --------
    >>> x = sample_dist2(1, n=200_000)
    >>> bool(abs(x.mean() - 0.5) < 0.01)      # K = 1: E dist² = 1/2
    True
    """
    K = check_real("K", K, low=1.0, high=K_MAX)
    kappa = check_real("kappa", kappa, low=0.0, high=KAPPA_MAX)
    n = check_int("n", n, low=100, high=10**8)
    seed = check_int("seed", seed, low=0)
    if K <= _direct_limit():
        if K != math.floor(K):
            raise ValueError(f"`K` must be an integer up to {_direct_limit()} for exact sampling; got {K:g}")
        return _samples_integer(K, kappa, _Draw(n, seed))
    return _samples_large(K, kappa, _Draw(n, seed))


# ---------------------------------------------------------------------------------------- the load (A1)

def _tail(x, epsilon):
    """(tail estimate, its standard error, threshold) from samples x at fraction epsilon."""
    if epsilon == 0.0:
        return 0.0, 0.0, float(np.max(x))
    t = float(np.quantile(x, 1.0 - epsilon))
    excess = np.maximum(x - t, 0.0)
    return float(excess.mean() + t * epsilon), float(excess.std(ddof=1) / math.sqrt(x.size)), t


def _load_at(K, kappa, epsilon, draw):
    e = expected_dist2(K, kappa=kappa)
    if epsilon == 0.0:
        return e, 0.0, 0.0, float("nan"), "exact (T1), no sampling"
    if K <= _direct_limit() and K != math.floor(K):
        lo, hi = math.floor(K), math.floor(K) + 1
        w = K - lo
        tl, sl, ul = _tail(_samples_integer(lo, kappa, draw), epsilon)
        th, sh, uh = _tail(_samples_integer(hi, kappa, draw), epsilon)
        return (e, (1 - w) * tl + w * th, math.hypot((1 - w) * sl, w * sh), (1 - w) * ul + w * uh,
                f"exact samples at K = {lo} and {hi}, tail interpolated linearly in K")
    if K <= _direct_limit():
        x = _samples_integer(K, kappa, draw)
        method = "exact samples, all K competitors drawn"
    else:
        x = _samples_large(K, kappa, draw)
        method = "exact samples, the largest competitors drawn from their order statistics"
    tail, se, t = _tail(x, epsilon)
    return e, tail, se, t, method


def _load_iv(kappa, epsilon, n_samples, seed):
    kappa = check_real("kappa", kappa, low=0.0, high=KAPPA_MAX)
    epsilon = check_real("epsilon", epsilon, low=0.0, high=1.0, high_open=True)
    n_samples = check_int("n_samples", n_samples, low=1000, high=10**8)
    seed = check_int("seed", seed, low=0)
    return kappa, epsilon, n_samples, seed


def solve_accuracy_load(K, epsilon, *, kappa=0.0, n_samples=N_SAMPLES, seed=_SEED):
    """α(ε; K, κ) of (A1), the load at which a fraction ε of the inputs fails (docs/accuracy.md §1).

    Parameters
    ----------
    K : float
        Competitors per input, ``1 <= K <= 1e30`` (integer when ``K <= 128``, or interpolated).
    epsilon : float
        Fraction of failed inputs, ``0 <= epsilon < 1`` (accuracy 1 − ε).
    kappa : float
        Normalised margin, ``0 <= kappa <= 50``.
    n_samples, seed : int
        Exact dist² samples for the tail term (ε > 0 only) and their seed.

    Returns
    -------
    AccuracyLoadResult

    Examples
    --------
    >>> r = solve_accuracy_load(1, 0.0)
    >>> round(r.alpha, 12)            # Gardner's alpha_c = 2 at K = 1, kappa = 0
    2.0
    """
    K = check_real("K", K, low=1.0, high=K_MAX)
    kappa, epsilon, n_samples, seed = _load_iv(kappa, epsilon, n_samples, seed)
    e, tail, se, t, method = _load_at(K, kappa, epsilon, _Draw(n_samples, seed))
    inv = e - tail
    if not inv > 0.0:
        raise ValueError(f"no finite load at `epsilon` = {epsilon:g}, K = {K:g}: the inputs kept all sit in C_kappa "
                         f"(E[dist^2 1{{dist^2 <= t}}] = {inv:g})")
    return AccuracyLoadResult(K=K, kappa=kappa, epsilon=epsilon, alpha=1.0 / inv, alpha_se=se / inv**2,
                              inv_alpha=inv, expected_dist2=e, tail=tail, tail_se=se, threshold=t,
                              n_samples=n_samples, seed=seed, method=method)


# --------------------------------------------------------------------------------- the capacity (A2)

def _accuracy_iv(d, accuracy, kappa, n_params, n_samples, seed):
    d = check_real("d", d, low=1.0, high=1e12)
    accuracy = check_real("accuracy", accuracy, low=0.0, low_open=True, high=1.0)
    kappa, epsilon, n_samples, seed = _load_iv(kappa, 1.0 - accuracy, n_samples, seed)
    n = d * d if n_params is None else check_real("n_params", n_params, low=0.0, low_open=True, high=1e24)
    return d, accuracy, kappa, n, n_samples, seed


def solve_p_c_accuracy(d, *, accuracy=1.0, kappa=0.0, n_params=None, n_samples=N_SAMPLES, seed=_SEED):
    """Capacity at accuracy A: the p solving p = N α(1 − A; p − 1, κ) (docs/accuracy.md §1, eq. (A2)).

    At ``accuracy=1`` this is :func:`capacity.p_c` exactly (no sampling).  Below 1, the tail term of (A1)
    is a Monte Carlo estimate on one fixed draw (``n_samples``, ``seed``), continuous in p, so the root is
    found by Brent's method to a relative 1e-10 of that draw; ``p_c_se`` is the Monte Carlo standard
    error of the answer.  The result also gives facts and bits per parameter.

    Examples
    --------
    >>> r = solve_p_c_accuracy(16)
    >>> round(r.p_c, 2), r.p_c_se
    (61.65, 0.0)
    """
    d, accuracy, kappa, n, n_samples, seed = _accuracy_iv(d, accuracy, kappa, n_params, n_samples, seed)
    epsilon = 1.0 - accuracy
    if epsilon < 1e-15:
        epsilon = 0.0
    if 2.0 * expected_dist2(1.0, kappa=kappa) > n and epsilon == 0.0:
        raise ValueError(f"no storable load: N = {n:g} parameters store fewer than 2 items at `kappa` = {kappa:g}")
    cache = {}
    draw = _Draw(n_samples, seed)

    def inv_alpha(p):
        if p not in cache:
            e, tail, se, t, method = _load_at(p - 1.0, kappa, epsilon, draw)
            cache[p] = (e - tail, se, t, method)
        return cache[p]

    def f(p):
        return p * inv_alpha(p)[0] / n - 1.0

    lo = 2.0
    if f(lo) > 0.0:
        raise ValueError(f"no storable load: N = {n:g} parameters store fewer than 2 items at `accuracy` = "
                         f"{accuracy:g}, `kappa` = {kappa:g}")
    hi = 4.0
    while f(hi) < 0.0:
        lo, hi = hi, 2.0 * hi
        if hi - 1.0 > K_MAX:
            raise ValueError(f"no finite capacity below K = {K_MAX:g} at `accuracy` = {accuracy:g}")
    p = brent(f, lo, hi, xtol=1e-10 * hi, rtol=1e-12) if f(lo) != 0.0 else lo
    inv, se, t, method = inv_alpha(p)
    if epsilon > 0.0:
        # dp = -p d(inv) / (inv + p d(inv)/dp): the slope on the same draw (common random numbers)
        h = max(1e-3 * p, 0.5)
        slope = (inv_alpha(p + h)[0] - inv_alpha(max(2.0, p - h))[0]) / (p + h - max(2.0, p - h))
        p_se = p * se / abs(inv + p * slope)
    else:
        p_se = 0.0
    return AccuracyCapacityResult(d=d, kappa=kappa, accuracy=accuracy, epsilon=epsilon, n_params=n, p_c=float(p),
                                  p_c_se=float(p_se), K=float(p - 1.0), alpha=1.0 / inv, alpha_se=se / inv**2,
                                  threshold=t, facts_per_param=facts_per_param(p, n),
                                  bits_per_param=bits_per_param(p, n, accuracy=accuracy),
                                  n_samples=n_samples if epsilon > 0.0 else 0, seed=seed, method=method)


def p_c_accuracy(d, *, accuracy=1.0, kappa=0.0, n_params=None, n_samples=N_SAMPLES, seed=_SEED):
    """The p_c of :func:`solve_p_c_accuracy` (docs/accuracy.md §1, eq. (A2)).

    Examples
    --------
    >>> round(p_c_accuracy(16, accuracy=1.0), 2)
    61.65
    """
    return solve_p_c_accuracy(d, accuracy=accuracy, kappa=kappa, n_params=n_params, n_samples=n_samples,
                              seed=seed).p_c


def accuracy_at(d, p, *, kappa=0.0, n_params=None, n_samples=N_SAMPLES, seed=_SEED):
    """The accuracy A at which p facts are the capacity of a d x d memory: p = N α(1 − A; p − 1) (eq. (A2)).

    The inverse of :func:`solve_p_c_accuracy` in A at fixed p: with X = dist² at K = p − 1, the
    threshold t solves E[X 1{X <= t}] = N / p (exact E X minus the sampled tail) and ε = P(X > t).
    Returns ``(accuracy, standard_error)``; accuracy 1 (error 0) when p <= p_c(d).

    Examples
    --------
    >>> accuracy_at(16, 40)
    (1.0, 0.0)
    """
    d = check_real("d", d, low=1.0, high=1e12)
    p = check_real("p", p, low=2.0, high=K_MAX)
    kappa, _, n_samples, seed = _load_iv(kappa, 0.0, n_samples, seed)
    n = d * d if n_params is None else check_real("n_params", n_params, low=0.0, low_open=True, high=1e24)
    K = p - 1.0
    e = expected_dist2(K, kappa=kappa)
    target = n / p
    if e <= target:
        return 1.0, 0.0
    draw = _Draw(n_samples, seed)
    if K <= _direct_limit():
        K = float(round(K))
        x = _samples_integer(K, kappa, draw)
    else:
        x = _samples_large(K, kappa, draw)
    xs = np.sort(x)[::-1]
    # tail(j) = E X 1{X > x_(j)} estimated by the j largest; need E - tail = target
    tail = np.cumsum(xs) / xs.size
    j = int(np.searchsorted(tail, e - target))  # smallest j with tail >= e - target
    eps = min(1.0, (j + 1) / xs.size)
    # standard error: binomial error of the fraction, widened by the tail's own sampling error
    # translated through the local density of X (delta method on t)
    se = math.sqrt(eps * (1 - eps) / xs.size)
    if j + 1 < xs.size:
        excess = np.maximum(x - xs[j], 0.0)
        se_tail = excess.std(ddof=1) / math.sqrt(xs.size)
        se = math.hypot(se, se_tail / max(xs[j], 1e-300))
    return 1.0 - eps, float(se)


# ------------------------------------------------------------------------------ facts and bits per parameter

def facts_per_param(p, n_params):
    """p / N (docs/accuracy.md §2)."""
    p = check_real("p", p, low=1.0)
    n_params = check_real("n_params", n_params, low=0.0, low_open=True)
    return p / n_params


def bits_per_param(p, n_params, *, accuracy=1.0):
    """Bits stored per parameter by a memory recalling a fraction ``accuracy`` of p facts (docs/accuracy.md §2).

    ``p log2 p / N`` at accuracy 1 (each fact picks one of p targets); below 1 the Fano bound
    ``p [log2 p − H2(ε) − ε log2(p − 1)] / N`` with ε = 1 − accuracy (floored at 0).

    Examples
    --------
    >>> round(bits_per_param(1192.028667, 100**2), 3)
    1.218
    """
    p = check_real("p", p, low=1.0)
    n_params = check_real("n_params", n_params, low=0.0, low_open=True)
    accuracy = check_real("accuracy", accuracy, low=0.0, high=1.0)
    eps = 1.0 - accuracy
    bits = math.log2(p)
    if eps > 0.0:
        h2 = -eps * math.log2(eps) - (accuracy * math.log2(accuracy) if accuracy > 0.0 else 0.0)
        bits -= h2 + (eps * math.log2(p - 1.0) if p > 1.0 else 0.0)
    return p * max(bits, 0.0) / n_params
