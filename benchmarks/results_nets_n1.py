"""N1: GD-trained linear (and two-layer) memories vs the certified LP and the theory p_c(d).

Setting: docs/nets.md, N1; two layers: docs/theory.md §6.  Coupled model (and, one layer only, the
decoupled one: K = p - 1 fresh competitors per input), kappa = 0, N(0, I/d) embeddings, instance
seed 2026 -- the instances of benchmarks/results/agreement.sqlite, whose certified LP verdicts (same
task dicts, same ``run_trial``; the store holds both models) are copied into this store first and
reused; LP verdicts missing there are computed.

- **GD**: ``capacity.nets.models.linear.train_memories``: cross-entropy over the p target logits, full
  batch, Adam, lr = 6/d, 4000 steps (early stop once every model of a batch is stored), W from 0,
  float64, all 20 trials of a (d, p) in one tensor.  Stored = all p(p - 1) margins > 0 after a
  float64 re-score.  p50 of P(all stored) by the simulator's estimator (logistic MLE, 95 % bootstrap
  CI, 1000 replicates; isotonic interpolation + bracketing grid points when separated).
- **LP**: certified verdicts on the *same* instances, estimated the same way.
- **budget check**: at the grid p nearest the GD p50, GD rerun with 2x the steps on the same
  instances; verdicts changed out of n.
- **two-layer** (d = 12, m = 3, 6, 9): W2 W1 with the simulator's frozen W1 (only W2 trained;
  LP = the exact frozen-W1 LP, experiment two-layer-frozen) and with both layers trained (W1 from
  the same frozen start; LP column = one-layer LP, an upper bound), vs
  ``capacity.theory.two_layer.p_c_two_layer``.

Grids: linear, the agreement grid (p_c x ~{0.85, 0.92, 1, 1.08, 1.15}) plus round(0.75 p_c);
frozen, round(f p_c(N = dm)) for f in 0.6 .. 1.2; trained, 6 points from 0.8 x conjecture to
1.05 x one-layer p_c.

Every finished task is committed to benchmarks/results/nets_n1.sqlite (rerunning resumes).
Single process, torch on one thread (the machine is shared).

Run:  python benchmarks/results_nets_n1.py [--model {coupled,decoupled,both}] [--d 8 12 16 24 32]
          [--decoupled-d ...] [--trials32 N] [--no-two-layer]
Writes benchmarks/results/nets_n1.md (and prints it) with the sections of the model(s) run; the
default (--model both) reproduces the whole file, byte for byte when the store is complete (the
invocation's wall time is printed on stdout, not written).  The two-layer runs are coupled only.
"""
import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from capacity import __version__, p_c  # noqa: E402
from capacity.nets.experiments.n1 import lp_task, run_n1  # noqa: E402
from capacity.nets.models.linear import STEPS  # noqa: E402
from capacity.sweeps import ResultsStore  # noqa: E402
from capacity.theory.two_layer import p_c_two_layer  # noqa: E402

SEED = 2026
MODEL = "coupled"  # the model of the two-layer runs and of the first (coupled) report sections
MODELS = ("coupled", "decoupled")
TRIALS = 20
TWO_LAYER_D = 12
WIDTHS = (3, 6, 9)
STORE = ROOT / "benchmarks" / "results" / "nets_n1.sqlite"
AGREEMENT = ROOT / "benchmarks" / "results" / "agreement.sqlite"
OUT = ROOT / "benchmarks" / "results" / "nets_n1.md"


def import_lp_verdicts(ds, trials, model=MODEL):
    """Copy the agreement store's LP verdicts of `model` (seed 2026, d in ds, trial < trials) into STORE."""
    n = 0
    grids = {}
    with ResultsStore(AGREEMENT) as src, ResultsStore(STORE) as dst:
        for rec in src.records(experiment="feasibility"):
            t = rec.task
            if t["model"] != model or t["seed"] != SEED or t["d"] not in ds or t["trial"] >= trials.get(t["d"], 0):
                continue
            grids.setdefault(t["d"], set()).add(t["p"])
            if dst.get(t) is None:
                dst.put(t, rec.result, rec.seconds)
                n += 1
    return n, {d: sorted(v) for d, v in grids.items()}


