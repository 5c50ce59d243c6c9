"""Nested instances and per-instance thresholds (capacity.simulate.nested, .threshold).

References: the dense HiGHS LP of tests/naive.py on rows written out from the instance's
arrays (independent of the cutting-plane engines and of the threshold search), exact
binomial sums for the order-statistic interval.
"""
import math

import numpy as np
import pytest

from capacity.simulate import feasibility, threshold
from capacity.simulate.nested import make_nested_instance
from capacity.simulate.threshold import estimate_thresholds, find_threshold, median_ci
from capacity.sweeps import ResultsStore

from .naive import coupled_competitors, dense_lp_feasible, dense_rows


@pytest.mark.parametrize("model", ["decoupled", "coupled"])
@pytest.mark.parametrize("embedding", ["gaussian", "sphere"])
def test_nested_instances_are_prefixes(model, embedding):
    small = make_nested_instance(model, 7, 20, embedding=embedding, seed=3, trial=2)
    big = make_nested_instance(model, 7, 90, embedding=embedding, seed=3, trial=2)
    assert np.array_equal(small.x, big.x[:20]) and np.array_equal(small.y, big.y[:20])
    assert small.K == 19 and big.K == 89
    # competitors of input mu at p are the first p - 1 of its competitors at any larger p
    assert np.array_equal(small.competitor_block(0), big.competitor_block(0)[:20, :19])
    W = np.random.default_rng(0).standard_normal((7, 7))
    assert np.array_equal(small.margins(W), big.margins(W)[:20, :19])
    assert np.array_equal(big.competitor(70, 5), big.competitor_block(1)[6, 5])
    # another trial or seed is another instance
    assert not np.array_equal(make_nested_instance(model, 7, 20, embedding=embedding, seed=3, trial=3).x, small.x)
    assert not np.array_equal(make_nested_instance(model, 7, 20, embedding=embedding, seed=4, trial=2).x, small.x)


def _naive_feasible(model, d, p, seed, trial):
    inst = make_nested_instance(model, d, p, seed=seed, trial=trial)
    comps = coupled_competitors(inst.y) if model == "coupled" else inst.competitor_block(0)
    return dense_lp_feasible(dense_rows(inst.x, inst.y, comps))


@pytest.mark.parametrize("model", ["decoupled", "coupled"])
def test_threshold_agrees_with_independent_per_p_verdicts(model):
    # d = 5: p* ~ 14-17, every instance fits in one competitor block (p <= 64)
    for trial in range(3):
        s = find_threshold(model, 5, seed=11, trial=trial, p_start=15)
        assert s.success and s.threshold == s.lower and s.upper == s.lower + 1
        verdicts = {p: _naive_feasible(model, 5, p, 11, trial) for p in range(s.threshold - 3, s.threshold + 4)}
        # monotone, and the switch is exactly at p*
        assert all(verdicts[p] for p in verdicts if p <= s.threshold), verdicts
        assert not any(verdicts[p] for p in verdicts if p > s.threshold), verdicts


def test_threshold_does_not_depend_on_start_engine_or_warm_start():
    ref = find_threshold("decoupled", 8, seed=2, trial=1, p_start=22).threshold
    assert find_threshold("decoupled", 8, seed=2, trial=1, p_start=5).threshold == ref
    assert find_threshold("decoupled", 8, seed=2, trial=1, p_start=60).threshold == ref
    assert find_threshold("decoupled", 8, seed=2, trial=1, p_start=22, warm_start=False).threshold == ref
    assert find_threshold("decoupled", 8, seed=2, trial=1, p_start=22, method="ldp").threshold == ref


def test_search_carries_only_proven_bounds():
    s = find_threshold("coupled", 8, seed=0, trial=4, p_start=30)
    for solve in s.solves:
        if solve["verdict"] == "feasible":
            assert solve["p"] <= s.lower
        else:
            assert solve["verdict"] == "infeasible" and solve["p"] >= s.upper
    # both ends of the final bracket were solved (or the lower end is the trivial p = 1)
    assert s.lower == 1 or any(x["p"] == s.lower and x["verdict"] == "feasible" for x in s.solves)
    assert any(x["p"] == s.upper and x["verdict"] == "infeasible" for x in s.solves)


def test_undecided_solve_is_reported_never_folded(monkeypatch):
    real = feasibility.solve_feasibility

    def undecided_above_20(inst, **kw):
        res = real(inst, **kw)
        if inst.p > 20:
            return feasibility.FeasibilityResult(**{**res.__dict__, "verdict": "undecided", "message": "test"})
        return res

    monkeypatch.setattr(threshold, "solve_feasibility", undecided_above_20)
    s = find_threshold("decoupled", 8, seed=0, trial=0, p_start=18)
    assert not s.success and s.status == 1 and s.threshold is None and s.lower >= 18
    est = estimate_thresholds("decoupled", 8, instances=2, p_start=18, progress=False)
    assert est.n_undecided == 2 and est.thresholds == [None, None] and math.isnan(est.p50)
    assert any("undecided" in w for w in est.warnings)


