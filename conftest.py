"""Session setup shared by the tests in tests/ and the doctests of capacity/ (pytest reads it first).

``CAPACITY_BLOCK_TORCH=1`` makes ``import torch`` fail exactly as it does where torch is not
installed, so that one machine can check that the default test run passes without the optional
torch extra (the CI runs the suite a second time so).  Tests that need torch skip through
``pytest.importorskip("torch")``; the doctests of the modules in :data:`TORCH_DOCTESTS` run torch
and are skipped when it cannot be imported.
"""
import importlib.abc
import os
import sys

import pytest

#: Modules with doctests that run torch (with torch blocked, the doctests of these modules, and only
#: these, fail; their torch-free doctests are skipped with them).
TORCH_DOCTESTS = frozenset({
    "capacity.nets.experiments.n1", "capacity.nets.experiments.n3", "capacity.nets.experiments.n4",
    "capacity.nets.experiments.probes", "capacity.nets.models.geometric", "capacity.nets.models.linear",
    "capacity.nets.models.pathstar", "capacity.nets.models.retrieval", "capacity.nets.experiments.protocol",
    "capacity.nets.models.protocol",
})


class _BlockTorch(importlib.abc.MetaPathFinder):
    """A meta-path finder that refuses ``torch`` and its submodules (as if not installed)."""

    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ModuleNotFoundError(f"No module named {name!r} (blocked by CAPACITY_BLOCK_TORCH=1)", name=name)
        return None


if os.environ.get("CAPACITY_BLOCK_TORCH") == "1":
    if any(m == "torch" or m.startswith("torch.") for m in sys.modules):
        raise RuntimeError("CAPACITY_BLOCK_TORCH=1 but torch was imported before the test session started")
    sys.meta_path.insert(0, _BlockTorch())


def _torch_available():
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def _doctest_module(item):
    """The module of a doctest item named ``module.function`` or ``module.Class.method``."""
    parts = item.name.split(".")
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in sys.modules:
            return ".".join(parts[:n])
    return item.name


def pytest_collection_modifyitems(config, items):
    if _torch_available():
        return
    skip = pytest.mark.skip(reason="doctest needs torch (not installed)")
    for item in items:
        if isinstance(item, pytest.DoctestItem) and _doctest_module(item) in TORCH_DOCTESTS:
            item.add_marker(skip)
