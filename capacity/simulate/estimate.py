r"""Capacity estimation from trial verdicts: P(feasible) per p and the 50 % point p50.

docs/simulator.md §6.  Physics-agnostic statistics; nothing here knows
what a memory is.  The pipeline is

    records (one dict per trial: ``p``, ``verdict``)
        --summarize_points-->  one :class:`PointSummary` per p
        --fit_p50-->           :class:`P50Result`

**Per point.**  Trials are ``"feasible"``, ``"infeasible"`` or ``"undecided"``.
P(feasible) is estimated on the *decided* trials only,
p_hat = n_feasible / n_decided, with the exact Clopper-Pearson interval
(:func:`binomial_ci`).  Undecided trials are never folded into either verdict: if
their fraction at a point is at most ``undecided_threshold`` they are excluded with
a ``UserWarning``; above it the point *fails* (``ok=False``, a warning, and
:func:`fit_p50` leaves it out and says so).

**p50.**  P(feasible) decreases with p (more facts are harder to store).  The model
is the logistic curve

    logit P(feasible | p) = b (p50 - p),      b > 0,

fitted by maximum likelihood to the decided counts of the usable points (Newton's
method with step halving on the binomial log-likelihood, in standardised
coordinates).  The confidence interval is a nonparametric percentile bootstrap:
each point's decided trials are redrawn as Binomial(n_decided, p_hat) with
``numpy.random.default_rng(seed)`` and the curve is refitted; replicates that
cannot be fitted (separated data, no convergence, non-decreasing fit) are counted in
``n_boot_failed`` and reported, never silently dropped.

Degenerate data are reported as such rather than fitted:

- *not bracketed*: every point's p_hat is above 1/2 (p50 lies above the grid) or
  below 1/2 (p50 lies below the grid): ``success=False``, ``p50=NaN``;
- *separated*: every feasible trial sits at a p no larger than every infeasible
  trial (e.g. p_hat = 1, 1, 0, 0): the logistic MLE does not exist (b -> inf).  The
  estimate falls back to the decreasing isotonic fit of p_hat (p_hat itself, which
  separated data make non-increasing) linearly interpolated to its crossing of 1/2
  (for a clean 1 -> 0 switch, the midpoint of the last all-feasible and the first
  all-infeasible p), and the reported interval is the pair of grid points
  bracketing the crossing (a resolution limit of the grid, *not* a confidence
  interval at ``level``; no bootstrap is run).
"""
import math
import numbers
import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import stats

from .._validation import check_int, check_real
from ..results import Result

__all__ = ["PointSummary", "P50Result", "binomial_ci", "summarize_points", "fit_p50"]

VERDICTS = ("feasible", "infeasible", "undecided")
# Keys that, if present in the records, must take a single value: a p50 is a
# property of one (model, d, kappa); mixing them would silently pool experiments.
_GROUP_KEYS = ("model", "d", "kappa")

_NEWTON_MAXITER = 100
_NEWTON_GTOL = 1e-9  # on the gradient of the mean log-likelihood per trial
_BOOT_FAIL_WARN = 0.05  # failed-replicate fraction above which the message warns of bias
_BOOT_MIN_OK = 0.5  # fewer successful replicates than this fraction -> no CI

# P50Result.status codes
_OK, _FALLBACK, _NOT_BRACKETED, _NO_DATA, _FIT_FAILED, _BOOT_FAILED = 0, 1, 2, 3, 4, 5


@dataclass(frozen=True)
class PointSummary(Result):
    """Verdict counts and P(feasible) at one p.

    ``p_feasible``, ``ci_low`` and ``ci_high`` refer to the decided trials only
    (Clopper-Pearson at ``level``); they are NaN when no trial was decided or when
    the point failed (``ok=False``: too many undecided trials).  ``status`` is 0
    (clean), 1 (undecided trials excluded, with a warning) or 2 (failed).
    """

    p: float
    n_trials: int
    n_feasible: int
    n_infeasible: int
    n_undecided: int
    n_decided: int
    p_feasible: float
    ci_low: float
    ci_high: float
    level: float
    ok: bool
    status: int
    message: str


