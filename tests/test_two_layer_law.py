"""The Gaussian-width law for trained two-layer memories (docs/theory.md §6).

N_eff(d, m) = E sum_{i<=m} sigma_i(G)^2 (``n_eff_rank``), its quarter-circle limit
(``n_eff_rank_limit``) and the capacity it predicts (``p_c_two_layer_width``), checked
against references written here without the package's helpers: a plain NumPy SVD
Monte Carlo (other seeds), a closed form at d = 2, and scipy quadrature of the
Marchenko-Pastur density.
"""
import json
import math

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import integrate, optimize

from capacity import cli
from capacity.theory import (
    N_EFF_D_MAX,
    n_eff_rank,
    n_eff_rank_limit,
    p_c,
    p_c_two_layer_width,
    solve_p_c,
)
from capacity.theory.two_layer import p_c_two_layer


# ----------------------------------------------------------------- independent references
def _naive_top_m(d, m, n, seed):
    """Plain Monte Carlo of E sum_{i<=m} sigma_i(G)^2 by np.linalg.svd: (mean, standard error)."""
    rng = np.random.default_rng(seed)
    s = np.linalg.svd(rng.standard_normal((n, d, d)), compute_uv=False)  # descending
    y = (s[:, :m] ** 2).sum(axis=1)
    return y.mean(), y.std(ddof=1) / math.sqrt(n)


def _mp_limit_by_quadrature(r):
    """int x rho(x) over the top fraction r of rho(x) = sqrt(x (4 - x)) / (2 pi x) on [0, 4], by scipy.quad."""
    rho = lambda x: math.sqrt(x * (4.0 - x)) / (2.0 * math.pi * x)  # noqa: E731
    mass_above = lambda t: integrate.quad(rho, t, 4.0, epsabs=1e-13, epsrel=1e-13)[0]  # noqa: E731
    t = optimize.brentq(lambda t: mass_above(t) - r, 1e-12, 4.0, xtol=1e-14)
    return integrate.quad(lambda x: x * rho(x), t, 4.0, epsabs=1e-13, epsrel=1e-13)[0]


# ----------------------------------------------------------------- n_eff_rank
@pytest.mark.parametrize("d, m", [(6, 2), (8, 1), (8, 4), (12, 3)])
def test_n_eff_rank_matches_plain_svd_monte_carlo(d, m):
    res = n_eff_rank(d, m)
    ref, ref_se = _naive_top_m(d, m, 20000, seed=1000 + d + m)
    assert res.method == "monte-carlo" and res.n_eff_se > 0
    assert abs(res.n_eff - ref) < 4.0 * math.hypot(res.n_eff_se, ref_se)


def test_n_eff_rank_d2_m1_closed_form():
    # G = [[a, b], [c, e]]: sigma_1^2 = (A + B)/2 + sqrt(A B) with A, B independent chi^2_2, so
    # E sigma_1^2 = 2 + (E sqrt(chi^2_2))^2 = 2 + pi/2
    res = n_eff_rank(2, 1, n_samples=200000)
    assert abs(res.n_eff - (2.0 + math.pi / 2.0)) < 4.0 * res.n_eff_se
    assert res.n_eff_se < 2e-3


def test_n_eff_rank_exact_ends():
    for d in (1, 5, 12, 40):
        full = n_eff_rank(d, d)
        assert full.n_eff == d * d and full.n_eff_se == 0.0 and full.method == "exact"
        assert n_eff_rank(d, d + 3).n_eff == d * d  # rank <= m >= d: every matrix
        zero = n_eff_rank(d, 0)
        assert zero.n_eff == 0.0 and zero.n_eff_se == 0.0 and zero.method == "exact"
    assert n_eff_rank(1, 1).n_eff == 1.0  # E g^2
    one = n_eff_rank(10, 1)  # the top squared singular value: below the edge (2 sqrt(d))^2 = 4d, above d
    assert 10.0 < one.n_eff < 40.0 and one.method == "monte-carlo"


def test_n_eff_rank_bounds_and_monotone_in_m():
    d = 12
    values = [n_eff_rank(d, m).n_eff for m in range(0, d + 1)]
    assert all(b > a for a, b in zip(values, values[1:]))  # common random numbers: strictly increasing
    for m in range(1, d):
        # one fixed m-dimensional subspace gives d m (its dimension); the union of all of them gives more,
        # and the top m of d squared singular values carry at least the fraction m/d of E||G||^2 = d^2
        assert values[m] > d * m
        assert values[m] < d * d


