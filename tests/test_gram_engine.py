"""The "gram" feasibility engine: Gram-form warm-started Lawson-Hanson NNLS under the same certificates."""
import numpy as np
import pytest
from scipy.optimize import linprog, nnls

from capacity.simulate import make_instance, solve_feasibility
from capacity.simulate._gram import GramNNLS
from capacity.simulate.feasibility import (
    _competitors_of, constraint_rows, gram_cutting_planes, verify_certificate, verify_separating,
)


def _dense_lp_verdict(inst):
    """max tau s.t. d A w >= tau, -1 <= w <= 1, tau <= 1 on all p K rows (no certificate)."""
    d = inst.d
    pairs = np.array([(mu, k) for mu in range(inst.p) for k in range(inst.K)])
    comps = np.concatenate([inst.competitor_block(b).reshape(-1, d) for b in range(inst.n_blocks())])
    A = constraint_rows(inst, pairs, comps) * d
    n = A.shape[1]
    c = np.zeros(n + 1)
    c[-1] = -1.0
    r = linprog(c, A_ub=np.hstack([-A, np.ones((len(A), 1))]), b_ub=np.zeros(len(A)),
                bounds=[(-1, 1)] * n + [(None, 1)], method="highs")
    assert r.status == 0
    return "feasible" if -r.fun > 1e-9 else "infeasible"


CASES = [(model, d, p, t) for model in ("decoupled", "coupled") for (d, p) in ((4, 9), (5, 12), (6, 15), (8, 22))
         for t in range(4)]


@pytest.mark.parametrize("model,d,p,trial", CASES)
def test_gram_agrees_with_ldp_and_dense_lp(model, d, p, trial):
    inst = make_instance(model, d, p, seed=5, trial=trial)
    rg = solve_feasibility(inst, method="gram")
    rl = solve_feasibility(inst, method="ldp")
    assert rg.verdict in ("feasible", "infeasible")
    assert rg.verdict == rl.verdict == _dense_lp_verdict(inst)
    if rg.verdict == "feasible":
        assert rg.min_margin > 0 and rg.kappa_hat > 0
    else:
        assert rg.cert_bound <= 1e-7


def test_both_verdicts_are_exercised():
    verdicts = {solve_feasibility(make_instance(m, d, p, seed=5, trial=t), method="gram").verdict
                for (m, d, p, t) in CASES}
    assert verdicts == {"feasible", "infeasible"}


def test_tiny_instances_always_feasible():
    for t in range(5):
        assert solve_feasibility(make_instance("decoupled", 3, 2, seed=1, trial=t), method="gram").verdict == "feasible"
        assert solve_feasibility(make_instance("coupled", 3, 2, seed=1, trial=t), method="gram").verdict == "feasible"


def _infeasible_instance():
    for t in range(20):
        inst = make_instance("decoupled", 6, 24, seed=2, trial=t)
        status, W, pairs, u, rounds, nn = gram_cutting_planes(inst)
        if status == "inconsistent":
            return inst, pairs, u
    raise AssertionError("no infeasible instance found")  # pragma: no cover


def _feasible_instance():
    for t in range(20):
        inst = make_instance("decoupled", 6, 10, seed=2, trial=t)
        status, W, pairs, u, rounds, nn = gram_cutting_planes(inst)
        if status == "separated":
            return inst, W
    raise AssertionError("no feasible instance found")  # pragma: no cover


def test_gordan_certificate_verifies_and_corruption_is_rejected():
    inst, pairs, u = _infeasible_instance()
    sup = np.nonzero(u > 0)[0]
    rows = constraint_rows(inst, pairs[sup], _competitors_of(inst, pairs[sup]))
    lam = u[sup]
    assert verify_certificate(rows, lam, inst.d) <= 1e-10
    # corrupted certificates: one weight removed, weights scrambled, one row swapped for another
    bad = lam.copy()
    bad[np.argmax(bad)] = 0.0
    assert verify_certificate(rows, bad, inst.d) > 1e-7
    assert verify_certificate(rows, np.random.default_rng(0).permutation(lam), inst.d) > 1e-7
    rows2 = rows.copy()
    rows2[np.argmax(lam)] = constraint_rows(inst, np.array([[0, 0]]), inst.competitor(0, 0)[None])[0] * 0.5
    assert verify_certificate(rows2, lam, inst.d) > 1e-7


def test_separating_W_verifies_and_corruption_is_rejected():
    inst, W = _feasible_instance()
    assert verify_separating(inst, W) > 0
    assert verify_separating(inst, -W) < 0
    rng = np.random.default_rng(1)
    assert verify_separating(inst, W + 10 * np.linalg.norm(W) * rng.standard_normal(W.shape)) < 0


@pytest.mark.parametrize("m,n,seed", [(30, 10, 0), (8, 20, 1), (60, 25, 2), (40, 40, 3)])
def test_gram_nnls_matches_scipy_nnls(m, n, seed):
    """The Gram-form NNLS solves min ||E u - f|| with E = [s A^T; 1^T] exactly like scipy's NNLS."""
    rng = np.random.default_rng(seed)
    dx = dy = int(np.sqrt(n))
    X = rng.standard_normal((m, dx))
    D = rng.standard_normal((m, dy)) + (0.8 if seed % 2 else 0.0)
    A = (D[:, :, None] * X[:, None, :]).reshape(m, -1)
    s = 3.0
    E = np.vstack([s * A.T, np.ones(m)])
    f = np.zeros(E.shape[0])
    f[-1] = 1.0
    u_ref, res_ref = nnls(E, f, maxiter=50 * E.shape[0])
    g = GramNNLS(s, X, D)
    assert g.solve() == "optimal"
    res = np.linalg.norm(E @ g.u - f)
    assert res <= res_ref + 1e-9
    assert np.all(g.u >= 0)
    # warm start: add rows, re-solve, compare again
    X2 = rng.standard_normal((10, dx))
    D2 = rng.standard_normal((10, dy))
    g.add_rows(X2, D2)
    A2 = np.vstack([A, (D2[:, :, None] * X2[:, None, :]).reshape(10, -1)])
    E2 = np.vstack([s * A2.T, np.ones(m + 10)])
    u_ref2, res_ref2 = nnls(E2, f, maxiter=50 * E2.shape[0])
    assert g.solve() == "optimal"
    assert np.linalg.norm(E2 @ g.u - f) <= res_ref2 + 1e-9


def test_unknown_method_rejected():
    with pytest.raises(ValueError, match="gram"):
        solve_feasibility(make_instance("decoupled", 3, 4), method="nope")
