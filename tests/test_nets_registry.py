"""The experiment registry of capacity.nets (what `capacity train` dispatches on)."""
import importlib
import inspect
import subprocess
import sys

import pytest

from capacity.nets.experiments import ALIASES, EXPERIMENTS, Experiment, load_experiment

RUNNER_KEYWORDS = ("quick", "device", "seed", "store", "jobs", "progress")


def test_names_aliases_and_order():
    assert list(EXPERIMENTS) == ["linear", "transformer", "retrieval", "geometric", "probes", "pathstar", "node2vec"]
    assert ALIASES == {"n1": "linear", "n2": "transformer", "n3": "retrieval", "n4": "geometric", "n5": "node2vec"}
    assert all(isinstance(e, Experiment) and e.description for e in EXPERIMENTS.values())
    assert [k for k, e in EXPERIMENTS.items() if not e.needs_torch] == ["node2vec"]
    assert not any("spec/" in e.description or ".md" in e.description for e in EXPERIMENTS.values())


@pytest.mark.parametrize("name", list(EXPERIMENTS))
def test_every_runner_exists_with_the_common_keywords(name):
    # importing a driver module imports no torch, so this runs without it too
    entry = EXPERIMENTS[name]
    runner = getattr(importlib.import_module(entry.module), entry.runner)
    params = inspect.signature(runner).parameters
    for kw in RUNNER_KEYWORDS:
        assert kw in params and params[kw].kind is inspect.Parameter.KEYWORD_ONLY, (name, kw)


def test_load_experiment_resolves_aliases():
    run_n5 = load_experiment("n5")
    assert run_n5 is load_experiment("node2vec") and run_n5.__name__ == "run_n5"


@pytest.mark.torch
def test_load_experiment_returns_the_torch_runners():
    pytest.importorskip("torch")
    from capacity.nets.experiments.n1 import run_n1

    assert load_experiment("linear") is load_experiment("n1") is run_n1
    for name, entry in EXPERIMENTS.items():
        assert load_experiment(name).__name__ == entry.runner


@pytest.mark.parametrize("bad", ["nonsense", "N1", "", None, 3])
def test_unknown_name_lists_the_allowed_ones(bad):
    with pytest.raises(ValueError, match="`name` must be one of linear, .*node2vec, n1, .*n5; got"):
        load_experiment(bad)


def test_missing_torch_is_an_import_error_with_the_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ImportError
    with pytest.raises(ImportError, match=r"pip install .*capacity\[torch\]"):
        load_experiment("transformer")
    assert load_experiment("node2vec").__name__ == "run_n5"  # NumPy only: no torch needed


def test_importing_the_registry_imports_no_torch():
    code = ("import sys, capacity.nets.experiments as e, capacity.nets.models; "
            "e.load_experiment('n5'); assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
