"""What every subcommand shares: the parser class, one-line errors and exit codes, parsing of
command-line numbers, lists, sizes and the store/executor/progress flags, and the end-of-run
store report.  Printing lives in :mod:`._output` (re-exported here).

Nothing here computes: values come from the library's result objects and are only formatted.
"""
import argparse
import contextlib
import difflib
import math
import os
import re
import sys

from ..exceptions import ConvergenceError, ResourceLimitError, StoreError
from ._output import emit, print_csv, print_json, print_table, text_value

__all__ = ["emit", "print_csv", "print_json", "print_table", "text_value"]  # re-exported from ._output; and:
__all__ += ["PROG", "EXIT_OK", "EXIT_NUMERICAL", "EXIT_USAGE", "EXIT_BROKEN_PIPE", "Parser", "CommandError",
            "StoreOnce", "StoreListOnce", "add_subcommand", "parse_number", "parse_list", "parse_int", "parse_grid",
            "parse_size", "library_message", "flag_message", "suggestion", "unrecognized_message",
            "add_executor_flags", "parse_executor", "sweep_errors", "executor_error", "add_store_flags",
            "parse_store", "store_rows", "report_store", "add_progress_flag", "add_memory_flag", "parse_max_memory",
            "add_device_flag", "parse_device"]

PROG = "capacity"

EXIT_OK = 0
EXIT_NUMERICAL = 1
EXIT_USAGE = 2
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: what a shell reports for a tool whose reader closed the pipe


def suggestion(word, candidates):
    """``"; did you mean X?"`` for the closest of ``candidates`` to ``word`` (difflib), else ``""``."""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else ""


_INVALID_CHOICE = re.compile(r"invalid choice: '([^']*)' \(choose from (.*)\)")


class Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line: ``<prog>: error: <message> (see <prog> --help)``;
    an invalid choice suggests the closest allowed one."""

    _args = ()

    def parse_known_args(self, args=None, namespace=None):
        self._args = list(sys.argv[1:] if args is None else args)  # for error(): unknown flags first
        return super().parse_known_args(args, namespace)

    def error(self, message):
        message = " ".join(str(message).split())
        if message.startswith(("the following arguments are required", "one of the arguments")):
            # a mistyped flag is the likelier cause of a missing one: report it instead
            known = set(self.option_strings())
            unknown = [a for a in self._args
                       if a.startswith("-") and len(a) > 1 and a != "--" and not _is_number(a)
                       and a.split("=", 1)[0] not in known]
            if unknown:
                message = unrecognized_message(self, unknown)
        m = _INVALID_CHOICE.search(message)
        if m:
            message += suggestion(m.group(1), re.findall(r"'([^']*)'", m.group(2)))
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")

    def option_strings(self):
        """Every flag this parser knows (for typo suggestions)."""
        return [s for action in self._actions for s in action.option_strings]


def unrecognized_message(parser, extras):
    """``unrecognized arguments: ...`` with a suggestion for the first unknown flag."""
    message = f"unrecognized arguments: {' '.join(extras)}"
    flags = [e.split("=", 1)[0] for e in extras if e.startswith("-") and len(e) > 1 and not _is_number(e)]
    if flags and isinstance(parser, Parser):
        message += suggestion(flags[0], parser.option_strings())
    return message


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


class CommandError(Exception):
    """A failure reported as one line on stderr; carries the exit status (2 bad input, 1 numerics)."""

    def __init__(self, message, status=EXIT_USAGE):
        super().__init__(message)
        self.status = status


class StoreOnce(argparse.Action):
    """Store the raw string; a flag given twice is an error."""

    def __call__(self, parser, namespace, values, option_string=None):
        if getattr(namespace, self.dest, None) is not None:
            parser.error(f"{option_string} given more than once; give it once")
        setattr(namespace, self.dest, values)


class StoreListOnce(argparse.Action):
    """Store the raw string of a comma-separated list; a flag given twice is an error."""

    def __call__(self, parser, namespace, values, option_string=None):
        if getattr(namespace, self.dest, None) is not None:
            parser.error(
                f"{option_string} given more than once; pass several values as one "
                f"comma-separated list ({option_string} A,B,C)"
            )
        setattr(namespace, self.dest, values)


def add_subcommand(subparsers, name, *, help, description, epilog):
    """A subcommand parser with the shared formatting (raw description, no abbreviations)."""
    return subparsers.add_parser(name, help=help, description=description, epilog=epilog,
                                 formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False)


# --------------------------------------------------------------------------- parsing


def parse_number(flag, item, text=None):
    """One number from the command line: an int if it is written as one, else a float.

    NaN and infinities (including integers too large for a float) are rejected
    here; ranges are the library's business.
    """
    text = item if text is None else text
    where = f" in {text!r}" if item != text else ""
    try:
        x = float(item)
    except ValueError:
        raise CommandError(f"{flag} must be a number; got {item!r}{where}") from None
    if not math.isfinite(x):
        raise CommandError(f"{flag} must be finite; got {item!r}{where}")
    try:
        return int(item)
    except ValueError:
        return x


def parse_list(flag, text):
    """A comma-separated list of numbers (one or more)."""
    items = text.split(",")
    for i, item in enumerate(items, start=1):
        if not item.strip():
            if len(items) == 1:
                raise CommandError(f"{flag} must be a number or a comma-separated list of numbers; got {text!r}")
            raise CommandError(f"{flag} must be a comma-separated list of numbers; item {i} of {text!r} is empty")
    return [parse_number(flag, item.strip(), text) for item in items]


def parse_int(flag, text, low, high=None):
    """One integer in ``[low, high]`` (an integral float such as ``16.0`` is accepted)."""
    x = parse_number(flag, text.strip(), text)
    if not isinstance(x, int) and not (isinstance(x, float) and x.is_integer()):
        raise CommandError(f"{flag} must be an integer; got {text!r}")
    x = int(x)
    if x < low or (high is not None and x > high):
        rng = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise CommandError(f"{flag} must be an integer {rng}; got {text!r}")
    return x


def parse_grid(flag, text):
    """'50:80:3' (start:stop:step, stop included when on the grid) or a comma list of integers >= 2."""
    if ":" in text:
        parts = text.split(":")
        if len(parts) not in (2, 3):
            raise CommandError(f"{flag} must be START:STOP[:STEP] or a comma-separated list; got {text!r}")
        start, stop = (parse_int(flag, t, 2) for t in parts[:2])
        step = parse_int(flag, parts[2], 1) if len(parts) == 3 else 1
        if stop < start:
            raise CommandError(f"{flag} range must have STOP >= START; got {text!r}")
        values = list(range(start, stop + 1, step))
    else:
        values = [parse_int(flag, t, 2) for t in text.split(",")] if text.strip() else []
    if not values:
        raise CommandError(f"{flag} must list at least one p; got {text!r}")
    if len(set(values)) != len(values):
        raise CommandError(f"{flag} lists a value twice; got {text!r}")
    return values


# The library names its arguments in backticks (`kappa`); the CLI reports the matching flag.
FLAG_NAMES = {"d": "--d", "p": "--p", "ps": "--p", "K": "--K", "kappa": "--kappa", "model": "--model", "m": "--m",
              "k": "--k", "r": "--r", "embedding": "--embedding", "seed": "--seed", "trial": "--trials",
              "trials": "--trials", "method": "--method", "jobs": "--jobs", "scheduler": "--scheduler",
              "instances": "--instances", "store": "--store", "max_memory": "--max-memory",
              "progress": "--progress", "n_boot": "--n-boot", "competitors": "--competitors",
              "outdir": "--outdir", "device": "--device"}


def library_message(exc, names=None):
    """The library's one-line message with `name` turned into the matching flag (``names``
    overrides :data:`FLAG_NAMES`)."""
    table = FLAG_NAMES if names is None else {**FLAG_NAMES, **names}
    message = re.sub(r"`(\w+)`", lambda m: table.get(m.group(1), m.group(0)), str(exc))
    return " ".join(message.split())


def flag_message(exc, flag, names=None):
    """:func:`library_message`, prefixed with ``flag: `` unless it already names ``flag``."""
    message = library_message(exc, names)
    return message if flag in message else f"{flag}: {message}"


def parse_size(flag, text):
    """A memory size such as ``8G``, ``512M`` or ``1000000`` (bytes), via the library's parser."""
    from .._resources import parse_memory

    try:
        value = parse_memory(text.strip())
    except (TypeError, ValueError):
        value = None
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise CommandError(f"{flag} must be a positive size in bytes or with a K/M/G/T suffix (e.g. 8G); "
                           f"got {text!r}")
    return value


# --------------------------------------------------------------------------- executors

SCHEDULER_HELP = ("run the trials on a Dask cluster instead of --jobs: local:N starts N local worker processes, "
                  "an address (tcp://host:8786) uses a running scheduler, e.g. a dask-jobqueue SLURMCluster's; "
                  "results are stored by this process (needs pip install capacity[dask])")


def add_executor_flags(sub, *, jobs_help="worker processes (default 1)"):
    """Add ``--jobs N`` and ``--scheduler ADDRESS|local:N`` to a subcommand (read them with
    :func:`parse_executor`)."""
    sub.add_argument("--jobs", action=StoreOnce, metavar="N", help=jobs_help)
    sub.add_argument("--scheduler", action=StoreOnce, metavar="ADDRESS|local:N", help=SCHEDULER_HELP)


