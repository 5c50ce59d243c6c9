"""The experiments of docs/nets.md (N1 ... N5), one driver module each, and their registry.

Each driver module holds the ``run_*`` function of one experiment, the task functions it hands
to :func:`capacity.sweeps.run_sweep` (module level, so that they pickle), its grids and its
result classes (all :class:`capacity.results.RowsResult`: ``rows``, ``settings``, ``warnings``,
plus ``format_table()``).  The models they train live in :mod:`capacity.nets.models`.

Every runner takes ``run(quick=False, device="cpu", seed=0, store=None, jobs=1, progress=None)``
(and experiment-specific keywords).  :data:`EXPERIMENTS` maps the names of ``capacity train`` to
them; importing this package imports neither torch nor any driver module
(:func:`load_experiment` does, on demand).

>>> list(EXPERIMENTS)
['linear', 'transformer', 'retrieval', 'geometric', 'probes', 'pathstar', 'node2vec']
>>> EXPERIMENTS["node2vec"].needs_torch, ALIASES["n5"]
(False, 'node2vec')
>>> load_experiment("n5").__name__
'run_n5'
"""
import importlib
from typing import NamedTuple

__all__ = ["Experiment", "EXPERIMENTS", "ALIASES", "load_experiment"]


class Experiment(NamedTuple):
    """One registered experiment: the driver module (dotted path), its runner's name, a one-line
    description and whether it needs torch."""

    module: str
    runner: str
    description: str
    needs_torch: bool


_PKG = __name__

#: ``capacity train`` name -> :class:`Experiment`, in the order of docs/nets.md
EXPERIMENTS = {
    "linear": Experiment(f"{_PKG}.n1", "run_n1",
                         "N1: GD/cross-entropy linear and two-layer memories vs the LP and p_c(d)", True),
    "transformer": Experiment(f"{_PKG}.n2", "run_n2",
                              "N2: one-layer transformer, frozen random embeddings, factual recall", True),
    "retrieval": Experiment(f"{_PKG}.n3", "run_n3", "N3: marked-token retrieval with random embeddings", True),
    "geometric": Experiment(f"{_PKG}.n4", "run_n4",
                            "N4: learned subject embeddings (geometric recall) vs the associative bound", True),
    "probes": Experiment(f"{_PKG}.probes", "run_probes",
                         "N4 mechanism probes: superposition, relation gating, causal swap, transfer", True),
    "pathstar": Experiment(f"{_PKG}.pathstar", "run_pathstar",
                           "N5 option: in-weights path-star transformer, held-out first hop", True),
    "node2vec": Experiment(f"{_PKG}.n5", "run_n5", "N5: spectral bias of Node2Vec embeddings on small graphs", False),
}

#: short names: the experiment numbers of docs/nets.md
ALIASES = {"n1": "linear", "n2": "transformer", "n3": "retrieval", "n4": "geometric", "n5": "node2vec"}


def load_experiment(name):
    """The runner of experiment ``name`` (a key of :data:`EXPERIMENTS` or of :data:`ALIASES`).

    Raises ValueError naming the allowed names for an unknown ``name``, and ImportError with the
    install command when the experiment needs torch and torch is missing.
    """
    key = ALIASES.get(name, name) if isinstance(name, str) else None
    if key not in EXPERIMENTS:
        allowed = ", ".join(list(EXPERIMENTS) + list(ALIASES))
        raise ValueError(f"`name` must be one of {allowed}; got {name!r}")
    entry = EXPERIMENTS[key]
    if entry.needs_torch:
        from .._torch import require_torch

        require_torch()
    return getattr(importlib.import_module(entry.module), entry.runner)
