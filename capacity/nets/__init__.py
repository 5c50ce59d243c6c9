"""Gradient-trained memories and transformers (spec/nets.md), torch optional.

Importing :mod:`capacity.nets` never imports torch; each experiment module does so
lazily through :func:`capacity.nets._torch.require_torch`, which raises an
ImportError naming ``pip install capacity[torch]`` when torch is absent.

Experiments (each ``run_*`` returns a frozen result object with ``to_dict()`` and
persists one record per finished task through :func:`capacity.sweeps.run_sweep`):

- :mod:`.linear` — N1: GD/cross-entropy trained linear and two-layer memories vs
  the LP simulator and the theory p_c(d).
- :mod:`.transformer` — N2: one-layer transformer with frozen random embeddings on
  (subject, relation) -> attribute facts.
- :mod:`.retrieval` — N3: marked-token retrieval with random embeddings.
- :mod:`.geometric` — N4: learned subject embeddings (geometric recall), the
  hand-built construction and the frozen-embedding control.
- :mod:`.node2vec` — N5: spectral bias of Node2Vec embeddings on small graphs
  (NumPy only).
- :mod:`.pathstar` — N5 option: a path-star graph memorised in a small
  transformer's weights; held-out first-hop accuracy, frozen vs trainable embeddings.
- :mod:`.probes` — mechanism probes of the N4 model (superposition, gating,
  causal swap, zero-shot transfer).

Devices: ``"cpu"`` (default), ``"cuda"``, ``"auto"`` (cuda when available).
"""
from ._torch import DEVICES, require_torch, resolve_device, seeded_generator, torch_threads

__all__ = ["DEVICES", "require_torch", "resolve_device", "seeded_generator", "torch_threads"]
