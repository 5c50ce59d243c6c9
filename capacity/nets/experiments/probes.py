r"""N4 mechanism-probe experiment: superposition, relation gating, causal swap, zero-shot transfer (docs/nets.md, N4).

:func:`run_probes` trains, per setting (N, R, d, h) and seed, the learned model and the frozen
control (:func:`capacity.nets.models.geometric.train_facts`, the full step budget, no early stop) and
runs all probes of :mod:`capacity.nets.models.probes` as one task of :func:`capacity.sweeps.run_sweep`
(persisted, resumable).
"""
from dataclasses import dataclass

import numpy as np

from ..._validation import check_int, check_real
from ...results import RowsResult
from .._torch import DEVICES, require_torch, resolve_device, torch_threads
from ..models.geometric import LR, UNEMBEDDINGS, build_model, train_facts
from ..models.probes import (N_FOLDS, REFIT_EVERY, REFIT_STEPS, RIDGE_GRID, _derangement, _model_arrays,
                             active_units, attribute_features, fit_superposition, gating_overlap, heldout_r2,
                             new_facts, refit_embeddings, swap_test, transfer_accuracy)

__all__ = ["EXPERIMENT", "DEFAULT_SETTINGS", "METRICS", "REFIT_CURVES", "probe_task", "run_probe_task",
           "ProbesResult", "run_probes"]

EXPERIMENT = "nets-probes"
STEPS = 1000
#: (N, R, d, h): narrow MLP (h = 16) where learned e(s) beat frozen ones in N4 (learned d* = 11, frozen d* = 34
#: at (128, 2), 25 at (64, 4); learned 21, frozen 61 at (128, 4)), d a bit above the learned d*; and the wide-MLP
#: contrast h = 64 at (128, 2), where N4 found learned and frozen e(s) equally good
DEFAULT_SETTINGS = ((128, 2, 16, 16), (64, 4, 16, 16), (128, 4, 24, 16), (128, 2, 16, 64))
QUICK_SETTINGS = ((16, 2, 8, 16),)
#: embedding-only refit curves: trained MLP, untrained MLP, frozen-e(s) trained MLP (N(0, I/d) start each) and
#: trained MLP from the fitted superposition
REFIT_CURVES = ("refit_trained", "refit_init", "refit_frozen", "refit_trained_fitted")


# --------------------------------------------------------------------------------------
# One probe run (one task)
# --------------------------------------------------------------------------------------
def probe_task(n_subjects, n_relations, d, *, width, seed, steps=STEPS, lr=LR, refit_steps=REFIT_STEPS,
               n_folds=N_FOLDS, device="cpu", unembedding="fixed"):
    """The task dict of one (setting, seed) probe run; its JSON is the store key."""
    if unembedding not in UNEMBEDDINGS:
        raise ValueError(f"`unembedding` must be one of {', '.join(map(repr, UNEMBEDDINGS))}; got {unembedding!r}")
    extra = {} if unembedding == "fixed" else {"unembedding": unembedding}
    return {**extra, "experiment": EXPERIMENT, "kind": "probes",
            "n_subjects": check_int("n_subjects", n_subjects, low=2 * N_FOLDS, high=10**5),
            "n_relations": check_int("n_relations", n_relations, low=1, high=10**3),
            "d": check_int("d", d, low=1, high=10**4), "width": check_int("width", width, low=1, high=10**5),
            "seed": check_int("seed", seed, low=0), "steps": check_int("steps", steps, low=1, high=10**7),
            "lr": check_real("lr", lr, low=0.0, low_open=True, high=10.0),
            "refit_steps": check_int("refit_steps", refit_steps, low=0, high=10**7),
            "refit_every": REFIT_EVERY, "n_folds": check_int("n_folds", n_folds, low=2, high=100),
            "ridge_grid": list(RIDGE_GRID), "device": str(device)}


