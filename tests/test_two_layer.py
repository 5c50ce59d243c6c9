"""Two-layer memories W2 W1 x: the (T3) predictions, the projected instance, certified verdicts, lower bounds."""
import json
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from scipy.optimize import minimize
from scipy.special import comb

from capacity.simulate import make_instance, solve_feasibility, summarize_points
from capacity.simulate.trial import make_task, run_trial
from capacity.simulate.two_layer import (
    ProjectedInstance,
    _block_solve,
    _line_search,
    first_layer,
    p50_lower_bound,
    solve_rank_one,
    solve_two_layer,
)
from capacity.theory import alpha_c, p_c
from capacity.theory.two_layer import n_params_two_layer, p_c_two_layer

from .naive import dense_lp_feasible, dense_rows


def _dense_rows(inst):
    """Every constraint row vec((y_mu - c)(x_mu)^T) of a (possibly projected) instance, written out densely
    (tests/naive.py) from its inputs, targets and competitor blocks."""
    comps = np.concatenate([inst.competitor_block(b) for b in range(inst.n_blocks())])
    return dense_rows(inst.x, inst.y, comps)


# --- theory -----------------------------------------------------------------------------------
def test_parameter_counts():
    assert n_params_two_layer(12, 3) == 36.0
    assert n_params_two_layer(12, 3, trained=True) == 2 * 12 * 3 - 9
    assert n_params_two_layer(12, 12, trained=True) == n_params_two_layer(12, 40, trained=True) == 144.0
    # a wide frozen layer (m >= d): W1 has rank d, W2 W1 is any d x d matrix -> the one-layer d^2, not d m
    assert n_params_two_layer(12, 40) == n_params_two_layer(12, 12) == 144.0


@pytest.mark.parametrize("d", [8, 12, 16, 24.5])
@pytest.mark.parametrize("factor", [1.0, 1.5, 100.0 / 16])
@pytest.mark.parametrize("trained", [False, True])
def test_wide_two_layer_is_the_one_layer_memory(d, factor, trained):
    # m >= d: the parameter count is d^2 whatever m, so p_c is exactly the one-layer p_c(d) (tested on its own)
    r = p_c_two_layer(d, factor * d, trained=trained)
    assert r.p_c == p_c(d) and r.n_params == d * d and not r.conjecture
    assert "one-layer" in r.note and "m >= d" in r.note


def test_narrow_frozen_layer_keeps_n_equal_d_m():
    # m < d: unchanged, N = d m, p_c strictly below the one-layer value; no note
    for d, m in ((16, 8), (16, 15), (24, 6), (12, 3)):
        r = p_c_two_layer(d, m)
        assert r.n_params == d * m and r.note == "" and r.p_c < p_c(d)
    assert round(p_c_two_layer(16, 8).p_c, 2) == 36.66  # the value before and after the m >= d fix


def test_trained_at_full_width_is_the_one_layer_capacity():
    for d in (8, 16, 24.5):
        r = p_c_two_layer(d, d, trained=True)
        assert r.p_c == p_c(d) and not r.conjecture
        assert p_c_two_layer(d, 2 * d, trained=True).p_c == p_c(d)
        # frozen square W1 (invertible): same parameter count as one layer
        assert_allclose(p_c_two_layer(d, d).p_c, p_c(d), rtol=1e-12)


@pytest.mark.parametrize("d, m, trained", [(12, 3, False), (12, 3, True), (16, 12, True), (24, 6, False)])
def test_t3_residual(d, m, trained):
    r = p_c_two_layer(d, m, trained=trained)
    n = d * m if not trained else 2 * d * m - m * m
    assert r.n_params == n and r.conjecture == trained
    # (T3): p = N alpha_c(p - 1); the root is found to 1e-12 relative
    assert_allclose(r.p_c, n * alpha_c(r.p_c - 1.0), rtol=1e-10)
    assert_allclose(r.alpha_c, alpha_c(r.K), rtol=1e-12)
    assert ("CONJECTURE" in r.basis) == trained
    assert json.dumps(r.to_dict())
    assert not {"success", "status", "message"} & set(r.to_dict())  # it succeeds or raises


