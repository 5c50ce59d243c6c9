"""Benchmark reports depend only on their stores: no invocation wall time in a written file.

The scripts in benchmarks/ commit every finished trial to a SQLite store and write a markdown report
from it; rerunning one against a complete store must rewrite the same bytes, so the wall time of the
invocation goes to stdout only (store-derived totals such as "N s of task time" stay in the file).

Default run: the scripts' source (no timing phrase in any string that is not printed), the committed
reports, and the pure report functions on made-up rows (two calls, same text).  Slow tier: scripts
rerun from copies of their committed stores (nothing is recomputed), twice, byte-identical to each
other and to the committed report; the torch ones also carry the ``torch`` mark.
"""
import ast
import importlib.util
import os
import re
import shutil
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
RESULTS = BENCH / "results"

#: phrases that stamped the invocation's wall time into a written report
TIMING = re.compile(r"this invocation:|invocation took|this call took|total run time|wall time:|s this run"
                    r"|last invocation", re.IGNORECASE)

#: scripts that write a report file (their own results .md or docs/agreement.md)
REPORT_SCRIPTS = ("agreement_table", "results_accuracy", "results_hebbian", "results_listwise", "results_mechanism", "results_nets_n1",
                  "results_nets_n2", "results_nets_n3", "results_nets_n4", "results_nets_n5",
                  "results_nets_pathstar", "results_nets_probes", "results_protocol", "results_nets_multihop",
                  "results_thresholds", "results_two_layer")

#: reports regenerated from their committed stores (hebbian.md and listwise.md have no store: a rerun recomputes)
STORE_REPORTS = ("mechanism", "nets_n1", "nets_n2", "nets_n3", "nets_n4", "nets_n5", "nets_pathstar", "nets_probes",
                 "nets_multihop", "protocol", "thresholds", "two_layer")


def _load(name):
    """Import benchmarks/<name>.py as a module, leaving os.environ and sys.path as they were."""
    env, path = dict(os.environ), list(sys.path)
    try:
        spec = importlib.util.spec_from_file_location(f"_bench_{name}", BENCH / f"{name}.py")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
    finally:
        os.environ.clear()
        os.environ.update(env)
        sys.path[:] = path
    return mod


def _copy_store(name, tmp_path):
    dst = tmp_path / f"{name}.sqlite"
    shutil.copyfile(RESULTS / f"{name}.sqlite", dst)
    return dst


def _written_strings(tree):
    """String literals of a module that are not docstrings and not arguments of print()."""
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
            skip.update(id(n) for n in ast.walk(node))
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                skip.add(id(first.value))
    return [n.value for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in skip]


@pytest.mark.parametrize("name", REPORT_SCRIPTS)
def test_script_writes_no_invocation_time(name):
    tree = ast.parse((BENCH / f"{name}.py").read_text(encoding="utf-8"))
    bad = [s for s in _written_strings(tree) if TIMING.search(s)]
    assert bad == [], f"{name}.py puts the invocation's timing into its report: {bad}"


def test_timing_pattern_catches_the_old_lines():
    old = ["this invocation took 4 s (tasks already in the store are reused)", "Total run time 512 s",
           "Wall time: 71 s (one process).", "216 trials, 51 s this run).", "total 213 s in the last invocation",
           "(this invocation: 2 s wall,", "this call took 16 s"]
    assert all(TIMING.search(s) for s in old)
    assert not TIMING.search("holding 7285 s of task time (GD batches and LP trials); stored runs are reused.")


#: every committed report (those without a store are recomputed by a rerun, so they too must hold no timing)
ALL_REPORTS = STORE_REPORTS + ("accuracy", "hebbian", "listwise")


@pytest.mark.parametrize("name", ALL_REPORTS)
def test_committed_report_has_no_invocation_time(name):
    text = (RESULTS / f"{name}.md").read_text(encoding="utf-8")
    assert not TIMING.search(text), f"{name}.md: {TIMING.search(text).group(0)!r}"


def _fit(p50, lo, hi, method="logistic-mle"):
    return SimpleNamespace(p50=p50, ci_low=lo, ci_high=hi, method=method, success=True)


def test_agreement_report_is_a_function_of_its_rows():
    mod = _load("agreement_table")
    rows = [(8, "coupled", [14, 15, 16], _fit(15.2, 14.8, 15.6), 15.46, 0, "14:20/20 15:11/20 16:1/20"),
            (8, "decoupled", [14, 15, 16], _fit(15.5, 15.0, 16.0, "isotonic-interpolation"), 15.46, 1,
             "14:20/20 15:9/19 16:0/20")]
    a, b = mod.report(rows, 2026), mod.report(list(rows), 2026)
    assert a == b
    assert not TIMING.search(a)
    assert "seed 2026" in a and "| 8 | decoupled | 40 | 15.50 | [15.00, 16.00] | isotonic-interpolation |" in a


def _two_layer_rows():
    def cell(p50, lo, hi):
        return {"fit": _fit(p50, lo, hi), "points": [{"p": 20, "n_trials": 20, "n_feasible": 10, "n_infeasible": 10,
                                                      "n_not_found": 0}],
                "cpu_seconds": 12.0, "wall": 99.0, "n_undecided": 0, "n_infeasible": 10, "warnings": [],
                "found_by": {"alt: svd": 10}}
    return [{"d": 12, "m": 3, "frozen_pc": 18.0, "conj": 21.9, "one": 42.0, "trials": 20, "fgrid": [18],
             "tgrid": [30], "frozen": cell(18.1, 17.5, 18.6), "trained": cell(27.7, 27.0, 28.3)}]


