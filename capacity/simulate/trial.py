"""One simulation trial as a pure function of a JSON task (what the sweep engine runs).

A task is a dict with keys ``experiment`` ("feasibility", "margin" or "hebbian"),
``model``, ``d``, ``p``, ``K`` (None for the default p - 1), ``embedding``, ``seed``,
``trial`` and, for feasibility, ``method``.  The result is a JSON-ready dict that
always contains ``verdict`` ("feasible", "infeasible", "undecided"; Hebbian: whether
all associations are recalled) so the same estimation code serves every experiment.
"""
from .feasibility import solve_feasibility
from .hebbian import hebbian_recall
from .instances import make_instance
from .margin import solve_max_margin

__all__ = ["EXPERIMENTS", "make_task", "run_trial"]

EXPERIMENTS = ("feasibility", "margin", "hebbian")


def make_task(experiment, model, d, p, *, trial, seed, K=None, embedding="gaussian", method="ldp"):
    """The canonical task dict (its JSON is the key of the results store)."""
    task = {"experiment": experiment, "model": model, "d": int(d), "p": int(p), "K": None if K is None else int(K),
            "embedding": embedding, "seed": int(seed), "trial": int(trial)}
    if experiment == "feasibility":
        task["method"] = method
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
    res = hebbian_recall(inst).to_dict()
    res["verdict"] = "feasible" if res["all_recalled"] else "infeasible"
    return res
