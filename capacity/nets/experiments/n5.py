r"""N5 experiment: alignment of Node2Vec embeddings with the Fiedler-like eigenvectors, over seeds (docs/nets.md, N5).

Every (graph, seed) training run of :func:`capacity.nets.models.node2vec.train_node2vec` is one task
of :func:`capacity.sweeps.run_sweep`; :func:`run_n5` averages the alignments over seeds at every
checkpoint.  NumPy only (float64, CPU): bit-reproducible, no torch.
"""
from dataclasses import dataclass

import numpy as np

from ..._validation import check_int
from ...results import Result, RowsResult
from .._torch import DEVICES
from ..models.node2vec import (ADAM_LR, GRAPHS, INIT_SCALE, LR_SCALE, R, STEPS, WINDOW, _train_iv, cooccurrence,
                               linearised_operator, make_graph, spectral_subspaces, subspace_alignment,
                               train_node2vec)

__all__ = ["EXPERIMENT", "N_SEEDS", "n5_task", "run_n5_task", "N5Row", "N5Result", "run_n5"]

EXPERIMENT = "nets-n5"
N_SEEDS = 10


def n5_task(graph, *, seed, steps=STEPS, window=WINDOW, dim=None, lr=None, optimizer="gd", init_scale=INIT_SCALE,
            r=R, checkpoints=None):
    """The task dict of one (graph, seed) training run; its JSON is the store key."""
    A = make_graph(graph)
    A, r, window, dim, steps, lr, init_scale, ck = _train_iv(A, window, dim, steps, lr, optimizer, init_scale, r,
                                                          checkpoints)
    return {"experiment": EXPERIMENT, "graph": graph, "graph_args": dict(GRAPHS[graph][1]), "seed": int(seed),
            "steps": steps, "window": window, "dim": dim, "lr": lr, "optimizer": optimizer,
            "init_scale": init_scale, "r": int(r), "checkpoints": ck}


def run_n5_task(task):
    """Run one N5 task (module level and picklable, for :func:`capacity.sweeps.run_sweep`)."""
    A = make_graph(task["graph"])
    t = train_node2vec(A, window=task["window"], dim=task["dim"], steps=task["steps"], lr=task["lr"],
                       optimizer=task["optimizer"], init_scale=task["init_scale"], r=task["r"], seed=task["seed"],
                       checkpoints=task["checkpoints"])
    return {"checkpoint_steps": [int(s) for s in t.checkpoint_steps], "loss": t.loss.tolist(),
            "align_fiedler": t.align_fiedler.tolist(), "align_top": t.align_top.tolist(),
            "align_linear": t.align_linear.tolist(), "align_nontrivial": t.align_nontrivial.tolist(),
            "trivial_overlap": t.trivial_overlap.tolist(), "sigma": t.sigma.tolist(), "embedding": t.embedding.tolist(),
            "entropy_floor": t.entropy_floor}


# --------------------------------------------------------------------------------------
# Experiment
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class N5Row(Result):
    """One graph of :func:`run_n5`: mean and sd over seeds at each checkpoint step.

    Baselines (expected alignment of a uniformly random subspace): ``baseline`` = r / n for
    the Fiedler-like, linearised columns; ``baseline_nontrivial`` = r / (n - 1) (random inside
    the complement of the trivial eigenvector); ``baseline_top`` = r_top / n.  ``eigenvalues``
    of L ascending; ``r_top`` the dimension of the top control subspace (r widened so as not to
    split a degenerate eigenspace); ``constant_overlap``: squared cosine of L's trivial
    eigenvector with the constant vector (1 for regular graphs); ``linear_vs_fiedler``:
    alignment of the linearised subspace with the Fiedler-like one (a graph property).  Per
    checkpoint (lists): ``<metric>_mean`` / ``<metric>_sd`` over seeds for ``fiedler``,
    ``nontrivial``, ``top``, ``linear``, ``trivial`` (see :class:`capacity.nets.models.node2vec.TrainN5`) and
    ``loss_mean``.
    ``sigma_final_mean``: mean over seeds of the top r + 2 singular values of the final V;
    ``embedding``: the final 2-D embedding of the first seed (nontrivial part).
    """

    graph: str
    n: int
    r: int
    r_top: int
    n_seeds: int
    baseline: float
    baseline_nontrivial: float
    baseline_top: float
    eigenvalues: list
    constant_overlap: float
    linear_vs_fiedler: float
    entropy_floor: float
    checkpoint_steps: list
    fiedler_mean: list
    fiedler_sd: list
    nontrivial_mean: list
    nontrivial_sd: list
    top_mean: list
    top_sd: list
    linear_mean: list
    linear_sd: list
    trivial_mean: list
    trivial_sd: list
    loss_mean: list
    sigma_final_mean: list
    embedding: list


@dataclass(frozen=True)
class N5Result(RowsResult):
    """Result of :func:`run_n5`: one :class:`N5Row` per graph and the settings."""

    def format_table(self, steps=None):
        """Markdown, per graph and checkpoint step (all, or those in ``steps``): alignments mean ± sd."""
        head = ("| graph | n | step | Fiedler-like: U_r | Fiedler-like: U_r of (I - tt^T)V | top eigvecs | "
                "linearised | u_1 vs trivial t | random r/n | loss (floor) |")
        lines = [head, "|" + "---|" * (head.count("|") - 1)]

        def ms(row, name, i):
            return f"{getattr(row, name + '_mean')[i]:.3f} ± {getattr(row, name + '_sd')[i]:.3f}"

        for row in self.rows:
            for i, s in enumerate(row.checkpoint_steps):
                if steps is not None and s not in steps:
                    continue
                lines.append(
                    f"| {row.graph} | {row.n} | {s} | {ms(row, 'fiedler', i)} | {ms(row, 'nontrivial', i)} | "
                    f"{ms(row, 'top', i)} | {ms(row, 'linear', i)} | {ms(row, 'trivial', i)} | {row.baseline:.3f} | "
                    f"{row.loss_mean[i]:.4f} ({row.entropy_floor:.4f}) |")
        return "\n".join(lines)


