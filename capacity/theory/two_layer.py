r"""Capacity of two-layer linear memories f(x) = W2 W1 x (docs/theory.md §6).

W1 is m x d, W2 is d x m (hidden width m).  Every prediction below is the
finite-size equation (T3) of docs/theory.md §2, p = N alpha_c(p - 1, kappa), with a parameter
count N that depends on which layers are trained:

- **frozen first layer** (W1 random with N(0, 1/d) entries, only W2 trained): the
  problem is the one-layer LP with inputs replaced by the Gaussian hidden codes
  W1 x in R^m, so (T3) holds with N = d min(m, d), at the same level of exactness as
  the one-layer theory (docs/theory.md §2).  For m < d that is the d m trained
  weights; for m >= d the codes span only a d-dimensional subspace of R^m (W1 has
  rank d) and W2 W1 ranges over all d x d matrices, so the memory *is* the one-layer
  d x d memory and N = d^2, not d m;
- **both layers trained**: the product W2 W1 ranges over the d x d matrices of rank
  <= m, a non-convex set, and no theorem gives its capacity.  Two candidate counts:

  * the **Gaussian-width hypothesis** (docs/theory.md §6, the hypothesis under test):
    N_eff = w(T)^2 := E sup_{X in T} <G, X>^2 over the unit-Frobenius-norm rank-<= m
    matrices T, G a d x d standard Gaussian; the supremum is attained at the top-m
    SVD truncation of G, so N_eff = E sum_{i<=m} sigma_i(G)^2
    (:func:`n_eff_rank`; quarter-circle limit :func:`n_eff_rank_limit`).  For a
    linear subspace the same quantity is its dimension, which is why the one-layer
    (N = d^2) and frozen (N = d min(m, d)) laws are special cases.  It is
    returned by :func:`p_c_two_layer_width`;
  * the **parameter-count conjecture** N_eff = 2 d m - m^2 (the dimension of the
    rank-m manifold), which the certified simulations (``capacity.simulate.two_layer``)
    refute for 2 <= m < d: the trained memories store more (docs/theory.md §6); at
    m = 1, decided exactly, the capacity is close to it.  It is still returned by
    :func:`p_c_two_layer` with ``trained=True`` (flagged ``conjecture``).

  Measured (docs/results.md §3): the certified trained lower bounds agree with the
  width hypothesis at m/d >= 1/4, and at m = 1 the exact capacity lies well below it.

References
----------
Giorlandino, Goldt, Maillard, "Factual recall in linear associative memories:
sharp asymptotics and mechanistic insights", arXiv:2605.10795 (two-layer
generalisation).
"""
import functools
import math
from dataclasses import dataclass

import numpy as np

from .._validation import check_int, check_real
from ..exceptions import ConvergenceError
from ..results import Result
from ..solvers.roots import brent
from .decoupled import KAPPA_MAX, solve_p_c

__all__ = ["M_MAX", "N_EFF_D_MAX", "N_EFF_SEED", "NEffRankResult", "TwoLayerCapacityResult", "TwoLayerWidthResult",
           "n_eff_rank", "n_eff_rank_limit", "n_eff_rank_samples", "n_params_two_layer", "p_c_two_layer",
           "p_c_two_layer_width"]

#: Largest hidden width accepted (the same bound as ``d`` in :func:`capacity.theory.p_c`).
M_MAX = 1e12
#: Largest d at which :func:`n_eff_rank` samples d x d Gaussian matrices; beyond it
#: :func:`p_c_two_layer_width` uses d^2 :func:`n_eff_rank_limit` ``(m / d)``.
N_EFF_D_MAX = 256
#: Default seed of the Monte Carlo in :func:`n_eff_rank` (fixed, so the values are reproducible).
N_EFF_SEED = 20260


@dataclass(frozen=True)
class TwoLayerCapacityResult(Result):
    """(T3) prediction p = N alpha_c(p - 1, kappa) for a two-layer memory of width m (docs/theory.md §6).

    ``conjecture`` is True when the value rests on the parameter-count conjecture of
    docs/theory.md §6 (both layers trained and m < d: N_eff = 2 d m - m^2), False
    when it is the (T3) theory proper (frozen first layer, N = d min(m, d); or
    trained with m >= d, N = d^2).  ``basis`` says which in words.  ``note`` is
    empty unless m >= d, where it says that the memory is the one-layer d x d
    memory (N = d^2 whatever m).  The root search cannot fail without raising, so
    there is no status.
    """

    d: float
    m: float
    trained: bool
    kappa: float
    n_params: float
    p_c: float
    K: float
    alpha_c: float
    p_log_p_over_d2: float
    conjecture: bool
    basis: str
    note: str = ""


