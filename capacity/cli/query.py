"""``capacity query``: the theory's capacity of a memory, from the command line.

Decoupled one-layer memory (default): p_c(d), d_min(p) or E dist^2 and alpha_c(K)
(docs/theory.md §2); other memories with ``--model``: Hebbian (§5), two-layer (§6),
listwise (§7).  Every printed number is a field of a library result.
"""
import itertools
import sys
from dataclasses import dataclass

from ..exceptions import ConvergenceError
from ._common import (EXIT_NUMERICAL, EXIT_OK, CommandError, StoreListOnce, StoreOnce, add_subcommand, emit,
                      library_message, parse_int, parse_list, parse_number)

MODELS = ("decoupled", "hebbian", "two-layer-frozen", "two-layer", "listwise")

# Per mode of the decoupled model: the JSON keys (a public contract, in this order), the text
# columns and the one-line explanations shown for a single value.
_MODES = {
    "d": {
        "flag": "--d",
        "keys": ("d", "kappa", "p_c", "alpha_c", "p_log_p_over_d2", "p_leading", "K", "n_params",
                 "facts_per_param", "bits_per_param"),
        "columns": ("d", "kappa", "p_c", "alpha_c", "p_log_p_over_d2", "p_leading", "K", "facts_per_param",
                    "bits_per_param"),
        "notes": {
            "d": "embedding dimension (N = d^2 parameters)",
            "kappa": "margin",
            "p_c": "capacity: the p solving p = d^2 alpha_c(p - 1, kappa)",
            "alpha_c": "Gardner load alpha_c(K, kappa) at K = p_c - 1",
            "p_log_p_over_d2": "p_c ln(p_c) / d^2",
            "p_leading": "leading-order asymptotics: the p solving p ln p = d^2 / 2",
            "K": "competitors per input, K = p_c - 1",
            "facts_per_param": "p_c / d^2",
            "bits_per_param": "p_c log2(p_c) / d^2 (each fact picks one of p_c targets; -> 1/(2 ln 2))",
        },
    },
    "p": {
        "flag": "--p",
        "keys": ("p", "kappa", "d_min", "d_c", "K", "alpha_c"),
        "columns": ("p", "kappa", "d_min", "d_c", "K", "alpha_c"),
        "notes": {
            "p": "number of facts to store",
            "kappa": "margin",
            "d_min": "smallest integer d that stores p facts, ceil(d_c)",
            "d_c": "real threshold d_c = sqrt(p / alpha_c(p - 1, kappa))",
            "K": "competitors per input, K = p - 1",
            "alpha_c": "Gardner load alpha_c(K, kappa)",
        },
    },
    "K": {
        "flag": "--K",
        "keys": ("K", "kappa", "expected_dist2", "alpha_c", "abserr", "n_nodes", "success", "status", "message"),
        "columns": ("K", "kappa", "expected_dist2", "alpha_c", "abserr"),
        "notes": {
            "K": "competitors per input",
            "kappa": "margin",
            "expected_dist2": "E dist^2(z, C_kappa), z ~ N(0, I_{K+1})",
            "alpha_c": "Gardner capacity alpha_c = 1 / E dist^2",
            "abserr": "error estimate of E dist^2",
        },
    },
}

# --d with --accuracy A (docs/accuracy.md §1-2): the printed keys, in this order.
_ACCURACY_KEYS = ("d", "accuracy", "kappa", "p", "p_se", "p_c_exact", "alpha", "K", "facts_per_param",
                  "bits_per_param", "n_samples")
_ACCURACY_NOTES = {
    "d": "embedding dimension (N = d^2 parameters)",
    "accuracy": "fraction of facts recalled, A = 1 - epsilon",
    "kappa": "margin",
    "p": "capacity at accuracy A: the p solving p = d^2 alpha(1 - A; p - 1) (replica-symmetric)",
    "p_se": "Monte Carlo standard error of p (0 at A = 1: exact)",
    "p_c_exact": "capacity with every fact recalled, p_c(d) (A = 1)",
    "alpha": "load alpha(epsilon; K, kappa) at K = p - 1",
    "K": "competitors per input, K = p - 1",
    "facts_per_param": "p / d^2",
    "bits_per_param": "p [log2 p - H2(eps) - eps log2(p - 1)] / d^2 (Fano; p log2 p / d^2 at A = 1)",
    "n_samples": "exact dist^2 samples for the tail (0 at A = 1)",
}

