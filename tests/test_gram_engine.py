"""The "gram" feasibility engine: Gram-form warm-started Lawson-Hanson NNLS under the same certificates."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import nnls

from capacity.simulate import make_instance, solve_feasibility
from capacity.simulate._gram import GramNNLS
from capacity.simulate.feasibility import _competitors_of, gram_cutting_planes, verify_certificate, verify_separating

from .naive import dense_lp_feasible, dense_rows


def _all_rows(inst):
    """Every constraint row vec((y_mu - c) x_mu^T), row mu K + k, written out densely (tests/naive.py)."""
    comps = np.concatenate([inst.competitor_block(b) for b in range(inst.n_blocks())])
    return dense_rows(inst.x, inst.y, comps)


def _dense_lp_verdict(inst):
    """max tau s.t. d A w >= tau, -1 <= w <= 1, tau <= 1 on all p K rows (no certificate)."""
    return "feasible" if dense_lp_feasible(_all_rows(inst) * inst.d) else "infeasible"


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
    all_rows = _all_rows(inst)
    rows = all_rows[pairs[sup, 0] * inst.K + pairs[sup, 1]]
    lam = u[sup]
    assert verify_certificate(rows, lam, inst.d) <= 1e-10
    # corrupted certificates: one weight removed, weights scrambled, one row swapped for another
    bad = lam.copy()
    bad[np.argmax(bad)] = 0.0
    assert verify_certificate(rows, bad, inst.d) > 1e-7
    assert verify_certificate(rows, np.random.default_rng(0).permutation(lam), inst.d) > 1e-7
    rows2 = rows.copy()
    rows2[np.argmax(lam)] = all_rows[0] * 0.5  # row (mu, k) = (0, 0), halved
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


# --- factor maintenance: up/down-dated factors equal fresh factorisations ---------------------------------
def _spd(rng, s):
    A = rng.standard_normal((s + 5, s))
    return A.T @ A


@pytest.mark.parametrize("block", [None, 0, 3, 16])
@pytest.mark.parametrize("s,cap,pos", [
    (10, 12, [0]), (10, 10, [9]), (10, 16, [2, 3, 7]), (50, 60, list(range(0, 50, 3))), (40, 40, [5]),
    (300, 320, [1, 100, 101, 250, 299]), (300, 300, list(range(3, 300, 7))), (400, 410, [20, 21, 22, 390]),
])
def test_delete_columns_equals_fresh_cholesky(block, s, cap, pos):
    """Column deletion (Householder sweep or blocked panel QR) gives *the* Cholesky factor of the reduced
    matrix, in place in a wider buffer, with everything outside R[:s', :s'] zero."""
    from capacity.simulate._gram import _delete_columns

    rng = np.random.default_rng(s + len(pos))
    H = _spd(rng, s)
    R = np.zeros((cap, cap))
    R[:s, :s] = np.linalg.cholesky(H).T
    pos = np.array(pos, dtype=np.int64)
    ns = _delete_columns(R, s, pos, block=block)
    keep = np.setdiff1d(np.arange(s), pos)
    Rf = np.linalg.cholesky(H[np.ix_(keep, keep)]).T
    assert ns == len(keep)
    assert np.abs(R[:ns, :ns] - Rf).max() <= 1e-12 * np.abs(Rf).max()
    assert not R[ns:].any() and not R[:, ns:].any()


def test_buffer_triangular_solves():
    """The in-place BLAS solves on a factor buffer wider than R match dense solves."""
    from capacity.simulate._gram import _chol_solve, _chol_solve_ones, _rt_solve

    rng = np.random.default_rng(0)
    s, cap = 57, 80
    H = _spd(rng, s)
    R = np.zeros((cap, cap))
    R[:s, :s] = np.linalg.cholesky(H).T
    b = rng.standard_normal(s)
    B = rng.standard_normal((s, 7))
    assert np.allclose(_chol_solve(R, s, b), np.linalg.solve(H, b), rtol=1e-10, atol=1e-12)
    assert np.allclose(_rt_solve(R, s, B), np.linalg.solve(R[:s, :s].T, B), rtol=1e-10, atol=1e-12)
    assert _chol_solve(R, 0, np.zeros(0)).shape == (0,)
    for k in (0, 1, 30, s):  # completing a forward solve of the leading k columns
        y = np.zeros(s + 3)
        y[:k] = np.linalg.solve(R[:k, :k].T, np.ones(k))
        assert np.allclose(_chol_solve_ones(R, s, y, k), np.linalg.solve(H, np.ones(s)), rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError):
        _chol_solve(np.asfortranarray(R), s, b)


def test_nnls_factor_stays_the_fresh_factor():
    """After warm-started solves, appends and removals, R^T R = H_PP and R is the Cholesky factor of H_PP."""
    rng = np.random.default_rng(4)
    m, dx = 400, 6
    X = rng.standard_normal((m, dx))
    D = rng.standard_normal((m, dx)) + 0.3
    g = GramNNLS(2.0, X, D)
    assert g.solve() == "optimal"
    g.add_rows(rng.standard_normal((50, dx)), rng.standard_normal((50, dx)))
    assert g.solve() == "optimal"
    for _ in range(2):  # explicit removals from the middle, then appends at the end
        g._remove(np.arange(2, len(g.P), 5))
        Hpp = g.H(g.P, g.P)
        Rf = np.linalg.cholesky(Hpp).T
        assert np.abs(g.R - Rf).max() <= 1e-8 * np.abs(Rf).max()
        # the cached forward solve of the untouched leading block is still right
        assert np.allclose(g._solve_ones(), np.linalg.solve(Hpp, np.ones(len(g.P))), rtol=1e-7, atol=0)
        cand = np.setdiff1d(np.arange(g.m), g.P)[:9]
        g._append(cand)
        Hpp = g.H(g.P, g.P)
        assert np.abs(g.R.T @ g.R - Hpp).max() <= 1e-9 * np.abs(Hpp).max()
        assert np.allclose(g.R, np.linalg.cholesky(Hpp).T, rtol=0, atol=1e-7 * np.abs(g.R).max())
        assert np.allclose(g._solve_ones(), g._solve(np.ones(len(g.P))), rtol=1e-9, atol=0)
        assert np.allclose(g._solve_ones(), np.linalg.solve(Hpp, np.ones(len(g.P))), rtol=1e-7, atol=0)


def test_enter_keeps_exactly_the_positive_block_components():
    """The Schur-complement filter of an entering block leaves R the fresh Cholesky factor of H_PP, the
    forward solve it extends is right, and the passive solution on P + entered is positive on the
    entered rows, which are those that survive appending everything and deleting z <= 0 repeatedly."""
    rng = np.random.default_rng(7)
    m, dx = 300, 5
    X = rng.standard_normal((m, dx))
    D = rng.standard_normal((m, dx)) + 0.4
    g = GramNNLS(2.0, X, D)
    g._append(np.arange(12))
    g._solve_ones()
    B = np.arange(12, 40)
    entered, independent = g._enter(B)
    assert 0 < len(entered) < len(B) and set(entered) <= set(independent) <= set(B)
    Hpp = g.H(g.P, g.P)
    assert np.allclose(g.R, np.linalg.cholesky(Hpp).T, rtol=0, atol=1e-8 * np.abs(g.R).max())
    z = np.linalg.solve(Hpp, np.ones(len(g.P)))
    assert np.all(z[12:] > 0)
    assert np.allclose(g._solve_ones(), z, rtol=1e-8, atol=0)
    # the append-then-delete route reaches the same set
    P = list(range(12)) + list(independent)
    while True:
        zz = np.linalg.solve(g.H(P, P), np.ones(len(P)))
        bad = [P[i] for i in range(12, len(P)) if zz[i] <= 0]
        if not bad:
            break
        P = [q for q in P if q not in bad]
    assert sorted(P[12:]) == sorted(entered)


def test_path_objective_equals_objective():
    """The line search's objective along max(u + t dz, 0) (E u, E dz less the clipped rows) is the objective."""
    rng = np.random.default_rng(8)
    X = rng.standard_normal((80, 4))
    D = rng.standard_normal((80, 4))
    g = GramNNLS(3.0, X, D)
    assert g.solve() == "optimal"
    uP = g.u[g.P] + rng.uniform(0.0, 0.1, len(g.P))
    dz = rng.standard_normal(len(g.P)) * 0.1
    path = g._path(uP, dz)
    for t in (0.0, 0.3, 1.0):
        ut = uP + t * dz
        clip = np.nonzero(ut < 0)[0]
        assert np.isclose(g._path_objective(path, t, clip), g.objective(np.maximum(ut, 0.0)), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("model", ["decoupled", "coupled"])
def test_competitor_cache_matches_instance(model):
    from capacity.simulate.feasibility import _CompetitorCache

    inst = make_instance(model, 8, 150, seed=3)
    cache = _CompetitorCache(inst)
    assert (cache.blocks is not None) == (model == "decoupled")
    W = np.random.default_rng(0).standard_normal((8, 8))
    assert np.allclose(cache.margins(W), inst.margins(W), rtol=0, atol=1e-12)
    rng = np.random.default_rng(1)
    pairs = np.stack([rng.integers(0, inst.p, 300), rng.integers(0, inst.K, 300)], axis=1)
    assert np.array_equal(cache.competitors(pairs), _competitors_of(inst, pairs))
    assert _CompetitorCache(inst, max_bytes=0).blocks is None


def test_competitor_cache_on_projected_instance():
    """Two-layer instances (projected inputs/targets/competitors): cached margins equal inst.margins."""
    from capacity.simulate.feasibility import _CompetitorCache
    from capacity.simulate.two_layer import ProjectedInstance

    rng = np.random.default_rng(2)
    base = make_instance("decoupled", 8, 140, seed=4)
    inst = ProjectedInstance(base, w_in=rng.standard_normal((5, 8)), w_out=rng.standard_normal((8, 6)))
    cache = _CompetitorCache(inst)
    assert cache.blocks is not None
    V = rng.standard_normal((6, 5))
    m = inst.margins(V)
    assert np.allclose(cache.margins(V), m, rtol=0, atol=1e-10 * np.abs(m).max())
    pairs = np.stack([rng.integers(0, inst.p, 200), rng.integers(0, inst.K, 200)], axis=1)
    assert np.array_equal(cache.competitors(pairs), _competitors_of(inst, pairs))
    r = solve_feasibility(inst, method="gram")
    assert r.verdict == solve_feasibility(inst, method="ldp").verdict


# --- the Numba kernels as plain Python ------------------------------------------------------------------
_NO_JIT_CASES = [("decoupled", 6, 15, 0), ("decoupled", 8, 22, 1), ("coupled", 6, 15, 2), ("coupled", 8, 22, 3),
                 ("decoupled", 12, 44, 0)]
_NO_JIT_SCRIPT = """
import json, sys
import numpy as np
from capacity.simulate import make_instance, solve_feasibility
from capacity.simulate._gram import _delete_columns

out = {"verdicts": [solve_feasibility(make_instance(m, d, p, seed=5, trial=t), method="gram").verdict
                    for m, d, p, t in json.loads(sys.argv[1])]}
rng = np.random.default_rng(0)
A = rng.standard_normal((45, 40))
H = A.T @ A
R = np.zeros((44, 44))
R[:40, :40] = np.linalg.cholesky(H).T
pos = np.array([3, 4, 17, 39], dtype=np.int64)
ns = _delete_columns(R, 40, pos, block=0)
keep = np.setdiff1d(np.arange(40), pos)
Rf = np.linalg.cholesky(H[np.ix_(keep, keep)]).T
out["delete_err"] = float(np.abs(R[:ns, :ns] - Rf).max() / np.abs(Rf).max())
print(json.dumps(out))
"""


@pytest.mark.slow
def test_gram_kernels_run_without_jit():
    # every Numba kernel of the gram engine is plain Python underneath (NUMBA_DISABLE_JIT=1): same verdicts
    env = dict(os.environ, NUMBA_DISABLE_JIT="1", PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    out = subprocess.run([sys.executable, "-c", _NO_JIT_SCRIPT, json.dumps(_NO_JIT_CASES)], env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout.strip().splitlines()[-1])
    jit = [solve_feasibility(make_instance(m, d, p, seed=5, trial=t), method="gram").verdict
           for m, d, p, t in _NO_JIT_CASES]
    assert res["verdicts"] == jit
    assert set(jit) == {"feasible", "infeasible"}
    assert res["delete_err"] <= 1e-12


NEAR_PC = [(model, d, p, t) for model in ("decoupled", "coupled") for (d, p) in ((8, 22), (10, 30), (12, 40))
           for t in range(3)]


@pytest.mark.parametrize("model,d,p,trial", NEAR_PC)
def test_inexact_rounds_reach_the_exact_rounds_verdict(model, d, p, trial):
    """Rounds of 1 or 2 solver iterations end where rounds solved to the working set's optimum do, and a
    certificate is still taken from an exact optimum (bound at round-off level, not just under cert_tol)."""
    inst = make_instance(model, d, p, seed=9, trial=trial)
    exact = gram_cutting_planes(inst, inner_iterations=None)
    assert exact[0] in ("separated", "inconsistent")
    for inner in (1, 2):
        status, W, pairs, u, rounds, nn = gram_cutting_planes(inst, inner_iterations=inner)
        assert status == exact[0]
        if status == "separated":
            assert verify_separating(inst, W) > 0
        else:
            sup = np.nonzero(u > 0)[0]
            rows = _all_rows(inst)[pairs[sup, 0] * inst.K + pairs[sup, 1]]
            assert verify_certificate(rows, u[sup], d) <= 1e-10


def test_inexact_rounds_exercise_both_verdicts():
    got = {gram_cutting_planes(make_instance(m, d, p, seed=9, trial=t), inner_iterations=2)[0]
           for (m, d, p, t) in NEAR_PC}
    assert got == {"separated", "inconsistent"}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_start_passive_leaves_a_passive_optimum_and_the_same_solution(seed):
    """From any passive set, start_passive leaves u > 0 with H_PP u_P = 1 and R the fresh Cholesky factor of
    H_PP; solve() from there reaches scipy's NNLS residual."""
    rng = np.random.default_rng(seed)
    m, dx, dy, s = 50, 4, 4, 2.0
    X = rng.standard_normal((m, dx))
    D = rng.standard_normal((m, dy)) + 0.5 * seed
    g = GramNNLS(s, X, D)
    start = rng.choice(m, size=30, replace=False)
    n = g.start_passive(start)
    assert n == len(g.P) and set(g.P.tolist()) <= set(start.tolist())
    H = g.H(g.P, g.P)
    uP = g.u[g.P]
    assert np.all(uP > 0) and np.all(g.u[np.setdiff1d(np.arange(m), g.P)] == 0)
    np.testing.assert_allclose(H @ uP, np.ones(n), rtol=0, atol=1e-8)
    np.testing.assert_allclose(g.R.T @ g.R, H, rtol=0, atol=1e-9 * np.abs(H).max())
    assert g.solve() == "optimal"
    A = (D[:, :, None] * X[:, None, :]).reshape(m, -1)
    E = np.vstack([s * A.T, np.ones(m)])
    f = np.zeros(E.shape[0])
    f[-1] = 1.0
    _, res_ref = nnls(E, f, maxiter=50 * E.shape[0])
    assert np.linalg.norm(E @ g.u - f) <= res_ref + 1e-9
    with pytest.raises(ValueError, match="empty passive set"):
        g.start_passive(start)


def test_support_is_the_positive_part_of_the_working_set():
    for t in range(4):
        r = solve_feasibility(make_instance("decoupled", 8, 22, seed=9, trial=t), method="gram")
        ws = set(map(tuple, r.working_set.tolist()))
        assert 0 < len(r.support) <= len(r.working_set) and set(map(tuple, r.support.tolist())) <= ws
        assert "support" not in r.to_dict()