def linear_grid(d, agreement_grid):
    return sorted(set(agreement_grid.get(d, [])) | {round(0.75 * p_c(d))})


def two_layer_grids(d):
    grid = {}
    one = p_c(d)
    for m in WIDTHS:
        fz = p_c_two_layer(d, m).p_c
        grid[(d, "frozen", m)] = sorted({round(f * fz) for f in (0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2)})
        conj = p_c_two_layer(d, m, trained=True).p_c
        grid[(d, "trained", m)] = sorted({int(round(v)) for v in np.linspace(0.8 * conj, 1.05 * one, 6)})
    return grid


def _store_seconds():
    with ResultsStore(STORE) as store:
        return sum(rec.seconds or 0.0 for rec in store.records())


def _ci(r):
    if r is None or not r.success:
        return "n/a"
    return f"{r.p50:.1f} [{r.ci_low:.1f}, {r.ci_high:.1f}]"


def _fit(r):
    return "-" if r is None else ("logistic" if r.method == "logistic-mle" else
                                  ("isotonic" if r.method.startswith("iso") else r.method))


def report(results, trials_by_d, argv, dec_results=(), dec_trials=None):
    """The markdown report: the coupled sections (from `results`), then the decoupled one (`dec_results`).

    It depends only on the results and the store (no timing of the invocation).
    """
    lines = ["# N1: gradient-trained memories vs the certified LP and the capacity theory", ""]
    lines.append(
        f"Made by `python benchmarks/results_nets_n1.py{(' ' + ' '.join(argv)) if argv else ''}` (capacity "
        f"{__version__}, torch CPU, 1 thread); store `benchmarks/results/nets_n1.sqlite`, holding "
        f"{_store_seconds():.0f} s "
        f"of task time (GD batches and LP trials; the imported agreement LP verdicts count with their original "
        "time; tasks already in the store are reused).")
    lines.append("")
    if results:
        lines += coupled_sections(results, trials_by_d)
    if dec_results:
        lines += decoupled_section(dec_results, dec_trials)
    return "\n".join(lines)


