"""``capacity simulate``: certified finite-size simulation, with the theory's value beside it.

The verdicts, P(feasible) per p, p50 and the max-margin summary come from
:mod:`capacity.simulate` (docs/simulator.md); the theory's value from
:func:`capacity.theory.predict.predicted_p_c` and :func:`capacity.theory.kappa_star`,
printed beside the estimate and never fed back into it.
"""
import sys
import warnings

from ._common import (EXIT_OK, PROG, CommandError, StoreListOnce, StoreOnce, add_device_flag, add_executor_flags,
                      add_memory_flag, add_progress_flag, add_store_flags, add_subcommand, parse_device, parse_executor,
                      parse_grid, parse_int, parse_max_memory, parse_store, print_csv, print_json, print_table,
                      per_param, per_param_line, report_store, store_rows, sweep_errors)

MODELS = ("decoupled", "coupled", "hebbian", "two-layer-frozen", "two-layer")

_WHAT = {"hebbian": "Hebbian memory (verdict: all p facts recalled)",
         "two-layer-frozen": "two-layer memory, W1 frozen (m = {m})",
         "two-layer": "two-layer memory, both layers trained by alternating convex solves "
                      "(m = {m}; 'feasible' is certified, a miss is not a proof)"}


def _kappa_star_or_nan(theory, alpha, K):
    """The theory's max margin at load alpha, or NaN above its capacity (no positive margin)."""
    try:
        return theory.kappa_star(alpha, K)
    except ValueError:
        return float("nan")


_MARGIN_COLUMNS = ("p", "alpha", "n_feasible", "n_infeasible", "n_undecided", "kappa_hat_mean", "kappa_hat_se",
                   "kappa_star_theory")


def _print_margin(res, d, prediction, model, K, args, out):
    """The max-margin table: the simulator's kappa_hat per p beside the theory's kappa*."""
    from .. import theory
    from ..simulate import summarize_margins

    summary = summarize_margins(res.records, d)
    points = []
    for row in summary.rows:
        ks = _kappa_star_or_nan(theory, row.alpha, row.p - 1) if K is None else float("nan")
        points.append(dict(row.to_dict(), kappa_star_theory=ks))
    if args.json:
        print_json({"d": d, "model": model, "experiment": "margin", "points": points,
                    "p_c_theory": prediction.value}, out)
        return EXIT_OK
    if args.csv:
        print_csv(points, _MARGIN_COLUMNS, out)
        return EXIT_OK
    print(f"max-margin memory ({model}), d = {d}; kappa_hat = normalised margin of the Frobenius "
          f"max-margin W; theory kappa* solves alpha E(p - 1, kappa) = 1", file=out)
    print_table(points, _MARGIN_COLUMNS, out)
    return EXIT_OK