@dataclass(frozen=True)
class P50Result(Result):
    """The p at which P(feasible) = 1/2, with its bootstrap interval.

    Attributes
    ----------
    p50 : float
        Estimate (NaN when ``success`` is False).
    ci_low, ci_high : float
        Percentile-bootstrap interval at ``level`` (method ``"logistic-mle"``), or the
        bracketing grid points (method ``"isotonic-interpolation"``); NaN if unavailable.
    se : float
        Standard deviation of the successful bootstrap replicates (NaN if none).
    slope : float
        b in logit P = b (p50 - p); positive for a decreasing curve; ``inf`` for
        separated data, NaN when not fitted.
    method : str
        ``"logistic-mle"``, ``"isotonic-interpolation"`` or ``"none"``.
    n_points : int
        Points used (ok and with at least one decided trial).
    n_boot, n_boot_failed : int
        Bootstrap replicates drawn and those that could not be fitted.
    level : float
    success : bool
    status : int
        0 logistic MLE; 1 isotonic fallback (separated data); 2 p50 not bracketed by
        the grid; 3 too few usable points; 4 the logistic fit failed or is not
        decreasing; 5 p50 fitted but too many bootstrap replicates failed for a CI.
    message : str
    """

    p50: float
    ci_low: float
    ci_high: float
    se: float
    slope: float
    method: str
    n_points: int
    n_boot: int
    n_boot_failed: int
    level: float
    success: bool
    status: int
    message: str


# --------------------------------------------------------------------------------------
# Clopper-Pearson
# --------------------------------------------------------------------------------------
def _binomial_ci_iv(k, n, level):
    n = check_int("n", n, low=1)
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, (numbers.Real, np.floating, np.integer)):
        raise TypeError(f"`k` must be an integer in [0, n]; got {k!r} of type {type(k).__name__}")
    kf = float(k)
    if not math.isfinite(kf) or kf != math.floor(kf) or not 0 <= kf <= n:
        raise ValueError(f"`k` must be an integer in [0, n] with n={n}; got {k!r}")
    level = check_real("level", level, low=0.0, high=1.0, low_open=True, high_open=True)
    return int(kf), n, level


def _cp(k, n, level):
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=level, method="exact")
    return float(ci.low), float(ci.high)


def binomial_ci(k, n, *, level=0.95):
    r"""Exact (Clopper-Pearson) confidence interval for a binomial proportion.

    Parameters
    ----------
    k : int
        Successes, 0 <= k <= n.
    n : int
        Trials, n >= 1.
    level : float, optional
        Confidence level in (0, 1).

    Returns
    -------
    (low, high) : tuple of float
        ``low = 0`` when ``k = 0`` and ``high = 1`` when ``k = n``.

    Notes
    -----
    With a = 1 - level, low = B^{-1}(a/2; k, n-k+1) and high = B^{-1}(1-a/2; k+1, n-k),
    B^{-1} the Beta quantile (Clopper & Pearson 1934); computed by
    ``scipy.stats.binomtest(k, n).proportion_ci(method="exact")``.

    Examples
    --------
    >>> low, high = binomial_ci(0, 10)
    >>> low, round(high, 4)
    (0.0, 0.3085)
    """
    k, n, level = _binomial_ci_iv(k, n, level)
    return _cp(k, n, level)


# --------------------------------------------------------------------------------------
# Per-point summaries
# --------------------------------------------------------------------------------------
def _p_value(v, i):
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (numbers.Real, np.floating, np.integer)):
        raise TypeError(f"`records[{i}]['p']` must be a real number; got {v!r} of type {type(v).__name__}")
    x = float(v)
    if not math.isfinite(x):
        raise ValueError(f"`records[{i}]['p']` must be finite; got {v!r}")
    # Keep integer p (a number of facts) an int in the output.
    return int(x) if isinstance(v, (numbers.Integral, np.integer)) else x


