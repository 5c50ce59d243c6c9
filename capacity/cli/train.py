"""``capacity train``: gradient-trained networks against the capacity bound (docs/nets.md).

The experiments, their runners and descriptions come from the registry
:data:`capacity.nets.experiments.EXPERIMENTS`; this module only parses, calls and prints.
"""
import contextlib
import os
import sys

from ._common import (EXIT_OK, PROG, CommandError, StoreOnce, add_progress_flag, add_store_flags, add_subcommand,
                      library_message, parse_int, parse_store, print_json, store_rows, suggestion, sweep_errors)


def _counting_store(path):
    """The results file at ``path``, opened for the run, counting the tasks found in it (reused) as
    the experiment's sweeps look them up; everything else is the store's own behaviour."""
    from ..sweeps import ResultsStore

    class CountingStore(ResultsStore):
        reused = 0

        def get(self, task):
            result = super().get(task)
            if result is not None:
                self.reused += 1
            return result

    return CountingStore(path)


def _remove_if_empty(path):
    """Remove a results file this run created but stored nothing in (and its SQLite side files)."""
    if store_rows(path) == 0:
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(OSError):
                os.remove(path + suffix)


def run(args, out=None):
    out = sys.stdout if out is None else out
    from ..nets import resolve_device
    from ..nets.experiments import ALIASES, EXPERIMENTS, load_experiment

    name = ALIASES.get(args.experiment, args.experiment)
    if name not in EXPERIMENTS:
        allowed = list(EXPERIMENTS) + list(ALIASES)
        raise CommandError(f"EXPERIMENT must be one of {', '.join(allowed)}; got {args.experiment!r}"
                           + suggestion(args.experiment, allowed))
    seed = parse_int("--seed", args.seed or "0", 0)
    jobs = parse_int("--jobs", args.jobs or "1", 1, 256)
    path = args.store_path = parse_store(args, f"train_{name}.sqlite")
    before = store_rows(path)
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

    created = path is not None and not os.path.exists(path)
    with sweep_errors(path, "run"):
        store = None if path is None else _counting_store(path)
        try:
            res = runner(quick=args.quick, device=args.device, seed=seed, store=store, jobs=jobs,
                         progress=args.progress)
        except BaseException:
            if created:
                store.close()
                _remove_if_empty(path)
            raise
        finally:
            if store is not None:
                store.close()
    if store is not None:
        computed = store_rows(path) - before
        print(f"{PROG} train: store {path}: {store.reused + computed} runs, {store.reused} reused from it, "
              f"{computed} computed now", file=sys.stderr)
    if args.json:
        print_json(res.to_dict(), out)
    else:
        print(res.format_table(), file=out)
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
  capacity train linear --jobs 2                the full N1 grid (GD p50 vs LP p50 vs theory p_c)
  capacity train transformer --device auto --json --no-progress

At the end of a stored run, stderr says how many runs were reused from --store
and how many were computed now.

exit status: 0 ok, 1 a run failed (rerun to retry), 2 bad input, 141 output pipe
closed early."""


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
    add_store_flags(sub, "run", default="train_<experiment>.sqlite")
    add_progress_flag(sub)
    sub.add_argument("--json", action="store_true", help="machine-readable output (progress stays on stderr)")
    sub.set_defaults(run=run)
    return sub