def test_kappa_lowers_the_capacity():
    assert p_c_two_layer(16, 8, kappa=0.5).p_c < p_c_two_layer(16, 8).p_c


@given(st.integers(1, 40), st.integers(1, 40))
def test_trained_count_between_frozen_and_one_layer(d, m):
    frozen, trained = n_params_two_layer(d, m), n_params_two_layer(d, m, trained=True)
    assert trained <= d * d
    if m <= d:
        assert frozen <= trained  # 2dm - m^2 >= dm  iff  m <= d


@pytest.mark.parametrize("m", [0, 0.5, -3, 2e12, math.nan, math.inf])
def test_theory_bad_m(m):
    with pytest.raises(ValueError, match="`m`"):
        p_c_two_layer(12, m)
    with pytest.raises(ValueError, match="`m`"):
        n_params_two_layer(12, m, trained=True)


def test_theory_bad_other_inputs():
    with pytest.raises(ValueError, match="`d`"):
        p_c_two_layer(0.5, 2)
    with pytest.raises(ValueError, match="`kappa`"):
        p_c_two_layer(12, 3, kappa=-1)
    with pytest.raises(TypeError, match="`trained`"):
        p_c_two_layer(12, 3, trained="yes")
    with pytest.raises(TypeError, match="`m`"):
        p_c_two_layer(12, "3")


# --- projected instance and the frozen first layer --------------------------------------------
def test_first_layer_is_reproducible_and_leaves_the_instance_alone():
    inst = make_instance("decoupled", 8, 20, seed=4, trial=1)
    again = make_instance("decoupled", 8, 20, seed=4, trial=1)
    W1 = first_layer(inst, 3)
    assert W1.shape == (3, 8) and np.array_equal(W1, first_layer(again, 3))
    assert not np.array_equal(first_layer(inst, 3, restart=1), W1)
    assert not np.array_equal(first_layer(inst, 4)[:3], W1)
    # drawing W1 does not disturb x, y or the competitors
    assert np.array_equal(inst.x, again.x) and np.array_equal(inst.competitor_block(0), again.competitor_block(0))
    # N(0, 1/d) entries
    big = first_layer(make_instance("decoupled", 64, 2, seed=0), 500)
    assert_allclose(big.var(), 1 / 64, rtol=0.02)


@pytest.mark.parametrize("model", ["decoupled", "coupled"])
def test_projected_margins_are_the_product_margins(model):
    inst = make_instance(model, 6, 9, seed=2)
    rng = np.random.default_rng(0)
    W1, W2 = rng.standard_normal((3, 6)), rng.standard_normal((6, 3))
    coded = ProjectedInstance(inst, w_in=W1)  # variable W2
    hidden = ProjectedInstance(inst, w_out=W2)  # variable W1: targets W2^T y, competitors W2^T c
    full = inst.margins(W2 @ W1)
    assert_allclose(coded.margins(W2), full, rtol=1e-12)
    assert_allclose(hidden.margins(W1), full, rtol=1e-12)
    # the rows the engines build are the brute-force rows of the transformed problem
    assert_allclose((_dense_rows(coded) @ W2.ravel()).reshape(inst.p, inst.K), full, rtol=1e-10, atol=1e-12)
    assert_allclose((_dense_rows(hidden) @ W1.ravel()).reshape(inst.p, inst.K), full, rtol=1e-10, atol=1e-12)
    assert coded.x.shape == (9, 3) and hidden.y.shape == (9, 3) and hidden.competitor(4, 2).shape == (3,)


