r"""N4 experiment: the minimal width d* storing N R facts with learned embeddings, vs R ln N (docs/nets.md, N4).

Minimal dimension d* (:func:`run_n4`)
    per (N, R, seed), a search over d with facts fixed: d = d_start, doubling while not stored
    (halving while stored), then integer bisection between the largest unstored and the
    smallest stored d; d* = the smallest stored d found.  The bisection assumes "stored" is
    monotone in d (not guaranteed for one seed; the full search history is kept).

Beside it: the frozen-embedding control, the hand-built construction's d = R k_min and the
associative prediction (docs/theory.md §2, eq. (T3)).  The model, its training, the construction
and the readout bound are in :mod:`capacity.nets.models.geometric`.
"""
import math
from dataclasses import dataclass

import numpy as np

from ..._validation import check_int, check_real
from ...results import Result, RowsResult
from .._torch import DEVICES, resolve_device, torch_threads
from ..models.geometric import (CHECK_EVERY, CONSTRUCTION_K_MAX, LR, STEPS, STORED_ACCURACY, WIDTH, _model_iv,
                                _train_iv, _unembedding_iv, associative_d, build_model, construction_k_min,
                                hull_vertex_fraction, make_facts, train_facts)

__all__ = [
    "EXPERIMENT", "FULL_GRID", "DEFAULT_GRID", "FROZEN_GRID", "n4_task", "construction_task", "associative_task",
    "readout_task", "run_n4_task", "N4Row", "N4Result", "fit_line", "run_n4",
]

EXPERIMENT = "nets-n4"
_U_TEXT = {"fixed": "fixed N(0, I/d)", "normalised": "fixed, rows N(0, I/d) scaled to unit norm",
           "trained": "trained (initialised N(0, I/d))"}
D_START = 16
D_MAX = 1024
#: the full grid of docs/nets.md, N4: N = 64 ... 1024, R = 1, 2, 4, 8
FULL_GRID = tuple((n, r) for r in (1, 2, 4, 8) for n in (64, 128, 256, 512, 1024))
#: default (N, R) grid of :func:`run_n4`: FULL_GRID restricted to N R N <= 2^20 (N = 1024 only at R = 1,
#: N = 512 only at R <= 2), because a training step costs ~ N R N (the softmax over N attributes) and the
#: left-out searches would cost 10-60 CPU minutes each on one core
DEFAULT_GRID = tuple(p for p in FULL_GRID if p[0] * p[0] * p[1] <= 2**20 and p != (512, 4))
#: default (N, R) points of the frozen-embedding control
FROZEN_GRID = ((64, 1), (256, 1), (64, 2), (64, 4), (64, 8))
QUICK_GRID = ((16, 1), (16, 2))
QUICK_FROZEN = ((16, 1),)


# --------------------------------------------------------------------------------------
# Tasks (one training run or one construction scan each) and the d* search
# --------------------------------------------------------------------------------------
def n4_task(n_subjects, n_relations, d, *, seed, width, frozen_subjects=False, steps=STEPS, lr=LR, device="cpu",
            unembedding="fixed"):
    """The task dict of one training run; its JSON is the store key.

    The key ``"unembedding"`` is present only for a non-default readout, so the tasks (and store
    keys) of fixed-readout runs are those written before the option existed.
    """
    n, r, d, width = _model_iv(n_subjects, n_relations, d, width)
    steps, lr, _, _, seed = _train_iv(steps, lr, CHECK_EVERY, STORED_ACCURACY, seed)
    unembedding = _unembedding_iv(unembedding)
    task = {"experiment": EXPERIMENT, "kind": "frozen" if frozen_subjects else "learned", "n_subjects": n,
            "n_relations": r, "d": d, "width": width, "seed": seed, "steps": steps, "lr": lr,
            "check_every": CHECK_EVERY, "stored_accuracy": STORED_ACCURACY, "device": str(device)}
    if unembedding != "fixed":
        task["unembedding"] = unembedding
    return task