def run_probe_task(task):
    """Train the learned and frozen models of one (setting, seed) and run every probe (picklable)."""
    require_torch()
    N, R, d, h, seed = task["n_subjects"], task["n_relations"], task["d"], task["width"], task["seed"]
    nf, grid = task["n_folds"], task["ridge_grid"]
    with torch_threads(1):
        ue = task.get("unembedding", "fixed")
        kw = dict(width=h, steps=task["steps"], lr=task["lr"], seed=seed, device=task["device"], stop_at=None)
        if ue != "fixed":
            kw["unembedding"] = ue
        t = train_facts(N, R, d, **kw)
        tf = train_facts(N, R, d, frozen_subjects=True, **kw)
        init = build_model(N, R, d, width=h, seed=seed, device=task["device"], **({} if ue == "fixed" else
                                                                                  {"unembedding": ue}))
        facts = t.facts
        U, E = _model_arrays(t.model)
        E0 = _model_arrays(init)[1]
        Uf, Ef = _model_arrays(tf.model)
        rng = np.random.default_rng([seed, N, R, d, 13])
        X = attribute_features(U, facts)
        Xs = X[_derangement(rng, N)]
        out = {"acc_learned": t.accuracy, "acc_frozen": tf.accuracy, "loss_learned": t.final_loss,
               "loss_frozen": tf.final_loss, "chance": 1.0 / N,
               "r2_trained": heldout_r2(E, X, n_folds=nf, seed=seed, lambdas=grid),
               "r2_shuffled": heldout_r2(E, Xs, n_folds=nf, seed=seed, lambdas=grid),
               "r2_init": heldout_r2(E0, X, n_folds=nf, seed=seed, lambdas=grid),
               "r2_frozen": heldout_r2(Ef, attribute_features(Uf, facts), n_folds=nf, seed=seed, lambdas=grid),
               "r2_per_relation": [heldout_r2(E, attribute_features(U, facts, [r]), n_folds=nf, seed=seed,
                                              lambdas=grid) for r in range(R)]}
        for name, m in (("trained", t.model), ("init", init), ("frozen", tf.model)):
            act, s, r = active_units(m, _model_arrays(m)[1], facts)
            g = gating_overlap(act, s, r)
            g["gap"] = g["within"] - g["between"]
            for k, v in g.items():
                out[f"gate_{name}_{k}"] = v
        for k, v in swap_test(t.model, facts, seed=seed, lambdas=grid).items():
            out[f"swap_{k}"] = v
        new = new_facts(N, R, seed=seed)
        for name, m in (("trained", t.model), ("init", init), ("frozen", tf.model)):
            for k, v in transfer_accuracy(m, facts, new, lambdas=grid).items():
                out[f"transfer_{name}_{k}"] = v
        W, c, _ = fit_superposition(E, X, lambdas=grid)
        E_fit = attribute_features(U, new) @ W + c
        rs = task["refit_steps"]
        for name, m, start in (("trained", t.model, None), ("init", init, None), ("frozen", tf.model, None),
                               ("trained_fitted", t.model, E_fit)):
            ck, acc = refit_embeddings(m, new, init=start, steps=rs, lr=task["lr"], check_every=task["refit_every"],
                                       seed=seed)
            out[f"refit_{name}"] = acc
        out["refit_steps"] = ck
    return out


# --------------------------------------------------------------------------------------
# Experiment
# --------------------------------------------------------------------------------------
#: (key, label) of the scalar results summarised by :class:`ProbesResult`, in table order
METRICS = (
    ("acc_learned", "train accuracy, learned e(s)"),
    ("acc_frozen", "train accuracy, frozen-e(s) control"),
    ("r2_trained", "1 superposition: held-out R², trained e(s) ~ [U_π1(s); …; U_πR(s)]"),
    ("r2_shuffled", "1 control: shuffled bijections (attributes of another subject)"),
    ("r2_init", "1 control: initial (untrained) e(s)"),
    ("r2_frozen", "1 control: frozen-e(s) model, e(s) on its own U"),
    ("gate_trained_within", "2 gating: Jaccard same relation, trained"),
    ("gate_trained_between", "2 gating: Jaccard different relations, trained"),
    ("gate_trained_same_subject", "2 gating: Jaccard same subject, different relations, trained"),
    ("gate_trained_gap", "2 gating: Jaccard same − different relations, trained"),
    ("gate_trained_relation_selective", "2 gating: relation-selective units, trained"),
    ("gate_trained_active_fraction", "2 gating: active fraction, trained"),
    ("gate_init_within", "2 control: Jaccard same relation, initial model"),
    ("gate_init_between", "2 control: Jaccard different relations, initial model"),
    ("gate_init_gap", "2 control: Jaccard same − different relations, initial model"),
    ("gate_init_relation_selective", "2 control: relation-selective units, initial model"),
    ("gate_frozen_within", "2 control: Jaccard same relation, frozen-e(s) model"),
    ("gate_frozen_between", "2 control: Jaccard different relations, frozen-e(s) model"),
    ("gate_frozen_gap", "2 control: Jaccard same − different relations, frozen-e(s) model"),
    ("gate_frozen_relation_selective", "2 control: relation-selective units, frozen-e(s) model"),
    ("swap_component_follow", "3 swap relation-r component: answer follows s'"),
    ("swap_component_stay", "3 swap relation-r component: answer stays π_r(s)"),
    ("swap_component_others_kept", "3 swap relation-r component: other relations kept"),
    ("swap_random_follow", "3 control: random same-norm change, follows s'"),
    ("swap_random_stay", "3 control: random same-norm change, stays π_r(s)"),
    ("swap_random_others_kept", "3 control: random same-norm change, other relations kept"),
    ("swap_full_follow", "3 full swap e(s) → e(s'): follows s'"),
    ("swap_full_random_follow", "3 control: random vector of norm ‖e(s')‖, follows s'"),
    ("transfer_trained_new", "4 zero-shot, fitted superposition, trained MLP: new facts"),
    ("transfer_trained_fitted_old", "4 ceiling: fitted superposition of old subjects, old facts"),
    ("transfer_init_new", "4 control: same procedure, untrained MLP"),
    ("transfer_frozen_new", "4 control: same procedure, frozen-e(s) trained model"),
    ("chance", "4 chance 1/N"),
)


