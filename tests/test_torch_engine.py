"""The "torch" feasibility engine (the Gram engine ported to torch), run on the CPU here.

Verdicts equal the "gram" engine's near p_c in both models; separating memories and Gordan certificates
are re-checked from the instance in plain NumPy (tests/naive.py), not with the code under test; the
factor maintenance, blocked triangular solves and device scoring are compared with dense references;
warm starts, threshold searches, sweeps' trials and the command line run on it.  Skipped without torch.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import nnls

torch = pytest.importorskip("torch")

import capacity  # noqa: E402
from capacity import cli  # noqa: E402
from capacity.simulate import (find_threshold, make_instance, make_nested_instance, make_task,  # noqa: E402
                               run_trial, solve_feasibility)
from capacity.simulate._torch_gram import (DeviceInstance, TorchGramNNLS, _bwd_solve, _delete_columns,  # noqa: E402
                                           _fwd_solve, torch_cutting_planes)
from capacity.simulate.feasibility import _competitors_of  # noqa: E402

from .naive import coupled_competitors, dense_rows  # noqa: E402

pytestmark = pytest.mark.torch
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _one_thread(torch_one_thread):
    """Every test on one torch thread (the CPU results are then exact and the timings fair)."""


def _p_near_pc(d, factor):
    return max(3, int(round(factor * capacity.p_c(d))))


def _all_competitors(inst):
    """Competitors (p, K, n) of an instance: the other targets (coupled, written out here) or its blocks."""
    if inst.model == "coupled":
        return coupled_competitors(inst.y)
    return np.concatenate([inst.competitor_block(b) for b in range(inst.n_blocks())])


# --- verdicts equal the gram engine's near p_c ------------------------------------------------------------
CASES = [(model, d, f, t) for model in ("decoupled", "coupled") for d in (6, 8, 10, 12, 14, 16)
         for f in (0.94, 1.0, 1.06) for t in (0, 1)]


@pytest.mark.parametrize("model,d,factor,trial", CASES)
def test_verdicts_equal_the_gram_engine(model, d, factor, trial):
    inst = make_instance(model, d, _p_near_pc(d, factor), seed=7, trial=trial)
    rg = solve_feasibility(inst, method="gram")
    rt = solve_feasibility(inst, method="torch", device="cpu")
    assert rt.verdict in ("feasible", "infeasible"), rt.message
    assert rt.verdict == rg.verdict
    assert rt.n_constraints == inst.p * inst.K
    if rt.verdict == "feasible":
        assert rt.min_margin > 0 and rt.kappa_hat > 0 and "torch on cpu" in rt.message
    else:
        assert rt.cert_bound <= 1e-7 and "verified" in rt.message
    assert rt.working_set.shape == (rt.n_rows, 2)


def test_the_cases_are_many_and_cover_both_verdicts():
    assert len(CASES) >= 50
    verdicts = {solve_feasibility(make_instance(m, d, _p_near_pc(d, f), seed=7, trial=t), method="torch",
                                  device="cpu").verdict for (m, d, f, t) in CASES if d == 6 and t == 1}
    assert verdicts == {"feasible", "infeasible"}


CHECKED = [(model, d, f, t) for model in ("decoupled", "coupled") for d in (6, 10, 14) for f in (0.9, 1.1)
           for t in (0, 1)]


@pytest.mark.parametrize("model,d,factor,trial", CHECKED)
def test_separating_memories_and_certificates_verified_independently(model, d, factor, trial):
    """The engine's W re-scored over all p K dense rows, its Gordan certificate d ||sum lambda_r a_r|| recomputed
    from the instance's vectors, in plain NumPy."""
    inst = make_instance(model, d, _p_near_pc(d, factor), seed=9, trial=trial)
    status, W, pairs, u, rounds, nn, mm = torch_cutting_planes(inst, device="cpu")
    rows = dense_rows(inst.x, inst.y, _all_competitors(inst))  # row mu K + k
    if status == "separated":
        margins = rows @ np.asarray(W).ravel()
        assert margins.min() > 0
        np.testing.assert_allclose(mm, margins.min(), rtol=1e-9, atol=0)  # the reported re-scoring
        assert solve_feasibility(inst, method="gram").verdict == "feasible"
    else:
        assert status == "inconsistent"
        sup = np.nonzero(u > 0)[0]
        lam = u[sup] / u[sup].sum()
        assert np.all(pairs[sup, 0] < inst.p) and np.all(pairs[sup, 1] < inst.K)
        g = lam @ rows[pairs[sup, 0] * inst.K + pairs[sup, 1]]
        bound = inst.d * np.linalg.norm(g)
        assert bound <= 1e-7, bound
        # a corrupted certificate (the largest weight dropped) does not verify
        bad = lam.copy()
        bad[np.argmax(bad)] = 0.0
        g_bad = (bad / bad.sum()) @ rows[pairs[sup, 0] * inst.K + pairs[sup, 1]]
        assert inst.d * np.linalg.norm(g_bad) > 1e-7
        assert solve_feasibility(inst, method="gram").verdict == "infeasible"