def _run_n5_iv(graphs, seed, n_seeds, steps, quick, device):
    if not isinstance(device, str) or device not in DEVICES:
        raise ValueError(f"`device` must be one of {', '.join(DEVICES)}; got {device!r}")
    graphs = tuple(GRAPHS) if graphs is None else ((graphs,) if isinstance(graphs, str) else tuple(graphs))
    if not graphs:
        raise ValueError("`graphs` must name at least one graph; got an empty sequence")
    for g in graphs:
        if g not in GRAPHS:
            raise ValueError(f"`graphs` entries must be in {', '.join(GRAPHS)}; got {g!r}")
    seed = check_int("seed", seed, low=0)
    n_seeds = (2 if quick else N_SEEDS) if n_seeds is None else check_int("n_seeds", n_seeds, low=1, high=10**4)
    steps = (400 if quick else STEPS) if steps is None else check_int("steps", steps, low=0, high=10**7)
    return list(dict.fromkeys(graphs)), seed, n_seeds, steps


def run_n5(*, graphs=None, seed=0, n_seeds=None, steps=None, window=WINDOW, dim=None, lr=None, optimizer="gd",
           init_scale=INIT_SCALE, r=R, quick=False, device="cpu", store=None, jobs=1, progress=None):
    r"""Node2Vec spectral bias: alignment of V's top-r column space with L's Fiedler-like eigenvectors.

    Parameters
    ----------
    graphs : sequence of str, optional
        Names from :data:`GRAPHS`; default all three (cycle, grid, path-star).
    seed, n_seeds : int
        Runs use seeds seed, ..., seed + n_seeds - 1 (initial V); default 10 seeds (quick: 2).
    steps : int, optional
        Training steps; default 20000 (quick: 400).
    window, dim, lr, optimizer, init_scale, r
        Passed to :func:`train_node2vec`.
    quick : bool
        Few seeds and steps (about a second).
    device : {"cpu", "cuda", "auto"}
        Validated and recorded only: training runs in NumPy float64 on the CPU (graphs of at
        most 16 nodes; an accelerator would gain nothing).
    store, jobs, progress
        Passed to :func:`capacity.sweeps.run_sweep`; each (graph, seed) run is one task.

    Returns
    -------
    N5Result

    Examples
    --------
    >>> res = run_n5(quick=True, progress=False)
    >>> [row.graph for row in res.rows]
    ['cycle', 'grid', 'path-star']
    """
    from ...sweeps.runner import run_sweep

    graphs, seed, n_seeds, steps = _run_n5_iv(graphs, seed, n_seeds, steps, quick, device)
    keys = [(g, s) for g in graphs for s in range(seed, seed + n_seeds)]
    tasks = [n5_task(g, seed=s, steps=steps, window=window, dim=dim, lr=lr, optimizer=optimizer,
                     init_scale=init_scale, r=r) for g, s in keys]
    results = run_sweep(run_n5_task, tasks, store=store, jobs=jobs, progress=progress)
    rows = []
    for g in graphs:
        res = [x for (gg, _), x in zip(keys, results) if gg == g]
        A = make_graph(g)
        n = len(A)
        sub = spectral_subspaces(A, r)
        C = cooccurrence(A, window)
        lin = np.linalg.eigh(linearised_operator(C))[1][:, n - r:]
        stats = {}
        for name, key in (("fiedler", "align_fiedler"), ("nontrivial", "align_nontrivial"), ("top", "align_top"),
                          ("linear", "align_linear"), ("trivial", "trivial_overlap")):
            X = np.array([x[key] for x in res])
            stats[name + "_mean"] = X.mean(0).tolist()
            stats[name + "_sd"] = (X.std(0, ddof=1) if len(X) > 1 else np.zeros(X.shape[1])).tolist()
        r_top = sub["top"].shape[1]
        rows.append(N5Row(graph=g, n=n, r=r, r_top=r_top, n_seeds=n_seeds, baseline=r / n,
                          baseline_nontrivial=r / (n - 1), baseline_top=r_top / n,
                          eigenvalues=sub["eigenvalues"].tolist(), constant_overlap=sub["constant_overlap"],
                          linear_vs_fiedler=subspace_alignment(lin, sub["fiedler"]),
                          entropy_floor=res[0]["entropy_floor"], checkpoint_steps=res[0]["checkpoint_steps"],
                          loss_mean=np.mean([x["loss"] for x in res], axis=0).tolist(),
                          sigma_final_mean=np.mean([x["sigma"][-1] for x in res], axis=0).tolist(),
                          embedding=res[0]["embedding"], **stats))
    settings = {"graphs": {g: dict(GRAPHS[g][1]) for g in graphs}, "seed": seed, "n_seeds": n_seeds,
                "steps": steps, "window": window, "dim": "n" if dim is None else dim, "optimizer": optimizer,
                "lr": tasks[0]["lr"] if lr is not None else (f"{LR_SCALE:g} n" if optimizer == "gd" else ADAM_LR),
                "init_scale": init_scale, "r": r, "device": f"{device} (training in NumPy float64 on the CPU)",
                "quick": bool(quick),
                "objective": "expected skip-gram pairs of stationary uniform walks (p = q = 1), full softmax, "
                             "logits V V^T"}
    return N5Result(rows=rows, settings=settings)
