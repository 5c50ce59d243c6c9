"""The ``capacity`` command: parse -> call the library -> print (or ``--json``).

No numerics live here.  Each subcommand is one ``_add_<name>(subparsers)``
function that builds its parser and sets ``run`` to a handler taking the parsed
arguments and returning an exit status; new subcommands (``simulate``,
``figures``, ``train``) are added the same way.

Exit status: 0 success; 2 bad input (argparse's usage errors, values we cannot
parse, and the library's ``ValueError``/``TypeError``); 1 numerical failure
(:class:`~capacity.exceptions.ConvergenceError` or a result with
``success=False``).  Every error is one line on stderr,
``capacity <sub>: error: <message>``, with the library's backtick argument
names (`` `kappa` ``) replaced by the command-line flags (``--kappa``).
"""
import argparse
import itertools
import json
import math
import re
import sys

from . import __version__
from .exceptions import ConvergenceError

__all__ = ["main"]

PROG = "capacity"
QUERY_MODELS = ("decoupled", "hebbian", "two-layer-frozen", "two-layer", "listwise")

EXIT_OK = 0
EXIT_NUMERICAL = 1
EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line: ``<prog>: error: <message> (see <prog> --help)``."""

    def error(self, message):
        message = " ".join(str(message).split())
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


class _CommandError(Exception):
    """A failure reported as one line on stderr; carries the exit status (2 bad input, 1 numerics)."""

    def __init__(self, message, status=EXIT_USAGE):
        super().__init__(message)
        self.status = status


class _StoreOnce(argparse.Action):
    """Store the raw string; a flag given twice is an error (lists are comma-separated)."""

    def __call__(self, parser, namespace, values, option_string=None):
        if getattr(namespace, self.dest, None) is not None:
            parser.error(
                f"{option_string} given more than once; pass several values as one "
                f"comma-separated list ({option_string} A,B,C)"
            )
        setattr(namespace, self.dest, values)


# --------------------------------------------------------------------------- parsing


def _parse_number(flag, item, text):
    """One number from the command line: an int if it is written as one, else a float.

    NaN and infinities (including integers too large for a float) are rejected
    here; ranges are the library's business.
    """
    where = f" in {text!r}" if item != text else ""
    try:
        x = float(item)
    except ValueError:
        raise _CommandError(f"{flag} must be a number; got {item!r}{where}") from None
    if not math.isfinite(x):
        raise _CommandError(f"{flag} must be finite; got {item!r}{where}")
    try:
        return int(item)
    except ValueError:
        return x


def _parse_list(flag, text):
    """A comma-separated list of numbers (one or more)."""
    items = text.split(",")
    for i, item in enumerate(items, start=1):
        if not item.strip():
            if len(items) == 1:
                raise _CommandError(f"{flag} must be a number or a comma-separated list of numbers; got {text!r}")
            raise _CommandError(
                f"{flag} must be a comma-separated list of numbers; item {i} of {text!r} is empty"
            )
    return [_parse_number(flag, item.strip(), text) for item in items]


_FLAG_NAMES = {"d": "--d", "p": "--p", "K": "--K", "kappa": "--kappa", "model": "--model", "m": "--m", "k": "--k", "r": "--r",
               "embedding": "--embedding", "seed": "--seed", "trial": "--trials", "method": "--method"}


def _library_message(exc):
    """The library's one-line message with `name` turned into the matching flag."""
    message = re.sub(r"`(\w+)`", lambda m: _FLAG_NAMES.get(m.group(1), m.group(0)), str(exc))
    return " ".join(message.split())


# --------------------------------------------------------------------------- output


def _json_value(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _text_value(name, v):
    if isinstance(v, (bool, int, str)):
        return str(v)
    if not math.isfinite(v):
        return "n/a"
    if name == "abserr":
        return f"{v:.2e}"
    return f"{v:.10g}"


def _print_block(rows, notes, columns, out):
    """One result as aligned ``name = value   note`` lines."""
    row = rows[0]
    values = [_text_value(c, row[c]) for c in columns]
    wn = max(len(c) for c in columns)
    wv = max(len(v) for v in values)
    for c, v in zip(columns, values):
        line = f"{c:<{wn}} = {v:<{wv}}"
        if notes.get(c):
            line += f"   {notes[c]}"
        print(line.rstrip(), file=out)


def _print_table(rows, columns, out):
    """Several results as an aligned table, one row per result, numbers right-aligned."""
    cells = [[_text_value(c, row[c]) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[j]) for r in cells)) for j, c in enumerate(columns)]
    print("  ".join(f"{c:>{w}}" for c, w in zip(columns, widths)), file=out)
    for r in cells:
        print("  ".join(f"{v:>{w}}" for v, w in zip(r, widths)), file=out)


def _emit(rows, *, columns, notes, as_json, several, out):
    if as_json:
        clean = [{k: _json_value(v) for k, v in row.items()} for row in rows]
        payload = clean if several else clean[0]
        print(json.dumps(payload, indent=2, allow_nan=False), file=out)
    elif several:
        _print_table(rows, columns, out)
    else:
        _print_block(rows, notes, columns, out)


# --------------------------------------------------------------------------- query