def test_n_eff_rank_standard_error_is_honest():
    # the spread of independent estimates agrees with the reported standard error
    ests = [n_eff_rank(6, 2, n_samples=400, seed=s) for s in range(40)]
    values = np.array([e.n_eff for e in ests])
    se = np.mean([e.n_eff_se for e in ests])
    ratio = values.std(ddof=1) / se
    assert 0.6 < ratio < 1.5, ratio  # chi distribution with 39 degrees of freedom: well inside these bounds


def test_n_eff_rank_reproducible_and_seeded():
    a, b = n_eff_rank(9, 3, n_samples=500, seed=3), n_eff_rank(9, 3, n_samples=500, seed=3)
    c = n_eff_rank(9, 3, n_samples=500, seed=4)
    assert a.n_eff == b.n_eff and a.n_eff != c.n_eff
    assert abs(a.n_eff - c.n_eff) < 4.0 * math.hypot(a.n_eff_se, c.n_eff_se)
    assert a.to_dict()["method"] == "monte-carlo" and json.dumps(a.to_dict())


# ----------------------------------------------------------------- the quarter-circle limit
@pytest.mark.parametrize("r", [0.01, 0.125, 0.25, 0.5, 0.75, 0.99])
def test_limit_matches_quadrature_of_marchenko_pastur(r):
    assert_allclose(n_eff_rank_limit(r), _mp_limit_by_quadrature(r), rtol=0, atol=1e-9)


def test_limit_values_and_ends():
    # the values quoted in docs/theory.md §6, to the digits quoted
    for r, v in ((0.25, 0.623), (0.5, 0.894), (0.75, 0.987)):
        assert round(n_eff_rank_limit(r), 3) == v
    assert n_eff_rank_limit(0) == 0.0 and n_eff_rank_limit(1) == 1.0 and n_eff_rank_limit(3.5) == 1.0
    # small r: the top fraction sits at the edge x = 4
    assert_allclose(n_eff_rank_limit(1e-6) / 1e-6, 4.0, rtol=1e-3)
    rs = np.linspace(0.0, 1.0, 41)
    ls = [n_eff_rank_limit(r) for r in rs]
    assert all(b > a for a, b in zip(ls, ls[1:]))
    assert all(l >= r for l, r in zip(ls, rs))  # concave from 0 to 1: above the diagonal


@pytest.mark.slow
def test_finite_d_approaches_the_limit():
    # at fixed m/d the finite-d excess over the limit shrinks like 1/d (measured: d (N/d^2 - L) = 0.1-0.2)
    for r in (0.25, 0.5):
        gaps = []
        for d in (8, 16, 32, 64):
            res = n_eff_rank(d, int(r * d))
            gap = res.n_eff_over_d2 - n_eff_rank_limit(r)
            assert gap > 4.0 * res.n_eff_se / d ** 2  # finite d lies above the limit at these r
            gaps.append(gap)
        assert all(b < a for a, b in zip(gaps, gaps[1:])), gaps
        assert gaps[-1] < 0.005


# ----------------------------------------------------------------- p_c with N_eff
def test_p_c_width_reduces_to_one_layer_at_full_rank():
    for d in (8, 16):
        r = p_c_two_layer_width(d, d)
        assert r.p_c == p_c(d) and r.n_eff == d * d and not r.hypothesis and r.note
        assert p_c_two_layer_width(d, 3 * d).p_c == p_c(d)
    assert p_c_two_layer_width(12, 12, kappa=0.5).p_c == p_c(12, kappa=0.5)


def test_p_c_width_is_t3_with_n_eff_and_carries_the_conjecture():
    r = p_c_two_layer_width(16, 4, kappa=0.25)
    ref = n_eff_rank(16, 4)
    assert r.hypothesis and "HYPOTHESIS" in r.basis and r.n_eff_method == "monte-carlo"
    assert r.n_eff == ref.n_eff and r.n_eff_se == ref.n_eff_se
    assert_allclose(r.p_c, solve_p_c(16, kappa=0.25, n_params=ref.n_eff).p_c, rtol=1e-12)
    # p_c_se: the N_eff error carried through (T3) by the slope of p_c(N)
    hi = solve_p_c(16, kappa=0.25, n_params=ref.n_eff + 1.0).p_c
    lo = solve_p_c(16, kappa=0.25, n_params=ref.n_eff - 1.0).p_c
    assert_allclose(r.p_c_se, ref.n_eff_se * (hi - lo) / 2.0, rtol=1e-3)
    conj = p_c_two_layer(16, 4, trained=True, kappa=0.25)
    assert r.p_c_conjecture == conj.p_c and r.n_params_conjecture == conj.n_params and r.conjecture
    assert r.p_c > r.p_c_conjecture  # the width exceeds the manifold dimension 2dm - m^2