def _two_layer_iv(d, m, trained):
    d = check_real("d", d, low=1.0, high=1e12)
    m = check_real("m", m, low=1.0, high=M_MAX)
    if not isinstance(trained, bool):
        raise TypeError(f"`trained` must be a bool; got {trained!r} of type {type(trained).__name__}")
    return d, m, trained


def n_params_two_layer(d, m, *, trained=False):
    r"""Parameter count N that enters (T3) for a two-layer memory W2 W1 of width m (docs/theory.md §6).

    Parameters
    ----------
    d : float
        Embedding dimension, ``1 <= d <= 1e12``.
    m : float
        Hidden width, ``1 <= m <= 1e12``.
    trained : bool, optional
        False: W1 frozen at random, N = d min(m, d): the d m trained weights for
        m < d; for m >= d the random W1 has rank d, W2 W1 ranges over every d x d
        matrix and the memory is the one-layer one (N = d^2).
        True: both layers trained, N_eff = 2 d m - m^2 for m <= d and d^2 for
        m >= d (the dimension of the rank-<= m matrices; a *conjectured* effective
        count, docs/theory.md §6).

    Returns
    -------
    float

    Examples
    --------
    >>> n_params_two_layer(12, 6), n_params_two_layer(12, 6, trained=True)
    (72.0, 108.0)
    >>> n_params_two_layer(12, 20, trained=True)   # m >= d: the one-layer d^2
    144.0
    >>> n_params_two_layer(12, 20)   # frozen, m >= d: also the one-layer d^2, not d m = 240
    144.0
    """
    d, m, trained = _two_layer_iv(d, m, trained)
    if m >= d:
        return d * d
    if not trained:
        return d * m
    return 2.0 * d * m - m * m


