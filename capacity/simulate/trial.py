"""One simulation trial as a pure function of a JSON task (what the sweep engine runs).

A task is a dict with keys ``experiment`` ("feasibility", "margin", "hebbian",
"two-layer-frozen" or "two-layer"), ``model``, ``d``, ``p``, ``K`` (None for the
default p - 1), ``embedding``, ``seed``, ``trial``; for feasibility also ``method``,
for the two-layer experiments also ``m`` (hidden width); where a "torch" feasibility task
runs (``device``) is an argument of :func:`run_trial`, not part of the task.  The result is a JSON-ready
dict that always contains ``verdict`` ("feasible", "infeasible", "undecided";
Hebbian: whether all associations are recalled) so the same estimation code serves
every experiment.

Two-layer trained trials ("two-layer") are certified like the others, but a search
that finds no product is "undecided" with ``not_found=True``: P(feasible) is then
bounded from below only (:func:`capacity.simulate.two_layer.p50_lower_bound`), and
the generic estimator fails such points loudly instead of guessing.
"""
from collections.abc import Mapping

from .._torch import check_device
from .._validation import check_choice, check_int, show
from .feasibility import METHODS, solve_feasibility
from .hebbian import hebbian_recall
from .instances import EMBEDDINGS, MODELS, P_MAX, make_instance
from .margin import solve_max_margin
from .two_layer import M_MAX, solve_two_layer

__all__ = ["EXPERIMENTS", "check_task", "make_task", "run_trial"]

EXPERIMENTS = ("feasibility", "margin", "hebbian", "two-layer-frozen", "two-layer")
_TWO_LAYER = ("two-layer-frozen", "two-layer")
_KEYS = ("experiment", "model", "d", "p", "K", "embedding", "seed", "trial")


def check_task(task):
    """Validate a task dict (every key, type and range) and return it in canonical form (plain ints).

    Raises TypeError (not a dict, a value of the wrong kind) or ValueError (missing or unknown
    keys, a value out of range), naming the task key as the argument, before any work: what
    :func:`run_trial` and the sweeps call on every task before dispatching any.

    Examples
    --------
    >>> check_task({"experiment": "hebbian", "model": "coupled", "d": 8, "p": 10.0, "K": None,
    ...             "embedding": "sphere", "seed": 0, "trial": 1})["p"]
    10
    """
    if not isinstance(task, Mapping):
        raise TypeError(f"`task` must be a dict made by make_task; got {show(task)} of type {type(task).__name__}")
    exp = task.get("experiment")
    if exp is None:
        raise ValueError(f"`task` is missing the key 'experiment' (one of {', '.join(EXPERIMENTS)}); "
                         f"got keys {sorted(map(str, task))}")
    exp = check_choice("experiment", exp, EXPERIMENTS)
    keys = list(_KEYS) + (["method"] if exp == "feasibility" else []) + (["m"] if exp in _TWO_LAYER else [])
    missing = [k for k in keys if k not in task and k not in ("K", "method")]
    if missing:
        raise ValueError(f"`task` is missing the keys {', '.join(map(repr, missing))} (a {exp!r} task needs "
                         f"{', '.join(keys)}; make it with make_task); got keys {sorted(map(str, task))}")
    unknown = sorted(str(k) for k in task if k not in keys)
    if unknown:
        raise ValueError(f"`task` has unknown keys {', '.join(map(repr, unknown))} for experiment {exp!r} "
                         f"(allowed: {', '.join(keys)})")
    model = check_choice("model", task["model"], MODELS)
    p = check_int("p", task["p"], low=2, high=P_MAX)
    out = {"experiment": exp, "model": model, "d": check_int("d", task["d"], low=1, high=4096), "p": p}
    K = task.get("K")
    if K is not None:
        K = check_int("K", K, low=1, high=10**7)
        if model == "coupled" and K != p - 1:
            raise ValueError(f"`K` must be p - 1 = {p - 1} for the coupled model (or None); got {show(task['K'])}")
    out.update(K=K, embedding=check_choice("embedding", task["embedding"], EMBEDDINGS),
               seed=check_int("seed", task["seed"], low=0), trial=check_int("trial", task["trial"], low=0))
    if exp == "feasibility":
        out["method"] = check_choice("method", task.get("method", "ldp"), METHODS)
    if exp in _TWO_LAYER:
        if task["m"] is None:
            raise ValueError(f"`m` (hidden width) is required for experiment {exp!r}; got None")
        out["m"] = check_int("m", task["m"], low=1, high=M_MAX)
    return out


def make_task(experiment, model, d, p, *, trial, seed, K=None, embedding="gaussian", method="ldp", m=None):
    """The canonical task dict (its JSON is the key of the results store), validated (:func:`check_task`).

    ``m`` (hidden width) is required for the two-layer experiments and not allowed
    otherwise, so the keys of the other experiments' stored results do not change.

    Examples
    --------
    >>> make_task("two-layer", "decoupled", 12, 30, trial=0, seed=1, m=6)["m"]
    6
    """
    experiment = check_choice("experiment", experiment, EXPERIMENTS)
    if experiment in _TWO_LAYER:
        if m is None:
            raise ValueError(f"`m` is required for experiment {experiment!r}; got None")
        m = check_int("m", m, low=1, high=M_MAX)
    elif m is not None:
        raise ValueError(f"`m` is only used by the two-layer experiments; got m={show(m)} for {experiment!r}")
    task = {"experiment": experiment, "model": model, "d": d, "p": p, "K": K, "embedding": embedding,
            "seed": seed, "trial": trial}
    if experiment == "feasibility":
        task["method"] = method
    if experiment in _TWO_LAYER:
        task["m"] = m
    return check_task(task)


def run_trial(task, *, max_memory=None, device=None):
    """Run one task (top-level and picklable, for process pools and Dask).

    The task is validated first (:func:`check_task`); ``max_memory`` (bytes, default
    :func:`capacity._resources.default_memory_limit`) bounds the solve's estimated peak.
    ``device`` ("cpu", "cuda" or "auto"; default "auto") is where a feasibility task with
    method "torch" runs; it is not part of the task (the verdict is certified on the host
    whatever the device, so a stored trial is reused on any device), and it is refused for
    any other task.
    """
    task = check_task(task)
    exp = task["experiment"]
    if device is not None:
        check_device(device)
        if exp != "feasibility" or task["method"] != "torch":
            raise ValueError(f"`device` applies to feasibility tasks with method 'torch' only; got device={device!r} "
                             f"for experiment {exp!r}" + (f" with method {task['method']!r}"
                                                          if exp == "feasibility" else ""))
    inst = make_instance(task["model"], task["d"], task["p"], K=task["K"], embedding=task["embedding"],
                         seed=task["seed"], trial=task["trial"])
    if exp == "feasibility":
        extra = {} if device is None else {"device": device}
        return solve_feasibility(inst, method=task["method"], max_memory=max_memory, **extra).to_dict()
    if exp == "margin":
        return solve_max_margin(inst, max_memory=max_memory).to_dict()
    if exp in _TWO_LAYER:
        return solve_two_layer(inst, task["m"], trained=exp == "two-layer", max_memory=max_memory).to_dict()
    res = hebbian_recall(inst, max_memory=max_memory).to_dict()
    res["verdict"] = "feasible" if res["all_recalled"] else "infeasible"
    return res