def test_estimate_resumes_from_store(tmp_path, monkeypatch):
    store = tmp_path / "thr.sqlite"
    first = estimate_thresholds("decoupled", 6, instances=5, seed=1, p_start=15, store=store, progress=False)
    assert first.n_undecided == 0 and len(first.thresholds) == 5
    assert first.p50 == float(np.median(first.thresholds))
    with ResultsStore(store) as st:
        assert len(list(st.records(experiment="threshold"))) == 5

    def boom(*args, **kwargs):
        raise AssertionError("a stored instance was searched again")

    monkeypatch.setattr(threshold, "find_threshold", boom)
    again = estimate_thresholds("decoupled", 6, instances=5, seed=1, p_start=15, store=store, progress=False)
    assert again.thresholds == first.thresholds and again.p50 == first.p50


def test_p_stored_is_the_threshold_distribution():
    est = estimate_thresholds("coupled", 6, instances=6, seed=0, p_start=15, progress=False)
    t = np.array(est.thresholds)
    for p in range(int(t.min()) - 1, int(t.max()) + 2):
        assert est.p_stored(p) == np.mean(t >= p)


def _coverage(n, j):
    # P(X_(j) <= median <= X_(n+1-j)) = 1 - 2 P(Binomial(n, 1/2) <= j - 1), by exact sums
    return 1.0 - 2.0 * sum(math.comb(n, i) for i in range(j)) / 2**n


