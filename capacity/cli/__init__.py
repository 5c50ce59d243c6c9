"""The ``capacity`` command: parse -> call the library -> print (or ``--json``/``--csv``).

One module per subcommand (:mod:`.query`, :mod:`.simulate`, :mod:`.threshold`,
:mod:`.figures`, :mod:`.train`, :mod:`.store`), each with ``add(subparsers)`` building its
parser and ``run(args)`` returning an exit status; what they share (parsing, printing, one-line
errors, exit codes) is in :mod:`._common` and :mod:`._output`.  No numerics live here: every
printed number is a field of a library result.  A new subcommand is a new module registered in
:data:`SUBCOMMANDS`.

Exit status: 0 success; 2 bad input (argparse's usage errors, values we cannot parse, an
unusable results store, a request refused for memory, and the library's
``ValueError``/``TypeError``), all found before any work starts; 1 numerical failure
(:class:`~capacity.exceptions.ConvergenceError`, a result with ``success=False``, failed
trials, running out of memory, or an unexpected internal error); 130 interrupted; 141 the
reader of stdout went away (``capacity query ... | head -1``: output stops quietly, as for any
tool killed by SIGPIPE).  Every error is one line on stderr,
``capacity <sub>: error: <message>``, with the library's backtick argument names
(`` `kappa` ``) replaced by the command-line flags (``--kappa``) and a typo in a flag answered
with the closest one.  Set ``CAPACITY_DEBUG=1`` to get the traceback of an internal error.
"""
import argparse
import sys

from .. import __version__
import os
import traceback

from . import figures, query, simulate, store, threshold, train
from ._common import (EXIT_BROKEN_PIPE, EXIT_NUMERICAL, EXIT_USAGE, PROG, CommandError, Parser, library_message,
                      unrecognized_message)

__all__ = ["main"]

SUBCOMMANDS = {"query": query, "simulate": simulate, "threshold": threshold, "figures": figures, "train": train,
               "store": store}

_DESCRIPTION = """\
Exact capacity of linear associative memories.

Computes the Gardner (replica) capacity of the decoupled linear associative
memory, exact at finite K: alpha_c(K, kappa) = 1 / E dist^2(z, C_kappa),
z ~ N(0, I_{K+1}), and the finite-size capacity p_c of a d x d memory, the p
solving p = d^2 alpha_c(p - 1, kappa) ('capacity query'); checks it against
finite instances solved exactly, with certificates ('capacity simulate', and
per-instance thresholds of nested instances: 'capacity threshold'), and
regenerates every figure ('capacity figures') and trains networks by gradient
descent against the bound ('capacity train', torch optional).  'capacity query
--model' also covers Hebbian, two-layer and listwise memories; 'capacity
store' shows and exports what a results file holds."""

_EPILOG = """\
examples:
  capacity query --d 100
  capacity query --d 8,16,32,64 --json
  capacity query --p 10000 --kappa 0.5
  capacity query --K 1,2,1000
  capacity simulate --model decoupled --d 16 --p 50:80:3 --trials 40 --seed 1
  capacity threshold --model coupled --d 24 --instances 40
  capacity figures --all
  capacity train linear --quick
  capacity store ls results.sqlite

exit status: 0 ok, 2 bad input, 1 numerical failure, 130 interrupted,
141 output pipe closed early (e.g. '| head').

Run 'capacity <command> --help' for a command's options."""


def _build_parser():
    parser = Parser(prog=PROG, description=_DESCRIPTION, epilog=_EPILOG, allow_abbrev=False,
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    # not `required`: main() reports unknown flags first, then a missing command
    subparsers = parser.add_subparsers(dest="command", metavar="<command>", title="commands")
    commands = {name: module.add(subparsers) for name, module in SUBCOMMANDS.items()}
    return parser, commands


def main(argv=None):
    """Run the ``capacity`` command with ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    try:
        status = _main(argv)
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
        return status
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE


def _silence_stdout():
    """Point stdout at /dev/null so that the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (AttributeError, OSError, ValueError):  # stdout without a file descriptor (tests)
        pass


def _main(argv):
    parser, commands = _build_parser()
    try:
        args, extras = parser.parse_known_args(argv)
        if extras:
            sub = getattr(args, "parser", None) or commands.get(args.command, parser)
            argv_list = sys.argv[1:] if argv is None else list(argv)
            if args.command in argv_list and set(extras) & set(argv_list[:argv_list.index(args.command)]):
                sub = parser  # an unknown flag before the command is the top level's
            sub.error(unrecognized_message(sub, extras))
        if args.command is None:
            parser.error(f"a command is required: {', '.join(commands)}")
    except SystemExit as exc:  # --help, --version and usage errors (already printed)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    prog = (getattr(args, "parser", None) or commands[args.command]).prog
    try:
        return args.run(args)
    except CommandError as exc:
        hint = f" (see '{prog} --help')" if exc.status == EXIT_USAGE else ""
        print(f"{prog}: error: {exc}{hint}", file=sys.stderr)
        return exc.status
    except KeyboardInterrupt:
        path = getattr(args, "store_path", None)
        kept = f"; finished results are kept in {path} (rerun the same command to resume)" if path else ""
        print(f"{prog}: interrupted{kept}", file=sys.stderr)
        return 130
    except BrokenPipeError:
        raise
    except (ValueError, TypeError) as exc:  # the library refusing a value the command passed on
        print(f"{prog}: error: {library_message(exc)} (see '{prog} --help')", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # never a traceback, unless asked for
        if os.environ.get("CAPACITY_DEBUG"):
            traceback.print_exc()
        message = " ".join(f"{type(exc).__name__}: {exc}".split())
        print(f"{prog}: error: internal error: {message} (set CAPACITY_DEBUG=1 for the traceback)",
              file=sys.stderr)
        return EXIT_NUMERICAL
