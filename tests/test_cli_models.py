"""`capacity query/simulate --model ...`: values come from the library, the CLI only routes.

Each JSON answer is compared with a direct call of the theory/simulation function it claims to
report; bad combinations of flags give one line on stderr and exit status 2.
"""
import json
import math

import pytest
from numpy.testing import assert_allclose

from capacity import cli, p_c
from capacity.theory import listwise, two_layer


def run(capsys, *argv):
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_query_two_layer_frozen_and_trained(capsys):
    status, out, err = run(capsys, "query", "--d", "12", "--model", "two-layer-frozen", "--m", "3,12", "--json")
    assert status == 0, err
    rows = json.loads(out)
    assert [r["m"] for r in rows] == [3, 12]
    assert_allclose(rows[0]["p_c"], p_c(12, n_params=36), rtol=1e-12)
    assert_allclose(rows[1]["p_c"], p_c(12), rtol=1e-12)
    assert rows[0]["n_params"] == 36 and rows[0]["conjecture"] is False
    status, out, _ = run(capsys, "query", "--d", "12", "--model", "two-layer", "--m", "3", "--json")
    r = json.loads(out)
    assert r["n_params"] == 2 * 12 * 3 - 9 and r["conjecture"] is True
    assert_allclose(r["p_c"], two_layer.p_c_two_layer(12, 3, trained=True).p_c, rtol=1e-12)


def test_query_listwise_matches_library(capsys):
    status, out, err = run(capsys, "query", "--K", "100", "--model", "listwise", "--k", "5", "--json")
    assert status == 0, err
    r = json.loads(out)
    ref = listwise.listwise_dist2(100, 5)
    assert r["expected_dist2"] == ref.value and r["stderr"] == ref.stderr and r["r"] is None
    status, out, err = run(capsys, "query", "--d", "16", "--model", "listwise", "--k", "1", "--json")
    r = json.loads(out)
    # k = 1 is the top-1 problem: the Monte Carlo p_c agrees with the exact one within 4 sigma
    assert abs(r["p_c"] - p_c(16)) < 4 * r["p_c_stderr"] + 0.5


@pytest.mark.parametrize("argv, needle", [
    (["query", "--d", "12", "--model", "two-layer"], "--m"),
    (["query", "--d", "12", "--m", "3"], "--m applies"),
    (["query", "--d", "12", "--model", "listwise"], "exactly one of --k"),
    (["query", "--d", "12", "--model", "listwise", "--k", "2", "--r", "0.1"], "exactly one of --k"),
    (["query", "--p", "100", "--model", "two-layer-frozen", "--m", "3"], "--d only"),
    (["query", "--d", "12", "--model", "two-layer-frozen", "--m", "0"], "--m"),
    (["query", "--K", "10", "--model", "listwise", "--k", "11"], "--k"),
    (["simulate", "--model", "two-layer", "--d", "8", "--p", "10", "--no-store"], "--m"),
    (["simulate", "--model", "hebbian", "--d", "8", "--p", "10", "--no-store", "--margin"], "--margin"),
    (["simulate", "--model", "coupled", "--competitors", "decoupled", "--d", "8", "--p", "10"], "--competitors"),
    (["simulate", "--model", "two-layer-frozen", "--m", "9", "--d", "8", "--p", "10", "--no-store"], "--m"),
])
def test_bad_model_flags_one_line_exit_2(argv, needle, capsys):
    status, out, err = run(capsys, *argv)
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and needle in err


def test_simulate_two_layer_reports_a_lower_bound(capsys):
    status, out, err = run(capsys, "simulate", "--model", "two-layer", "--d", "6", "--m", "3", "--p", "6,16",
                           "--trials", "3", "--no-store", "--json", "--n-boot", "0")
    assert status == 0, err
    r = json.loads(out)
    assert r["p50_is_lower_bound"] is True and r["m"] == 3
    lb = {pt["p"]: pt for pt in r["lower_bound_points"]}
    assert lb[6]["n_feasible"] == 3  # p <= d: always storable, found and certified
    assert math.isclose(r["p_c_theory"], two_layer.p_c_two_layer(6, 3, trained=True).p_c)


def test_simulate_two_layer_frozen_text(capsys):
    status, out, err = run(capsys, "simulate", "--model", "two-layer-frozen", "--d", "8", "--m", "4", "--p", "6,30",
                           "--trials", "3", "--no-store", "--n-boot", "0")
    assert status == 0, err
    assert "W1 frozen (m = 4)" in out and "theory p_c (N = dm" in out


def test_query_hebbian_matches_library(capsys):
    from capacity.theory import hebbian

    status, out, err = run(capsys, "query", "--d", "40", "--model", "hebbian", "--embedding", "sphere",
                           "--competitors", "coupled", "--json")
    assert status == 0, err
    r = json.loads(out)
    assert r["competitors"] == "coupled" and r["embedding"] == "sphere"
    assert_allclose(r["p_all"], hebbian.hebbian_p_c(40, criterion="all", model="coupled", embedding="sphere"),
                    rtol=1e-12)
    assert_allclose(r["p_typical"], hebbian.hebbian_p_c(40, criterion="typical", model="coupled",
                                                        embedding="sphere"), rtol=1e-12)
    assert_allclose(r["p_all_log_p_over_d2"], r["p_all"] * math.log(r["p_all"]) / 1600, rtol=1e-12)
    # the all-items threshold lies far below the typical-item one (1/8 vs 1/2 asymptotically)
    assert r["p_all"] < r["p_typical"]
    status, out, err = run(capsys, "query", "--d", "40", "--model", "hebbian", "--kappa", "0.5")
    assert status == 2 and "--kappa" in err and err.count("\n") == 1


def test_simulate_hebbian_verdicts_are_the_library_recall(capsys):
    from capacity.simulate import make_instance
    from capacity.simulate.hebbian import hebbian_recall

    status, out, err = run(capsys, "simulate", "--model", "hebbian", "--d", "10", "--p", "4,30", "--trials", "4",
                           "--seed", "3", "--no-store", "--json", "--n-boot", "0")
    assert status == 0, err
    r = json.loads(out)
    assert r["model"] == "hebbian" and r["competitors"] == "decoupled" and r["n_undecided"] == 0
    for pt in r["points"]:
        assert pt["n_feasible"] + pt["n_infeasible"] == 4
    # the same seeds, recomputed directly: the CLI counts exactly the all-recalled instances
    from capacity.simulate import simulate_capacity

    direct = simulate_capacity("decoupled", 10, [4, 30], trials=4, seed=3, experiment="hebbian", progress=False,
                               n_boot=0)
    assert [pt.n_feasible for pt in direct.points] == [pt["n_feasible"] for pt in r["points"]]
    assert r["points"][-1]["n_feasible"] < 4  # p = 30 >> d^2/(8 ln p) ~ 3.7: some fact is lost
    inst = make_instance("decoupled", 10, 4, seed=0, trial=0)
    assert hebbian_recall(inst).fraction_recalled in {0.0, 0.25, 0.5, 0.75, 1.0}


def test_query_hebbian_defaults_are_the_library_defaults(capsys):
    # the command line and the library answer the same question when no option is given
    from capacity.theory import hebbian

    status, out, err = run(capsys, "query", "--d", "50", "--model", "hebbian", "--json")
    assert status == 0, err
    r = json.loads(out)
    assert r["competitors"] == "decoupled" and r["embedding"] == "gaussian"
    assert r["p_all"] == hebbian.hebbian_p_c(50) == hebbian.hebbian_capacity(50).p_all
