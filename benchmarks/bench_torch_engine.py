"""The "torch" feasibility engine on a GPU (or the CPU) vs the CPU "gram" engine, on identical instances near p_c.

For each d in --dims (default 64, 96, 128, 192, 256) the instance (--model, default coupled; --seed 77,
trial 0, 1, ...) at p = round(p_c(d)) (capacity.p_c, the decoupled theory's finite-size capacity) is
decided by ``solve_feasibility(method="torch", device=--device)`` and, for d <= --gram-max-d (default
96), by the CPU "gram" engine on the same instance, each solve in a fresh process with a wall-clock
limit (--cell-timeout, default 150 s).  Reported per solve: the verdict, the wall time of
``solve_feasibility`` (host verification included), rounds, working-set rows, the peak device memory
(``torch.cuda.max_memory_allocated``; on the CPU the growth of the process's peak resident size) beside the
engine's estimate (``capacity._resources.torch_device_memory``), and torch/gram wall-time ratios.
A first pass runs trial 0 at every d (torch, then gram); a second pass adds trials until each d has
a feasible and an infeasible instance (at most --max-trials), while the budget lasts.  Cells are
skipped, not cut short, once less than 20 s of --budget (default 460 s) remains, so a GPU run fits in
one 10-minute command.  Each row is printed (flushed) as soon as its cell ends; with --out the
table so far is rewritten after every cell (default path benchmarks/results/bench_torch_engine.txt).

The coupled model is the default because its margins need no random competitor blocks: for the
decoupled model (--model decoupled) the host draws all p K competitors (p K d normals: 2.5e9 at
d = 192) once to keep them on the GPU and again to re-score the final W, and at d = 256 they do not
fit in 40 % of an 80 GB GPU and are drawn again every round, so the host's random numbers, not the
engine, set the time.

Expected runtime on one H100 (an estimate, not yet measured: no GPU run has been made): d = 64 and
96 within a minute each with the gram runs, d = 128 about a minute, d = 192 a few minutes, d = 256
probably over its cell limit; the budget caps the whole run at about 8 minutes.  CPU check on this
repository's 2-core machine: ``--device cpu --dims 12,16,24 --trials 5`` takes about a minute.

Threads: each solve's process gets --threads torch intra-op and BLAS threads (default 1; the gram
engine is timed on one core as in benchmarks/bench_simulator.py).

Run:  python benchmarks/bench_torch_engine.py [--device cuda|cpu] [--dims 64,96,128,192,256]
          [--model coupled|decoupled] [--trials N] [--max-trials N] [--gram-max-d D] [--cell-timeout S]
          [--budget S] [--threads N] [--seed S] [--out [PATH]]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "bench_torch_engine.txt"

_CHILD = r"""
import json, os, resource, sys, time
args = json.loads(sys.argv[1])
import torch
torch.set_num_threads(args["threads"])
from capacity._resources import torch_device_memory
from capacity.simulate import make_instance, solve_feasibility
kw = {"method": args["method"]}
if args["method"] == "torch":
    kw["device"] = args["device"]
solve_feasibility(make_instance(args["model"], 4, 8, seed=0), **kw)  # warm up: JIT caches, CUDA context, libraries
inst = make_instance(args["model"], args["d"], args["p"], seed=args["seed"], trial=args["trial"])
cuda = args["method"] == "torch" and args["device"] == "cuda"
if cuda:
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
total = torch.cuda.get_device_properties(0).total_memory if cuda else None
est = torch_device_memory(args["d"], args["p"], model=args["model"], device_memory=total)
rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
t0 = time.perf_counter()
r = solve_feasibility(inst, **kw)
seconds = time.perf_counter() - t0
# GPU: the peak of torch's allocations; CPU: the growth of the process's peak resident size (Linux: KiB)
peak = torch.cuda.max_memory_allocated() if cuda else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - rss0
print(json.dumps({"verdict": r.verdict, "seconds": seconds, "rounds": r.rounds, "rows": r.n_rows,
                  "constraints": r.n_constraints, "peak": peak, "est": est if args["method"] == "torch" else None,
                  "message": r.message}))