def test_p_c_width_large_d_uses_the_limit():
    r = p_c_two_layer_width(1000, 250)
    assert r.n_eff_method == "quarter-circle limit" and r.n_eff_se == 0.0 and "limit" in r.note
    assert_allclose(r.n_eff, 1e6 * n_eff_rank_limit(0.25), rtol=1e-14)
    assert p_c_two_layer_width(1000.5, 300.25).n_eff_method == "quarter-circle limit"  # real sizes allowed there


# ----------------------------------------------------------------- bad input
@pytest.mark.parametrize("call, exc, name", [
    (lambda: n_eff_rank(0, 1), ValueError, "d"),
    (lambda: n_eff_rank(N_EFF_D_MAX + 1, 1), ValueError, "d"),
    (lambda: n_eff_rank(12.5, 3), ValueError, "d"),
    (lambda: n_eff_rank("12", 3), TypeError, "d"),
    (lambda: n_eff_rank(12, -1), ValueError, "m"),
    (lambda: n_eff_rank(12, 2.5), ValueError, "m"),
    (lambda: n_eff_rank(12, True), TypeError, "m"),
    (lambda: n_eff_rank(12, 3, n_samples=10), ValueError, "n_samples"),
    (lambda: n_eff_rank(256, 3, n_samples=10**6), ValueError, "n_samples"),
    (lambda: n_eff_rank(12, 3, seed=-1), ValueError, "seed"),
    (lambda: n_eff_rank(12, 3, seed=1.5), TypeError, "seed"),
    (lambda: n_eff_rank_limit(-0.1), ValueError, "r"),
    (lambda: n_eff_rank_limit(float("nan")), ValueError, "r"),
    (lambda: n_eff_rank_limit("x"), TypeError, "r"),
    (lambda: p_c_two_layer_width(0, 1), ValueError, "d"),
    (lambda: p_c_two_layer_width(12, 0), ValueError, "m"),
    (lambda: p_c_two_layer_width(12.5, 3), ValueError, "d"),
    (lambda: p_c_two_layer_width(12, 2.5), ValueError, "m"),
    (lambda: p_c_two_layer_width(12, 3, kappa=-1), ValueError, "kappa"),
    (lambda: p_c_two_layer_width(12, 3, kappa=float("inf")), ValueError, "kappa"),
    (lambda: p_c_two_layer_width(12, 3, n_samples=5), ValueError, "n_samples"),
    (lambda: p_c_two_layer_width(12, 3, seed="a"), TypeError, "seed"),
])
def test_bad_input_refused(call, exc, name):
    with pytest.raises(exc, match=f"`{name}`"):
        call()


# ----------------------------------------------------------------- CLI
def test_query_two_layer_shows_hypothesis_beside_conjecture(capsys):
    status = cli.main(["query", "--d", "12", "--model", "two-layer", "--m", "3,12", "--json"])
    out, err = capsys.readouterr()
    assert status == 0, err
    rows = json.loads(out)
    lib = p_c_two_layer_width(12, 3)
    assert rows[0]["p_c_width"] == lib.p_c and rows[0]["p_c_width_se"] == lib.p_c_se
    assert rows[0]["n_eff_width"] == lib.n_eff and rows[0]["width_method"] == "monte-carlo"
    assert rows[0]["hypothesis"] is True and rows[0]["conjecture"] is True
    assert rows[0]["p_c"] == p_c_two_layer(12, 3, trained=True).p_c  # the conjecture keeps its key
    assert rows[1]["p_c_width"] == rows[1]["p_c"] == p_c(12) and rows[1]["hypothesis"] is False
    status = cli.main(["query", "--d", "12", "--model", "two-layer", "--m", "6", "--csv"])
    out, _ = capsys.readouterr()
    header, row = out.strip().splitlines()
    assert "p_c_width" in header.split(",") and len(row.split(",")) == len(header.split(","))
    status = cli.main(["query", "--d", "12", "--model", "two-layer", "--m", "6"])
    out, _ = capsys.readouterr()
    assert status == 0 and "p_c_width" in out and "working conjecture" not in out and "untested" not in out


def test_query_two_layer_help_has_no_stale_wording(capsys):
    assert cli.main(["query", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "Gaussian-width" in text or "Gaussian width" in text
    assert "working conjecture" not in text and "untested" not in text


def test_query_two_layer_non_integer_small_d_refused(capsys):
    status = cli.main(["query", "--d", "12.5", "--model", "two-layer", "--m", "3"])
    err = capsys.readouterr().err
    assert status == 2 and "--d must be an integer when d <= 256" in err and "12.5" in err
    assert len(err.strip().splitlines()) == 1
