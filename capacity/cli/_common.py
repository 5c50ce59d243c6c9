"""What every subcommand shares: the parser class, one-line errors and exit codes, parsing of
command-line numbers and lists, and printing (aligned text, tables, strict JSON).

Nothing here computes: values come from the library's result objects and are only formatted.
"""
import argparse
import contextlib
import json
import math
import re

from ..results import json_ready

PROG = "capacity"

EXIT_OK = 0
EXIT_NUMERICAL = 1
EXIT_USAGE = 2


class Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line: ``<prog>: error: <message> (see <prog> --help)``."""

    def error(self, message):
        message = " ".join(str(message).split())
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


class CommandError(Exception):
    """A failure reported as one line on stderr; carries the exit status (2 bad input, 1 numerics)."""

    def __init__(self, message, status=EXIT_USAGE):
        super().__init__(message)
        self.status = status


class StoreOnce(argparse.Action):
    """Store the raw string; a flag given twice is an error (lists are comma-separated)."""

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
FLAG_NAMES = {"d": "--d", "p": "--p", "K": "--K", "kappa": "--kappa", "model": "--model", "m": "--m", "k": "--k",
              "r": "--r", "embedding": "--embedding", "seed": "--seed", "trial": "--trials", "method": "--method",
              "jobs": "--jobs", "scheduler": "--scheduler", "instances": "--instances"}


def library_message(exc):
    """The library's one-line message with `name` turned into the matching flag."""
    message = re.sub(r"`(\w+)`", lambda m: FLAG_NAMES.get(m.group(1), m.group(0)), str(exc))
    return " ".join(message.split())


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

    A Dask cluster that cannot be reached or started (or a missing dask) and the library's
    ``ValueError``/``TypeError`` exit 2; failed tasks (``SweepError``) exit 1 with a hint that a
    rerun retries them; any other ``OSError`` names ``--store``.
    """
    from ..sweeps import SweepError

    try:
        yield
    except (ConnectionError, ImportError) as exc:
        error = executor_error(exc)
        if error is None:
            raise
        raise error from None
    except (ValueError, TypeError) as exc:
        raise CommandError(library_message(exc)) from None
    except SweepError as exc:
        raise CommandError(f"{len(exc.failures)} {unit}(s) failed; rerun to retry them: "
                           f"{library_message(exc)}", EXIT_NUMERICAL) from None
    except OSError as exc:
        raise CommandError(f"--store: cannot use {store!r}: {exc}") from None


def add_store_flags(sub, unit="trial"):
    """``--store FILE`` (default results.sqlite, committed per ``unit``) and ``--no-store``."""
    sub.add_argument("--store", default="results.sqlite", metavar="FILE",
                     help=f"SQLite results file, committed per {unit} (default results.sqlite)")
    sub.add_argument("--no-store", action="store_true", help="keep results in memory only")


def executor_error(exc):
    """A :class:`CommandError` for a failure to reach or start the Dask cluster of ``--scheduler``
    (``ConnectionError``, or ``ImportError`` without dask), or None for any other exception."""
    if isinstance(exc, ConnectionError):
        return CommandError(f"--scheduler: {library_message(exc)}")
    if isinstance(exc, ImportError) and "capacity[dask]" in str(exc):
        return CommandError(library_message(exc))
    return None


# --------------------------------------------------------------------------- output


def text_value(name, v):
    """One value as printed in text mode: integers and strings as they are, floats to 10 digits."""
    if isinstance(v, (bool, int, str)):
        return str(v)
    if v is None or not math.isfinite(v):
        return "n/a"
    if name == "abserr":
        return f"{v:.2e}"
    return f"{v:.10g}"


def print_block(row, notes, columns, out):
    """One result as aligned ``name = value   note`` lines."""
    values = [text_value(c, row[c]) for c in columns]
    wn = max(len(c) for c in columns)
    wv = max(len(v) for v in values)
    for c, v in zip(columns, values):
        line = f"{c:<{wn}} = {v:<{wv}}"
        if notes.get(c):
            line += f"   {notes[c]}"
        print(line.rstrip(), file=out)


def print_table(rows, columns, out):
    """Several results as an aligned table, one row per result, numbers right-aligned."""
    cells = [[text_value(c, row[c]) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[j]) for r in cells)) for j, c in enumerate(columns)]
    print("  ".join(f"{c:>{w}}" for c, w in zip(columns, widths)), file=out)
    for r in cells:
        print("  ".join(f"{v:>{w}}" for v, w in zip(r, widths)), file=out)


def print_json(payload, out):
    """Strict JSON (NaN and infinities as null, NumPy scalars as Python numbers), indented."""
    print(json.dumps(json_ready(payload), indent=2, allow_nan=False), file=out)


def emit(rows, *, columns, notes, as_json, out):
    """Rows as JSON (one object, or a list for several), a ``name = value`` block, or a table."""
    several = len(rows) > 1
    if as_json:
        print_json(rows if several else rows[0], out)
    elif several:
        print_table(rows, columns, out)
    else:
        print_block(rows[0], notes, columns, out)
