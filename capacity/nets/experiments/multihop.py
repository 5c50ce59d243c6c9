r"""Multi-hop factual recall: minimal widths with and without chain-of-thought (docs/multihop.md).

:func:`run_multihop` runs, for every (N, R), k = 1 ... K and answer mode
(:data:`capacity.nets.models.multihop.MODES`):

Constructions
    the smallest code length kc for which the hand-built construction answers all N R^k queries
    (brute force), its embedding width d, hidden widths, depth and parameter count
    (:func:`~capacity.nets.models.multihop.construction_code_min`), beside the information bound
    R log2 N! / b on the parameter count (b = 32 and b = 2 bits per parameter).
Gradient descent
    per (N, R, k, mode, seed) two searches over the embedding width d (doubling from ``d_start``,
    then integer bisection; MLP width h fixed): ``d_heldout`` = the smallest d with one-hop,
    training k-hop and held-out k-hop accuracy all >= 99 % (k = 1: the one-hop facts), and
    ``d_fit`` = the smallest d with one-hop and training k-hop accuracy >= 99 % (memorisation,
    held-out ignored).  Beside them, one run at the fixed width ``d_probe`` per (point, k, mode,
    seed) with its held-out accuracy and the per-hop probes
    (:func:`~capacity.nets.models.multihop.hop_probes`).

Every training run, construction scan and probe run is one task of
:func:`capacity.sweeps.run_sweep` (persisted in ``store``, resumable).
"""
from dataclasses import dataclass

import numpy as np

from ..._validation import check_int, check_real
from ...results import Result, RowsResult
from .._torch import DEVICES
from ..models.multihop import (CHECK_EVERY, CODE_MAX, HELD_OUT, HOPS_MAX, LR, MODES, STEPS, STORED_ACCURACY,
                               WIDTH, _mode_iv, _size_iv, build_construction, construction_code_min, fact_bits,
                               hop_probes, make_facts, min_params, train_multihop)
from .n4 import _Search

__all__ = ["EXPERIMENT", "DEFAULT_GRID", "QUICK_GRID", "CONSTRUCTION_GRID", "BITS", "construction_task",
           "train_task", "run_multihop_task", "MultiHopRow", "ConstructionRow", "MultiHopResult", "run_multihop"]

EXPERIMENT = "nets-multihop"
#: (N, R) points of the gradient-descent searches
DEFAULT_GRID = ((64, 2),)
QUICK_GRID = ((16, 2),)
#: (N, R) points of the construction scans (cheap, NumPy); the composite construction at R = 3, k = 4 only for N <= 32
CONSTRUCTION_GRID = tuple((n, r) for r in (2, 3) for n in (16, 32, 64, 128, 256))
QUICK_CONSTRUCTION_GRID = ((16, 2), (32, 2))
#: bits per parameter of the drawn information bounds: float32, and a storage rate of 2 bits per parameter
BITS = (32, 2)
D_START = 8
D_MAX = 128
D_MAX_DIRECT = 64
D_PROBE = 32


# --------------------------------------------------------------------------------------
# Tasks
# --------------------------------------------------------------------------------------
def construction_task(n_entities, n_relations, hops, mode, *, seed, code_max=CODE_MAX):
    """The task dict of one construction scan (smallest exact code length)."""
    n, r, k = _size_iv(n_entities, n_relations, hops)
    return {"experiment": EXPERIMENT, "kind": "construction", "mode": _mode_iv(mode), "n_entities": n,
            "n_relations": r, "hops": k, "seed": check_int("seed", seed, low=0),
            "code_max": check_int("code_max", code_max, low=1, high=10**4)}


def train_task(n_entities, n_relations, hops, mode, d, *, seed, width=WIDTH, steps=STEPS, lr=LR,
               held_out=HELD_OUT, probes=False, stop_at=1.0, device="cpu"):
    """The task dict of one training run (``probes``: also run the per-hop probes; ``stop_at`` None: no early
    stop); its JSON is the store key."""
    n, r, k = _size_iv(n_entities, n_relations, hops)
    return {"experiment": EXPERIMENT, "kind": "probes" if probes else "train", "mode": _mode_iv(mode),
            "n_entities": n, "n_relations": r, "hops": k, "d": check_int("d", d, low=1, high=10**5),
            "width": check_int("width", width, low=1, high=10**6), "seed": check_int("seed", seed, low=0),
            "steps": check_int("steps", steps, low=1, high=10**7),
            "lr": check_real("lr", lr, low=0.0, low_open=True, high=10.0),
            "held_out": check_real("held_out", held_out, low=0.0, low_open=True, high=1.0, high_open=True),
            "check_every": CHECK_EVERY,
            "stop_at": None if stop_at is None else check_real("stop_at", stop_at, low=0.0, high=1.0),
            "stored_accuracy": STORED_ACCURACY, "device": str(device)}


