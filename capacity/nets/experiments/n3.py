"""N3 experiment: test accuracy against training size, N* fits and the attention-only d^2 limit (docs/nets.md, N3).

The task and the model are in :mod:`capacity.nets.models.retrieval` (and stated in
:data:`SETTING`); here every training run is one task of :func:`capacity.sweeps.run_sweep`,
the smallest training size N* reaching a test accuracy is interpolated and fitted as a power law,
and the value path is tested against p_c(d) (docs/theory.md §2, eq. (T3)).
"""
import math
import time
from dataclasses import dataclass

import numpy as np

from ..._validation import check_real
from ...results import Result, RowsResult
from .._torch import resolve_device
from ..models.retrieval import LR, N_TEST, _check_shape, _positive_int, train_retrieval

__all__ = ["EXPERIMENT", "THRESHOLDS", "SETTING", "coverage_n", "minimal_n", "fit_power_law", "N3Grid", "N3Result",
           "run_n3"]

EXPERIMENT = "nets-n3-retrieval"
THRESHOLDS = (0.9, 0.99)


def _n3_task(task):
    """run_sweep worker: one training run described by a task dict (module level: picklable)."""
    return train_retrieval(V=task["V"], d=task["d"], L=task["L"], m=task["m"], n_train=task["n_train"],
                           steps=task["steps"], seed=task["seed"], n_test=task["n_test"], lr=task["lr"],
                           device=task["device"])


# ----------------------------------------------------------------------------- analysis
def coverage_n(V, threshold):
    """Training size at which the marked tokens seen cover ``threshold`` of the test mass.

    A learner that can only answer tokens it has seen marked at least once reaches expected
    test accuracy ``1 - (1 - 1/V)^N``; this returns the real N solving that = ``threshold``
    (about ``V ln(1 / (1 - threshold))``), the sample-complexity floor of a lookup table.
    """
    return math.log1p(-threshold) / math.log1p(-1.0 / V)


def minimal_n(n_values, accuracies, threshold):
    """Smallest training size reaching ``threshold`` test accuracy, interpolated in log N.

    ``n_values`` ascending.  Returns ``(n_star, n_grid)``: ``n_grid`` is the first grid N with
    accuracy >= threshold, ``n_star`` interpolates accuracy linearly in log N between it and
    the grid point before (``n_star = n_grid`` when it is the first point).  Both are NaN when
    no grid point reaches the threshold.

    Examples
    --------
    >>> minimal_n([10, 20, 40], [0.5, 0.8, 0.95], 0.9)[1]
    40
    """
    n = [float(x) for x in n_values]
    a = [float(x) for x in accuracies]
    for i, (ni, ai) in enumerate(zip(n, a)):
        if ai >= threshold:
            if i == 0:
                return ni, int(ni)
            n0, a0 = n[i - 1], a[i - 1]
            frac = (threshold - a0) / (ai - a0)
            return math.exp(math.log(n0) + frac * (math.log(ni) - math.log(n0))), int(ni)
    return math.nan, math.nan


def fit_power_law(rows, *, target="n_star", features=("V", "L", "d")):
    """Least-squares fit ``log target = c + sum_k a_k log feature_k`` over the rows with finite target.

    Returns a dict: ``coef`` and ``stderr`` (dicts over ``"const"`` and the features; standard
    errors ``sqrt(diag(s^2 (A^T A)^-1))`` with ``s^2`` the residual variance on n - k - 1 degrees
    of freedom), ``n_points``, ``r2`` and ``rms`` (residual RMS in ln).  With too few points or a
    feature that does not vary, coefficients are NaN.
    """
    use = [r for r in rows if math.isfinite(r[target]) and r[target] > 0]
    names = ("const",) + tuple(features)
    nan = {k: math.nan for k in names}
    out = {"coef": dict(nan), "stderr": dict(nan), "n_points": len(use), "r2": math.nan, "rms": math.nan,
           "features": list(features)}
    if len(use) < len(names) + 1:
        return out
    A = np.array([[1.0] + [math.log(r[f]) for f in features] for r in use])
    y = np.array([math.log(r[target]) for r in use])
    if np.linalg.matrix_rank(A) < A.shape[1]:
        return out
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    resid = y - A @ coef
    dof = len(y) - A.shape[1]
    s2 = float(resid @ resid) / dof
    cov = s2 * np.linalg.inv(A.T @ A)
    ss_tot = float(((y - y.mean()) ** 2).sum())
    out.update(coef=dict(zip(names, map(float, coef))), stderr=dict(zip(names, map(float, np.sqrt(np.diag(cov))))),
               r2=1.0 - float(resid @ resid) / ss_tot if ss_tot > 0 else math.nan,
               rms=float(np.sqrt(resid @ resid / len(y))))
    return out


