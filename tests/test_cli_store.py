"""`capacity store ls|show|export`: what a results file holds, read without touching the file.

The file is written here with :class:`ResultsStore` directly (no solver work); every command is
checked against the store's own summary and records, and the file's bytes (and the folder's
listing) are checked unchanged afterwards.
"""
import csv
import hashlib
import io
import json
import os

import pytest

from capacity import cli
from capacity.sweeps import ResultsStore

TASKS = [({"experiment": "feasibility", "d": 5, "p": p, "trial": t, "seed": 0, "K": None},
          {"verdict": "feasible" if p < 12 else "infeasible", "kappa_hat": 0.25 if p < 12 else float("nan"),
           "rounds": 3 + t})
         for p in (10, 12, 14) for t in range(2)]
TASKS += [({"experiment": "threshold", "kind": "nested", "d": 5, "instance": i}, {"threshold": 11 + i})
          for i in range(3)]


@pytest.fixture
def results(tmp_path, monkeypatch):
    """A results file with two experiments; after the test it must be exactly as it was."""
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "results.sqlite"
    with ResultsStore(path) as store:
        for task, result in TASKS:
            store.put(task, result, seconds=0.5)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    listing = sorted(os.listdir(tmp_path))
    yield path
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, "the results file was modified"
    assert sorted(os.listdir(tmp_path)) == listing, "a file was created or left behind"


def run(capsys, *argv):
    status = cli.main(["store", *map(str, argv)])
    out, err = capsys.readouterr()
    return status, out, err


def test_ls_text(results, capsys):
    status, out, err = run(capsys, "ls", results)
    assert status == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == f"{results}: results-store format 1, 9 trials in 2 experiments"
    assert lines[1].split()[:2] == ["experiment", "trials"]
    rows = {line.split()[0]: line.split() for line in lines[2:]}
    assert rows["feasibility"][1] == "6" and rows["threshold"][1] == "3"
    assert "nested" in rows["threshold"]


def test_ls_json_is_the_store_summary(results, capsys):
    status, out, err = run(capsys, "ls", results, "--json")
    assert status == 0 and err == ""
    payload = json.loads(out)
    with ResultsStore(results, readonly=True) as store:
        summary = store.summary()
    assert payload["n_trials"] == 9 and isinstance(payload["n_trials"], int)
    assert [e["experiment"] for e in payload["experiments"]] == ["feasibility", "threshold"]
    assert [e["count"] for e in payload["experiments"]] == [e["count"] for e in summary["experiments"]]


def test_show_lists_parameters_and_versions(results, capsys):
    from capacity import __version__

    status, out, err = run(capsys, "show", results)
    assert status == 0 and err == ""
    assert "experiment feasibility: 6 trials" in out and "experiment threshold: 3 trials" in out
    assert f"package versions: {__version__} (6)" in out
    params = {line.split()[0]: line for line in out.splitlines() if line.startswith("    ")}
    assert params["p"].split(None, 1)[1] == "3 values: 10, 12, 14"
    assert params["K"].split(None, 1)[1] == "1 value: null"


def test_show_one_experiment(results, capsys):
    status, out, err = run(capsys, "show", results, "--experiment", "threshold", "--json")
    assert status == 0 and err == ""
    payload = json.loads(out)
    (entry,) = payload["experiments"]
    assert entry["experiment"] == "threshold" and entry["count"] == 3 and entry["kinds"] == {"nested": 3}
    assert entry["parameters"]["instance"] == {"n_distinct": 3, "values": [0, 1, 2]}


def test_export_csv_one_row_per_trial(results, capsys):
    status, out, err = run(capsys, "export", results, "--format", "csv")
    assert status == 0 and err == ""
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 9
    with ResultsStore(results, readonly=True) as store:
        records = list(store.records())
    assert [r["key"] for r in rows] == [rec.key for rec in records]
    first = rows[0]
    assert first["experiment"] == "feasibility" and first["task.p"] == "10" and first["task.K"] == ""
    assert first["result.verdict"] == "feasible" and float(first["result.kappa_hat"]) == 0.25
    assert rows[2]["result.kappa_hat"] == ""  # NaN: empty
    assert rows[6]["kind"] == "nested" and rows[6]["result.threshold"] == "11" and rows[6]["task.p"] == ""
    assert float(first["seconds"]) == 0.5


def test_export_json_round_trips_the_records(results, capsys):
    status, out, err = run(capsys, "export", results, "--format", "json", "--experiment", "feasibility")
    assert status == 0 and err == ""
    items = json.loads(out)
    assert len(items) == 6
    with ResultsStore(results, readonly=True) as store:
        records = list(store.records(experiment="feasibility"))
    for item, rec in zip(items, records):
        assert item["key"] == rec.key and item["task"] == rec.task
        assert item["result"]["verdict"] == rec.result["verdict"]
        assert isinstance(item["task"]["p"], int)
    assert items[2]["result"]["kappa_hat"] is None  # NaN as null: strict JSON


def test_export_to_a_file(results, tmp_path, capsys):
    target = tmp_path / "out" / "trials.csv"
    target.parent.mkdir()
    status, out, err = run(capsys, "export", results, "--format", "csv", "--output", target)
    assert status == 0 and out == ""
    assert err.strip() == f"capacity store export: wrote {target}"
    with target.open(newline="") as f:
        assert len(list(csv.DictReader(f))) == 9
    assert os.listdir(target.parent) == ["trials.csv"]  # no temporary file left
    target.unlink()
    target.parent.rmdir()


def test_empty_store(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "empty.sqlite"
    ResultsStore(path).close()
    status, out, err = run(capsys, "ls", path)
    assert status == 0 and out.startswith(f"{path}: results-store format 1, 0 trials in 0 experiments")
    status, out, err = run(capsys, "export", path, "--format", "json")
    assert status == 0 and json.loads(out) == []
    status, out, err = run(capsys, "export", path, "--format", "csv")
    assert status == 0 and out.splitlines()[0].startswith("key,experiment,kind")


def test_readonly_file_can_be_read(results, capsys):
    if os.geteuid() == 0:
        pytest.skip("root ignores file permissions")
    os.chmod(results, 0o444)
    try:
        status, out, err = run(capsys, "ls", results)
        assert status == 0 and "9 trials" in out
    finally:
        os.chmod(results, 0o644)


def test_help_documents_the_actions(capsys):
    assert cli.main(["store", "--help"]) == 0
    out = capsys.readouterr().out
    for text in ("ls FILE", "show FILE", "export FILE", "--format csv|json", "examples:",
                 "capacity store export results.sqlite --format csv --output trials.csv", "only read"):
        assert text in out or text in out.replace("\n", " "), text
    assert cli.main(["--help"]) == 0
    assert "store" in capsys.readouterr().out


def test_export_into_a_closed_pipe_is_quiet(results):
    """``capacity store export FILE --format json | head -1``: exit 141, no traceback."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    read, write = os.pipe()
    os.close(read)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])))
    try:
        proc = subprocess.run([sys.executable, "-m", "capacity", "store", "export", str(results), "--format", "json"],
                              stdout=write, stderr=subprocess.PIPE, text=True, env=env, timeout=120)
    finally:
        os.close(write)
    assert proc.returncode == 141 and proc.stderr == ""