def run_multihop_task(task):
    """Run one multi-hop task (module level and picklable, for :func:`capacity.sweeps.run_sweep`)."""
    if task["kind"] == "construction":
        facts = make_facts(task["n_entities"], task["n_relations"], seed=task["seed"])
        kc = construction_code_min(facts, task["hops"], mode=task["mode"], seed=task["seed"],
                                   code_max=task["code_max"])
        if kc is None:
            return {"code_length": None, "d": None, "widths": None, "depth": None, "n_params": None}
        c = build_construction(facts, task["hops"], kc, mode=task["mode"], seed=task["seed"])
        return {"code_length": kc, "d": c.d, "widths": list(c.widths), "depth": c.depth, "n_params": c.n_params}
    t = train_multihop(task["n_entities"], task["n_relations"], task["hops"], task["d"], mode=task["mode"],
                       width=task["width"], steps=task["steps"], lr=task["lr"], seed=task["seed"],
                       held_out=task["held_out"], check_every=task["check_every"], stop_at=task["stop_at"],
                       device=task["device"])
    fit = t.fact_accuracy >= STORED_ACCURACY and (t.train_accuracy is None or t.train_accuracy >= STORED_ACCURACY)
    out = {"fact_accuracy": t.fact_accuracy, "train_accuracy": t.train_accuracy,
           "heldout_accuracy": t.heldout_accuracy, "heldout_chain_accuracy": t.heldout_chain_accuracy,
           "stored": t.stored, "fit": bool(fit), "steps_run": t.steps_run, "n_params": t.n_params,
           "final_loss": t.final_loss}
    if task["kind"] == "probes":
        out["probes"] = hop_probes(t)
    return out


class _Adapter:
    """Feeds n4's doubling/bisection search with one criterion of a training result."""

    def __init__(self, d_start, d_max, key):
        self.search, self.key = _Search(d_start, d_max), key

    def next(self):
        return self.search.next()

    def record(self, d, res):
        acc = res["heldout_accuracy"] if (self.key == "stored" and res["heldout_accuracy"] is not None) \
            else res["fact_accuracy"]
        self.search.record(d, {"stored": res[self.key], "accuracy": acc, "steps_run": res["steps_run"]})

    @property
    def d_star(self):
        return self.search.d_star

    @property
    def history(self):
        return self.search.history


# --------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------
def _mean(values):
    v = [x for x in values if x is not None]
    return float(np.mean(v)) if v and len(v) == len(values) else None


@dataclass(frozen=True)
class ConstructionRow(Result):
    """One (N, R, k, mode) construction: per-seed smallest exact code length and the widths it gives."""

    n_entities: int
    n_relations: int
    hops: int
    mode: str
    code_length: list
    d: list
    widths: list
    depth: object
    n_params: list
    fact_bits: float
    min_params: dict


@dataclass(frozen=True)
class MultiHopRow(Result):
    """One (N, R, k, mode) gradient-descent point.

    ``d_heldout`` / ``d_fit``: per seed the smallest d meeting the criterion (None: not up to
    ``d_max``); ``probe_*``: the run at ``d_probe`` per seed (held-out accuracy, training accuracy,
    fact accuracy, and the per-hop probes of seed ``seed``); ``history_*`` the search paths
    [d, met, accuracy, steps_run].
    """

    n_entities: int
    n_relations: int
    hops: int
    mode: str
    n_queries: int
    n_heldout: int
    d_heldout: list
    d_heldout_mean: object
    d_fit: list
    d_fit_mean: object
    d_probe: int
    probe_heldout: list
    probe_heldout_chain: list
    probe_train: list
    probe_facts: list
    probes: dict
    history_heldout: list
    history_fit: list


