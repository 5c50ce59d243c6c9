"""Capacity at a target accuracy: certified simulation beside the replica-symmetric theory (A1)-(A2).

docs/accuracy.md §1, docs/accuracy.md §3.  For each (d, model, p) `trials` instances (seed 2026) are
searched for the largest subset of inputs one memory stores (`store_at_accuracy`: L1-slack greedy
removal, re-adding pass, every kept set certified by a re-scored W).  The failures found are an upper
bound on the fewest possible, so the simulated accuracy is a lower bound.  Beside it: the RS accuracy
at that p (`accuracy_at`: the A with p = d^2 alpha(1 - A; p - 1)), and the RS capacities p_c(d, A) at
A = 0.99, 0.95, 0.9.  Beside them, gradient descent on the same instances (`train_memories`: cross-entropy +
Adam from W = 0, lr = 6/d, 4000 full-batch steps, float64; failures = inputs with a margin <= 0 of the final W,
re-scored in float64) — needs torch; without it the GD column is left out.

Every finished instance is committed to benchmarks/results/accuracy.sqlite (rerunning resumes);
`--report` rebuilds benchmarks/results/accuracy.md from the store only.

    OPENBLAS_NUM_THREADS=1 python benchmarks/results_accuracy.py            # ~15 min on one core
    python benchmarks/results_accuracy.py --report
"""
import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from capacity import __version__, p_c  # noqa: E402
from capacity.simulate import make_instance  # noqa: E402
from capacity.simulate.accuracy import store_at_accuracy  # noqa: E402
from capacity.sweeps import ResultsStore, run_sweep  # noqa: E402
from capacity.theory.accuracy import accuracy_at, solve_p_c_accuracy  # noqa: E402

SEED = 2026
STORE = ROOT / "benchmarks" / "results" / "accuracy.sqlite"
OUT = ROOT / "benchmarks" / "results" / "accuracy.md"
#: (d, p/p_c multipliers, trials)
CELLS = ((8, (1.0, 1.1, 1.2, 1.35, 1.5), 20), (12, (1.0, 1.1, 1.2, 1.35), 12), (16, (1.0, 1.1, 1.2), 8))
MODELS = ("decoupled", "coupled")


def grid(d, mults):
    return sorted({int(round(m * p_c(d))) for m in mults})


def run_one(task):
    inst = make_instance(task["model"], task["d"], task["p"], seed=task["seed"], trial=task["trial"])
    r = store_at_accuracy(inst, method="gram")
    out = r.to_dict()
    out["verdict"] = r.verdict
    return out


def tasks_for(d, mults, trials):
    return [{"experiment": "store-at-accuracy", "model": m, "d": d, "p": p, "seed": SEED, "trial": t}
            for m in MODELS for p in grid(d, mults) for t in range(trials)]


GD_STEPS = 4000
try:
    import torch

    torch.set_num_threads(1)
    HAVE_TORCH = True
except ImportError:
    HAVE_TORCH = False


def gd_tasks_for(d, mults, trials):
    return [{"experiment": "gd-at-accuracy", "model": m, "d": d, "p": p, "seed": SEED, "trials": trials,
             "steps": GD_STEPS} for m in MODELS for p in grid(d, mults)]


def run_gd(task):
    """All trials of one (model, d, p) trained in one batch; failures of the final W per trial."""
    from capacity.nets.models.linear import train_memories

    insts = [make_instance(task["model"], task["d"], task["p"], seed=task["seed"], trial=t)
             for t in range(task["trials"])]
    res = train_memories(insts, steps=task["steps"])
    # the kept W is the first separating snapshot when there is one (then 0 failures), else the final W
    return {"failed": [int((inst.margins(W).min(axis=1) <= 0).sum()) for inst, W in zip(insts, res.W)]}