def _summarize_points_iv(records, undecided_threshold, level):
    undecided_threshold = check_real("undecided_threshold", undecided_threshold, low=0.0, high=1.0, high_open=True)
    level = check_real("level", level, low=0.0, high=1.0, low_open=True, high_open=True)
    if isinstance(records, (str, bytes, Mapping)):
        raise TypeError(f"`records` must be an iterable of dicts; got {type(records).__name__}")
    try:
        it = iter(records)
    except TypeError:
        raise TypeError(f"`records` must be an iterable of dicts; got {type(records).__name__}") from None
    counts = {}  # float(p) -> [p_out, n_feasible, n_infeasible, n_undecided]
    seen = {key: set() for key in _GROUP_KEYS}
    n = 0
    for i, rec in enumerate(it):
        n += 1
        if not isinstance(rec, Mapping):
            raise TypeError(f"`records[{i}]` must be a dict with keys 'p' and 'verdict'; got {type(rec).__name__}")
        for key in ("p", "verdict"):
            if key not in rec:
                raise ValueError(f"`records[{i}]` must have key {key!r}; got keys {sorted(map(str, rec))}")
        p = _p_value(rec["p"], i)
        verdict = rec["verdict"]
        if verdict not in VERDICTS:
            raise ValueError(f"`records[{i}]['verdict']` must be one of {VERDICTS}; got {verdict!r}")
        for key in _GROUP_KEYS:
            if key in rec:
                seen[key].add(repr(rec[key]))
        entry = counts.setdefault(float(p), [p, 0, 0, 0])
        entry[1 + VERDICTS.index(verdict)] += 1
    if n == 0:
        raise ValueError("`records` must contain at least one record; got none")
    for key, values in seen.items():
        if len(values) > 1:
            raise ValueError(
                f"`records` must come from one experiment, but {key!r} takes {len(values)} values "
                f"({', '.join(sorted(values))}); summarise each separately"
            )
    return counts, undecided_threshold, level


def summarize_points(records, *, undecided_threshold=0.05, level=0.95):
    r"""Count verdicts per p and estimate P(feasible) with Clopper-Pearson intervals.

    Parameters
    ----------
    records : iterable of dict
        One dict per trial with at least ``"p"`` (a real number) and ``"verdict"``
        (``"feasible"``, ``"infeasible"`` or ``"undecided"``).  If the records carry
        ``"model"``, ``"d"`` or ``"kappa"``, each must take a single value.
    undecided_threshold : float, optional
        Largest tolerated fraction of undecided trials at a point, in [0, 1).  Up to
        it, undecided trials are excluded with a ``UserWarning``; above it the point
        fails (``ok=False``) with a ``UserWarning``.
    level : float, optional
        Confidence level of the intervals.

    Returns
    -------
    list of PointSummary
        Sorted by increasing p.

    Notes
    -----
    docs/simulator.md §6.  P(feasible) = n_feasible / n_decided on decided trials.

    Examples
    --------
    >>> recs = [{"p": 20, "verdict": v} for v in ["feasible"] * 3 + ["infeasible"]]
    >>> s = summarize_points(recs)[0]
    >>> s.p, s.n_feasible, s.n_infeasible, s.p_feasible
    (20, 3, 1, 0.75)
    """
    counts, threshold, level = _summarize_points_iv(records, undecided_threshold, level)
    out = []
    for key in sorted(counts):
        p, n_f, n_i, n_u = counts[key]
        n_trials = n_f + n_i + n_u
        n_dec = n_f + n_i
        frac = n_u / n_trials
        if frac > threshold:
            status, ok = 2, False
            msg = (
                f"p={p}: {n_u} of {n_trials} trials ({frac:.1%}) undecided, more than "
                f"undecided_threshold={threshold:g}; point failed"
            )
            warnings.warn(msg, UserWarning, stacklevel=2)
            p_hat = low = high = math.nan
        else:
            ok = True
            if n_u:
                status = 1
                msg = f"p={p}: excluded {n_u} undecided of {n_trials} trials ({frac:.1%}) from P(feasible)"
                warnings.warn(msg, UserWarning, stacklevel=2)
            else:
                status, msg = 0, "all trials decided"
            p_hat = n_f / n_dec
            low, high = _cp(n_f, n_dec, level)
        out.append(PointSummary(p, n_trials, n_f, n_i, n_u, n_dec, p_hat, low, high, level, ok, status, msg))
    return out


# --------------------------------------------------------------------------------------
# Logistic maximum likelihood (batched over bootstrap replicates)
# --------------------------------------------------------------------------------------
def _loglik(a, c, x, k, n):
    """Binomial log-likelihood (up to constants) of logit P = a + c x; a, c shape (B,), k (B, m)."""
    eta = a[:, None] + c[:, None] * x[None, :]
    # k log s(eta) + (n - k) log s(-eta) = k eta - n log(1 + e^eta)
    return np.sum(k * eta - n * np.logaddexp(0.0, eta), axis=1)