@dataclass(frozen=True, kw_only=True)
class MultiHopResult(RowsResult):
    """Result of :func:`run_multihop`: ``rows`` (:class:`MultiHopRow`, gradient descent) and
    ``constructions`` (:class:`ConstructionRow`)."""

    constructions: list

    def format_table(self):
        """Markdown: the constructions, then gradient descent (minimal widths, held-out accuracy, probes)."""

        def seeds(v, fmt=str):
            if v is None:
                return "-"
            return ", ".join("-" if x is None else fmt(x) for x in v)

        def pct(x):
            return f"{100 * x:.1f}"

        out = ["Constructions (exact: 100 % of the N R^k queries, brute force)", "",
               "| N | R | k | mode | kc (per seed) | d | hidden widths (seed 0) | depth | parameters | "
               "R log2 N! bits | bound P ≥ bits/32 | bound P ≥ bits/2 |",
               "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for c in self.constructions:
            w = "-" if not c.widths or c.widths[0] is None else "×".join(str(x) for x in c.widths[0])
            out.append(f"| {c.n_entities} | {c.n_relations} | {c.hops} | {c.mode} | {seeds(c.code_length)} | "
                       f"{seeds(c.d)} | {w} | {'-' if c.depth is None else c.depth} | {seeds(c.n_params)} | "
                       f"{c.fact_bits:.0f} | {c.min_params['32']} | {c.min_params['2']} |")
        out += ["", "Gradient descent (held-out: k-hop queries whose one-hop facts were all trained on)", "",
                "| N | R | k | mode | queries (held out) | d* held-out ≥ 99 % (per seed) | "
                "d* fit ≥ 99 % (per seed) | held-out acc. % at d_probe | chain acc. % | train acc. % | "
                "probe R² per hop | gating within / between per hop |",
                "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in self.rows:
            pr = r.probes or {}

            def hops(vals):
                return "-" if not vals else ", ".join("-" if v is None else f"{v:.2f}" for v in vals)

            gate = "-" if not pr else ", ".join(
                "-" if a is None else f"{a:.2f}/{b:.2f}" for a, b in zip(pr["gating_within"], pr["gating_between"]))
            out.append(f"| {r.n_entities} | {r.n_relations} | {r.hops} | {r.mode} | {r.n_queries} ({r.n_heldout}) | "
                       f"{seeds(r.d_heldout)} | {seeds(r.d_fit)} | {seeds(r.probe_heldout, pct)} | "
                       f"{seeds(r.probe_heldout_chain, pct)} | {seeds(r.probe_train, pct)} | "
                       f"{hops(pr.get('r2'))} | {gate} |")
        return "\n".join(out)


# --------------------------------------------------------------------------------------
# Runner
# --------------------------------------------------------------------------------------
def _grid_iv(grid, name):
    if isinstance(grid, (str, bytes)) or not hasattr(grid, "__iter__"):
        raise TypeError(f"`{name}` must be a sequence of (n_entities, n_relations) pairs; got {type(grid).__name__}")
    out = []
    for pt in grid:
        ok = isinstance(pt, (tuple, list)) and len(pt) == 2 and all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in pt)
        if not ok or not (2 <= pt[0] <= 4096 and 1 <= pt[1] <= 8):
            raise ValueError(f"`{name}` entries must be integer pairs (n_entities, n_relations) with "
                             f"2 <= n_entities <= 4096 and 1 <= n_relations <= 8; got {pt!r}")
        out.append((int(pt[0]), int(pt[1])))
    if not out:
        raise ValueError(f"`{name}` must hold at least one (n_entities, n_relations) pair; got an empty sequence")
    return list(dict.fromkeys(out))


def _modes_for(cot):
    if cot is None:
        return list(MODES)
    if not isinstance(cot, (bool, np.bool_)):
        raise TypeError(f"`cot` must be True, False or None (both); got {type(cot).__name__}")
    return ["cot"] if cot else [m for m in MODES if m != "cot"]


def run_multihop(*, hops=None, cot=None, grid=None, construction_grid=None, seed=0, n_seeds=None, steps=None,
                 lr=LR, width=WIDTH, d_start=D_START, d_max=None, d_probe=None, quick=False, device="cpu",
                 store=None, jobs=1, progress=None):
    r"""Minimal widths for k-hop factual recall with and without chain-of-thought, constructions and GD.

    Parameters
    ----------
    hops : int, optional
        The largest number of hops K: k = 1 ... K are run (default 4; quick: 3).
    cot : bool or None
        True: chain-of-thought only; False: the direct modes only (composite, stack); None: all.
    grid, construction_grid : sequence of (N, R), optional
        Points of the gradient-descent searches (default :data:`DEFAULT_GRID`; quick (16, 2)) and of
        the construction scans (default :data:`CONSTRUCTION_GRID`; quick (16, 2), (32, 2)).
    seed, n_seeds : int
        Seeds seed ... seed + n_seeds - 1 (default 2; quick 1).
    steps, lr, width : int, float, int
        Step budget per run (default 1500; quick 600), Adam learning rate, hop-block MLP width h.
    d_start, d_max, d_probe : int
        The d search starts at d_start (8) and gives up above d_max (default 128 with
        chain-of-thought, 64 for the direct modes; quick 32); d_probe (default 32; quick 16) is the
        width of the fixed-width runs and probes.
    quick : bool
        Tiny grid, one seed, short budget (seconds).
    device : {"cpu", "cuda", "auto"}
    store, jobs, progress
        Passed to :func:`capacity.sweeps.run_sweep` (every run is one task; an interrupted run resumes).

    Returns
    -------
    MultiHopResult

    Examples
    --------
    (needs torch; skipped in the doctest run, which must pass without it)

    >>> res = run_multihop(hops=2, cot=True, quick=True, progress=False)  # doctest: +SKIP
    >>> [(r.hops, r.mode, r.probe_heldout) for r in res.rows]  # doctest: +SKIP
    [(1, 'cot', [None]), (2, 'cot', [1.0])]
    """
    from ...sweeps.runner import run_sweep

    if not isinstance(quick, (bool, np.bool_)):
        raise TypeError(f"`quick` must be a bool (True or False); got {type(quick).__name__}")
    if not isinstance(device, str) or device not in DEVICES:
        raise ValueError(f"`device` must be one of {', '.join(DEVICES)}; got {device!r}")
    K = (3 if quick else 4) if hops is None else check_int("hops", hops, low=1, high=HOPS_MAX)
    modes = _modes_for(cot)
    grid = _grid_iv(QUICK_GRID if quick else DEFAULT_GRID, "grid") if grid is None else _grid_iv(grid, "grid")
    cgrid = (_grid_iv(QUICK_CONSTRUCTION_GRID if quick else CONSTRUCTION_GRID, "construction_grid")
             if construction_grid is None else _grid_iv(construction_grid, "construction_grid"))
    seed = check_int("seed", seed, low=0)
    n_seeds = (1 if quick else 2) if n_seeds is None else check_int("n_seeds", n_seeds, low=1, high=100)
    steps = (600 if quick else STEPS) if steps is None else check_int("steps", steps, low=1, high=10**7)
    lr = check_real("lr", lr, low=0.0, low_open=True, high=10.0)
    width = check_int("width", width, low=1, high=10**6)
    d_start = check_int("d_start", d_start, low=1, high=10**5)
    if d_max is not None:
        d_max = check_int("d_max", d_max, low=d_start, high=10**5)
    d_probe = (16 if quick else D_PROBE) if d_probe is None else check_int("d_probe", d_probe, low=1, high=10**5)
    for n, r in grid:
        _size_iv(n, r, K)
    seeds = list(range(seed, seed + n_seeds))
    ks = list(range(1, K + 1))

    # constructions (one round)
    ckeys = [(n, r, k, m, s) for n, r in cgrid for k in ks for m in modes for s in seeds
             if not (m == "composite" and r ** k > 27 and n > 32)]
    ctasks = [construction_task(n, r, k, m, seed=s) for n, r, k, m, s in ckeys]
    # probe runs (one round)
    pkeys = [(n, r, k, m, s) for n, r in grid for k in ks for m in modes for s in seeds]
    ptasks = [train_task(n, r, k, m, d_probe, seed=s, width=width, steps=steps, lr=lr, probes=s == seed,
                         device=device) for n, r, k, m, s in pkeys]
    res0 = run_sweep(run_multihop_task, ctasks + ptasks, store=store, jobs=jobs, progress=progress)
    cres = dict(zip(ckeys, res0[:len(ctasks)]))
    pres = dict(zip(pkeys, res0[len(ctasks):]))

    # searches (rounds)
    def dmax(m):
        if d_max is not None:
            return d_max
        return 32 if quick else (D_MAX if m == "cot" else D_MAX_DIRECT)

    searches = {}
    for n, r in grid:
        for k in ks:
            for m in modes:
                for s in seeds:
                    searches[("stored", n, r, k, m, s)] = _Adapter(d_start, dmax(m), "stored")
                    if m != "cot" and k > 1:  # with CoT and k = 1, fit and held-out coincide
                        searches[("fit", n, r, k, m, s)] = _Adapter(d_start, dmax(m), "fit")
    n_runs = 0
    while True:
        pending = [(key, srch.next()) for key, srch in searches.items()]
        pending = [(key, d) for key, d in pending if d is not None]
        if not pending:
            break
        tasks = [train_task(n, r, k, m, d, seed=s, width=width, steps=steps, lr=lr, device=device)
                 for (_, n, r, k, m, s), d in pending]
        for (key, d), res in zip(pending, run_sweep(run_multihop_task, tasks, store=store, jobs=jobs,
                                                    progress=progress)):
            searches[key].record(d, res)
        n_runs += len(tasks)

    warnings = []
    constructions = []
    for n, r in cgrid:
        for k in ks:
            for m in modes:
                got = [cres.get((n, r, k, m, s)) for s in seeds]
                if got[0] is None:
                    continue
                if any(g["code_length"] is None for g in got):
                    warnings.append(f"{m} construction not exact up to code length {CODE_MAX} at N = {n}, R = {r}, "
                                    f"k = {k}")
                constructions.append(ConstructionRow(
                    n_entities=n, n_relations=r, hops=k, mode=m, code_length=[g["code_length"] for g in got],
                    d=[g["d"] for g in got], widths=[g["widths"] for g in got], depth=got[0]["depth"],
                    n_params=[g["n_params"] for g in got], fact_bits=fact_bits(n, r),
                    min_params={str(b): min_params(n, r, bits_per_param=b) for b in BITS}))
    rows = []
    for n, r in grid:
        for k in ks:
            for m in modes:
                dh = [searches[("stored", n, r, k, m, s)].d_star for s in seeds]
                fk = ("fit" if (m != "cot" and k > 1) else "stored")
                df = [searches[(fk, n, r, k, m, s)].d_star for s in seeds]
                pr = [pres[(n, r, k, m, s)] for s in seeds]
                if any(v is None for v in dh):
                    warnings.append(f"{m}: held-out accuracy >= 99 % not reached up to d = {dmax(m)} at N = {n}, "
                                    f"R = {r}, k = {k}")
                m_q = n * r ** k
                rows.append(MultiHopRow(
                    n_entities=n, n_relations=r, hops=k, mode=m, n_queries=m_q,
                    n_heldout=0 if k == 1 else max(1, int(HELD_OUT * m_q)), d_heldout=dh, d_heldout_mean=_mean(dh),
                    d_fit=df, d_fit_mean=_mean(df), d_probe=d_probe,
                    probe_heldout=[p["heldout_accuracy"] for p in pr],
                    probe_heldout_chain=[p["heldout_chain_accuracy"] for p in pr],
                    probe_train=[p["train_accuracy"] for p in pr], probe_facts=[p["fact_accuracy"] for p in pr],
                    probes=pr[0].get("probes", {}),
                    history_heldout=[searches[("stored", n, r, k, m, s)].history for s in seeds],
                    history_fit=[searches[(fk, n, r, k, m, s)].history for s in seeds]))
    settings = {"hops": ks, "modes": modes, "grid": [list(p) for p in grid],
                "construction_grid": [list(p) for p in cgrid], "seed": seed, "n_seeds": n_seeds, "steps": steps,
                "lr": lr, "width": width, "d_start": d_start, "d_max": {m: dmax(m) for m in modes},
                "d_probe": d_probe, "held_out": HELD_OUT, "check_every": CHECK_EVERY, "stop_at": 1.0,
                "stored_accuracy": STORED_ACCURACY, "device": str(device), "quick": bool(quick),
                "n_training_runs": n_runs, "bits_per_param": list(BITS),
                "model": "hop block y -> W2 relu(W1 [y; e(r)] + b1), readout U fixed N(0, I/d); cot: one block, "
                         "argmax fed back; composite: one block, R + R^k relation words; stack: k blocks",
                "training": "full batch Adam, loss = CE(one-hop facts) + CE(training k-hop queries), float32, early "
                            "stop when one-hop and training k-hop accuracy reach 100 %"}
    return MultiHopResult(rows=rows, constructions=constructions, settings=settings, warnings=warnings)
