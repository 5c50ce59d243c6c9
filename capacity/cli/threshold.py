"""``capacity threshold``: per-instance certified thresholds of nested instances, and their median.

The thresholds, p50 and its interval come from
:func:`capacity.simulate.threshold.estimate_thresholds` (docs/simulator.md §8); the
theory's p_c from :func:`capacity.theory.predict.predicted_p_c`, used as the search's
starting point (it changes the cost, never a threshold) and printed beside p50.
"""
import math
import sys

from ._common import (EXIT_OK, PROG, StoreOnce, add_device_flag, add_executor_flags, add_memory_flag,
                      add_progress_flag, add_store_flags, add_subcommand, parse_device, parse_executor, parse_int,
                      parse_max_memory, parse_store, per_param, per_param_line, print_json, report_store, store_rows,
                      sweep_errors)

MODELS = ("decoupled", "coupled")


def run(args, out=None):
    out = sys.stdout if out is None else out
    d = parse_int("--d", args.d, 1, 4096)
    instances = parse_int("--instances", args.instances or "40", 1, 10**6)
    seed = parse_int("--seed", args.seed or "0", 0)
    jobs, scheduler = parse_executor(args)
    extra = parse_max_memory(args)
    extra.update(parse_device(args))
    store = args.store_path = parse_store(args, "results.sqlite")
    before = store_rows(store)

    from ..simulate.threshold import estimate_thresholds
    from ..theory.predict import predicted_p_c

    with sweep_errors(store, "instance"):
        prediction = predicted_p_c(args.model, d, embedding=args.embedding)
        p_start = None if math.isnan(prediction.value) else prediction.value  # no theory value: start at 2
        res = estimate_thresholds(args.model, d, instances=instances, seed=seed, embedding=args.embedding,
                                  method=args.method, p_start=p_start, store=store, jobs=jobs, scheduler=scheduler,
                                  progress=args.progress, **extra)
    if store is not None:
        report_store(f"{PROG} threshold", store, before=before, total=instances, unit="instance")
    if args.json:
        print_json({"d": res.d, "model": res.model, "embedding": res.embedding, "seed": res.seed,
                    "method": res.method, "thresholds": res.thresholds, "n_undecided": res.n_undecided,
                    "p50": res.p50, "p50_ci": res.p50_ci, "ci_level": res.ci_level, "p_c_theory": prediction.value,
                    **per_param(args.model, d, res.p50), "warnings": res.warnings}, out)
        return EXIT_OK
    print(f"{args.model} memory, d = {d}, {instances} nested instances, seed {seed}, embedding {args.embedding}, "
          f"engine {args.method}; p* = the largest p each instance stores (certified both sides)", file=out)
    print("thresholds: " + " ".join("undecided" if t is None else str(t) for t in res.thresholds), file=out)
    print(f"p50 = {res.p50:.6g}  CI [{res.p50_ci[0]:.6g}, {res.p50_ci[1]:.6g}] (exact order statistics, "
          f"coverage {res.ci_level:.3f})", file=out)
    print(per_param_line(args.model, d, res.p50), file=out)
    print(f"{prediction.label} = {prediction.value:.6g}", file=out)
    print(f"undecided instances: {res.n_undecided}", file=out)
    for w in res.warnings:
        print(f"warning: {w}", file=out)
    return EXIT_OK


DESCRIPTION = """\
Certified capacity thresholds of nested instances.

Instance i is one random sequence of items (inputs, targets and, in the
decoupled model, each input's competitors as a sequence), and the memory
problem at p is its first p items: storing p + 1 items needs every constraint
of p, so each instance has a threshold p*, the largest p it stores.  The
search gallops from the theory's p_c and bisects, each step certified (a
re-scored separating W below p*, a verified Gordan certificate above).
P(stored at p) is the distribution of p*; p50 is its median, with an exact
order-statistic confidence interval.  Every finished instance is committed to
--store at once; rerunning the same command resumes."""

EPILOG = """\
examples:
  capacity threshold --model decoupled --d 16 --instances 40 --seed 1
  capacity threshold --model coupled --d 32 --instances 40 --jobs 2 --json
  capacity threshold --model coupled --d 48 --instances 40 --scheduler local:2
  capacity threshold --d 128 --instances 10 --max-memory 64G --no-progress
  capacity threshold --d 96 --instances 8 --method torch --device cuda

At the end of a stored run, stderr says how many instances were reused from
--store and how many were computed now.

exit status: 0 ok, 2 bad input (before any work), 1 instances failed (rerun
retries them) or numerical failure, 141 output pipe closed early."""


def add(subparsers):
    sub = add_subcommand(subparsers, "threshold",
                         help="certified per-instance thresholds p* of nested instances; p50 with exact CI",
                         description=DESCRIPTION, epilog=EPILOG)
    sub.add_argument("--model", choices=MODELS, default="decoupled",
                     help="decoupled (fresh competitors per input, default) or coupled (the other targets)")
    sub.add_argument("--d", action=StoreOnce, required=True, metavar="D", help="embedding dimension (integer)")
    sub.add_argument("--instances", action=StoreOnce, metavar="N", help="nested instances (default 40)")
    sub.add_argument("--seed", action=StoreOnce, metavar="S", help="base seed (default 0)")
    sub.add_argument("--embedding", choices=("gaussian", "sphere"), default="gaussian",
                     help="N(0, I/d) entries (default) or uniform on the unit sphere")
    sub.add_argument("--method", choices=("gram", "ldp", "highs", "torch"), default="gram",
                     help="feasibility engine: gram (default; warm-started from the previous p's working set), "
                          "ldp, the HiGHS LP, or torch (the gram engine in torch on --device, warm-started too; "
                          "needs pip install torch)")
    add_device_flag(sub)
    add_store_flags(sub, "instance")
    add_executor_flags(sub, jobs_help="worker processes (default 1; one instance per task)")
    add_memory_flag(sub)
    add_progress_flag(sub)
    sub.add_argument("--json", action="store_true", help="print one JSON object (progress stays on stderr)")
    sub.set_defaults(run=run)
    return sub