def test_projected_instance_bad_maps():
    inst = make_instance("decoupled", 6, 9, seed=2)
    with pytest.raises(ValueError, match="`w_in`"):
        ProjectedInstance(inst, w_in=np.ones((3, 5)))
    with pytest.raises(ValueError, match="`w_out`"):
        ProjectedInstance(inst, w_out=np.full((6, 2), np.nan))


def test_frozen_verdicts_match_a_dense_lp():
    # the wrapper + certified engine against scipy's dense LP on the transformed rows, near the frozen p_c
    n_feasible = 0
    for t in range(10):
        for p in (8, 10):
            inst = make_instance("decoupled", 6, p, seed=9, trial=t)
            r = solve_two_layer(inst, 3)
            assert r.verdict in ("feasible", "infeasible")
            dense = dense_lp_feasible(_dense_rows(ProjectedInstance(inst, w_in=first_layer(inst, 3))))
            assert (r.verdict == "feasible") == dense
            n_feasible += dense
            if r.verdict == "infeasible":
                assert r.cert_bound <= 1e-7
    assert 3 <= n_feasible <= 17  # both verdicts exercised


def test_frozen_wendel_probability_at_K_1():
    # K = 1: rows (y - c) (x) (W1 x) are i.i.d., symmetric and in general position in N = d m dimensions,
    # so they are separable with Wendel's probability 2^{1-p} sum_{k<N} C(p-1, k)
    d, m, p, n = 3, 2, 13, 200
    N = d * m
    exact = sum(comb(p - 1, k, exact=True) for k in range(N)) / 2 ** (p - 1)
    verdicts = [solve_two_layer(make_instance("decoupled", d, p, K=1, seed=5, trial=t), m).verdict for t in range(n)]
    assert "undecided" not in verdicts
    frac = verdicts.count("feasible") / n
    assert abs(frac - exact) < 4 * math.sqrt(exact * (1 - exact) / n)


# --- trained: certified, never worse than frozen ----------------------------------------------
def test_trained_at_least_frozen_and_feasible_products_reverify():
    seen = set()
    for t in range(8):
        inst = make_instance("decoupled", 8, 16, seed=3, trial=t)
        frozen = solve_two_layer(inst, 4)
        trained = solve_two_layer(inst, 4, trained=True)
        seen.add((frozen.verdict, trained.verdict))
        if frozen.verdict == "feasible":
            assert trained.verdict == "feasible"
        if trained.verdict == "feasible":
            # independent re-verification: brute-force rows of the one-layer problem times vec(W2 W1)
            W = trained.w2 @ trained.w1
            assert trained.w2.shape == (8, 4) and np.linalg.matrix_rank(W) <= 4
            margins = _dense_rows(inst) @ W.ravel()
            assert margins.min() > 0
            assert_allclose(margins.min(), trained.min_margin, rtol=1e-9)
            assert_allclose(trained.kappa_hat, trained.min_margin / (np.linalg.norm(W) / 8), rtol=1e-12)
        if trained.verdict == "infeasible":
            assert trained.found_by == "one-layer" and trained.cert_bound <= 1e-7
            assert solve_feasibility(inst).verdict == "infeasible"
    assert ("infeasible", "feasible") in seen  # training the first layer helps on some instance


@pytest.mark.parametrize("model", ["decoupled", "coupled"])
def test_full_width_trained_is_the_one_layer_verdict(model):
    # m >= d: every d x d matrix is a product, so the verdict is exactly the one-layer one
    verdicts = set()
    for t in range(6):
        inst = make_instance(model, 6, 15, seed=1, trial=t)
        one = solve_feasibility(inst).verdict
        for m in (6, 8):
            r = solve_two_layer(inst, m, trained=True)
            assert r.verdict == one
            if r.verdict == "feasible":
                assert r.found_by == "one-layer (m >= d)" and r.w2.shape == (6, m)
        verdicts.add(one)
    assert verdicts == {"feasible", "infeasible"}