def _stat(values):
    v = np.asarray(values, dtype=float)
    return float(np.mean(v)), (float(np.std(v, ddof=1)) if len(v) > 1 else 0.0)


@dataclass(frozen=True, kw_only=True)
class ProbesResult(RowsResult):
    """Result of :func:`run_probes`.

    ``rows``: per probed setting a dict metric -> [mean, sd over seeds] for :data:`METRICS`, plus
    ``r2_per_relation_mean``, ``refit_steps`` and the refit curves (``refit_*_mean`` / ``refit_*_sd``
    per check step); the Markdown table shows them transposed (one line per metric, one column per
    setting).  ``settings_list``: the (N, R, d, h) probed, in the order of ``rows``; ``runs``: per
    setting (same order) the list of per-seed task results (dicts, see :func:`run_probe_task`);
    ``settings``: everything else.
    """

    settings_list: list
    runs: list

    def format_table(self):
        """Markdown: one row per metric, one column per setting, mean ± sd over seeds."""
        cols = [f"N={n}, R={r}, d={d}, h={h}" for n, r, d, h in self.settings_list]
        lines = ["| probe / quantity | " + " | ".join(cols) + " |", "|" + "---|" * (len(cols) + 1)]
        for key, label in METRICS:
            cells = [f"{s[key][0]:.3f} ± {s[key][1]:.3f}" for s in self.rows]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        steps = self.rows[0]["refit_steps"] if self.rows else []
        marks = sorted({0, *(s for s in steps if s in (50, 100, 200)), steps[-1]} & set(steps)) if steps else []
        for name, label in (("refit_trained", "4 refit e(s) only, trained MLP, N(0, I/d) start"),
                            ("refit_init", "4 refit e(s) only, untrained MLP, N(0, I/d) start"),
                            ("refit_frozen", "4 refit e(s) only, frozen-e(s) trained MLP, N(0, I/d) start"),
                            ("refit_trained_fitted", "4 refit e(s) only, trained MLP, fitted-superposition start")):
            for st in marks:
                cells = []
                for sm in self.rows:
                    j = sm["refit_steps"].index(st) if st in sm["refit_steps"] else None
                    cells.append("-" if j is None else f"{sm[name + '_mean'][j]:.3f} ± {sm[name + '_sd'][j]:.3f}")
                lines.append(f"| {label}, step {st} | " + " | ".join(cells) + " |")
        return "\n".join(lines)


def _settings_iv(settings):
    out = []
    for st in settings:
        ok = isinstance(st, (tuple, list)) and len(st) == 4 and all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in st)
        if not ok or not (2 * N_FOLDS <= st[0] <= 10**5 and 1 <= st[1] <= 10**3 and 1 <= st[2] <= 10**4
                          and 1 <= st[3] <= 10**5):
            raise ValueError(f"`settings` entries must be integer tuples (n_subjects >= {2 * N_FOLDS}, n_relations, "
                             f"d, width), all >= 1; got {st!r}")
        out.append(tuple(int(v) for v in st))
    out = list(dict.fromkeys(out))
    if not out:
        raise ValueError("`settings` must hold at least one (n_subjects, n_relations, d, width); got an empty sequence")
    return out


