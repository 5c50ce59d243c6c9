"""The certified simulator: certificates, brute-force verdicts, Wendel/Cover probabilities, determinism."""
import json
import math

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.special import comb

from capacity.simulate import hebbian_recall, make_instance, solve_feasibility, solve_max_margin
from capacity.simulate.feasibility import verify_certificate, verify_separating
from capacity.simulate.instances import Instance
from capacity.simulate.sweep import simulate_capacity, summarize_margins

from .naive import coupled_competitors, dense_rows


def _all_rows(inst):
    """Every constraint row, written out densely (tests/naive.py) from the instance's arrays: the coupled
    competitors are the other targets, the decoupled ones the instance's stored blocks."""
    if inst.model == "coupled":
        comps = coupled_competitors(inst.y)
    else:
        comps = np.concatenate([inst.competitor_block(b) for b in range(inst.n_blocks())])
    return dense_rows(inst.x, inst.y, comps)


# --- instances --------------------------------------------------------------------------------
def test_instances_are_reproducible_and_blockwise():
    a = make_instance("decoupled", 6, 150, seed=3, trial=2)
    b = make_instance("decoupled", 6, 150, seed=3, trial=2)
    assert np.array_equal(a.x, b.x) and np.array_equal(a.competitor_block(2), b.competitor_block(2))
    # the lazily generated competitors are the same whichever way they are reached
    assert_allclose(a.competitor(130, 7), a.competitor_block(2)[130 - 128, 7])
    # margins computed block by block equal the brute-force rows times vec(W)
    W = np.random.default_rng(0).standard_normal((6, 6))
    assert_allclose(a.margins(W).ravel(), _all_rows(a) @ W.ravel(), rtol=1e-12, atol=1e-12)
    # coupled and decoupled share x and y; the sphere law has unit rows
    c = make_instance("coupled", 6, 150, seed=3, trial=2)
    assert np.array_equal(c.x, a.x) and c.K == 149
    assert_allclose(c.margins(W).ravel(), _all_rows(c) @ W.ravel(), rtol=1e-12, atol=1e-12)
    s = make_instance("decoupled", 6, 10, embedding="sphere")
    assert_allclose(np.linalg.norm(s.competitor_block(0), axis=-1), 1.0)


@pytest.mark.parametrize("kwargs, match", [
    ({"model": "mixed"}, "`model`"), ({"embedding": "cube"}, "`embedding`"), ({"d": 0}, "`d`"),
    ({"p": 1}, "`p`"), ({"model": "coupled", "K": 3}, "`K` must be p - 1"), ({"seed": -1}, "`seed`"),
])
def test_instance_bad_input(kwargs, match):
    args = {"model": "decoupled", "d": 4, "p": 10} | kwargs
    with pytest.raises(ValueError, match=match):
        make_instance(args.pop("model"), args.pop("d"), args.pop("p"), **args)


# --- certificates -----------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["ldp", "highs"])
def test_feasible_certificate_is_a_rescored_W(method):
    inst = make_instance("decoupled", 8, 15, seed=1)
    r = solve_feasibility(inst, method=method)
    assert r.verdict == "feasible" and r.min_margin > 0
    # a corrupted W is rejected by the same float64 re-scoring
    assert verify_separating(inst, -inst.y.T @ inst.x) < 0
    assert verify_separating(inst, np.zeros((8, 8))) <= 0


@pytest.mark.parametrize("method", ["ldp", "highs"])
def test_infeasible_certificate_verifies_and_fakes_do_not(method):
    inst = make_instance("decoupled", 3, 40, seed=5)  # 40 inputs x 39 competitors in 9 dimensions
    r = solve_feasibility(inst, method=method)
    assert r.verdict == "infeasible" and r.cert_bound <= 1e-7
    rows = _all_rows(inst)
    rng = np.random.default_rng(0)
    for _ in range(20):  # random "certificates" on the same rows are far from verifying
        fake = rng.random(len(rows))
        assert verify_certificate(rows, fake, inst.d) > 1e-3
    assert verify_certificate(rows, np.zeros(len(rows)), inst.d) == math.inf
    assert verify_certificate(rows, -np.ones(len(rows)), inst.d) == math.inf