# Per mode: the JSON keys (a public contract, in this order), the text columns
# and the one-line explanations shown for a single value.
_QUERY_MODES = {
    "d": {
        "flag": "--d",
        "keys": (
            "d", "kappa", "p_c", "alpha_c", "p_log_p_over_d2", "p_leading", "K",
            "n_params", "success", "status", "message",
        ),
        "columns": ("d", "kappa", "p_c", "alpha_c", "p_log_p_over_d2", "p_leading", "K"),
        "notes": {
            "d": "embedding dimension (N = d^2 parameters)",
            "kappa": "margin",
            "p_c": "capacity: the p solving p = d^2 alpha_c(p - 1, kappa)",
            "alpha_c": "Gardner load alpha_c(K, kappa) at K = p_c - 1",
            "p_log_p_over_d2": "p_c ln(p_c) / d^2",
            "p_leading": "leading-order asymptotics: the p solving p ln p = d^2 / 2",
            "K": "competitors per input, K = p_c - 1",
        },
    },
    "p": {
        "flag": "--p",
        "keys": ("p", "kappa", "d_min", "d_c", "K", "alpha_c", "success", "status", "message"),
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


def _query_one(theory, mode, x, kappa):
    """Call the library for one (value, kappa) and return the picked fields."""
    if mode == "d":
        res = theory.solve_p_c(x, kappa=kappa)
    elif mode == "p":
        res = theory.solve_d_min(x, kappa=kappa)
    else:
        res = theory.solve_dist2(x, kappa=kappa)
        if not res.success:
            raise ConvergenceError(
                f"E dist^2 at K={res.K!r}, kappa={res.kappa!r}: {res.message} (abserr={res.abserr:.3g})"
            )
    fields = res.to_dict()
    return {k: fields[k] for k in _QUERY_MODES[mode]["keys"]}


def _run_query(args, out=None):
    out = sys.stdout if out is None else out
    mode = next(m for m in _QUERY_MODES if getattr(args, m) is not None)
    spec = _QUERY_MODES[mode]
    values = _parse_list(spec["flag"], getattr(args, mode))
    kappas = _parse_list("--kappa", args.kappa) if args.kappa is not None else [0]
    if args.model != "decoupled":
        return _run_query_model(args, mode, values, kappas, out)
    for flag, v, models in (("--m", args.m, "two-layer-frozen or two-layer"), ("--k", args.k, "listwise"),
                            ("--r", args.r, "listwise")):
        if v is not None:
            raise _CommandError(f"{flag} applies to --model {models} only; got --model decoupled")

    from . import theory  # heavy (Numba); imported only when there is work to do

    rows = []
    try:
        for kappa, x in itertools.product(kappas, values):
            rows.append(_query_one(theory, mode, x, kappa))
    except (ValueError, TypeError) as exc:
        raise _CommandError(_library_message(exc)) from None
    except ConvergenceError as exc:
        raise _CommandError(f"numerical failure: {_library_message(exc)}", EXIT_NUMERICAL) from None
    _emit(
        rows,
        columns=spec["columns"],
        notes=spec["notes"],
        as_json=args.json,
        several=len(rows) > 1,
        out=out,
    )
    return EXIT_OK


# Other memories (issue 4): each answers --d (and listwise also --K); rows are dicts with these keys.
_MODEL_KEYS = {
    "hebbian": ("d", "model", "competitors", "embedding", "p_all", "p_typical", "p_all_log_p_over_d2",
                "p_typical_log_p_over_d2", "p_all_asymptotic", "p_typical_asymptotic"),
    "two-layer-frozen": ("d", "m", "kappa", "model", "p_c", "n_params", "alpha_c", "p_log_p_over_d2", "K",
                         "conjecture"),
    "two-layer": ("d", "m", "kappa", "model", "p_c", "n_params", "alpha_c", "p_log_p_over_d2", "K", "conjecture"),
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
    "conjecture": "true: N = 2dm - m^2 is the working conjecture for both layers trained (spec §6), untested here",
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


def _query_model_row(model, mode, x, kappa, args):
    """One row for a memory other than the decoupled one-layer model (lazy imports)."""
    if model == "hebbian":
        from .theory import hebbian

        if kappa != 0:
            raise _CommandError("--kappa is not defined for --model hebbian (recall means margin > 0); omit it")
        kw = {"model": args.competitors, "embedding": args.embedding}
        pa = hebbian.hebbian_p_c(x, criterion="all", **kw)
        pt = hebbian.hebbian_p_c(x, criterion="typical", **kw)
        return {"d": x, "model": model, "competitors": args.competitors, "embedding": args.embedding,
                "p_all": pa, "p_typical": pt, "p_all_log_p_over_d2": pa * math.log(pa) / x**2,
                "p_typical_log_p_over_d2": pt * math.log(pt) / x**2,
                "p_all_asymptotic": hebbian.hebbian_p_c_asymptotic(x, criterion="all"),
                "p_typical_asymptotic": hebbian.hebbian_p_c_asymptotic(x, criterion="typical")}
    if model in ("two-layer-frozen", "two-layer"):
        from .theory import two_layer

        trained = model == "two-layer"
        rows = []
        for m in args._m_values:
            res = two_layer.p_c_two_layer(x, m, trained=trained, kappa=kappa)
            rows.append({"d": x, "m": m, "kappa": kappa, "model": model, "p_c": res.p_c,
                         "n_params": two_layer.n_params_two_layer(x, m, trained=trained), "alpha_c": res.alpha_c,
                         "p_log_p_over_d2": res.p_c * math.log(res.p_c) / x**2, "K": res.K,
                         "conjecture": bool(trained and m < x)})
        return rows
    from .theory import listwise

    if mode == "K":
        k = args._k if args._k is not None else listwise.ratio_k(x, args._r)
        r = listwise.listwise_dist2(x, k, kappa=kappa)
        _check_success(r)
        return {"K": x, "k": k, "r": _nan_if_none(args._r), "kappa": kappa, "model": model, "expected_dist2": r.value,
                "stderr": r.stderr, "alpha_c": r.alpha_c, "n_samples": r.n_samples}
    r = listwise.listwise_p_c(x, args._k, r=args._r, kappa=kappa)
    _check_success(r)
    return {"d": x, "k": r.k, "r": _nan_if_none(args._r), "kappa": kappa, "model": model, "p_c": r.value, "p_c_stderr": r.stderr,
            "p_log_p_over_d2": r.value * math.log(r.value) / x**2, "p_over_d2": r.value / x**2,
            "n_samples": r.n_samples}


def _nan_if_none(v):
    return float("nan") if v is None else v


def _check_success(res):
    if not res.success:
        raise ConvergenceError(res.message)


def _run_query_model(args, mode, values, kappas, out):
    model = args.model
    if model == "listwise":
        if mode == "p":
            raise _CommandError("--model listwise answers --d or --K, not --p")
        if (args.k is None) == (args.r is None):
            raise _CommandError("--model listwise needs exactly one of --k (tail size, an integer >= 1) "
                                "or --r (tail fraction in (0, 1])")
        key = f"listwise-{mode}"
    else:
        if mode != "d":
            raise _CommandError(f"--model {model} answers --d only; got --{mode}")
        key = model
    if model in ("two-layer-frozen", "two-layer"):
        if args.m is None:
            raise _CommandError(f"--model {model} needs --m (hidden width, an integer >= 1)")
        args._m_values = [_parse_int("--m", t, 1) for t in args.m.split(",")]
    elif args.m is not None:
        raise _CommandError(f"--m applies to the two-layer models only; got --model {model}")
    if model == "listwise":
        args._k = None if args.k is None else _parse_int("--k", args.k, 1)
        args._r = None if args.r is None else _parse_number("--r", args.r.strip(), args.r)
    else:
        for flag, v in (("--k", args.k), ("--r", args.r)):
            if v is not None:
                raise _CommandError(f"{flag} applies to --model listwise only; got --model {model}")
    rows = []
    try:
        for kappa, x in itertools.product(kappas, values):
            r = _query_model_row(model, mode, x, kappa, args)
            rows.extend(r if isinstance(r, list) else [r])
    except (ValueError, TypeError) as exc:
        raise _CommandError(_library_message(exc)) from None
    except ConvergenceError as exc:
        raise _CommandError(f"numerical failure: {_library_message(exc)}", EXIT_NUMERICAL) from None
    keys = _MODEL_KEYS[key]
    rows = [{k: r[k] for k in keys} for r in rows]
    _emit(rows, columns=keys, notes=_MODEL_NOTES, as_json=args.json, several=len(rows) > 1, out=out)
    return EXIT_OK


_QUERY_DESCRIPTION = """\
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
                    finite-d Gaussian theory (--competitors, --embedding);
  two-layer-frozen  W2 W1 x with W1 random m x d: N = d m in the law above;
  two-layer         both layers trained: the working conjecture N = 2dm - m^2
                    (m < d; flagged conjecture=true), d^2 for m >= d;
  listwise          margin over the mean of the top k competitors (--k, or
                    --r for k = ceil(r K)): Monte Carlo with the exact
                    projection, with its standard error."""

_QUERY_EPILOG = """\
examples:
  capacity query --d 100                  p_c for a 100 x 100 memory
  capacity query --d 8,16,32,64 --kappa 0,0.5
  capacity query --p 10000                smallest d storing 10^4 facts
  capacity query --K 1000 --kappa 1 --json
  capacity query --d 64 --model hebbian --embedding sphere --competitors coupled
  capacity query --d 24 --model two-layer-frozen --m 6,12,18,24
  capacity query --d 32 --model listwise --k 5
  capacity query --d 64 --model listwise --r 0.1

exit status: 0 ok, 2 bad input, 1 numerical failure."""


def _add_query(subparsers):
    sub = subparsers.add_parser(
        "query",
        help="capacity p_c(d), smallest dimension d_min(p), or alpha_c(K)",
        description=_QUERY_DESCRIPTION,
        epilog=_QUERY_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    mode = sub.add_mutually_exclusive_group(required=True)
    mode.add_argument("--d", action=_StoreOnce, metavar="D", help="embedding dimension(s), d >= 1")
    mode.add_argument("--p", action=_StoreOnce, metavar="P", help="number(s) of facts, p >= 2")
    mode.add_argument("--K", action=_StoreOnce, metavar="K", help="number(s) of competitors, K >= 1")
    sub.add_argument(
        "--kappa", action=_StoreOnce, metavar="KAPPA", help="margin(s), 0 <= kappa <= 50 (default: 0)"
    )
    sub.add_argument("--model", choices=QUERY_MODELS, default="decoupled",
                     help="memory: decoupled one-layer (default), hebbian (correlation matrix), two-layer-frozen "
                          "(random W1, N = dm), two-layer (both trained, conjecture N = 2dm - m^2), listwise "
                          "(tail-average margin over the top k competitors)")
    sub.add_argument("--m", action=_StoreOnce, metavar="M", help="two-layer hidden width(s), m >= 1")
    sub.add_argument("--k", action=_StoreOnce, metavar="k", help="listwise tail size, 1 <= k <= K")
    sub.add_argument("--r", action=_StoreOnce, metavar="R", help="listwise tail fraction, k = ceil(r K), 0 < r <= 1")
    sub.add_argument("--competitors", choices=("decoupled", "coupled"), default="decoupled",
                     help="hebbian: fresh competitors (decoupled, default) or the other targets (coupled)")
    sub.add_argument("--embedding", choices=("gaussian", "sphere"), default="gaussian",
                     help="hebbian: N(0, I/d) (default) or unit-sphere embeddings")
    sub.add_argument(
        "--json",
        action="store_true",
        help="print JSON: one object for a single value, a list for several (NaN as null)",
    )
    sub.set_defaults(run=_run_query)
    return sub


# --------------------------------------------------------------------------- simulate


def _parse_int(flag, text, low, high=None):
    x = _parse_number(flag, text.strip(), text)
    if not isinstance(x, int) and not (isinstance(x, float) and x.is_integer()):
        raise _CommandError(f"{flag} must be an integer; got {text!r}")
    x = int(x)
    if x < low or (high is not None and x > high):
        rng = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise _CommandError(f"{flag} must be an integer {rng}; got {text!r}")
    return x


def _parse_grid(flag, text):
    """'50:80:3' (start:stop:step, stop included when on the grid) or a comma list of integers."""
    if ":" in text:
        parts = text.split(":")
        if len(parts) not in (2, 3):
            raise _CommandError(f"{flag} must be START:STOP[:STEP] or a comma-separated list; got {text!r}")
        start, stop = (_parse_int(flag, t, 2) for t in parts[:2])
        step = _parse_int(flag, parts[2], 1) if len(parts) == 3 else 1
        if stop < start:
            raise _CommandError(f"{flag} range must have STOP >= START; got {text!r}")
        values = list(range(start, stop + 1, step))
    else:
        values = [_parse_int(flag, t, 2) for t in text.split(",")] if text.strip() else []
    if not values:
        raise _CommandError(f"{flag} must list at least one p; got {text!r}")
    if len(set(values)) != len(values):
        raise _CommandError(f"{flag} lists a value twice; got {text!r}")
    return values


SIMULATE_MODELS = ("decoupled", "coupled", "hebbian", "two-layer-frozen", "two-layer")


def _simulate_theory(args, d, K):
    """The theory value printed beside the estimate (never fed back): (value, label)."""
    from . import theory

    nan = float("nan")
    if K is not None:
        return nan, "theory: n/a for K != p - 1"
    if args.model == "hebbian":
        from .theory import hebbian

        return (hebbian.hebbian_p_c(d, criterion="all", model=args._competitors, embedding=args.embedding),
                f"theory p at P(all recalled) = 1/2 (Hebbian, {args._competitors} competitors, {args.embedding}, finite-d)")
    if args.model in ("two-layer-frozen", "two-layer"):
        from .theory import two_layer

        trained = args.model == "two-layer"
        res = two_layer.p_c_two_layer(d, args._m, trained=trained)
        what = "conjecture N = 2dm - m^2" if trained and args._m < d else f"N = {'d^2' if trained else 'dm'}"
        return res.p_c, f"theory p_c ({what}, decoupled (T3))"
    if d * d < 2 * theory.expected_dist2(1):
        return nan, "theory: n/a"
    return theory.p_c(d), "theory p_c (decoupled, spec (T3))"


def _run_simulate(args, out=None):
    out = sys.stdout if out is None else out
    d = _parse_int("--d", args.d, 1, 4096)
    ps = _parse_grid("--p", args.p)
    trials = _parse_int("--trials", args.trials or "20", 1)
    seed = _parse_int("--seed", args.seed or "0", 0)
    jobs = _parse_int("--jobs", args.jobs or "1", 1, 256)
    n_boot = _parse_int("--n-boot", args.n_boot or "1000", 0)
    K = None if args.K is None else _parse_int("--K", args.K, 1)
    two_layer = args.model in ("two-layer-frozen", "two-layer")
    if args.model in ("decoupled", "coupled"):
        if args.competitors is not None:
            raise _CommandError(f"--competitors applies to hebbian and two-layer models; got --model {args.model}")
        instance_model, experiment = args.model, ("margin" if args.margin else "feasibility")
    else:
        if args.margin:
            raise _CommandError(f"--margin applies to --model decoupled or coupled; got --model {args.model}")
        instance_model, experiment = args.competitors or "decoupled", args.model
    args._competitors = instance_model
    if two_layer:
        if args.m is None:
            raise _CommandError(f"--model {args.model} needs --m (hidden width, 1 <= m <= d)")
        args._m = _parse_int("--m", args.m, 1, d)
    elif args.m is not None:
        raise _CommandError(f"--m applies to --model two-layer-frozen or two-layer; got --model {args.model}")
    if instance_model == "coupled" and K is not None:
        raise _CommandError("--K is fixed to p - 1 in the coupled model; omit it")
    store = None if args.no_store else args.store

    import warnings

    from .sweeps.capacity_sweep import simulate_capacity
    from .sweeps.runner import SweepError

    extra = {"m": args._m} if two_layer else {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = simulate_capacity(instance_model, d, ps, trials=trials, seed=seed, experiment=experiment, K=K,
                                    embedding=args.embedding, method=args.method, store=store, jobs=jobs,
                                    progress=None if not args.json else False, n_boot=n_boot, **extra)
    except (ValueError, TypeError) as exc:
        raise _CommandError(_library_message(exc)) from None
    except SweepError as exc:
        raise _CommandError(f"{len(exc.failures)} trial(s) failed; rerun to retry them: "
                            f"{_library_message(exc)}", EXIT_NUMERICAL) from None
    except OSError as exc:
        raise _CommandError(f"--store: cannot use {store!r}: {exc}") from None

    from . import theory

    if args.margin:
        pc = _simulate_theory(args, d, K)[0]
        return _emit_margin(res, d, pc, theory, args, out)
    try:
        pc, label = _simulate_theory(args, d, K)
    except ValueError as exc:
        pc, label = float("nan"), f"theory: n/a ({_library_message(exc)})"
    payload = res.to_dict()
    payload["model"] = args.model
    payload["competitors"] = instance_model
    if two_layer:
        payload["m"] = args._m
    payload["p_c_theory"] = pc
    payload["n_undecided"] = sum(pt.n_undecided for pt in res.points)
    if args.json:
        clean = json.loads(json.dumps(payload, default=str).replace("NaN", "null").replace("Infinity", "null"))
        print(json.dumps(clean, indent=2, allow_nan=False), file=out)
        return EXIT_OK
    what = {"hebbian": "Hebbian memory (verdict: all p facts recalled)",
            "two-layer-frozen": f"two-layer memory, W1 frozen (m = {getattr(args, '_m', '')})",
            "two-layer": f"two-layer memory, both layers trained by alternating convex solves "
                         f"(m = {getattr(args, '_m', '')}; 'feasible' is certified, a miss is not a proof)"}
    print(f"{what.get(args.model, args.model + ' memory')}, d = {d}, {trials} trials per p, seed {seed}, "
          f"embedding {args.embedding}, {instance_model} competitors" + (f", K = {K}" if K is not None else ", K = p - 1"),
          file=out)
    if res.lower_bound is not None:
        rows = [{"p": pt["p"], "feasible": pt["n_feasible"], "infeasible": pt["n_infeasible"],
                 "not_found": pt["n_not_found"], "P(feasible) >=": pt["p_lower"], "ci_low": pt["ci_low"],
                 "ci_high": pt["ci_high"]} for pt in res.lower_bound.points]
    else:
        rows = [{"p": pt.p, "feasible": pt.n_feasible, "infeasible": pt.n_infeasible, "undecided": pt.n_undecided,
                 "P(feasible)": pt.p_feasible, "ci_low": pt.ci_low, "ci_high": pt.ci_high} for pt in res.points]
    _print_table(rows, tuple(rows[0]), out)
    fit = res.p50
    ci = f"[{fit.ci_low:.4g}, {fit.ci_high:.4g}]"
    rel = ">=" if res.lower_bound is not None else "="
    print(f"p50 {rel} {fit.p50:.4g}  95% CI {ci}  ({fit.method}; {fit.message})", file=out)
    print(f"{label} = {pc:.6g}", file=out)
    print(f"undecided trials: {payload['n_undecided']}", file=out)
    for w in res.warnings:
        print(f"warning: {w}", file=out)
    return EXIT_OK


def _emit_margin(res, d, pc, theory, args, out):
    import numpy as np

    points = []
    tasks_p = sorted({pt.p for pt in res.points})
    per = len(res.records) // max(1, len(tasks_p))
    for i, p in enumerate(tasks_p):
        recs = res.records[i * per:(i + 1) * per]
        k = np.array([r["kappa_hat"] for r in recs if r["verdict"] == "feasible"], dtype=float)
        alpha = p / d**2
        try:
            ks = theory.kappa_star(alpha, p - 1) if args.K is None else float("nan")
        except ValueError:
            ks = float("nan")  # above the theory's capacity: no positive margin
        points.append({
            "p": p, "alpha": alpha, "n_trials": len(recs),
            "n_feasible": int(sum(r["verdict"] == "feasible" for r in recs)),
            "n_infeasible": int(sum(r["verdict"] == "infeasible" for r in recs)),
            "n_undecided": int(sum(r["verdict"] == "undecided" for r in recs)),
            "kappa_hat_mean": float(k.mean()) if k.size else float("nan"),
            "kappa_hat_se": float(k.std(ddof=1) / np.sqrt(k.size)) if k.size > 1 else float("nan"),
            "kappa_star_theory": ks,
        })
    payload = {"d": d, "model": args.model, "experiment": "margin", "points": points, "p_c_theory": pc}
    if args.json:
        clean = [{k: _json_value(v) for k, v in pt.items()} for pt in points]
        payload["points"] = clean
        payload["p_c_theory"] = _json_value(pc)
        print(json.dumps(payload, indent=2, allow_nan=False), file=out)
        return EXIT_OK
    print(f"max-margin memory ({args.model}), d = {d}; kappa_hat = normalised margin of the Frobenius "
          f"max-margin W; theory kappa* solves alpha E(p - 1, kappa) = 1", file=out)
    _print_table(points, ("p", "alpha", "n_feasible", "n_infeasible", "n_undecided", "kappa_hat_mean",
                          "kappa_hat_se", "kappa_star_theory"), out)
    return EXIT_OK


_SIMULATE_DESCRIPTION = """\
Certified finite-size simulation of the linear associative memory.

Samples instances (inputs, targets and competitors with N(0, I/d) entries or
on the unit sphere), decides each one exactly: feasible (a W whose p K margins
are all re-scored > 0), infeasible (a verified Gordan certificate) or undecided
(reported, never folded).  Prints P(feasible) per p with exact (Clopper-Pearson)
intervals, p50 from a logistic fit with a bootstrap CI, and the theory's p_c
beside it.  Every finished trial is committed to the --store SQLite file at
once: rerunning the same command resumes without repeating or losing trials,
and results do not depend on --jobs."""

_SIMULATE_EPILOG = """\
examples:
  capacity simulate --model decoupled --d 16 --p 50:80:3 --trials 40 --seed 1
  capacity simulate --model coupled --d 12 --p 36,40,44 --trials 20 --jobs 2 --json
  capacity simulate --d 16 --p 30 --trials 10 --margin     max-margin kappa_hat vs theory kappa*
  capacity simulate --model hebbian --d 64 --p 150:400:50 --embedding sphere --competitors coupled
  capacity simulate --model two-layer-frozen --d 16 --m 8 --p 30:42:3 --trials 20

exit status: 0 ok, 2 bad input, 1 trials failed (rerun retries them)."""


def _add_simulate(subparsers):
    sub = subparsers.add_parser(
        "simulate",
        help="certified simulation: P(feasible) per p, p50 with CI, theory p_c beside it",
        description=_SIMULATE_DESCRIPTION,
        epilog=_SIMULATE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    sub.add_argument("--model", choices=SIMULATE_MODELS, default="decoupled",
                     help="decoupled (default) or coupled one-layer memory solved exactly; hebbian (verdict: all "
                          "facts recalled by W = sum y x^T); two-layer-frozen (exact LP in W2, W1 random m x d); "
                          "two-layer (both layers, alternating exact convex solves: certified when found)")
    sub.add_argument("--competitors", choices=("decoupled", "coupled"), default=None,
                     help="competitors for hebbian/two-layer models: fresh (decoupled, default) or the other targets")
    sub.add_argument("--m", action=_StoreOnce, metavar="M", help="two-layer hidden width, 1 <= m <= d")
    sub.add_argument("--d", action=_StoreOnce, required=True, metavar="D", help="embedding dimension (integer)")
    sub.add_argument("--p", action=_StoreOnce, required=True, metavar="GRID",
                     help="numbers of facts: START:STOP[:STEP] (STOP included) or a comma list")
    sub.add_argument("--trials", action=_StoreOnce, metavar="N", help="instances per p (default 20)")
    sub.add_argument("--seed", action=_StoreOnce, metavar="S", help="base seed (default 0)")
    sub.add_argument("--K", action=_StoreOnce, metavar="K", help="decoupled competitors per input (default p - 1)")
    sub.add_argument("--embedding", choices=("gaussian", "sphere"), default="gaussian")
    sub.add_argument("--method", choices=("ldp", "gram", "highs"), default="ldp",
                     help="working-set engine: Lawson-Hanson LDP/NNLS (default; fastest at d <= 12), "
                          "gram (the same NNLS in Gram form, warm-started; fastest from d = 16) or the HiGHS LP")
    sub.add_argument("--store", default="results.sqlite", metavar="FILE",
                     help="SQLite results file, committed per trial (default results.sqlite)")
    sub.add_argument("--no-store", action="store_true", help="keep results in memory only")
    sub.add_argument("--jobs", action=_StoreOnce, metavar="N", help="worker processes (default 1)")
    sub.add_argument("--n-boot", action=_StoreOnce, metavar="B", help="bootstrap replicates for p50")
    sub.add_argument("--margin", action="store_true",
                     help="run the max-margin solver instead and report kappa_hat vs theory kappa*")
    sub.add_argument("--json", action="store_true", help="print one JSON object")
    sub.set_defaults(run=_run_simulate)
    return sub


# --------------------------------------------------------------------------- figures


def _run_figures(args, out=None):
    out = sys.stdout if out is None else out
    from . import plotting  # matplotlib is imported only here

    try:
        available = plotting.list_figures()
    except FileNotFoundError as exc:
        raise _CommandError(str(exc)) from None
    if args.list:
        width = max(len(s) for s in available)
        for slug, info in available.items():
            print(f"{slug:<{width}}  {info.description}", file=out)
        return EXIT_OK
    if args.all and args.slugs:
        raise _CommandError("give figure slugs or --all, not both")
    if not args.all and not args.slugs:
        raise _CommandError(f"give one or more figure slugs or --all; available: {', '.join(available)}")
    try:
        paths = plotting.run_figures(None if args.all else args.slugs, quick=args.quick, outdir=args.outdir,
                                     recompute=args.recompute, progress=None)
    except ValueError as exc:
        raise _CommandError(" ".join(str(exc).split())) from None
    except OSError as exc:
        raise _CommandError(f"--outdir: cannot write {args.outdir!r}: {exc}") from None
    for path in paths:
        print(path, file=out)
    return EXIT_OK


_FIGURES_DESCRIPTION = """\
Regenerate the project's figures (figures/fig_<slug>.py: compute -> plot).

Each figure's data are cached beside its PNG and PDF with a provenance sidecar
(parameters, seed, inputs' hashes, package version, git commit, date), so
restyling never recomputes; --recompute ignores the cache.  --quick uses small
parameters (seconds per figure).  Needs a source checkout (the figures/ folder)."""

_FIGURES_EPILOG = """\
examples:
  capacity figures --list
  capacity figures --all                    every figure into figures/out
  capacity figures pc_scaling collapse --quick --outdir /tmp/figs

exit status: 0 ok, 2 bad input."""


def _add_figures(subparsers):
    sub = subparsers.add_parser(
        "figures",
        help="regenerate figures (PNG + PDF) from the scripts under figures/",
        description=_FIGURES_DESCRIPTION,
        epilog=_FIGURES_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    sub.add_argument("slugs", nargs="*", metavar="SLUG", help="figures to make (see --list)")
    sub.add_argument("--all", action="store_true", help="make every figure")
    sub.add_argument("--list", action="store_true", help="list the figures and exit")
    sub.add_argument("--quick", action="store_true", help="small parameters (seconds per figure)")
    sub.add_argument("--outdir", default=None, metavar="DIR", help="output folder (default figures/out)")
    sub.add_argument("--recompute", action="store_true", help="ignore cached data")
    sub.set_defaults(run=_run_figures)
    return sub


# --------------------------------------------------------------------------- train

# experiment -> (module under capacity.nets, runner, one-line description); names follow spec/nets.md
TRAIN_EXPERIMENTS = {
    "linear": ("linear", "run_n1", "N1: GD/cross-entropy linear and two-layer memories vs the LP and p_c(d)"),
    "transformer": ("transformer", "run_n2", "N2: one-layer transformer, frozen random embeddings, factual recall"),
    "retrieval": ("retrieval", "run_n3", "N3: marked-token retrieval with random embeddings"),
    "geometric": ("geometric", "run_n4", "N4: learned subject embeddings (geometric recall) vs the associative bound"),
    "probes": ("probes", "run_probes", "N4 mechanism probes: superposition, relation gating, causal swap, transfer"),
    "pathstar": ("pathstar", "run_pathstar", "N5 option: in-weights path-star transformer, held-out first hop"),
    "node2vec": ("node2vec", "run_n5", "N5: spectral bias of Node2Vec embeddings on small graphs"),
}
_TRAIN_NUMPY_ONLY = {"node2vec"}  # NumPy float64 on the CPU: runs without torch
_TRAIN_ALIASES = {"n1": "linear", "n2": "transformer", "n3": "retrieval", "n4": "geometric", "n5": "node2vec"}


def _run_train(args, out=None):
    out = sys.stdout if out is None else out
    name = _TRAIN_ALIASES.get(args.experiment, args.experiment)
    if name not in TRAIN_EXPERIMENTS:
        allowed = ", ".join(list(TRAIN_EXPERIMENTS) + list(_TRAIN_ALIASES))
        raise _CommandError(f"experiment must be one of {allowed}; got {args.experiment!r}")
    seed = _parse_int("--seed", args.seed or "0", 0)
    jobs = _parse_int("--jobs", args.jobs or "1", 1, 256)
    store = None if args.no_store else (args.store or f"train_{name}.sqlite")
    import importlib

    from .nets import resolve_device

    try:
        if name in _TRAIN_NUMPY_ONLY:
            if args.device == "cuda":
                raise _CommandError(f"--device cuda: {name} runs in NumPy on the CPU; use --device cpu or auto")
        else:
            resolve_device(args.device)
    except ImportError as exc:
        raise _CommandError(str(exc)) from None
    except ValueError as exc:
        raise _CommandError(f"--device: {_library_message(exc)}") from None
    module_name, runner, _ = TRAIN_EXPERIMENTS[name]
    try:
        run = getattr(importlib.import_module(f".nets.{module_name}", __package__), runner)
    except ImportError as exc:
        raise _CommandError(str(exc)) from None

    from .sweeps.runner import SweepError

    try:
        res = run(quick=args.quick, device=args.device, seed=seed, store=store, jobs=jobs,
                  progress=None if not args.json else False)
    except (ValueError, TypeError) as exc:
        raise _CommandError(_library_message(exc)) from None
    except SweepError as exc:
        raise _CommandError(f"{len(exc.failures)} run(s) failed; rerun to retry them: {_library_message(exc)}",
                            EXIT_NUMERICAL) from None
    except OSError as exc:
        raise _CommandError(f"--store: cannot use {store!r}: {exc}") from None
    if args.json:
        payload = json.loads(json.dumps(res.to_dict(), default=str).replace("NaN", "null")
                             .replace("Infinity", "null"))
        print(json.dumps(payload, indent=2, allow_nan=False), file=out)
    else:
        print(res.format_table(), file=out)
        if store is not None:
            print(f"results stored in {store} (rerun the same command to resume)", file=out)
    return EXIT_OK


_TRAIN_DESCRIPTION = """\
Train networks by gradient descent and compare what they store with the capacity
theory (spec/nets.md).  torch is optional: pip install torch==2.13.0 'capacity[torch]'.

experiments:
""" + "\n".join(f"  {k:<12} {v[2]}" for k, v in TRAIN_EXPERIMENTS.items()) + """

Every finished training run is committed to the SQLite --store at once; rerunning
the same command resumes without repeating a run.  CPU by default; bit-reproducible
on CPU for a given --seed."""

_TRAIN_EPILOG = """\
examples:
  capacity train linear --quick                 seconds: a tiny N1 sweep
  capacity train linear --jobs 2                the N1 table (GD p50 vs LP p50 vs theory p_c)
  capacity train transformer --device auto --json

exit status: 0 ok, 1 a run failed (rerun to retry), 2 bad input."""


def _add_train(subparsers):
    sub = subparsers.add_parser(
        "train",
        help="train networks by gradient descent (torch) and compare with the capacity bound",
        description=_TRAIN_DESCRIPTION,
        epilog=_TRAIN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    sub.add_argument("experiment", metavar="EXPERIMENT", help=f"one of {', '.join(TRAIN_EXPERIMENTS)}")
    sub.add_argument("--device", choices=("cpu", "cuda", "auto"), default="cpu",
                     help="torch device (default cpu; auto = cuda when available)")
    sub.add_argument("--quick", action="store_true", help="tiny grid (seconds)")
    sub.add_argument("--seed", action=_StoreOnce, metavar="S", help="base seed (default 0)")
    sub.add_argument("--jobs", action=_StoreOnce, metavar="N", help="worker processes (default 1)")
    sub.add_argument("--store", default=None, metavar="FILE",
                     help="SQLite results file, committed per run (default train_<experiment>.sqlite)")
    sub.add_argument("--no-store", action="store_true", help="keep results in memory only")
    sub.add_argument("--json", action="store_true", help="machine-readable output")
    sub.set_defaults(run=_run_train)
    return sub


# --------------------------------------------------------------------------- main

_DESCRIPTION = """\
Exact capacity of linear associative memories.

Computes the Gardner (replica) capacity of the decoupled linear associative
memory, exact at finite K: alpha_c(K, kappa) = 1 / E dist^2(z, C_kappa),
z ~ N(0, I_{K+1}), and the finite-size capacity p_c of a d x d memory, the p
solving p = d^2 alpha_c(p - 1, kappa) ('capacity query'); checks it against
finite instances solved exactly, with certificates ('capacity simulate'), and
regenerates every figure ('capacity figures') and trains networks by gradient
descent against the bound ('capacity train', torch optional).  'capacity query
--model' also covers Hebbian, two-layer and listwise memories."""

_EPILOG = """\
examples:
  capacity query --d 100
  capacity query --d 8,16,32,64 --json
  capacity query --p 10000 --kappa 0.5
  capacity query --K 1,2,1000
  capacity simulate --model decoupled --d 16 --p 50:80:3 --trials 40 --seed 1
  capacity figures --all
  capacity train linear --quick

Run 'capacity <command> --help' for a command's options."""


def _build_parser():
    parser = _Parser(
        prog=PROG,
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    # not `required`: main() reports unknown flags first, then a missing command
    subparsers = parser.add_subparsers(dest="command", metavar="<command>", title="commands")
    commands = {"query": _add_query(subparsers), "simulate": _add_simulate(subparsers),
                "figures": _add_figures(subparsers), "train": _add_train(subparsers)}
    return parser, commands


def main(argv=None):
    """Run the ``capacity`` command with ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    parser, commands = _build_parser()
    try:
        args, extras = parser.parse_known_args(argv)
        if extras:
            commands.get(args.command, parser).error(f"unrecognized arguments: {' '.join(extras)}")
        if args.command is None:
            parser.error(f"a command is required: {', '.join(commands)}")
    except SystemExit as exc:  # --help, --version and usage errors (already printed)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    prog = commands[args.command].prog
    try:
        return args.run(args)
    except _CommandError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return exc.status
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