@pytest.mark.parametrize("n", [5, 6, 9, 20, 41])
def test_median_ci_is_the_widest_exact_order_statistic_interval(n):
    values = np.arange(100, 100 + n)[::-1]  # any order
    low, high, cov = median_ci(values, 0.95)
    ok = [j for j in range(1, n // 2 + 1) if _coverage(n, j) >= 0.95]
    if not ok:
        assert math.isnan(low) and math.isnan(high) and cov == 0.0
        return
    j = max(ok)
    assert (low, high) == (100 + j - 1, 100 + n - j)
    assert cov == pytest.approx(_coverage(n, j), abs=1e-12)


def test_bad_input_is_refused_before_any_solve():
    for kwargs, name in [({"model": "x"}, "model"), ({"embedding": "cube"}, "embedding"), ({"method": "x"}, "method"),
                         ({"d": 0}, "d"), ({"p_start": -1}, "p_start"), ({"max_solves": 0}, "max_solves")]:
        args = {"model": "decoupled", "d": 6, **kwargs}
        with pytest.raises(ValueError, match=f"`{name}`"):
            find_threshold(args.pop("model"), args.pop("d"), **args)
    with pytest.raises(ValueError, match="`instances`"):
        estimate_thresholds("decoupled", 6, instances=0)
    with pytest.raises(ValueError, match="`level`"):
        median_ci([1, 2, 3], 1.5)


def test_warm_start_pairs_are_checked_and_never_change_the_verdict():
    inst = make_nested_instance("decoupled", 8, 24, seed=5, trial=0)
    cold = feasibility.solve_feasibility(inst, method="gram")
    assert cold.working_set is not None and "working_set" not in cold.to_dict()
    bigger = make_nested_instance("decoupled", 8, 26, seed=5, trial=0)
    warm = feasibility.solve_feasibility(bigger, method="gram", initial_pairs=cold.working_set)
    assert warm.verdict == feasibility.solve_feasibility(bigger, method="gram").verdict
    # pairs beyond the instance (mu >= p, k >= K) are dropped, not an error
    assert feasibility.solve_feasibility(inst, method="gram", initial_pairs=[[30, 0], [0, 40]]).verdict == cold.verdict
    with pytest.raises(ValueError, match="`initial_pairs`"):
        feasibility.solve_feasibility(inst, method="ldp", initial_pairs=cold.working_set)
    with pytest.raises(ValueError, match="`initial_pairs`"):
        feasibility.solve_feasibility(inst, method="gram", initial_pairs=[[0.5, 1.0]])


def test_warm_support_is_checked_and_never_changes_the_verdict():
    """Starting the solver's passive set from a neighbouring p's support changes the cost, not the verdict."""
    for p0, p1 in ((24, 26), (26, 23)):
        cold = feasibility.solve_feasibility(make_nested_instance("decoupled", 8, p0, seed=5, trial=1), method="gram")
        inst = make_nested_instance("decoupled", 8, p1, seed=5, trial=1)
        warm = feasibility.solve_feasibility(inst, method="gram", initial_pairs=cold.working_set,
                                             initial_support=cold.support)
        ref = "feasible" if _naive_feasible("decoupled", 8, p1, 5, 1) else "infeasible"
        assert warm.verdict == ref == feasibility.solve_feasibility(inst, method="gram").verdict
    with pytest.raises(ValueError, match="`initial_support`"):
        feasibility.solve_feasibility(inst, method="torch", initial_support=cold.support)
    with pytest.raises(ValueError, match="`initial_support`"):
        feasibility.solve_feasibility(inst, method="gram", initial_support=[[1, -2]])
    with pytest.raises(ValueError, match="`initial_support`"):
        feasibility.solve_feasibility(inst, method="gram", initial_support=np.zeros((3, 3), dtype=int))


def test_paired_difference_against_hand_computation():
    """Mean, standard error, t interval and exact sign test recomputed without scipy: the t quantile
    from printed tables, the sign test by enumerating the binomial."""
    t_c, t_d = [103, 105, 101, 104, 100], [100, 101, 101, 100, 101]  # differences 3, 4, 0, 4, -1
    r = threshold.paired_difference(t_c, t_d, scale=50.0)
    x = [(a - b) / 50.0 for a, b in zip(t_c, t_d)]
    m = sum(x) / 5
    s = (sum((v - m) ** 2 for v in x) / 4) ** 0.5 / 5 ** 0.5
    assert (r.n, r.n_pos, r.n_zero, r.n_neg) == (5, 3, 1, 1)
    assert r.mean == pytest.approx(m, rel=1e-14) and r.se == pytest.approx(s, rel=1e-12)
    t975_4 = 2.7764451  # Student t, 4 degrees of freedom, 97.5 % quantile (standard tables)
    assert (r.ci_low, r.ci_high) == (pytest.approx(m - t975_4 * s, rel=1e-7), pytest.approx(m + t975_4 * s, rel=1e-7))
    t95_4 = 2.1318468  # 95 % quantile: the 90 % interval
    r90 = threshold.paired_difference(t_c, t_d, scale=50.0, level=0.90)
    assert r90.ci_high == pytest.approx(m + t95_4 * s, rel=1e-7)
    # two-sided sign test on the 4 non-zero differences, 3 positive: P(|B - 2| >= 1), B ~ Bin(4, 1/2)
    assert r.p_sign == pytest.approx(sum(math.comb(4, k) for k in (0, 1, 3, 4)) / 16, rel=1e-12)
    # 9 of 9 positive: p = 2 / 2^9
    assert threshold.paired_difference(range(10, 19), range(9), scale=1).p_sign == pytest.approx(2 / 512, rel=1e-12)
    assert threshold.paired_difference([7, 7], [7, 7]).p_sign == 1.0  # no non-zero difference: nothing to test


def test_fit_excess_matches_numpy_weighted_polyfit():
    rng = np.random.default_rng(5)
    d = np.array([8, 12, 16, 24, 32, 48, 64, 96])
    sigma = rng.uniform(0.002, 0.01, d.size)
    for form, f in (("1/d", lambda d: 1 / d), ("1/sqrt(d)", lambda d: d ** -0.5), ("1/ln d", lambda d: 1 / np.log(d))):
        y = 0.01 + 0.3 * f(d) + sigma * rng.standard_normal(d.size)
        a, sa, b, sb, chi2, dof = threshold.fit_excess(d, y, sigma, form)
        (pb, pa), cov = np.polyfit(f(d), y, 1, w=1 / sigma, cov="unscaled")
        assert (a, b) == (pytest.approx(pa, rel=1e-9), pytest.approx(pb, rel=1e-9))
        assert (sa, sb) == (pytest.approx(cov[1, 1] ** 0.5, rel=1e-9), pytest.approx(cov[0, 0] ** 0.5, rel=1e-9))
        assert chi2 == pytest.approx(float(np.sum(((y - pa - pb * f(d)) / sigma) ** 2)), rel=1e-9) and dof == 6


@pytest.mark.parametrize("call, exc, match", [
    (lambda: threshold.paired_difference([1, 2, 3], [1, 2]), ValueError, "same length"),
    (lambda: threshold.paired_difference([1], [0]), ValueError, "at least 2 pairs"),
    (lambda: threshold.paired_difference("12", [1, 2]), TypeError, "`a` must be a sequence"),
    (lambda: threshold.paired_difference([1, 2], [1, float("nan")]), ValueError, "`b` must hold finite"),
    (lambda: threshold.paired_difference([1, 2], [1, 2], scale=0), ValueError, "`scale`"),
    (lambda: threshold.paired_difference([1, 2], [1, 2], level=1.0), ValueError, "`level`"),
    (lambda: threshold.fit_excess([8, 16, 32], [0, 0, 0], [1, 1, 1], "1/d^2"), ValueError, "`form` must be one of"),
    (lambda: threshold.fit_excess([8, 16], [0, 0], [1, 1], "1/d"), ValueError, "at least 3 points"),
    (lambda: threshold.fit_excess([8, 16, 32], [0, 0, 0], [1, 0, 1], "1/d"), ValueError, "`sigma` must be positive"),
    (lambda: threshold.fit_excess([1, 16, 32], [0, 0, 0], [1, 1, 1], "1/ln d"), ValueError, "dimensions > 1"),
    (lambda: threshold.fit_excess([8, 16, 32], [0, 0], [1, 1, 1], "1/d"), ValueError, "same length"),
])
def test_excess_helpers_refuse_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
