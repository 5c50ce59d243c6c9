"""``capacity figures``: regenerate the project's figures from the scripts under ``figures/``."""
import sys

from ._common import EXIT_OK, CommandError, add_subcommand


def run(args, out=None):
    out = sys.stdout if out is None else out
    from .. import plotting  # matplotlib is imported only here

    try:
        available = plotting.list_figures()
    except FileNotFoundError as exc:
        raise CommandError(str(exc)) from None
    if args.list:
        width = max(len(s) for s in available)
        for slug, info in available.items():
            print(f"{slug:<{width}}  {info.description}", file=out)
        return EXIT_OK
    if args.all and args.slugs:
        raise CommandError("give figure slugs or --all, not both")
    if not args.all and not args.slugs:
        raise CommandError(f"give one or more figure slugs or --all; available: {', '.join(available)}")
    try:
        paths = plotting.run_figures(None if args.all else args.slugs, quick=args.quick, outdir=args.outdir,
                                     recompute=args.recompute, progress=None)
    except ValueError as exc:
        raise CommandError(" ".join(str(exc).split())) from None
    except OSError as exc:
        raise CommandError(f"--outdir: cannot write {args.outdir!r}: {exc}") from None
    for path in paths:
        print(path, file=out)
    return EXIT_OK


DESCRIPTION = """\
Regenerate the project's figures (figures/fig_<slug>.py: compute -> plot).

Each figure's data are cached beside its PNG and PDF with a provenance sidecar
(parameters, seed, inputs' hashes, package version, git commit, date), so
restyling never recomputes; --recompute ignores the cache.  --quick uses small
parameters (seconds per figure).  Needs a source checkout (the figures/ folder)."""

EPILOG = """\
examples:
  capacity figures --list
  capacity figures --all                    every figure into figures/out
  capacity figures pc_scaling collapse --quick --outdir /tmp/figs

exit status: 0 ok, 2 bad input."""


def add(subparsers):
    sub = add_subcommand(subparsers, "figures", help="regenerate figures (PNG + PDF) from the scripts under figures/",
                         description=DESCRIPTION, epilog=EPILOG)
    sub.add_argument("slugs", nargs="*", metavar="SLUG", help="figures to make (see --list)")
    sub.add_argument("--all", action="store_true", help="make every figure")
    sub.add_argument("--list", action="store_true", help="list the figures and exit")
    sub.add_argument("--quick", action="store_true", help="small parameters (seconds per figure)")
    sub.add_argument("--outdir", default=None, metavar="DIR", help="output folder (default figures/out)")
    sub.add_argument("--recompute", action="store_true", help="ignore cached data")
    sub.set_defaults(run=run)
    return sub
