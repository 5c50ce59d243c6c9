"""N4: learned-embedding factual recall and the hand-built geometric construction.

Covers capacity.nets.models.geometric and capacity.nets.experiments.n4.
"""
import json

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

torch = pytest.importorskip("torch")

from capacity.nets.experiments.n4 import (  # noqa: E402
    N4Result, _Search, fit_line, n4_task, readout_task, run_n4, run_n4_task,
)
from capacity.nets.models.geometric import (  # noqa: E402
    UNEMBEDDINGS, associative_d, build_model, construction_accuracy, construction_k_min, fact_queries,
    geometric_construction, hull_vertex_fraction, make_facts, n_params_frozen, train_facts,
)
from capacity.sweeps import ResultsStore  # noqa: E402
from capacity.theory import p_c  # noqa: E402

pytestmark = [pytest.mark.torch, pytest.mark.usefixtures("torch_one_thread")]


# ----------------------------------------------------------------------------- facts
def test_facts_are_independent_bijections_and_seeded():
    f = make_facts(50, 3, seed=7)
    assert f.shape == (3, 50) and f.dtype == np.int64
    for row in f:
        assert_array_equal(np.sort(row), np.arange(50))
    assert not np.array_equal(f[0], f[1])
    assert_array_equal(f, make_facts(50, 3, seed=7))
    assert not np.array_equal(f, make_facts(50, 3, seed=8))
    s, r, a = fact_queries(f)
    assert len(s) == len(r) == len(a) == 150
    assert_array_equal(a, f[r, s])
    assert len(set(zip(s.tolist(), r.tolist()))) == 150  # every (subject, relation) query once


# ----------------------------------------------------------------------------- training
def test_loss_decreases_and_tiny_set_is_stored():
    t = train_facts(16, 2, 8, steps=60, stop_at=None, seed=1)
    assert t.steps_run == 60 and t.final_loss < 0.5 * t.initial_loss
    assert_allclose(t.initial_loss, np.log(16), rtol=0.1)  # logits O(1/sqrt(d)) at init: loss near ln N
    t = train_facts(16, 2, 16, steps=400, seed=0)
    assert t.stored and t.accuracy >= 0.99 and t.steps_run < 400
    assert t.check_accuracy[-1] >= 0.99 and t.check_steps[-1] == t.steps_run


def test_frozen_control_keeps_subject_embeddings():
    init = build_model(16, 2, 8, frozen_subjects=True, seed=3)
    t = train_facts(16, 2, 8, frozen_subjects=True, steps=40, stop_at=None, seed=3)
    m = t.model
    assert "emb_subject" not in dict(m.named_parameters())
    assert torch.equal(m.emb_subject, init.emb_subject)
    assert not torch.equal(m.emb_relation, init.emb_relation)  # the rest is trained
    assert torch.equal(m.unembed, init.unembed)  # U is never trained
    learned = train_facts(16, 2, 8, steps=40, stop_at=None, seed=3).model
    assert not torch.equal(learned.emb_subject, init.emb_subject)
    assert torch.equal(learned.unembed, init.unembed)


def test_cpu_bit_reproducible():
    a = train_facts(16, 2, 6, steps=30, stop_at=None, seed=5)
    b = train_facts(16, 2, 6, steps=30, stop_at=None, seed=5)
    assert a.final_loss == b.final_loss and a.check_loss == b.check_loss
    sa, sb = a.model.state_dict(), b.model.state_dict()
    assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
    c = train_facts(16, 2, 6, steps=30, stop_at=None, seed=6)
    assert c.final_loss != a.final_loss


def test_train_on_given_facts():
    f = make_facts(16, 2, seed=99)
    t = train_facts(16, 2, 16, steps=400, seed=0, facts=f)
    assert_array_equal(t.facts, f) and t.stored


# ----------------------------------------------------------------------------- readout variants
def test_default_readout_is_unchanged():
    # the fixed readout is the default: same model, same training trajectory, U never trained, and the same
    # task dict (store key) as before the option existed
    a = train_facts(16, 2, 6, steps=30, stop_at=None, seed=5)
    b = train_facts(16, 2, 6, steps=30, stop_at=None, seed=5, unembedding="fixed")
    assert a.unembedding == "fixed" and a.final_loss == b.final_loss and a.check_loss == b.check_loss
    assert torch.equal(a.model.unembed, build_model(16, 2, 6, seed=5).unembed)
    assert "unembed" not in dict(a.model.named_parameters())
    task = n4_task(64, 2, 12, seed=0, width=64)
    assert set(task) == {"experiment", "kind", "n_subjects", "n_relations", "d", "width", "seed", "steps", "lr",
                         "check_every", "stored_accuracy", "device"}
    assert n4_task(64, 2, 12, seed=0, width=64, unembedding="fixed") == task
    assert n4_task(64, 2, 12, seed=0, width=64, unembedding="trained") == {**task, "unembedding": "trained"}


