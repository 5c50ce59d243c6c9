"""Gradient-trained memories and transformers against the capacity theory (docs/nets.md), torch optional.

Importing :mod:`capacity.nets` never imports torch; the functions that need it load it
lazily through :func:`capacity.nets.require_torch`, which raises an ImportError naming
``pip install capacity[torch]`` when torch is absent.

Layout: :mod:`capacity.nets.models` holds the networks and their training (one module per
model family), :mod:`capacity.nets.experiments` the experiment drivers (one module per
experiment, each ``run_*`` returning a :class:`capacity.results.RowsResult` with
``format_table()`` and persisting one record per finished task through
:func:`capacity.sweeps.run_sweep`) and the registry
:data:`capacity.nets.experiments.EXPERIMENTS` that ``capacity train`` uses:

- N1 ``linear`` (:func:`~capacity.nets.experiments.n1.run_n1`): GD/cross-entropy trained
  linear and two-layer memories vs the LP simulator and the theory p_c(d).
- N2 ``transformer`` (:func:`~capacity.nets.experiments.n2.run_n2`): one-layer transformer
  with frozen random embeddings on (subject, relation) -> attribute facts.
- N3 ``retrieval`` (:func:`~capacity.nets.experiments.n3.run_n3`): marked-token retrieval
  with random embeddings.
- N4 ``geometric`` (:func:`~capacity.nets.experiments.n4.run_n4`): learned subject embeddings
  (geometric recall), the hand-built construction and the frozen-embedding control; ``probes``
  (:func:`~capacity.nets.experiments.probes.run_probes`): mechanism probes of that model
  (superposition, gating, causal swap, zero-shot transfer).
- N5 ``node2vec`` (:func:`~capacity.nets.experiments.n5.run_n5`): spectral bias of Node2Vec
  embeddings on small graphs (NumPy only); ``pathstar``
  (:func:`~capacity.nets.experiments.pathstar.run_pathstar`): a path-star graph memorised in a
  small transformer's weights, held-out first-hop accuracy, frozen vs trainable embeddings.

Devices: ``"cpu"`` (default), ``"cuda"``, ``"auto"`` (cuda when available).
"""
from ._torch import DEVICES, require_torch, resolve_device, seeded_generator, torch_threads

__all__ = ["DEVICES", "require_torch", "resolve_device", "seeded_generator", "torch_threads"]
