"""E dist^2(z, C_kappa) and alpha_c(K, kappa): the exact finite-K solver against independent references."""
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from scipy.special import wofz

from capacity import ConvergenceError, alpha_c, expected_dist2, solve_dist2
from capacity.solvers import dist2 as kern

from .naive import brute_force_dist2, gardner_k1, naive_dist2_samples

REF = Path(__file__).parent / "reference" / "dist2_reference.json"


# --- tier 1: closed forms -------------------------------------------------------------------
@pytest.mark.parametrize("kappa", [0.0, 0.3, 1.0, math.sqrt(2) * 0.5, 2.0, 5.0, 10.0])
def test_k1_is_gardner(kappa):
    # K = 1 is the spherical perceptron at margin kappa / sqrt(2) (mpmath, 40 digits)
    assert_allclose(expected_dist2(1, kappa=kappa), gardner_k1(kappa), rtol=1e-12)


@pytest.mark.parametrize("kappa_g, alpha_ref", [(0.0, 2.0), (0.5, 0.9612), (1.0, 0.5196), (2.0, 0.2002)])
def test_gardner_table(kappa_g, alpha_ref):
    # Gardner's alpha_c(kappa) quoted to 4 digits in docs/theory.md §2 (K = 1: margin kappa / sqrt 2)
    assert_allclose(alpha_c(1, kappa=math.sqrt(2) * kappa_g), alpha_ref, atol=6e-5)


def test_k2_is_five_sixths():
    # polar cone is a planar wedge of angle pi/3: E dist^2 = 1/2 + 1/3
    assert_allclose(expected_dist2(2), 5 / 6, rtol=1e-13)


def test_brute_force_projection_matches_sorting_rule():
    # the (T2) sorting rule used by the Monte Carlo references equals the exact NNLS projection
    rng = np.random.default_rng(7)
    for K in (1, 2, 5, 17):
        for kappa in (0.0, 0.7, 3.0):
            for _ in range(5):
                z = rng.standard_normal(K + 1) * 1.5
                naive = naive_dist2_samples(K, kappa, 1, np.random.default_rng(0))  # shape check only
                assert naive.shape == (1,)
                assert_allclose(_sorting_rule(z, kappa), brute_force_dist2(z, kappa), rtol=1e-9, atol=1e-12)


def _sorting_rule(z, kappa):
    z0, zs = z[0], np.sort(z[1:])[::-1]
    if z0 - kappa >= zs[0]:
        return 0.0
    cs = 0.0
    for j in range(1, zs.size + 1):
        cs += zs[j - 1]
        t = (z0 - kappa + cs) / (j + 1)
        if j == zs.size or zs[j] <= t:
            break
    return (t + kappa - z0) ** 2 + float(np.sum(np.clip(zs - t, 0, None) ** 2))


# --- tier 2: Monte Carlo with the naive projection, fixed seeds, 4 sigma ---------------------
@pytest.mark.parametrize("K, n", [(3, 200_000), (10, 200_000), (100, 60_000), (1000, 12_000)])
@pytest.mark.parametrize("kappa", [0.0, 1.0])
def test_monte_carlo_band(K, n, kappa):
    rng = np.random.default_rng(1000 * K + int(10 * kappa))
    samples = naive_dist2_samples(K, kappa, n, rng)
    se = samples.std(ddof=1) / math.sqrt(n)
    assert abs(expected_dist2(K, kappa=kappa) - samples.mean()) < 4 * se


# --- tier 2b: an independent high-precision evaluation (the tilted contour of (T4), mpmath) --
def _reference_values():
    if not REF.exists():  # pragma: no cover - the file is committed
        return []
    data = json.loads(REF.read_text())
    return [(v["K"], v["kappa"], v["expected_dist2"], v.get("est_abs_error", 0.0)) for v in data["values"]]


@pytest.mark.parametrize("K, kappa, ref, ref_err", _reference_values())
def test_independent_reference(K, kappa, ref, ref_err):
    # 1e-10 relative: the accuracy claimed in the docs (docs/theory.md §2)
    value = expected_dist2(K, kappa=kappa)
    assert abs(value - ref) <= 1e-10 * ref + 2 * ref_err


# --- properties -----------------------------------------------------------------------------
@given(K=st.floats(1.0, 1e15), dk=st.floats(0.01, 1.0), kappa=st.floats(0.0, 10.0))
def test_increasing_in_K(K, dk, kappa):
    K2 = min(1e15, K * (1.0 + dk))
    if K2 > K:
        assert expected_dist2(K2, kappa=kappa) > expected_dist2(K, kappa=kappa)


