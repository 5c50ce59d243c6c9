"""Repository-level pytest configuration.

torch is an optional extra: without it, the doctests of the torch-needing modules of
capacity.nets (collected by --doctest-modules) are skipped here, as tests/ skips its torch tests
with pytest.importorskip.  capacity.nets.models.node2vec, .facts, capacity.nets.experiments.n5
and the registry run in NumPy and stay collected.
"""
collect_ignore_glob = []
try:
    import torch  # noqa: F401
except ImportError:  # pragma: no cover - exercised only without torch
    collect_ignore_glob = [
        f"capacity/nets/{sub}/{name}.py"
        for sub, names in (("models", ("linear", "transformer", "retrieval", "geometric", "probes", "pathstar")),
                           ("experiments", ("n1", "n2", "n3", "n4", "probes", "pathstar")))
        for name in names
    ]