def test_duplicate_target_is_provably_infeasible():
    # a competitor equal to the target makes a zero row: 0 > 0 is impossible (brute force)
    inst = make_instance("coupled", 5, 6, seed=2)
    y = inst.y.copy()
    y[1] = y[0]
    dup = Instance(model="coupled", d=5, p=6, K=5, embedding="gaussian", seed=2, trial=0, x=inst.x, y=y,
                   _z_seq=inst._z_seq)
    r = solve_feasibility(dup)
    assert r.verdict == "infeasible" and r.cert_bound < 1e-12


def test_small_loads_always_feasible():
    # p = 2: two constraints in d^2 >= 1 dimensions; p <= d on the sphere: the inputs are independent, so
    # v_mu = W x_mu = y_mu is attainable and (y_mu - c).y_mu = 1 - c.y_mu > 0 for every competitor
    for seed in range(5):
        assert solve_feasibility(make_instance("decoupled", 2, 2, seed=seed)).verdict == "feasible"
        for model in ("coupled", "decoupled"):
            inst = make_instance(model, 7, 7, embedding="sphere", seed=seed)
            assert solve_feasibility(inst).verdict == "feasible"


def test_wendel_probability_at_K_1():
    # K = 1: p i.i.d. symmetric rows in general position in N = d^2 dimensions are strictly separable
    # through the origin with probability 2^{1-p} sum_{k<N} C(p-1, k) (Wendel 1962 / Cover 1965)
    d, p, n = 3, 19, 240
    N = d * d
    exact = sum(comb(p - 1, k, exact=True) for k in range(N)) / 2 ** (p - 1)
    verdicts = [solve_feasibility(make_instance("decoupled", d, p, K=1, seed=11, trial=t)).verdict for t in range(n)]
    assert "undecided" not in verdicts
    frac = verdicts.count("feasible") / n
    assert abs(frac - exact) < 4 * math.sqrt(exact * (1 - exact) / n)


def test_engines_agree():
    for t in range(6):
        inst = make_instance("coupled", 6, 15, seed=4, trial=t)
        assert solve_feasibility(inst, method="ldp").verdict == solve_feasibility(inst, method="highs").verdict


def test_undecided_is_reported_not_folded():
    inst = make_instance("decoupled", 8, 26, seed=3)
    r = solve_feasibility(inst, max_rounds=1, initial_per_input=1)
    assert r.verdict in ("undecided", "infeasible")
    if r.verdict == "undecided":
        assert "rounds" in r.message


# --- max margin and Hebbian -------------------------------------------------------------------
def test_max_margin_is_optimal_and_normalised():
    inst = make_instance("decoupled", 6, 10, seed=7)
    r = solve_max_margin(inst)
    assert r.verdict == "feasible"
    assert_allclose(r.kappa_hat, r.kappa_upper, rtol=1e-7)
    assert_allclose(np.sum(r.singular_values**2), 36.0, rtol=1e-10)  # ||W||_F = d
    margins = r.correct_scores[:, None] - r.competitor_scores
    assert_allclose(margins.min(), r.kappa_hat, rtol=1e-12)
    assert np.all(r.n_active >= 1)
    # no feasible W of the LP engine has a larger normalised margin
    f = solve_feasibility(inst, method="highs")
    assert f.kappa_hat <= r.kappa_hat * (1 + 1e-7)


def test_hebbian_small_load_recalls_everything():
    inst = make_instance("coupled", 40, 5, embedding="sphere", seed=0)
    h = hebbian_recall(inst)
    assert h.all_recalled and h.fraction_recalled == 1.0 and h.min_margin > 0
    big = hebbian_recall(make_instance("coupled", 6, 60, seed=0))
    assert not big.all_recalled


# --- sweeps: determinism, persistence, summaries -----------------------------------------------
def test_simulate_capacity_resumes_from_the_store(tmp_path):
    kw = dict(trials=4, seed=9, n_boot=50, progress=False)
    a = simulate_capacity("decoupled", 6, [12, 16], jobs=1, store=tmp_path / "a.sqlite", **kw)
    assert [(r["p"], r["trial"]) for r in a.records] == [(p, t) for p in (12, 16) for t in range(4)]
    assert a.n_undecided == sum(pt.n_undecided for pt in a.points) == [r["verdict"] for r in a.records].count(
        "undecided")
    # rerunning resumes from the store: nothing recomputed, identical answer
    c = simulate_capacity("decoupled", 6, [12, 16], jobs=1, store=tmp_path / "a.sqlite", **kw)
    assert json.dumps(c.records) == json.dumps(a.records)
    assert json.dumps(c.to_dict()) == json.dumps(a.to_dict())
    assert "records" not in a.to_dict() and a.to_dict()["p50"] == a.p50.p50