def p_c_two_layer(d, m, *, trained=False, kappa=0.0):
    r"""Predicted finite-size capacity of a two-layer linear memory (frozen: theory; trained: conjecture).

    docs/theory.md §6.

    Parameters
    ----------
    d : float
        Embedding dimension, ``1 <= d <= 1e12``.
    m : float
        Hidden width, ``1 <= m <= 1e12``.
    trained : bool, optional
        False (default): first layer frozen at random, only W2 trained; the value
        is the (T3) prediction with N = d min(m, d) (for m >= d the one-layer
        :func:`capacity.theory.p_c`, and ``note`` says so).  True: both layers trained; for m < d
        the value is the **conjectured** capacity with N_eff = 2 d m - m^2 (the
        parameter-count conjecture of docs/theory.md §6, which the certified simulations
        do not support); for
        m >= d it is the one-layer (T3) value (N = d^2), exact at the level of
        docs/theory.md §2.
    kappa : float, optional
        Normalised margin, ``0 <= kappa <= 50``.

    Returns
    -------
    TwoLayerCapacityResult
        ``p_c`` solving p = N alpha_c(p - 1, kappa) (docs/theory.md §2, eq. (T3))
        for N = :func:`n_params_two_layer` ``(d, m, trained=trained)``;
        ``conjecture`` is True (and ``basis`` says so) when ``trained`` and m < d;
        ``note`` is non-empty when m >= d (the one-layer memory).

    Raises
    ------
    ValueError
        For arguments out of range (the message names the argument), or when N is
        too small to store two items at this margin.

    Notes
    -----
    Frozen W1: the hidden codes W1 x are Gaussian in R^m, so for m < d the Gardner
    count of docs/theory.md §2 applies with d m parameters.  For m >= d the codes lie
    in the d-dimensional range of W1 and only the d^2 parameters of W2 restricted to
    it act on them: the memory is the one-layer d x d memory (N = d^2; counting d m
    would overstate p_c by about m/d).  Trained, m >= d: identical to the
    one-layer :func:`capacity.theory.p_c` (every d x d matrix is a product W2 W1).
    Trained, m < d: the Gardner argument needs a convex solution space and the
    rank-<= m products are not convex, so N_eff is a guess; the certified
    simulations (``benchmarks/results/two_layer.md``, d = 12-24) find trained
    capacities *above* it (lower bounds 3-33 % higher for m/d = 3/4 ... 1/4).
    :func:`p_c_two_layer_width` gives the Gaussian-width hypothesis beside it.

    Examples
    --------
    >>> round(p_c_two_layer(16, 8).p_c, 2)
    36.66
    >>> r = p_c_two_layer(16, 8, trained=True)
    >>> round(r.p_c, 2), r.n_params, r.conjecture
    (49.59, 192.0, True)
    >>> from capacity.theory import p_c
    >>> p_c_two_layer(16, 16, trained=True).p_c == p_c(16)
    True
    >>> p_c_two_layer(16, 100).p_c == p_c(16)   # frozen and wide: the one-layer memory
    True
    """
    d, m, trained = _two_layer_iv(d, m, trained)
    kappa = check_real("kappa", kappa, low=0.0, high=KAPPA_MAX)
    n = n_params_two_layer(d, m, trained=trained)
    r = solve_p_c(d, kappa=kappa, n_params=n)
    conjecture = trained and m < d
    if conjecture:
        what = ("parameter-count CONJECTURE (docs/theory.md §6, not derived; refuted for 2 <= m < d by the certified "
                "simulations, whose trained lower bounds lie above it; close to the exact capacity at m = 1): (T3) "
                "with N_eff = 2 d m - m^2, the dimension of rank-m matrices")
    elif trained:
        what = "(T3) with N = d^2: for m >= d every d x d matrix is a product W2 W1"
    elif m >= d:
        what = "(T3) with N = d^2: frozen random first layer of rank d, W2 W1 ranges over all d x d matrices"
    else:
        what = "(T3) with N = d m: frozen random first layer, Gaussian hidden codes"
    note = ""
    if m >= d:
        note = (f"m >= d ({m:g} >= {d:g}): W2 W1 ranges over all d x d matrices, so this is the one-layer "
                f"d x d memory (N = d^2 = {d * d:g}" + (")" if trained else f", not d m = {d * m:g})"))
    return TwoLayerCapacityResult(d=d, m=m, trained=trained, kappa=kappa, n_params=n, p_c=r.p_c, K=r.K,
                                  alpha_c=r.alpha_c, p_log_p_over_d2=r.p_log_p_over_d2, conjecture=conjecture,
                                  basis=what, note=note)


# --------------------------------------------------------------------------------------
# The Gaussian-width hypothesis: N_eff = E sum_{i<=m} sigma_i(G)^2
# --------------------------------------------------------------------------------------
#: Bytes of one batch of sampled d x d matrices (G and G G^T), so memory stays bounded at any d.
_BATCH_BYTES = 2**24
#: Most eigenvalues n_samples x d held at once (a few arrays of this size: ~0.5 GB in all).
_MAX_EIGENVALUES = 2**24


@dataclass(frozen=True)
class NEffRankResult(Result):
    r"""N_eff(d, m) = E sum_{i<=m} sigma_i(G)^2, G a d x d standard Gaussian (docs/theory.md §6, eq. (W2)).

    ``n_eff`` is the estimate and ``n_eff_se`` its standard error; ``method`` is
    "exact" (m = 0: 0; m >= d: E ||G||_F^2 = d^2; ``n_eff_se`` = 0) or
    "monte-carlo" (``n_samples`` matrices from ``seed``, control variates, below).
    ``n_eff_over_d2 = n_eff / d^2`` and ``limit_over_d2`` is the quarter-circle limit
    :func:`n_eff_rank_limit` ``(min(m, d) / d)`` beside it.  ``message`` states the method.
    """

    d: int
    m: int
    n_eff: float
    n_eff_se: float
    n_eff_over_d2: float
    limit_over_d2: float
    method: str
    n_samples: int
    seed: int
    message: str


