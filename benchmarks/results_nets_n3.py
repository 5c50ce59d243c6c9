"""N3: marked-token retrieval with frozen random embeddings (docs/nets.md, N3; arXiv:2603.15923).

Trains one-layer attention models (capacity.nets.models.retrieval; the task and model are stated there and
in the output) over the default grid V in {32, 64, 128}, d in {8, 16, 32} (d < V), L in {4, 8, 16},
m in {0, 64} and N = f V for f in {0.5, 1, 1.5, 2, 3, 4, 6, 8} (a configuration stops at its
first N with test accuracy >= 0.99); then the attention-only value-path test (V = r p_c(d),
r in {0.5, 0.75, 0.9, 1, 1.25, 1.5, 2}, d in {8, 12, 16}, L = 4, N = 16 V, 3000 steps; an MLP of
width m = 64 beside it at r = 1.5, 2; 3 instances for m = 0) and the budget check (two
configurations at 2x steps).

Every training run is one task committed to benchmarks/results/nets_n3.sqlite (rerunning resumes).
One process, one torch thread (the machine is shared).

Run:  python benchmarks/results_nets_n3.py [--quick] [--device cpu|cuda|auto]
Writes benchmarks/results/nets_n3.md (and prints it); --quick writes nothing and uses no store.  With a
complete store nothing is retrained and the file is rewritten unchanged (the invocation's wall time is
printed on stdout only).
"""
import argparse
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from capacity import __version__  # noqa: E402
from capacity.nets.experiments.n3 import EXPERIMENT, run_n3  # noqa: E402
from capacity.sweeps import ResultsStore  # noqa: E402

STORE = ROOT / "benchmarks" / "results" / "nets_n3.sqlite"
OUT = ROOT / "benchmarks" / "results" / "nets_n3.md"
SEED = 0


def _summary(res):
    lines = ["## Summary (generated from the numbers below)", ""]
    for f in res.fits:
        c, s = f["coef"], f["stderr"]
        if f["n_points"] and math.isfinite(c["V"]):
            lines.append(f"- m = {f['m']}, accuracy >= {f['threshold']}: N* ∝ V^{c['V']:.2f}±{s['V']:.2f} "
                         f"L^{c['L']:.2f}±{s['L']:.2f} d^{c['d']:.2f}±{s['d']:.2f} ({f['n_points']} configurations, "
                         f"rms {f['rms']:.2f} in ln N*)")
        else:
            lines.append(f"- m = {f['m']}, accuracy >= {f['threshold']}: no fit ({f['n_points']} configurations "
                         "reach it; 4 coefficients need at least 5)")
    reached = [r for r in res.rows if math.isfinite(r["n_star_99"])]
    if reached:
        ratios = sorted(r["n_star_99"] / r["coverage_99"] for r in reached)
        lines.append(f"- N*(0.99) / lookup-table coverage floor over the {len(reached)} configurations reaching 0.99: "
                     f"median {ratios[len(ratios) // 2]:.2f}, range {ratios[0]:.2f} .. {ratios[-1]:.2f}")
    never = [r for r in res.rows if not math.isfinite(r["n_star_90"])]
    lines.append(f"- configurations never reaching 0.90 on the N grid: {len(never)} of {len(res.rows)} "
                 f"({sum(r['m'] == 0 for r in never)} attention-only; of those, "
                 f"{sum(r['m'] == 0 and r['V'] > r['p_c'] for r in never)} have V > p_c(d))")
    for s in res.value_path_summary:
        lines.append(f"- value path d = {s['d']} (m = 0): largest V with >= 1/2 of the instances storing all "
                     f"associations = {s['largest_V_half']}, smallest V with < 1/2 = {s['smallest_V_below_half']}; "
                     f"p_c(d) = {s['p_c']:.1f} (N = d² + d: {s['p_c_bias']:.1f}); best map accuracy above p_c: "
                     f"{s['max_map_acc_above']:.3f}")
    for b in res.budget_check:
        lines.append(f"- budget check {tuple(b['config'])}: N*(0.90) {b['n_star_90']:.0f} -> "
                     f"{b['n_star_90_doubled']:.0f}, N*(0.99) {b['n_star_99']:.0f} -> {b['n_star_99_doubled']:.0f} "
                     f"when steps double ({b['steps']} -> {b['steps_doubled']})")
    return lines


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny grid, no store, nothing written")
    ap.add_argument("--device", default="cpu", choices=("cpu", "cuda", "auto"))
    args = ap.parse_args(argv)
    start = time.perf_counter()

    def progress(done, total):
        print(f"[{time.perf_counter() - start:7.1f} s] {done}/{total}", file=sys.stderr, flush=True)

    res = run_n3(seed=SEED, quick=args.quick, device=args.device, store=None if args.quick else STORE,
                 progress=progress)
    text = report(res, quick=args.quick, device=args.device)
    print(text)
    if not args.quick:
        OUT.write_text(text)
    print(f"results_nets_n3: this invocation took {time.perf_counter() - start:.0f} s", flush=True)
    return 0


def report(res, quick=False, device="cpu"):
    """The markdown report from the results and the store (no timing of the invocation)."""
    train_s = math.nan
    if not quick:
        with ResultsStore(STORE) as store:
            train_s = sum(rec.seconds for rec in store.records() if rec.task.get("experiment") == EXPERIMENT)
    cmd = "python benchmarks/results_nets_n3.py" + (" --quick" if quick else "") + (
        f" --device {device}" if device != "cpu" else "")
    return "\n".join([
        "# N3: marked-token retrieval with random embeddings (docs/nets.md, N3)", "",
        f"Command: `{cmd}` (capacity {__version__}); store `benchmarks/results/nets_n3.sqlite` "
        f"({len(res.runs)} N*-grid runs, {len(res.value_path)} value-path runs, plus the doubled-step check); "
        "runs resumed from the store cost nothing; all runs in the store took "
        f"{train_s / 60:.1f} min of wall time in total, one process, one torch thread, on a 2-core machine shared "
        "with other jobs (each run's wall time is in the store's `seconds`).", "",
        "Only the abstract of arXiv:2603.15923 was available: the setting below is our choice.", "",
        *_summary(res), "", res.format_table(), ""])


if __name__ == "__main__":
    raise SystemExit(main())
