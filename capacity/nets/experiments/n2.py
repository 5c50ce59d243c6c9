"""N2 experiment: the largest fact set a one-layer transformer with frozen embeddings stores (docs/nets.md, N2).

For every (d, m) and seed the number of subjects N (at fixed R, so N R facts) is searched,
starting at the linear-memory law (docs/theory.md §2, eq. (T3)), and compared with that law
for all trainable parameters and for the MLP's only.  The model and its training are in
:mod:`capacity.nets.models.transformer`.
"""
from dataclasses import dataclass

import numpy as np

from ..._validation import check_int, check_real
from ...results import Result, RowsResult
from .._torch import resolve_device
from ._bracket import BracketSearch
from ..models.transformer import count_params, facts_law, train_facts

__all__ = ["EXPERIMENT", "DEFAULT_CONFIGS", "QUICK_CONFIGS", "N2Row", "N2Result", "run_n2"]

EXPERIMENT = "nets-n2"
WALK = 1.25  # factor of the search's walk from the (T3) prediction to a stored/unstored bracket

# default grid of the benchmark: (d, m) with R = 4 relations
DEFAULT_CONFIGS = ((16, 16), (16, 64), (32, 32), (32, 128))
QUICK_CONFIGS = ((8, 8),)


def _train_task(task):
    """run_sweep worker: one training run from a task dict (module level, picklable)."""
    res = train_facts(task["n_subjects"], task["n_relations"], task["d"], task["m"], steps=task["steps"],
                      lr=task["lr"], seed=task["seed"], device=task["device"])
    out = res.to_dict()
    out.pop("seconds")  # the store records the run time itself; keep results bit-comparable
    return out


# ----------------------------------------------------------------------------- the N2 experiment
@dataclass(frozen=True)
class N2Row(Result):
    """Largest stored fact set of one (d, m, seed) chain, with the linear-law predictions.

    ``max_facts = R * max_n_subjects`` is the largest fact set found stored (accuracy >= 0.99) by
    the search; ``min_unstored_facts`` the smallest set found not stored (``None`` if every tried
    set was stored).  ``law_*``: facts predicted by (docs/theory.md, T3) with all trainable parameters / MLP
    parameters only; ``law_*_r``: the same with N - 1 = p/R - 1 competitors (:func:`facts_law`).
    ``budget_*``: the run at ``min_unstored_facts`` repeated with twice the steps.
    """

    d: int
    m: int
    n_relations: int
    seed: int
    n_params: int
    n_params_mlp: int
    max_n_subjects: int
    max_facts: int
    min_unstored_facts: object
    facts_per_param: float
    law_all: float
    law_mlp: float
    law_all_r: float
    law_mlp_r: float
    ratio_all: float
    ratio_mlp: float
    budget_steps: int
    budget_stored: object
    budget_accuracy: object
    n_runs: int


@dataclass(frozen=True, kw_only=True)
class N2Result(RowsResult):
    """Result of :func:`run_n2`: one :class:`N2Row` per (d, m, seed), the settings and the search status.

    ``settings``: ``configs`` ((d, m) pairs), ``n_relations``, ``seeds``, ``steps``, ``lr``,
    ``resolution``, ``quick``, ``device``.  ``n_runs``: training runs the search asked for (runs
    resumed from a store included).  The search can fail to bracket the boundary of a chain (a bound
    of the search reached): then ``success`` is False, ``status`` 1 and ``message`` names the chains.
    """

    n_runs: int
    success: bool
    status: int
    message: str

    def format_table(self):
        """Markdown table, one line per (d, m, seed), then the mean per (d, m)."""
        head = ("| d | m | seed | params (all / MLP) | max facts stored | first unstored | facts/param | "
                "law (T3) all / MLP | law, K = N-1: all / MLP | ratio max/law all / MLP | "
                f"2x steps ({2 * self.settings['steps']}) at first unstored |")
        lines = [head, "|" + "---|" * 11]
        for r in self.rows:
            if r.budget_stored is None:
                budget = "-"
            else:
                budget = f"{'stored' if r.budget_stored else 'not stored'} (acc {r.budget_accuracy:.3f})"
            lines.append(
                f"| {r.d} | {r.m} | {r.seed} | {r.n_params} / {r.n_params_mlp} | {r.max_facts} | "
                f"{r.min_unstored_facts if r.min_unstored_facts is not None else '-'} | {r.facts_per_param:.4f} | "
                f"{r.law_all:.0f} / {r.law_mlp:.0f} | {r.law_all_r:.0f} / {r.law_mlp_r:.0f} | "
                f"{r.ratio_all:.2f} / {r.ratio_mlp:.2f} | {budget} |")
        means = []
        for d, m in self.settings["configs"]:
            rs = [r for r in self.rows if (r.d, r.m) == (d, m)]
            if rs:
                mf = float(np.mean([r.max_facts for r in rs]))
                means.append(f"| {d} | {m} | mean of {len(rs)} | {rs[0].n_params} / {rs[0].n_params_mlp} | {mf:.0f} | "
                             f"| {mf / rs[0].n_params:.4f} | {rs[0].law_all:.0f} / {rs[0].law_mlp:.0f} | "
                             f"{rs[0].law_all_r:.0f} / {rs[0].law_mlp_r:.0f} | "
                             f"{mf / rs[0].law_all:.2f} / {mf / rs[0].law_mlp:.2f} | |")
        return "\n".join(lines + means)


