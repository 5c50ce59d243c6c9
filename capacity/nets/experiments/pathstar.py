r"""N5 path-star experiment: held-out first-hop accuracy, frozen vs trainable token embeddings (docs/nets.md, N5).

One task of :func:`capacity.sweeps.run_sweep` per (embedding condition, seed); the conditions
share the seeds (graph, held-out split, initial weights), so the comparison is paired.  The graph,
the sequences, the model and its training are in :mod:`capacity.nets.models.pathstar`.
"""
from dataclasses import dataclass

import numpy as np

from ..._validation import check_int
from ...results import Result, RowsResult
from .._torch import DEVICES, resolve_device
from ..models.pathstar import (ARMS, D_MODEL, EMBEDDINGS, LENGTH, LR, N_CHECKPOINTS, N_HEADS, N_HELDOUT, N_LAYERS,
                               STEPS, WEIGHT_DECAY, _check_bool, _check_graph_args, _train_iv, make_pathstar,
                               train_pathstar)

__all__ = ["EXPERIMENT", "N_SEEDS", "pathstar_task", "run_pathstar_task", "PathStarRow", "PathStarResult",
           "run_pathstar"]

EXPERIMENT = "nets-pathstar"
N_SEEDS = 5


def pathstar_task(*, embeddings, seed, arms=ARMS, length=LENGTH, n_heldout=N_HELDOUT, reverse_paths=False,
                  steps=STEPS, d_model=D_MODEL,
                  n_layers=N_LAYERS, n_heads=N_HEADS, lr=LR, weight_decay=WEIGHT_DECAY, n_checkpoints=N_CHECKPOINTS):
    """The task dict of one (embeddings, seed) run; its JSON is the store key."""
    arms, length, n_heldout = _check_graph_args(arms, length, n_heldout)
    embeddings, steps, d_model, n_layers, n_heads, lr, weight_decay, n_checkpoints = _train_iv(
        embeddings, steps, d_model, n_layers, n_heads, lr, weight_decay, n_checkpoints)
    return {"experiment": EXPERIMENT, "embeddings": embeddings, "seed": check_int("seed", seed, low=0), "arms": arms,
            "length": length, "n_heldout": n_heldout, "reverse_paths": _check_bool("reverse_paths", reverse_paths),
            "steps": steps, "d_model": d_model, "n_layers": n_layers,
            "n_heads": n_heads, "lr": lr, "weight_decay": weight_decay, "n_checkpoints": n_checkpoints}


def run_pathstar_task(task, device="cpu"):
    """Run one task (module level and picklable, for :func:`capacity.sweeps.run_sweep`)."""
    kw = {k: v for k, v in task.items() if k != "experiment"}
    return train_pathstar(device=device, **kw).to_dict()


class _TaskRunner:
    """Picklable ``fn(task)`` that runs on a given device (the device is not part of the store key)."""

    def __init__(self, device):
        self.device = device

    def __call__(self, task):
        return run_pathstar_task(task, device=self.device)


# --------------------------------------------------------------------------------------
# Experiment
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PathStarRow(Result):
    """One embedding condition of :func:`run_pathstar`, over ``n_seeds`` seeds.

    ``chance`` = 1/arms.  ``*_mean`` / ``*_sd`` (sd with ddof=1; 0 for one seed) of the final
    strict first-hop accuracy on held-out leaves (``heldout``), on training leaves (``train``),
    the restricted variants, the edge accuracy and the final loss.  ``heldout_per_seed`` and
    ``train_per_seed`` the final accuracies per seed; ``checkpoint_steps`` with
    ``heldout_curve`` / ``train_curve`` / ``loss_curve`` the means over seeds per checkpoint;
    ``seconds`` total training time.  ``heldout_pred_kinds``: final strict predictions on
    held-out leaves pooled over seeds, counted as ``correct``, ``heldout_first_hop`` (another
    held-out arm's first hop), ``train_first_hop`` (a training arm's first hop: an answer seen
    after ``[PATH, leaf, centre]`` in training), ``other`` (any other node).
    """

    embeddings: str
    n_seeds: int
    arms: int
    n_heldout: int
    chance: float
    heldout_mean: float
    heldout_sd: float
    heldout_restricted_mean: float
    heldout_restricted_sd: float
    train_mean: float
    train_sd: float
    train_restricted_mean: float
    edge_acc_mean: float
    loss_mean: float
    heldout_per_seed: list
    train_per_seed: list
    checkpoint_steps: list
    heldout_curve: list
    train_curve: list
    loss_curve: list
    seconds: float
    heldout_pred_kinds: dict