# ----------------------------------------------------------------------------- experiment
@dataclass(frozen=True)
class N3Grid(Result):
    """What :func:`run_n3` trains.

    N* grid: every (V, d, L, m) with d < V, training sizes ``N = round(f V)`` for ``f`` in
    ``n_factors`` (ascending), run level by level; a configuration stops after the first level
    whose test accuracy is >= 0.99 (larger N are not needed for N*).

    Value-path test: attention-only (m = 0) and, for comparison, MLP width ``vp_m`` models with
    ``V = round(r p_c(d))`` for ``r`` in ``vp_ratios``, ``L = vp_L``, ``N = vp_n_factor V``
    (every token is marked about ``vp_n_factor`` times: the data are not the limit),
    ``vp_steps`` Adam steps, ``vp_replicas`` independent instances (seeds ``seed``,
    ``seed + 1``, ...).  The MLP comparison runs only at ``r`` in ``vp_m_ratios`` (one replica).

    Budget check: each configuration (V, d, L, m) in ``checks`` is rerun over the N grid with
    ``2 steps``.

    ``to_dict()`` (from :class:`capacity.results.Result`) gives the fields with tuples as lists.
    """

    V: tuple = (32, 64, 128)
    d: tuple = (8, 16, 32)
    L: tuple = (4, 8, 16)
    m: tuple = (0, 64)
    n_factors: tuple = (0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0)
    vp_d: tuple = (8, 12, 16)
    vp_ratios: tuple = (0.5, 0.75, 0.9, 1.0, 1.25, 1.5, 2.0)
    vp_m: int = 64
    vp_m_ratios: tuple = (1.5, 2.0)
    vp_L: int = 4
    vp_n_factor: float = 16.0
    vp_steps: int = 3000
    vp_replicas: int = 3
    checks: tuple = ((64, 32, 8, 0), (64, 16, 16, 64))

    @classmethod
    def quick(cls):
        """A grid that trains in seconds (for tests and --quick figures)."""
        return cls(V=(16,), d=(8,), L=(2, 4), m=(0, 32), n_factors=(2.0, 4.0, 8.0), vp_d=(4,),
                   vp_ratios=(0.5, 2.0), vp_m=32, vp_m_ratios=(2.0,), vp_L=2, vp_n_factor=8.0,
                   vp_steps=200, vp_replicas=1, checks=((16, 8, 2, 32),))


def _tuples(v):
    return tuple(_tuples(x) for x in v) if isinstance(v, (list, tuple)) else v


def _as_grid(grid, quick):
    if grid is None:
        return N3Grid.quick() if quick else N3Grid()
    if isinstance(grid, dict):
        unknown = set(grid) - set(N3Grid.__dataclass_fields__)
        if unknown:
            raise ValueError(f"`grid` keys must be among {sorted(N3Grid.__dataclass_fields__)}; got {sorted(unknown)}")
        base = N3Grid.quick() if quick else N3Grid()
        grid = N3Grid(**{**base.__dict__, **{k: _tuples(v) for k, v in grid.items()}})
    if not isinstance(grid, N3Grid):
        raise ValueError(f"`grid` must be an N3Grid, a dict of its fields or None; got {grid!r}")
    for name in ("V", "d", "L", "m", "n_factors", "vp_d", "vp_ratios", "vp_m_ratios"):
        values = getattr(grid, name)
        if not isinstance(values, tuple) or (len(values) == 0 and name not in ("vp_d", "vp_m_ratios")):
            raise ValueError(f"`grid.{name}` must be a non-empty tuple; got {values!r}")
    for name in ("V", "d", "L", "vp_d"):
        for v in getattr(grid, name):
            _positive_int(f"grid.{name}", v, 2 if name == "V" else 1)
    for v in grid.m:
        _positive_int("grid.m", v, 0)
    for name in ("n_factors", "vp_ratios", "vp_m_ratios"):
        for v in getattr(grid, name):
            check_real(f"grid.{name}", v, low=0.0, low_open=True)
    if list(grid.n_factors) != sorted(set(grid.n_factors)):
        raise ValueError(f"`grid.n_factors` must be strictly increasing; got {grid.n_factors!r}")
    _positive_int("grid.vp_m", grid.vp_m, 1)
    _positive_int("grid.vp_L", grid.vp_L, 1)
    _positive_int("grid.vp_steps", grid.vp_steps, 1)
    check_real("grid.vp_n_factor", grid.vp_n_factor, low=0.0, low_open=True)
    _positive_int("grid.vp_replicas", grid.vp_replicas, 1)
    if not isinstance(grid.checks, tuple) or not all(isinstance(c, tuple) and len(c) == 4 for c in grid.checks):
        raise ValueError(f"`grid.checks` must be a tuple of (V, d, L, m) tuples; got {grid.checks!r}")
    for c in grid.checks:
        _check_shape(*c)
    return grid