def _run_n2_iv(configs, n_relations, seed, n_seeds, steps, lr, resolution, device, quick):
    if not isinstance(quick, bool):
        raise TypeError(f"`quick` must be a bool; got {quick!r}")
    if configs is None:
        configs = QUICK_CONFIGS if quick else DEFAULT_CONFIGS
    try:
        configs = tuple((int(c[0]), int(c[1])) for c in configs) if not isinstance(configs, str) else None
    except (TypeError, IndexError, ValueError):
        configs = None
    if not configs:
        raise ValueError("`configs` must be a non-empty sequence of (d, m) pairs of integers >= 1; "
                         f"got {configs!r}")
    for d, m in configs:
        check_int("d", d, low=1)
        check_int("m", m, low=1)
    resolve_device(device)
    return (configs, check_int("n_relations", n_relations, low=1), check_int("seed", seed, low=0),
            check_int("n_seeds", n_seeds, low=1), check_int("steps", steps, low=1),
            check_real("lr", lr, low=0.0, low_open=True, high=10.0),
            check_real("resolution", resolution, low=1.0, low_open=True, high=4.0))


class _Chain(BracketSearch):
    """Search for the largest stored N at one (d, m, seed), from the (T3) law by factors of WALK."""

    def __init__(self, d, m, r, seed, resolution, law_n):
        super().__init__(law_n, WALK, resolution)
        self.d, self.m, self.r, self.seed = d, m, r, seed
        self.results = {}  # N -> stored
        self.budget = None

    def record(self, n, stored):
        self.results[n] = stored
        super().record(n, stored)


