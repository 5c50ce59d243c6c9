"""Multi-hop factual recall: minimal widths with and without chain-of-thought, vs the number of hops k.

Setting: docs/multihop.md, after Ravfogel, Yehudai, Bruna, Bietti, arXiv:2605.12426, Section 4 (every
choice is ours and stated in the docstring of ``capacity.nets.models.multihop``).

Constructions (NumPy, exact by brute force over all N R^k queries): chain-of-thought (the N4 gate block
reused at every step), composite relations (R^k code slots) and the depth-k stack (gate + re-embedding
blocks), smallest exact code length kc, at N = 16 ... 256, R = 2, 3, k = 1 ... 4 (composite at R = 3,
k = 4 only for N <= 32), seeds 0 and 1; beside them the information bound R log2 N! / b on the
parameter count (b = 32 and 2 bits per parameter).

Gradient descent: (N, R) = (32, 2), (64, 2), (128, 2), (32, 3), k = 1 ... 4, modes cot / composite / stack,
seeds 0 and 1; trained on all one-hop facts and 80 % of the k-hop queries (held out: the other 20 %),
full-batch Adam (lr 1e-2), at most 1500 steps, early stop at 100 % one-hop and training k-hop accuracy;
MLP width h = 64.  Searches over d (doubling from 8, then bisection): held-out >= 99 % (d_max 128 with CoT, 64 direct)
and fit (one-hop and training k-hop >= 99 %).  Fixed-width runs at d = 32 with the per-hop probes.
Budget check: the direct modes at d = 64, N = 64, k = 2, 3, without early stop, 4000 steps.
Longer words: all modes at d = 32, N = 32, 64, k = 5, 6 (seeds 0 and 1).  Data dependence: the direct stack at
d = 32, N = 32, k = 3 and 6 with 5 %, 20 % and 50 % of the k-hop queries held out (seeds 0 and 1).

Every run is committed to benchmarks/results/nets_multihop.sqlite as it finishes (rerunning resumes).
One torch thread per run.

Run:  python benchmarks/results_nets_multihop.py [--jobs 2]
Writes benchmarks/results/nets_multihop.md (and prints it).
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

from capacity import __version__  # noqa: E402
from capacity.nets.experiments.multihop import run_multihop, run_multihop_task, train_task  # noqa: E402
from capacity.sweeps import ResultsStore, run_sweep  # noqa: E402

STORE = ROOT / "benchmarks" / "results" / "nets_multihop.sqlite"
OUT = ROOT / "benchmarks" / "results" / "nets_multihop.md"
GRID = ((32, 2), (64, 2), (128, 2), (32, 3))
HOPS = 4
N_SEEDS = 2
CHECK = [(64, 2, k, m) for k in (2, 3) for m in ("composite", "stack")]
CHECK_D = 64
CHECK_STEPS = 4000
#: longer words at the fixed width d = 32 (seeds 0 and 1): does the direct stack start to generalise as the number of
#: training queries (80 % of N R^k) grows?
LONG = [(n, 2, k, m) for n in (32, 64) for k in (5, 6) for m in ("cot", "composite", "stack")]
LONG_D = 32
#: data dependence of the direct stack (d = 32, seeds 0 and 1): the held-out fraction varied at N = 32, k = 3 and 6
FRACTIONS = (0.05, 0.2, 0.5)
FRACTION_POINTS = [(32, 2, 3), (32, 2, 6)]


def _store_seconds():
    with ResultsStore(STORE) as store:
        recs = list(store.records())
    return sum(rec.seconds or 0.0 for rec in recs), len(recs)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=1)
    args = ap.parse_args(argv)
    start = time.perf_counter()
    res = run_multihop(hops=HOPS, grid=GRID, n_seeds=N_SEEDS, store=STORE, jobs=args.jobs, progress=True)
    check_tasks = [train_task(n, r, k, m, CHECK_D, seed=0, steps=CHECK_STEPS, stop_at=None) for n, r, k, m in CHECK]
    check = run_sweep(run_multihop_task, check_tasks, store=STORE, jobs=args.jobs, progress=True)
    long_tasks = [train_task(n, r, k, m, LONG_D, seed=s) for n, r, k, m in LONG for s in range(N_SEEDS)]
    longer = run_sweep(run_multihop_task, long_tasks, store=STORE, jobs=args.jobs, progress=True)
    frac_keys = [(n, r, k, f, s) for n, r, k in FRACTION_POINTS for f in FRACTIONS for s in range(N_SEEDS)]
    frac = run_sweep(run_multihop_task, [train_task(n, r, k, "stack", LONG_D, seed=s, held_out=f)
                                         for n, r, k, f, s in frac_keys], store=STORE, jobs=args.jobs, progress=True)
    cpu, n_tasks = _store_seconds()
    lines = [
        "# Multi-hop factual recall: minimal widths with and without chain-of-thought",
        "",
        f"Made by `python benchmarks/results_nets_multihop.py` (capacity {__version__}); store "
        f"`benchmarks/results/nets_multihop.sqlite` ({n_tasks} tasks, {cpu / 60:.1f} CPU-minutes in all, one "
        "thread each).  Setting and derivations: docs/multihop.md.",
        "",
        "Settings: " + ", ".join(f"{k} = {v}" for k, v in res.settings.items() if k not in ("model", "training")),
        "",
        "Model: " + res.settings["model"] + ".  Training: " + res.settings["training"] + ".",
        "",
        res.format_table(),
        "",
        f"Budget check (direct modes, d = {CHECK_D}, h = 64, no early stop, {CHECK_STEPS} steps, seed 0)",
        "",
        "| N | R | k | mode | one-hop acc. % | train k-hop acc. % | held-out k-hop acc. % | chance % | final loss |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for (n, r, k, m), c in zip(CHECK, check):
        lines.append(f"| {n} | {r} | {k} | {m} | {100 * c['fact_accuracy']:.1f} | {100 * c['train_accuracy']:.1f} | "
                     f"{100 * c['heldout_accuracy']:.1f} | {100 / n:.1f} | {c['final_loss']:.2e} |")
    lines += ["", f"Longer words (GD at d = {LONG_D}, h = 64, seeds 0 and 1; held-out = 20 % of the N R^k queries)", "",
              "| N | R | k | mode | training k-hop queries | held-out acc. % (per seed) | train acc. % (per seed) | "
              "chance % |", "|---|---|---|---|---|---|---|---|"]
    for i, (n, r, k, m) in enumerate(LONG):
        got = longer[i * N_SEEDS:(i + 1) * N_SEEDS]
        n_train = n * r ** k - int(0.2 * n * r ** k)
        lines.append(f"| {n} | {r} | {k} | {m} | {n_train} | "
                     + ", ".join(f"{100 * g['heldout_accuracy']:.1f}" for g in got) + " | "
                     + ", ".join(f"{100 * g['train_accuracy']:.1f}" for g in got) + f" | {100 / n:.1f} |")
    lines += ["", f"Data dependence of the direct stack (d = {LONG_D}, h = 64, seeds 0 and 1): held-out fraction "
                  "varied",
              "", "| N | R | k | held-out fraction | training k-hop queries | held-out acc. % (per seed) | "
              "train acc. % (per seed) |", "|---|---|---|---|---|---|---|"]
    for i in range(0, len(frac_keys), N_SEEDS):
        n, r, k, f, _ = frac_keys[i]
        got = frac[i:i + N_SEEDS]
        lines.append(f"| {n} | {r} | {k} | {f} | {n * r ** k - max(1, int(f * n * r ** k))} | "
                     + ", ".join(f"{100 * g['heldout_accuracy']:.1f}" for g in got) + " | "
                     + ", ".join(f"{100 * g['train_accuracy']:.1f}" for g in got) + " |")
    if res.warnings:
        lines += ["", "Warnings:", ""] + [f"- {w}" for w in res.warnings]
    text = "\n".join(lines) + "\n"
    OUT.write_text(text)
    print(text)
    print(f"wall time {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
