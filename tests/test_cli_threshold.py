"""`capacity threshold`: JSON contract, resume, one-line errors; the numbers are the library's."""
import json

import pytest

from capacity import cli
from capacity.simulate.threshold import estimate_thresholds
from capacity.theory.predict import predicted_p_c

KEYS = {"d", "model", "embedding", "thresholds", "n_undecided", "p50", "p50_ci", "p_c_theory"}


def run(capsys, *argv):
    status = cli.main(["threshold", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_json_contract_matches_the_library_and_resumes(tmp_path, capsys):
    store = tmp_path / "thr.sqlite"
    argv = ["--model", "coupled", "--d", "8", "--instances", "9", "--seed", "3", "--store", str(store), "--json"]
    status, out, err = run(capsys, *argv)
    assert status == 0, err
    r = json.loads(out)
    assert KEYS <= r.keys()
    assert r["d"] == 8 and r["model"] == "coupled" and r["embedding"] == "gaussian" and r["n_undecided"] == 0
    lib = estimate_thresholds("coupled", 8, instances=9, seed=3, p_start=predicted_p_c("coupled", 8).value,
                              progress=False)
    assert r["thresholds"] == lib.thresholds and r["p50"] == lib.p50 and r["p50_ci"] == lib.p50_ci
    assert r["p_c_theory"] == predicted_p_c("coupled", 8).value
    # rerun: every instance read back from the store, same answer
    status, out2, err = run(capsys, *argv)
    assert status == 0 and json.loads(out2) == r


def test_text_output(capsys):
    status, out, err = run(capsys, "--d", "6", "--instances", "6", "--no-store")
    assert status == 0 and err == ""
    assert "thresholds:" in out and "p50 =" in out and "theory p_c" in out and "undecided instances: 0" in out


@pytest.mark.parametrize("argv, flag", [
    (["--d", "0"], "--d"),
    (["--d", "x"], "--d"),
    (["--d", "8", "--instances", "0"], "--instances"),
    (["--d", "8", "--seed", "-1"], "--seed"),
    (["--d", "8", "--jobs", "0"], "--jobs"),
    (["--d", "8", "--jobs", "2", "--scheduler", "local:2"], "--scheduler"),
    (["--d", "8", "--scheduler", "local:0"], "--scheduler"),
    (["--d", "8", "--model", "hebbian"], "--model"),
    (["--d", "8", "--embedding", "cube"], "--embedding"),
    (["--instances", "3"], "--d"),
])
def test_bad_input_one_line_exit_2(argv, flag, capsys):
    status, out, err = run(capsys, *argv, "--no-store")
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and flag in err and "Traceback" not in err


@pytest.mark.slow
def test_local_scheduler_gives_the_same_thresholds(tmp_path, capsys):
    argv = ["--d", "6", "--instances", "4", "--seed", "1", "--json"]
    status, out, err = run(capsys, *argv, "--no-store")
    assert status == 0, err
    store = tmp_path / "dask.sqlite"
    status, out2, err = run(capsys, *argv, "--scheduler", "local:2", "--store", str(store))
    assert status == 0, err
    assert json.loads(out2)["thresholds"] == json.loads(out)["thresholds"]
    assert store.exists()
