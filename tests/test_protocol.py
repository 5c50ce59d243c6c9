"""The "≥ 99 %" protocol of a linear memory (capacity.nets.models.protocol, capacity.nets.experiments.protocol)."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from capacity.nets.experiments.protocol import (ProtocolResult, protocol_task, run_protocol,  # noqa: E402
                                                run_protocol_task)
from capacity.nets.models.protocol import top1_accuracy, train_to_accuracy  # noqa: E402
from capacity.sweeps import ResultsStore  # noqa: E402
from capacity.simulate import find_threshold, make_instance, make_nested_instance  # noqa: E402

pytestmark = [pytest.mark.torch, pytest.mark.usefixtures("torch_one_thread")]


def nested(d, n, trial=0, seed=5):
    return make_nested_instance("coupled", d, n, embedding="sphere", seed=seed, trial=trial)


def brute_accuracy(inst, W):
    """Independent reference: argmax over all N outputs of y_j^T W x_i, one input at a time."""
    hits = 0
    for i in range(inst.p):
        scores = [float(inst.y[j] @ W @ inst.x[i]) for j in range(inst.p)]
        hits += int(np.argmax(scores)) == i
    return hits / inst.p


@pytest.mark.parametrize("n", [5, 30, 90])
def test_top1_accuracy_matches_brute_force(n):
    inst = nested(8, n)
    rng = np.random.default_rng(n)
    for W in (inst.y.T @ inst.x, rng.standard_normal((8, 8)), np.eye(8)):
        assert top1_accuracy(inst, W) == brute_accuracy(inst, W)


def test_trained_accuracy_is_the_float64_rescore():
    inst = nested(8, 40)
    r = train_to_accuracy([inst, nested(8, 12, trial=1)], lr=1.0, steps=200)
    assert r.W.shape == (2, 8, 8)
    assert r.accuracy[0] == brute_accuracy(inst, r.W[0]) and r.accuracy[1] == brute_accuracy(nested(8, 12, 1), r.W[1])
    # 40 facts at d = 8: beyond this instance's certified threshold, so not all can be stored
    assert find_threshold("coupled", 8, seed=5, trial=0, embedding="sphere").threshold < 40
    assert 0.0 < r.accuracy[0] < 0.99 and not r.stored[0]
    assert r.stored[1] and r.accuracy[1] == 1.0  # 12 facts: stored, and at 12 facts 0.99 means all of them


def test_padding_does_not_change_a_model():
    # models of different N in one padded batch train as they do alone (same accuracy, same stopping step)
    insts = [nested(8, 12), nested(8, 30, trial=1), nested(8, 21, trial=2)]
    together = train_to_accuracy(insts, lr=[0.5, 1.0, 2.0], steps=400, dtype="float64")
    for b, (inst, lr) in enumerate(zip(insts, [0.5, 1.0, 2.0])):
        alone = train_to_accuracy([inst], lr=lr, steps=400, dtype="float64")
        assert alone.accuracy[0] == together.accuracy[b]
        assert alone.steps_run[0] == together.steps_run[b]
        assert alone.step_reached[0] == together.step_reached[b]


def test_gd_never_beats_the_certified_threshold():
    # p* = the largest N a W stores at 100 % (verified certificate at p* + 1): no training run can store p* + 1
    th = find_threshold("coupled", 6, seed=5, trial=0, embedding="sphere")
    assert th.success
    above = nested(6, th.threshold + 1)
    r = train_to_accuracy([above], lr=[3.0], steps=2000, target=1.0)
    assert not r.stored[0] and r.accuracy[0] < 1.0


def test_far_below_capacity_is_stored_quickly():
    insts = [nested(16, 20, trial=t) for t in range(3)]
    r = train_to_accuracy(insts, lr=1.0, steps=1000)
    assert r.stored.all() and (r.step_reached >= 0).all() and (r.steps_run < 1000).all()


def test_far_above_capacity_is_not_stored():
    # 3 p_c(8) ~ 67 facts: the CE optimum is finite and misses many facts, whatever the learning rate
    insts = [nested(8, 67, trial=t) for t in range(2)]
    r = train_to_accuracy(insts, lr=[0.5, 5.0], steps=1500)
    assert not r.stored.any() and (r.step_reached == -1).all() and (r.steps_run == 1500).all()


def test_search_brackets_and_resumes(tmp_path):
    path = tmp_path / "p.sqlite"
    res = run_protocol([6], trials=2, lr_scales=[20.0], steps=400, store=path, progress=False)
    assert isinstance(res, ProtocolResult) and len(res.rows) == 2
    for row in res.rows:
        assert row.n_stored is not None and row.n_unstored is not None and row.n_unstored > row.n_stored
        # the bracket's two ends really are a stored and an unstored training run
        lo = run_protocol_task(protocol_task(6, row.n_stored, seed=2026, trial=row.trial, lr=20.0 / 6, steps=400))
        hi = run_protocol_task(protocol_task(6, row.n_unstored, seed=2026, trial=row.trial, lr=20.0 / 6, steps=400))
        assert lo["stored"] and not hi["stored"]
        assert res.best(6, row.trial) == row.n_stored
    with ResultsStore(path, readonly=True) as st:
        n_runs = len(st)
    assert n_runs == sum(r.runs for r in res.rows)
    again = run_protocol([6], trials=2, lr_scales=[20.0], steps=400, store=path, progress=False)
    assert again.rows == res.rows
    with ResultsStore(path, readonly=True) as st:
        assert len(st) == n_runs  # nothing recomputed, nothing added


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"instances": []}, ValueError, "instances"),
    ({"instances": "abc"}, TypeError, "instances"),
    ({"lr": 0.0}, ValueError, "lr"),
    ({"lr": [1.0, 2.0, 3.0]}, ValueError, "lr"),
    ({"steps": 0}, ValueError, "steps"),
    ({"target": 1.5}, ValueError, "target"),
    ({"target": 0.0}, ValueError, "target"),
    ({"dtype": "float16"}, ValueError, "dtype"),
    ({"check_every": 0}, ValueError, "check_every"),
])
def test_train_bad_input(kwargs, exc, match):
    args = {"instances": [nested(6, 8), nested(6, 9)], "lr": 1.0}
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        train_to_accuracy(**args)


def test_train_refuses_decoupled_and_mixed_d():
    with pytest.raises(ValueError, match="coupled"):
        train_to_accuracy([make_instance("decoupled", 6, 8)], lr=1.0)
    with pytest.raises(ValueError, match="share d"):
        train_to_accuracy([nested(6, 8), nested(7, 8)], lr=1.0)
    with pytest.raises(ValueError, match="shape"):
        top1_accuracy(nested(6, 8), np.eye(5))


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"dims": []}, ValueError, "dims"),
    ({"dims": "8"}, TypeError, "dims"),
    ({"dims": [1]}, ValueError, "dims"),
    ({"trials": 0}, ValueError, "trials"),
    ({"lr_scales": []}, ValueError, "lr_scales"),
    ({"lr_scales": [-1.0]}, ValueError, "lr_scales"),
    ({"resolution": 1.0}, ValueError, "resolution"),
    ({"target": 2.0}, ValueError, "target"),
])
def test_run_protocol_bad_input(kwargs, exc, match):
    args = {"dims": [6]}
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        run_protocol(**args)
