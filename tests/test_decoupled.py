"""Finite-size capacity p_c(d), d_min(p) and the max margin kappa*(alpha, K)."""
import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from capacity import alpha_c, d_min, expected_dist2, kappa_star, p_c, solve_d_min, solve_p_c

from .naive import gardner_k1


@pytest.mark.parametrize("d, ref", [(8, 22.2), (12, 40.0), (16, 61.7), (20, 86.9), (32, 182.0)])
def test_reference_values(d, ref):
    # reference values of the finite-size theory quoted to 3 significant figures (docs/theory.md §2, eq. (T3))
    assert abs(p_c(d) - ref) <= 0.051 * (10 ** math.floor(math.log10(ref) - 2) * 10)


@pytest.mark.parametrize("d", [4, 10, 37.5, 300, 1e5])
@pytest.mark.parametrize("kappa", [0.0, 1.0])
def test_p_c_solves_its_equation(d, kappa):
    r = solve_p_c(d, kappa=kappa)
    assert_allclose(r.p_c, d * d * alpha_c(r.p_c - 1, kappa=kappa), rtol=1e-10)
    assert_allclose(r.K, r.p_c - 1, rtol=1e-15)
    assert_allclose(r.p_log_p_over_d2, r.p_c * math.log(r.p_c) / d**2, rtol=1e-14)


def test_n_params_is_the_parameter_count():
    # N enters only through p = N alpha_c(p - 1): N = d*m reproduces the square memory of the same size
    assert_allclose(p_c(8, n_params=8 * 18), p_c(12), rtol=1e-10)


def test_tiny_memory_with_large_margin_is_rejected():
    # at d = 1 and kappa = 2, N alpha_c(1, kappa) < 2: not even 2 items can be stored
    assert 2 * gardner_k1(2.0) > 1
    with pytest.raises(ValueError, match="fewer than 2 items"):
        p_c(1, kappa=2.0)


@pytest.mark.slow
@given(d=st.floats(2.0, 1e5), kappa=st.floats(0.0, 5.0))
def test_d_min_round_trip(d, kappa):
    assume(d * d >= 2 * expected_dist2(1, kappa=kappa))  # else not even p = 2 is storable
    p = math.floor(solve_p_c(d, kappa=kappa).p_c)
    assume(p >= 2)
    r = solve_d_min(p, kappa=kappa)
    # p items fit in dimension d_c exactly, and d >= d_c because p <= p_c(d)
    assert_allclose(p_c(r.d_c, kappa=kappa), p, rtol=1e-9)
    assert r.d_c <= d * (1 + 1e-12)
    assert r.d_min == math.ceil(r.d_c)


@pytest.mark.parametrize("p", [10, 62, 1000, 10_000])
def test_d_min_is_smallest_integer(p):
    dm = d_min(p)
    assert p_c(dm) >= p > p_c(dm - 1)


@pytest.mark.slow
@given(d1=st.floats(2.0, 1e4), ratio=st.floats(1.01, 3.0))
def test_p_c_increasing_in_d(d1, ratio):
    assert p_c(d1 * ratio) > p_c(d1)


def test_p_c_decreasing_in_kappa():
    vals = [p_c(20, kappa=k) for k in (0.0, 0.5, 1.0, 2.0, 4.0)]
    assert all(b < a for a, b in zip(vals, vals[1:]))


@given(K=st.floats(1.0, 1e12), kappa=st.floats(0.0, 8.0))
def test_kappa_star_inverts_alpha_c(K, kappa):
    alpha = alpha_c(K, kappa=kappa)
    assert_allclose(kappa_star(alpha, K), kappa, atol=1e-9)


def test_kappa_star_at_capacity_and_below():
    assert kappa_star(2.0, 1) == 0.0
    assert kappa_star(1.0, 1) > 0
    with pytest.raises(ValueError, match="`alpha` must be <= alpha_c"):
        kappa_star(2.1, 1)


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: p_c(-3), ValueError, r"`d` must be finite and >= 1.*got -3"),
        (lambda: p_c(float("nan")), ValueError, "`d`"),
        (lambda: p_c("16"), TypeError, "`d` must be a real number"),
        (lambda: p_c(16, kappa=-1), ValueError, "`kappa`"),
        (lambda: p_c(16, n_params=0), ValueError, "`n_params`"),
        (lambda: d_min(1), ValueError, r"`p` must be finite and >= 2"),
        (lambda: d_min(float("inf")), ValueError, "`p`"),
        (lambda: kappa_star(0.0, 10), ValueError, "`alpha`"),
        (lambda: kappa_star(0.1, 0.5), ValueError, "`K`"),
    ],
)
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_result_to_dict_is_json_ready():
    import json

    d = solve_p_c(16).to_dict()
    assert set(d) >= {"d", "kappa", "p_c", "alpha_c", "p_log_p_over_d2", "K", "p_leading"}
    json.dumps(d)
    assert all(type(v) in (int, float, bool, str) for v in d.values())
    # solve_p_c and solve_d_min either succeed or raise: no status fields
    assert not {"success", "status", "message"} & (set(d) | set(solve_d_min(62).to_dict()))


def test_leading_order_p_is_the_inverse_of_p_log_p():
    # p_leading solves p ln p = N/2 (docs/theory.md §4), NaN where that p would be below e
    r = solve_p_c(16)
    assert_allclose(r.p_leading * math.log(r.p_leading), 128.0, rtol=1e-14)
    assert math.isnan(solve_p_c(2).p_leading)
