"""Capacity sweeps: trials on a grid of p, persisted, summarised (docs/simulator.md §6-7).

:func:`simulate_capacity` runs :func:`~capacity.simulate.trial.run_trial` over a grid of
p through the generic engine :func:`capacity.sweeps.run_sweep` (every verdict committed
to a results store as it finishes) and estimates P(feasible) per p and p50
(:mod:`capacity.simulate.estimate`).  :func:`summarize_margins` summarises the
max-margin trials of such a sweep (``experiment="margin"``) per p.
"""
import functools
import math
import numbers
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from .._resources import check_max_memory, check_memory, solve_memory, sweep_memory
from .._torch import check_device
from .._validation import check_choice, check_int, check_real, show
from ..results import Result, plain
from .estimate import VERDICTS, fit_p50, summarize_points
from .feasibility import METHODS, torch_memory_check
from .instances import EMBEDDINGS, MODELS, P_MAX
from .trial import EXPERIMENTS, make_task, run_trial

__all__ = ["CapacitySweepResult", "MarginPoint", "MarginSummary", "simulate_capacity", "summarize_margins"]


@dataclass(frozen=True)
class CapacitySweepResult(Result):
    """Verdicts of a capacity sweep, P(feasible) per p and p50 (docs/simulator.md §6).

    ``records`` are the per-trial results in task order (p in the order given, then
    trial), each with its task's ``p`` and ``trial`` added.  ``n_undecided`` is the
    total number of undecided trials over ``points``.  ``lower_bound`` is set for the
    trained two-layer experiment, whose ``p50`` is then a lower bound.

    :meth:`to_dict` deliberately summarises: it leaves out the per-trial ``records``
    and spreads ``p50`` over ``p50``, ``p50_ci`` and ``p50_fit`` (the JSON that
    ``capacity simulate --json`` prints).
    """

    d: int
    model: str
    experiment: str
    embedding: str
    trials: int
    seed: int
    points: list  # of PointSummary
    p50: object  # P50Result
    records: list  # per-trial results, task order, each with "p" and "trial"
    warnings: list
    lower_bound: object = None  # two-layer (trained): LowerBoundEstimate; p50 is then a lower bound

    @property
    def n_undecided(self):
        """Undecided trials over all points."""
        return sum(pt.n_undecided for pt in self.points)

    def to_dict(self):
        """Summary as plain Python (see the class docstring): no per-trial records."""
        out = {
            "d": self.d,
            "model": self.model,
            "experiment": self.experiment,
            "embedding": self.embedding,
            "trials": self.trials,
            "seed": self.seed,
            "points": plain(self.points),
            "p50": self.p50.p50,
            "p50_ci": [self.p50.ci_low, self.p50.ci_high],
            "p50_fit": plain(self.p50),
            "warnings": list(self.warnings),
        }
        if self.lower_bound is not None:
            out.update(p50_is_lower_bound=True, lower_bound_points=plain(self.lower_bound.points))
        return out


def _simulate_iv(model, d, ps, trials, seed, experiment, K, embedding, method, jobs, n_boot, undecided_threshold, m,
                 max_memory, executor, scheduler, device=None):
    """Check every argument of :func:`simulate_capacity` and the memory of the whole sweep before any task runs."""
    experiment = check_choice("experiment", experiment, EXPERIMENTS)
    model = check_choice("model", model, MODELS)
    embedding = check_choice("embedding", embedding, EMBEDDINGS)
    method = check_choice("method", method, METHODS)
    if device is not None:
        check_device(device)
        if experiment != "feasibility" or method != "torch":
            raise ValueError(f"`device` applies to experiment 'feasibility' with method 'torch' only; got "
                             f"device={device!r} with experiment={experiment!r}, method={method!r}")
    d = check_int("d", d, low=1, high=4096)
    trials = check_int("trials", trials, low=1)
    seed = check_int("seed", seed, low=0)
    jobs = check_int("jobs", jobs, low=1)
    n_boot = check_int("n_boot", n_boot, low=0)
    undecided_threshold = check_real("undecided_threshold", undecided_threshold, low=0.0, high=1.0, high_open=True)
    if isinstance(ps, (str, bytes, Mapping)) or not isinstance(ps, Iterable):
        raise TypeError(f"`ps` must be a sequence of integers (the values of p); got {show(ps)} of type "
                        f"{type(ps).__name__}")
    ps = [check_int("p", p, low=2, high=P_MAX) for p in ps]
    if not ps:
        raise ValueError("`ps` must contain at least one value of p; got none")
    if scheduler is not None and executor is not None:
        raise ValueError(f"pass either `executor` or `scheduler`, not both; got scheduler={scheduler!r} "
                         "and an executor")
    check_max_memory(max_memory)
    p_big = max(ps)
    # every task is checked (the largest p first, then each p's task) before any is dispatched
    make_task(experiment, model, d, p_big, trial=0, seed=seed, K=K, embedding=embedding, method=method,
              **({} if m is None else {"m": m}))
    per_trial = solve_memory(d, p_big, K, model=model, method=method, experiment=experiment, m=m)
    check_memory(f"one trial at d = {d}, `p` = {p_big} ({experiment}, {model}"
                 + (f", method {method!r})" if experiment == "feasibility" else ")"), per_trial, max_memory)
    n_tasks = len(ps) * trials
    need = sweep_memory(per_trial, n_tasks, jobs)
    check_memory(f"a sweep of {n_tasks} tasks (`trials` = {trials} at {len(ps)} value(s) of `p`, {jobs} at once)",
                 need, max_memory)
    if experiment == "feasibility" and method == "torch":  # torch installed, the device there, its memory enough
        torch_memory_check(f"one trial at d = {d}, `p` = {p_big} (feasibility, {model}, method 'torch')", d, p_big, K,
                           model=model, device="auto" if device is None else device, max_memory=max_memory,
                           copies=1 if scheduler is not None else jobs)
    return d, ps, trials, seed, jobs, n_boot, undecided_threshold


