"""N5 (optional): in-weights path-star transformer (capacity.nets.models.pathstar, .experiments.pathstar)."""
import json

import numpy as np
import pytest

pytest.importorskip("torch")

from capacity.nets.experiments.pathstar import (  # noqa: E402
    PathStarResult, pathstar_task, run_pathstar, run_pathstar_task,
)
from capacity.nets.models.pathstar import IGNORE, make_pathstar, pathstar_sequences, train_pathstar  # noqa: E402
from capacity.sweeps import ResultsStore  # noqa: E402

pytestmark = [pytest.mark.torch, pytest.mark.usefixtures("torch_one_thread")]

TINY = dict(arms=4, length=2, n_heldout=1, d_model=32, n_layers=1, steps=200, n_checkpoints=4)


# ----------------------------------------------------------------------------- graph and sequences
def test_graph_is_a_randomly_labelled_path_star():
    g = make_pathstar(5, 3, 2, seed=3)
    assert g.n == 16 and g.vocab == 20
    assert sorted([g.centre, *g.arms_tokens.ravel().tolist()]) == list(range(16))  # a labelling of all nodes
    assert len(g.heldout) == 2 and len(set(g.heldout)) == 2 and set(g.heldout) | set(g.train_arms) == set(range(5))
    edges = g.edges()
    assert len(edges) == 5 * 3  # a tree on 16 nodes
    nb = g.neighbours()
    assert nb[g.centre] == set(g.arms_tokens[:, 0].tolist())
    degrees = sorted(len(v) for v in nb.values())
    assert degrees == [1] * 5 + [2] * 10 + [5]
    for a in range(5):
        assert nb[int(g.arms_tokens[a, -1])] == {int(g.arms_tokens[a, -2])}
    # deterministic in the seed, different across seeds
    h = make_pathstar(5, 3, 2, seed=3)
    assert np.array_equal(g.arms_tokens, h.arms_tokens) and g.heldout == h.heldout and g.centre == h.centre
    assert not np.array_equal(g.arms_tokens, make_pathstar(5, 3, 2, seed=4).arms_tokens)


def test_sequences_edges_and_training_paths_only():
    g = make_pathstar(4, 3, 1, seed=0)
    X, Y = pathstar_sequences(g)
    n_edge = 2 * 4 * 3
    assert X.shape == (n_edge + 3, 6) and Y.shape == X.shape
    nb = g.neighbours()
    # edge rows: [EDGE, u, v, PAD, PAD, PAD], loss only on v; every directed edge once
    directed = set()
    for x, y in zip(X[:n_edge], Y[:n_edge]):
        assert x[0] == g.EDGE and x[2] in nb[int(x[1])] and list(x[3:]) == [g.PAD] * 3
        assert y[1] == x[2] and np.all(np.delete(y, 1) == IGNORE)
        directed.add((int(x[1]), int(x[2])))
    assert len(directed) == n_edge
    # path rows: training arms only, [PATH, leaf, centre, a1, a2, a3], targets shifted, leaf not predicted
    leaves = []
    for x, y in zip(X[n_edge:], Y[n_edge:]):
        assert x[0] == g.PATH and x[2] == g.centre and x[1] == x[-1]
        a = int(np.flatnonzero(g.arms_tokens[:, 0] == x[3])[0])
        assert list(x[3:]) == g.arms_tokens[a].tolist() and a not in g.heldout
        assert y[0] == IGNORE and list(y[1:5]) == list(x[2:6]) and y[5] == IGNORE
        leaves.append(a)
    assert sorted(leaves) == list(g.train_arms)
    # reverse paths: every arm, leaf -> centre
    Xr, Yr = pathstar_sequences(g, reverse_paths=True)
    assert len(Xr) == len(X) + 4 and np.array_equal(Xr[: len(X)], X)
    for a, (x, y) in enumerate(zip(Xr[len(X):], Yr[len(X):])):
        assert x.tolist() == [g.RPATH, *g.arms_tokens[a][::-1].tolist(), g.centre, g.PAD]
        assert y.tolist() == [IGNORE, *g.arms_tokens[a][::-1][1:].tolist(), g.centre, IGNORE, IGNORE]


# ----------------------------------------------------------------------------- training
def test_loss_decreases_and_trained_paths_are_learned():
    t = train_pathstar(seed=0, **TINY)
    assert t.checkpoint_steps == [0, 50, 100, 150, 200]
    assert t.loss[-1] < 0.5 * t.loss[0]
    assert t.train_acc[-1] == 1.0 and t.edge_acc[-1] == 1.0
    assert len(t.heldout_pred) == 1
    f = train_pathstar(seed=0, embeddings="frozen", **TINY)
    assert f.loss[-1] < 0.5 * f.loss[0] and f.train_acc[-1] == 1.0


def test_deterministic_and_store_roundtrip(tmp_path):
    a = train_pathstar(seed=2, **{**TINY, "steps": 30})
    b = train_pathstar(seed=2, **{**TINY, "steps": 30})
    assert a.loss == b.loss and a.heldout_pred == b.heldout_pred
    task = pathstar_task(embeddings="frozen", seed=1, **{**TINY, "steps": 20})
    json.dumps(task)
    assert run_pathstar_task(task)["loss"] == run_pathstar_task(task)["loss"]
    kw = dict(quick=True, n_seeds=1, steps=20, progress=False)
    r1 = run_pathstar(store=tmp_path / "s.sqlite", **kw)
    with ResultsStore(tmp_path / "s.sqlite") as st:
        assert len(list(st.records())) == 2  # one task per embeddings condition
    r2 = run_pathstar(store=tmp_path / "s.sqlite", **kw)
    assert isinstance(r1, PathStarResult) and r1.to_dict() == r2.to_dict()
    assert [r.embeddings for r in r1.rows] == ["frozen", "trainable"]
    assert r1.rows[0].chance == pytest.approx(1 / 6)
    table = r1.format_table()
    assert table.count("\n") == 3 and "frozen" in table and "trainable" in table
    json.dumps(r1.to_dict())


# ----------------------------------------------------------------------------- bad inputs
@pytest.mark.parametrize("kw, match", [
    ({"arms": 1}, "`arms`"),
    ({"length": 0}, "`length`"),
    ({"n_heldout": 4}, "`n_heldout`"),
    ({"embeddings": "fixed"}, "`embeddings`"),
    ({"d_model": 30, "n_heads": 4}, "`n_heads`"),
    ({"lr": 0.0}, "`lr`"),
    ({"weight_decay": -1.0}, "`weight_decay`"),
    ({"steps": -1}, "`steps`"),
    ({"reverse_paths": "yes"}, "`reverse_paths`"),
    ({"device": "tpu"}, "`device`"),
])
def test_bad_inputs_train(kw, match):
    with pytest.raises(ValueError, match=match) as exc:
        train_pathstar(**{**TINY, **kw})
    assert "\n" not in str(exc.value) and "got" in str(exc.value)


@pytest.mark.parametrize("kw, match", [
    ({"device": "gpu"}, "`device`"),
    ({"embeddings": ()}, "`embeddings`"),
    ({"embeddings": ("frozen", "x")}, "`embeddings`"),
    ({"n_seeds": 0}, "`n_seeds`"),
    ({"seed": -1}, "`seed`"),
    ({"arms": 3, "n_heldout": 3}, "`n_heldout`"),
])
def test_bad_inputs_run(kw, match):
    with pytest.raises(ValueError, match=match) as exc:
        run_pathstar(quick=True, progress=False, **kw)
    assert "\n" not in str(exc.value) and "got" in str(exc.value)
