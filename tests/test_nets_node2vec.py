"""N5: Node2Vec spectral bias on small graphs (capacity.nets.models.node2vec, capacity.nets.experiments.n5).

NumPy only; one test compares the gradient with torch autograd.
"""
import json

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from capacity.nets.experiments.n5 import N5Result, n5_task, run_n5, run_n5_task
from capacity.nets.models.node2vec import (
    GRAPHS, cooccurrence, cycle_graph, entropy_floor, grid_graph, linearised_operator, make_graph, node2vec_grad,
    node2vec_loss, path_star_graph, spectral_subspaces, subspace_alignment, train_node2vec, transition_laplacian,
)
from capacity.sweeps import ResultsStore


def _connected(A):
    seen, todo = {0}, [0]
    while todo:
        i = todo.pop()
        for j in np.flatnonzero(A[i]):
            if j not in seen:
                seen.add(int(j))
                todo.append(int(j))
    return len(seen) == len(A)


# ----------------------------------------------------------------------------- graphs and spectra
def test_graph_constructors_degrees_and_connectivity():
    A = cycle_graph(15)
    assert A.shape == (15, 15) and A.sum() == 2 * 15
    assert_array_equal(A.sum(1), 2)
    G = grid_graph(4, 4)
    assert G.sum() == 2 * 24  # 2 * rows * (cols - 1) edges
    assert sorted(np.bincount(G.sum(1).astype(int)).tolist()) == [0, 0, 4, 4, 8]  # 4 corners, 8 sides, 4 inner
    S = path_star_graph(3, 4)
    assert S.shape == (13, 13) and S.sum() == 2 * 12  # a tree
    assert S[0].sum() == 3 and sorted(S.sum(1)).count(1) == 3  # centre degree 3, 3 leaves
    for M in (A, G, S, *(make_graph(g) for g in GRAPHS)):
        assert np.array_equal(M, M.T) and np.all(np.diag(M) == 0) and _connected(M)


def test_laplacian_symmetric_and_cycle_closed_form():
    for g in GRAPHS:
        L = transition_laplacian(make_graph(g))
        assert_allclose(L, L.T, atol=0)
    A = cycle_graph(15)
    L = transition_laplacian(A)
    assert_allclose(L @ np.ones(15), 0, atol=1e-14)  # regular: constant vector in the null space
    k = np.arange(15)
    assert_allclose(np.linalg.eigvalsh(L), np.sort(2 - 2 * np.cos(2 * np.pi * k / 15)), atol=1e-12)
    sub = spectral_subspaces(A, 2)
    j = np.arange(15)
    exact = np.column_stack([np.cos(2 * np.pi * j / 15), np.sin(2 * np.pi * j / 15)])
    assert_allclose(subspace_alignment(sub["fiedler"], exact), 1.0, atol=1e-12)
    assert_allclose(sub["constant_overlap"], 1.0, atol=1e-12)
    # irregular graphs: L is not singular on the constant vector, but the trivial eigenvector stays close to it
    for g in ("grid", "path-star"):
        sub = spectral_subspaces(make_graph(g), 2)
        assert np.linalg.norm(transition_laplacian(make_graph(g)) @ np.ones(len(sub["trivial"]))) > 0.1
        assert sub["constant_overlap"] > 0.9
        assert_allclose(sub["fiedler"].T @ sub["fiedler"], np.eye(2), atol=1e-12)


def test_cooccurrence_and_linearised_operator():
    for g in GRAPHS:
        A = make_graph(g)
        C = cooccurrence(A, 5)
        pi = A.sum(1) / A.sum()
        assert_allclose(C, C.T, atol=0)
        assert_allclose(C.sum(), 1.0, rtol=1e-14)
        assert_allclose(C.sum(1), pi, rtol=1e-12)
        M = linearised_operator(C)
        # M 1 = pi - 1/n: the constant direction does not grow at V = 0 exactly when the graph is regular
        assert_allclose(M @ np.ones(len(A)), pi - 1 / len(A), atol=1e-15)
        # M is the negative gradient of the loss at V -> 0: grad(V) = -M V + O(|V|^3)
        V = 1e-6 * np.random.default_rng(0).normal(size=(len(A), 4))
        MV = M @ V
        assert_allclose(node2vec_grad(V, C), -MV, rtol=0, atol=1e-6 * np.abs(MV).max())
        assert 0 < entropy_floor(C) < np.log(len(A))


# ----------------------------------------------------------------------------- loss and gradient
@pytest.mark.parametrize("g", list(GRAPHS))
def test_gradient_matches_central_finite_differences(g):
    A = make_graph(g)
    n = len(A)
    C = cooccurrence(A, 3)
    V = np.random.default_rng(1).normal(0, 0.7, size=(n, n))
    grad = node2vec_grad(V, C)
    h = 1e-5
    fd = np.empty_like(V)
    for idx in np.ndindex(*V.shape):
        E = np.zeros_like(V)
        E[idx] = h
        fd[idx] = (node2vec_loss(V + E, C) - node2vec_loss(V - E, C)) / (2 * h)
    # central differences: error O(h^2 |f'''|) + O(eps |f| / h) ~ 1e-10 here
    assert_allclose(grad, fd, rtol=1e-6, atol=1e-9)