def parse_executor(args, *, max_jobs=256):
    """``(jobs, scheduler)`` from the flags of :func:`add_executor_flags`: jobs an int (default 1),
    scheduler a validated string or None; the two flags exclude each other.

    Only the form of ``--scheduler`` is checked here (nothing is imported or connected).
    """
    from ..sweeps.executors import check_scheduler

    if args.jobs is not None and args.scheduler is not None:
        raise CommandError(f"--jobs and --scheduler exclude each other (the scheduler's workers set the "
                           f"parallelism); got --jobs {args.jobs} and --scheduler {args.scheduler}")
    jobs = parse_int("--jobs", args.jobs or "1", 1, max_jobs)
    scheduler = args.scheduler
    if scheduler is not None:
        try:
            check_scheduler(scheduler)
        except (TypeError, ValueError) as exc:
            raise CommandError(library_message(exc)) from None
    return jobs, scheduler


@contextlib.contextmanager
def sweep_errors(store, unit="trial"):
    """Turn what a persisted sweep can raise into one-line errors (:class:`CommandError`).

    An unusable store (``StoreError``) and a request refused for memory (``ResourceLimitError``)
    exit 2 naming ``--store`` / ``--max-memory``; so do a Dask cluster that cannot be reached or
    started (or a missing dask) and the library's ``ValueError``/``TypeError``.  Failed tasks
    (``SweepError``), a ``ConvergenceError`` and running out of memory exit 1; any other
    ``OSError`` names ``--store``.
    """
    from ..sweeps import SweepError

    try:
        yield
    except (ConnectionError, ImportError) as exc:
        error = executor_error(exc)
        if error is None:
            raise
        raise error from None
    except StoreError as exc:
        raise CommandError(flag_message(exc, "--store", {"path": "--store"})) from None
    except ResourceLimitError as exc:  # host memory (--max-memory) or a GPU's (--device)
        raise CommandError(flag_message(exc, "--device" if "`device`" in str(exc) else "--max-memory")) from None
    except (ValueError, TypeError) as exc:
        raise CommandError(library_message(exc)) from None
    except SweepError as exc:
        raise CommandError(f"{len(exc.failures)} {unit}(s) failed; rerun to retry them: "
                           f"{library_message(exc)}", EXIT_NUMERICAL) from None
    except ConvergenceError as exc:
        raise CommandError(f"numerical failure: {library_message(exc)}", EXIT_NUMERICAL) from None
    except MemoryError:
        raise CommandError("ran out of memory; use a smaller request (--max-memory sets the limit that refuses "
                           "such requests up front)", EXIT_NUMERICAL) from None
    except OSError as exc:
        raise CommandError(f"--store: cannot use {store!r}: {exc}") from None


def executor_error(exc):
    """A :class:`CommandError` for a failure to reach or start the Dask cluster of ``--scheduler``
    (``ConnectionError``, or ``ImportError`` without dask), or None for any other exception."""
    if isinstance(exc, ConnectionError):
        return CommandError(f"--scheduler: {library_message(exc)}")
    if isinstance(exc, ImportError) and "capacity[dask]" in str(exc):
        return CommandError(library_message(exc))
    return None


# --------------------------------------------------------------------------- run flags: store, progress, memory


def add_store_flags(sub, unit="trial", default="results.sqlite"):
    """``--store FILE`` (default ``default``, committed per ``unit``) and ``--no-store``
    (read them with :func:`parse_store`)."""
    sub.add_argument("--store", action=StoreOnce, metavar="FILE",
                     help=f"SQLite results file, committed per {unit} (default {default}); a rerun reuses "
                          f"the {unit}s already in it")
    sub.add_argument("--no-store", action="store_true", help="keep results in memory only (excludes --store)")


def parse_store(args, default):
    """The results file of :func:`add_store_flags` (``default`` when --store is not given), or None
    for ``--no-store``.  Conflicting or empty values are refused; the file is not opened here."""
    if args.no_store:
        if args.store is not None:
            raise CommandError(f"--store and --no-store exclude each other; got --store {args.store!r} and "
                               f"--no-store")
        return None
    path = default if args.store is None else args.store
    if not path.strip():
        raise CommandError(f"--store must be a file path; got {path!r} (use --no-store to keep results in "
                           f"memory only)")
    if path == ":memory:":
        raise CommandError("--store must be a file path; got ':memory:' (use --no-store to keep results in "
                           "memory only)")
    if os.path.isdir(path):
        raise CommandError(f"--store must be a file, not a folder; got {path!r}")
    return path


