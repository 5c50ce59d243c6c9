"""Cost of a p50 with a given CI width: per-instance thresholds vs the fixed-p grid, same engine, one run.

For d = 16 and 32 (decoupled model, Gaussian embeddings, Gram engine, one BLAS thread):
- grid: the design of benchmarks/agreement_table.py — trials at p = p_c(d) x (0.85, 0.92, 1, 1.08,
  1.15), logistic p50 with a 1000-replicate bootstrap 95 % CI (docs/simulator.md §6);
- thresholds: nested instances searched to their threshold from p_c(d), median with the exact
  order-statistic 95 % CI [lo, hi]; its width is taken as hi + 1 - lo, the interval of the continuous
  crossing that the grid's p50 estimates (docs/simulator.md §8).
Both CI widths shrink like 1/sqrt(number of instances), so the solver time needed for a CI of
width w is T (width / w)^2; the table gives that cost for w = 5 % of p_c(d) and the ratio
grid / thresholds, with the median time of one certified solve in each design.
The two designs use different random instances (fixed-p vs nested), so their p50s differ by
sampling noise only.  Where the grid's logistic fit fails (separated data) its interval is the
bracketing grid interval, which does not shrink like 1/sqrt(n): the extrapolated cost then
overstates the grid's cost, and the output says so by naming the fit method.

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_thresholds.py
"""
import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from capacity import __version__, p_c  # noqa: E402
from capacity.simulate.sweep import simulate_capacity  # noqa: E402
from capacity.simulate.threshold import estimate_thresholds  # noqa: E402

FRACTIONS = (0.85, 0.92, 1.0, 1.08, 1.15)
GRID_TRIALS = {16: 30, 32: 20}
INSTANCES = {16: 40, 32: 40}
TARGET = 0.05  # CI width as a fraction of p_c


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dims", default="16,32")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "bench_thresholds.txt"))
    args = ap.parse_args(argv)
    lines = [f"bench_thresholds.py (capacity {__version__}, seed {args.seed}); decoupled, gaussian, Gram engine",
             f"cost for a 95 % CI of width {TARGET:.0%} of p_c = solver seconds x (CI width / target)^2",
             "",
             f"{'d':>3} {'design':>10} {'solves':>6} {'median s':>8} {'total s':>8} {'p50':>7} {'CI width':>8} "
             f"{'cost s':>8} {'grid/thr':>8}"]
    for d in (int(x) for x in args.dims.split(",")):
        pc = p_c(d)
        ps = sorted({max(3, int(round(pc * f))) for f in FRACTIONS})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            grid = simulate_capacity("decoupled", d, ps, trials=GRID_TRIALS[d], seed=args.seed, method="gram",
                                     progress=False)
            wall_grid = time.perf_counter() - t0
        g_secs = [r["seconds"] for r in grid.records]
        g_width = grid.p50.ci_high - grid.p50.ci_low
        g_cost = sum(g_secs) * (g_width / (TARGET * pc)) ** 2
        t0 = time.perf_counter()
        thr = estimate_thresholds("decoupled", d, instances=INSTANCES[d], seed=args.seed, p_start=pc, progress=False)
        wall_thr = time.perf_counter() - t0
        t_secs = [s["seconds"] for search in thr.searches for s in search["solves"]]
        t_width = thr.p50_ci[1] + 1 - thr.p50_ci[0]  # [lo, hi + 1]: the interval of the continuous crossing
        t_cost = sum(t_secs) * (t_width / (TARGET * pc)) ** 2
        lines.append(f"{d:>3} {'grid':>10} {len(g_secs):>6} {np.median(g_secs):>8.3f} {sum(g_secs):>8.1f} "
                     f"{grid.p50.p50:>7.2f} {g_width:>8.2f} {g_cost:>8.1f} {'':>8}")
        lines.append(f"{d:>3} {'thresholds':>10} {len(t_secs):>6} {np.median(t_secs):>8.3f} {sum(t_secs):>8.1f} "
                     f"{thr.p50:>7.2f} {t_width:>8.2f} {t_cost:>8.1f} {g_cost / t_cost:>8.2f}")
        lines.append(f"    grid p50 fit: {grid.p50.method} ({grid.p50.message}); CI [{grid.p50.ci_low:.2f}, "
                     f"{grid.p50.ci_high:.2f}]; thresholds CI {thr.p50_ci} at coverage {thr.ci_level:.3f}")
        lines.append(f"    (wall: grid {wall_grid:.0f} s for {len(ps)} p x {GRID_TRIALS[d]} trials; thresholds "
                     f"{wall_thr:.0f} s for {INSTANCES[d]} instances, {len(t_secs) / INSTANCES[d]:.1f} solves each; "
                     f"p_c = {pc:.2f})")
        print("\n".join(lines[-4:]), flush=True)
    Path(args.out).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
