"""Repository-level pytest configuration.

torch is an optional extra: without it, the doctests of the torch experiment modules
(collected by --doctest-modules) are skipped here, as tests/ skips its torch tests with
pytest.importorskip.
"""
collect_ignore_glob = []
try:
    import torch  # noqa: F401
except ImportError:  # pragma: no cover - exercised only without torch
    collect_ignore_glob = ["capacity/nets/linear.py", "capacity/nets/transformer.py", "capacity/nets/retrieval.py",
                           "capacity/nets/geometric.py", "capacity/nets/probes.py", "capacity/nets/node2vec.py"]
