"""The ``capacity`` command: output, JSON contract, exit codes, one-line errors.

Called through ``cli.main([...])`` (stdout/stderr via capsys) and once as a real
``python -m capacity`` subprocess.  Numerical values are checked against the
closed forms at K = 1, 2 (Gardner: E dist^2 = 1/2 and 5/6) and the reference value
p_c(16) ~ 61.7; everything else is checked against the library itself, since the
command must only parse, call and print.
"""
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from numpy.testing import assert_allclose

from capacity import __version__, cli
from capacity import theory
from capacity.exceptions import ConvergenceError
from capacity.results import Dist2Result

REPO_ROOT = Path(__file__).resolve().parents[1]

D_KEYS = {"d", "kappa", "p_c", "alpha_c", "p_log_p_over_d2", "p_leading", "K"}
K_KEYS = {"K", "kappa", "expected_dist2", "alpha_c", "abserr"}
P_KEYS = {"p", "kappa", "d_min", "d_c", "K", "alpha_c"}


def _reject_nan(token):
    raise AssertionError(f"invalid JSON constant {token}")


def run(capsys, *args):
    """cli.main(["query", *args]) -> (status, stdout, stderr)."""
    status = cli.main(["query", *args])
    out, err = capsys.readouterr()
    return status, out, err


def run_json(capsys, *args):
    status, out, err = run(capsys, *args, "--json")
    assert status == 0, err
    assert err == ""
    return json.loads(out, parse_constant=_reject_nan)


# --------------------------------------------------------------------------- --d


def test_d_single_json_keys_and_reference_value(capsys):
    r = run_json(capsys, "--d", "16")
    assert isinstance(r, dict)
    assert D_KEYS <= r.keys()
    assert r["d"] == 16 and r["kappa"] == 0
    # reference p_c(16) ~ 61.7 (docs/simulator.md §6, expected agreement) (quoted to 3 digits, hence 0.5%)
    assert_allclose(r["p_c"], 61.7, rtol=5e-3)
    assert_allclose(r["K"], r["p_c"] - 1.0, rtol=1e-14)
    assert_allclose(r["p_c"], 16**2 * r["alpha_c"], rtol=1e-10)  # (T3) at the root
    assert_allclose(r["p_log_p_over_d2"], r["p_c"] * math.log(r["p_c"]) / 256, rtol=1e-12)
    assert r["p_leading"] * math.log(r["p_leading"]) == pytest.approx(128, rel=1e-12)


def test_d_single_text_block(capsys):
    status, out, err = run(capsys, "--d", "16", "--kappa", "0.5")
    assert status == 0 and err == ""
    lines = dict(line.split(" = ", 1) for line in out.splitlines())
    lines = {k.strip(): v.split()[0] for k, v in lines.items()}
    assert D_KEYS <= lines.keys()
    # printed with 10 significant digits
    expected = theory.p_c(16, kappa=0.5)
    assert_allclose(float(lines["p_c"]), expected, rtol=1e-9)
    assert float(lines["kappa"]) == 0.5


def test_d_list_json_and_monotone(capsys):
    rows = run_json(capsys, "--d", "8,16,32,64")
    assert isinstance(rows, list) and len(rows) == 4
    assert [r["d"] for r in rows] == [8, 16, 32, 64]
    for r in rows:
        assert D_KEYS <= r.keys()
    p = [r["p_c"] for r in rows]
    assert all(a < b for a, b in zip(p, p[1:]))
    assert_allclose(rows[1]["p_c"], 61.7, rtol=5e-3)


def test_d_list_text_table(capsys):
    status, out, err = run(capsys, "--d", "8, 16,32")
    assert status == 0 and err == ""
    lines = out.splitlines()
    assert len(lines) == 4
    header = lines[0].split()
    assert header[:3] == ["d", "kappa", "p_c"] and D_KEYS <= set(header)
    assert len({len(line) for line in lines}) == 1  # aligned columns
    assert [row.split()[0] for row in lines[1:]] == ["8", "16", "32"]


