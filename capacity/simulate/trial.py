"""One simulation trial as a pure function of a JSON task (what the sweep engine runs).

A task is a dict with keys ``experiment`` ("feasibility", "margin", "hebbian",
"two-layer-frozen" or "two-layer"), ``model``, ``d``, ``p``, ``K`` (None for the
default p - 1), ``embedding``, ``seed``, ``trial``; for feasibility also ``method``,
for the two-layer experiments also ``m`` (hidden width).  The result is a JSON-ready
dict that always contains ``verdict`` ("feasible", "infeasible", "undecided";
Hebbian: whether all associations are recalled) so the same estimation code serves
every experiment.

Two-layer trained trials ("two-layer") are certified like the others, but a search
that finds no product is "undecided" with ``not_found=True``: P(feasible) is then
bounded from below only (:func:`capacity.simulate.two_layer.p50_lower_bound`), and
the generic estimator fails such points loudly instead of guessing.
"""
from .._validation import check_int
from .feasibility import solve_feasibility
from .hebbian import hebbian_recall
from .instances import make_instance
from .margin import solve_max_margin
from .two_layer import M_MAX, solve_two_layer

__all__ = ["EXPERIMENTS", "make_task", "run_trial"]

EXPERIMENTS = ("feasibility", "margin", "hebbian", "two-layer-frozen", "two-layer")
_TWO_LAYER = ("two-layer-frozen", "two-layer")


def make_task(experiment, model, d, p, *, trial, seed, K=None, embedding="gaussian", method="ldp", m=None):
    """The canonical task dict (its JSON is the key of the results store).

    ``m`` (hidden width) is required for the two-layer experiments and not allowed
    otherwise, so the keys of the other experiments' stored results do not change.

    Examples
    --------
    >>> make_task("two-layer", "decoupled", 12, 30, trial=0, seed=1, m=6)["m"]
    6
    """
    if experiment in _TWO_LAYER:
        if m is None:
            raise ValueError(f"`m` is required for experiment {experiment!r}; got None")
        m = check_int("m", m, low=1, high=M_MAX)
    elif m is not None:
        raise ValueError(f"`m` is only used by the two-layer experiments; got m={m!r} for {experiment!r}")
    task = {"experiment": experiment, "model": model, "d": int(d), "p": int(p), "K": None if K is None else int(K),
            "embedding": embedding, "seed": int(seed), "trial": int(trial)}
    if experiment == "feasibility":
        task["method"] = method
    if experiment in _TWO_LAYER:
        task["m"] = m
    return task


def run_trial(task):
    """Run one task (top-level and picklable, for process pools and Dask)."""
    exp = task["experiment"]
    if exp not in EXPERIMENTS:
        raise ValueError(f"`experiment` must be one of {', '.join(EXPERIMENTS)}; got {exp!r}")
    inst = make_instance(task["model"], task["d"], task["p"], K=task.get("K"), embedding=task["embedding"],
                         seed=task["seed"], trial=task["trial"])
    if exp == "feasibility":
        return solve_feasibility(inst, method=task.get("method", "ldp")).to_dict()
    if exp == "margin":
        return solve_max_margin(inst).to_dict()
    if exp in _TWO_LAYER:
        return solve_two_layer(inst, task["m"], trained=exp == "two-layer").to_dict()
    res = hebbian_recall(inst).to_dict()
    res["verdict"] = "feasible" if res["all_recalled"] else "infeasible"
    return res
