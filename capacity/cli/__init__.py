"""The ``capacity`` command: parse -> call the library -> print (or ``--json``).

One module per subcommand (:mod:`.query`, :mod:`.simulate`, :mod:`.threshold`,
:mod:`.figures`, :mod:`.train`), each with ``add(subparsers)`` building its parser and ``run(args)``
returning an exit status; what they share (parsing, printing, one-line errors,
exit codes) is in :mod:`._common`.  No numerics live here: every printed number is
a field of a library result.  A new subcommand is a new module registered in
:data:`SUBCOMMANDS`.

Exit status: 0 success; 2 bad input (argparse's usage errors, values we cannot
parse, and the library's ``ValueError``/``TypeError``); 1 numerical failure
(:class:`~capacity.exceptions.ConvergenceError` or a result with
``success=False``).  Every error is one line on stderr,
``capacity <sub>: error: <message>``, with the library's backtick argument
names (`` `kappa` ``) replaced by the command-line flags (``--kappa``).
"""
import argparse
import sys

from .. import __version__
from . import figures, query, simulate, threshold, train
from ._common import EXIT_USAGE, PROG, CommandError, Parser

__all__ = ["main"]

SUBCOMMANDS = {"query": query, "simulate": simulate, "threshold": threshold, "figures": figures, "train": train}

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
--model' also covers Hebbian, two-layer and listwise memories."""

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
    except CommandError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return exc.status
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