def n_eff_rank_samples(d):
    """Default number of Monte Carlo matrices for :func:`n_eff_rank` at dimension ``d``.

    ``clip(2**22 // d**2, 256, 65536)``: at most about 1-2 s of batched ``eigvalsh`` at
    any d <= 256 on one core.  Measured relative standard errors of N_eff: below 6e-4
    for m >= d/8 at every d (below 2.5e-4 for d >= 16), at most 1.6e-3 at m = 1 (the
    top eigenvalue, least tied to the control variates; docs/theory.md §6).

    >>> n_eff_rank_samples(8), n_eff_rank_samples(32), n_eff_rank_samples(256)
    (65536, 4096, 256)
    """
    d = check_int("d", d, low=1, high=N_EFF_D_MAX)
    return int(min(65536, max(256, 2**22 // (d * d))))


def _wishart_draws(rng, d, n):
    """Eigenvalues (descending, shape (n, d)) of n independent G G^T, G d x d standard Gaussian."""
    batch = max(1, min(n, _BATCH_BYTES // (16 * d * d)))
    out = np.empty((n, d))
    for lo in range(0, n, batch):
        hi = min(n, lo + batch)
        g = rng.standard_normal((hi - lo, d, d))
        out[lo:hi] = np.linalg.eigvalsh(np.matmul(g, g.transpose(0, 2, 1)))[:, ::-1]
    return out


@functools.lru_cache(maxsize=32)
def _n_eff_table(d, n_samples, seed):
    """(means, standard errors) of sum_{i<=m} lambda_i for m = 1..d-1, control-variate Monte Carlo.

    Controls with exactly known means (real Wishart, d x d with d degrees of freedom):
    T = tr W = ||G||_F^2 (mean d^2) and Q = tr W^2 (mean d^2 (2d + 1)).  Their
    regression coefficients come from an independent pilot sample, so the estimator
    is unbiased and its standard error is the plain one of the adjusted samples.
    """
    n_pilot = max(128, n_samples // 8)
    main_rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(d, 0)))
    pilot_rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(d, 1)))

    def sums_and_controls(ev):
        cs = np.cumsum(ev, axis=1)
        ctrl = np.column_stack([cs[:, -1] - d * d, (ev * ev).sum(axis=1) - d * d * (2.0 * d + 1.0)])
        return cs[:, :-1], ctrl

    y_pilot, c_pilot = sums_and_controls(_wishart_draws(pilot_rng, d, n_pilot))
    design = np.column_stack([np.ones(n_pilot), c_pilot])
    beta = np.linalg.lstsq(design, y_pilot, rcond=None)[0][1:]  # (2, d - 1)
    y, ctrl = sums_and_controls(_wishart_draws(main_rng, d, n_samples))
    z = y - ctrl @ beta
    means = z.mean(axis=0)
    ses = z.std(axis=0, ddof=1) / math.sqrt(n_samples)
    means.setflags(write=False)
    ses.setflags(write=False)
    return means, ses


def _check_seed(seed):
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"`seed` must be a non-negative integer; got {seed!r} of type {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"`seed` must be a non-negative integer; got {seed!r}")
    return int(seed)


def n_eff_rank(d, m, *, n_samples=None, seed=N_EFF_SEED):
    r"""N_eff = E sum_{i<=m} sigma_i(G)^2 for a d x d standard Gaussian G (docs/theory.md §6, eq. (W2)).

    The squared Gaussian width of the unit-Frobenius-norm d x d matrices of rank <= m:
    the effective parameter count of the Gaussian-width hypothesis for a two-layer
    memory with both layers trained.

    Parameters
    ----------
    d : int
        Matrix dimension, ``1 <= d <= 256`` (:data:`N_EFF_D_MAX`; beyond it use
        ``d**2 * n_eff_rank_limit(m / d)``, which there underestimates N_eff by less than
        0.5 %, 0.2 % for m/d >= 1/8).
    m : int
        Rank, ``m >= 0``; ``m >= d`` gives d^2 (every matrix has rank <= d).
    n_samples : int, optional
        Monte Carlo matrices, ``100 <= n_samples <= 10**7`` and ``n_samples * d <= 2**24``
        (memory); default :func:`n_eff_rank_samples` ``(d)``.
    seed : int, optional
        Seed of the Monte Carlo (default :data:`N_EFF_SEED`); the stream of dimension d
        is ``SeedSequence(seed, spawn_key=(d, 0))``, so every m at one d shares the same
        matrices (common random numbers) and the result is cached per (d, n_samples, seed).

    Returns
    -------
    NEffRankResult
        ``n_eff`` with its standard error ``n_eff_se`` and ``method``.

    Notes
    -----
    m = 0 and m >= d are exact (0 and E ||G||_F^2 = d^2).  Otherwise the value is
    Monte Carlo: eigenvalues of ``n_samples`` matrices G G^T (batched ``eigvalsh``),
    the sum of the m largest, with two control variates of exactly known mean,
    tr G G^T (d^2) and tr (G G^T)^2 (d^2 (2d + 1)), whose coefficients are fitted on
    an independent pilot sample (so the estimate is unbiased and ``n_eff_se`` is its
    plain standard error); the controls cut the standard deviation 2-8 fold.  With the
    default sample size the relative standard error is below 6e-4 for m >= d/8 (below
    2.5e-4 for d >= 16; d = 16, m = 4: about 1.4e-4) and at most 1.6e-3 at m = 1.  No
    deterministic route is used: for real Gaussian matrices (beta = 1) the expected sum
    of the top m eigenvalues needs the full counting distribution of the Laguerre
    orthogonal ensemble (a Pfaffian of incomplete-gamma integrals), not only its
    one-point density.

    Examples
    --------
    >>> n_eff_rank(12, 12).n_eff, n_eff_rank(12, 0).n_eff   # exact ends
    (144.0, 0.0)
    >>> r = n_eff_rank(16, 4)
    >>> r.method, 0.62 < r.n_eff_over_d2 < 0.64, r.n_eff_se < 0.05
    ('monte-carlo', True, True)
    """
    d = check_int("d", d, low=1, high=N_EFF_D_MAX)
    m = check_int("m", m, low=0, high=int(M_MAX))
    n = n_eff_rank_samples(d) if n_samples is None else check_int("n_samples", n_samples, low=100, high=10**7)
    if n * d > _MAX_EIGENVALUES:
        raise ValueError(f"`n_samples` must be <= {_MAX_EIGENVALUES // d} at d = {d} (n_samples x d eigenvalues are "
                         f"held in memory, at most {_MAX_EIGENVALUES}); got {n}")
    seed = _check_seed(seed)
    mm = min(m, d)
    limit = n_eff_rank_limit(mm / d)
    if m == 0 or m >= d:
        value = 0.0 if m == 0 else float(d * d)
        why = "m = 0: the zero matrix" if m == 0 else f"m >= d: E ||G||_F^2 = d^2 = {d * d}"
        return NEffRankResult(d=d, m=m, n_eff=value, n_eff_se=0.0, n_eff_over_d2=value / (d * d),
                              limit_over_d2=limit, method="exact", n_samples=0, seed=seed, message=f"exact ({why})")
    means, ses = _n_eff_table(d, n, seed)
    value, se = float(means[m - 1]), float(ses[m - 1])
    if not (math.isfinite(value) and math.isfinite(se)):  # pragma: no cover - eigvalsh of finite matrices
        raise ConvergenceError(f"n_eff_rank(d={d}, m={m}): the Monte Carlo gave a non-finite value {value!r}")
    return NEffRankResult(d=d, m=m, n_eff=value, n_eff_se=se, n_eff_over_d2=value / (d * d), limit_over_d2=limit,
                          method="monte-carlo", n_samples=n, seed=seed,
                          message=f"Monte Carlo: {n} d x d Gaussian matrices (seed {seed}), sum of the top {m} "
                                  "eigenvalues of G G^T with control variates tr G G^T and tr (G G^T)^2 "
                                  f"(coefficients from an independent pilot); standard error {se:.3g}")


def n_eff_rank_limit(r):
    r"""Quarter-circle limit of N_eff / d^2 at rank fraction r = m / d (docs/theory.md §6, eq. (W3)).

    lim_{d -> inf} E sum_{i <= r d} sigma_i(G)^2 / d^2 = int x rho(x) dx over the top
    fraction r of the Marchenko-Pastur law rho(x) = sqrt(x (4 - x)) / (2 pi x) on
    [0, 4] (x = sigma^2 / d).

    Parameters
    ----------
    r : float
        Rank fraction, ``0 <= r``; values ``r >= 1`` give 1.

    Returns
    -------
    float
        In [0, 1]; 4r - O(r^{5/3}) for small r, 1 at r >= 1.

    Raises
    ------
    ConvergenceError
        If the root search for the quantile fails (not expected).

    Notes
    -----
    With x = 4 sin^2(phi / 2) the mass above x is 1 - (phi + sin phi) / pi and the
    first moment above it is 1 - phi / pi + sin(2 phi) / (2 pi), so

        L(r) = 1 - phi / pi + sin(2 phi) / (2 pi),   phi + sin phi = pi (1 - r),

    a closed form up to the Kepler-type equation for phi in [0, pi], solved by
    Brent's method to 1e-15 (the function is increasing in phi); the absolute error
    of L is below 1e-14.

    Examples
    --------
    >>> [round(n_eff_rank_limit(r), 4) for r in (0.25, 0.5, 0.75, 1.0)]
    [0.6229, 0.8937, 0.987, 1.0]
    """
    r = check_real("r", r, low=0.0)
    if r == 0.0:
        return 0.0
    if r >= 1.0:
        return 1.0
    target = math.pi * (1.0 - r)
    phi = brent(lambda t: t + math.sin(t) - target, 0.0, math.pi, xtol=1e-15, rtol=0.0)
    if not 0.0 <= phi <= math.pi:  # pragma: no cover - brent stays in its bracket
        raise ConvergenceError(f"n_eff_rank_limit(r={r!r}): quantile root {phi!r} outside [0, pi]")
    return min(1.0, max(0.0, 1.0 - phi / math.pi + math.sin(2.0 * phi) / (2.0 * math.pi)))


@dataclass(frozen=True)
class TwoLayerWidthResult(Result):
    """Capacity of a two-layer memory with both layers trained under the Gaussian-width hypothesis.

    docs/theory.md §6: (T3) with N = ``n_eff`` = E sum_{i<=m} sigma_i(G)^2
    (:func:`n_eff_rank`), the **hypothesis under test** (``hypothesis`` is True for
    m < d; for m >= d the value is the one-layer (T3) theory, N = d^2, and
    ``hypothesis`` is False).  ``n_eff_se`` and ``p_c_se`` are Monte Carlo standard
    errors (0 when exact); ``n_eff_method`` is "exact", "monte-carlo" or
    "quarter-circle limit" (d > 256, or non-integer d, m at d > 256).  Beside it,
    the parameter-count conjecture N = 2 d m - m^2 (``n_params_conjecture``,
    ``p_c_conjecture``), which the certified simulations do not support;
    ``conjecture`` is True when that value rests on the conjecture (m < d), as in
    :class:`TwoLayerCapacityResult`.  ``basis`` says which case applies, ``note``
    what to keep in mind (non-empty for m >= d and for the limit).
    """

    d: float
    m: float
    kappa: float
    n_eff: float
    n_eff_se: float
    n_eff_method: str
    p_c: float
    p_c_se: float
    K: float
    alpha_c: float
    p_log_p_over_d2: float
    hypothesis: bool
    n_params_conjecture: float
    p_c_conjecture: float
    conjecture: bool
    basis: str
    note: str = ""


def p_c_two_layer_width(d, m, *, kappa=0.0, n_samples=None, seed=N_EFF_SEED):
    r"""Capacity of a trained two-layer memory under the Gaussian-width hypothesis (docs/theory.md §6).

    The p solving p = N_eff alpha_c(p - 1, kappa) (eq. (T3)) with N_eff the squared
    Gaussian width of the rank-<= m unit-norm matrices, E sum_{i<=m} sigma_i(G)^2
    (:func:`n_eff_rank`) — a **hypothesis under test**, not a theorem — beside the
    parameter-count conjecture N = 2 d m - m^2 (not supported by the certified
    simulations).

    Parameters
    ----------
    d : float
        Embedding dimension, ``1 <= d <= 1e12``; an integer when ``d <= 256``.
    m : float
        Hidden width, ``1 <= m <= 1e12``; an integer when ``d <= 256``.
    kappa : float, optional
        Normalised margin, ``0 <= kappa <= 50``.
    n_samples, seed
        Of the Monte Carlo in :func:`n_eff_rank` (d <= 256).

    Returns
    -------
    TwoLayerWidthResult

    Raises
    ------
    TypeError, ValueError
        For arguments of the wrong kind or out of range (the message names the
        argument), or when N is too small to store two items at this margin.

    Notes
    -----
    For d <= 256, N_eff is :func:`n_eff_rank` (Monte Carlo for 1 <= m < d, exact
    otherwise) and ``p_c_se`` = (dp/dN) ``n_eff_se`` (the derivative of the (T3)
    root by a central difference).  For d > 256 it is d^2 :func:`n_eff_rank_limit`
    ``(m / d)``; the finite-d excess N_eff - d^2 L(m/d), measured at d <= 256, is
    between -0.01 d and +0.18 d, and at d = 256 a relative 0.46 % (m = 1), 0.17 %
    (m/d = 1/8), 0.05 % (m/d = 1/2), falling with d: so the limit underestimates
    N_eff by less than 0.5 % there (stated in ``note``).  For m >= d every d x d matrix is a product and the
    value is the one-layer :func:`capacity.theory.p_c` exactly.

    Examples
    --------
    >>> r = p_c_two_layer_width(16, 4)
    >>> r.hypothesis, r.n_eff_method, round(r.p_c_conjecture, 1)
    (True, 'monte-carlo', 33.2)
    >>> 43.5 < r.p_c < 44.5 and r.p_c_se < 0.05
    True
    >>> from capacity.theory import p_c
    >>> p_c_two_layer_width(16, 16).p_c == p_c(16)
    True
    """
    d = check_real("d", d, low=1.0, high=1e12)
    m = check_real("m", m, low=1.0, high=M_MAX)
    kappa = check_real("kappa", kappa, low=0.0, high=KAPPA_MAX)
    if n_samples is not None:
        n_samples = check_int("n_samples", n_samples, low=100, high=10**7)
    seed = _check_seed(seed)
    note = ""
    if m >= d:
        n_eff, n_se, method = d * d, 0.0, "exact"
        basis = "(T3) with N = d^2: for m >= d every d x d matrix is a product W2 W1 (one-layer theory)"
        note = f"m >= d ({m:g} >= {d:g}): the one-layer d x d memory (N = d^2 = {d * d:g})"
    elif d <= N_EFF_D_MAX:
        for name, v in (("d", d), ("m", m)):  # the finite-d width needs whole matrix sizes
            if v != math.floor(v):
                raise ValueError(f"`{name}` must be an integer when d <= {N_EFF_D_MAX} (the finite-d N_eff; real "
                                 f"sizes are allowed for d > {N_EFF_D_MAX}, where the limit is used); got {v:g}")
        res = n_eff_rank(int(d), int(m), n_samples=n_samples, seed=seed)
        n_eff, n_se, method = res.n_eff, res.n_eff_se, res.method
        basis = ("HYPOTHESIS under test (docs/theory.md §6): (T3) with N_eff = E sum_{i<=m} sigma_i(G)^2, "
                 f"the squared Gaussian width of the rank-<= m unit-norm matrices ({res.message})")
    else:
        n_eff, n_se, method = d * d * n_eff_rank_limit(m / d), 0.0, "quarter-circle limit"
        basis = ("HYPOTHESIS under test (docs/theory.md §6): (T3) with N_eff = d^2 L(m/d), the quarter-circle "
                 "limit of the squared Gaussian width of the rank-<= m unit-norm matrices")
        note = (f"d > {N_EFF_D_MAX}: N_eff from the limit d^2 L(m/d), which omits the finite-d excess (measured at "
                "d <= 256: -0.01 d to +0.18 d, below 0.5 % of N_eff for d > 256 and 0.2 % for m/d >= 1/8)")
    r = solve_p_c(d, kappa=kappa, n_params=n_eff)
    p_se = 0.0
    if n_se > 0.0:
        h = max(n_se, 1e-6 * n_eff)
        slope = (solve_p_c(d, kappa=kappa, n_params=n_eff + h).p_c
                 - solve_p_c(d, kappa=kappa, n_params=n_eff - h).p_c) / (2.0 * h)
        p_se = slope * n_se
    conj = p_c_two_layer(d, m, trained=True, kappa=kappa)
    return TwoLayerWidthResult(d=d, m=m, kappa=kappa, n_eff=float(n_eff), n_eff_se=float(n_se), n_eff_method=method,
                               p_c=r.p_c, p_c_se=float(p_se), K=r.K, alpha_c=r.alpha_c,
                               p_log_p_over_d2=r.p_log_p_over_d2, hypothesis=m < d, n_params_conjecture=conj.n_params,
                               p_c_conjecture=conj.p_c, conjecture=conj.conjecture, basis=basis, note=note)