def test_not_found_is_undecided_never_infeasible():
    # rank 1 cannot store 12 facts in d = 8, but the one-layer problem is feasible: nothing certifies
    # infeasibility, so a failed search must say "undecided" / not_found
    inst = make_instance("decoupled", 8, 12, seed=0)
    assert solve_feasibility(inst).verdict == "feasible"
    r = solve_two_layer(inst, 1, trained=True, n_restarts=1, max_alternations=5)
    assert r.verdict == "undecided" and r.not_found and r.w2 is None
    assert "not found" in r.message and "bounded from below" in r.message
    assert r.n_starts == 3  # SVD, frozen W1, one random W1
    # through the trial layer and the generic estimator it stays undecided (and fails the point loudly)
    res = run_trial(make_task("two-layer", "decoupled", 8, 12, trial=0, seed=0, m=1))
    assert res["verdict"] == "undecided" and res["not_found"] is True
    with pytest.warns(UserWarning, match="undecided"):
        pt = summarize_points([{"p": 12, "verdict": res["verdict"]}])[0]
    assert pt.n_infeasible == 0 and not pt.ok


def test_trial_tasks_and_results():
    task = make_task("two-layer-frozen", "coupled", 6, 10, trial=2, seed=1, m=3)
    assert set(task) == {"experiment", "model", "d", "p", "K", "embedding", "seed", "trial", "m"}
    res = run_trial(task)
    assert res["verdict"] in ("feasible", "infeasible", "undecided") and res["m"] == 3 and not res["trained"]
    json.dumps(res)
    assert "w2" not in res
    # the other experiments' task keys are unchanged
    assert "m" not in make_task("feasibility", "decoupled", 6, 10, trial=0, seed=0)
    with pytest.raises(ValueError, match="`m`"):
        make_task("two-layer", "decoupled", 6, 10, trial=0, seed=0)
    with pytest.raises(ValueError, match="`m`"):
        make_task("feasibility", "decoupled", 6, 10, trial=0, seed=0, m=3)


@pytest.mark.parametrize("m", [0, -1, 5000, 2.5])
def test_simulation_bad_m(m):
    inst = make_instance("decoupled", 6, 10, seed=0)
    with pytest.raises(ValueError, match="`m`"):
        solve_two_layer(inst, m)
    with pytest.raises(ValueError, match="`m`"):
        first_layer(inst, m)
    with pytest.raises(ValueError, match="`m`"):
        make_task("two-layer", "decoupled", 6, 10, trial=0, seed=0, m=m)


def test_simulation_bad_other_inputs():
    inst = make_instance("decoupled", 6, 10, seed=0)
    with pytest.raises(TypeError, match="`trained`"):
        solve_two_layer(inst, 3, trained=1)
    with pytest.raises(ValueError, match="`C_schedule"):
        solve_two_layer(inst, 3, trained=True, C_schedule=(10.0, -1.0))
    with pytest.raises(ValueError, match="`C_schedule`"):
        solve_two_layer(inst, 3, trained=True, C_schedule=())
    with pytest.raises(ValueError, match="`n_restarts`"):
        solve_two_layer(inst, 3, trained=True, n_restarts=-1)


def test_trained_kappa_products_reach_the_margin():
    # kappa > 0: a feasible verdict is a product whose re-scored normalised margin is >= kappa
    kappas_found = []
    for t in range(4):
        inst = make_instance("decoupled", 8, 10, seed=5, trial=t)
        base = solve_two_layer(inst, 4, trained=True)
        r = solve_two_layer(inst, 4, trained=True, kappa=0.3)
        if r.verdict == "feasible":
            W = r.w2 @ r.w1
            margins = _dense_rows(inst) @ W.ravel()
            assert margins.min() >= 0.3 * np.linalg.norm(W) / 8 and r.kappa_hat >= 0.3
            kappas_found.append(r.kappa_hat)
        elif r.verdict == "infeasible":
            assert base.verdict == "infeasible" and r.found_by == "one-layer"  # only the kappa = 0 certificate
        else:
            assert r.not_found and "normalised margin >= 0.3" in r.message
    assert kappas_found  # the search reaches the margin on some instance
    # kappa = 0 is the default experiment, unchanged
    inst = make_instance("decoupled", 8, 16, seed=2)
    a, b = solve_two_layer(inst, 4, trained=True), solve_two_layer(inst, 4, trained=True, kappa=0.0)
    assert (a.verdict, a.found_by, a.min_margin) == (b.verdict, b.found_by, b.min_margin)


