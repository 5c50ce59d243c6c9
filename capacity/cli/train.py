"""``capacity train``: gradient-trained networks against the capacity bound (docs/nets.md).

The experiments, their runners and descriptions come from the registry
:data:`capacity.nets.experiments.EXPERIMENTS`; this module only parses, calls and prints.
"""
import sys

from ._common import (EXIT_NUMERICAL, EXIT_OK, CommandError, StoreOnce, add_subcommand, library_message,
                      parse_int, print_json)


def run(args, out=None):
    out = sys.stdout if out is None else out
    from ..nets import resolve_device
    from ..nets.experiments import ALIASES, EXPERIMENTS, load_experiment

    name = ALIASES.get(args.experiment, args.experiment)
    if name not in EXPERIMENTS:
        allowed = ", ".join(list(EXPERIMENTS) + list(ALIASES))
        raise CommandError(f"experiment must be one of {allowed}; got {args.experiment!r}")
    seed = parse_int("--seed", args.seed or "0", 0)
    jobs = parse_int("--jobs", args.jobs or "1", 1, 256)
    store = None if args.no_store else (args.store or f"train_{name}.sqlite")
    try:
        if not EXPERIMENTS[name].needs_torch:
            if args.device == "cuda":
                raise CommandError(f"--device cuda: {name} runs in NumPy on the CPU; use --device cpu or auto")
        else:
            resolve_device(args.device)
        runner = load_experiment(name)
    except ImportError as exc:
        raise CommandError(str(exc)) from None
    except ValueError as exc:
        raise CommandError(f"--device: {library_message(exc)}") from None

    from ..sweeps import SweepError

    try:
        res = runner(quick=args.quick, device=args.device, seed=seed, store=store, jobs=jobs,
                     progress=None if not args.json else False)
    except (ValueError, TypeError) as exc:
        raise CommandError(library_message(exc)) from None
    except SweepError as exc:
        raise CommandError(f"{len(exc.failures)} run(s) failed; rerun to retry them: {library_message(exc)}",
                           EXIT_NUMERICAL) from None
    except OSError as exc:
        raise CommandError(f"--store: cannot use {store!r}: {exc}") from None
    if args.json:
        print_json(res.to_dict(), out)
    else:
        print(res.format_table(), file=out)
        if store is not None:
            print(f"results stored in {store} (rerun the same command to resume)", file=out)
    return EXIT_OK


def _description():
    from ..nets.experiments import EXPERIMENTS  # the registry imports no torch

    return ("Train networks by gradient descent and compare what they store with the capacity\n"
            "theory (docs/nets.md).  torch is optional: pip install torch==2.13.0 'capacity[torch]'.\n\n"
            "experiments:\n" + "\n".join(f"  {k:<12} {v.description}" for k, v in EXPERIMENTS.items()) + "\n\n"
            "Every finished training run is committed to the SQLite --store at once; rerunning\n"
            "the same command resumes without repeating a run.  CPU by default; bit-reproducible\n"
            "on CPU for a given --seed.")


EPILOG = """\
examples:
  capacity train linear --quick                 seconds: a tiny N1 sweep
  capacity train linear --jobs 2                the N1 table (GD p50 vs LP p50 vs theory p_c)
  capacity train transformer --device auto --json

exit status: 0 ok, 1 a run failed (rerun to retry), 2 bad input."""


def add(subparsers):
    from ..nets.experiments import EXPERIMENTS

    sub = add_subcommand(subparsers, "train",
                         help="train networks by gradient descent (torch) and compare with the capacity bound",
                         description=_description(), epilog=EPILOG)
    sub.add_argument("experiment", metavar="EXPERIMENT", help=f"one of {', '.join(EXPERIMENTS)}")
    sub.add_argument("--device", choices=("cpu", "cuda", "auto"), default="cpu",
                     help="torch device (default cpu; auto = cuda when available)")
    sub.add_argument("--quick", action="store_true", help="tiny grid (seconds)")
    sub.add_argument("--seed", action=StoreOnce, metavar="S", help="base seed (default 0)")
    sub.add_argument("--jobs", action=StoreOnce, metavar="N", help="worker processes (default 1)")
    sub.add_argument("--store", default=None, metavar="FILE",
                     help="SQLite results file, committed per run (default train_<experiment>.sqlite)")
    sub.add_argument("--no-store", action="store_true", help="keep results in memory only")
    sub.add_argument("--json", action="store_true", help="machine-readable output")
    sub.set_defaults(run=run)
    return sub