def test_projected_two_layer_instance():
    """A rectangular (projected) instance: torch and gram agree, its margins scored on the device match."""
    from capacity.simulate.two_layer import ProjectedInstance

    rng = np.random.default_rng(2)
    for model in ("decoupled", "coupled"):
        base = make_instance(model, 8, 30, seed=4)
        inst = ProjectedInstance(base, w_in=rng.standard_normal((5, 8)), w_out=rng.standard_normal((8, 6)))
        assert (solve_feasibility(inst, method="torch", device="cpu").verdict
                == solve_feasibility(inst, method="gram").verdict)
        V = rng.standard_normal((6, 5))
        m = inst.margins(V)
        for cache in (0, 1 << 30):
            mmin, vals, idx = DeviceInstance(inst, "cpu", cache_bytes=cache).scan(torch.tensor(V), 3)
            np.testing.assert_allclose(mmin, m.min(), rtol=1e-12, atol=1e-12 * np.abs(m).max())
            np.testing.assert_allclose(vals, np.sort(m, axis=1)[:, :3], rtol=0, atol=1e-12 * np.abs(m).max())


# --- warm starts and threshold searches ------------------------------------------------------------------
@pytest.mark.parametrize("model", ["decoupled", "coupled"])
def test_warm_start_gives_the_same_verdict(model):
    d = 10
    p = _p_near_pc(d, 1.0)
    for trial in range(3):
        lo = make_nested_instance(model, d, p - 3, seed=4, trial=trial)
        hi = make_nested_instance(model, d, p + 3, seed=4, trial=trial)
        ws = solve_feasibility(lo, method="torch", device="cpu").working_set
        cold = solve_feasibility(hi, method="torch", device="cpu")
        warm = solve_feasibility(hi, method="torch", device="cpu", initial_pairs=ws)
        assert warm.verdict == cold.verdict == solve_feasibility(hi, method="gram", initial_pairs=ws).verdict
        assert warm.verdict in ("feasible", "infeasible")
        again = solve_feasibility(hi, method="torch", device="cpu", initial_pairs=warm.working_set)
        assert again.verdict == warm.verdict and again.rounds <= warm.rounds


@pytest.mark.parametrize("model,d", [("decoupled", 6), ("coupled", 6), ("decoupled", 8), ("coupled", 8)])
def test_threshold_search_equals_the_gram_engine(model, d):
    for trial in range(2):
        kw = dict(seed=3, trial=trial, p_start=capacity.p_c(d))
        st = find_threshold(model, d, method="torch", device="cpu", **kw)
        sg = find_threshold(model, d, method="gram", **kw)
        assert st.success and sg.success
        assert st.threshold == sg.threshold and st.upper == st.lower + 1
        assert [s["p"] for s in st.solves] == [s["p"] for s in sg.solves]