def test_trained_kappa_bad_input():
    inst = make_instance("decoupled", 6, 10, seed=0)
    with pytest.raises(ValueError, match="`kappa`"):
        solve_two_layer(inst, 3, trained=True, kappa=-0.1)
    with pytest.raises(ValueError, match="`kappa`"):
        solve_two_layer(inst, 3, kappa=0.5)  # frozen: not supported
    with pytest.raises(ValueError, match="`kappa`"):
        solve_two_layer(inst, 6, trained=True, kappa=0.5)  # m >= d: the one-layer max margin
    with pytest.raises(TypeError, match="`kappa`"):
        solve_two_layer(inst, 3, trained=True, kappa="0.5")


def _rank_one_by_enumeration(inst):
    """Naive reference: is some rank-one W = u v^T separating?  Every sign pattern s (s_1 = +1) in turn, two
    plain LPs on the dense rows: s_mu (y_mu - c) . u >= 1 for all (mu, c) and s_mu x_mu . v >= 1 for all mu."""
    from itertools import product

    from scipy.optimize import linprog

    comps = np.concatenate([inst.competitor_block(b) for b in range(inst.n_blocks())])  # (p, K, d)
    diffs = inst.y[:, None, :] - comps
    d = inst.d
    for tail in product((1.0, -1.0), repeat=inst.p - 1):
        s = np.array((1.0,) + tail)
        ok = True
        for rows in ((s[:, None, None] * diffs).reshape(-1, d), s[:, None] * inst.x):
            r = linprog(np.zeros(d), A_ub=-rows, b_ub=-np.ones(len(rows)), bounds=[(None, None)] * d, method="highs")
            ok = ok and r.status == 0
        if ok:
            return True
    return False


def test_rank_one_exact_matches_enumeration_small():
    for t in range(2):
        inst = make_instance("decoupled", 4, 5, seed=11, trial=t)
        assert (solve_rank_one(inst).verdict == "feasible") == _rank_one_by_enumeration(inst)


@pytest.mark.slow
def test_rank_one_exact_matches_enumeration_and_the_search():
    seen = set()
    for d, p, t in [(4, 5, 0), (4, 6, 1), (4, 7, 2), (5, 7, 0), (5, 8, 3), (4, 8, 4), (5, 6, 5), (4, 5, 6)]:
        inst = make_instance("decoupled", d, p, seed=11, trial=t)
        exact = solve_rank_one(inst)
        assert exact.verdict in ("feasible", "infeasible") and exact.m == 1
        assert (exact.verdict == "feasible") == _rank_one_by_enumeration(inst)
        seen.add(exact.verdict)
        if exact.verdict == "feasible":
            W = exact.w2 @ exact.w1
            assert np.linalg.matrix_rank(W) == 1 and (_dense_rows(inst) @ W.ravel()).min() > 0
        else:
            assert 0 <= exact.cert_bound <= 1e-7
        search = solve_two_layer(inst, 1, trained=True)
        if search.verdict == "feasible":  # the search never finds what the exact decision excludes
            assert exact.verdict == "feasible"
    assert seen == {"feasible", "infeasible"}