def _logistic_mle(x, k, n):
    """Newton's method with step halving for logit P = a + c x, batched over rows of ``k``.

    ``x`` (m,) standardised abscissae with at least two distinct values, ``k`` (B, m)
    successes, ``n`` (m,) trials.  Returns a, c, converged (all shape (B,)).  The caller
    excludes separated rows, for which the MLE does not exist.
    """
    B = k.shape[0]
    a = np.zeros(B)
    c = np.zeros(B)
    n_tot = n.sum()
    converged = np.zeros(B, dtype=bool)
    active = np.ones(B, dtype=bool)
    ll = _loglik(a, c, x, k, n)
    for _ in range(_NEWTON_MAXITER):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        aa, cc, kk = a[idx], c[idx], k[idx]
        eta = aa[:, None] + cc[:, None] * x[None, :]
        mu = 0.5 * (1.0 + np.tanh(0.5 * eta))  # expit, overflow-free
        r = kk - n * mu
        g0, g1 = r.sum(1), (r * x).sum(1)
        w = n * mu * (1.0 - mu)
        h00, h01, h11 = w.sum(1), (w * x).sum(1), (w * x * x).sum(1)
        done = np.hypot(g0, g1) <= _NEWTON_GTOL * n_tot
        converged[idx[done]] = True
        active[idx[done]] = False
        det = h00 * h11 - h01 * h01
        bad = ~(det > 0) | ~np.isfinite(det)
        active[idx[bad & ~done]] = False  # singular information: give up on this row
        keep = ~done & ~bad
        idx, aa, cc, kk = idx[keep], aa[keep], cc[keep], kk[keep]
        g0, g1, h00, h01, h11, det = g0[keep], g1[keep], h00[keep], h01[keep], h11[keep], det[keep]
        da = (h11 * g0 - h01 * g1) / det
        dc = (h00 * g1 - h01 * g0) / det
        ll_old = ll[idx]
        t = np.ones(idx.size)
        pending = np.ones(idx.size, dtype=bool)
        new_ll = np.full(idx.size, -np.inf)
        for _ in range(40):  # step halving until the log-likelihood does not decrease
            j = np.flatnonzero(pending)
            if j.size == 0:
                break
            trial = _loglik(aa[j] + t[j] * da[j], cc[j] + t[j] * dc[j], x, kk[j], n)
            acc = trial >= ll_old[j] - 1e-12 * np.abs(ll_old[j])
            new_ll[j[acc]] = trial[acc]
            pending[j[acc]] = False
            t[j[~acc]] *= 0.5
        a[idx] = aa + t * da
        c[idx] = cc + t * dc
        ll[idx] = np.where(pending, ll_old, new_ll)
        active[idx[pending]] = False  # no ascent step found
    return a, c, converged


def _separation(p, k, n):
    """Per row of ``k`` (B, m): (separated decreasing, separated increasing) at grid ``p`` (m,)."""
    has_f = k > 0
    has_i = k < n
    pf_max = np.where(has_f, p, -np.inf).max(axis=1)
    pf_min = np.where(has_f, p, np.inf).min(axis=1)
    pi_max = np.where(has_i, p, -np.inf).max(axis=1)
    pi_min = np.where(has_i, p, np.inf).min(axis=1)
    # All feasible trials at p <= all infeasible ones (includes one-verdict data).
    return pf_max <= pi_min, pi_max <= pf_min


def _isotonic_p50(p, g):
    """Crossing of 1/2 by the piecewise-linear non-increasing interpolant through (p, g).

    Returns (p50, bracket_low, bracket_high): the midpoint of the (possibly degenerate)
    interval where it equals 1/2, and the grid points bracketing it.
    """
    m = len(p)
    i = int(np.argmax(g <= 0.5))  # first point at or below 1/2 (exists: bracketed)
    if i == 0:
        lo = p[0]
    else:
        lo = p[i - 1] + (g[i - 1] - 0.5) / (g[i - 1] - g[i]) * (p[i] - p[i - 1])
    j = m - 1 - int(np.argmax(g[::-1] >= 0.5))  # last point at or above 1/2
    if j == m - 1:
        hi = p[-1]
    else:
        hi = p[j] + (g[j] - 0.5) / (g[j] - g[j + 1]) * (p[j + 1] - p[j])
    above = p[g > 0.5]
    below = p[g < 0.5]
    return 0.5 * (lo + hi), (above.max() if above.size else p[0]), (below.min() if below.size else p[-1])


