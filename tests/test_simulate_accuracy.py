"""Certified storage at a target accuracy (capacity.simulate.accuracy), checked with independent engines."""
import itertools

import numpy as np
import pytest

from capacity.simulate import make_instance, solve_feasibility
from capacity.simulate.accuracy import SubsetInstance, store_at_accuracy


@pytest.mark.parametrize("model", ["decoupled", "coupled"])
def test_subset_keeps_each_inputs_constraints(model):
    inst = make_instance(model, 6, 20, seed=3)
    keep = np.array([0, 3, 7, 19])
    W = np.random.default_rng(0).standard_normal((6, 6))
    sub = SubsetInstance(inst, keep)
    assert sub.p == 4 and sub.K == inst.K
    np.testing.assert_allclose(sub.margins(W), inst.margins(W)[keep], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("model", ["decoupled", "coupled"])
def test_kept_inputs_are_stored_by_an_independent_engine(model):
    inst = make_instance(model, 6, 28, seed=5)  # p_c(6) ~ 14.6: about half the inputs must fail
    r = store_at_accuracy(inst)
    assert r.verdict == "feasible" and r.stored + r.failed == inst.p and r.failed > 0
    keep = np.setdiff1d(np.arange(inst.p), r.removed)
    assert keep.size == r.stored
    assert solve_feasibility(SubsetInstance(inst, keep), method="highs").verdict == "feasible"


def test_below_capacity_nothing_fails():
    r = store_at_accuracy(make_instance("decoupled", 10, 12, seed=1))
    assert (r.failed, r.accuracy, r.lp_solves) == (0, 1.0, 0)


@pytest.mark.slow
def test_greedy_never_beats_the_exhaustive_optimum():
    # d = 3, p = 9: every subset decided by the HiGHS engine; the greedy is a lower bound on the best
    for trial in range(3):
        inst = make_instance("decoupled", 3, 9, seed=2, trial=trial)
        best = 0
        for size in range(inst.p, 0, -1):
            if any(solve_feasibility(SubsetInstance(inst, np.array(c)), method="highs").verdict == "feasible"
                   for c in itertools.combinations(range(inst.p), size)):
                best = size
                break
        r = store_at_accuracy(inst)
        assert r.stored <= best, (r.stored, best)


@pytest.mark.parametrize("kwargs, exc, name", [
    (dict(inst=None), TypeError, "inst"),
    (dict(method="x"), ValueError, "method"),
    (dict(max_removed=-1), ValueError, "max_removed"),
])
def test_bad_input(kwargs, exc, name):
    args = dict(inst=make_instance("decoupled", 4, 6, seed=0))
    args.update(kwargs)
    with pytest.raises(exc) as info:
        store_at_accuracy(args.pop("inst"), **args)
    assert f"`{name}`" in str(info.value) and "\n" not in str(info.value)


def test_subset_refuses_bad_indices():
    inst = make_instance("decoupled", 4, 6, seed=0)
    with pytest.raises(ValueError, match="`keep`"):
        SubsetInstance(inst, [0, 0, 1])
    with pytest.raises(ValueError, match="`keep`"):
        SubsetInstance(inst, [7])


def test_lp_trouble_is_reported_as_undecided(monkeypatch):
    from capacity.simulate import accuracy as acc

    monkeypatch.setattr(acc, "_slack_lp", lambda sub: (None, "the slack LP failed (test)"))
    r = store_at_accuracy(make_instance("decoupled", 6, 28, seed=5))
    assert r.verdict == "undecided" and "slack LP failed" in r.message and r.stored == 0