# Other memories: each answers --d (listwise also --K); the printed keys, in this order.
_MODEL_KEYS = {
    "hebbian": ("d", "model", "competitors", "embedding", "p_all", "p_typical", "p_all_log_p_over_d2",
                "p_typical_log_p_over_d2", "p_all_asymptotic", "p_typical_asymptotic"),
    "two-layer-frozen": ("d", "m", "kappa", "model", "p_c", "n_params", "alpha_c", "p_log_p_over_d2", "K",
                         "conjecture"),
    "two-layer": ("d", "m", "kappa", "model", "p_c", "n_params", "alpha_c", "p_log_p_over_d2", "K", "conjecture",
                  "p_c_width", "p_c_width_se", "n_eff_width", "n_eff_width_se", "width_method", "hypothesis"),
    "listwise-d": ("d", "k", "r", "kappa", "model", "p_c", "p_c_stderr", "p_log_p_over_d2", "p_over_d2", "n_samples"),
    "listwise-K": ("K", "k", "r", "kappa", "model", "expected_dist2", "stderr", "alpha_c", "n_samples"),
}
_MODEL_NOTES = {
    "p_all": "p at which P(all p facts recalled) = 1/2 (finite-d theory, conditional picture)",
    "p_typical": "p at which a typical fact is recalled with probability 1/2",
    "p_all_log_p_over_d2": "p_all ln(p_all) / d^2  (-> 1/8)",
    "p_typical_log_p_over_d2": "p_typical ln(p_typical) / d^2  (-> 1/2)",
    "p_all_asymptotic": "the p solving p ln p = d^2 / 8",
    "p_typical_asymptotic": "the p solving p ln p = d^2 / 2",
    "m": "hidden width",
    "n_params": "N in p = N alpha_c(p - 1, kappa)",
    "conjecture": "true: p_c, n_params, alpha_c, K use N = 2dm - m^2, the parameter-count conjecture for both "
                  "layers trained, which certified simulations refute for 2 <= m < d (docs/theory.md §6)",
    "p_c_width": "Gaussian-width hypothesis (under test): the p solving p = N_eff alpha_c(p - 1, kappa)",
    "p_c_width_se": "Monte Carlo standard error of p_c_width (0 when N_eff is exact or the limit)",
    "n_eff_width": "N_eff = E sum_{i<=m} sigma_i(G)^2, G a d x d Gaussian (squared Gaussian width of rank-m matrices)",
    "n_eff_width_se": "Monte Carlo standard error of n_eff_width",
    "width_method": "how N_eff was computed: exact (m >= d), monte-carlo (d <= 256), quarter-circle limit (d > 256)",
    "hypothesis": "true: p_c_width rests on the Gaussian-width hypothesis (m < d); false: the one-layer theory",
    "p_c": "capacity: the p solving p = N alpha_c(p - 1, kappa)",
    "alpha_c": "alpha_c(K, kappa) at K = p_c - 1",
    "p_log_p_over_d2": "p_c ln(p_c) / d^2",
    "p_over_d2": "p_c / d^2",
    "p_c_stderr": "Monte Carlo standard error of p_c (common random numbers)",
    "expected_dist2": "E dist^2(z, C_{kappa,k}) (Monte Carlo, exact projection)",
    "stderr": "Monte Carlo standard error",
    "k": "tail size: h_0 - mean(top-k competitors) >= kappa (at p_c for --r)",
    "r": "tail fraction, k = ceil(r K) (n/a when --k is given)",
    "n_samples": "Monte Carlo samples",
}


@dataclass(frozen=True)
class _ModelOptions:
    """The model-specific flags, parsed: hidden widths, listwise tail size or fraction, Hebbian picture."""

    m_values: tuple = ()
    k: int = None
    r: float = None
    competitors: str = "decoupled"
    embedding: str = "gaussian"


def _accuracy_row(theory, x, kappa, accuracy):
    """One row of --d with --accuracy (docs/accuracy.md §1)."""
    from ..theory import accuracy as acc

    res = acc.solve_p_c_accuracy(x, accuracy=accuracy, kappa=kappa)
    return [{"d": x, "accuracy": accuracy, "kappa": kappa, "p": res.p_c, "p_se": res.p_c_se,
             "p_c_exact": theory.p_c(x, kappa=kappa), "alpha": res.alpha, "K": res.K,
             "facts_per_param": res.facts_per_param, "bits_per_param": res.bits_per_param,
             "n_samples": res.n_samples}]