"""

COLUMNS = ("d", "model", "p", "trial", "engine", "verdict", "seconds", "rounds", "rows", "peak MiB", "est. MiB",
           "torch/gram")


def _fmt_row(row):
    return "| " + " | ".join(str(row.get(c, "")) for c in COLUMNS) + " |"


def _header():
    return ["| " + " | ".join(COLUMNS) + " |", "|" + "|".join("---:" for _ in COLUMNS) + "|"]


def run_cell(args, method, d, p, trial, timeout):
    """One solve in a fresh process; returns its JSON dict, or {"verdict": "timeout"} / {"verdict": "error"}."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTORCH_CUDA_ALLOC_CONF="expandable_segments:True")
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(args.threads)
    payload = json.dumps({"method": method, "device": args.device, "model": args.model, "d": d, "p": p,
                          "seed": args.seed, "trial": trial, "threads": args.threads})
    try:
        out = subprocess.run([sys.executable, "-c", _CHILD, payload], capture_output=True, text=True, env=env,
                             timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"verdict": "timeout", "seconds": timeout}
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["no output"])[-1]
        return {"verdict": "error", "message": last[:200]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    ap.add_argument("--dims", default="64,96,128,192,256")
    ap.add_argument("--model", choices=("coupled", "decoupled"), default="coupled")
    ap.add_argument("--trials", type=int, default=None, help="instances per d in the first pass (default: 1 on "
                                                             "cuda, 5 on cpu)")
    ap.add_argument("--max-trials", type=int, default=3, help="most instances per d when seeking both verdicts")
    ap.add_argument("--gram-max-d", type=int, default=96)
    ap.add_argument("--cell-timeout", type=float, default=150.0)
    ap.add_argument("--budget", type=float, default=460.0, help="wall-clock budget of the whole run, seconds")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=77)
    ap.add_argument("--out", nargs="?", const=str(DEFAULT_OUT), default=None,
                    help=f"also write the table to this file (default {DEFAULT_OUT.relative_to(ROOT)})")
    args = ap.parse_args()
    try:
        dims = [int(x) for x in args.dims.split(",")]
    except ValueError:
        ap.exit(2, f"bench_torch_engine: error: --dims must be a comma-separated list of integers; got {args.dims!r}\n")
    try:
        import torch
    except ImportError:
        ap.exit(2, "bench_torch_engine: error: needs torch: pip install torch\n")
    if args.device == "cuda" and not torch.cuda.is_available():
        ap.exit(2, f"bench_torch_engine: error: --device cuda but torch {torch.__version__} sees no CUDA device; use "
                   f"--device cpu for the CPU check\n")
    sys.path.insert(0, str(ROOT))
    import capacity

    trials = args.trials if args.trials is not None else (1 if args.device == "cuda" else 5)
    where = torch.cuda.get_device_name(0) if args.device == "cuda" else f"CPU ({os.cpu_count()} cores)"
    lines = [f"torch engine on {args.device} ({where}; torch {torch.__version__}) vs the CPU gram engine; "
             f"model {args.model}, seed {args.seed}, p = round(p_c(d)); {args.threads} thread(s) per solve; "
             f"cell limit {args.cell_timeout:g} s, budget {args.budget:g} s; peak MiB: "
             + ("torch.cuda.max_memory_allocated" if args.device == "cuda" else "growth of the peak resident size")
             + " (est. MiB: the engine's device estimate)",
             f"command: python benchmarks/bench_torch_engine.py {' '.join(sys.argv[1:])}", ""] + _header()
    for line in lines:
        print(line, flush=True)
    start = time.perf_counter()
    rows, results = [], {}

    def emit(row):
        rows.append(row)
        print(_fmt_row(row), flush=True)
        if args.out:
            Path(args.out).write_text("\n".join(lines + [_fmt_row(r) for r in rows]) + "\n")

    def cell(method, d, p, trial):
        left = args.budget - (time.perf_counter() - start)
        if left < 20:
            emit({"d": d, "model": args.model, "p": p, "trial": trial, "engine": method, "verdict": "skipped (budget)"})
            return None
        r = run_cell(args, method, d, p, trial, min(args.cell_timeout, left))
        results[(method, d, trial)] = r
        engine = f"torch ({args.device})" if method == "torch" else "gram (cpu)"
        row = {"d": d, "model": args.model, "p": p, "trial": trial, "engine": engine, "verdict": r["verdict"],
               "seconds": f"{r['seconds']:.2f}" if "seconds" in r else ""}
        if r["verdict"] == "timeout":
            row["seconds"] = f"> {r['seconds']:.0f}"
        if "rounds" in r:
            row.update(rounds=r["rounds"], rows=r["rows"], **{"peak MiB": f"{r['peak'] / 2**20:.0f}"})
            if r.get("est"):
                row["est. MiB"] = f"{r['est'] / 2**20:.0f}"
        if method == "gram":
            rt = results.get(("torch", d, trial), {})
            if "rounds" in rt and "rounds" in r:
                row["torch/gram"] = f"{rt['seconds'] / r['seconds']:.2f}"
            elif "rounds" in rt and r["verdict"] == "timeout":
                row["torch/gram"] = f"< {rt['seconds'] / r['seconds']:.2f}"
        if r["verdict"] == "error":
            row["verdict"] = "error: " + r["message"]
        emit(row)
        return r

    ps = {d: int(round(capacity.p_c(d))) for d in dims}
    for t in range(trials):  # first pass
        for d in dims:
            cell("torch", d, ps[d], t)
            if d <= args.gram_max_d:
                cell("gram", d, ps[d], t)
    for d in dims:  # second pass: the other verdict, while the budget lasts
        t = trials
        while t < args.max_trials:
            seen = {r["verdict"] for (m, dd, _), r in results.items() if m == "torch" and dd == d}
            if not seen or seen >= {"feasible", "infeasible"} or not seen <= {"feasible", "infeasible"}:
                break
            if args.budget - (time.perf_counter() - start) < 20:
                break
            cell("torch", d, ps[d], t)
            if d <= args.gram_max_d:
                cell("gram", d, ps[d], t)
            t += 1

    summary = ["", "| d | instances | median torch s | median gram s | median torch/gram | verdicts equal |",
               "|---:|---:|---:|---:|---:|---:|"]
    for d in dims:
        done = sorted(t for (m, dd, t) in results if m == "torch" and dd == d)
        pairs = [(results[("torch", d, t)], results.get(("gram", d, t))) for t in done
                 if "rounds" in results[("torch", d, t)]]
        if not pairs:
            continue
        both = [(a, b) for a, b in pairs if b is not None and "rounds" in b]
        mt = statistics.median(a["seconds"] for a, _ in pairs)
        mg = f"{statistics.median(b['seconds'] for _, b in both):.3f}" if both else ""
        ratio = f"{statistics.median(a['seconds'] / b['seconds'] for a, b in both):.2f}" if both else ""
        equal = f"{sum(a['verdict'] == b['verdict'] for a, b in both)}/{len(both)}" if both else ""
        summary.append(f"| {d} | {len(pairs)} | {mt:.3f} | {mg} | {ratio} | {equal} |")
    summary.append(f"\ntotal wall time {time.perf_counter() - start:.0f} s")
    for line in summary:
        print(line, flush=True)
    if args.out:
        Path(args.out).write_text("\n".join(lines + [_fmt_row(r) for r in rows] + summary) + "\n")


if __name__ == "__main__":
    main()
