"""Per-instance capacity thresholds of nested instances, and p50 from their distribution.

docs/simulator.md §8.  Feasibility of a nested instance (:mod:`.nested`) is monotone in p,
so each instance has a threshold p* — the largest p it stores — and P(stored at p) is
the fraction of instances with p* >= p.  :func:`find_threshold` brackets p* by galloping
from a starting guess and then bisects, carrying only what is proven: a separating W
(re-scored over all constraints) at p proves every p' <= p, a verified Gordan
certificate at p proves every p' >= p infeasible.  An undecided solve stops the search
and the instance is reported undecided (with the bracket it reached), never folded.

:func:`estimate_thresholds` runs one search per instance through
:func:`capacity.sweeps.run_sweep` (each finished instance committed to the store at once,
resumable, any executor) and reports the median threshold p50 with an exact
distribution-free confidence interval from order statistics (:func:`median_ci`).
"""
import functools
import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .._resources import check_max_memory, check_memory, solve_memory, sweep_memory
from .._torch import check_device
from .._validation import check_bool, check_choice, check_int, check_real, show
from ..results import Result
from .feasibility import WARM_METHODS, solve_feasibility, torch_memory_check
from .instances import EMBEDDINGS, MODELS
from .nested import P_MAX_NESTED, make_nested_instance

__all__ = ["ThresholdSearch", "ThresholdEstimate", "find_threshold", "estimate_thresholds", "median_ci",
           "PairedDifference", "paired_difference", "fit_excess", "EXCESS_FORMS", "make_threshold_task",
           "run_threshold_task", "METHODS"]

METHODS = ("gram", "ldp", "highs", "torch")
_GALLOP = 0.02  # first gallop step as a fraction of p (doubles every step)
#: Gram engine: start each solve's passive set from the previous solve's support (docs/simulator.md §8);
#: False keeps the working-set warm start only (benchmarks/bench_engine_scale.py measures both).
WARM_SUPPORT = True


@dataclass(frozen=True)
class ThresholdSearch(Result):
    """The threshold p* of one nested instance.

    Attributes
    ----------
    threshold : int or None
        p*, the largest p the instance stores (None when undecided).
    lower : int
        Largest p proven feasible (1 when none was: one item is always stored).
    upper : int or None
        Smallest p proven infeasible (None when none was).
    solves : list of dict
        Every certified solve in order: p, verdict, seconds, rounds, working-set rows.
    success : bool
        True when lower + 1 == upper (p* = lower).
    status : int
        0 decided; 1 a solve was undecided; 2 ``max_solves`` reached; 3 every p up to ``p_max`` stored.
    """

    model: str
    d: int
    embedding: str
    seed: int
    trial: int
    method: str
    threshold: object
    lower: int
    upper: object
    solves: list
    seconds: float
    success: bool
    status: int
    message: str


@dataclass(frozen=True)
class ThresholdEstimate(Result):
    """Thresholds of ``len(thresholds)`` nested instances and their median with an exact CI.

    ``thresholds`` has one entry per instance in instance order (None when undecided);
    ``p50`` is the median of the decided ones and ``p50_ci`` = [low, high] a confidence
    interval for the median of the threshold distribution at coverage ``ci_level``
    (exact, order statistics; NaN when too few instances for ``level``).
    ``searches`` holds each instance's :class:`ThresholdSearch` as a dict.
    """

    d: int
    model: str
    embedding: str
    seed: int
    method: str
    thresholds: list
    n_undecided: int
    p50: float
    p50_ci: list
    ci_level: float
    level: float
    searches: list
    warnings: list

    def p_stored(self, p):
        """Fraction of the decided instances that store p items (p* >= p)."""
        t = np.array([x for x in self.thresholds if x is not None], dtype=float)
        return float(np.mean(t >= p)) if t.size else float("nan")


def _real_vector(name, values, finite=True):
    """``values`` as a 1-D float array, or TypeError/ValueError naming ``name`` (NaN/inf refused if ``finite``)."""
    if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, (Iterable, np.ndarray)):
        raise TypeError(f"`{name}` must be a sequence of real numbers; got {show(values)} of type "
                        f"{type(values).__name__}")
    try:
        x = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"`{name}` must be a sequence of real numbers; got {show(values)}") from None
    if x.ndim != 1:
        raise ValueError(f"`{name}` must be one-dimensional; got shape {x.shape}")
    if finite and not np.all(np.isfinite(x)):
        raise ValueError(f"`{name}` must hold finite numbers; got {show(values)}")
    return x