def test_run_trial_with_method_torch():
    task = make_task("feasibility", "decoupled", 8, 22, trial=1, seed=2, method="torch")
    assert task["method"] == "torch" and "device" not in task
    res = run_trial(task, device="cpu")
    assert res["verdict"] == run_trial(dict(task, method="gram"))["verdict"]
    assert "working_set" not in res
    with pytest.raises(ValueError, match="`device`"):
        run_trial(dict(task, method="gram"), device="cpu")


def test_cli_threshold_with_method_torch(capsys):
    argv = ["threshold", "--d", "6", "--instances", "3", "--seed", "2", "--no-store", "--no-progress", "--json"]
    assert cli.main(argv + ["--method", "torch", "--device", "cpu"]) == 0
    torch_out = json.loads(capsys.readouterr().out)
    assert cli.main(argv) == 0
    gram_out = json.loads(capsys.readouterr().out)
    assert torch_out["method"] == "torch"
    assert torch_out["thresholds"] == gram_out["thresholds"] and None not in torch_out["thresholds"]


def test_cli_simulate_with_method_torch(capsys):
    argv = ["simulate", "--d", "6", "--p", "14,18", "--trials", "3", "--seed", "1", "--no-store", "--no-progress",
            "--n-boot", "0", "--json"]
    assert cli.main(argv + ["--method", "torch", "--device", "cpu"]) == 0
    torch_out = json.loads(capsys.readouterr().out)
    assert cli.main(argv + ["--method", "gram"]) == 0
    gram_out = json.loads(capsys.readouterr().out)
    assert torch_out["points"] == gram_out["points"]


def test_importing_capacity_never_imports_torch():
    code = ("import sys, capacity, capacity.simulate, capacity.cli, capacity.simulate.feasibility; "
            "print('torch' in sys.modules)")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


# --- the NNLS and its factor on the device ---------------------------------------------------------------
@pytest.mark.parametrize("m,n,seed", [(30, 10, 0), (8, 20, 1), (60, 25, 2), (40, 40, 3)])
def test_torch_nnls_matches_scipy_nnls(m, n, seed):
    """min ||E u - f|| with E = [s A^T; 1^T], as scipy's NNLS, cold and after adding rows (warm)."""
    rng = np.random.default_rng(seed)
    dx = dy = int(np.sqrt(n))
    X = rng.standard_normal((m, dx))
    D = rng.standard_normal((m, dy)) + (0.8 if seed % 2 else 0.0)
    A = (D[:, :, None] * X[:, None, :]).reshape(m, -1)
    s = 3.0
    E = np.vstack([s * A.T, np.ones(m)])
    f = np.zeros(E.shape[0])
    f[-1] = 1.0
    _, res_ref = nnls(E, f, maxiter=50 * E.shape[0])
    g = TorchGramNNLS(s, X, D, device="cpu")
    assert g.solve() == "optimal"
    assert np.all(g.u >= 0) and np.linalg.norm(E @ g.u - f) <= res_ref + 1e-9
    X2, D2 = rng.standard_normal((10, dx)), rng.standard_normal((10, dy))
    g.add_rows(X2, D2)
    A2 = np.vstack([A, (D2[:, :, None] * X2[:, None, :]).reshape(10, -1)])
    E2 = np.vstack([s * A2.T, np.ones(m + 10)])
    _, res_ref2 = nnls(E2, f, maxiter=50 * E2.shape[0])
    assert g.solve() == "optimal"
    assert np.linalg.norm(E2 @ g.u - f) <= res_ref2 + 1e-9


def _spd(rng, s):
    A = rng.standard_normal((s + 5, s))
    return A.T @ A