def _decoupled_row(theory, mode, x, kappa):
    """One decoupled-model row: the picked fields of the library's result."""
    if mode == "d":
        from ..theory.accuracy import bits_per_param, facts_per_param

        res = theory.solve_p_c(x, kappa=kappa)
        fields = res.to_dict()
        fields["facts_per_param"] = facts_per_param(res.p_c, res.n_params)
        fields["bits_per_param"] = bits_per_param(res.p_c, res.n_params)
        return [{k: fields[k] for k in _MODES[mode]["keys"]}]
    elif mode == "p":
        res = theory.solve_d_min(x, kappa=kappa)
    else:
        res = theory.solve_dist2(x, kappa=kappa)
        if not res.success:
            raise ConvergenceError(
                f"E dist^2 at K={res.K!r}, kappa={res.kappa!r}: {res.message} (abserr={res.abserr:.3g})"
            )
    fields = res.to_dict()
    return [{k: fields[k] for k in _MODES[mode]["keys"]}]


def _hebbian_rows(x, kappa, opts):
    from ..theory import hebbian

    if kappa != 0:
        raise CommandError("--kappa is not defined for --model hebbian (recall means margin > 0); omit it")
    res = hebbian.hebbian_capacity(x, model=opts.competitors, embedding=opts.embedding).to_dict()
    res["competitors"] = res.pop("model")
    return [dict(res, model="hebbian")]


def _two_layer_rows(model, x, kappa, opts):
    from ..theory import two_layer

    rows = []
    for m in opts.m_values:
        res = two_layer.p_c_two_layer(x, m, trained=model == "two-layer", kappa=kappa).to_dict()
        if model == "two-layer":
            w = two_layer.p_c_two_layer_width(x, m, kappa=kappa)
            res.update(p_c_width=w.p_c, p_c_width_se=w.p_c_se, n_eff_width=w.n_eff, n_eff_width_se=w.n_eff_se,
                       width_method=w.n_eff_method, hypothesis=w.hypothesis)
        rows.append(dict(res, d=x, m=m, kappa=kappa, model=model))  # the values as given, ints stay ints
    return rows


def _listwise_rows(mode, x, kappa, opts):
    from ..theory import listwise

    r = float("nan") if opts.r is None else opts.r
    if mode == "K":
        k = opts.k if opts.k is not None else listwise.ratio_k(x, opts.r)
        res = listwise.listwise_dist2(x, k, kappa=kappa)
        return [{"K": x, "k": k, "r": r, "kappa": kappa, "model": "listwise", "expected_dist2": res.value,
                 "stderr": res.stderr, "alpha_c": res.alpha_c, "n_samples": res.n_samples}]
    res = listwise.listwise_p_c(x, opts.k, r=opts.r, kappa=kappa)
    return [{"d": x, "k": res.k, "r": r, "kappa": kappa, "model": "listwise", "p_c": res.value,
             "p_c_stderr": res.stderr, "p_log_p_over_d2": res.p_log_p_over_d2, "p_over_d2": res.p_over_d2,
             "n_samples": res.n_samples}]


_LOW = {"d": (1, None), "p": (2, None), "K": (1, None)}


def _check_range(flag, values, text, low, high):
    for x in values:
        if x < low or (high is not None and x > high):
            rng = f"finite and >= {low}" + ("" if high is None else f" and <= {high}")
            where = f" in {text!r}" if len(values) > 1 else ""
            raise CommandError(f"{flag} must be {rng}; got {x}{where}")


def _model_options(args, mode):
    """Check which flags the chosen --model takes and parse them; the key of its printed columns."""
    model = args.model
    if model == "decoupled":
        for flag, v, models in (("--m", args.m, "two-layer-frozen or two-layer"), ("--k", args.k, "listwise"),
                                ("--r", args.r, "listwise")):
            if v is not None:
                raise CommandError(f"{flag} applies to --model {models} only; got --model decoupled")
        return None, _ModelOptions()
    if model == "listwise":
        if mode == "p":
            raise CommandError("--model listwise answers --d or --K, not --p")
        if (args.k is None) == (args.r is None):
            raise CommandError("--model listwise needs exactly one of --k (tail size, an integer >= 1) "
                               "or --r (tail fraction in (0, 1])")
        key = f"listwise-{mode}"
    else:
        if mode != "d":
            raise CommandError(f"--model {model} answers --d only; got --{mode}")
        key = model
    m_values = ()
    if model in ("two-layer-frozen", "two-layer"):
        if args.m is None:
            raise CommandError(f"--model {model} needs --m (hidden width, an integer >= 1)")
        m_values = tuple(parse_int("--m", t, 1) for t in args.m.split(","))
    elif args.m is not None:
        raise CommandError(f"--m applies to the two-layer models only; got --model {model}")
    if model != "listwise":
        for flag, v in (("--k", args.k), ("--r", args.r)):
            if v is not None:
                raise CommandError(f"{flag} applies to --model listwise only; got --model {model}")
    k = None if args.k is None else parse_int("--k", args.k, 1)
    r = None if args.r is None else parse_number("--r", args.r.strip(), args.r)
    return key, _ModelOptions(m_values=m_values, k=k, r=r, competitors=args.competitors, embedding=args.embedding)


