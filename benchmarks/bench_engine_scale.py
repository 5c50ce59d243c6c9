"""The Gram engine at large d: inexact rounds and support warm starts against the engine before them, one run.

Part 1, threshold searches (nested decoupled instances, Gaussian embeddings, seed 2026, trials 0..n-1,
start round(p_c(d)), one BLAS thread), on identical instances:
  - before: every working set solved to its optimum before the constraints are re-scored
    (``feasibility.INNER_ITERATIONS = None``), each solve warm-started from the previous working set only
    (``threshold.WARM_SUPPORT = False``) -- the engine as it was;
  - now: the defaults (rounds of ``INNER_ITERATIONS`` Lawson-Hanson iterations; each solve's passive set
    started from the previous solve's support).
  Per instance: wall seconds, certified solves, p* of both (they must agree: the verdicts are certified either
  way) and the ratio before / now; the median ratio at the end of each d.
Part 2, one certified verdict near p_c (p = round(p_c(d)), trial 0, cold, "now" only) at each of --big-dims,
  each in its own process with --big-threads BLAS threads: verdict, wall and CPU seconds, peak resident
  memory (ru_maxrss of the process), rounds and working-set rows.

    python benchmarks/bench_engine_scale.py                       # d = 48, 64 (2 trials each); d = 96, 128
    python benchmarks/bench_engine_scale.py --dims 48 --trials 1 --big-dims 64   # a quick look
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

if __name__ == "__main__":  # BLAS threads must be set before numpy is imported
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SEED = 2026


def _search(d, trial, before):
    from capacity import p_c
    from capacity.simulate import feasibility, threshold

    feasibility.INNER_ITERATIONS = None if before else 2
    threshold.WARM_SUPPORT = not before
    t0 = time.perf_counter()
    s = threshold.find_threshold("decoupled", d, seed=SEED, trial=trial, p_start=round(p_c(d)))
    return {"seconds": time.perf_counter() - t0, "solves": len(s.solves), "threshold": s.threshold,
            "undecided": not s.success}


def _one_verdict(d):
    """Child process: one cold verdict at p = round(p_c(d)); prints a JSON line."""
    from capacity import p_c
    from capacity.simulate.feasibility import solve_feasibility
    from capacity.simulate.nested import make_nested_instance

    p = round(p_c(d))
    inst = make_nested_instance("decoupled", d, p, seed=SEED, trial=0)
    t0, c0 = time.perf_counter(), time.process_time()
    r = solve_feasibility(inst, method="gram")
    print(json.dumps({"d": d, "p": p, "verdict": r.verdict, "seconds": time.perf_counter() - t0,
                      "cpu": time.process_time() - c0, "rounds": r.rounds, "rows": r.n_rows,
                      "constraints": r.n_constraints,
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dims", default="48,64", help="threshold-search dimensions (part 1; empty: skip)")
    ap.add_argument("--trials", type=int, default=2, help="instances per dimension in part 1")
    ap.add_argument("--big-dims", default="96,128", help="single-verdict dimensions (part 2; empty: skip)")
    ap.add_argument("--big-threads", type=int, default=2, help="BLAS threads of each part-2 process")
    ap.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "bench_engine_scale.txt"))
    args = ap.parse_args(argv)
    if args.child is not None:
        _one_verdict(args.child)
        return 0
    from capacity import __version__

    dims = [int(x) for x in args.dims.split(",") if x]
    lines = [f"bench_engine_scale.py (capacity {__version__}); nested decoupled instances, seed {SEED}, Gaussian; "
             f"{os.cpu_count()} cores, load average at start {os.getloadavg()[0]:.1f}"]
    if dims:
        lines += ["", "Part 1: threshold search from round(p_c), before (exact rounds, working-set warm start) vs now; "
                  "1 BLAS thread",
                  f"{'d':>4} {'trial':>5} {'before s':>9} {'solves':>6} {'now s':>8} {'solves':>6} {'p* before':>9} "
                  f"{'p* now':>7} {'before/now':>10}"]

    def emit(line):
        lines.append(line)
        print(line, flush=True)

    for line in lines:
        print(line, flush=True)
    for d in dims:
        ratios = []
        for trial in range(args.trials):
            b = _search(d, trial, before=True)
            n = _search(d, trial, before=False)
            ratios.append(b["seconds"] / n["seconds"])
            emit(f"{d:>4} {trial:>5} {b['seconds']:>9.1f} {b['solves']:>6} {n['seconds']:>8.1f} {n['solves']:>6} "
                 f"{str(b['threshold']):>9} {str(n['threshold']):>7} {ratios[-1]:>10.2f}")
            if b["threshold"] != n["threshold"]:
                emit(f"     p* DISAGREE at d = {d}, trial {trial}: a defect, not a speed-up")
        emit(f"{d:>4} median before/now {statistics.median(ratios):.2f} over {len(ratios)} instances")
    big = [int(x) for x in args.big_dims.split(",") if x]
    if big:
        emit("")
        emit(f"Part 2: one cold certified verdict at p = round(p_c(d)), trial 0, 'now' only; {args.big_threads} "
             f"BLAS threads, one process each")
        emit(f"{'d':>4} {'p':>5} {'verdict':>10} {'wall s':>8} {'cpu s':>8} {'peak MB':>8} {'rounds':>6} "
             f"{'rows':>6} {'constraints':>11}")
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(args.big_threads), OMP_NUM_THREADS=str(args.big_threads))
    for d in big:
        out = subprocess.run([sys.executable, __file__, "--child", str(d)], env=env, capture_output=True, text=True)
        if out.returncode != 0:
            emit(f"{d:>4} failed: {out.stderr.strip().splitlines()[-1] if out.stderr.strip() else out.returncode}")
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        emit(f"{d:>4} {r['p']:>5} {r['verdict']:>10} {r['seconds']:>8.1f} {r['cpu']:>8.1f} {r['peak_mb']:>8.0f} "
             f"{r['rounds']:>6} {r['rows']:>6} {r['constraints']:>11}")
    emit("")
    emit(f"(command: python benchmarks/bench_engine_scale.py --dims {args.dims or chr(34) * 2} --trials {args.trials} "
         f"--big-dims {args.big_dims or chr(34) * 2} --big-threads {args.big_threads})")
    Path(args.out).write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