def coupled_sections(results, trials_by_d):
    lines = []
    lines.append(
        f"Coupled model (logits over the p targets), kappa = 0, N(0, I/d) embeddings, instance seed {SEED} (the "
        "instances of `agreement.sqlite`; its certified LP verdicts are reused, the missing ones computed). "
        f"**Training budget**: Adam, lr = 6/d, {STEPS} full-batch steps (stop early once all models of the "
        "batch are stored), W = 0 at start, float64, cross-entropy over the p logits y_nu^T W x_mu. "
        "**Stored** = all p(p-1) margins > 0, re-scored in float64 (100 % top-1 train accuracy). "
        "p50 = logistic MLE with 95 % bootstrap CI (1000 replicates), or the isotonic interpolation with the "
        "bracketing grid points when the data are separated (fit column). Trials per p: "
        + ", ".join(f"d = {d}: {n}" for d, n in trials_by_d.items()) + ".")
    lines.append("")
    lines.append("## One layer: GD p50 vs LP p50 vs theory")
    lines.append("")
    lines += _LINEAR_HEAD
    rows = [r for res in results for r in res.rows]
    lines += [_linear_row(r, trials_by_d) for r in rows if r.arch == "linear"]
    two = [r for r in rows if r.arch != "linear"]
    if two:
        lines += ["", f"## Two layers W2 W1 (d = {TWO_LAYER_D})", ""]
        lines.append("frozen: the simulator's frozen W1 (`first_layer`, N(0, 1/d)), only W2 trained (from 0); "
                     "LP = the exact LP on the coded instance (experiment `two-layer-frozen`), theory p_c(N = dm). "
                     "trained: W1 "
                     "from the same frozen start and W2 from 0, both trained; LP column = one-layer LP (an upper "
                     "bound: rank <= m products are d x d matrices), theory column = the conjecture of "
                     "docs/theory.md §6 "
                     "p_c(N = 2dm - m²); for reference the certified lower bounds of `two_layer.md` are for the "
                     "decoupled model.")
        lines.append("")
        lines.append("| d | arch | m | GD p50 [95% CI] | fit | LP p50 [95% CI] | LP | theory | GD/theory | GD/LP | "
                     "GD stored but LP infeasible | budget check |")
        lines.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for r in two:
            b = r.budget
            bud = "-" if not b else (f"p = {b['p']}: {b['changed']}/{b['n']} changed "
                                     f"(+{b['gained']}, -{b['lost']})")
            lines.append(f"| {r.d} | {r.arch} | {r.m} | {_ci(r.gd_p50)} | {_fit(r.gd_p50)} | {_ci(r.lp_p50)} | "
                         f"{r.lp_kind} | {r.theory:.1f} ({r.theory_label}) | {r.gd_over_theory:.3f} | "
                         f"{r.gd_over_lp:.3f} | {r.gd_not_lp}/{r.n_pairs} | {bud} |")
    lines += ["", "## Counts", "",
              "p: stored (GD) or certified feasible (LP) / trials; LP undecided trials in the last column "
              "(excluded from the LP fit with a warning).", "",
              "| d | arch | m | GD | LP | LP undecided | median final kappa_hat of unstored GD trials |",
              "|---|---|---|---|---|---|---|"]
    for r in rows:
        gd = " ".join(f"{p}:{c[0]}/{c[1]}" for p, c in r.gd_counts.items())
        lp = " ".join(f"{p}:{c[0]}/{c[1]}" for p, c in r.lp_counts.items())
        lines.append(f"| {r.d} | {r.arch} | {'-' if r.m is None else r.m} | {gd} | {lp} | {r.lp_undecided} | "
                     f"{r.unstored_kappa_final:.4f} |")
    lines += margin_trajectories(rows)
    warns = [w for res in results for w in res.warnings]
    if warns:
        lines += ["", "Estimator warnings:", ""] + [f"- {w}" for w in warns]
    lines.append("")
    return lines