def run(args, out=None):
    out = sys.stdout if out is None else out
    mode = next(m for m in _MODES if getattr(args, m) is not None)
    values = parse_list(_MODES[mode]["flag"], getattr(args, mode))
    kappas = parse_list("--kappa", args.kappa) if args.kappa is not None else [0]
    # the ranges every model shares, checked for the whole list before the first value is computed
    # (the library checks again, with its upper limits)
    _check_range(_MODES[mode]["flag"], values, getattr(args, mode), *_LOW[mode])
    _check_range("--kappa", kappas, args.kappa, 0, 50)
    key, opts = _model_options(args, mode)
    accuracies = None
    if args.accuracy is not None:
        if args.model != "decoupled" or mode != "d":
            raise CommandError(f"--accuracy applies to --d of the decoupled model only; got "
                               f"{'--model ' + args.model if args.model != 'decoupled' else '--' + mode}")
        accuracies = parse_list("--accuracy", args.accuracy)
        for a in accuracies:
            if not 0 < a <= 1:
                raise CommandError(f"--accuracy must be in (0, 1]; got {a}")

    from .. import theory  # heavy (Numba); imported only when there is work to do

    rows = []
    try:
        for kappa, x in itertools.product(kappas, values):
            if accuracies is not None:
                for a in accuracies:
                    rows += _accuracy_row(theory, x, kappa, a)
            elif args.model == "decoupled":
                rows += _decoupled_row(theory, mode, x, kappa)
            elif args.model == "hebbian":
                rows += _hebbian_rows(x, kappa, opts)
            elif args.model == "listwise":
                rows += _listwise_rows(mode, x, kappa, opts)
            else:
                rows += _two_layer_rows(args.model, x, kappa, opts)
    except (ValueError, TypeError) as exc:
        raise CommandError(library_message(exc)) from None
    except ConvergenceError as exc:
        raise CommandError(f"numerical failure: {library_message(exc)}", EXIT_NUMERICAL) from None
    if accuracies is not None:
        emit(rows, columns=_ACCURACY_KEYS, notes=_ACCURACY_NOTES, as_json=args.json, as_csv=args.csv, out=out)
    elif key is None:
        spec = _MODES[mode]
        emit(rows, columns=spec["columns"], notes=spec["notes"], as_json=args.json, as_csv=args.csv, out=out)
    else:
        keys = _MODEL_KEYS[key]
        emit([{k: r[k] for k in keys} for r in rows], columns=keys, notes=_MODEL_NOTES, as_json=args.json,
             as_csv=args.csv, out=out)
    return EXIT_OK


DESCRIPTION = """\
Exact Gardner (replica) capacity of the decoupled linear associative memory,
at finite K.

A d x d memory (N = d^2 parameters) storing p facts must separate each correct
output from K = p - 1 competitors with margin kappa.  Gardner's computation gives
the critical load alpha_c(K, kappa) = 1 / E dist^2(z, C_kappa), z ~ N(0, I_{K+1}),
and the capacity p_c is the p solving  p = d^2 alpha_c(p - 1, kappa).

Give exactly one of
  --d D   capacity p_c at dimension d (with alpha_c, p_c ln(p_c)/d^2, the
          leading-order asymptotic p, and the K = p_c - 1 used);
  --p P   smallest dimension d_min storing p facts (and the real threshold d_c);
  --K K   E dist^2 and alpha_c(K, kappa) (with the solver's error estimate).
Each takes one number or a comma-separated list; --kappa may be a list too, and
lists give one table row per (kappa, value) pair.

Other memories (--model, with --d; listwise also --K):
  hebbian           correlation matrix W = sum y x^T: the p at which all facts
                    (resp. a typical fact) are recalled with probability 1/2,
                    finite-d theory (--competitors, --embedding);
  two-layer-frozen  W2 W1 x with W1 random m x d: N = d min(m, d) in
                    the law above;
  two-layer         both layers trained (d^2 for m >= d).  For m < d two
                    values: p_c_width, the Gaussian-width hypothesis (under
                    test, hypothesis=true), N_eff = E sum_{i<=m} sigma_i(G)^2
                    (Monte Carlo with its standard error for d <= 256, the
                    quarter-circle limit beyond; d and m integers when
                    d <= 256): close to the certified trained lower bounds at
                    m/d >= 1/4, too high at rank one (exact verdicts); and p_c,
                    the parameter-count conjecture N = 2dm - m^2 (flagged
                    conjecture=true), which the lower bounds exceed at m >= 2;
  listwise          margin over the mean of the top k competitors (--k, or
                    --r for k = ceil(r K)): Monte Carlo with the exact
                    projection, with its standard error."""