def run_n2(*, configs=None, n_relations=4, seed=0, n_seeds=2, steps=3000, lr=1e-2, resolution=1.06, quick=False,
           device="cpu", store=None, jobs=1, progress=None):
    """N2: largest number of facts a one-layer transformer with frozen embeddings stores, vs the linear law.

    For every (d, m) in ``configs`` and every seed in ``seed, seed + 1, ..., seed + n_seeds - 1``
    the number of subjects N (at fixed ``n_relations = R``, so N R facts) is searched: start
    at the (T3) prediction with all trainable parameters, multiply or divide N by ``WALK`` = 1.25
    until one stored and one unstored N bracket the boundary, then bisect (geometric midpoint) until
    ``N_unstored <= resolution * N_stored``.  Each training run (:func:`train_facts`, seeded
    by the chain's seed) is one task of :func:`capacity.sweeps.run_sweep`, so runs are committed
    to ``store`` and a rerun resumes; chains advance together, one round of tasks at a time.
    Finally the smallest unstored N of each chain is retrained with ``2 * steps`` (budget check).

    Parameters
    ----------
    configs : sequence of (d, m), optional
        Default ``DEFAULT_CONFIGS``; with ``quick=True``, ``QUICK_CONFIGS``.
    n_relations : int
        R, the number of relations (default 4).
    seed, n_seeds : int
        First seed and number of seeds.
    steps, lr : int, float
        Adam budget and learning rate of every run (``quick=True``: see Notes).
    resolution : float
        Stop bisecting when smallest-unstored / largest-stored N <= resolution (> 1).
    quick : bool
        Tiny settings that finish in seconds (smoke runs): configs ``QUICK_CONFIGS``, see Notes.
    device : {"cpu", "cuda", "auto"}
    store, jobs, progress
        Passed to :func:`capacity.sweeps.run_sweep` (``progress`` per round of tasks).

    Returns
    -------
    N2Result

    Notes
    -----
    The search assumes storage is monotone in N; with noise between seeds it reports the
    largest stored N it *found*.  ``quick=True`` overrides ``steps``, ``n_seeds`` and
    ``resolution`` with 400, 1 and 1.25.
    """
    from ...sweeps import run_sweep

    if quick is True:
        steps, n_seeds, resolution = 400, 1, 1.25
    configs, r, seed, n_seeds, steps, lr, resolution = _run_n2_iv(
        configs, n_relations, seed, n_seeds, steps, lr, resolution, device, quick)
    laws = {}
    for d, m in configs:
        p_all, p_mlp = count_params(d, m), count_params(d, m, part="mlp")
        laws[d, m] = (facts_law(p_all), facts_law(p_mlp), facts_law(p_all, r), facts_law(p_mlp, r))
    seeds = tuple(range(seed, seed + n_seeds))
    chains = [_Chain(d, m, r, s, resolution, laws[d, m][0] / r) for d, m in configs for s in seeds]

    def task(c, n, n_steps):
        return {"experiment": EXPERIMENT, "kind": "train", "n_subjects": n, "n_relations": r, "d": c.d, "m": c.m,
                "steps": n_steps, "lr": lr, "seed": c.seed, "device": device}

    n_runs = 0
    while True:
        active = [c for c in chains if c.next_n is not None]
        if not active:
            break
        results = run_sweep(_train_task, [task(c, c.next_n, steps) for c in active], store=store, jobs=jobs,
                            progress=progress)
        n_runs += len(active)
        for c, res in zip(active, results):
            c.record(c.next_n, bool(res["stored"]))
    checks = [c for c in chains if c.hi is not None]
    if checks:
        results = run_sweep(_train_task, [task(c, c.hi, 2 * steps) for c in checks], store=store, jobs=jobs,
                            progress=progress)
        n_runs += len(checks)
        for c, res in zip(checks, results):
            c.budget = res
    rows = []
    for c in chains:
        p_all, p_mlp = count_params(c.d, c.m), count_params(c.d, c.m, part="mlp")
        law_all, law_mlp, law_all_r, law_mlp_r = laws[c.d, c.m]
        max_facts = (c.lo or 0) * r
        rows.append(N2Row(
            d=c.d, m=c.m, n_relations=r, seed=c.seed, n_params=p_all, n_params_mlp=p_mlp,
            max_n_subjects=c.lo or 0, max_facts=max_facts,
            min_unstored_facts=None if c.hi is None else c.hi * r, facts_per_param=max_facts / p_all,
            law_all=law_all, law_mlp=law_mlp, law_all_r=law_all_r, law_mlp_r=law_mlp_r,
            ratio_all=max_facts / law_all, ratio_mlp=max_facts / law_mlp, budget_steps=2 * steps,
            budget_stored=None if c.budget is None else bool(c.budget["stored"]),
            budget_accuracy=None if c.budget is None else float(c.budget["accuracy"]),
            n_runs=len(c.results) + (c.budget is not None)))
    bad = [f"(d={c.d}, m={c.m}, seed={c.seed})" for c in chains if c.lo is None or c.hi is None]
    message = ("converged" if not bad else
               "no stored/unstored bracket for " + ", ".join(bad) + " (a bound of the search was reached)")
    settings = {"configs": configs, "n_relations": r, "seeds": seeds, "steps": steps, "lr": lr,
                "resolution": resolution, "quick": quick, "device": str(device)}
    return N2Result(rows=tuple(rows), settings=settings, n_runs=n_runs, success=not bad, status=0 if not bad else 1,
                    message=message)