@dataclass(frozen=True, kw_only=True)
class N3Result(RowsResult):
    """Outcome of :func:`run_n3` (docs/nets.md, N3).

    Attributes
    ----------
    rows : list of dict
        The N* table, one row per (V, d, L, m): ``V, d, L, m, steps``, ``n_star_90, n_grid_90,
        n_star_99, n_grid_99`` (NaN: not reached on the grid), ``coverage_90, coverage_99``
        (:func:`coverage_n`), ``max_test_acc``, ``n_max`` (largest N trained), ``p_c`` (= p_c(d)).
    settings : dict
        ``setting`` (the task and model in words: our choices, see
        :mod:`capacity.nets.models.retrieval`), ``grid`` (the :class:`N3Grid` used, as a dict),
        ``seed``, ``steps``, ``n_test``, ``lr``, ``device`` (the training budget and where it ran).
    warnings : list
        Empty (kept for the shape shared by every experiment result).
    runs : tuple of dict
        One per N*-grid training run: ``V, d, L, m, n_train, steps, train_acc, test_acc, map_acc,
        loss_init, loss_final``.
    fits : tuple of dict
        ``log N* = c + a_V log V + a_L log L + a_d log d`` per (m, threshold), from
        :func:`fit_power_law` (``m``, ``threshold`` added).
    value_path : tuple of dict
        One per value-path run: ``d, V, m, seed, ratio = V / p_c(d), n_train, steps, train_acc,
        test_acc, map_acc, loss_final``.
    value_path_summary : tuple of dict
        Per d: ``p_c`` (= p_c(d), N = d^2: in N1's theory the p at which half of the instances
        are storable), ``p_c_bias`` (N = d^2 + d: the trigger adds a bias), ``V_values`` and
        ``frac_stored`` (fraction of m = 0 replicas with map accuracy 1, per V),
        ``largest_V_half`` (largest V with frac_stored >= 1/2 and every smaller V too; NaN if
        none), ``smallest_V_below_half`` (smallest V with frac_stored < 1/2), ``max_map_acc_above``
        (best m = 0 map accuracy at V > p_c(d); NaN if none tested).
    budget_check : tuple of dict
        Per configuration in ``grid.checks``: ``config`` (V, d, L, m), ``steps`` and
        ``steps_doubled``, the N* at both budgets and the accuracies along the N grid at both.
    seconds : float
        Wall time of this call (runs resumed from a store cost nothing).
    """

    runs: tuple
    fits: tuple
    value_path: tuple
    value_path_summary: tuple
    budget_check: tuple
    seconds: float = math.nan

    def format_table(self):
        """Markdown: N* table, fitted exponents, the value-path test and the budget check."""
        return _format(self)


SETTING = (
    "marked-token retrieval: L tokens uniform from V (with replacement), embeddings e_v ~ N(0, I/d) fixed, "
    "one uniform position marked by a fixed random trigger t ~ N(0, I/d) added to its embedding, "
    "label pi(marked token) for a fixed random permutation pi; model: one single-head attention layer "
    "with a learned query vector w (a = softmax(w . x_l)), trainable value W_V (d x d), optional residual "
    "ReLU MLP width m (both layers trained), logits through a FIXED random unembedding U (rows N(0, I/d)); "
    "m = 0 is the attention-only value path U W_V sum_l a_l x_l; full-batch Adam on cross-entropy over V "
    "classes, float32"
)


def _task(kind, seed, V, d, L, m, n_train, steps, n_test, lr, device):
    return {"experiment": EXPERIMENT, "kind": kind, "seed": seed, "V": V, "d": d, "L": L, "m": m,
            "n_train": n_train, "steps": steps, "n_test": n_test, "lr": lr, "device": device}