def run(args, out=None):
    out = sys.stdout if out is None else out
    d = parse_int("--d", args.d, 1, 4096)
    ps = parse_grid("--p", args.p)
    trials = parse_int("--trials", args.trials or "20", 1, 10**6)
    seed = parse_int("--seed", args.seed or "0", 0)
    jobs, scheduler = parse_executor(args)
    n_boot = parse_int("--n-boot", args.n_boot or "1000", 0)
    K = None if args.K is None else parse_int("--K", args.K, 1)
    two_layer = args.model in ("two-layer-frozen", "two-layer")
    if args.model in ("decoupled", "coupled"):
        if args.competitors is not None:
            raise CommandError(f"--competitors applies to hebbian and two-layer models; got --model {args.model}")
        competitors, experiment = args.model, ("margin" if args.margin else "feasibility")
    else:
        if args.margin:
            raise CommandError(f"--margin applies to --model decoupled or coupled; got --model {args.model}")
        competitors, experiment = args.competitors or "decoupled", args.model
    m = None
    if two_layer:
        if args.m is None:
            raise CommandError(f"--model {args.model} needs --m (hidden width, 1 <= m <= d)")
        m = parse_int("--m", args.m, 1, d)
    elif args.m is not None:
        raise CommandError(f"--m applies to --model two-layer-frozen or two-layer; got --model {args.model}")
    if competitors == "coupled" and K is not None:
        raise CommandError("--K is fixed to p - 1 in the coupled model; omit it")
    if args.method == "torch" and experiment != "feasibility":
        raise CommandError(f"--method torch applies to --model decoupled or coupled without --margin; got --model "
                           f"{args.model}" + (" --margin" if args.margin else ""))
    extra = parse_max_memory(args)
    extra.update(parse_device(args))
    if two_layer:
        extra["m"] = m
    store = args.store_path = parse_store(args, "results.sqlite")
    before = store_rows(store)

    from ..simulate.sweep import simulate_capacity
    from ..theory.predict import predicted_p_c

    with sweep_errors(store, "trial"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = simulate_capacity(competitors, d, ps, trials=trials, seed=seed, experiment=experiment, K=K,
                                embedding=args.embedding, method=args.method, store=store, jobs=jobs,
                                scheduler=scheduler, progress=args.progress, n_boot=n_boot, **extra)
    if store is not None:
        report_store(f"{PROG} simulate", store, before=before, total=len(ps) * trials)
    with sweep_errors(store, "trial"):
        prediction = predicted_p_c(args.model, d, m=m, K=K, competitors=competitors, embedding=args.embedding)
    if args.margin:
        return _print_margin(res, d, prediction, args.model, K, args, out)
    n_undecided = res.n_undecided
    if args.json:
        payload = res.to_dict()
        payload.update(model=args.model, competitors=competitors)
        if two_layer:
            payload["m"] = m
        payload.update(p_c_theory=prediction.value, n_undecided=n_undecided)
        payload.update(per_param(args.model, d, res.p50.p50, m))
        print_json(payload, out)
        return EXIT_OK
    if res.lower_bound is not None:
        rows = [{"p": pt["p"], "feasible": pt["n_feasible"], "infeasible": pt["n_infeasible"],
                 "not_found": pt["n_not_found"], "P(feasible) >=": pt["p_lower"], "ci_low": pt["ci_low"],
                 "ci_high": pt["ci_high"]} for pt in res.lower_bound.points]
    else:
        rows = [{"p": pt.p, "feasible": pt.n_feasible, "infeasible": pt.n_infeasible, "undecided": pt.n_undecided,
                 "P(feasible)": pt.p_feasible, "ci_low": pt.ci_low, "ci_high": pt.ci_high} for pt in res.points]
    if args.csv:
        print_csv(rows, tuple(rows[0]), out)
        return EXIT_OK
    what = _WHAT.get(args.model, args.model + " memory").format(m=m)
    print(f"{what}, d = {d}, {trials} trials per p, seed {seed}, embedding {args.embedding}, {competitors} "
          f"competitors" + (f", K = {K}" if K is not None else ", K = p - 1"), file=out)
    print_table(rows, tuple(rows[0]), out)
    fit = res.p50
    rel = ">=" if res.lower_bound is not None else "="
    # only the logistic fit's bootstrap interval is a confidence interval; the isotonic fallback
    # brackets p50 by the grid points around it
    interval = "95% CI" if fit.method == "logistic-mle" else "between grid points"
    print(f"p50 {rel} {fit.p50:.4g}  {interval} [{fit.ci_low:.4g}, {fit.ci_high:.4g}]  ({fit.method}; "
          f"{fit.message})", file=out)
    print(per_param_line(args.model, d, fit.p50, m), file=out)
    print(f"{prediction.label} = {prediction.value:.6g}", file=out)
    print(f"undecided trials: {n_undecided}", file=out)
    for w in res.warnings:
        print(f"warning: {w}", file=out)
    return EXIT_OK


DESCRIPTION = """\
Certified finite-size simulation of the linear associative memory.

Samples instances (inputs, targets and competitors with N(0, I/d) entries or
on the unit sphere), decides each one exactly: feasible (a W whose p K margins
are all re-scored > 0), infeasible (a verified Gordan certificate) or undecided
(reported, never folded).  Prints P(feasible) per p with exact (Clopper-Pearson)
intervals, p50 from a logistic fit with a bootstrap CI, and the theory's p_c
beside it.  Every finished trial is committed to the --store SQLite file at
once: rerunning the same command resumes without repeating or losing trials,
and results do not depend on --jobs or --scheduler (a Dask cluster: local:N
worker processes, or the address of a running scheduler; the store stays with
this process)."""

EPILOG = """\
examples:
  capacity simulate --model decoupled --d 16 --p 50:80:3 --trials 40 --seed 1
  capacity simulate --model coupled --d 12 --p 36,40,44 --trials 20 --jobs 2 --json
  capacity simulate --d 24 --p 120:150:5 --trials 40 --scheduler tcp://10.0.0.5:8786
  capacity simulate --d 16 --p 30 --trials 10 --margin     max-margin kappa_hat vs theory kappa*
  capacity simulate --model hebbian --d 64 --p 150:400:50 --embedding sphere --competitors coupled
  capacity simulate --model two-layer-frozen --d 16 --m 8 --p 30:42:3 --trials 20
  capacity simulate --d 16 --p 50:80:3 --csv > p_feasible.csv
  capacity simulate --d 128 --p 1800 --trials 4 --max-memory 64G --no-progress
  capacity simulate --d 96 --p 1050:1170:30 --trials 8 --method torch --device cuda

At the end of a stored run, stderr says how many trials were reused from --store
and how many were computed now.

exit status: 0 ok, 2 bad input (before any work), 1 trials failed (rerun retries
them) or numerical failure, 141 output pipe closed early."""


def add(subparsers):
    sub = add_subcommand(subparsers, "simulate",
                         help="certified simulation: P(feasible) per p, p50 with CI, theory p_c beside it",
                         description=DESCRIPTION, epilog=EPILOG)
    sub.add_argument("--model", choices=MODELS, default="decoupled",
                     help="decoupled (default) or coupled one-layer memory solved exactly; hebbian (verdict: all "
                          "facts recalled by W = sum y x^T); two-layer-frozen (exact LP in W2, W1 random m x d); "
                          "two-layer (both layers, alternating exact convex solves: certified when found)")
    sub.add_argument("--competitors", choices=("decoupled", "coupled"), default=None,
                     help="competitors for hebbian/two-layer models: fresh (decoupled, default) or the other targets")
    sub.add_argument("--m", action=StoreOnce, metavar="M", help="two-layer hidden width, 1 <= m <= d")
    sub.add_argument("--d", action=StoreOnce, required=True, metavar="D", help="embedding dimension (integer)")
    sub.add_argument("--p", action=StoreListOnce, required=True, metavar="GRID",
                     help="numbers of facts: START:STOP[:STEP] (STOP included) or a comma list")
    sub.add_argument("--trials", action=StoreOnce, metavar="N", help="instances per p, at most 10^6 (default 20)")
    sub.add_argument("--seed", action=StoreOnce, metavar="S", help="base seed (default 0)")
    sub.add_argument("--K", action=StoreOnce, metavar="K", help="decoupled competitors per input (default p - 1)")
    sub.add_argument("--embedding", choices=("gaussian", "sphere"), default="gaussian",
                     help="N(0, I/d) entries (default) or uniform on the unit sphere")
    sub.add_argument("--method", choices=("ldp", "gram", "highs", "torch"), default="ldp",
                     help="working-set engine: Lawson-Hanson LDP/NNLS (default; fastest at d <= 12), "
                          "gram (the same NNLS in Gram form, warm-started; fastest from d = 16 on a CPU), the HiGHS "
                          "LP, or torch (the gram engine in torch on --device; needs pip install torch)")
    add_device_flag(sub)
    add_store_flags(sub, "trial")
    add_executor_flags(sub)
    add_memory_flag(sub)
    add_progress_flag(sub)
    sub.add_argument("--n-boot", action=StoreOnce, metavar="B", help="bootstrap replicates for p50 (default 1000)")
    sub.add_argument("--margin", action="store_true",
                     help="run the max-margin solver instead and report kappa_hat vs theory kappa*")
    output = sub.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print one JSON object (progress stays on stderr)")
    output.add_argument("--csv", action="store_true",
                        help="print the table as CSV (the text table's columns, full precision, NaN empty)")
    sub.set_defaults(run=run)
    return sub
