"""`capacity simulate`: output contract, persistence through the store, one-line errors."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from capacity import cli
from capacity.sweeps import ResultsStore

ROOT = Path(__file__).resolve().parents[1]


def run(argv, capsys):
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_json_contract_and_resume(tmp_path, capsys):
    store = tmp_path / "r.sqlite"
    argv = ["simulate", "--model", "decoupled", "--d", "6", "--p", "10:16:3", "--trials", "5", "--seed", "1",
            "--store", str(store), "--n-boot", "100", "--json"]
    code, out, err = run(argv, capsys)
    assert code == 0, err
    data = json.loads(out)
    assert {"d", "model", "points", "p50", "p50_ci", "p_c_theory"} <= set(data)
    assert [pt["p"] for pt in data["points"]] == [10, 13, 16]
    for pt in data["points"]:
        assert {"p", "n_feasible", "n_infeasible", "n_undecided", "p_feasible", "ci_low", "ci_high"} <= set(pt)
        assert pt["n_feasible"] + pt["n_infeasible"] + pt["n_undecided"] == 5
    with ResultsStore(store) as s:
        assert len(s) == 15  # every trial committed
    # the same command again reads everything back from the store: identical output
    code2, out2, _ = run(argv, capsys)
    assert code2 == 0 and json.loads(out2) == data


def test_text_output_shows_theory_and_undecided(capsys):
    code, out, err = run(["simulate", "--d", "5", "--p", "12,16", "--trials", "3", "--no-store", "--n-boot", "50"],
                         capsys)
    assert code == 0, err
    assert "theory p_c" in out and "undecided trials: 0" in out and "P(feasible)" in out


def test_margin_mode(capsys):
    code, out, err = run(["simulate", "--d", "6", "--p", "8", "--trials", "2", "--margin", "--no-store", "--json"],
                         capsys)
    assert code == 0, err
    pt = json.loads(out)["points"][0]
    assert pt["n_feasible"] == 2 and pt["kappa_hat_mean"] > 0 and pt["kappa_star_theory"] > 0


def test_margin_mode_unsorted_p_attaches_each_value_to_its_own_p(capsys):
    # the same trials run with --p 14,8 and with --p 8 and --p 14 alone: each p keeps its own kappa_hat
    argv = ["simulate", "--d", "6", "--trials", "2", "--margin", "--no-store", "--json"]
    code, out, err = run(argv + ["--p", "14,8"], capsys)
    assert code == 0, err
    both = {pt["p"]: pt for pt in json.loads(out)["points"]}
    assert sorted(both) == [8, 14]
    for p in (8, 14):
        code, out, err = run(argv + ["--p", str(p)], capsys)
        assert code == 0, err
        (alone,) = json.loads(out)["points"]
        assert alone == both[p]
    # a larger load leaves a smaller margin
    assert both[14]["kappa_hat_mean"] < both[8]["kappa_hat_mean"]


@pytest.mark.parametrize("argv, flag", [
    (["--d", "0", "--p", "5"], "--d"),
    (["--d", "x", "--p", "5"], "--d"),
    (["--d", "4.5", "--p", "5"], "--d"),
    (["--d", "6", "--p", "1"], "--p"),
    (["--d", "6", "--p", "9:5"], "--p"),
    (["--d", "6", "--p", "5,5"], "--p"),
    (["--d", "6", "--p", "a:b"], "--p"),
    (["--d", "6", "--p", "5", "--trials", "0"], "--trials"),
    (["--d", "6", "--p", "5", "--seed", "-1"], "--seed"),
    (["--d", "6", "--p", "5", "--jobs", "0"], "--jobs"),
    (["--d", "6", "--p", "5", "--scheduler", "local:0"], "--scheduler"),
    (["--d", "6", "--p", "5", "--scheduler", "tcp://host"], "--scheduler"),
    (["--d", "6", "--p", "5", "--scheduler", "local:2", "--scheduler", "local:3"], "--scheduler"),
    (["--d", "6", "--p", "5", "--jobs", "2", "--scheduler", "local:2"], "--scheduler"),
    (["--d", "6", "--p", "5", "--model", "other"], "--model"),
    (["--d", "6", "--p", "5", "--embedding", "cube"], "--embedding"),
    (["--d", "6", "--p", "5", "--model", "coupled", "--K", "3"], "--K"),
    (["--d", "6", "--p", "5", "--K", "nan"], "--K"),
    (["--d", "6", "--p", "5", "--bogus"], "--bogus"),
    (["--p", "5"], "--d"),
])
def test_bad_input_one_line_exit_2(argv, flag, capsys):
    code, out, err = run(["simulate", *argv, "--no-store"], capsys)
    assert code == 2
    assert err.count("\n") == 1 and flag in err and "Traceback" not in err
    assert out == ""


@pytest.mark.slow
def test_real_subprocess(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-m", "capacity", "simulate", "--d", "5", "--p", "10", "--trials", "2",
                           "--store", str(tmp_path / "s.sqlite"), "--json", "--n-boot", "20"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["points"][0]["p"] == 10