def test_normalised_readout_has_unit_rows_on_the_hull():
    fixed = build_model(16, 1, 7, seed=0).unembed
    m = build_model(16, 1, 7, seed=0, unembedding="normalised")
    assert_allclose(m.unembed.norm(dim=1).numpy(), 1.0, rtol=1e-6)
    assert_allclose(m.unembed.numpy(), (fixed / fixed.norm(dim=1, keepdim=True)).numpy(), rtol=1e-6)  # same draw
    assert hull_vertex_fraction(fixed) < 1.0 and hull_vertex_fraction(m.unembed) == 1.0  # no readout cap
    assert "unembed" not in dict(m.named_parameters())
    t = train_facts(16, 1, 7, steps=40, stop_at=None, seed=0, unembedding="normalised")
    assert torch.equal(t.model.unembed, m.unembed) and t.unembedding == "normalised"  # never trained


def test_trained_readout_is_a_parameter_and_changes():
    init = build_model(16, 2, 6, seed=5, unembedding="trained")
    assert torch.equal(init.unembed.detach(), build_model(16, 2, 6, seed=5).unembed)  # initialised as the fixed U
    t = train_facts(16, 2, 6, steps=30, stop_at=None, seed=5, unembedding="trained")
    assert "unembed" in dict(t.model.named_parameters())
    assert not torch.equal(t.model.unembed.detach(), init.unembed.detach())
    assert t.final_loss != train_facts(16, 2, 6, steps=30, stop_at=None, seed=5).final_loss
    res = run_n4_task(n4_task(16, 2, 6, seed=5, width=64, steps=30, unembedding="trained"))
    assert res["final_loss"] == train_facts(16, 2, 6, steps=30, seed=5, unembedding="trained").final_loss
    fz = train_facts(16, 2, 6, steps=30, stop_at=None, seed=5, unembedding="trained", frozen_subjects=True).model
    assert "unembed" in dict(fz.named_parameters()) and "emb_subject" not in dict(fz.named_parameters())


def test_run_n4_with_a_variant_readout_keys_its_tasks_apart(tmp_path):
    kw = dict(grid=[(16, 1)], frozen_grid=(), n_seeds=1, steps=300, k_max=40, store=tmp_path / "s.sqlite",
              progress=False)
    a = run_n4(**kw)
    b = run_n4(**kw, unembedding="normalised")
    assert a.settings["unembedding"] == "fixed" and b.settings["unembedding"] == "normalised"
    with ResultsStore(tmp_path / "s.sqlite") as store:
        tasks = [rec.task for rec in store.records() if rec.task["kind"] == "learned"]
    assert {t.get("unembedding", "fixed") for t in tasks} == {"fixed", "normalised"}
    assert len(tasks) == len(a.rows[0].history[0]) + len(b.rows[0].history[0])
    assert a.rows[0].construction_d == b.rows[0].construction_d  # the construction does not depend on it
    assert set(UNEMBEDDINGS) == {"fixed", "normalised", "trained"}


# ----------------------------------------------------------------------------- construction
def test_construction_is_exact_codebook_decoding():
    f = make_facts(40, 3, seed=2)
    k = 12
    model = geometric_construction(f, k, seed=2)
    assert model.d == 3 * k and model.width == 3 * k + 3
    s, r, a = (torch.as_tensor(x) for x in fact_queries(f))
    with torch.no_grad():
        out = model.output(s, r)
        logits = model(s, r)
    U = model.unembed
    for rr in range(3):
        blk = slice(rr * k, (rr + 1) * k)
        rows = r == rr
        # output = code of the right attribute in block rr, zero elsewhere (the gate passes block rr only)
        expect = torch.zeros(int(rows.sum()), 3 * k, dtype=torch.float64)
        expect[:, blk] = U[a[rows], blk]
        assert_allclose(out[rows].numpy(), expect.numpy(), atol=1e-12)
        assert_allclose(logits[rows].numpy(), (U[a[rows], blk] @ U[:, blk].T).numpy(), atol=1e-12)
    # the unembedding is the one every learned model of this size draws
    assert torch.equal(model.unembed, build_model(40, 3, 3 * k, seed=2, dtype="float64").unembed)


def test_construction_reaches_100_percent_and_fails_for_tiny_k():
    f = make_facts(64, 4, seed=0)
    assert construction_accuracy(f, 40, seed=0) == 1.0  # d = R k = 160
    assert construction_accuracy(f, 1, seed=0) < 0.2
    assert construction_accuracy(f, 2, seed=0) < 0.5
    k = construction_k_min(f, seed=0, k_max=64)
    assert k is not None and 2 < k <= 40
    assert construction_accuracy(f, k, seed=0) == 1.0 and construction_accuracy(f, k - 1, seed=0) < 1.0
    assert construction_k_min(f, seed=0, k_max=2) is None


# ----------------------------------------------------------------------------- readout bound
def test_hull_vertex_fraction_cheap_test_and_lp():
    square = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.5, 0.5]])
    assert hull_vertex_fraction(square) == 0.8  # the centre is inside the hull
    # (1, 0) fails the cheap test (<a, b> = 3 > <a, a> = 1) but is a vertex of the triangle: the LP finds it
    assert hull_vertex_fraction(np.array([[1.0, 0.0], [3.0, 0.1], [3.0, -0.1]])) == 1.0
    assert hull_vertex_fraction(np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]])) == pytest.approx(2 / 3)


