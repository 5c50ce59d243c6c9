"""`capacity query --accuracy` and the facts/bits per parameter of every --d answer (docs/accuracy.md)."""
import json
import math

import pytest

from capacity import cli, p_c
from capacity.theory.accuracy import solve_p_c_accuracy


def _json(argv, capsys):
    assert cli.main(argv + ["--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_plain_answer_reports_facts_and_bits_per_parameter(capsys):
    r = _json(["query", "--d", "100"], capsys)
    assert r["facts_per_param"] == pytest.approx(r["p_c"] / 1e4, rel=1e-14)
    assert r["bits_per_param"] == pytest.approx(r["p_c"] * math.log2(r["p_c"]) / 1e4, rel=1e-14)


def test_accuracy_one_is_the_exact_capacity(capsys):
    r = _json(["query", "--d", "16", "--accuracy", "1"], capsys)
    assert r["p"] == pytest.approx(p_c(16), rel=1e-9) and r["p_se"] == 0 and r["n_samples"] == 0
    assert set(r) == {"d", "accuracy", "kappa", "p", "p_se", "p_c_exact", "alpha", "K", "facts_per_param",
                      "bits_per_param", "n_samples"}


@pytest.mark.slow
def test_accuracy_answer_is_the_librarys(capsys):
    rows = _json(["query", "--d", "32", "--accuracy", "0.99,0.9"], capsys)
    for row, a in zip(rows, (0.99, 0.9)):
        ref = solve_p_c_accuracy(32, accuracy=a)
        assert row["p"] == ref.p_c and row["p_se"] == ref.p_c_se and row["bits_per_param"] == ref.bits_per_param
        assert row["p"] > row["p_c_exact"]


@pytest.mark.parametrize("argv, flag", [
    (["query", "--d", "16", "--accuracy", "0"], "--accuracy"),
    (["query", "--d", "16", "--accuracy", "1.01"], "--accuracy"),
    (["query", "--d", "16", "--accuracy", "x"], "--accuracy"),
    (["query", "--p", "100", "--accuracy", "0.9"], "--accuracy"),
    (["query", "--K", "100", "--accuracy", "0.9"], "--accuracy"),
    (["query", "--d", "16", "--model", "hebbian", "--accuracy", "0.9"], "--accuracy"),
    (["query", "--d", "16", "--model", "two-layer", "--m", "4", "--accuracy", "0.9"], "--accuracy"),
    (["query", "--d", "16", "--accuracy", "0.9", "--accuracy", "0.8"], "--accuracy"),
])
def test_bad_accuracy_is_one_line_exit_2(argv, flag, capsys):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and flag in err and "Traceback" not in err


@pytest.mark.parametrize("argv, n_params", [
    (["simulate", "--d", "6", "--p", "10:22:4", "--trials", "6", "--no-store"], 36),
    (["simulate", "--model", "two-layer-frozen", "--m", "3", "--d", "6", "--p", "6:18:4", "--trials", "4",
      "--no-store"], 18),
    (["threshold", "--d", "6", "--instances", "6", "--no-store"], 36),
])
def test_simulated_p50_reports_facts_and_bits_per_parameter(argv, n_params, capsys):
    r = _json(argv, capsys)
    p50 = r["p50"]["p50"] if isinstance(r["p50"], dict) else r["p50"]
    assert r["n_params"] == n_params and math.isfinite(p50)
    assert r["facts_per_param"] == pytest.approx(p50 / n_params, rel=1e-14)
    assert r["bits_per_param"] == pytest.approx(p50 * math.log2(p50) / n_params, rel=1e-14)
    assert cli.main(argv) == 0
    text = capsys.readouterr().out
    assert f"facts/param = p50 / N = {p50 / n_params:.4g}" in text and f"{n_params} trainable entries" in text