@pytest.mark.parametrize("panel,batch", [(48, 1024), (3, 4), (16, 5)])
@pytest.mark.parametrize("s,cap,pos", [
    (10, 12, [0]), (10, 10, [9]), (10, 16, [2, 3, 7]), (50, 60, list(range(0, 50, 3))), (40, 40, [5]),
    (300, 320, [1, 100, 101, 250, 299]), (300, 300, list(range(3, 300, 7))), (400, 410, [20, 21, 22, 390]),
])
def test_delete_columns_equals_fresh_cholesky(panel, batch, s, cap, pos):
    """Column deletion on the device (runs or gathers, panels, batches) gives *the* Cholesky factor of the
    reduced matrix, in place in a wider buffer, with everything outside R[:s', :s'] exactly zero."""
    rng = np.random.default_rng(s + len(pos))
    H = _spd(rng, s)
    R = torch.zeros((cap, cap), dtype=torch.float64)
    R[:s, :s] = torch.tensor(np.linalg.cholesky(H).T)
    ns = _delete_columns(R, s, np.array(pos, dtype=np.int64), panel=panel, batch=batch)
    keep = np.setdiff1d(np.arange(s), pos)
    Rf = np.linalg.cholesky(H[np.ix_(keep, keep)]).T
    Rn = R.numpy()
    assert ns == len(keep)
    assert np.abs(Rn[:ns, :ns] - Rf).max() <= 1e-12 * np.abs(Rf).max()
    assert not Rn[ns:].any() and not Rn[:, ns:].any()


@pytest.mark.parametrize("nb", [1, 5, 16, 256])
def test_blocked_triangular_solves_on_a_wider_buffer(nb):
    rng = np.random.default_rng(0)
    s, cap = 57, 80
    H = _spd(rng, s)
    R = torch.zeros((cap, cap), dtype=torch.float64)
    R[:s, :s] = torch.tensor(np.linalg.cholesky(H).T)
    Rn = R[:s, :s].numpy()
    b = rng.standard_normal(s)
    z = torch.tensor(b)
    _fwd_solve(R, s, z, 0, nb)
    _bwd_solve(R, s, z, nb)
    np.testing.assert_allclose(z.numpy(), np.linalg.solve(H, b), rtol=1e-10, atol=1e-12)
    B = rng.standard_normal((s, 7))
    Y = torch.tensor(B)
    _fwd_solve(R, s, Y, 0, nb)
    np.testing.assert_allclose(Y.numpy(), np.linalg.solve(Rn.T, B), rtol=1e-10, atol=1e-12)
    for k in (0, 1, 30, s):  # completing a forward solve of the leading k columns
        y = torch.zeros(s + 3, dtype=torch.float64)
        y[:k] = torch.tensor(np.linalg.solve(Rn[:k, :k].T, np.ones(k)))
        y[k:s] = 1.0
        _fwd_solve(R, s, y, k, nb)
        zz = y[:s].clone()
        _bwd_solve(R, s, zz, nb)
        np.testing.assert_allclose(zz.numpy(), np.linalg.solve(H, np.ones(s)), rtol=1e-10, atol=0)


def test_factor_stays_the_fresh_factor():
    """After warm-started solves, appends and removals, R is the Cholesky factor of H_PP (dense reference)."""
    rng = np.random.default_rng(4)
    m, dx = 400, 6
    X = rng.standard_normal((m, dx))
    D = rng.standard_normal((m, dx)) + 0.3
    g = TorchGramNNLS(2.0, X, D, device="cpu", solve_block=16, panel=4)

    def dense_H(P):
        return 4.0 * (X[P] @ X[P].T) * (D[P] @ D[P].T) + 1.0

    assert g.solve() == "optimal"
    X2, D2 = rng.standard_normal((50, dx)), rng.standard_normal((50, dx))
    g.add_rows(X2, D2)
    X, D = np.vstack([X, X2]), np.vstack([D, D2])
    assert g.solve() == "optimal"
    for _ in range(2):
        g._remove(np.arange(2, len(g.P), 5))
        Hpp = dense_H(g.P)
        Rf = np.linalg.cholesky(Hpp).T
        assert np.abs(g.R.numpy() - Rf).max() <= 1e-8 * np.abs(Rf).max()
        np.testing.assert_allclose(g._solve_ones(), np.linalg.solve(Hpp, np.ones(len(g.P))), rtol=1e-7, atol=0)
        g._append(np.setdiff1d(np.arange(g.m), g.P)[:9])
        Hpp = dense_H(g.P)
        R = g.R.numpy()
        assert np.abs(R.T @ R - Hpp).max() <= 1e-9 * np.abs(Hpp).max()
        np.testing.assert_allclose(g._solve_ones(), np.linalg.solve(Hpp, np.ones(len(g.P))), rtol=1e-7, atol=0)


