"""``capacity figures``: regenerate the project's figures from the scripts under ``figures/``."""
import os
import sys

from ._common import EXIT_OK, CommandError, add_progress_flag, add_subcommand, suggestion


def _check_outdir(outdir):
    """Refuse an --outdir that cannot be a folder we write into, before any figure is computed."""
    if outdir is None:
        return
    if not outdir.strip():
        raise CommandError(f"--outdir must be a folder path; got {outdir!r}")
    if os.path.exists(outdir) and not os.path.isdir(outdir):
        raise CommandError(f"--outdir must be a folder; got {outdir!r}, which is a file")
    existing = outdir
    while not os.path.exists(existing):  # the nearest existing parent: the folders are created there
        parent = os.path.dirname(os.path.abspath(existing))
        if parent == os.path.abspath(existing):
            break
        existing = parent
    if os.path.isdir(existing) and not os.access(existing, os.W_OK | os.X_OK):
        raise CommandError(f"--outdir must be a folder we can write; got {outdir!r} ({existing!r} is not writable)")
    if os.path.exists(existing) and not os.path.isdir(existing):
        raise CommandError(f"--outdir must be a folder path; got {outdir!r} ({existing!r} is a file)")


def run(args, out=None):
    out = sys.stdout if out is None else out
    if args.list and (args.slugs or args.all):
        raise CommandError("--list takes no figure slugs and no --all (it only lists the figures)")
    if args.all and args.slugs:
        raise CommandError("give figure slugs or --all, not both")
    _check_outdir(args.outdir)
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
    if not args.all and not args.slugs:
        raise CommandError(f"give one or more figure slugs (SLUG) or --all; available: {', '.join(available)}")
    for slug in args.slugs:
        if slug not in available:
            raise CommandError(f"unknown figure {slug!r}: SLUG must be one of {', '.join(available)}"
                               + suggestion(slug, available))
    try:
        paths = plotting.run_figures(None if args.all else args.slugs, quick=args.quick, outdir=args.outdir,
                                     recompute=args.recompute, progress=args.progress)
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
  capacity figures pc_scaling collapse --quick --outdir /tmp/figs --no-progress

exit status: 0 ok, 2 bad input (before any figure is computed), 141 output pipe
closed early."""


def add(subparsers):
    sub = add_subcommand(subparsers, "figures", help="regenerate figures (PNG + PDF) from the scripts under figures/",
                         description=DESCRIPTION, epilog=EPILOG)
    sub.add_argument("slugs", nargs="*", metavar="SLUG", help="figures to make (see --list)")
    sub.add_argument("--all", action="store_true", help="make every figure")
    sub.add_argument("--list", action="store_true", help="list the figures and exit")
    sub.add_argument("--quick", action="store_true", help="small parameters (seconds per figure)")
    sub.add_argument("--outdir", default=None, metavar="DIR", help="output folder (default figures/out)")
    sub.add_argument("--recompute", action="store_true", help="ignore cached data")
    add_progress_flag(sub)
    sub.set_defaults(run=run)
    return sub