def _get(pt, key, i):
    if isinstance(pt, PointSummary):
        return getattr(pt, key)
    if key not in pt:
        raise ValueError(f"`points[{i}]` must have key {key!r}; got keys {sorted(map(str, pt))}")
    return pt[key]


def _fit_p50_iv(points, n_boot, level):
    n_boot = check_int("n_boot", n_boot, low=0)
    level = check_real("level", level, low=0.0, high=1.0, low_open=True, high_open=True)
    if isinstance(points, (str, bytes, Mapping, PointSummary)):
        raise TypeError(f"`points` must be a sequence of PointSummary or dicts; got {type(points).__name__}")
    try:
        points = list(points)
    except TypeError:
        raise TypeError(f"`points` must be a sequence of PointSummary or dicts; got {type(points).__name__}") from None
    if not points:
        raise ValueError("`points` must contain at least one point; got none")
    used, failed = [], []
    seen = set()
    for i, pt in enumerate(points):
        if not isinstance(pt, (PointSummary, Mapping)):
            raise TypeError(f"`points[{i}]` must be a PointSummary or a dict; got {type(pt).__name__}")
        p = check_real(f"points[{i}].p", _get(pt, "p", i))
        if p in seen:
            raise ValueError(f"`points` must have distinct p; got p={p:g} twice")
        seen.add(p)
        n_f = check_int(f"points[{i}].n_feasible", _get(pt, "n_feasible", i), low=0)
        n_i = check_int(f"points[{i}].n_infeasible", _get(pt, "n_infeasible", i), low=0)
        ok = bool(pt.ok if isinstance(pt, PointSummary) else pt.get("ok", True))
        if not ok:
            failed.append(p)
        elif n_f + n_i > 0:
            used.append((p, n_f, n_f + n_i))
    used.sort()
    return used, sorted(failed), n_boot, level