@dataclass(frozen=True)
class PathStarResult(RowsResult):
    """Result of :func:`run_pathstar`: one :class:`PathStarRow` per embedding condition and the settings."""

    def format_table(self):
        """Markdown: per condition, first-hop accuracy (held-out, training) mean ± sd over seeds vs chance."""
        head = ("| token embeddings | seeds | held-out first-hop acc | held-out, restricted to centre's neighbours | "
                "chance 1/arms | training first-hop acc | edge acc | final loss |")
        lines = [head, "|" + "---|" * (head.count("|") - 1)]
        for r in self.rows:
            lines.append(
                f"| {r.embeddings} | {r.n_seeds} | {r.heldout_mean:.3f} ± {r.heldout_sd:.3f} | "
                f"{r.heldout_restricted_mean:.3f} ± {r.heldout_restricted_sd:.3f} | {r.chance:.3f} | "
                f"{r.train_mean:.3f} ± {r.train_sd:.3f} | {r.edge_acc_mean:.3f} | {r.loss_mean:.4f} |")
        return "\n".join(lines)


def _pred_kinds(seed_results, task):
    kinds = {"correct": 0, "heldout_first_hop": 0, "train_first_hop": 0, "other": 0}
    for s, x in seed_results:
        g = make_pathstar(task["arms"], task["length"], task["n_heldout"], seed=s)
        ho_first = {int(g.arms_tokens[a, 0]) for a in g.heldout}
        tr_first = {int(g.arms_tokens[a, 0]) for a in g.train_arms}
        for a, p_ in zip(g.heldout, x["heldout_pred"]):
            if p_ == int(g.arms_tokens[a, 0]):
                kinds["correct"] += 1
            elif p_ in ho_first:
                kinds["heldout_first_hop"] += 1
            elif p_ in tr_first:
                kinds["train_first_hop"] += 1
            else:
                kinds["other"] += 1
    return kinds


def _ms(x):
    x = np.asarray(x, dtype=float)
    return float(x.mean()), (float(x.std(ddof=1)) if len(x) > 1 else 0.0)


