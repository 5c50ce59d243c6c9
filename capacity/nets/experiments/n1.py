r"""N1 experiment: gradient-trained memories against the LP and the capacity bound (docs/nets.md, N1).

For each d (and architecture), P(all p stored) on a grid of p is summarised and its
50 % point located by the simulator's estimator (docs/simulator.md §6:
:func:`capacity.simulate.estimate.summarize_points`, :func:`~capacity.simulate.estimate.fit_p50`),
the same way as the certified LP verdicts of the same instances, and compared with the theory
p_c(d) (docs/theory.md §2, eq. (T3); two-layer: :func:`capacity.theory.two_layer.p_c_two_layer`,
docs/theory.md §6).  The memories and their training are in :mod:`capacity.nets.models.linear`.
"""
import math
import warnings
from dataclasses import dataclass

import numpy as np

from ..._validation import check_int
from ...results import Result, RowsResult
from .._torch import resolve_device
from ..models.linear import ARCHS, CHECK_EVERY, LR_SCALE, STEPS, train_instances

__all__ = ["EXPERIMENT", "FRACTIONS", "gd_task", "lp_task", "run_gd_task", "N1Row", "N1Result", "run_n1"]

EXPERIMENT = "nets-n1"
#: p grid of :func:`run_n1` as fractions of the theory p_c(d) (two-layer: of its theory value)
FRACTIONS = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1)
N_BOOT = 1000


# --------------------------------------------------------------------------------------
# Sweep tasks
# --------------------------------------------------------------------------------------
def gd_task(model, d, p, *, trial0, n_trials, seed, arch="linear", m=None, steps=STEPS, lr=None, optimizer="adam",
            check_every=CHECK_EVERY, dtype="float64"):
    """The task dict of one batch of GD trials (trials trial0 .. trial0 + n_trials - 1); its JSON is the store key."""
    return {"experiment": EXPERIMENT, "kind": "gd", "model": model, "d": int(d), "p": int(p), "seed": int(seed),
            "trial0": int(trial0), "n_trials": int(n_trials), "arch": arch, "m": None if m is None else int(m),
            "steps": int(steps), "lr": float(LR_SCALE / d if lr is None else lr), "optimizer": optimizer,
            "check_every": int(check_every), "dtype": dtype}


def lp_task(model, d, p, *, trial, seed, arch="linear", m=None):
    """The simulator's task (:func:`capacity.simulate.trial.make_task`) deciding the same instance exactly.

    linear and trained: the one-layer LP (for trained two-layer memories an upper bound:
    rank <= m products are a subset); frozen: experiment ``"two-layer-frozen"`` with the
    same W1.  Identical to the simulator's own tasks, so stored verdicts are shared.
    """
    from ...simulate.trial import make_task

    if arch == "frozen":
        return make_task("two-layer-frozen", model, d, p, trial=trial, seed=seed, m=m)
    return make_task("feasibility", model, d, p, trial=trial, seed=seed, method="ldp")


def run_gd_task(task):
    """Run one GD task (module level and picklable, for :func:`capacity.sweeps.run_sweep`)."""
    res = train_instances(task["model"], task["d"], task["p"], range(task["trial0"], task["trial0"] + task["n_trials"]),
                          seed=task["seed"], arch=task["arch"], m=task["m"], steps=task["steps"], lr=task["lr"],
                          optimizer=task["optimizer"], check_every=task["check_every"], dtype=task["dtype"],
                          device=task.get("device", "cpu"))
    trials = []
    for b in range(task["n_trials"]):
        trials.append({
            "trial": task["trial0"] + b, "stored": bool(res.stored[b]),
            "verdict": "feasible" if res.stored[b] else "infeasible",
            "step_stored": int(res.step_stored[b]), "min_margin": float(res.min_margin[b]),
            "kappa_hat": float(res.kappa_hat[b]), "loss": float(res.loss[b]),
            "checkpoint_kappa": [float(v) for v in res.checkpoint_kappa[:, b]],
            "checkpoint_loss": [float(v) for v in res.checkpoint_loss[:, b]],
        })
    return {"steps_run": res.steps_run, "checkpoint_steps": [int(s) for s in res.checkpoint_steps], "trials": trials}