def median_ci(x):
    """Median and its exact distribution-free ~95 % interval (order statistics; None below 6 values)."""
    from scipy.stats import binom

    x = np.sort(np.asarray(x, float))
    n = x.size
    j = 0
    for cand in range(1, n // 2 + 1):
        if 1 - 2 * binom.cdf(cand - 1, n, 0.5) >= 0.95:
            j = cand
    med = float(np.median(x))
    return (med, None, None) if j == 0 else (med, float(x[j - 1]), float(x[n - j]))


def report(store):
    lines = ["# Capacity at a target accuracy: certified lower bounds vs the replica-symmetric theory", "",
             f"Made by `python benchmarks/results_accuracy.py` (capacity {__version__}, seed {SEED}, Gaussian "
             "embeddings, kappa = 0, Gram engine); store `benchmarks/results/accuracy.sqlite`.", "",
             "- **simulated accuracy**: per instance, stored / p for the largest subset of inputs found that one W "
             "stores (L1-slack greedy removal with a re-adding pass; every kept set certified by a W re-scored on "
             "all its constraints). A search, not an optimum: a **lower bound** on the best accuracy.",
             "- **RS accuracy**: the A solving p = d^2 alpha(1 - A; p - 1) (docs/accuracy.md §1, eq. (A2); "
             "Monte Carlo tail, ± 1 s.e.). Replica-symmetric, not exact for error counting.",
             "- median [95 % CI]: exact order-statistic interval of the median over instances.", "",
             "- **GD failures**: inputs the gradient-trained memory of the same instance gets wrong (cross-entropy + "
             f"Adam, lr = 6/d, {GD_STEPS} steps from W = 0; re-scored in float64), mean ± s.e.", "",
             "| d | model | p | p / p_c | instances | failures found: median [95 % CI] | mean ± s.e. "
             "| GD failures, mean ± s.e. | simulated accuracy (median) | RS accuracy | RS failures (1 - A) p |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    gd = {(t["d"], t["model"], t["p"]): r["failed"] for t, r in store.items(experiment="gd-at-accuracy")}
    rows = {}
    for task, res in store.items(experiment="store-at-accuracy"):
        rows.setdefault((task["d"], task["model"], task["p"]), []).append(res)
    for (d, model, p) in sorted(rows):
        rs = rows[(d, model, p)]
        undecided = sum(r["verdict"] != "feasible" for r in rs)
        fails = [r["failed"] for r in rs if r["verdict"] == "feasible"]
        med, lo, hi = median_ci(fails)
        ci = "–" if lo is None else f"[{lo:g}, {hi:g}]"
        a, se = accuracy_at(d, p)
        und = f" ({undecided} undecided)" if undecided else ""
        mean, sem = float(np.mean(fails)), float(np.std(fails, ddof=1) / math.sqrt(len(fails)))
        g = gd.get((d, model, p))
        gcol = "–" if g is None else f"{np.mean(g):.2f} ± {np.std(g, ddof=1) / math.sqrt(len(g)):.2f}"
        lines.append(f"| {d} | {model} | {p} | {p / p_c(d):.2f} | {len(rs)}{und} | {med:g} {ci} | {mean:.2f} ± {sem:.2f} | "
                     f"{gcol} | {1 - med / p:.3f} | {a:.4f} ± {se:.4f} | {(1 - a) * p:.2f} |")
    lines += ["", "RS capacities p_c(d, A) (Monte Carlo tail; ± 1 s.e.):", "",
              "| d | p_c(d) (A = 1) | A = 0.99 | A = 0.95 | A = 0.9 |", "|---|---|---|---|---|"]
    for d, _, _ in CELLS:
        cells = [f"{p_c(d):.2f}"]
        for acc in (0.99, 0.95, 0.9):
            r = solve_p_c_accuracy(d, accuracy=acc)
            cells.append(f"{r.p_c:.2f} ± {r.p_c_se:.2f}")
        lines.append(f"| {d} | " + " | ".join(cells) + " |")
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dims", default=None, help="comma-separated subset of 8,12,16")
    ap.add_argument("--report", action="store_true", help="only rebuild the table from the store")
    args = ap.parse_args(argv)
    dims = None if args.dims is None else {int(v) for v in args.dims.split(",")}
    with ResultsStore(STORE) as store:
        if not args.report:
            t0 = time.perf_counter()
            for d, mults, trials in CELLS:
                if dims is None or d in dims:
                    run_sweep(run_one, tasks_for(d, mults, trials), store=store, progress=True)
                    if HAVE_TORCH:
                        run_sweep(run_gd, gd_tasks_for(d, mults, trials), store=store, progress=True)
            print(f"results_accuracy: {time.perf_counter() - t0:.0f} s this invocation", file=sys.stderr)
        report(store)


if __name__ == "__main__":
    main()
