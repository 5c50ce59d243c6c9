"""Capacity estimation sweeps: trials on a grid of p, persisted, summarised (spec/simulator.md §6-7)."""
import warnings
from dataclasses import dataclass

from ..simulate.estimate import fit_p50, summarize_points
from ..simulate.trial import make_task, run_trial
from .runner import run_sweep

__all__ = ["CapacitySweepResult", "simulate_capacity"]


@dataclass(frozen=True)
class CapacitySweepResult:
    d: int
    model: str
    experiment: str
    embedding: str
    trials: int
    seed: int
    points: list  # of PointSummary
    p50: object  # P50Result
    records: list  # raw per-trial results, task order
    warnings: list
    lower_bound: object = None  # two-layer (trained): LowerBoundEstimate; p50 is then a lower bound

    def to_dict(self):
        return {
            "d": self.d,
            "model": self.model,
            "experiment": self.experiment,
            "embedding": self.embedding,
            "trials": self.trials,
            "seed": self.seed,
            "points": [pt.to_dict() for pt in self.points],
            "p50": self.p50.p50,
            "p50_ci": [self.p50.ci_low, self.p50.ci_high],
            "p50_fit": self.p50.to_dict(),
            "warnings": list(self.warnings),
            **({"p50_is_lower_bound": True, "lower_bound_points": [dict(pt) for pt in self.lower_bound.points]}
               if self.lower_bound is not None else {}),
        }


def simulate_capacity(model, d, ps, *, trials, seed=0, experiment="feasibility", K=None, embedding="gaussian",
                      method="ldp", store=None, executor=None, jobs=1, progress=None, n_boot=1000,
                      undecided_threshold=0.05, m=None):
    """Run ``trials`` instances at each p in ``ps``, persist each verdict, estimate P(feasible) and p50.

    Every finished trial is committed to ``store`` (a path or ResultsStore) at once;
    rerunning the same call resumes without repeating or losing trials.  Results
    do not depend on ``jobs``/``executor``.
    """
    ps = [int(p) for p in ps]
    extra = {} if m is None else {"m": m}
    tasks = [make_task(experiment, model, d, p, trial=t, seed=seed, K=K, embedding=embedding, method=method, **extra)
             for p in ps for t in range(trials)]
    results = run_sweep(run_trial, tasks, store=store, executor=executor, jobs=jobs, progress=progress)
    records = [{"p": task["p"], "verdict": res["verdict"], "d": d, "model": model} for task, res in zip(tasks, results)]
    lower = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if experiment == "two-layer":
            # a trained search that finds nothing is undecided, never infeasible: the estimate is
            # the certified-feasible fraction over all trials, a lower bound (see p50_lower_bound)
            from ..simulate.two_layer import p50_lower_bound

            points = summarize_points(records, undecided_threshold=0.999999)
            lower = p50_lower_bound(records, n_boot=n_boot, seed=seed)
            p50 = lower.p50_lower
        else:
            points = summarize_points(records, undecided_threshold=undecided_threshold)
            p50 = fit_p50(points, n_boot=n_boot, seed=seed)
    msgs = [str(w.message) for w in caught]
    for m in msgs:
        warnings.warn(m, UserWarning, stacklevel=2)
    return CapacitySweepResult(d=int(d), model=model, experiment=experiment, embedding=embedding, trials=int(trials),
                               seed=int(seed), points=points, p50=p50, records=list(results), warnings=msgs,
                               lower_bound=lower)