# --------------------------------------------------------------------------------------
# Capacity sweep
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class N1Row(Result):
    """One (d, arch, m) cell of :func:`run_n1`.

    ``gd_counts`` / ``lp_counts``: {p: [n_stored or n_feasible, n_trials]} (LP: undecided
    trials counted in ``lp_undecided``).  ``gd_p50`` / ``lp_p50``: :class:`~capacity.simulate.estimate.P50Result` of
    P(all stored) and P(LP feasible).  ``theory`` is p_c(d) (linear), the frozen theory
    p_c(N = d min(m, d)) or the trained conjecture p_c(N = 2 d m - m^2); ``lp_kind`` says what the
    LP column decides (one-layer LP, or the exact frozen-W1 LP).  ``gd_not_lp``:
    instances GD stored but the LP certified infeasible (must be 0).  ``budget``: the
    budget check at ``budget["p"]`` (GD rerun with ``factor`` x steps on the same
    instances; ``changed`` verdicts out of ``n``), or None.
    """

    d: int
    arch: str
    m: object
    theory: float
    theory_label: str
    lp_kind: str
    gd_counts: dict
    lp_counts: dict
    lp_undecided: int
    gd_p50: object
    lp_p50: object
    gd_over_theory: float
    gd_over_lp: float
    lp_over_theory: float
    gd_not_lp: int
    n_pairs: int
    median_steps_to_store: float
    unstored_kappa_final: float
    budget: object = None


@dataclass(frozen=True)
class N1Result(RowsResult):
    """Result of :func:`run_n1`: one :class:`N1Row` per (d, arch, m), the settings and warnings."""

    def format_table(self):
        """A Markdown table: GD p50 [CI], LP p50 [CI], theory, GD/theory, GD/LP per row."""
        def ci(r):
            if not r.success:
                return "n/a"
            return f"{r.p50:.1f} [{r.ci_low:.1f}, {r.ci_high:.1f}]"

        head = ("| d | arch | m | GD p50 [95% CI] | LP p50 [95% CI] | LP | theory | GD/theory | GD/LP | "
                "LP/theory | GD stored, LP infeasible | budget check |")
        lines = [head, "|" + "---|" * (head.count("|") - 1)]
        for r in self.rows:
            b = r.budget
            bud = "-" if not b else f"p={b['p']}: {b['changed']}/{b['n']} changed ({b['factor']}x steps)"
            lines.append(
                f"| {r.d} | {r.arch} | {'-' if r.m is None else r.m} | {ci(r.gd_p50)} | {ci(r.lp_p50)} | {r.lp_kind} | "
                f"{r.theory:.1f} ({r.theory_label}) | {r.gd_over_theory:.3f} | {r.gd_over_lp:.3f} | "
                f"{r.lp_over_theory:.3f} | {r.gd_not_lp}/{r.n_pairs} | {bud} |")
        return "\n".join(lines)


def _theory(d, arch, m):
    if arch == "linear":
        from ...theory import p_c

        return float(p_c(d)), "p_c(d)"
    from ...theory.two_layer import p_c_two_layer

    if arch == "frozen":
        return float(p_c_two_layer(d, m).p_c), "p_c(N=dm)" if m < d else "p_c(N=d^2)"
    return float(p_c_two_layer(d, m, trained=True).p_c), "conj. p_c(N=2dm-m^2)" if m < d else "p_c(d)"


def _run_n1_iv(d_values, p_grid, trials, seed, steps, archs, quick, batch, budget_factor, model):
    if quick:
        d_values = (6,) if d_values is None else d_values
        trials = 6 if trials is None else trials
        steps = 300 if steps is None else steps
    d_values = (8, 12, 16, 24, 32) if d_values is None else d_values
    trials = 20 if trials is None else trials
    steps = STEPS if steps is None else steps
    if isinstance(d_values, (int, np.integer)):
        d_values = (d_values,)
    d_values = [check_int("d_values", d, low=2, high=256) for d in d_values]
    trials = check_int("trials", trials, low=1, high=10**5)
    seed = check_int("seed", seed, low=0)
    steps = check_int("steps", steps, low=1, high=10**7)
    batch = check_int("batch", batch, low=1)
    if model not in ("coupled", "decoupled"):
        raise ValueError(f"`model` must be 'coupled' or 'decoupled'; got {model!r}")
    archs = [("linear", None)] if archs is None else list(archs)
    out = []
    for a in archs:
        if isinstance(a, str):
            a = (a, None)
        if not (isinstance(a, (tuple, list)) and len(a) == 2 and a[0] in ARCHS):
            raise ValueError(f"`archs` must hold (arch, m) pairs with arch in {ARCHS}; got {a!r}")
        arch, m = a
        if arch == "linear" and m is not None:
            raise ValueError(f"`archs`: m must be None for 'linear'; got {a!r}")
        if arch != "linear":
            m = check_int("m", m, low=1, high=4096)
        out.append((arch, m))
    if p_grid is not None and not isinstance(p_grid, dict):
        raise ValueError(f"`p_grid` must be None or a dict {{d: [p, ...]}} (or {{(d, arch, m): [p, ...]}}); got "
                         f"{type(p_grid).__name__}")
    if budget_factor is not None:
        budget_factor = check_int("budget_factor", budget_factor, low=2)
    return d_values, p_grid, trials, seed, steps, out, batch, budget_factor