def median_ci(values, level=0.95):
    """Exact distribution-free confidence interval for the median: (low, high, coverage).

    With X_(1) <= ... <= X_(n), the interval [X_(j), X_(n+1-j)] covers the population median
    with probability at least 1 - 2 P(B <= j - 1), B ~ Binomial(n, 1/2), for any continuous
    law (and at least that for a discrete one).  ``j`` is the largest index reaching
    ``level``; with too few values for ``level`` the interval is (nan, nan) and the coverage 0.

    >>> median_ci(list(range(1, 21)))   # n = 20: [X_(6), X_(15)], coverage 0.9586
    (6.0, 15.0, 0.9586105346679688)
    """
    from scipy.stats import binom

    x = np.sort(_real_vector("values", values, finite=False))
    n = x.size
    level = check_real("level", level, low=0.0, high=1.0, low_open=True, high_open=True)
    best = None
    for j in range(1, n // 2 + 1):
        coverage = 1.0 - 2.0 * float(binom.cdf(j - 1, n, 0.5))
        if coverage >= level:
            best = (float(x[j - 1]), float(x[n - j]), coverage)
        else:
            break
    return best if best is not None else (float("nan"), float("nan"), 0.0)


class PairedDifference(NamedTuple):
    """Result of :func:`paired_difference`."""

    n: int
    mean: float
    se: float
    ci_low: float
    ci_high: float
    n_pos: int
    n_zero: int
    n_neg: int
    p_sign: float


def paired_difference(a, b, scale=1.0, level=0.95):
    """Mean of the paired differences (a_i - b_i) / scale with a Student-t interval and an exact sign test.

    Built for thresholds of the two models on the same nested instances (trial i of each shares
    inputs and targets, docs/simulator.md §8): the pair's difference removes most of the
    instance-to-instance spread, so it measures the coupled excess far more tightly than a ratio
    of medians.  Returns a :class:`PairedDifference`: ``n``, ``mean``, its standard error ``se``,
    the t interval [``ci_low``, ``ci_high``] at ``level`` on n - 1 degrees of freedom (the
    differences are averages of many small effects; the sign test assumes nothing), the counts of
    positive, zero and negative differences, and ``p_sign``, the two-sided exact sign-test p-value
    of "no difference" on the non-zero differences (1.0 when there are none).

    >>> r = paired_difference([103, 105, 101, 104, 100], [100, 101, 101, 100, 101], scale=50)
    >>> round(r.mean, 4), (r.n_pos, r.n_zero, r.n_neg), r.p_sign
    (0.04, (3, 1, 1), 0.625)
    """
    from scipy import stats

    x, y = _real_vector("a", a), _real_vector("b", b)
    if x.size != y.size:
        raise ValueError(f"`a` and `b` must have the same length (one pair per trial); got {x.size} and {y.size}")
    if x.size < 2:
        raise ValueError(f"`a` and `b` need at least 2 pairs for a standard error; got {x.size}")
    scale = check_real("scale", scale, low=0.0, low_open=True)
    level = check_real("level", level, low=0.0, high=1.0, low_open=True, high_open=True)
    diff = (x - y) / scale
    n = diff.size
    mean, se = float(diff.mean()), float(diff.std(ddof=1) / math.sqrt(n))
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * se
    n_pos, n_neg = int(np.sum(diff > 0)), int(np.sum(diff < 0))
    p_sign = float(stats.binomtest(n_pos, n_pos + n_neg, 0.5).pvalue) if n_pos + n_neg else 1.0
    return PairedDifference(n, mean, se, mean - half, mean + half, n_pos, n - n_pos - n_neg, n_neg, p_sign)


#: finite-size forms x(d) of :func:`fit_excess`: excess(d) = a + b x(d)
EXCESS_FORMS = {"1/d": lambda d: 1.0 / d, "1/sqrt(d)": lambda d: d ** -0.5, "1/ln d": lambda d: 1.0 / np.log(d)}


def fit_excess(d, y, sigma, form):
    """Weighted least-squares fit y = a + b x(d) of an excess over d; a is its d -> infinity limit.

    ``form`` is a key of :data:`EXCESS_FORMS` ("1/d", "1/sqrt(d)", "1/ln d"); the weights are
    1 / sigma^2.  Returns (a, se_a, b, se_b, chi2, dof); the standard errors assume the form is
    right, and chi2 on dof = len(d) - 2 degrees of freedom says whether the data allow it.

    >>> a, se_a, b, se_b, chi2, dof = fit_excess([10, 20, 40], [0.11, 0.06, 0.035], [0.01] * 3, "1/d")
    >>> round(a, 6), round(b, 6), dof
    (0.01, 1.0, 1)
    """
    check_choice("form", form, tuple(EXCESS_FORMS))
    ds, yy, s = _real_vector("d", d), _real_vector("y", y), _real_vector("sigma", sigma)
    if not (ds.size == yy.size == s.size):
        raise ValueError(f"`d`, `y` and `sigma` must have the same length; got {ds.size}, {yy.size}, {s.size}")
    if ds.size < 3:
        raise ValueError(f"`d` needs at least 3 points for a two-parameter fit with a chi2; got {ds.size}")
    if np.any(ds <= 1):
        raise ValueError(f"`d` must hold dimensions > 1; got {show(list(ds))}")
    if np.any(s <= 0):
        raise ValueError(f"`sigma` must be positive; got {show(list(s))}")
    x, w = EXCESS_FORMS[form](ds), 1.0 / s ** 2
    A = np.stack([np.ones_like(x), x], axis=1)
    cov = np.linalg.inv(A.T @ (A * w[:, None]))
    coef = cov @ (A.T @ (w * yy))
    chi2 = float(np.sum(w * (yy - A @ coef) ** 2))
    return float(coef[0]), float(np.sqrt(cov[0, 0])), float(coef[1]), float(np.sqrt(cov[1, 1])), chi2, ds.size - 2


def _search_iv(model, d, seed, trial, embedding, p_start, method, max_solves, p_max, device=None):
    check_choice("model", model, MODELS)
    check_choice("embedding", embedding, EMBEDDINGS)
    check_choice("method", method, METHODS)
    if device is not None:
        check_device(device)
        if method != "torch":
            raise ValueError(f"`device` applies to method 'torch' only; got device={device!r} with method={method!r}")
    d = check_int("d", d, low=1, high=4096)
    seed = check_int("seed", seed, low=0)
    trial = check_int("trial", trial, low=0)
    p_max = check_int("p_max", p_max, low=2, high=P_MAX_NESTED)
    p_start = 2 if p_start is None else min(p_max, max(2, int(round(check_real("p_start", p_start, low=0.0)))))
    max_solves = check_int("max_solves", max_solves, low=1)
    return d, seed, trial, p_start, max_solves, p_max


def _search_memory(model, d, method, p_start, p_max):
    """Estimated peak bytes of one threshold search: a solve at the largest p it is likely to reach,
    max(p_start, d^2) (the threshold lies below d^2 and the gallop overshoots it by < 2x), at most p_max."""
    p = int(min(p_max, max(2, p_start or 2, d * d)))
    return solve_memory(d, p, p - 1, model=model, method=method), p


def find_threshold(model, d, *, seed=0, trial=0, embedding="gaussian", p_start=None, method="gram",
                   warm_start=True, max_solves=60, p_max=P_MAX_NESTED, max_memory=None, device=None):
    """The threshold p* of nested instance ``trial``: gallop from ``p_start``, then bisect.

    Parameters
    ----------
    model : {"coupled", "decoupled"}
    d : int
    seed, trial : int
        Identify the nested instance (:func:`~capacity.simulate.nested.make_nested_instance`).
    embedding : {"gaussian", "sphere"}
    p_start : float, optional
        First p tried (e.g. a theory's prediction; only the cost depends on it, not p*).
        Default 2 (then the search gallops up from there).
    method : {"gram", "ldp", "highs", "torch"}
        Feasibility engine (:func:`~capacity.simulate.feasibility.solve_feasibility`).
    warm_start : bool
        Gram and torch engines: start each solve from the previous solve's working set (the Gram
        engine also from its support, as the solver's passive set).
    max_solves : int
        Budget of certified solves (status 2 when exhausted).
    p_max : int
        Largest p tried.
    max_memory : int, optional
        Bytes each solve may use (default :func:`capacity._resources.default_memory_limit`);
        a solve whose estimate exceeds it is refused (:class:`~capacity.exceptions.ResourceLimitError`).
    device : {"cpu", "cuda", "auto"}, optional
        Torch engine only: where it runs (default "auto"; see ``solve_feasibility``).

    Returns
    -------
    ThresholdSearch

    Examples
    --------
    >>> s = find_threshold("decoupled", 6, seed=0, trial=0, p_start=15)
    >>> s.success, s.lower + 1 == s.upper, s.threshold == s.lower
    (True, True, True)
    """
    d, seed, trial, p, max_solves, p_max = _search_iv(model, d, seed, trial, embedding, p_start, method,
                                                      max_solves, p_max, device)
    warm_start = check_bool("warm_start", warm_start)
    check_max_memory(max_memory)
    dev = {"device": device} if device is not None else {}
    t0 = time.perf_counter()
    lower, upper = 1, None
    solves, pairs, support = [], None, None
    step = max(1, int(round(_GALLOP * p)))
    status, message = 0, ""
    while True:
        if len(solves) >= max_solves:
            status, message = 2, f"no threshold after {max_solves} solves (bracket [{lower}, {upper}])"
            break
        inst = make_nested_instance(model, d, p, embedding=embedding, seed=seed, trial=trial)
        extra = {"initial_pairs": pairs} if (warm_start and method in WARM_METHODS and pairs is not None) else {}
        if extra and method == "gram" and WARM_SUPPORT:
            extra["initial_support"] = support
        res = solve_feasibility(inst, method=method, max_memory=max_memory, **extra, **dev)
        if method in WARM_METHODS:
            pairs, support = res.working_set, res.support
        solves.append({"p": p, "verdict": res.verdict, "seconds": res.seconds, "rounds": res.rounds,
                       "n_rows": res.n_rows})
        if res.verdict == "undecided":
            status, message = 1, f"undecided at p = {p} ({res.message}); bracket [{lower}, {upper}]"
            break
        if res.verdict == "feasible":
            lower = p
        else:
            upper = p
        if upper is not None and upper - lower <= 1:
            break
        if upper is None:  # gallop up
            if lower >= p_max:
                status, message = 3, f"every p up to p_max = {p_max} is stored"
                break
            p = min(p_max, lower + step)
            step *= 2
        elif all(s["verdict"] == "infeasible" for s in solves):  # gallop down until something is stored
            p = max(2, upper - step)
            step *= 2
        else:
            p = (lower + upper) // 2
    success = status == 0
    if success:
        message = f"p* = {lower}: stored at {lower} (re-scored W), not at {upper} (verified certificate)"
    return ThresholdSearch(model=model, d=d, embedding=embedding, seed=seed, trial=trial, method=method,
                           threshold=lower if success else None, lower=lower, upper=upper, solves=solves,
                           seconds=time.perf_counter() - t0, success=success, status=status, message=message)


def make_threshold_task(model, d, *, trial, seed, embedding="gaussian", method="gram", p_start=None):
    """The JSON task of one instance's threshold search (what :func:`run_threshold_task` runs)."""
    return {"experiment": "threshold", "model": model, "d": int(d), "trial": int(trial), "seed": int(seed),
            "embedding": embedding, "method": method,
            "p_start": None if p_start is None else int(round(p_start))}


def run_threshold_task(task, *, max_memory=None, device=None):
    """One threshold search as a function of its JSON task (for :func:`capacity.sweeps.run_sweep`);
    ``device`` (method "torch" only) is not part of the task."""
    if not isinstance(task, Mapping):
        raise TypeError(f"`task` must be a dict made by make_threshold_task; got {show(task)}")
    keys = ("model", "d", "seed", "trial", "embedding", "p_start", "method")
    missing = [k for k in keys if k not in task]
    if missing:
        raise ValueError(f"`task` is missing the keys {', '.join(map(repr, missing))} (make it with "
                         f"make_threshold_task)")
    return find_threshold(task["model"], task["d"], seed=task["seed"], trial=task["trial"],
                          embedding=task["embedding"], p_start=task["p_start"], method=task["method"],
                          max_memory=max_memory, device=device).to_dict()


def estimate_thresholds(model, d, *, instances, seed=0, embedding="gaussian", method="gram", p_start=None,
                        store=None, executor=None, jobs=1, scheduler=None, progress=None, level=0.95,
                        max_memory=None, device=None):
    """Thresholds of ``instances`` nested instances, each committed to ``store`` as it finishes.

    Rerunning the same call resumes: instances already in the store are read back, not
    searched again.  Results do not depend on ``jobs``, ``executor`` or ``scheduler``
    (``"local:N"`` or a Dask scheduler address, :func:`capacity.sweeps.dask_executor`; the
    store stays in this process).

    Every argument is validated and the memory estimated (``jobs`` searches at once, each
    up to a solve at p = max(p_start, d^2)) before any search starts; an estimate above
    ``max_memory`` (bytes; default :func:`capacity._resources.default_memory_limit`) is a
    :class:`~capacity.exceptions.ResourceLimitError`.  ``method="torch"`` runs on ``device``
    ("cpu", "cuda" or "auto", the default), resolved here first (no torch: ImportError; "cuda"
    without a GPU: ValueError) and, on a GPU, its memory checked for ``jobs`` of that largest
    solve at once (the workers share the GPU).  The device is not part of the stored tasks.

    Returns
    -------
    ThresholdEstimate

    Examples
    --------
    >>> est = estimate_thresholds("decoupled", 6, instances=7, p_start=15, progress=False)
    >>> len(est.thresholds), est.n_undecided, est.p50 == sorted(est.thresholds)[3]
    (7, 0, True)
    """
    from ..sweeps.executors import executor_for  # the generic engine, imported only when a sweep runs
    from ..sweeps.runner import run_sweep

    instances = check_int("instances", instances, low=1, high=10**6)
    d, _, _, p0, _, _ = _search_iv(model, d, seed, 0, embedding, p_start, method, 1, P_MAX_NESTED, device)
    level = check_real("level", level, low=0.0, high=1.0, low_open=True, high_open=True)
    jobs = check_int("jobs", jobs, low=1)
    if scheduler is not None and executor is not None:
        raise ValueError(f"pass either `executor` or `scheduler`, not both; got scheduler={scheduler!r} "
                         "and an executor")
    check_max_memory(max_memory)
    per_search, p_reach = _search_memory(model, d, method, p0 if p_start is not None else None, P_MAX_NESTED)
    check_memory(f"one threshold search at d = {d} (a solve at p = {p_reach}, method {method!r})", per_search,
                 max_memory)
    check_memory(f"{instances} threshold searches (`instances`), {jobs} at once",
                 sweep_memory(per_search, instances, jobs), max_memory)
    if method == "torch":
        torch_memory_check(f"one threshold search at d = {d} (a solve at p = {p_reach}, method 'torch')", d, p_reach,
                           p_reach - 1, model=model, device="auto" if device is None else device,
                           max_memory=max_memory, copies=1 if scheduler is not None else jobs)
    tasks = [make_threshold_task(model, d, trial=t, seed=seed, embedding=embedding, method=method, p_start=p_start)
             for t in range(instances)]
    kw = {k: v for k, v in (("max_memory", max_memory), ("device", device)) if v is not None}
    fn = functools.partial(run_threshold_task, **kw) if kw else run_threshold_task
    with executor_for(scheduler, jobs=jobs) as dask:
        results = run_sweep(fn, tasks, store=store, executor=executor if dask is None else dask,
                            jobs=jobs, progress=progress)
    thresholds = [r["threshold"] for r in results]
    decided = [t for t in thresholds if t is not None]
    n_undecided = len(thresholds) - len(decided)
    warnings = []
    if n_undecided:
        warnings.append(f"{n_undecided} of {len(thresholds)} instances undecided; p50 uses the decided ones")
    low, high, coverage = median_ci(decided, level) if decided else (math.nan, math.nan, 0.0)
    if decided and coverage == 0.0:
        warnings.append(f"{len(decided)} decided instances are too few for a {level:.0%} interval of the median")
    return ThresholdEstimate(d=int(d), model=model, embedding=embedding, seed=int(seed), method=method,
                             thresholds=thresholds, n_undecided=n_undecided,
                             p50=float(np.median(decided)) if decided else math.nan, p50_ci=[low, high],
                             ci_level=coverage, level=float(level), searches=results, warnings=warnings)