def _levels(grid_V, factors):
    return [max(1, int(round(f * grid_V))) for f in factors]


def _sweep_levels(configs, factors, base, store, jobs, progress, kind):
    """Run each (V, d, L, m) over its N levels, stopping a configuration at test accuracy >= 0.99."""
    from ...sweeps import run_sweep

    done = {c: [] for c in configs}  # config -> list of (task, result)
    active = list(configs)
    for level in range(len(factors)):
        tasks = []
        for (V, d, L, m) in active:
            n = _levels(V, factors)[level]
            tasks.append(_task(kind, V=V, d=d, L=L, m=m, n_train=n, **base))
        if not tasks:
            break
        results = run_sweep(_n3_task, tasks, store=store, jobs=jobs, progress=progress)
        still = []
        for c, t, r in zip(active, tasks, results):
            done[c].append((t, r))
            if r["test_acc"] < THRESHOLDS[-1]:
                still.append(c)
        active = still
    return done


def _n_star_row(config, pairs, steps):
    V, d, L, m = config
    from ...theory import p_c

    ns = [t["n_train"] for t, _ in pairs]
    accs = [r["test_acc"] for _, r in pairs]
    row = {"V": V, "d": d, "L": L, "m": m, "steps": steps}
    for thr in THRESHOLDS:
        tag = f"{int(round(thr * 100))}"
        row[f"n_star_{tag}"], row[f"n_grid_{tag}"] = minimal_n(ns, accs, thr)
        row[f"coverage_{tag}"] = coverage_n(V, thr)
    row.update(max_test_acc=max(accs), n_max=max(ns), p_c=float(p_c(d)))
    return row


