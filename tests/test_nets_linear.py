"""N1: gradient-trained linear and two-layer memories (capacity.nets.models.linear, capacity.nets.experiments.n1)."""
import json

import numpy as np
import pytest
from numpy.testing import assert_allclose

torch = pytest.importorskip("torch")

from capacity import p_c  # noqa: E402
from capacity.nets.experiments.n1 import N1Result, gd_task, run_gd_task, run_n1  # noqa: E402
from capacity.nets.models.linear import train_instances, train_memories  # noqa: E402
from capacity.simulate import make_instance, solve_feasibility  # noqa: E402
from capacity.simulate.trial import make_task, run_trial  # noqa: E402

pytestmark = [pytest.mark.torch, pytest.mark.usefixtures("torch_one_thread")]


def insts(d, p, trials, model="coupled", seed=3):
    return [make_instance(model, d, p, seed=seed, trial=t) for t in trials]


def test_loss_decreases_and_margin_grows():
    r = train_memories(insts(8, 20, range(3)), steps=60, checkpoints=[1, 20, 60])
    assert np.all(r.checkpoint_loss[1] < r.checkpoint_loss[0])
    assert np.all(r.checkpoint_loss[2] < r.checkpoint_loss[1])
    assert np.all(r.checkpoint_kappa[2] > r.checkpoint_kappa[0])


@pytest.mark.parametrize("model", ["coupled", "decoupled"])
@pytest.mark.parametrize("arch,m", [("linear", None), ("frozen", 8), ("trained", 8)])
def test_trivially_storable_set_is_stored(model, arch, m):
    # p <= d: targets and inputs in general position, W = Y^T (X^T)^+ separates exactly
    r = train_memories(insts(8, 6, range(4), model=model), arch=arch, m=m, steps=400)
    assert r.stored.all()
    assert np.all(r.min_margin > 0) and np.all(r.step_stored >= 0)
    for b, inst in enumerate(insts(8, 6, range(4), model=model)):  # the verdict is the float64 re-score
        assert_allclose(inst.margins(r.W[b]).min(), r.min_margin[b], rtol=1e-12)


def test_over_capacity_is_not_stored_and_lp_agrees():
    d = 6
    p = int(3 * p_c(d))  # 44 >> p_c(6) = 14.9
    batch = insts(d, p, range(3))
    r = train_memories(batch, steps=300)
    assert not r.stored.any()
    assert np.all(r.min_margin <= 0)
    for inst in batch:
        assert solve_feasibility(inst).verdict == "infeasible"


def test_gd_never_beats_the_lp():
    # near the threshold p_c(6) = 14.9: GD-stored => LP-feasible on the same instance
    for p in (14, 17):
        batch = insts(6, p, range(6), seed=11)
        r = train_memories(batch, steps=600)
        lp = [solve_feasibility(inst).verdict for inst in batch]
        assert "undecided" not in lp
        for stored, verdict in zip(r.stored, lp):
            assert not stored or verdict == "feasible"


def test_frozen_gd_never_beats_the_frozen_lp():
    # frozen W1 is the simulator's: GD-stored => the exact frozen-W1 LP is feasible
    d, m, p = 8, 4, 14
    r = train_instances("coupled", d, p, range(5), seed=2, arch="frozen", m=m, steps=600)
    for t, stored in enumerate(r.stored):
        v = run_trial(make_task("two-layer-frozen", "coupled", d, p, trial=t, seed=2, m=m))["verdict"]
        assert not stored or v == "feasible"
    assert np.all(np.linalg.matrix_rank(r.W) <= m)


def test_cpu_bit_reproducible():
    kw = dict(steps=120, checkpoints=[10, 120])
    a = train_instances("coupled", 8, 24, range(3), seed=5, **kw)
    b = train_instances("coupled", 8, 24, range(3), seed=5, **kw)
    for name in ("W", "min_margin", "checkpoint_kappa", "checkpoint_loss", "loss", "step_stored"):
        assert np.array_equal(getattr(a, name), getattr(b, name), equal_nan=True), name
    t = train_instances("coupled", 8, 12, range(2), seed=5, arch="trained", m=3, steps=100)
    u = train_instances("coupled", 8, 12, range(2), seed=5, arch="trained", m=3, steps=100)
    assert np.array_equal(t.W, u.W)


@pytest.mark.parametrize("arch,m", [("linear", None), ("trained", 4)])
def test_batched_equals_single(arch, m):
    kw = dict(arch=arch, m=m, steps=150, checkpoints=[50, 150], check_every=1000)  # no early stop
    many = train_instances("coupled", 8, 26, range(3), seed=7, **kw)
    one = train_instances("coupled", 8, 26, [1], seed=7, **kw)
    assert_allclose(one.W[0], many.W[1], rtol=1e-10, atol=1e-12)
    assert_allclose(one.checkpoint_loss[:, 0], many.checkpoint_loss[:, 1], rtol=1e-10)
    assert one.stored[0] == many.stored[1]


def test_gd_task_result_is_json():
    task = gd_task("coupled", 6, 10, trial0=2, n_trials=2, seed=1, steps=50)
    res = run_gd_task(task)
    assert [t["trial"] for t in res["trials"]] == [2, 3]
    json.dumps(res)


@pytest.mark.parametrize("kwargs,match", [
    ({"arch": "mlp"}, "`arch`"),
    ({"arch": "frozen"}, "`m`"),
    ({"m": 3}, "`m`"),
    ({"arch": "trained", "m": 0}, "`m`"),
    ({"steps": 0}, "`steps`"),
    ({"lr": -1.0}, "`lr`"),
    ({"optimizer": "sgdm"}, "`optimizer`"),
    ({"dtype": "float16"}, "`dtype`"),
    ({"device": "tpu"}, "`device`"),
    ({"check_every": 0}, "`check_every`"),
])
def test_bad_inputs_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        train_memories(insts(6, 8, range(1)), **kwargs)


def test_bad_instances_raise():
    with pytest.raises(ValueError, match="`instances`"):
        train_memories([])
    with pytest.raises(ValueError, match="`instances`"):
        train_memories([make_instance("coupled", 6, 8), make_instance("coupled", 6, 9)])


@pytest.mark.parametrize("kwargs,match", [
    ({"archs": [("conv", 3)]}, "`archs`"),
    ({"archs": [("linear", 3)]}, "`archs`"),
    ({"p_grid": [10, 12]}, "`p_grid`"),
    ({"p_grid": {7: [10, 12]}}, "`p_grid`"),
    ({"model": "both"}, "`model`"),
    ({"trials": 0}, "`trials`"),
    ({"d_values": [1]}, "`d_values`"),
])
def test_run_n1_bad_inputs_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        run_n1(quick=True, progress=False, **kwargs)


def test_run_n1_quick_persists_and_resumes(tmp_path):
    store = tmp_path / "n1.sqlite"
    r = run_n1(quick=True, store=store, progress=False, n_boot=100)
    assert isinstance(r, N1Result) and len(r.rows) == 1
    row = r.rows[0]
    assert row.gd_not_lp == 0  # GD never stores an LP-infeasible instance
    assert row.gd_p50.success and row.lp_p50.success
    assert row.gd_p50.p50 <= row.lp_p50.ci_high  # GD can only do worse than the LP
    assert 0.5 < row.gd_over_theory < 1.2
    assert "GD p50" in r.format_table()
    calls = []
    again = run_n1(quick=True, store=store, progress=lambda done, total: calls.append(done), n_boot=100)
    assert json.dumps(again.to_dict()) == json.dumps(r.to_dict())
    assert calls == []  # nothing recomputed: every task came from the store