def _grid(p_grid, d, arch, m, theory):
    if p_grid is not None:
        for key in ((d, arch, m), d):
            if key in p_grid:
                ps = sorted({check_int("p_grid", p, low=2) for p in p_grid[key]})
                return ps
        raise ValueError(f"`p_grid` has no entry for d={d} (arch {arch!r}, m={m}); keys {sorted(map(str, p_grid))}")
    return sorted({max(2, int(round(f * theory))) for f in FRACTIONS})


def run_n1(*, d_values=None, p_grid=None, trials=None, seed=0, steps=None, lr=None, optimizer="adam", archs=None,
           model="coupled", quick=False, device="cpu", dtype="float64", batch=20, lp=True, budget_factor=2,
           n_boot=N_BOOT, store=None, jobs=1, progress=None):
    r"""GD-trained memories vs the LP and the theory: p50 of "all p stored" per d (docs/nets.md, N1).

    Parameters
    ----------
    d_values : sequence of int, optional
        Dimensions; default 8, 12, 16, 24, 32 (quick: 6).
    p_grid : dict, optional
        ``{d: [p, ...]}`` or ``{(d, arch, m): [p, ...]}``; default
        round(f theory) for f in 0.5, 0.6, ..., 1.1.
    trials : int, optional
        Instances per p (trials 0 .. trials - 1 of the simulator); default 20 (quick: 6).
    seed : int
        Instance seed (``make_instance(seed=...)``), also the bootstrap seed.
    steps : int, optional
        GD step budget; default 4000 (quick: 300).
    lr, optimizer, dtype, device
        Passed to :func:`capacity.nets.models.linear.train_memories`.
    archs : sequence of (arch, m), optional
        Default ``[("linear", None)]``; two-layer e.g. ``("frozen", 6), ("trained", 6)``.
    model : {"coupled", "decoupled"}
    batch : int
        Trials trained together in one task (one tensor).
    lp : bool
        Also decide every instance with the certified LP (the simulator's own tasks,
        shared with its stores); without it the LP columns are NaN.
    budget_factor : int or None
        Budget check: at the grid p nearest the GD p50, rerun GD with this many
        times the steps on the same instances and count changed verdicts.
    n_boot : int
        Bootstrap replicates of each p50 interval.
    store, jobs, progress
        Passed to :func:`capacity.sweeps.run_sweep` (results persist per task; a
        rerun resumes).

    Returns
    -------
    N1Result

    Examples
    --------
    >>> r = run_n1(quick=True, progress=False)
    >>> [row.d for row in r.rows]
    [6]
    """
    from ...simulate.estimate import fit_p50, summarize_points
    from ...simulate.trial import run_trial
    from ...sweeps.runner import run_sweep

    d_values, p_grid, trials, seed, steps, archs, batch, budget_factor = _run_n1_iv(
        d_values, p_grid, trials, seed, steps, archs, quick, batch, budget_factor, model)
    resolve_device(device)
    n_boot = check_int("n_boot", n_boot, low=0)
    blocks = [(t0, min(batch, trials - t0)) for t0 in range(0, trials, batch)]

    def gd_tasks(d, p, arch, m, n_steps):
        return [gd_task(model, d, p, trial0=t0, n_trials=nt, seed=seed, arch=arch, m=m, steps=n_steps, lr=lr,
                        optimizer=optimizer, dtype=dtype) | ({} if device == "cpu" else {"device": device})
                for t0, nt in blocks]

    cells = []
    for d in d_values:
        for arch, m in archs:
            theory, label = _theory(d, arch, m)
            cells.append((d, arch, m, theory, label, _grid(p_grid, d, arch, m, theory)))

    tasks = [t for d, arch, m, _, _, ps in cells for p in ps for t in gd_tasks(d, p, arch, m, steps)]
    gd_results = run_sweep(run_gd_task, tasks, store=store, jobs=jobs, progress=progress)
    gd = {}  # (d, arch, m, p, trial) -> trial record
    for task, res in zip(tasks, gd_results):
        for tr in res["trials"]:
            gd[(task["d"], task["arch"], task["m"], task["p"], tr["trial"])] = tr
    lp_verdicts = {}
    if lp:
        lp_keys = [(d, arch, m, p, t) for d, arch, m, _, _, ps in cells for p in ps for t in range(trials)]
        lp_tasks = [lp_task(model, d, p, trial=t, seed=seed, arch=arch, m=m) for d, arch, m, p, t in lp_keys]
        for key, res in zip(lp_keys, run_sweep(run_trial, lp_tasks, store=store, jobs=jobs, progress=progress)):
            lp_verdicts[key] = res["verdict"]

    caught_all = []
    rows = []
    for d, arch, m, theory, label, ps in cells:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            recs = [{"p": p, "verdict": gd[(d, arch, m, p, t)]["verdict"]} for p in ps for t in range(trials)]
            gd_p50 = fit_p50(summarize_points(recs), n_boot=n_boot, seed=seed)
            gd_counts = {p: [sum(gd[(d, arch, m, p, t)]["stored"] for t in range(trials)), trials] for p in ps}
            if lp:
                lrecs = [{"p": p, "verdict": lp_verdicts[(d, arch, m, p, t)]} for p in ps for t in range(trials)]
                lp_p50 = fit_p50(summarize_points(lrecs), n_boot=n_boot, seed=seed)
            else:
                lp_p50 = None
        caught_all += [f"d={d} {arch} m={m}: {w.message}" for w in caught]
        lp_counts, lp_und, bad = {}, 0, 0
        if lp:
            for p in ps:
                v = [lp_verdicts[(d, arch, m, p, t)] for t in range(trials)]
                lp_counts[p] = [v.count("feasible"), trials]
                lp_und += v.count("undecided")
            bad = sum(gd[(d, arch, m, p, t)]["stored"] and lp_verdicts[(d, arch, m, p, t)] == "infeasible"
                      for p in ps for t in range(trials))
        stored_steps = [gd[(d, arch, m, p, t)]["step_stored"] for p in ps for t in range(trials)
                        if gd[(d, arch, m, p, t)]["stored"]]
        unstored_k = [gd[(d, arch, m, p, t)]["kappa_hat"] for p in ps for t in range(trials)
                      if not gd[(d, arch, m, p, t)]["stored"]]
        gp = gd_p50.p50 if gd_p50.success else math.nan
        lpp = lp_p50.p50 if (lp and lp_p50.success) else math.nan
        rows.append(dict(d=d, arch=arch, m=m, theory=theory, theory_label=label,
                         lp_kind="frozen-W1 LP (exact)" if arch == "frozen" else
                         ("one-layer LP (upper bound)" if arch == "trained" else "one-layer LP (exact)"),
                         gd_counts=gd_counts, lp_counts=lp_counts, lp_undecided=lp_und, gd_p50=gd_p50,
                         lp_p50=lp_p50, gd_over_theory=gp / theory, gd_over_lp=gp / lpp if lp else math.nan,
                         lp_over_theory=lpp / theory, gd_not_lp=int(bad), n_pairs=len(ps) * trials if lp else 0,
                         median_steps_to_store=float(np.median(stored_steps)) if stored_steps else math.nan,
                         unstored_kappa_final=float(np.median(unstored_k)) if unstored_k else math.nan))

    if budget_factor:
        checks = []
        for row, (d, arch, m, _, _, ps) in zip(rows, cells):
            target = row["gd_p50"].p50 if row["gd_p50"].success else None
            if target is None:
                continue
            p_at = min(ps, key=lambda p: (abs(p - target), p))
            checks.append((row, d, arch, m, p_at))
        btasks = [t for _, d, arch, m, p in checks for t in gd_tasks(d, p, arch, m, steps * budget_factor)]
        bres = run_sweep(run_gd_task, btasks, store=store, jobs=jobs, progress=progress)
        longer = {}
        for task, res in zip(btasks, bres):
            for tr in res["trials"]:
                longer[(task["d"], task["arch"], task["m"], task["p"], tr["trial"])] = tr["stored"]
        for row, d, arch, m, p in checks:
            before = [gd[(d, arch, m, p, t)]["stored"] for t in range(trials)]
            after = [longer[(d, arch, m, p, t)] for t in range(trials)]
            row["budget"] = {"p": p, "factor": budget_factor, "n": trials, "stored_before": int(sum(before)),
                             "stored_after": int(sum(after)),
                             "changed": int(sum(a != b for a, b in zip(after, before))),
                             "gained": int(sum(a and not b for a, b in zip(after, before))),
                             "lost": int(sum(b and not a for a, b in zip(after, before)))}
    settings = {"model": model, "seed": seed, "trials": trials, "steps": steps, "lr": "6/d" if lr is None else lr,
                "optimizer": optimizer,
                "dtype": dtype, "device": device, "batch": batch, "check_every": CHECK_EVERY, "lp": bool(lp),
                "budget_factor": budget_factor, "n_boot": n_boot, "d_values": list(d_values),
                "archs": [list(a) for a in archs], "quick": bool(quick)}
    return N1Result(rows=[N1Row(**r) for r in rows], settings=settings, warnings=caught_all)