def simulate_capacity(model, d, ps, *, trials, seed=0, experiment="feasibility", K=None, embedding="gaussian",
                      method="ldp", store=None, executor=None, jobs=1, progress=None, n_boot=1000,
                      undecided_threshold=0.05, m=None, scheduler=None, max_memory=None, device=None):
    """Run ``trials`` instances at each p in ``ps``, persist each verdict, estimate P(feasible) and p50.

    Every finished trial is committed to ``store`` (a path or ResultsStore) at once;
    rerunning the same call resumes without repeating or losing trials.  Results
    do not depend on ``jobs``/``executor``/``scheduler`` (docs/simulator.md §7).

    ``scheduler`` runs the trials on a Dask cluster: ``"local:N"`` starts N local
    worker processes for this call, an address such as ``"tcp://host:8786"`` uses
    a running scheduler (:func:`capacity.sweeps.dask_executor`); the store stays in
    this process.  It excludes ``jobs > 1`` and ``executor`` (ValueError).

    ``device`` ("cpu", "cuda" or "auto", the default) is where ``method="torch"`` runs; it is
    not part of the stored tasks (verdicts are certified on the host whatever the device).

    Every argument and every task is validated, and the memory of the sweep estimated
    (``jobs`` solves at the largest p at once, plus the task list and results), before any
    task runs: a wrong kind is a TypeError, a wrong value a ValueError naming the argument,
    and an estimate above ``max_memory`` (bytes; default
    :func:`capacity._resources.default_memory_limit`) a
    :class:`~capacity.exceptions.ResourceLimitError`.

    Returns
    -------
    CapacitySweepResult
        For ``experiment="two-layer"`` (trained) a search that finds nothing is
        undecided, never infeasible, and ``p50`` is the p50 of the certified-feasible
        fraction over all trials: a lower bound (``lower_bound``).
    """
    from ..sweeps.executors import executor_for  # the generic engine, imported only when a sweep runs
    from ..sweeps.runner import run_sweep

    d, ps, trials, seed, jobs, n_boot, undecided_threshold = _simulate_iv(
        model, d, ps, trials, seed, experiment, K, embedding, method, jobs, n_boot, undecided_threshold, m,
        max_memory, executor, scheduler, device)
    extra = {} if m is None else {"m": m}
    tasks = [make_task(experiment, model, d, p, trial=t, seed=seed, K=K, embedding=embedding, method=method, **extra)
             for p in ps for t in range(trials)]
    kw = {k: v for k, v in (("max_memory", max_memory), ("device", device)) if v is not None}
    fn = functools.partial(run_trial, **kw) if kw else run_trial
    with executor_for(scheduler, jobs=jobs) as dask:
        results = run_sweep(fn, tasks, store=store, executor=executor if dask is None else dask, jobs=jobs,
                            progress=progress)
    records = [{"p": task["p"], "verdict": res["verdict"], "d": d, "model": model} for task, res in zip(tasks, results)]
    lower = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if experiment == "two-layer":
            # a trained search that finds nothing is undecided, never infeasible: the estimate is
            # the certified-feasible fraction over all trials, a lower bound (see p50_lower_bound)
            from .two_layer import p50_lower_bound

            points = summarize_points(records, undecided_threshold=0.999999)
            lower = p50_lower_bound(records, n_boot=n_boot, seed=seed)
            p50 = lower.p50_lower
        else:
            points = summarize_points(records, undecided_threshold=undecided_threshold)
            p50 = fit_p50(points, n_boot=n_boot, seed=seed)
    msgs = [str(w.message) for w in caught]
    for msg in msgs:
        warnings.warn(msg, UserWarning, stacklevel=2)
    trial_records = [{"p": task["p"], "trial": task["trial"], **res} for task, res in zip(tasks, results)]
    return CapacitySweepResult(d=int(d), model=model, experiment=experiment, embedding=embedding, trials=int(trials),
                               seed=int(seed), points=points, p50=p50, records=trial_records, warnings=msgs,
                               lower_bound=lower)