def test_kappa_list_is_cartesian_product(capsys):
    rows = run_json(capsys, "--d", "8,16", "--kappa", "0,0.5")
    assert [(r["kappa"], r["d"]) for r in rows] == [(0, 8), (0, 16), (0.5, 8), (0.5, 16)]
    # a margin costs capacity
    assert rows[2]["p_c"] < rows[0]["p_c"] and rows[3]["p_c"] < rows[1]["p_c"]


def test_nan_is_emitted_as_null(capsys):
    # p_leading is undefined (NaN) when d^2 / 2 <= e
    r = run_json(capsys, "--d", "2")
    assert r["p_leading"] is None
    status, out, _ = run(capsys, "--d", "2")
    assert status == 0 and "n/a" in out


# --------------------------------------------------------------------------- --p


def test_p_json_is_smallest_storing_dimension(capsys):
    p = 100
    r = run_json(capsys, "--p", str(p))
    assert P_KEYS <= r.keys()
    assert r["p"] == p and r["K"] == p - 1
    assert r["d_min"] == math.ceil(r["d_c"])
    assert theory.p_c(r["d_min"]) >= p
    assert theory.p_c(r["d_min"] - 1) < p


def test_p_list_text_table(capsys):
    status, out, err = run(capsys, "--p", "62,10000")
    assert status == 0 and err == ""
    lines = out.splitlines()
    assert len(lines) == 3 and P_KEYS <= set(lines[0].split())
    col = lines[0].split().index("d_min")
    assert [int(row.split()[col]) for row in lines[1:]] == [17, theory.d_min(10000)]


# --------------------------------------------------------------------------- --K


@pytest.mark.parametrize(("K", "e"), [(1, 1 / 2), (2, 5 / 6)])
def test_K_closed_forms(capsys, K, e):
    r = run_json(capsys, "--K", str(K))
    assert K_KEYS <= r.keys()
    # Gardner closed forms at kappa = 0: E dist^2 = 1/2 (K = 1) and 5/6 (K = 2)
    assert_allclose(r["expected_dist2"], e, rtol=1e-10)
    assert_allclose(r["alpha_c"], 1 / e, rtol=1e-10)
    assert 0 <= r["abserr"] < 1e-9


def test_K_text_with_kappa(capsys):
    status, out, err = run(capsys, "--K", "1000", "--kappa", "1")
    assert status == 0 and err == ""
    names = [line.split(" = ")[0].strip() for line in out.splitlines()]
    assert K_KEYS <= set(names)


# --------------------------------------------------------------------------- errors

BAD_INPUTS = [
    (["--d", "-1"], "--d"),
    (["--d", "0"], "--d"),
    (["--d", "abc"], "--d"),
    (["--d", "nan"], "--d"),
    (["--d", "inf"], "--d"),
    (["--d=-inf"], "--d"),
    (["--d", "1e400"], "--d"),
    (["--d", "8", "--kappa", "-0.5"], "--kappa"),
    (["--d", "8", "--kappa", "NaN"], "--kappa"),
    (["--d", "8", "--kappa", "x"], "--kappa"),
    (["--K", "1", "--kappa", "0,-0.5"], "--kappa"),
    (["--K", "0.5"], "--K"),
    (["--K", "nan"], "--K"),
    (["--K", "1e31"], "--K"),
    (["--p", "1"], "--p"),
    (["--p", "inf"], "--p"),
    (["--d", "8,,16"], "--d"),
    (["--d", ","], "--d"),
    (["--d="], "--d"),
    (["--p", "100,"], "--p"),
    (["--K", "2", "--kappa", ",1"], "--kappa"),
    (["--d", "8", "--foo"], "--foo"),
    (["--d", "8", "extra"], "extra"),
    (["--kap", "1", "--d", "8"], "--kap"),  # no abbreviations
    ([], "--d"),  # no mode flag
    (["--kappa", "1"], "--d"),
    (["--d", "8", "--p", "100"], "--p"),
    (["--d", "8", "--K", "1"], "--K"),
    (["--d", "8", "--d", "16"], "--d"),
    (["--K", "1", "--kappa", "1", "--kappa", "2"], "--kappa"),
    (["--d"], "--d"),
    (["--d", "1", "--kappa", "5"], "--kappa"),  # the library's "no storable load"
]


