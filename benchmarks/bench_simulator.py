"""Certified simulator vs a plain dense HiGHS feasibility LP, on identical instances.

Part 1 (d = 12, 16 near the theory's p_c, decoupled and coupled): for each
instance, the median wall time of
  - ours (Gram engine, method="gram"): the same cutting planes and certificates, the
    working-set LDP/NNLS solved in Gram form, warm-started across rounds;
  - ours (LDP engine, method="ldp"): cutting planes + Lawson-Hanson LDP/NNLS (scipy nnls,
    from scratch every round), certified verdict;
  - ours (HiGHS engine): cutting planes + incremental HiGHS LP, certified verdict;
  - dense: scipy.optimize.linprog(method="highs") on all p K rows at once
    (max tau s.t. A w >= tau, -1 <= w <= 1, tau <= 1), verdict = sign of tau*, no certificate;
with the ratio dense / ours and whether the verdicts agree (all four equal).
Part 2: ours alone (Gram engine; LDP engine with --part2-engine ldp) at d = 32 and 64
near p_c, each instance in its own process, reporting wall time, the process's CPU time
(user + system; on a shared machine wall time includes waiting for the cores) and peak
resident memory (ru_maxrss), and the 1-minute load average when the instance started.
At d = 64 it also times one instance below p_c (p = 520, --p64-below; feasible for
seed 77, trial 0), so that both verdicts are timed.

BLAS threads: the machine this was written on has 2 shared cores with other jobs
running, where multi-threaded OpenBLAS loses 10-100x on small matrices to contention,
so by default the benchmark pins OPENBLAS_NUM_THREADS=1 (same setting for every
engine, printed in the header); --blas-threads 0 leaves the environment alone.

Run:  python benchmarks/bench_simulator.py [--quick] [--skip-64] [--part 1|2|both] [--blas-threads N]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

if __name__ == "__main__":  # must precede the numpy import
    for i, a in enumerate(sys.argv):
        if a.startswith("--blas-threads"):
            _bt = a.split("=", 1)[1] if "=" in a else sys.argv[i + 1]
            break
    else:
        _bt = "1"
    if _bt != "0":
        for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[_v] = _bt

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from capacity.simulate import make_instance, solve_feasibility  # noqa: E402
from capacity.simulate.feasibility import constraint_rows  # noqa: E402

P_NEAR = {12: 40, 16: 62, 32: 182, 64: 564}  # round(p_c(d)) from `capacity query --d 12,16,32,64`


def dense_lp(inst):
    from scipy.optimize import linprog

    d, n = inst.d, inst.d * inst.d
    pairs = np.array([(mu, k) for mu in range(inst.p) for k in range(inst.K)])
    comps = np.concatenate([inst.competitor_block(b).reshape(-1, d) for b in range(inst.n_blocks())])
    A = constraint_rows(inst, pairs, comps) * d
    A_ub = np.hstack([-A, np.ones((len(A), 1))])
    c = np.zeros(n + 1)
    c[-1] = -1.0
    r = linprog(c, A_ub=A_ub, b_ub=np.zeros(len(A)), bounds=[(-1, 1)] * n + [(None, 1)], method="highs")
    return ("feasible" if -r.fun > 1e-9 else "infeasible") if r.status == 0 else "undecided"


def timed(fn, *a, **k):
    t0 = time.perf_counter()
    out = fn(*a, **k)
    return out, time.perf_counter() - t0


def part1(n_inst):
    print("Part 1: identical instances near p_c; medians over instances")
    hdr = f"{'d':>3} {'model':>9} {'p':>4} {'n':>3} {'ours gram s':>12} {'ours ldp s':>11} {'ours highs s':>13} " \
          f"{'dense s':>9} {'dense/gram':>11} {'dense/ldp':>10} {'dense/highs':>12} {'verdicts agree':>15} " \
          f"{'feasible':>9}"
    print(hdr)
    print("-" * len(hdr))
    for d in (12, 16):
        for model in ("decoupled", "coupled"):
            t_g, t_l, t_h, t_d, agree, feas = [], [], [], [], 0, 0
            for t in range(n_inst):
                inst = make_instance(model, d, P_NEAR[d], seed=77, trial=t)
                rg, tg = timed(solve_feasibility, inst, method="gram")
                rl, tl = timed(solve_feasibility, inst, method="ldp")
                rh, th = timed(solve_feasibility, inst, method="highs")
                vd, td = timed(dense_lp, inst)
                t_g.append(tg)
                t_l.append(tl)
                t_h.append(th)
                t_d.append(td)
                agree += rg.verdict == rl.verdict == rh.verdict == vd
                feas += rg.verdict == "feasible"
            mg, ml, mh, md = (statistics.median(x) for x in (t_g, t_l, t_h, t_d))
            print(f"{d:>3} {model:>9} {P_NEAR[d]:>4} {n_inst:>3} {mg:>12.3f} {ml:>11.3f} {mh:>13.3f} {md:>9.3f} "
                  f"{md / mg:>11.1f} {md / ml:>10.1f} {md / mh:>12.1f} {agree:>9}/{n_inst:<5} {feas:>9}", flush=True)


_CHILD = """
import json, resource, sys, time
from capacity.simulate import make_instance, solve_feasibility
d, p, model, trial, method = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]
solve_feasibility(make_instance(model, 4, 8, seed=0), method=method)  # warm the JIT cache outside the timing
inst = make_instance(model, d, p, seed=77, trial=trial)
t0, c0 = time.perf_counter(), time.process_time()
r = solve_feasibility(inst, method=method)
print(json.dumps({"seconds": time.perf_counter() - t0, "cpu": time.process_time() - c0, "verdict": r.verdict,
                  "rows": r.n_rows,
                  "constraints": r.n_constraints, "rounds": r.rounds,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def part2(dims, n_inst, timeout, method, p64_below):
    print()
    print(f"Part 2: ours alone (method={method!r}), one process per instance")
    print(f"{'d':>3} {'model':>9} {'p':>4} {'trial':>5} {'verdict':>10} {'seconds':>9} {'cpu s':>7} {'peak MB':>8} "
          f"{'rows':>7} {'constraints':>12} {'rounds':>6} {'load':>5}")
    runs = [(d, P_NEAR[d], t) for d in dims for t in range(n_inst)]
    if 64 in dims and p64_below:
        runs.append((64, p64_below, 0))
    for d, p, t in runs:
        load = os.getloadavg()[0]
        try:
            env = {k: v for k, v in os.environ.items() if k.endswith("_NUM_THREADS") or k.startswith("NUMBA")}
            env.update(PYTHONPATH=str(ROOT), PATH="/usr/bin:/bin")
            out = subprocess.run([sys.executable, "-c", _CHILD, str(d), str(p), "decoupled", str(t), method],
                                 capture_output=True, text=True, timeout=timeout, env=env)
            r = json.loads(out.stdout)
            print(f"{d:>3} {'decoupled':>9} {p:>4} {t:>5} {r['verdict']:>10} {r['seconds']:>9.1f} {r['cpu']:>7.1f} "
                  f"{r['peak_mb']:>8.0f} {r['rows']:>7} {r['constraints']:>12} {r['rounds']:>6} {load:>5.1f}",
                  flush=True)
        except subprocess.TimeoutExpired:
            print(f"{d:>3} {'decoupled':>9} {p:>4} {t:>5} {'timeout':>10} {'>' + str(timeout):>9}", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="3 instances per cell, skip d = 64")
    ap.add_argument("--skip-64", action="store_true")
    ap.add_argument("--part", choices=("1", "2", "both"), default="both")
    ap.add_argument("--part2-engine", choices=("gram", "ldp", "highs"), default="gram")
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--p64-below", type=int, default=520, help="extra d = 64 instance at this p (0: none)")
    ap.add_argument("--blas-threads", default="1", help="OPENBLAS/OMP/MKL threads (0: leave the environment)")
    args = ap.parse_args()
    print(f"BLAS threads: {os.environ.get('OPENBLAS_NUM_THREADS', 'default')}; cores: {os.cpu_count()}; "
          f"load average at start: {os.getloadavg()[0]:.1f} (other jobs share the cores)")
    n = 3 if args.quick else 8
    if args.part in ("1", "both"):
        part1(n)
    if args.part in ("2", "both"):
        dims = [32] if (args.quick or args.skip_64) else [32, 64]
        part2(dims, 1 if args.quick else 2, timeout=args.timeout, method=args.part2_engine, p64_below=args.p64_below)


if __name__ == "__main__":
    main()
