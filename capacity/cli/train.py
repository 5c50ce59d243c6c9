"""``capacity train``: gradient-trained networks against the capacity bound (docs/nets.md).

The experiments, their runners and descriptions come from the registry
:data:`capacity.nets.experiments.EXPERIMENTS` (and :data:`_EXTRA`: ``multihop``, docs/multihop.md);
this module only parses, calls and prints.  ``--hops K`` and ``--cot`` / ``--no-cot`` belong to
``multihop`` only.
"""
import contextlib
import os
import sys

from ._common import (EXIT_OK, PROG, CommandError, StoreOnce, add_progress_flag, add_store_flags, add_subcommand,
                      library_message, parse_int, parse_store, print_json, store_rows, suggestion, sweep_errors)


def _extra_experiments():
    """Experiments run by ``capacity train`` beside the registry: name -> Experiment."""
    from ..nets.experiments import Experiment

    return {"multihop": Experiment("capacity.nets.experiments.multihop", "run_multihop",
                                   "multi-hop recall with / without chain-of-thought: minimal widths vs k", True)}


def _load(name, experiments):
    """The runner of ``name`` (registry or :func:`_extra_experiments`)."""
    import importlib

    from ..nets.experiments import EXPERIMENTS, load_experiment

    if name in EXPERIMENTS:
        return load_experiment(name)
    entry = experiments[name]
    if entry.needs_torch:
        from ..nets import _torch

        _torch.require_torch()
    return getattr(importlib.import_module(entry.module), entry.runner)


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
    from ..nets.experiments import ALIASES, EXPERIMENTS

    experiments = {**EXPERIMENTS, **_extra_experiments()}
    name = ALIASES.get(args.experiment, args.experiment)
    if name not in experiments:
        allowed = list(experiments) + list(ALIASES)
        raise CommandError(f"EXPERIMENT must be one of {', '.join(allowed)}; got {args.experiment!r}"
                           + suggestion(args.experiment, allowed))
    extra = {}
    if name == "multihop":
        from ..nets.models.multihop import HOPS_MAX

        if args.hops is not None:
            extra["hops"] = parse_int("--hops", args.hops, 1, HOPS_MAX)
        extra["cot"] = args.cot
    else:
        for flag, given in (("--hops", args.hops is not None), ("--cot" if args.cot else "--no-cot",
                                                                 args.cot is not None)):
            if given:
                raise CommandError(f"{flag} is only for the multihop experiment; got EXPERIMENT {args.experiment!r}")
    seed = parse_int("--seed", args.seed or "0", 0)
    jobs = parse_int("--jobs", args.jobs or "1", 1, 256)
    path = args.store_path = parse_store(args, f"train_{name}.sqlite")
    before = store_rows(path)
    try:
        if not experiments[name].needs_torch:
            if args.device == "cuda":
                raise CommandError(f"--device cuda: {name} runs in NumPy on the CPU; use --device cpu or auto")
        else:
            resolve_device(args.device)
        runner = _load(name, experiments)
    except ImportError as exc:
        raise CommandError(str(exc)) from None
    except ValueError as exc:
        raise CommandError(f"--device: {library_message(exc)}") from None

    created = path is not None and not os.path.exists(path)
    with sweep_errors(path, "run"):
        store = None if path is None else _counting_store(path)
        try:
            res = runner(quick=args.quick, device=args.device, seed=seed, store=store, jobs=jobs,
                         progress=args.progress, **extra)
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

    experiments = {**EXPERIMENTS, **_extra_experiments()}
    return ("Train networks by gradient descent and compare what they store with the capacity\n"
            "theory (docs/nets.md).  torch is optional: pip install torch==2.13.0 'capacity[torch]'.\n\n"
            "experiments:\n" + "\n".join(f"  {k:<12} {v.description}" for k, v in experiments.items()) + "\n\n"
            "Every finished training run is committed to the SQLite --store at once; rerunning\n"
            "the same command resumes without repeating a run.  CPU by default; bit-reproducible\n"
            "on CPU for a given --seed.")


EPILOG = """\
examples:
  capacity train linear --quick                 seconds: a tiny N1 sweep
  capacity train linear --jobs 2                the full N1 grid (GD p50 vs LP p50 vs theory p_c)
  capacity train transformer --device auto --json --no-progress
  capacity train multihop --hops 3 --cot --quick   k = 1..3 with chain-of-thought only

At the end of a stored run, stderr says how many runs were reused from --store
and how many were computed now.

exit status: 0 ok, 1 a run failed (rerun to retry), 2 bad input, 141 output pipe
closed early."""


def add(subparsers):
    from ..nets.experiments import EXPERIMENTS

    names = list(EXPERIMENTS) + list(_extra_experiments())
    sub = add_subcommand(subparsers, "train",
                         help="train networks by gradient descent (torch) and compare with the capacity bound",
                         description=_description(), epilog=EPILOG)
    sub.add_argument("experiment", metavar="EXPERIMENT", help=f"one of {', '.join(names)}")
    sub.add_argument("--device", choices=("cpu", "cuda", "auto"), default="cpu",
                     help="torch device (default cpu; auto = cuda when available)")
    sub.add_argument("--quick", action="store_true", help="tiny grid (seconds)")
    sub.add_argument("--seed", action=StoreOnce, metavar="S", help="base seed (default 0)")
    sub.add_argument("--jobs", action=StoreOnce, metavar="N", help="worker processes (default 1)")
    sub.add_argument("--hops", action=StoreOnce, metavar="K",
                     help="multihop only: largest number of hops, k = 1..K are run (default 4; quick 3)")
    cot = sub.add_mutually_exclusive_group()
    cot.add_argument("--cot", dest="cot", action="store_const", const=True, default=None,
                     help="multihop only: chain-of-thought answers only")
    cot.add_argument("--no-cot", dest="cot", action="store_const", const=False,
                     help="multihop only: direct answers only (composite relations, depth-k stack)")
    add_store_flags(sub, "run", default="train_<experiment>.sqlite")
    add_progress_flag(sub)
    sub.add_argument("--json", action="store_true", help="machine-readable output (progress stays on stderr)")
    sub.set_defaults(run=run)
    return sub
