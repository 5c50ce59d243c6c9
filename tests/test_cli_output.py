"""Output contracts of the ``capacity`` command: --csv tables, integers in JSON, the end-of-run
store report (reused vs computed), --progress/--no-progress, and stdout kept clean by --json.

Small problems only (d = 5, a few trials): seconds in all.
"""
import csv
import io
import json

import pytest

from capacity import cli
from capacity.sweeps import ResultsStore


def run(capsys, *argv):
    status = cli.main(list(map(str, argv)))
    out, err = capsys.readouterr()
    return status, out, err


def _table(text):
    """A printed text table -> (header, rows) split on whitespace (column names have no spaces)."""
    lines = text.splitlines()
    return lines[0].split(), [line.split() for line in lines[1:]]


def _ints_where_integral(obj, keys):
    """Every value under one of ``keys`` anywhere in ``obj`` that is integral must be an int."""
    found = 0
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k in keys and v is not None:
                for x in (v if isinstance(v, list) else [v]):
                    if isinstance(x, (int, float)) and not isinstance(x, bool) and float(x).is_integer():
                        assert isinstance(x, int), f"{k} = {x!r} printed as a float"
                        found += 1
            found += _ints_where_integral(v, keys)
    elif isinstance(obj, list):
        found += sum(_ints_where_integral(x, keys) for x in obj)
    return found


# --------------------------------------------------------------------------- --csv


def test_query_csv_has_the_table_columns_in_full_precision(capsys):
    status, text, err = run(capsys, "query", "--d", "8,16")
    assert status == 0
    header, cells = _table(text)
    status, out, err = run(capsys, "query", "--d", "8,16", "--csv")
    assert status == 0 and err == ""
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == header
    assert [r[0] for r in rows[1:]] == ["8", "16"]
    status, out_json, _ = run(capsys, "query", "--d", "8,16", "--json")
    values = json.loads(out_json)
    for row, obj in zip(rows[1:], values):
        assert float(row[header.index("p_c")]) == obj["p_c"]  # round-trip precision, not 10 digits


def test_query_csv_single_value_and_nan(capsys):
    status, out, err = run(capsys, "query", "--d", "2", "--csv")
    assert status == 0 and err == ""
    header, row = list(csv.reader(io.StringIO(out)))
    assert header[:3] == ["d", "kappa", "p_c"] and len(row) == len(header)
    assert row[header.index("p_leading")] == ""  # NaN: an empty cell


@pytest.mark.parametrize("argv", [["--p", "100,200"], ["--K", "1,2"],
                                  ["--d", "16", "--model", "two-layer-frozen", "--m", "4,8"]])
def test_query_csv_other_modes(argv, capsys):
    status, text, _ = run(capsys, "query", *argv)
    status, out, err = run(capsys, "query", *argv, "--csv")
    assert status == 0 and err == ""
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == text.splitlines()[0].split() and len(rows) == 3


def test_simulate_csv_is_the_table(capsys):
    argv = ["simulate", "--d", "5", "--p", "10,12", "--trials", "3", "--no-store", "--n-boot", "0"]
    status, text, _ = run(capsys, *argv)
    assert status == 0
    table = [line for line in text.splitlines() if line.lstrip().startswith(("p ", "10 ", "12 "))]
    status, out, err = run(capsys, *argv, "--csv")
    assert status == 0 and err == ""
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["p", "feasible", "infeasible", "undecided", "P(feasible)", "ci_low", "ci_high"]
    assert [r[:4] for r in rows[1:]] == [line.split()[:4] for line in table[1:]]
    for r in rows[1:]:
        assert int(r[1]) + int(r[2]) + int(r[3]) == 3


def test_simulate_margin_csv(capsys):
    status, out, err = run(capsys, "simulate", "--d", "6", "--p", "8", "--trials", "2", "--margin", "--no-store",
                           "--csv")
    assert status == 0 and err == ""
    (row,) = csv.DictReader(io.StringIO(out))
    assert row["p"] == "8" and row["n_feasible"] == "2" and float(row["kappa_hat_mean"]) > 0


def test_csv_and_json_exclude_each_other(capsys):
    status, out, err = run(capsys, "query", "--d", "8", "--csv", "--json")
    assert status == 2 and "--csv" in err and "--json" in err and err.count("\n") == 1


# --------------------------------------------------------------------------- integers in JSON


INT_KEYS = {"d", "p", "K", "d_min", "m", "n_params", "trials", "seed", "n_feasible", "n_infeasible", "n_undecided",
            "thresholds", "n_trials", "count", "format_version", "n_samples", "k"}


@pytest.mark.parametrize("argv", [
    ["query", "--p", "100"],
    ["query", "--K", "1000"],
    ["query", "--d", "16", "--model", "two-layer-frozen", "--m", "8"],
    ["query", "--d", "16", "--model", "two-layer", "--m", "8"],
    ["query", "--K", "16", "--model", "listwise", "--r", "0.5"],
    ["simulate", "--d", "5", "--p", "10,12", "--trials", "2", "--no-store", "--n-boot", "0"],
    ["simulate", "--d", "6", "--p", "8", "--trials", "2", "--margin", "--no-store"],
    ["threshold", "--d", "5", "--instances", "3", "--no-store"],
], ids=" ".join)
def test_json_prints_integers_as_integers(argv, capsys):
    status, out, err = run(capsys, *argv, "--json")
    assert status == 0, err
    assert _ints_where_integral(json.loads(out), INT_KEYS) > 0


