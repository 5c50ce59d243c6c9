"""``capacity store``: what a results file holds, and its trials exported as CSV or JSON.

The file is opened read-only (:class:`capacity.sweeps.ResultsStore` with ``readonly=True``):
nothing is created, initialised or modified, even for a file that is not a results store.
The summary is :meth:`capacity.sweeps.ResultsStore.summary`; the export is
:meth:`capacity.sweeps.ResultsStore.records`, one row per stored trial.
"""
import argparse
import contextlib
import csv
import json
import os
import sys
import tempfile

from ..exceptions import StoreError
from ..results import json_ready
from ._output import csv_value, integers_as_integers, print_json, print_table
from ._common import EXIT_OK, CommandError, add_subcommand, library_message, suggestion

_NAMES = {"store": "FILE", "path": "FILE"}  # the library's argument names -> this command's
_RECORD_FIELDS = ("key", "experiment", "kind", "seconds", "package_version", "created")


@contextlib.contextmanager
def _open(path):
    """The results file ``path``, opened read-only; an unusable one is a one-line error naming FILE."""
    from ..sweeps import ResultsStore

    if not path.strip():
        raise CommandError(f"FILE must be a results file; got {path!r}")
    if not os.path.exists(path):
        raise CommandError(f"FILE must be an existing results file; got {path!r}, which does not exist")
    if os.path.isdir(path):
        raise CommandError(f"FILE must be a results file, not a folder; got {path!r}")
    try:
        store = ResultsStore(path, readonly=True)
    except StoreError as exc:
        raise CommandError(_message(exc)) from None
    try:
        yield store
    except StoreError as exc:
        raise CommandError(_message(exc)) from None
    finally:
        store.close()


def _message(exc):
    message = library_message(exc, _NAMES)
    return message if "FILE" in message else f"FILE: {message}"


def _label(name):
    return "(none)" if name is None else str(name)


def _counts(mapping):
    """``{"a": 3, None: 1}`` -> ``"a (3), (none) (1)"``."""
    return ", ".join(f"{_label(k)} ({v})" for k, v in mapping.items())


def _select(summary, experiment):
    """The summary's experiments, or only ``experiment`` (an error naming --experiment if absent)."""
    entries = summary["experiments"]
    if experiment is None:
        return entries
    chosen = [e for e in entries if e["experiment"] == experiment]
    if not chosen:
        names = [e["experiment"] for e in entries if e["experiment"] is not None]
        available = ", ".join(names) if names else "none"
        raise CommandError(f"--experiment must name an experiment in the file ({available}); got {experiment!r}"
                           + suggestion(experiment, names))
    return chosen


# --------------------------------------------------------------------------- ls, show


def _run_ls(args, out):
    with _open(args.file) as store:
        summary = store.summary()
    if args.json:
        print_json(summary, out)
        return EXIT_OK
    entries = summary["experiments"]
    print(f"{args.file}: results-store format {summary['format_version']}, {summary['n_trials']} trials in "
          f"{len(entries)} experiment{'' if len(entries) == 1 else 's'}", file=out)
    if entries:
        rows = [{"experiment": _label(e["experiment"]), "trials": e["count"],
                 "kinds": ", ".join(_label(k) for k in e["kinds"]),
                 "versions": ", ".join(_label(v) for v in e["package_versions"]),
                 "first created": e["first_created"], "last created": e["last_created"]} for e in entries]
        print_table(rows, tuple(rows[0]), out)
    return EXIT_OK


def _values_text(info):
    values = ", ".join(json.dumps(json_ready(v), allow_nan=False) if not isinstance(v, str) else v
                       for v in info["values"])
    more = ", ..." if info["n_distinct"] > len(info["values"]) else ""
    n = info["n_distinct"]
    return f"{n} value{'' if n == 1 else 's'}: {values}{more}"


def _run_show(args, out):
    with _open(args.file) as store:
        summary = store.summary()
    entries = _select(summary, args.experiment)
    if args.json:
        print_json(dict(summary, experiments=entries), out)
        return EXIT_OK
    print(f"{args.file}: results-store format {summary['format_version']}, {summary['n_trials']} trials", file=out)
    for e in entries:
        print(f"\nexperiment {_label(e['experiment'])}: {e['count']} trials", file=out)
        print(f"  kinds:            {_counts(e['kinds'])}", file=out)
        print(f"  package versions: {_counts(e['package_versions'])}", file=out)
        print(f"  created:          {e['first_created']} .. {e['last_created']}", file=out)
        if e["parameters"]:
            print("  parameters:", file=out)
            width = max(len(name) for name in e["parameters"])
            for name, info in e["parameters"].items():
                print(f"    {name:<{width}}  {_values_text(info)}", file=out)
    return EXIT_OK


# --------------------------------------------------------------------------- export


def _flat_row(record):
    row = {"key": record.key, "experiment": record.task.get("experiment"), "kind": record.task.get("kind"),
           "seconds": record.seconds, "package_version": record.package_version, "created": record.created}
    row.update({f"task.{k}": v for k, v in record.task.items()})
    row.update({f"result.{k}": v for k, v in record.result.items()})
    return row