def run_pathstar(*, quick=False, device="cpu", seed=0, store=None, jobs=1, progress=None, n_seeds=None,
                 embeddings=EMBEDDINGS, arms=None, length=None, n_heldout=None, reverse_paths=False, steps=None,
                 d_model=D_MODEL,
                 n_layers=N_LAYERS, n_heads=N_HEADS, lr=LR, weight_decay=WEIGHT_DECAY, n_checkpoints=N_CHECKPOINTS):
    r"""In-weights path-star: held-out first-hop accuracy with frozen vs trainable token embeddings.

    Parameters
    ----------
    quick : bool
        A seconds-long run: 6 arms of length 2 (1 held out), 2 seeds, 300 steps, d = 32, one layer.
    device : {"cpu", "cuda", "auto"}
    seed, n_seeds : int
        Seeds seed .. seed + n_seeds - 1 (graph labelling, held-out split, initial weights);
        default 5 seeds (quick: 2).  The conditions share them (paired).
    embeddings : sequence of {"frozen", "trainable"}
    arms, length, n_heldout, steps : int, optional
        Default 12, 3, 4, 600 (quick: 6, 2, 1, 300).
    reverse_paths : bool
        Also train on reverse paths [RPATH, leaf, ..., centre] of every arm (held-out ones included).
    d_model, n_layers, n_heads, lr, weight_decay, n_checkpoints
        Passed to :func:`train_pathstar`; with ``quick`` and both d_model and n_layers at their
        defaults (64, 2), d_model = 32 and n_layers = 1 are used instead.
    store, jobs, progress
        Passed to :func:`capacity.sweeps.run_sweep`; one task per (embeddings, seed).

    Returns
    -------
    PathStarResult
    """
    from ...sweeps.runner import run_sweep

    if not isinstance(device, str) or device not in DEVICES:
        raise ValueError(f"`device` must be one of {', '.join(DEVICES)}; got {device!r}")
    resolve_device(device)
    embeddings = (embeddings,) if isinstance(embeddings, str) else tuple(embeddings)
    if not embeddings:
        raise ValueError("`embeddings` must name at least one condition; got an empty sequence")
    for e in embeddings:
        if e not in EMBEDDINGS:
            raise ValueError(f"`embeddings` entries must be in {', '.join(EMBEDDINGS)}; got {e!r}")
    embeddings = list(dict.fromkeys(embeddings))
    seed = check_int("seed", seed, low=0)
    n_seeds = (2 if quick else N_SEEDS) if n_seeds is None else check_int("n_seeds", n_seeds, low=1, high=10**4)
    arms = (6 if quick else ARMS) if arms is None else arms
    length = (2 if quick else LENGTH) if length is None else length
    n_heldout = (1 if quick else N_HELDOUT) if n_heldout is None else n_heldout
    steps = (300 if quick else STEPS) if steps is None else steps
    if quick and d_model == D_MODEL and n_layers == N_LAYERS:
        d_model, n_layers = 32, 1
    keys = [(e, s) for e in embeddings for s in range(seed, seed + n_seeds)]
    tasks = [pathstar_task(embeddings=e, seed=s, arms=arms, length=length, n_heldout=n_heldout,
                           reverse_paths=reverse_paths, steps=steps,
                           d_model=d_model, n_layers=n_layers, n_heads=n_heads, lr=lr, weight_decay=weight_decay,
                           n_checkpoints=n_checkpoints) for e, s in keys]
    fn = run_pathstar_task if device == "cpu" else _TaskRunner(device)
    results = run_sweep(fn, tasks, store=store, jobs=jobs, progress=progress)
    t0 = tasks[0]
    rows = []
    for e in embeddings:
        res = [x for (ee, _), x in zip(keys, results) if ee == e]
        ho = [x["heldout_acc"][-1] for x in res]
        tr = [x["train_acc"][-1] for x in res]
        hr = [x["heldout_acc_restricted"][-1] for x in res]
        (hm, hs), (hrm, hrs), (tm, ts) = _ms(ho), _ms(hr), _ms(tr)
        rows.append(PathStarRow(
            embeddings=e, n_seeds=n_seeds, arms=t0["arms"], n_heldout=t0["n_heldout"], chance=1.0 / t0["arms"],
            heldout_mean=hm, heldout_sd=hs, heldout_restricted_mean=hrm, heldout_restricted_sd=hrs,
            train_mean=tm, train_sd=ts, train_restricted_mean=_ms([x["train_acc_restricted"][-1] for x in res])[0],
            edge_acc_mean=_ms([x["edge_acc"][-1] for x in res])[0], loss_mean=_ms([x["loss"][-1] for x in res])[0],
            heldout_per_seed=ho, train_per_seed=tr, checkpoint_steps=res[0]["checkpoint_steps"],
            heldout_curve=np.mean([x["heldout_acc"] for x in res], axis=0).tolist(),
            train_curve=np.mean([x["train_acc"] for x in res], axis=0).tolist(),
            loss_curve=np.mean([x["loss"] for x in res], axis=0).tolist(),
            seconds=float(sum(x["seconds"] for x in res)),
            heldout_pred_kinds=_pred_kinds([(s, x) for (ee, s), x in zip(keys, results) if ee == e], t0)))
    settings = {k: t0[k] for k in ("arms", "length", "n_heldout", "reverse_paths", "steps", "d_model", "n_layers",
                                   "n_heads", "lr",
                                   "weight_decay", "n_checkpoints")}
    settings.update({"seed": seed, "n_seeds": n_seeds, "embeddings": embeddings, "device": device,
                     "quick": bool(quick), "optimizer": "AdamW full batch, float32",
                     "held_out_exposure": "edges [EDGE, u, v] in both directions" + (
                         " and reverse paths [RPATH, leaf, ..., centre]" if t0["reverse_paths"] else " only")})
    warnings = []
    if any(r.train_mean < 0.99 for r in rows):
        warnings.append("training first-hop accuracy below 0.99 in some condition: paths not fully memorised")
    return PathStarResult(rows=rows, settings=settings, warnings=warnings)