def test_query_p_mode_keys_are_integers(capsys):
    status, out, err = run(capsys, "query", "--p", "100", "--json")
    r = json.loads(out)
    assert r["p"] == 100 and isinstance(r["p"], int) and isinstance(r["K"], int) and r["K"] == 99
    assert '"p": 100,' in out and '"K": 99,' in out


def test_train_and_store_json_integers(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    status, out, err = run(capsys, "train", "node2vec", "--quick", "--no-store", "--json")
    assert status == 0, err
    assert _ints_where_integral(json.loads(out), {"n", "r", "n_seeds"}) > 0
    path = tmp_path / "s.sqlite"
    with ResultsStore(path) as store:
        store.put({"experiment": "x", "d": 8.0}, {"count": 3.0})
    status, out, err = run(capsys, "store", "ls", path, "--json")
    assert status == 0 and _ints_where_integral(json.loads(out), {"n_trials", "count", "format_version"}) >= 3


# --------------------------------------------------------------------------- store report, progress


def _report(err, prog):
    (line,) = [x for x in err.splitlines() if x.startswith(f"{prog}: store ")]
    return line


def test_simulate_reports_reused_and_computed(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    argv = ["simulate", "--d", "5", "--p", "10,12", "--trials", "2", "--n-boot", "0", "--no-progress", "--json"]
    status, out, err = run(capsys, *argv)
    assert status == 0 and json.loads(out)["d"] == 5  # stdout is the JSON only
    assert err == "capacity simulate: store results.sqlite: 4 trials, 0 reused from it, 4 computed now\n"
    status, out, err = run(capsys, *argv[:4], "10,12,14", *argv[5:])
    assert status == 0
    assert _report(err, "capacity simulate") == ("capacity simulate: store results.sqlite: 6 trials, "
                                                 "4 reused from it, 2 computed now")
    with ResultsStore(tmp_path / "results.sqlite", readonly=True) as store:
        assert len(store) == 6


def test_threshold_reports_reused_and_computed(tmp_path, capsys):
    store = tmp_path / "thr.sqlite"
    argv = ["threshold", "--d", "5", "--instances", "3", "--store", store, "--no-progress"]
    status, out, err = run(capsys, *argv)
    assert status == 0 and err == f"capacity threshold: store {store}: 3 instances, 0 reused from it, 3 computed now\n"
    assert "thresholds:" in out and "results stored" not in out
    status, out, err = run(capsys, *argv, "--json")
    assert status == 0 and json.loads(out)["d"] == 5
    assert err == f"capacity threshold: store {store}: 3 instances, 3 reused from it, 0 computed now\n"


def test_train_reports_reused_and_computed(tmp_path, capsys):
    store = tmp_path / "n5.sqlite"
    status, out, err = run(capsys, "train", "node2vec", "--quick", "--store", store, "--no-progress")
    assert status == 0
    line = _report(err, "capacity train")
    n = int(line.split(": ")[2].split()[0])
    assert n > 0 and line.endswith(f"{n} runs, 0 reused from it, {n} computed now")
    status, out, err = run(capsys, "train", "node2vec", "--quick", "--store", store, "--no-progress", "--json")
    assert status == 0 and json.loads(out)["rows"]
    assert _report(err, "capacity train").endswith(f"{n} runs, {n} reused from it, 0 computed now")


def test_no_store_prints_no_report(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    status, out, err = run(capsys, "threshold", "--d", "5", "--instances", "2", "--no-store", "--no-progress")
    assert status == 0 and err == ""


@pytest.mark.parametrize(("flags", "expected"), [([], None), (["--progress"], True), (["--no-progress"], False)])
def test_progress_flag_reaches_the_sweep(flags, expected, monkeypatch, capsys):
    import capacity.sweeps.runner as runner

    seen = []
    real = runner.run_sweep

    def spy(*args, **kwargs):
        seen.append(kwargs.get("progress"))
        return real(*args, **{**kwargs, "progress": False})

    monkeypatch.setattr(runner, "run_sweep", spy)
    status, out, err = run(capsys, "simulate", "--d", "5", "--p", "10", "--trials", "1", "--no-store", "--n-boot", "0",
                           "--json", *flags)
    assert status == 0, err
    assert seen == [expected]
    status, out, err = run(capsys, "threshold", "--d", "5", "--instances", "1", "--no-store", *flags)
    assert status == 0, err
    assert seen == [expected, expected]


def test_no_progress_keeps_stderr_empty_with_json(monkeypatch, capsys):
    status, out, err = run(capsys, "simulate", "--d", "5", "--p", "10", "--trials", "2", "--no-store", "--n-boot", "0",
                           "--json", "--no-progress")
    assert status == 0 and err == "" and json.loads(out)["trials"] == 2


def test_max_memory_is_passed_to_the_library(monkeypatch, capsys):
    import capacity.simulate.sweep as sweep

    seen = {}
    real = sweep.simulate_capacity

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(sweep, "simulate_capacity", spy)
    status, out, err = run(capsys, "simulate", "--d", "5", "--p", "10", "--trials", "1", "--no-store", "--n-boot", "0",
                           "--max-memory", "2G", "--no-progress")
    assert status == 0, err
    assert seen["max_memory"] == 2 * 1024**3