@given(K=st.floats(1.0, 1e15), kappa=st.floats(0.0, 9.9), dkap=st.floats(0.001, 0.1))
def test_increasing_in_kappa(K, kappa, dkap):
    assert expected_dist2(K, kappa=kappa + dkap) > expected_dist2(K, kappa=kappa)


def test_finite_and_successful_on_the_stated_domain():
    for K in np.logspace(0, 15, 31):
        for kappa in (0.0, 0.5, 2.0, 10.0):
            r = solve_dist2(float(K), kappa=kappa)
            assert r.success and r.status == 0 and math.isfinite(r.expected_dist2)
            assert r.abserr < 1e-10 * r.expected_dist2
            assert_allclose(r.alpha_c * r.expected_dist2, 1.0, rtol=1e-15)


def test_smooth_in_real_K():
    # real K interpolates the integer values monotonically, concavely and smoothly: no kinks at
    # integers (the third differences are tiny compared with the second)
    Ks = np.linspace(10, 11, 11)
    e = np.array([expected_dist2(k) for k in Ks])
    d1, d2, d3 = np.diff(e), np.diff(e, 2), np.diff(e, 3)
    assert np.all(d1 > 0) and np.all(d2 < 0)
    assert np.max(np.abs(d3)) < 0.05 * np.max(np.abs(d2))


# --- special functions and kernel status ----------------------------------------------------
def test_mills_ratio_matches_scipy_faddeeva():
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.uniform(0, 40, 2000), rng.uniform(0, 3, 2000)])
    u = np.concatenate([rng.uniform(-12, 12, 2000), rng.uniform(-3, 3, 2000)])
    got = np.array([kern.mills_ratio_complex(complex(a, b)) for a, b in zip(x, u)])
    ref = np.sqrt(np.pi / 2) * wofz(1j * (x + 1j * u) / np.sqrt(2))
    assert_allclose(got, ref, rtol=5e-14)


def test_real_special_functions():
    from scipy.special import log_ndtr, ndtr

    for x in (-30.0, -5.0, -0.5, 0.0, 0.5, 5.0, 30.0):
        assert_allclose(kern.log_sf(x), log_ndtr(-x), rtol=1e-13)
        psi = x * ndtr(x) + math.exp(-x * x / 2) / math.sqrt(2 * math.pi)
        if abs(x) < 6:
            assert_allclose(kern.psi(x), psi, rtol=1e-13)


def test_kernel_reports_exhausted_budget():
    # an absurd tolerance with a budget of 3 intervals must come back as status 1, not as a number
    value, err, nodes, status = kern.expected_dist2_kernel(1000.0, 0.0, 1e-30, 3)
    assert status == kern.STATUS_MAXITER


def test_public_api_raises_on_solver_failure(monkeypatch):
    def broken(K, kappa, tol, cap):
        return float("nan"), float("nan"), 0, kern.STATUS_NONFINITE

    monkeypatch.setattr(kern, "expected_dist2_kernel", broken)
    r = solve_dist2(10.0)
    assert not r.success and r.status == kern.STATUS_NONFINITE and "non-finite" in r.message
    with pytest.raises(ConvergenceError, match="K=10.0"):
        expected_dist2(10.0)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"K": 0.5}, ValueError, "`K` must be finite and >= 1"),
        ({"K": float("nan")}, ValueError, "`K`"),
        ({"K": float("inf")}, ValueError, "`K`"),
        ({"K": "10"}, TypeError, "`K` must be a real number"),
        ({"K": True}, TypeError, "`K`"),
        ({"K": 10, "kappa": -0.5}, ValueError, r"`kappa` must be finite and >= 0.*got -0.5"),
        ({"K": 10, "kappa": float("nan")}, ValueError, "`kappa`"),
    ],
)
def test_bad_input(kwargs, exc, match):
    K = kwargs.pop("K")
    with pytest.raises(exc, match=match):
        expected_dist2(K, **kwargs)


def test_kernels_run_without_jit():
    # every kernel is plain Python underneath (NUMBA_DISABLE_JIT=1); K = 2 must still give 5/6
    code = "from capacity import expected_dist2; print(repr(expected_dist2(2)))"
    env = dict(os.environ, NUMBA_DISABLE_JIT="1", PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert_allclose(float(out.stdout), 5 / 6, rtol=1e-13)