def _assert_one_line_error(status, out, err, flag, code=2):
    assert status == code
    assert out == ""
    assert "Traceback" not in err
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert "error:" in err and flag in err, err


@pytest.mark.parametrize(("args", "flag"), BAD_INPUTS, ids=[" ".join(a) or "(none)" for a, _ in BAD_INPUTS])
def test_bad_input_one_line_exit_2(capsys, args, flag):
    status, out, err = run(capsys, *args)
    _assert_one_line_error(status, out, err, flag)
    assert err.startswith("capacity query: error: ")


def test_library_message_names_the_flag(capsys):
    status, out, err = run(capsys, "--d", "8", "--kappa", "-0.5")
    _assert_one_line_error(status, out, err, "--kappa")
    assert err.startswith("capacity query: error: --kappa must be finite and >= 0")
    assert err.rstrip().endswith("got -0.5 (see 'capacity query --help')")
    assert "`" not in err


TOP_LEVEL_BAD = [
    ([], "command"),
    (["bogus"], "bogus"),
    (["--bogus"], "--bogus"),
    (["-x", "query", "--d", "8"], "-x"),
]


@pytest.mark.parametrize(("argv", "named"), TOP_LEVEL_BAD)
def test_top_level_errors(capsys, argv, named):
    status = cli.main(argv)
    out, err = capsys.readouterr()
    _assert_one_line_error(status, out, err, named)
    assert err.startswith("capacity")


def test_library_type_error_exit_2(capsys, monkeypatch):
    def bad(*args, **kwargs):
        raise TypeError("`d` must be a real number; got 'x' of type str")

    monkeypatch.setattr(theory, "solve_p_c", bad)
    status, out, err = run(capsys, "--d", "8")
    _assert_one_line_error(status, out, err, "--d must be a real number")


def test_convergence_error_exit_1(capsys, monkeypatch):
    def fail(*args, **kwargs):
        raise ConvergenceError("E dist^2 at K=3.0, kappa=0.0: adaptive quadrature\nran out of intervals")

    monkeypatch.setattr(theory, "solve_p_c", fail)
    status, out, err = run(capsys, "--d", "8", "--json")
    _assert_one_line_error(status, out, err, "numerical failure", code=1)


def test_unsuccessful_result_exit_1(capsys, monkeypatch):
    def unconverged(K, *, kappa=0.0):
        return Dist2Result(
            K=float(K), kappa=float(kappa), expected_dist2=float("nan"), alpha_c=float("nan"),
            abserr=1.0, n_nodes=10, success=False, status=1, message="ran out of intervals",
        )

    monkeypatch.setattr(theory, "solve_dist2", unconverged)
    status, out, err = run(capsys, "--K", "5")
    _assert_one_line_error(status, out, err, "ran out of intervals", code=1)


# --------------------------------------------------------------------------- help, version


def test_help(capsys):
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "Gardner" in out and "finite K" in out and "query" in out and "examples:" in out
    assert cli.main(["query", "--help"]) == 0
    out = capsys.readouterr().out
    assert "p = d^2 alpha_c(p - 1, kappa)" in out
    for flag in ("--d", "--p", "--K", "--kappa", "--json"):
        assert flag in out
    assert "examples:" in out and "capacity query --d" in out


def test_version(capsys):
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"capacity {__version__}"


# --------------------------------------------------------------------------- subprocess


def test_python_m_capacity_subprocess():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, "-m", "capacity", "query", "--d", "16", "--json"],
        capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout, parse_constant=_reject_nan)
    assert D_KEYS <= r.keys()
    assert_allclose(r["p_c"], 61.7, rtol=5e-3)
