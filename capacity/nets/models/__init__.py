"""The networks of docs/nets.md and how they are trained, apart from the experiments that drive them.

- :mod:`.linear` — N1: linear and two-layer memories trained by GD/cross-entropy on the
  simulator's instances.
- :mod:`.transformer` — N2: one-layer transformer with frozen random embeddings.
- :mod:`.retrieval` — N3: marked-token retrieval with one attention layer.
- :mod:`.facts` — the random-bijection fact table shared by N2 and N4.
- :mod:`.geometric` — N4: learned subject embeddings, the hand-built construction, the readout
  bound and the associative prediction.
- :mod:`.probes` — mechanism probes of the N4 model (superposition, gating, swap, transfer).
- :mod:`.node2vec` — N5: Node2Vec objective and spectral alignment (NumPy only).
- :mod:`.pathstar` — N5 option: a path-star graph memorised by a small transformer.

Importing this package (or any module in it) imports no torch; the functions that need torch
load it through :func:`capacity.nets.require_torch`.  The experiment drivers are in
:mod:`capacity.nets.experiments`.
"""