def construction_task(n_subjects, n_relations, *, seed, k_max=CONSTRUCTION_K_MAX):
    """The task dict of one construction scan (smallest k with 100 %)."""
    return {"experiment": EXPERIMENT, "kind": "construction", "n_subjects": int(n_subjects),
            "n_relations": int(n_relations), "seed": int(seed), "k_max": int(k_max)}


def associative_task(n_facts, *, params, width=None, n_relations=1):
    """The task dict of one associative-law evaluation (:func:`associative_d`)."""
    if params == "square":
        width, n_relations = None, 1
    return {"experiment": EXPERIMENT, "kind": "associative", "n_facts": int(n_facts), "params": params,
            "width": width, "n_relations": int(n_relations)}


def readout_task(n_subjects, n_relations, d, *, seed):
    """The task dict of one :func:`hull_vertex_fraction` evaluation of the U a model of this size draws."""
    return {"experiment": EXPERIMENT, "kind": "readout", "n_subjects": int(n_subjects),
            "n_relations": int(n_relations), "d": int(d), "seed": int(seed)}


def run_n4_task(task):
    """Run one N4 task (module level and picklable, for :func:`capacity.sweeps.run_sweep`)."""
    if task["kind"] == "readout":
        with torch_threads(1):
            U = build_model(task["n_subjects"], task["n_relations"], task["d"], width=1, seed=task["seed"],
                            dtype="float64").unembed
        return {"vertex_fraction": hull_vertex_fraction(U)}
    if task["kind"] == "associative":
        return {"d": associative_d(task["n_facts"], params=task["params"], width=task["width"],
                                   n_relations=task["n_relations"])}
    if task["kind"] == "construction":
        facts = make_facts(task["n_subjects"], task["n_relations"], seed=task["seed"])
        return {"k_min": construction_k_min(facts, seed=task["seed"], k_max=task["k_max"])}
    t = train_facts(task["n_subjects"], task["n_relations"], task["d"], width=task["width"],
                    frozen_subjects=task["kind"] == "frozen", steps=task["steps"], lr=task["lr"], seed=task["seed"],
                    device=task["device"], check_every=task["check_every"], stop_at=task["stored_accuracy"],
                    unembedding=task.get("unembedding", "fixed"))
    return {"stored": t.stored, "accuracy": t.accuracy, "steps_run": t.steps_run, "initial_loss": t.initial_loss,
            "final_loss": t.final_loss}