# --------------------------------------------------------------------------------------
# Max-margin summary
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MarginPoint(Result):
    """Max-margin trials at one p: verdict counts and the mean normalised margin kappa_hat.

    ``alpha = p / d**2``.  ``kappa_hat_mean`` is the mean over the feasible trials (NaN
    if none) and ``kappa_hat_se`` its standard error, std(ddof=1) / sqrt(n_feasible)
    (NaN with fewer than two feasible trials).
    """

    p: int
    alpha: float
    n_trials: int
    n_feasible: int
    n_infeasible: int
    n_undecided: int
    kappa_hat_mean: float
    kappa_hat_se: float


@dataclass(frozen=True)
class MarginSummary(Result):
    """Per-p summary of max-margin trials (docs/simulator.md §3): one :class:`MarginPoint` per p,
    sorted by p."""

    d: int
    rows: list  # of MarginPoint


def _summarize_margins_iv(records, d):
    if isinstance(records, CapacitySweepResult):
        d = records.d if d is None else d
        records = records.records
    if d is None:
        raise TypeError("`d` is required when `records` is not a CapacitySweepResult; got None")
    d = check_int("d", d, low=1)
    if isinstance(records, (str, bytes, Mapping)):
        raise TypeError(f"`records` must be a CapacitySweepResult or an iterable of dicts; "
                        f"got {type(records).__name__}")
    groups = {}  # p -> [verdicts], [kappa_hat of the feasible trials]
    for i, rec in enumerate(records):
        if not isinstance(rec, Mapping):
            raise TypeError(f"`records[{i}]` must be a dict; got {type(rec).__name__}")
        if "p" not in rec or "verdict" not in rec:
            raise ValueError(f"`records[{i}]` must have keys 'p' and 'verdict' (as the records of "
                             f"simulate_capacity do); got keys {sorted(map(str, rec))}")
        p, verdict = rec["p"], rec["verdict"]
        if isinstance(p, (bool, np.bool_)) or not isinstance(p, (numbers.Integral, np.integer)):
            raise TypeError(f"`records[{i}]['p']` must be an integer; got {p!r} of type {type(p).__name__}")
        if verdict not in VERDICTS:
            raise ValueError(f"`records[{i}]['verdict']` must be one of {VERDICTS}; got {verdict!r}")
        verdicts, kappas = groups.setdefault(int(p), ([], []))
        verdicts.append(verdict)
        if verdict == "feasible":
            if "kappa_hat" not in rec:
                raise ValueError(f"`records[{i}]` is feasible but has no 'kappa_hat'")
            kappas.append(rec["kappa_hat"])
    if not groups:
        raise ValueError("`records` must contain at least one record; got none")
    return groups, d


def summarize_margins(records, d=None):
    """Mean and standard error of the max margin kappa_hat per p, with the verdict counts.

    Parameters
    ----------
    records : CapacitySweepResult or iterable of dict
        A sweep of ``simulate_capacity(..., experiment="margin")`` or its ``records``:
        one dict per trial with ``"p"``, ``"verdict"`` and, when feasible,
        ``"kappa_hat"``.  Records are grouped by their own ``p``, in any order.
    d : int, optional
        Dimension (for alpha = p / d^2); defaults to the sweep's ``d``.

    Returns
    -------
    MarginSummary
        One row per p, sorted by p (see :class:`MarginPoint`).

    Examples
    --------
    >>> recs = [{"p": 20, "verdict": "feasible", "kappa_hat": k} for k in (0.2, 0.4)]
    >>> recs.append({"p": 10, "verdict": "undecided"})
    >>> [(r.p, r.n_trials, round(r.kappa_hat_mean, 3), round(r.kappa_hat_se, 3))
    ...  for r in summarize_margins(recs, 10).rows]
    [(10, 1, nan, nan), (20, 2, 0.3, 0.1)]
    """
    groups, d = _summarize_margins_iv(records, d)
    rows = []
    for p in sorted(groups):
        verdicts, kappas = groups[p]
        k = np.array(kappas, dtype=float)
        rows.append(MarginPoint(
            p=p, alpha=p / d**2, n_trials=len(verdicts),
            n_feasible=verdicts.count("feasible"), n_infeasible=verdicts.count("infeasible"),
            n_undecided=verdicts.count("undecided"),
            kappa_hat_mean=float(k.mean()) if k.size else math.nan,
            kappa_hat_se=float(k.std(ddof=1) / np.sqrt(k.size)) if k.size > 1 else math.nan,
        ))
    return MarginSummary(d=d, rows=rows)