def test_readout_bound_caps_the_trained_accuracy():
    frac = run_n4_task(readout_task(16, 1, 7, seed=0))["vertex_fraction"]
    assert frac == hull_vertex_fraction(build_model(16, 1, 7, seed=0).unembed)
    assert frac < 1.0  # one of the 16 rows of this U is inside the hull of the others
    t = train_facts(16, 1, 7, steps=300, seed=0, stop_at=None)
    assert t.accuracy <= frac


# ----------------------------------------------------------------------------- search, law, fits
def test_search_finds_a_monotone_threshold():
    for threshold in (1, 3, 4, 5, 17, 100):
        s = _Search(4, 1024)
        while (d := s.next()) is not None:
            s.record(d, {"stored": d >= threshold, "accuracy": 1.0, "steps_run": 0})
        assert s.d_star == threshold
    s = _Search(4, 16)
    while (d := s.next()) is not None:
        s.record(d, {"stored": False, "accuracy": 0.0, "steps_run": 0})
    assert s.d_star is None and [h[0] for h in s.history] == [4, 8, 16]


def test_associative_d_is_the_smallest_d_of_the_law():
    d = associative_d(200)
    assert p_c(d, n_params=d * d) >= 200 > p_c(d - 1, n_params=(d - 1) ** 2)
    d = associative_d(2000, params="frozen", width=8, n_relations=2)
    assert p_c(d, n_params=n_params_frozen(d, 8, 2)) >= 2000 > p_c(d - 1, n_params=n_params_frozen(d - 1, 8, 2))


def test_fit_line_exact():
    f = fit_line([1, 2, 3, np.nan], [3, 5, 7, 1])
    assert_allclose([f["slope"], f["intercept"], f["r2"]], [2, 1, 1], atol=1e-12)
    assert f["n"] == 3


# ----------------------------------------------------------------------------- the experiment
def test_run_n4_small_persists_and_resumes(tmp_path):
    path = tmp_path / "n4.sqlite"
    kw = dict(grid=[(16, 1)], frozen_grid=[(16, 1)], n_seeds=1, steps=300, k_max=40, store=path, progress=False)
    res = run_n4(**kw)
    assert isinstance(res, N4Result)
    row = res.rows[0]
    assert row.d_star[0] is not None and row.d_star_frozen[0] is not None
    assert row.history[0][-1][0] in (row.d_star[0], row.d_star[0] - 1)
    assert row.construction_d == [row.construction_k[0]]
    json.dumps(res.to_dict())
    assert "learned d*" in res.format_table()
    with ResultsStore(path) as store:
        n = len(list(store.records()))
    calls = []
    again = run_n4(**{**kw, "progress": lambda d, t: calls.append((d, t))})
    assert again.to_dict()["rows"] == res.to_dict()["rows"]
    assert all(d == t for d, t in calls)  # everything came from the store
    with ResultsStore(path) as store:
        assert len(list(store.records())) == n


@pytest.mark.parametrize("call, name", [
    (lambda: make_facts(1, 2), "n_subjects"),
    (lambda: make_facts(8, 0), "n_relations"),
    (lambda: train_facts(8, 1, 0), "d"),
    (lambda: train_facts(8, 1, 4, width=0), "width"),
    (lambda: train_facts(8, 1, 4, lr=-1.0), "lr"),
    (lambda: train_facts(8, 1, 4, steps=-1), "steps"),
    (lambda: train_facts(8, 1, 4, stop_at=1.5), "stop_at"),
    (lambda: train_facts(8, 2, 4, facts=np.zeros((2, 8), dtype=int)), "facts"),
    (lambda: train_facts(8, 1, 4, device="tpu"), "device"),
    (lambda: build_model(8, 1, 4, dtype="float16"), "dtype"),
    (lambda: build_model(8, 1, 4, unembedding="learned"), "unembedding"),
    (lambda: train_facts(8, 1, 4, unembedding=None), "unembedding"),
    (lambda: run_n4(quick=True, unembedding="normalized"), "unembedding"),
    (lambda: geometric_construction(make_facts(8, 1), 0), "k"),
    (lambda: associative_d(100, params="cube"), "params"),
    (lambda: hull_vertex_fraction(np.zeros((1, 3))), "unembed"),
    (lambda: run_n4(grid=[(1, 1)]), "grid"),
    (lambda: run_n4(frozen_grid=[(8, 0)]), "frozen_grid"),
    (lambda: run_n4(grid=[(8,)]), "grid"),
    (lambda: run_n4(grid=[]), "grid"),
    (lambda: run_n4(device="tpu"), "device"),
    (lambda: run_n4(quick=True, d_start=8, d_max=4), "d_max"),
    (lambda: run_n4(quick=True, n_seeds=0), "n_seeds"),
])
def test_bad_inputs_raise_naming_the_argument(call, name):
    with pytest.raises(ValueError, match=f"`{name}"):
        call()