@pytest.mark.torch
@pytest.mark.usefixtures("torch_one_thread")
def test_gradient_matches_torch_autograd():
    torch = pytest.importorskip("torch")
    A = path_star_graph(3, 4)
    C = cooccurrence(A, 5)
    V = np.random.default_rng(2).normal(0, 1.0, size=(13, 13))
    Vt = torch.tensor(V, dtype=torch.float64, requires_grad=True)
    loss = -(torch.tensor(C) * torch.log_softmax(Vt @ Vt.T, dim=1)).sum()
    loss.backward()
    assert_allclose(float(loss.detach()), node2vec_loss(V, C), rtol=1e-13)
    assert_allclose(Vt.grad.numpy(), node2vec_grad(V, C), rtol=1e-11, atol=1e-14)


@pytest.mark.parametrize("optimizer", ["gd", "adam"])
def test_loss_decreases(optimizer):
    A = grid_graph(4, 4)
    t = train_node2vec(A, steps=300, optimizer=optimizer, checkpoints=range(301))
    assert t.loss[-1] < t.loss[0] - 0.1
    assert t.loss[-1] > t.entropy_floor
    if optimizer == "gd":  # default GD learning rate: monotone
        assert np.all(np.diff(t.loss) <= 1e-12)


def test_spectral_bias_on_the_cycle():
    # regular graph: the linearised operator shares L's eigenvectors, small-init GD picks the Fiedler pair
    t = train_node2vec(cycle_graph(15), steps=300, seed=3)
    assert t.align_fiedler[0] < 0.6
    assert t.align_fiedler[-1] > 0.999 and t.align_top[-1] < 1e-3
    assert t.sigma[-1, 2] < 0.02 * t.sigma[-1, 1]  # V is dominated by a rank-2 part
    assert t.embedding.shape == (15, 2)


# ----------------------------------------------------------------------------- alignment metric
def test_alignment_identical_orthogonal_and_random():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(15, 2))
    assert_allclose(subspace_alignment(X, X @ np.array([[2.0, 1.0], [0.5, -3.0]])), 1.0, atol=1e-12)
    E = np.eye(15)
    assert subspace_alignment(E[:, :2], E[:, 2:4]) == 0.0
    assert_allclose(subspace_alignment(E[:, :2], E[:, 1:3]), 0.5, atol=1e-15)
    n, r, draws = 15, 2, 4000
    vals = np.array([subspace_alignment(rng.normal(size=(n, r)), X) for _ in range(draws)])
    # expected r / n; 4-sigma band from the sample sd
    assert abs(vals.mean() - r / n) < 4 * vals.std() / np.sqrt(draws)


# ----------------------------------------------------------------------------- experiment
def test_run_n5_deterministic_json_and_resumes(tmp_path):
    kw = dict(graphs=["cycle", "path-star"], n_seeds=2, steps=60)
    a = run_n5(**kw, progress=False)
    b = run_n5(**kw, store=tmp_path / "n5.sqlite", progress=False)
    c = run_n5(**kw, store=tmp_path / "n5.sqlite", progress=False)
    with ResultsStore(tmp_path / "n5.sqlite") as store:
        assert len(list(store.items(experiment="nets-n5"))) == 4  # one record per (graph, seed)
    assert isinstance(a, N5Result)
    assert a.to_dict() == b.to_dict() == c.to_dict()
    json.dumps(a.to_dict())
    row = a.rows[0]
    assert row.graph == "cycle" and row.n == 15 and row.baseline == 2 / 15 and row.r_top == 2
    assert len(row.fiedler_mean) == len(row.checkpoint_steps) == len(row.loss_mean)
    assert "| cycle | 15 | 60 |" in a.format_table()
    task = n5_task("cycle", seed=0, steps=10)
    assert run_n5_task(task) == run_n5_task(task)


def test_run_n5_quick_signature():
    r = run_n5(quick=True, device="cpu", seed=1, store=None, jobs=1, progress=False)
    assert [row.graph for row in r.rows] == list(GRAPHS) and r.settings["quick"]


@pytest.mark.parametrize("call,name", [
    (lambda: cycle_graph(2), "`n`"),
    (lambda: grid_graph(0, 4), "`rows`"),
    (lambda: path_star_graph(3, 0), "`length`"),
    (lambda: make_graph("tree"), "`graph`"),
    (lambda: spectral_subspaces(cycle_graph(15), 1), "`r`"),  # splits the degenerate Fiedler pair
    (lambda: spectral_subspaces(path_star_graph(4, 3), 2), "`r`"),  # 3-fold degenerate with 4 arms
    (lambda: cooccurrence(cycle_graph(5), 0), "`window`"),
    (lambda: transition_laplacian(np.ones((3, 2))), "`A`"),
    (lambda: transition_laplacian(np.zeros((3, 3))), "`A`"),
    (lambda: train_node2vec(cycle_graph(15), optimizer="sgd"), "`optimizer`"),
    (lambda: train_node2vec(cycle_graph(15), lr=-1.0), "`lr`"),
    (lambda: train_node2vec(cycle_graph(15), init_scale=0.0), "`init_scale`"),
    (lambda: train_node2vec(cycle_graph(15), steps=5, checkpoints=[9]), "`checkpoints`"),
    (lambda: subspace_alignment(np.ones((5, 2)), np.eye(5)[:, :2]), "`a`"),
    (lambda: subspace_alignment(np.eye(5)[:, :2], np.eye(6)[:, :2]), "`b`"),
    (lambda: run_n5(graphs=["tree"], progress=False), "`graphs`"),
    (lambda: run_n5(graphs=[], progress=False), "`graphs`"),
    (lambda: run_n5(device="tpu", progress=False), "`device`"),
    (lambda: run_n5(seed=-1, progress=False), "`seed`"),
    (lambda: run_n5(n_seeds=0, progress=False), "`n_seeds`"),
])
def test_bad_inputs_raise_value_error_naming_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()