def fit_p50(points, *, n_boot=1000, seed=0, level=0.95):
    r"""Estimate p50, where P(feasible) = 1/2, with a bootstrap confidence interval.

    Parameters
    ----------
    points : sequence of PointSummary or dict
        Output of :func:`summarize_points` (or its ``to_dict()`` forms: keys ``p``,
        ``n_feasible``, ``n_infeasible`` and optionally ``ok``).  Points with
        ``ok=False`` or no decided trial are left out, and the message says which.
    n_boot : int, optional
        Bootstrap replicates (0: no interval).
    seed : int, numpy.random.Generator or None, optional
        Passed to ``numpy.random.default_rng``.
    level : float, optional
        Confidence level of the percentile interval.

    Returns
    -------
    P50Result
        See its docstring; ``success=False`` (with ``p50=NaN``) when p50 is not
        bracketed by the grid, when fewer than two usable points remain, or when the
        logistic fit fails or does not decrease.

    Notes
    -----
    Model logit P(feasible | p) = b (p50 - p), maximum likelihood on the decided
    counts; nonparametric (per-point binomial) percentile bootstrap.  Separated data
    fall back to isotonic interpolation (module docstring); docs/simulator.md §6.

    Examples
    --------
    >>> pts = [{"p": p, "n_feasible": f, "n_infeasible": 20 - f}
    ...        for p, f in [(10, 19), (12, 14), (14, 6), (16, 1)]]
    >>> r = fit_p50(pts, n_boot=200)
    >>> r.method, round(r.p50, 2), r.ci_low < r.p50 < r.ci_high
    ('logistic-mle', 13.0, True)
    """
    used, failed, n_boot, level = _fit_p50_iv(points, n_boot, level)
    notes = []
    if failed:
        notes.append(f"left out {len(failed)} failed point(s) at p={', '.join(f'{p:g}' for p in failed)}")
    nan = math.nan

    def result(p50, lo, hi, se, slope, method, nb, nbf, success, status, msg):
        msg = "; ".join([msg] + notes)
        return P50Result(
            float(p50), float(lo), float(hi), float(se), float(slope), method, len(used), nb, nbf, level,
            success, status, msg,
        )

    if len(used) < 2:
        return result(
            nan, nan, nan, nan, nan, "none", 0, 0, False, _NO_DATA,
            f"need at least 2 points with decided trials to locate p50; got {len(used)}",
        )
    p = np.array([u[0] for u in used], dtype=float)
    k = np.array([u[1] for u in used], dtype=float)
    n = np.array([u[2] for u in used], dtype=float)
    f = k / n

    if np.all(f > 0.5):
        return result(
            nan, nan, nan, nan, nan, "none", 0, 0, False, _NOT_BRACKETED,
            f"p50 lies above the grid: P(feasible) > 1/2 at every p up to {p[-1]:g}",
        )
    if np.all(f < 0.5):
        return result(
            nan, nan, nan, nan, nan, "none", 0, 0, False, _NOT_BRACKETED,
            f"p50 lies below the grid: P(feasible) < 1/2 at every p down to {p[0]:g}",
        )

    sep_dec, sep_inc = (s[0] for s in _separation(p, k[None, :], n))
    if sep_dec:
        # Separated data are already non-increasing (1, ..., 1, [one mixed point], 0, ..., 0),
        # so the isotonic fit is p_hat itself.
        p50, lo, hi = _isotonic_p50(p, f)
        return result(
            p50, lo, hi, nan, math.inf, "isotonic-interpolation", 0, 0, True, _FALLBACK,
            "perfectly separated data (every feasible trial at a p no larger than every infeasible "
            "one): the logistic MLE diverges, so p50 is the isotonic interpolation and "
            "(ci_low, ci_high) the grid points bracketing it, not a bootstrap interval",
        )
    if sep_inc:
        return result(
            nan, nan, nan, nan, nan, "none", 0, 0, False, _FIT_FAILED,
            "P(feasible) increases with p (data separated in the wrong direction); no decreasing fit",
        )

    # Standardised abscissa keeps the Newton system well conditioned.
    center = float(np.average(p, weights=n))
    scale = float(np.sqrt(np.average((p - center) ** 2, weights=n)))
    x = (p - center) / scale
    a, c, conv = _logistic_mle(x, k[None, :], n)
    a, c, conv = a[0], c[0], conv[0]
    if not conv:
        return result(
            nan, nan, nan, nan, nan, "logistic-mle", 0, 0, False, _FIT_FAILED,
            f"logistic maximum likelihood did not converge in {_NEWTON_MAXITER} Newton steps",
        )
    if not c < 0:
        return result(
            nan, nan, nan, nan, -c / scale, "logistic-mle", 0, 0, False, _FIT_FAILED,
            f"fitted P(feasible) is not decreasing in p (slope b = {-c / scale:.3g} <= 0)",
        )
    p50 = center - scale * a / c
    slope = -c / scale
    msg = "logistic maximum likelihood"
    if not p[0] <= p50 <= p[-1]:
        msg += f"; p50 = {p50:.4g} extrapolates beyond the grid [{p[0]:g}, {p[-1]:g}]"

    if n_boot == 0:
        return result(p50, nan, nan, nan, slope, "logistic-mle", 0, 0, True, _OK, msg + "; no bootstrap requested")

    rng = np.random.default_rng(seed)
    kb = rng.binomial(n.astype(np.int64)[None, :], f[None, :], size=(n_boot, len(p))).astype(float)
    sd, si = _separation(p, kb, n)
    ok = ~(sd | si)
    ab, cb, convb = _logistic_mle(x, kb[ok], n)
    good = convb & (cb < 0)
    p50b = center - scale * ab[good] / cb[good]
    n_failed = n_boot - int(good.sum())
    if n_failed:
        msg += (
            f"; {n_failed} of {n_boot} bootstrap replicates could not be fitted "
            f"({int((~ok).sum())} separated) and were left out"
        )
        if n_failed > _BOOT_FAIL_WARN * n_boot:
            msg += "; the interval may be too narrow: add trials or grid points near p50"
    if p50b.size < max(2, _BOOT_MIN_OK * n_boot):
        return result(
            p50, nan, nan, nan, slope, "logistic-mle", n_boot, n_failed, True, _BOOT_FAILED,
            msg + "; too few successful replicates for an interval",
        )
    alpha = 1.0 - level
    lo, hi = np.quantile(p50b, [alpha / 2, 1 - alpha / 2])
    se = float(np.std(p50b, ddof=1))
    return result(p50, lo, hi, se, slope, "logistic-mle", n_boot, n_failed, True, _OK, msg)