def run_probes(*, quick=False, device="cpu", seed=0, store=None, jobs=1, progress=None, settings=None, n_seeds=None,
               steps=None, refit_steps=None, lr=LR, n_folds=N_FOLDS, unembedding="fixed"):
    """Mechanism probes of the N4 model: superposition R², MLP gating, causal swap, zero-shot transfer.

    Parameters
    ----------
    quick : bool
        One tiny setting (16, 2, 8, 16), one seed, short budgets (seconds).
    device : {"cpu", "cuda", "auto"}
    seed, n_seeds : int
        Seeds seed ... seed + n_seeds - 1 (default 5; quick 1): independent facts, U,
        initialisation, new facts and probe randomness.
    store, jobs, progress
        Passed to :func:`capacity.sweeps.run_sweep`; each (setting, seed) is one task.
    settings : sequence of (N, R, d, h), optional
        Default :data:`DEFAULT_SETTINGS`.
    steps, refit_steps : int, optional
        Training steps of the learned and frozen models (default 1000, full budget, no early
        stop; quick 300) and of the embedding-only refits (default 300; quick 60).
    lr : float
        Adam learning rate (training and refits).
    n_folds : int
        Cross-validation folds of the R² probe.
    unembedding : str
        Readout of the N4 model (:func:`capacity.nets.models.geometric.build_model`): ``"fixed"``
        (default, U fixed N(0, I/d)) or another of its options, e.g. ``"trained"``; the attribute
        vectors are then the rows of the model's (trained) U.

    Returns
    -------
    ProbesResult

    Examples
    --------
    >>> res = run_probes(quick=True, progress=False)
    >>> res.settings_list
    [(16, 2, 8, 16)]
    """
    from ...sweeps.runner import run_sweep

    if not isinstance(device, str) or device not in DEVICES:
        raise ValueError(f"`device` must be one of {', '.join(DEVICES)}; got {device!r}")
    settings = _settings_iv(QUICK_SETTINGS if quick else DEFAULT_SETTINGS) if settings is None else \
        _settings_iv(settings)
    seed = check_int("seed", seed, low=0)
    n_seeds = (1 if quick else 5) if n_seeds is None else check_int("n_seeds", n_seeds, low=1, high=1000)
    steps = (300 if quick else STEPS) if steps is None else check_int("steps", steps, low=1, high=10**7)
    refit_steps = (60 if quick else REFIT_STEPS) if refit_steps is None else \
        check_int("refit_steps", refit_steps, low=0, high=10**7)
    lr = check_real("lr", lr, low=0.0, low_open=True, high=10.0)
    n_folds = check_int("n_folds", n_folds, low=2, high=min(s[0] for s in settings) // 2)
    resolve_device(device)
    keys = [(st, s) for st in settings for s in range(seed, seed + n_seeds)]
    tasks = [probe_task(n, r, d, width=h, seed=s, steps=steps, lr=lr, refit_steps=refit_steps, n_folds=n_folds,
                        device=device, unembedding=unembedding) for (n, r, d, h), s in keys]
    results = run_sweep(run_probe_task, tasks, store=store, jobs=jobs, progress=progress)
    runs, summary, warnings = [], [], []
    for st in settings:
        res = [x for (k, _), x in zip(keys, results) if k == st]
        runs.append(res)
        sm = {key: list(_stat([x[key] for x in res])) for key, _ in METRICS}
        per_rel = np.array([x["r2_per_relation"] for x in res])
        sm["r2_per_relation_mean"] = per_rel.mean(0).tolist()
        sm["refit_steps"] = list(res[0]["refit_steps"])
        for name in REFIT_CURVES:
            C = np.array([x[name] for x in res])
            sm[name + "_mean"] = C.mean(0).tolist()
            sm[name + "_sd"] = (C.std(0, ddof=1) if len(C) > 1 else np.zeros(C.shape[1])).tolist()
        summary.append(sm)
        if sm["acc_learned"][0] < 0.99:
            warnings.append(f"learned model below 99 % at {st} (mean accuracy {sm['acc_learned'][0]:.3f})")
    meta = {"seed": seed, "n_seeds": n_seeds, "steps": steps, "refit_steps": refit_steps, "refit_every": REFIT_EVERY,
            "lr": lr, "n_folds": n_folds, "ridge_grid": list(RIDGE_GRID), "device": str(device), "quick": bool(quick),
            "unembedding": unembedding,
            "model": "capacity.nets.models.geometric N4 model: logits = U W2 relu(W1 [e(s); e(r)] + b1), U fixed; "
                     "trained the full step budget (no early stop); frozen control: e(s) fixed at init",
            "attributes": "x(s) = [U_pi_1(s); ...; U_pi_R(s)] (rows of the fixed unembedding)"}
    return ProbesResult(rows=summary, settings=meta, warnings=warnings, settings_list=settings, runs=runs)