_LINEAR_HEAD = ["| d | trials | GD p50 [95% CI] | fit | LP p50 [95% CI] | fit | theory p_c(d) | GD/theory | GD/LP | "
                "LP/theory | GD stored but LP infeasible | budget check: 2x steps at p | median step to store | "
                "GD facts / bits per param |",
                "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]


def _per_param(fit, d):
    """GD p50 per parameter of the d x d memory: p50 / d² and p50 log2(p50) / d² (docs/accuracy.md §2)."""
    if fit is None or not fit.success:
        return "n/a"
    p = fit.p50
    return f"{p / (d * d):.3f} / {p * np.log2(p) / (d * d):.2f}"


def _linear_row(r, trials_by_d):
    b = r.budget
    bud = "-" if not b else (f"p = {b['p']}: {b['changed']}/{b['n']} changed (+{b['gained']} stored, "
                             f"-{b['lost']})")
    return (f"| {r.d} | {trials_by_d[r.d]} | {_ci(r.gd_p50)} | {_fit(r.gd_p50)} | {_ci(r.lp_p50)} | "
            f"{_fit(r.lp_p50)} | {r.theory:.1f} | {r.gd_over_theory:.3f} | {r.gd_over_lp:.3f} | "
            f"{r.lp_over_theory:.3f} | {r.gd_not_lp}/{r.n_pairs} | {bud} | {r.median_steps_to_store:.0f} | "
            f"{_per_param(r.gd_p50, r.d)} |")


def decoupled_section(results, trials_by_d):
    """One layer, decoupled model: the same table, counts and margin trajectories as the coupled sections."""
    rows = [r for res in results for r in res.rows]
    lines = ["## Decoupled model, one layer: GD p50 vs LP p50 vs theory", ""]
    lines.append(
        "Decoupled model: input x_mu is scored against its own target y_mu and K = p - 1 fresh competitors "
        "c ~ N(0, I/d) drawn for it alone (logits c^T W x_mu over the K + 1 candidates, target first; "
        "cross-entropy over them); stored = all p K margins (y_mu - c)^T W x_mu > 0, re-scored in float64. "
        f"Instances: seed {SEED}, the decoupled instances of `agreement.sqlite`, whose certified LP verdicts are "
        "reused (the round(0.75 p_c) grid point is computed here). Same training budget (Adam, lr = 6/d, "
        f"{STEPS} full-batch steps, W = 0 at start, float64), same p grid and estimator as the coupled table; "
        "theory = the same p_c(d) (docs/theory.md §2: coupled ≈ decoupled). Trials per p: "
        + ", ".join(f"d = {d}: {n}" for d, n in trials_by_d.items()) + ".")
    lines.append("")
    lines += _LINEAR_HEAD
    lines += [_linear_row(r, trials_by_d) for r in rows]
    lines += ["", "### Decoupled counts", "",
              "p: stored (GD) or certified feasible (LP) / trials; LP undecided trials in the last column "
              "(excluded from the LP fit with a warning).", "",
              "| d | GD | LP | LP undecided | median final kappa_hat of unstored GD trials |",
              "|---|---|---|---|---|"]
    for r in rows:
        gd = " ".join(f"{p}:{c[0]}/{c[1]}" for p, c in r.gd_counts.items())
        lp = " ".join(f"{p}:{c[0]}/{c[1]}" for p, c in r.lp_counts.items())
        lines.append(f"| {r.d} | {gd} | {lp} | {r.lp_undecided} | {r.unstored_kappa_final:.4f} |")
    traj = margin_trajectories(rows, model="decoupled")
    traj[1] = "### Decoupled margin vs step at the budget-check p"
    traj[3] = ("GD misses = trials the one-layer LP certified feasible but GD did not store within the budget; "
               "median over them of kappa = d min margin / ||W||_F (min over the p K decoupled margins of the "
               "training logits) at each checkpoint step of the budget run and its 2x rerun.")
    lines += traj
    warns = [w for res in results for w in res.warnings]
    if warns:
        lines += ["", "Decoupled estimator warnings:", ""] + [f"- {w}" for w in warns]
    lines.append("")
    return lines


def margin_trajectories(rows, model=MODEL):
    """Median normalised min margin (training logits) of the not-stored GD trials vs step, at the budget-check p."""
    out = ["", "## Margin vs step at the budget-check p", "",
           "GD misses = trials the LP certified feasible (one-layer / frozen-W1 LP; trained: one-layer LP, an upper "
           "bound) but GD did not store within the budget.  Median over them of the normalised min margin "
           "kappa = d min margin / ||W||_F on the training logits at each checkpoint step (the budget run and its "
           "2x rerun); a value still rising towards 0 means more steps could store more.", "",
           "| d | arch | m | p | GD misses / LP feasible | budget | steps: median kappa of the misses |",
           "|---|---|---|---|---|---|---|"]
    with ResultsStore(STORE) as store:
        recs = [(t, r) for t, r in store.items(experiment="nets-n1")
                if t["seed"] == SEED and t["model"] == model]

        def lp_feasible(row, p, trial):
            res = store.get(lp_task(model, row.d, p, trial=trial, seed=SEED, arch=row.arch, m=row.m))
            return res is not None and res["verdict"] == "feasible"

        feasible = {(row.d, row.arch, row.m, t): lp_feasible(row, row.budget["p"], t)
                    for row in rows if row.budget for t in range(row.budget["n"])}
    for row in rows:
        b = row.budget
        if not b:
            continue
        for steps in (STEPS, STEPS * b["factor"]):
            traj = []
            for t, r in recs:
                if (t["d"], t["arch"], t["m"], t["p"], t["steps"]) != (row.d, row.arch, row.m, b["p"], steps):
                    continue
                traj += [(r["checkpoint_steps"], tr["checkpoint_kappa"]) for tr in r["trials"]
                         if not tr["stored"] and feasible[(row.d, row.arch, row.m, tr["trial"])]]
            n_feas = sum(feasible[(row.d, row.arch, row.m, t)] for t in range(b["n"]))
            if not traj:
                out.append(f"| {row.d} | {row.arch} | {'-' if row.m is None else row.m} | {b['p']} | 0/{n_feas} | "
                           f"{steps} | - |")
                continue
            ck = traj[0][0]
            med = np.nanmedian(np.array([k for _, k in traj], dtype=float), axis=0)
            out.append(f"| {row.d} | {row.arch} | {'-' if row.m is None else row.m} | {b['p']} | "
                       f"{len(traj)}/{n_feas} | {steps} | "
                       + ", ".join(f"{s}: {v:+.4f}" for s, v in zip(ck, med)) + " |")
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", choices=("coupled", "decoupled", "both"), default="both",
                    help="which one-layer sweep(s) to run and report (default both; two-layer runs are coupled)")
    ap.add_argument("--d", type=int, nargs="+", default=[8, 12, 16, 24, 32])
    ap.add_argument("--decoupled-d", type=int, nargs="+", default=None,
                    help="dimensions of the decoupled sweep (default: those of --d)")
    ap.add_argument("--trials32", type=int, default=20, help="trials at d = 32 (default 20, as at the other d)")
    ap.add_argument("--no-two-layer", action="store_true")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    t0 = time.perf_counter()
    do_coupled = args.model in ("coupled", "both")
    do_decoupled = args.model in ("decoupled", "both")
    trials_by_d = {d: (args.trials32 if d == 32 else TRIALS) for d in args.d} if do_coupled else {}
    dec_d = (args.d if args.decoupled_d is None else args.decoupled_d) if do_decoupled else []
    dec_trials = {d: (args.trials32 if d == 32 else TRIALS) for d in dec_d}
    n_imported, agreement_grid = import_lp_verdicts(set(trials_by_d), trials_by_d)
    print(f"imported {n_imported} coupled LP verdicts from agreement.sqlite", file=sys.stderr)
    n_imported, dec_grid = import_lp_verdicts(set(dec_d), dec_trials, model="decoupled")
    print(f"imported {n_imported} decoupled LP verdicts from agreement.sqlite", file=sys.stderr)

    def prog(done, total):
        print(f"  {done}/{total}", file=sys.stderr, flush=True)

    results = []
    for d in trials_by_d:
        print(f"d = {d}", file=sys.stderr, flush=True)
        results.append(run_n1(d_values=[d], p_grid={d: linear_grid(d, agreement_grid)}, trials=trials_by_d[d],
                              seed=SEED, steps=STEPS, model=MODEL, store=STORE, progress=prog))
    if do_coupled and not args.no_two_layer:
        d = TWO_LAYER_D
        print(f"two-layer d = {d}", file=sys.stderr, flush=True)
        archs = [(a, m) for m in WIDTHS for a in ("frozen", "trained")]
        results.append(run_n1(d_values=[d], p_grid=two_layer_grids(d), archs=archs, trials=TRIALS, seed=SEED,
                              steps=STEPS, model=MODEL, store=STORE, progress=prog))
        trials_by_d.setdefault(d, TRIALS)
    dec_results = []
    for d in dec_d:
        print(f"decoupled d = {d}", file=sys.stderr, flush=True)
        dec_results.append(run_n1(d_values=[d], p_grid={d: linear_grid(d, dec_grid)}, trials=dec_trials[d], seed=SEED,
                                  steps=STEPS, model="decoupled", store=STORE, progress=prog))
    text = report(results, trials_by_d, list(argv if argv is not None else sys.argv[1:]), dec_results, dec_trials)
    OUT.write_text(text)
    print(text)
    print(f"results_nets_n1: this invocation took {time.perf_counter() - t0:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