def run_n3(*, grid=None, seed=0, steps=None, quick=False, device="cpu", store=None, jobs=1, progress=None):
    """Marked-token retrieval: test accuracy vs N, N* fits and the attention-only d^2 limit.

    Parameters
    ----------
    grid : N3Grid, dict of its fields, or None
        None: ``N3Grid()`` (``N3Grid.quick()`` with ``quick=True``); a dict overrides fields of
        that default.
    seed : int
        Instance seed (embeddings, permutation, unembedding, data and initialisation derive
        from it; see :func:`train_retrieval`).
    steps : int, optional
        Adam steps per N*-grid run (default 1000; 200 with ``quick``).
    quick : bool
        Small grid, small budget, 500 test sequences: finishes in seconds.
    device : {"cpu", "cuda", "auto"}
    store, jobs, progress
        Passed to :func:`capacity.sweeps.run_sweep`: every training run is one task, committed
        when it finishes; rerunning with the same store resumes.

    Returns
    -------
    N3Result

    Notes
    -----
    The task and model are stated in :data:`SETTING` and the module docstring.  N* is
    interpolated in log N between grid sizes (:func:`minimal_n`); the fits use the configurations
    that reach the threshold, separately for each m.

    Examples
    --------
    >>> tiny = {"V": (16,), "d": (4,), "L": (2,), "m": (0,), "n_factors": (2.0,), "vp_d": (),
    ...         "checks": ((16, 4, 2, 0),)}
    >>> res = run_n3(grid=tiny, steps=20, quick=True)
    >>> len(res.runs), res.budget_check[0]["steps_doubled"]
    (1, 40)
    """
    from ...theory import p_c

    start = time.perf_counter()
    grid = _as_grid(grid, quick)
    seed = _positive_int("seed", seed, 0)
    steps = (200 if quick else 1000) if steps is None else _positive_int("steps", steps, 1)
    n_test = 500 if quick else N_TEST
    dev = str(resolve_device(device).type)
    base = {"seed": seed, "steps": steps, "n_test": n_test, "lr": LR, "device": dev}

    configs = [(V, d, L, m) for V in grid.V for d in grid.d if d < V for L in grid.L for m in grid.m]
    if not configs:
        raise ValueError(f"`grid` has no configuration with d < V; got V={grid.V}, d={grid.d}")
    done = _sweep_levels(configs, grid.n_factors, base, store, jobs, progress, "grid")
    runs, n_star = [], []
    for c in configs:
        for t, r in done[c]:
            runs.append({k: t[k] for k in ("V", "d", "L", "m", "n_train", "steps")} | {
                k: r[k] for k in ("train_acc", "test_acc", "map_acc", "loss_init", "loss_final")})
        n_star.append(_n_star_row(c, done[c], steps))
    fits = []
    for m in grid.m:
        rows = [r for r in n_star if r["m"] == m]
        for thr in THRESHOLDS:
            tag = f"{int(round(thr * 100))}"
            fit = fit_power_law([{"n_star": r[f"n_star_{tag}"], "V": r["V"], "L": r["L"], "d": r["d"]} for r in rows])
            fits.append({"m": m, "threshold": thr, **fit})

    # value-path test
    from ...sweeps import run_sweep

    vp_tasks = []
    for d in grid.vp_d:
        pc = p_c(d)
        for ratio in grid.vp_ratios:
            V = max(d + 1, int(round(ratio * pc)))
            runs_here = [(0, seed + k) for k in range(grid.vp_replicas)]
            if ratio in grid.vp_m_ratios:
                runs_here.append((grid.vp_m, seed))
            for m, s in runs_here:
                vp_tasks.append(_task("value-path", seed=s, V=V, d=d, L=grid.vp_L, m=m,
                                      n_train=int(round(grid.vp_n_factor * V)), steps=grid.vp_steps,
                                      n_test=n_test, lr=LR, device=dev))
    vp_results = run_sweep(_n3_task, vp_tasks, store=store, jobs=jobs, progress=progress) if vp_tasks else []
    value_path = tuple(
        {"d": t["d"], "V": t["V"], "m": t["m"], "seed": t["seed"], "ratio": t["V"] / p_c(t["d"]), "n_train": t["n_train"],
         "steps": t["steps"]} | {k: r[k] for k in ("train_acc", "test_acc", "map_acc", "loss_final")}
        for t, r in zip(vp_tasks, vp_results))
    summary = []
    for d in grid.vp_d:
        rows = [r for r in value_path if r["d"] == d and r["m"] == 0]
        Vs = sorted({r["V"] for r in rows})
        frac = [float(np.mean([r["map_acc"] >= 1.0 for r in rows if r["V"] == V])) for V in Vs]
        below = [V for V, f in zip(Vs, frac) if f < 0.5]
        half = [V for V in Vs if not below or V < below[0]]
        pc = float(p_c(d))
        above = [r["map_acc"] for r in rows if r["V"] > pc]
        summary.append({"d": d, "p_c": pc, "p_c_bias": float(p_c(d, n_params=d * d + d)), "V_values": Vs,
                        "frac_stored": frac, "largest_V_half": max(half) if half else math.nan,
                        "smallest_V_below_half": below[0] if below else math.nan,
                        "max_map_acc_above": max(above) if above else math.nan})

    # budget check: the same configurations with doubled steps
    budget = []
    base2 = dict(base, steps=2 * steps)
    for cfg in grid.checks:
        done1 = _sweep_levels([cfg], grid.n_factors, base, store, jobs, progress, "grid")[cfg]
        done2 = _sweep_levels([cfg], grid.n_factors, base2, store, jobs, progress, "grid")[cfg]
        r1, r2 = _n_star_row(cfg, done1, steps), _n_star_row(cfg, done2, 2 * steps)
        budget.append({"config": list(cfg), "steps": steps, "steps_doubled": 2 * steps,
                       "n_star_90": r1["n_star_90"], "n_star_99": r1["n_star_99"],
                       "n_star_90_doubled": r2["n_star_90"], "n_star_99_doubled": r2["n_star_99"],
                       "n_train": [t["n_train"] for t, _ in done1], "test_acc": [r["test_acc"] for _, r in done1],
                       "n_train_doubled": [t["n_train"] for t, _ in done2],
                       "test_acc_doubled": [r["test_acc"] for _, r in done2]})
    settings = {"setting": SETTING, "grid": grid.to_dict(), "seed": seed, "steps": steps, "n_test": n_test, "lr": LR,
                "device": dev}
    return N3Result(rows=list(n_star), settings=settings, runs=tuple(runs), fits=tuple(fits), value_path=value_path,
                    value_path_summary=tuple(summary), budget_check=tuple(budget), seconds=time.perf_counter() - start)


def _f(x, fmt="{:.0f}"):
    return fmt.format(x) if isinstance(x, (int, float)) and math.isfinite(x) else "—"