def test_rank_one_bad_input():
    with pytest.raises(TypeError, match="`inst`"):
        solve_rank_one(None)
    inst = make_instance("decoupled", 4, 5, seed=0)
    with pytest.raises(ValueError, match="`cert_tol`"):
        solve_rank_one(inst, cert_tol=0.0)
    with pytest.raises(ValueError, match="`max_nodes`"):
        solve_rank_one(inst, max_nodes=0)
    r = solve_rank_one(make_instance("decoupled", 6, 12, seed=0), max_nodes=2)
    assert r.verdict in ("feasible", "undecided")  # a search cut short never claims infeasibility
    if r.verdict == "undecided":
        assert "more than 2 nodes" in r.message


# --- the exact block solve ----------------------------------------------------------------------
def test_block_solve_is_the_exact_minimiser():
    rng = np.random.default_rng(3)
    a, b, C = rng.standard_normal((7, 5, 3)), rng.standard_normal((7, 2)), 4.0

    def objective(v):
        s = np.einsum("pko,po->pk", a, b @ v.reshape(3, 2).T)
        return 0.5 * v @ v + 0.5 * C * np.sum(np.maximum(1 - s, 0) ** 2)

    V, s, converged = _block_solve(a, b, np.zeros((3, 2)), C)
    assert converged
    assert_allclose(s, np.einsum("pko,po->pk", a, b @ V.T), rtol=1e-12)
    ref = minimize(objective, np.zeros(6), method="BFGS", options={"gtol": 1e-10})
    assert_allclose(V.ravel(), ref.x, atol=1e-6)
    # the KKT condition of the smooth objective holds to round-off
    act = s < 1
    grad = V - C * np.einsum("pk,pko,pi->oi", (1 - s) * act, a, b)
    assert np.abs(grad).max() < 1e-10


def test_line_search_is_exact():
    rng = np.random.default_rng(1)
    for _ in range(5):
        V, D = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
        s0, s1, C = 2 * rng.standard_normal((9, 6)), rng.standard_normal((9, 6)), 10 ** rng.uniform(-1, 3)

        def f(t):
            return 0.5 * np.sum((V + t * D) ** 2) + 0.5 * C * np.sum(np.maximum(1 - s0 - t * s1, 0) ** 2)

        t = _line_search(V, D, s0, s1, C)
        grid = np.linspace(0, 3, 3001)
        assert f(t) <= min(f(g) for g in grid) + 1e-12
        h = 1e-7  # an interior minimiser is a stationary point (f is C^1)
        if t > h:
            assert abs(f(t + h) - f(t - h)) / (2 * h) < 1e-5 * (1 + C)


# --- lower-bound estimation ---------------------------------------------------------------------
def test_lower_bound_keeps_the_counts_apart():
    recs = ([{"p": 20, "verdict": "feasible"}] * 9 + [{"p": 20, "verdict": "undecided"}]
            + [{"p": 24, "verdict": "feasible"}] * 5 + [{"p": 24, "verdict": "undecided"}] * 4
            + [{"p": 24, "verdict": "infeasible"}]
            + [{"p": 28, "verdict": "feasible"}] + [{"p": 28, "verdict": "undecided"}] * 9)
    est = p50_lower_bound(recs, n_boot=200)
    pts = {pt["p"]: pt for pt in est.points}
    assert (pts[24]["n_feasible"], pts[24]["n_infeasible"], pts[24]["n_not_found"]) == (5, 1, 4)
    assert pts[24]["p_lower"] == 0.5 and pts[24]["ci_low"] < 0.5 < pts[24]["ci_high"]
    assert est.p50_lower.success and 20 < est.p50_lower.p50 < 28
    json.dumps(est.to_dict())
    # with certified verdicts only, the bound is the ordinary estimate
    exact = [{"p": r["p"], "verdict": "infeasible" if r["verdict"] == "undecided" else r["verdict"]} for r in recs]
    assert_allclose(p50_lower_bound(exact, n_boot=0).p50_lower.p50, est.p50_lower.p50, rtol=1e-12)
    with pytest.raises(ValueError, match="verdict"):
        p50_lower_bound([{"p": 3, "verdict": "not_found"}])
    with pytest.raises(ValueError, match="`records`"):
        p50_lower_bound([])