class _Search:
    """Doubling (halving when d_start is already stored), then integer bisection, over d."""

    def __init__(self, d_start, d_max):
        self.d_start, self.d_max = d_start, d_max
        self.history = []  # (d, stored, accuracy, steps_run) in the order run

    def record(self, d, res):
        self.history.append([int(d), bool(res["stored"]), float(res["accuracy"]), int(res["steps_run"])])

    def next(self):
        if not self.history:
            return self.d_start
        stored = [h[0] for h in self.history if h[1]]
        failed = [h[0] for h in self.history if not h[1]]
        if not stored:
            top = max(failed)
            return None if top >= self.d_max else min(2 * top, self.d_max)
        hi = min(stored)
        below = [d for d in failed if d < hi]
        if not below:
            return None if hi == 1 else max(1, hi // 2)
        lo = max(below)
        return None if hi - lo <= 1 else (lo + hi) // 2

    @property
    def d_star(self):
        stored = [h[0] for h in self.history if h[1]]
        return min(stored) if stored else None


# --------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------
def fit_line(x, y):
    """Least-squares y = slope x + intercept; returns dict(slope, intercept, r2, n) (NaN when n < 2)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if len(x) < 2 or np.ptp(x) == 0:
        return {"slope": float("nan"), "intercept": float("nan"), "r2": float("nan"), "n": int(len(x))}
    slope, intercept = np.polyfit(x, y, 1)
    res = y - (slope * x + intercept)
    tot = y - y.mean()
    r2 = 1.0 - float(res @ res) / float(tot @ tot) if float(tot @ tot) > 0 else float("nan")
    return {"slope": float(slope), "intercept": float(intercept), "r2": r2, "n": int(len(x))}


def _mean(values):
    v = [x for x in values if x is not None]
    return float(np.mean(v)) if v and len(v) == len(values) else None


@dataclass(frozen=True)
class N4Row(Result):
    """One (N, R) point of :func:`run_n4`.

    ``d_star`` / ``d_star_frozen``: per seed, the minimal d reaching >= 99 % (None: not reached
    up to ``d_max``; ``d_star_frozen`` is None when the control was not run here), ``*_mean``
    their mean (None if any is missing); ``construction_k`` per seed the smallest k for which the
    construction stores all facts, ``construction_d`` = R k; ``assoc_d_square`` / ``assoc_d_params``
    the smallest d with p_c(d, n_params=d^2) / p_c(d, n_params=3dh + h + Rd) >= N R;
    ``history`` / ``history_frozen``: per seed the search path [d, stored, accuracy, steps_run].
    """

    n_subjects: int
    n_relations: int
    n_facts: int
    r_ln_n: float
    width: int
    n_seeds: int
    d_star: list
    d_star_mean: object
    d_star_frozen: object
    d_star_frozen_mean: object
    construction_k: list
    construction_d: list
    construction_d_mean: object
    assoc_d_square: object
    assoc_d_params: object
    history: list
    history_frozen: object


@dataclass(frozen=True, kw_only=True)
class N4Result(RowsResult):
    """Result of :func:`run_n4`: one :class:`N4Row` per (N, R), the settings, and the fits against R ln N."""

    fits: dict

    def format_table(self):
        """Markdown: per (N, R) the learned, frozen-control, construction and associative d."""

        def seeds(v):
            if v is None:
                return "-"
            return ", ".join("> d_max" if x is None else str(x) for x in v)

        def num(x):
            return "-" if x is None else (f"{x:.1f}" if isinstance(x, float) else str(x))

        head = ("| N | R | N R | R ln N | learned d* (per seed) | mean | frozen-control d* | construction d = R k_min "
                "(per seed) | mean | associative d (P = d²) | associative d (P = frozen-control params) |")
        lines = [head, "|" + "---|" * (head.count("|") - 1)]
        for r in self.rows:
            lines.append(f"| {r.n_subjects} | {r.n_relations} | {r.n_facts} | {r.r_ln_n:.2f} | {seeds(r.d_star)} | "
                         f"{num(r.d_star_mean)} | {seeds(r.d_star_frozen)} | {seeds(r.construction_d)} | "
                         f"{num(r.construction_d_mean)} | {num(r.assoc_d_square)} | {num(r.assoc_d_params)} |")
        lines.append("")
        lines.append("| fit against R ln N | slope | intercept | R² | points |")
        lines.append("|---|---|---|---|---|")
        for name, f in self.fits.items():
            lines.append(f"| {name} | {f['slope']:.3f} | {f['intercept']:.3f} | {f['r2']:.3f} | {f['n']} |")
        return "\n".join(lines)


def _grid_iv(grid, name):
    out = []
    for pt in grid:
        ok = isinstance(pt, (tuple, list)) and len(pt) == 2 and all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in pt)
        if not ok or not (2 <= pt[0] <= 10**5 and 1 <= pt[1] <= 10**3):
            raise ValueError(f"`{name}` entries must be integer pairs (n_subjects, n_relations) with "
                             f"2 <= n_subjects <= 100000 and 1 <= n_relations <= 1000; got {pt!r}")
        out.append((int(pt[0]), int(pt[1])))
    return list(dict.fromkeys(out))


def _run_n4_iv(grid, frozen_grid, seed, n_seeds, steps, lr, width, d_start, d_max, k_max, quick, device):
    if not isinstance(device, str) or device not in DEVICES:
        raise ValueError(f"`device` must be one of {', '.join(DEVICES)}; got {device!r}")
    grid = _grid_iv(QUICK_GRID if quick else DEFAULT_GRID, "grid") if grid is None else _grid_iv(grid, "grid")
    if not grid:
        raise ValueError("`grid` must hold at least one (n_subjects, n_relations) pair; got an empty sequence")
    frozen_grid = _grid_iv(QUICK_FROZEN if quick else FROZEN_GRID, "frozen_grid") if frozen_grid is None else \
        _grid_iv(frozen_grid, "frozen_grid")
    seed = check_int("seed", seed, low=0)
    n_seeds = (1 if quick else 2) if n_seeds is None else check_int("n_seeds", n_seeds, low=1, high=1000)
    steps = (600 if quick else STEPS) if steps is None else check_int("steps", steps, low=1, high=10**7)
    lr = check_real("lr", lr, low=0.0, low_open=True, high=10.0)
    width = check_int("width", width, low=1, high=10**6)
    d_start = check_int("d_start", d_start, low=1, high=10**5)
    d_max = check_int("d_max", d_max, low=d_start, high=10**5)
    k_max = check_int("k_max", k_max, low=1, high=10**5)
    return grid, frozen_grid, seed, n_seeds, steps, lr, width, d_start, d_max, k_max


def run_n4(*, grid=None, frozen_grid=None, seed=0, n_seeds=None, steps=None, lr=LR, width=WIDTH, d_start=D_START,
           d_max=D_MAX, k_max=CONSTRUCTION_K_MAX, quick=False, device="cpu", store=None, jobs=1, progress=None,
           unembedding="fixed"):
    r"""Minimal embedding width d* storing all N R facts with learned subject embeddings, vs R ln N.

    Parameters
    ----------
    grid : sequence of (N, R), optional
        Points of the learned-embedding search; default :data:`DEFAULT_GRID` (N = 64 ... 1024,
        R = 1, 2, 4, 8 with N = 1024 only at R = 1 and N = 512 only at R <= 2; quick: (16, 1), (16, 2)).
    frozen_grid : sequence of (N, R), optional
        Points of the frozen-embedding control (also searched with learned embeddings); default
        :data:`FROZEN_GRID` (quick: (16, 1)); ``()`` for none.
    seed, n_seeds : int
        Seeds seed ... seed + n_seeds - 1 (default 2; quick: 1); one independent fact table,
        initialisation and search per seed.
    steps, lr, width : int, float, int
        Training budget per run (default 1000; quick: 600), Adam learning rate, MLP width h.
    d_start, d_max : int
        The search starts at d_start (default 16) and gives up (d* = None) above d_max.
    k_max : int
        Largest k the construction scan tries.
    quick : bool
        Tiny grid, one seed, short budget (seconds).
    device : {"cpu", "cuda", "auto"}
    unembedding : {"fixed", "normalised", "trained"}
        The readout of every training run (:func:`build_model`; default ``"fixed"``).  The
        construction and the associative law do not depend on it.
    store, jobs, progress
        Passed to :func:`capacity.sweeps.run_sweep`: every training run, construction scan and
        associative-law evaluation is one task, so an interrupted run resumes.  The search proceeds in rounds (one
        run_sweep call per round, the next d of every search depending on the previous result).

    Returns
    -------
    N4Result
        ``fits``: least-squares lines against R ln N of the learned d* (mean over seeds,
        points where every seed stored), the construction d and the associative d (P = d²).

    Examples
    --------
    >>> res = run_n4(grid=[(16, 1)], frozen_grid=(), quick=True, progress=False)
    >>> [(row.n_subjects, row.n_relations, row.d_star) for row in res.rows]
    [(16, 1, [8])]
    """
    from ...sweeps.runner import run_sweep

    grid, frozen_grid, seed, n_seeds, steps, lr, width, d_start, d_max, k_max = _run_n4_iv(
        grid, frozen_grid, seed, n_seeds, steps, lr, width, d_start, d_max, k_max, quick, device)
    unembedding = _unembedding_iv(unembedding)
    resolve_device(device)
    points = list(dict.fromkeys(grid + frozen_grid))
    seeds = range(seed, seed + n_seeds)
    searches = {("learned", n, r, s): _Search(d_start, d_max) for n, r in points for s in seeds}
    searches.update({("frozen", n, r, s): _Search(d_start, d_max) for n, r in frozen_grid for s in seeds})
    # construction scans and associative-law evaluations: one round of tasks
    ckeys = [(n, r, s) for n, r in points for s in seeds]
    akeys = [(n, r, params) for n, r in points for params in ("square", "frozen")]
    ctasks = [construction_task(n, r, seed=s, k_max=k_max) for n, r, s in ckeys]
    atasks = [associative_task(n * r, params=params, width=width, n_relations=r) for n, r, params in akeys]
    cres = run_sweep(run_n4_task, ctasks + atasks, store=store, jobs=jobs, progress=progress)
    k_min = {key: res["k_min"] for key, res in zip(ckeys, cres)}
    assoc = {key: res["d"] for key, res in zip(akeys, cres[len(ckeys):])}
    n_runs = 0
    while True:
        pending = [(key, srch.next()) for key, srch in searches.items()]
        pending = [(key, d) for key, d in pending if d is not None]
        if not pending:
            break
        tasks = [n4_task(n, r, d, seed=s, width=width, frozen_subjects=kind == "frozen", steps=steps, lr=lr,
                         device=device, unembedding=unembedding) for (kind, n, r, s), d in pending]
        for ((key, d), res) in zip(pending, run_sweep(run_n4_task, tasks, store=store, jobs=jobs, progress=progress)):
            searches[key].record(d, res)
        n_runs += len(tasks)
    rows, warnings = [], []
    for n, r in points:
        ds = [searches[("learned", n, r, s)].d_star for s in seeds]
        fz = [searches[("frozen", n, r, s)].d_star for s in seeds] if (n, r) in frozen_grid else None
        ks = [k_min[(n, r, s)] for s in seeds]
        cd = [None if k is None else r * k for k in ks]
        for kind, vals in (("learned", ds), ("frozen", fz or [])):
            if any(v is None for v in vals):
                warnings.append(f"{kind} d* not reached up to d_max = {d_max} at N = {n}, R = {r}")
        if any(k is None for k in ks):
            warnings.append(f"construction not exact up to k_max = {k_max} at N = {n}, R = {r}")
        rows.append(N4Row(
            n_subjects=n, n_relations=r, n_facts=n * r, r_ln_n=r * math.log(n), width=width, n_seeds=n_seeds,
            d_star=ds, d_star_mean=_mean(ds), d_star_frozen=fz, d_star_frozen_mean=None if fz is None else _mean(fz),
            construction_k=ks, construction_d=cd, construction_d_mean=_mean(cd),
            assoc_d_square=assoc[(n, r, "square")], assoc_d_params=assoc[(n, r, "frozen")],
            history=[searches[("learned", n, r, s)].history for s in seeds],
            history_frozen=None if fz is None else [searches[("frozen", n, r, s)].history for s in seeds]))
    x = [row.r_ln_n for row in rows]

    def col(name):
        return [np.nan if getattr(row, name) is None else getattr(row, name) for row in rows]

    fits = {"learned d*": fit_line(x, col("d_star_mean")), "construction d": fit_line(x, col("construction_d_mean")),
            "associative d (P = d²)": fit_line(x, col("assoc_d_square"))}
    settings = {"seed": seed, "n_seeds": n_seeds, "steps": steps, "lr": lr, "width": width, "d_start": d_start,
                "d_max": d_max, "k_max": k_max, "check_every": CHECK_EVERY, "stored_accuracy": STORED_ACCURACY,
                "device": str(device), "quick": bool(quick), "n_training_runs": n_runs,
                "grid": [list(p) for p in grid], "frozen_grid": [list(p) for p in frozen_grid],
                "unembedding": unembedding,
                "model": "logits = U W2 relu(W1 [e(s); e(r)] + b1); U " + _U_TEXT[unembedding] + "; e(s), e(r), W1, "
                         "b1, W2 trained (frozen control: e(s) fixed); full-batch Adam, cross-entropy, float32",
                "construction": "d = R k, width d + R, codebook of relation r = block r of U, e(s) = sum_r P_r "
                                "U_{pi_r(s)}, exact when all N R facts are decoded (100 %)",
                "associative": "smallest d with p_c(d, n_params=P) >= N R, P = d^2 or P = 3dh + h + Rd"}
    return N4Result(rows=rows, fits=fits, settings=settings, warnings=warnings)