def store_rows(path):
    """The number of trials in the results file ``path`` (0 if there is none), read without
    creating or modifying anything; an unusable file is a :class:`CommandError` naming ``--store``."""
    if path is None or not os.path.exists(path):
        return 0
    from ..sweeps import ResultsStore

    try:
        with ResultsStore(path, readonly=True) as store:
            return len(store)
    except StoreError as exc:
        raise CommandError(flag_message(exc, "--store", {"path": "--store"})) from None


def report_store(prog, path, *, before, total, unit="trial", err=None):
    """Print on stderr where the results are and how many of this run's ``total`` tasks were
    reused from the file versus computed now (the rows added since ``before``)."""
    err = sys.stderr if err is None else err
    computed = store_rows(path) - before
    reused = max(total - computed, 0)
    plural = "" if total == 1 else "s"
    print(f"{prog}: store {path}: {total} {unit}{plural}, {reused} reused from it, {computed} computed now",
          file=err)


def add_progress_flag(sub):
    """``--progress/--no-progress`` (default: a bar on a terminal, else a heartbeat line on stderr)."""
    sub.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                     help="progress on stderr: a bar on a terminal, else a one-line heartbeat (done/total, rate, "
                          "ETA) at most every 30 s once a run has lasted 30 s; this is also the default. "
                          "--no-progress: none")


def add_memory_flag(sub):
    """``--max-memory SIZE`` (read it with :func:`parse_max_memory`)."""
    sub.add_argument("--max-memory", action=StoreOnce, metavar="SIZE",
                     help="refuse up front what is estimated to need more memory than SIZE (bytes, or with a "
                          "K/M/G/T suffix: 8G); default: $CAPACITY_MAX_MEMORY, else 80%% of the physical memory")


def parse_max_memory(args):
    """``{"max_memory": bytes}`` for the library when --max-memory is given, else ``{}`` (its default)."""
    if args.max_memory is None:
        return {}
    return {"max_memory": parse_size("--max-memory", args.max_memory)}


def add_device_flag(sub):
    """``--device cpu|cuda|auto`` for ``--method torch`` (read it with :func:`parse_device`)."""
    sub.add_argument("--device", action=StoreOnce, choices=("cpu", "cuda", "auto"), default=None,
                     help="where --method torch runs: cpu, cuda (a GPU; an error without one) or auto (default: cuda "
                          "when torch sees a GPU, else cpu); only with --method torch")


def parse_device(args):
    """``{"device": value}`` for the library when --device is given with --method torch, else ``{}`` (the
    library's default, "auto").  --device without --method torch is a conflict; with --method torch, a
    missing torch (naming --method) and --device cuda without a GPU (naming --device) are one-line errors,
    all before any work (exit 2)."""
    if args.method != "torch":
        if args.device is not None:
            raise CommandError(f"--device applies to --method torch only; got --device {args.device} with --method "
                               f"{args.method}")
        return {}
    from .._torch import resolve_device

    try:
        resolve_device(args.device or "auto", what="`method` 'torch'")
    except (ImportError, TypeError, ValueError) as exc:
        raise CommandError(library_message(exc)) from None
    return {} if args.device is None else {"device": args.device}


def per_param(model, d, p, m=None):
    """Facts and bits per trainable parameter of a capacity answer p (docs/accuracy.md §2).

    N = the trainable entries of the memory: d² (one-layer W; the Hebbian W has d² entries too), d m
    (two-layer with W1 frozen: W2 only), 2 d m (both layers).  Returns ``{"n_params", "facts_per_param",
    "bits_per_param"}`` with ``p / N`` and ``p log2 p / N`` (None where p is not a finite number >= 1).
    """
    n = {"two-layer-frozen": d * (m or 0), "two-layer": 2 * d * (m or 0)}.get(model, d * d)
    ok = p is not None and math.isfinite(p) and p >= 1 and n > 0
    return {"n_params": n, "facts_per_param": p / n if ok else None,
            "bits_per_param": p * math.log2(p) / n if ok else None}


def per_param_line(model, d, p, m=None):
    """One text line for :func:`per_param`: ``facts/param = ..., bits/param = ... (N = ...)``."""
    pp = per_param(model, d, p, m)
    if pp["facts_per_param"] is None:
        return "facts/param, bits/param: no finite p50"
    what = {"two-layer-frozen": "d m, W2", "two-layer": "2 d m, W1 and W2"}.get(model, "d^2")
    return (f"facts/param = p50 / N = {pp['facts_per_param']:.4g}, bits/param = p50 log2(p50) / N = "
            f"{pp['bits_per_param']:.4g}  (N = {what} = {pp['n_params']} trainable entries)")