@pytest.mark.slow
def test_simulate_capacity_is_deterministic_across_jobs(tmp_path):
    kw = dict(trials=4, seed=9, n_boot=50, progress=False)
    a = simulate_capacity("decoupled", 6, [12, 16], jobs=1, store=tmp_path / "a.sqlite", **kw)
    b = simulate_capacity("decoupled", 6, [12, 16], jobs=2, store=tmp_path / "b.sqlite", **kw)
    strip = lambda recs: json.dumps([{k: v for k, v in r.items() if k != "seconds"} for r in recs])  # noqa: E731
    assert strip(a.records) == strip(b.records)
    assert json.dumps([pt.to_dict() for pt in a.points]) == json.dumps([pt.to_dict() for pt in b.points])


def test_margin_summary_groups_records_by_their_own_p(tmp_path):
    # an unsorted grid: each row must hold the trials of its own p (not a slice by position)
    d, ps, trials = 6, [16, 8, 12], 3
    res = simulate_capacity("decoupled", d, ps, trials=trials, seed=4, experiment="margin", n_boot=0,
                            store=tmp_path / "m.sqlite", progress=False)
    summary = summarize_margins(res.records, d)
    assert summary.to_dict() == summarize_margins(res).to_dict()
    assert [row.p for row in summary.rows] == sorted(ps)
    for row in summary.rows:
        recs = [r for r in res.records if r["p"] == row.p]
        k = np.array([r["kappa_hat"] for r in recs if r["verdict"] == "feasible"])
        assert row.alpha == row.p / d**2 and row.n_trials == trials == len(recs)
        assert (row.n_feasible, row.n_infeasible, row.n_undecided) == tuple(
            sum(r["verdict"] == v for r in recs) for v in ("feasible", "infeasible", "undecided"))
        if k.size:
            assert row.kappa_hat_mean == k.mean()
        else:
            assert math.isnan(row.kappa_hat_mean)
        if k.size > 1:
            assert row.kappa_hat_se == k.std(ddof=1) / math.sqrt(k.size)
        else:
            assert math.isnan(row.kappa_hat_se)
    # the grid crosses the capacity: some p all feasible with a margin, some without any
    assert summary.rows[0].n_feasible == trials and summary.rows[-1].n_feasible < trials
    # each p's values are those of a sweep over that p alone
    for row in summary.rows:
        alone = simulate_capacity("decoupled", d, [row.p], trials=trials, seed=4, experiment="margin", n_boot=0,
                                  store=tmp_path / "m.sqlite", progress=False)
        assert summarize_margins(alone).rows == [row]


def test_margin_summary_nan_rules_and_bad_input():
    recs = [{"p": 5, "verdict": "feasible", "kappa_hat": 0.5}, {"p": 5, "verdict": "infeasible"},
            {"p": 3, "verdict": "undecided"}]
    rows = summarize_margins(recs, 2).rows
    assert [(r.p, r.n_trials, r.n_feasible, r.n_infeasible, r.n_undecided) for r in rows] == [
        (3, 1, 0, 0, 1), (5, 2, 1, 1, 0)]
    assert math.isnan(rows[0].kappa_hat_mean) and math.isnan(rows[0].kappa_hat_se)
    assert rows[1].kappa_hat_mean == 0.5 and math.isnan(rows[1].kappa_hat_se)  # se needs two feasible trials
    assert rows[1].alpha == 5 / 4
    with pytest.raises(TypeError, match="`d`"):
        summarize_margins(recs)
    with pytest.raises(ValueError, match="'p' and 'verdict'"):
        summarize_margins([{"verdict": "feasible", "kappa_hat": 0.1}], 4)
    with pytest.raises(ValueError, match="verdict"):
        summarize_margins([{"p": 3, "verdict": "maybe"}], 4)
    with pytest.raises(ValueError, match="kappa_hat"):
        summarize_margins([{"p": 3, "verdict": "feasible"}], 4)
    with pytest.raises(ValueError, match="at least one"):
        summarize_margins([], 4)