EPILOG = """\
examples:
  capacity query --d 100                  p_c for a 100 x 100 memory
  capacity query --d 8,16,32,64 --kappa 0,0.5
  capacity query --p 10000                smallest d storing 10^4 facts
  capacity query --K 1000 --kappa 1 --json
  capacity query --d 64 --model hebbian --embedding sphere --competitors coupled
  capacity query --d 24 --model two-layer-frozen --m 6,12,18,24
  capacity query --d 16 --model two-layer --m 4,8,12 --json
  capacity query --d 32 --model listwise --k 5
  capacity query --d 64 --model listwise --r 0.1
  capacity query --d 8,16,32,64 --csv > p_c.csv
  capacity query --d 100 --accuracy 0.99,0.9      capacity at 99 % and 90 % recall

exit status: 0 ok, 2 bad input, 1 numerical failure, 141 output pipe closed
early (e.g. '| head')."""


def add(subparsers):
    sub = add_subcommand(subparsers, "query", help="capacity p_c(d), smallest dimension d_min(p), or alpha_c(K)",
                         description=DESCRIPTION, epilog=EPILOG)
    mode = sub.add_mutually_exclusive_group(required=True)
    mode.add_argument("--d", action=StoreListOnce, metavar="D", help="embedding dimension(s), d >= 1")
    mode.add_argument("--p", action=StoreListOnce, metavar="P", help="number(s) of facts, p >= 2")
    mode.add_argument("--K", action=StoreListOnce, metavar="K", help="number(s) of competitors, K >= 1")
    sub.add_argument("--kappa", action=StoreListOnce, metavar="KAPPA", help="margin(s), 0 <= kappa <= 50 (default: 0)")
    sub.add_argument("--model", choices=MODELS, default="decoupled",
                     help="memory: decoupled one-layer (default), hebbian (correlation matrix), two-layer-frozen "
                          "(random W1, N = d min(m, d)), two-layer (both trained: the Gaussian-width hypothesis "
                          "N_eff = E sum of the top m squared singular values of a d x d Gaussian, under test, "
                          "beside the parameter-count conjecture N = 2dm - m^2, which certified simulations refute "
                          "at m >= 2), listwise "
                          "(tail-average margin over the top k competitors)")
    sub.add_argument("--accuracy", action=StoreListOnce, metavar="A",
                     help="with --d: capacity at which a fraction A of the facts is recalled, 0 < A <= 1 "
                          "(replica-symmetric, Monte Carlo tail with its standard error; docs/accuracy.md)")
    sub.add_argument("--m", action=StoreListOnce, metavar="M", help="two-layer hidden width(s), m >= 1")
    sub.add_argument("--k", action=StoreOnce, metavar="k", help="listwise tail size, 1 <= k <= K")
    sub.add_argument("--r", action=StoreOnce, metavar="R", help="listwise tail fraction, k = ceil(r K), 0 < r <= 1")
    sub.add_argument("--competitors", choices=("decoupled", "coupled"), default="decoupled",
                     help="hebbian: fresh competitors (decoupled, default) or the other targets (coupled)")
    sub.add_argument("--embedding", choices=("gaussian", "sphere"), default="gaussian",
                     help="hebbian: N(0, I/d) (default) or unit-sphere embeddings")
    output = sub.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true",
                        help="print JSON: one object for a single value, a list for several (NaN as null)")
    output.add_argument("--csv", action="store_true",
                        help="print CSV: a header and one row per value, the text table's columns (NaN empty)")
    sub.set_defaults(run=run)
    return sub