def _write_csv(store, experiment, out):
    task_keys, result_keys = {}, {}
    for record in store.records(experiment=experiment):
        task_keys.update(dict.fromkeys(record.task))
        result_keys.update(dict.fromkeys(record.result))
    columns = (*_RECORD_FIELDS, *(f"task.{k}" for k in sorted(task_keys)),
               *(f"result.{k}" for k in sorted(result_keys)))
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for record in store.records(experiment=experiment):
        row = _flat_row(record)
        # a task's or result's entry is formatted under its own name (integral counts as integers)
        writer.writerow([csv_value(c.split(".", 1)[-1], row.get(c)) for c in columns])


def _write_json(store, experiment, out):
    out.write("[")
    first = True
    for record in store.records(experiment=experiment):
        item = {"key": record.key, "experiment": record.task.get("experiment"), "kind": record.task.get("kind"),
                "task": record.task, "result": record.result, "seconds": record.seconds,
                "package_version": record.package_version, "created": record.created}
        out.write(("\n" if first else ",\n") + json.dumps(integers_as_integers(json_ready(item)), allow_nan=False))
        first = False
    out.write("\n]\n" if not first else "]\n")


def _check_output(path, store_file):
    if not path.strip():
        raise CommandError(f"--output must be a file path; got {path!r}")
    if os.path.isdir(path):
        raise CommandError(f"--output must be a file, not a folder; got {path!r}")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise CommandError(f"--output must be in an existing folder; got {path!r} ({folder!r} does not exist)")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise CommandError(f"--output must be in a folder we can write; got {path!r} ({folder!r} is not writable)")
    if os.path.exists(path) and os.path.samefile(path, store_file):
        raise CommandError(f"--output must not be the results file itself; got {path!r}")


def _run_export(args, out):
    if args.output is not None and args.output != "-":
        _check_output(args.output, args.file)
    write = _write_csv if args.format == "csv" else _write_json
    with _open(args.file) as store:
        if args.experiment is not None:
            _select(store.summary(), args.experiment)
        if args.output is None or args.output == "-":
            write(store, args.experiment, out)
            return EXIT_OK
        # written beside the target and renamed into place: an error leaves no partial file
        folder = os.path.dirname(os.path.abspath(args.output))
        fd, tmp = tempfile.mkstemp(prefix=".capacity-export-", dir=folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
                write(store, args.experiment, f)
            os.replace(tmp, args.output)
        except BaseException:
            with contextlib.suppress(OSError):
                os.remove(tmp)
            raise
    print(f"capacity store export: wrote {args.output}", file=sys.stderr)
    return EXIT_OK


def run(args, out=None):
    out = sys.stdout if out is None else out
    if args.action is None:
        raise CommandError("an action is required: ls, show or export")
    return {"ls": _run_ls, "show": _run_show, "export": _run_export}[args.action](args, out)


DESCRIPTION = """\
What a results file (--store of 'capacity simulate', 'threshold' and 'train')
holds, and its trials exported as CSV or JSON.  The file is only read: nothing
is created or modified, even for a file that is not a results store.

actions:
  ls FILE                       format, number of trials, and per experiment:
                                trials, kinds, package versions, first/last dates
  show FILE [--experiment E]    the same per experiment, with every task
                                parameter and (up to 5 of) its distinct values
  export FILE --format csv|json [--experiment E] [--output PATH]
                                one row per trial: key, experiment, kind, the
                                task's parameters (task.*), its result
                                (result.*), seconds, package version, date;
                                to stdout, or written to PATH in one go"""

EPILOG = """\
examples:
  capacity store ls results.sqlite
  capacity store show results.sqlite --experiment feasibility
  capacity store show results.sqlite --json
  capacity store export results.sqlite --format csv --output trials.csv
  capacity store export train_linear.sqlite --format json --experiment n1-gd | head

exit status: 0 ok, 2 bad input (a missing, unreadable, damaged or foreign file),
141 output pipe closed early."""


def _leaf(actions, name, help):
    leaf = actions.add_parser(name, help=help, description=DESCRIPTION, epilog=EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False)
    leaf.add_argument("file", metavar="FILE", help="the results file (SQLite), opened read-only")
    leaf.set_defaults(parser=leaf)
    return leaf


def add(subparsers):
    sub = add_subcommand(subparsers, "store", help="what a results file holds (ls, show) and its export to CSV/JSON",
                         description=DESCRIPTION, epilog=EPILOG)
    actions = sub.add_subparsers(dest="action", metavar="<action>", title="actions")
    ls = _leaf(actions, "ls", "format, trials and experiments of a results file")
    ls.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    show = _leaf(actions, "show", "per experiment: trials, kinds, versions, dates and task parameters")
    show.add_argument("--experiment", metavar="E", help="only this experiment")
    show.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    export = _leaf(actions, "export", "every trial as CSV or JSON")
    export.add_argument("--format", choices=("csv", "json"), required=True, help="csv (flat columns) or json")
    export.add_argument("--experiment", metavar="E", help="only this experiment's trials")
    export.add_argument("--output", metavar="PATH", help="write to PATH instead of stdout ('-': stdout)")
    sub.set_defaults(run=run, action=None)
    return sub