def test_two_layer_report_is_a_function_of_its_rows(tmp_path):
    mod = _load("results_two_layer")
    store = tmp_path / "empty.sqlite"
    rows = _two_layer_rows()
    a = "\n".join(mod.report(rows, store))
    rows[0]["frozen"]["wall"] = rows[0]["trained"]["wall"] = 1.0  # the cells' wall times never reach the file
    b = "\n".join(mod.report(rows, store))
    assert a == b
    assert not TIMING.search(a)
    assert "24 s of trial time in the store" in a  # the store-derived total stays
    assert "working conjecture" not in a
    assert "the parameter-count conjecture, not supported by the certified results" in a


def test_two_layer_conjecture_note_follows_the_verdict():
    mod = _load("results_two_layer")
    rows = _two_layer_rows()
    assert mod.conjecture_note(rows).startswith("not supported by the certified results")
    rows[0]["trained"]["fit"] = _fit(22.0, 20.0, 24.0)  # interval straddles the conjecture (21.9)
    assert mod.conjecture_note(rows) == "tested against the certified results below (verdict: HOLDS (consistent))"


# ----------------------------------------------------------------- slow: rerun from the committed stores


def _rerun_twice(run, out1, out2):
    run(out1)
    run(out2)
    a, b = out1.read_bytes(), out2.read_bytes()
    assert a == b
    return a.decode("utf-8")


@pytest.mark.slow
def test_two_layer_rerun_is_byte_identical(tmp_path, capsys):
    mod = _load("results_two_layer")
    store = _copy_store("two_layer", tmp_path)
    text = _rerun_twice(lambda out: mod.main(["--store", str(store), "--out", str(out)]),
                        tmp_path / "a.md", tmp_path / "b.md")
    assert text == (RESULTS / "two_layer.md").read_text(encoding="utf-8")
    assert "results_two_layer: this invocation took" in capsys.readouterr().out  # the timing went to stdout


@pytest.mark.slow
def test_agreement_rerun_is_byte_identical(tmp_path):
    mod = _load("agreement_table")
    store = _copy_store("agreement", tmp_path)
    text = _rerun_twice(lambda out: mod.main(["--store", str(store), "--out", str(out)]),
                        tmp_path / "a.md", tmp_path / "b.md")
    assert not TIMING.search(text)
    committed = (ROOT / "docs" / "agreement.md").read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    assert len(rows) == 1 + 14 and all(line in committed.splitlines() for line in rows)  # header, 7 d x 2 models


@pytest.mark.slow
def test_thresholds_report_is_byte_identical(tmp_path):
    mod = _load("results_thresholds")
    store = _copy_store("thresholds", tmp_path)
    text = _rerun_twice(lambda out: mod.report(store, "gaussian", out, "python benchmarks/results_thresholds.py"),
                        tmp_path / "a.md", tmp_path / "b.md")
    assert text == (RESULTS / "thresholds.md").read_text(encoding="utf-8")


def _patched_rerun(name, argv, tmp_path, monkeypatch, stores=("STORE",), store_files=None):
    """Run benchmarks/<name>.py's main(argv) twice with its store(s) copied and OUT in tmp_path."""
    mod = _load(name)
    slug = name[len("results_"):]
    for attr, file in zip(stores, store_files or (slug,)):
        monkeypatch.setattr(mod, attr, _copy_store(file, tmp_path))
    outs = tmp_path / "a.md", tmp_path / "b.md"

    def run(out):
        monkeypatch.setattr(mod, "OUT", out)
        mod.main(list(argv))

    text = _rerun_twice(run, *outs)
    assert text == (RESULTS / f"{slug}.md").read_text(encoding="utf-8")


@pytest.mark.slow
def test_nets_n5_rerun_is_byte_identical(tmp_path, monkeypatch):
    _patched_rerun("results_nets_n5", [], tmp_path, monkeypatch)


@pytest.mark.slow
def test_mechanism_rerun_matches_the_committed_report(tmp_path):
    """About two minutes (the theory columns are recomputed, seeded); one run against the committed file."""
    mod = _load("results_mechanism")
    store, out = _copy_store("mechanism", tmp_path), tmp_path / "mechanism.md"
    mod.main(["--jobs", "1", "--store", str(store), "--out", str(out)])
    assert out.read_text(encoding="utf-8") == (RESULTS / "mechanism.md").read_text(encoding="utf-8")


TORCH_RERUNS = {  # name: (argv, module attributes holding store paths, their stores)
    "results_nets_n1": ([], ("STORE", "AGREEMENT"), ("nets_n1", "agreement")),
    "results_nets_n3": ([], ("STORE",), ("nets_n3",)),
    "results_nets_n4": (["--jobs", "2"], ("STORE",), ("nets_n4",)),
    "results_nets_pathstar": ([], ("STORE",), ("nets_pathstar",)),
    "results_nets_probes": ([], ("STORE",), ("nets_probes",)),
    "results_nets_multihop": ([], ("STORE",), ("nets_multihop",)),
    "results_protocol": (["--report"], ("STORE",), ("protocol",)),
}


@pytest.mark.slow
@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(TORCH_RERUNS))
def test_torch_rerun_is_byte_identical(name, tmp_path, monkeypatch, torch_one_thread):
    argv, attrs, files = TORCH_RERUNS[name]
    _patched_rerun(name, argv, tmp_path, monkeypatch, stores=attrs, store_files=files)


@pytest.mark.slow
@pytest.mark.torch
def test_nets_n2_rerun_is_byte_identical(tmp_path, torch_one_thread):
    mod = _load("results_nets_n2")
    store = _copy_store("nets_n2", tmp_path)
    text = _rerun_twice(lambda out: mod.main(["--store", str(store), "--out", str(out)]),
                        tmp_path / "a.md", tmp_path / "b.md")
    assert text == (RESULTS / "nets_n2.md").read_text(encoding="utf-8")