def test_enter_keeps_exactly_the_positive_block_components():
    rng = np.random.default_rng(7)
    m, dx = 300, 5
    X = rng.standard_normal((m, dx))
    D = rng.standard_normal((m, dx)) + 0.4
    g = TorchGramNNLS(2.0, X, D, device="cpu")
    g._append(np.arange(12))
    g._solve_ones()
    entered, independent = g._enter(np.arange(12, 40))
    assert 0 < len(entered) < 28 and set(entered) <= set(independent)
    Hpp = 4.0 * (X[g.P] @ X[g.P].T) * (D[g.P] @ D[g.P].T) + 1.0
    np.testing.assert_allclose(g.R.numpy(), np.linalg.cholesky(Hpp).T, rtol=0, atol=1e-8 * np.abs(Hpp).max())
    z = np.linalg.solve(Hpp, np.ones(len(g.P)))
    assert np.all(z[12:] > 0)
    np.testing.assert_allclose(g._solve_ones(), z, rtol=1e-8, atol=0)


@pytest.mark.parametrize("model,cache", [("decoupled", 1 << 30), ("decoupled", 0), ("coupled", 0)])
def test_device_scoring_and_competitors_match_the_instance(model, cache):
    """All p K margins scored on the device (cached blocks, streamed blocks, coupled scores): the minimum and
    each input's smallest margins equal the instance's float64 re-scoring; gathered competitors equal its own."""
    inst = make_instance(model, 8, 150, seed=3)
    dev = DeviceInstance(inst, "cpu", cache_bytes=cache)
    assert (dev.Z is not None) == (model == "decoupled" and cache > 0)
    W = np.random.default_rng(0).standard_normal((8, 8))
    m = inst.margins(W)
    mmin, vals, idx = dev.scan(torch.tensor(W), 4)
    tol = 1e-12 * np.abs(m).max()
    np.testing.assert_allclose(mmin, m.min(), rtol=0, atol=tol)
    np.testing.assert_allclose(vals, np.sort(m, axis=1)[:, :4], rtol=0, atol=tol)
    np.testing.assert_allclose(np.take_along_axis(m, idx, axis=1), vals, rtol=0, atol=tol)
    rng = np.random.default_rng(1)
    new = np.stack([np.repeat(np.arange(inst.p), 2), idx[:, :2].ravel()], axis=1)  # among the last scan's smallest
    anywhere = np.stack([rng.integers(0, inst.p, 50), rng.integers(0, inst.K, 50)], axis=1)
    for pairs in (new, anywhere):
        np.testing.assert_array_equal(dev.competitors(pairs).numpy(), _competitors_of(inst, pairs))


# --- on a GPU, where there is one -------------------------------------------------------------------------
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("model", ["decoupled", "coupled"])
def test_cuda_verdicts_equal_the_gram_engine_within_the_memory_estimate(model):
    from capacity._resources import torch_device_memory

    total = torch.cuda.get_device_properties(0).total_memory
    for d, factor, trial in [(8, 1.0, 0), (16, 0.94, 1), (16, 1.06, 0), (24, 1.0, 2)]:
        inst = make_instance(model, d, _p_near_pc(d, factor), seed=7, trial=trial)
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        rt = solve_feasibility(inst, method="torch", device="cuda")
        peak = torch.cuda.max_memory_allocated()
        assert rt.verdict == solve_feasibility(inst, method="gram").verdict
        assert rt.verdict in ("feasible", "infeasible") and "torch on cuda" in rt.message
        assert peak <= torch_device_memory(d, inst.p, model=model, device_memory=total)