def _format(res):
    st = res.settings
    out = [f"Setting: {st['setting']}.", "",
           f"Budget: {st['steps']} full-batch Adam steps (lr {st['lr']}) per N*-grid run, {st['n_test']} test "
           f"sequences, seed {st['seed']}, device {st['device']}; N grid N = round(f V), f in "
           f"{st['grid']['n_factors']}; "
           "a configuration stops after its first N with test accuracy >= 0.99.", "",
           "### N* (log-N interpolated; grid N in brackets; coverage = lookup-table floor V ln(1/(1-acc)))", "",
           "| V | d | L | m | p_c(d) | N*(0.90) | N*(0.99) | N*(0.90)/cov | N*(0.99)/cov | max test acc "
           "| N max |",
           "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in res.rows:
        out.append(f"| {r['V']} | {r['d']} | {r['L']} | {r['m']} | {r['p_c']:.1f} | "
                   f"{_f(r['n_star_90'])} [{_f(r['n_grid_90'])}] | {_f(r['n_star_99'])} [{_f(r['n_grid_99'])}] | "
                   f"{_f(r['n_star_90'] / r['coverage_90'], '{:.2f}')} | "
                   f"{_f(r['n_star_99'] / r['coverage_99'], '{:.2f}')} | "
                   f"{r['max_test_acc']:.3f} | {r['n_max']} |")
    out += ["", "### Fits log N* = c + a_V log V + a_L log L + a_d log d (± 1 s.e.)", "",
            "| m | threshold | points | a_V | a_L | a_d | c | R² | rms (ln) |",
            "|---:|---:|---:|---|---|---|---|---:|---:|"]
    for f in res.fits:
        c, s = f["coef"], f["stderr"]
        cell = [f"{_f(c[k], '{:.3f}')} ± {_f(s[k], '{:.3f}')}" for k in ("V", "L", "d", "const")]
        out.append(f"| {f['m']} | {f['threshold']} | {f['n_points']} | " + " | ".join(cell)
                   + f" | {_f(f['r2'], '{:.3f}')} | {_f(f['rms'], '{:.3f}')} |")
    if res.value_path:
        g = st["grid"]
        out += ["", f"### Value-path test (L = {g['vp_L']}, N = {g['vp_n_factor']:g} V, {g['vp_steps']} steps, "
                f"{g['vp_replicas']} instance(s) for m = 0)", "",
                "| d | V | V/p_c(d) | m | seed | train acc | test acc | map acc | final loss |",
                "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in res.value_path:
            out.append(f"| {r['d']} | {r['V']} | {r['ratio']:.2f} | {r['m']} | {r['seed']} | {r['train_acc']:.3f} | "
                       f"{r['test_acc']:.3f} | {r['map_acc']:.3f} | {r['loss_final']:.3g} |")
        out += ["", "Fraction of m = 0 instances storing all V associations (map accuracy 1), against p_c(d), "
                "the V at which half of the instances are storable in N1's theory:", "",
                "| d | p_c(d) (N = d²) | p_c (N = d² + d) | fraction stored, by V | largest V with >= 1/2 stored | "
                "smallest V with < 1/2 | best map acc at V > p_c (m = 0) |", "|---:|---:|---:|---|---:|---:|---:|"]
        for s in res.value_path_summary:
            fr = ", ".join(f"{V}: {f:.2g}" for V, f in zip(s["V_values"], s["frac_stored"]))
            out.append(f"| {s['d']} | {s['p_c']:.1f} | {s['p_c_bias']:.1f} | {fr} | {_f(s['largest_V_half'])} | "
                       f"{_f(s['smallest_V_below_half'])} | {_f(s['max_map_acc_above'], '{:.3f}')} |")
    for b in res.budget_check:
        out += ["", f"### Budget check: (V, d, L, m) = {tuple(b['config'])}, {b['steps']} vs {b['steps_doubled']} "
                "steps", "",
                f"N*(0.90): {_f(b['n_star_90'])} vs {_f(b['n_star_90_doubled'])}; "
                f"N*(0.99): {_f(b['n_star_99'])} vs {_f(b['n_star_99_doubled'])}", "",
                "| N | test acc | test acc (2x steps) |", "|---:|---:|---:|"]
        acc2 = dict(zip(b["n_train_doubled"], b["test_acc_doubled"]))
        acc1 = dict(zip(b["n_train"], b["test_acc"]))
        for n in sorted(set(acc1) | set(acc2)):
            out.append(f"| {n} | {_f(acc1.get(n, math.nan), '{:.3f}')} | {_f(acc2.get(n, math.nan), '{:.3f}')} |")
    return "\n".join(out)
