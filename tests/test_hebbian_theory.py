"""Finite-d theory of the Hebbian memory (capacity.theory.hebbian).

Tiers: exact moments against a fixed-seed Monte Carlo (4 sigma bands); the recall
probabilities against the simulator (capacity.simulate.hebbian_recall) at small (d, p);
quadrature accuracy (scipy.integrate.quad, and doubling every Gauss rule); structural
properties (monotone in p, p = 2, the root of p_c); the asymptotic thresholds against
their defining equations and a next-order expansion; input validation.
"""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from scipy import integrate, special

import capacity.theory._hebbian_fail as F
import capacity.theory.hebbian as H
from capacity.simulate import hebbian_recall, make_instance
from capacity.theory.hebbian import (
    HEBBIAN_THRESHOLDS,
    hebbian_all_recalled_prob,
    hebbian_capacity,
    hebbian_p_c,
    hebbian_p_c_asymptotic,
    hebbian_recall_prob,
    hebbian_score_moments,
    hebbian_threshold,
)

MODELS = ("coupled", "decoupled")
EMBEDDINGS = ("sphere", "gaussian")
SPHERE_COUPLED = {"model": "coupled", "embedding": "sphere"}  # passed explicitly: the defaults are decoupled/gaussian


# --------------------------------------------------------------------------------------
# exact moments vs Monte Carlo
# --------------------------------------------------------------------------------------
def _draw(rng, shape, embedding):
    v = rng.standard_normal(shape)
    if embedding == "gaussian":
        return v / math.sqrt(shape[-1])
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _sample_scores(d, p, model, embedding, n, seed):
    """Correct score h0 and two competitor scores h1, h2 of input 0 for n independent instances."""
    rng = np.random.default_rng(seed)
    x = _draw(rng, (n, p, d), embedding)
    y = _draw(rng, (n, p, d), embedding)
    t = np.einsum("npd,nd->np", x, x[:, 0])  # x_nu . x_0
    u = np.einsum("npd,np->nd", y, t)  # W_H x_0
    h0 = np.einsum("nd,nd->n", y[:, 0], u)
    if model == "coupled":
        comp = y[:, 1:3]
    else:
        comp = _draw(rng, (n, 2, d), embedding)
    hk = np.einsum("nkd,nd->nk", comp, u)
    return h0, hk[:, 0], hk[:, 1]


def _within(sample_values, target, k=4.0):
    se = sample_values.std(ddof=1) / math.sqrt(sample_values.size)
    return abs(sample_values.mean() - target) <= k * se, sample_values.mean(), target, se


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("embedding", EMBEDDINGS)
@pytest.mark.parametrize("d, p", [(5, 4), (12, 30)])
def test_moments_match_monte_carlo(model, embedding, d, p):
    n = 60_000
    h0, h1, h2 = _sample_scores(d, p, model, embedding, n, seed=1000 * d + p)
    m = hebbian_score_moments(d, p, model=model, embedding=embedding)
    checks = {
        "E h0": _within(h0, m.mean_correct),
        "Var h0": _within((h0 - m.mean_correct) ** 2, m.var_correct),
        "E hk": _within(np.concatenate([h1, h2]), m.mean_competitor),
        "Var hk": _within(np.concatenate([h1, h2]) ** 2, m.var_competitor),
        "Cov(h0, hk)": _within((h0 - m.mean_correct) * h1, m.cov_correct_competitor),
        "Cov(hk, hl)": _within(h1 * h2, m.cov_competitors),
    }
    bad = {k: v[1:] for k, v in checks.items() if not v[0]}
    assert not bad, f"outside 4 sigma (sample, theory, se): {bad}"


def test_moments_closed_forms():
    d, p = 20, 11
    s = hebbian_score_moments(d, p, **SPHERE_COUPLED)
    assert (s.mean_correct, s.mean_competitor) == (1.0, 0.0)
    assert_allclose(s.var_correct, (p - 1) / d**2, rtol=1e-15)
    assert_allclose(s.var_competitor, 2 / d + (p - 2) / d**2, rtol=1e-15)
    g = hebbian_score_moments(d, p, embedding="gaussian", model="decoupled")
    q2 = 1 + 2 / d
    assert_allclose(g.var_correct, q2**2 - 1 + (p - 1) / d**2, rtol=1e-15)
    assert_allclose(g.var_competitor, q2 / d + (p - 1) / d**2, rtol=1e-15)
    assert g.to_dict()["model"] == "decoupled"


# --------------------------------------------------------------------------------------
# recall probabilities vs the simulator
# --------------------------------------------------------------------------------------
# The conditional picture drops one dependence (two coupled competitors sit in each
# other's bulk, an O(1/d) positive dependence of their tail events): at d = 20 on the
# sphere it overstates the per-input failure rate by ~6 %.  The comparison therefore
# allows 4 standard errors plus 8 % of the predicted failure rate; the all-recalled
# frequency is a plain binomial and gets 4 sigma alone.
@pytest.mark.parametrize(
    "model, embedding, d, p, n_trials",
    [
        ("coupled", "sphere", 20, 20, 1200),
        ("coupled", "gaussian", 20, 12, 1200),
        ("decoupled", "sphere", 24, 24, 600),
        ("decoupled", "gaussian", 24, 16, 600),
    ],
)
def test_recall_probability_matches_simulation(model, embedding, d, p, n_trials):
    frac, allr = [], []
    for trial in range(n_trials):
        r = hebbian_recall(make_instance(model, d, p, embedding=embedding, seed=7, trial=trial))
        frac.append(r.fraction_recalled)
        allr.append(r.all_recalled)
    frac = np.array(frac)
    fail_sim = 1.0 - frac.mean()
    se = frac.std(ddof=1) / math.sqrt(n_trials)  # inputs of one instance are dependent: spread across trials
    fail_th = 1.0 - hebbian_recall_prob(d, p, model=model, embedding=embedding)
    assert abs(fail_sim - fail_th) <= 4 * se + 0.08 * fail_th, (fail_sim, se, fail_th)
    all_th = hebbian_all_recalled_prob(d, p, model=model, embedding=embedding)
    se_all = math.sqrt(all_th * (1 - all_th) / n_trials)
    assert abs(np.mean(allr) - all_th) <= 4 * se_all, (np.mean(allr), all_th)


def test_gaussian_picture_is_far_off_at_small_d():
    # documented failure of the plain Gaussian picture: at d = 20 on the sphere it puts the
    # failure rate of p = 10 near 3.5 % where the simulator (and the conditional picture) see ~0.6 %
    g = 1 - hebbian_recall_prob(20, 10, method="gaussian", **SPHERE_COUPLED)
    c = 1 - hebbian_recall_prob(20, 10, **SPHERE_COUPLED)
    assert g > 4 * c
    assert 0.004 < c < 0.008


def test_p_equal_two_sphere_coupled_is_certain():
    # margin of the only competitor: (1 - y1.y2)(1 - x1.x2) > 0 almost surely
    for d in (2, 3, 20):
        assert hebbian_recall_prob(d, 2, **SPHERE_COUPLED) == 1.0
        assert hebbian_all_recalled_prob(d, 2, **SPHERE_COUPLED) == 1.0


def test_sphere_tail_is_the_sphere_coordinate_law():
    # P(U > u) for a coordinate U of a uniform point of S^{d-1}: (1/2) I_{1-u^2}((d-1)/2, 1/2), u > 0
    for d in (2, 3, 7, 50):
        u = np.array([0.05, 0.3, 0.7, 0.95])
        v = np.sqrt(1 - u * u)  # a / sqrt(a^2 + v^2) = u for a = u
        ref = 0.5 * special.betainc(0.5 * (d - 1), 0.5, 1 - u * u)
        assert_allclose(F._sphere_tail(d, u, v), ref, rtol=1e-10)
        assert_allclose(F._sphere_tail(d, -u, v), 1 - ref, rtol=1e-10)


# --------------------------------------------------------------------------------------
# quadrature accuracy
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "d, p, model, embedding", [(20, 10, "coupled", "sphere"), (50, 200, "decoupled", "gaussian"), (400, 3000, "coupled", "gaussian")]
)
def test_gaussian_picture_quadrature_against_quad(d, p, model, embedding):
    m = hebbian_score_moments(d, p, model=model, embedding=embedding)
    s0, sc, K = math.sqrt(m.var_correct), math.sqrt(m.var_competitor), p - 1

    def integrand(x):
        return math.exp(-0.5 * x * x) / math.sqrt(2 * math.pi) * -math.expm1(K * special.log_ndtr((1 + s0 * x) / sc))

    ref, err = integrate.quad(integrand, -40, 40, points=[-(1 / s0), 0.0], epsabs=1e-14, epsrel=1e-12, limit=400)
    got = 1 - hebbian_recall_prob(d, p, model=model, embedding=embedding, method="gaussian")
    assert_allclose(got, ref, rtol=1e-9, atol=1e-12)


_RULES = ("_PANELS", "_N_L", "_N_A", "_N_T", "_N_W", "_N_INNER", "_N_RHO")


@pytest.mark.parametrize(
    "d, p, model, embedding",
    [
        (20, 17, "coupled", "sphere"),
        (400, 3000, "coupled", "sphere"),
        (20, 17, "decoupled", "sphere"),
        (20, 10, "decoupled", "gaussian"),
        (100, 250, "decoupled", "gaussian"),
    ],
)
def test_conditional_quadrature_converged(monkeypatch, d, p, model, embedding):
    base = 1 - hebbian_recall_prob(d, p, model=model, embedding=embedding)
    for name in _RULES:
        monkeypatch.setattr(F, name, 2 * getattr(F, name))
    fine = 1 - hebbian_recall_prob(d, p, model=model, embedding=embedding)
    assert_allclose(base, fine, rtol=1e-4)


@pytest.mark.parametrize("name", _RULES)
def test_conditional_quadrature_converged_coupled_gaussian(monkeypatch, name):
    # the expensive case: double one rule at a time
    d, p = 50, 70
    base = 1 - hebbian_recall_prob(d, p, model="coupled", embedding="gaussian")
    monkeypatch.setattr(F, name, 2 * getattr(F, name))
    assert_allclose(1 - hebbian_recall_prob(d, p, model="coupled", embedding="gaussian"), base, rtol=1e-4)


# --------------------------------------------------------------------------------------
# structure
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ("conditional", "gaussian"))
@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("embedding", EMBEDDINGS)
def test_monotone_in_p(method, model, embedding):
    d = 30
    ps = [2, 3, 5.5, 10, 20, 40, 80, 160]
    rec = [hebbian_recall_prob(d, p, model=model, embedding=embedding, method=method) for p in ps]
    allr = [hebbian_all_recalled_prob(d, p, model=model, embedding=embedding, method=method) for p in ps]
    assert all(0.0 <= r <= 1.0 for r in rec + allr)
    assert np.all(np.diff(rec) <= 1e-12) and np.all(np.diff(allr) <= 1e-12)
    assert rec[-1] < rec[1] and allr[-1] < allr[1]


@given(
    d=st.integers(2, 400),
    p=st.floats(2.0, 5000.0),
    model=st.sampled_from(MODELS),
    method=st.sampled_from(("conditional", "gaussian")),
)
def test_probabilities_are_ordered_probabilities(d, p, model, method):
    rec = hebbian_recall_prob(d, p, model=model, embedding="sphere", method=method)
    allr = hebbian_all_recalled_prob(d, p, model=model, embedding="sphere", method=method)
    assert 0.0 <= allr <= rec <= 1.0


def test_more_decoupled_competitors_recall_less():
    vals = [hebbian_recall_prob(30, 40, model="decoupled", K=K) for K in (1, 10, 39, 100, 1e4)]
    assert np.all(np.diff(vals) < 0)
    assert hebbian_recall_prob(30, 40, model="decoupled", K=39) == hebbian_recall_prob(30, 40, model="decoupled")


@pytest.mark.parametrize("criterion", ("all", "typical"))
@pytest.mark.parametrize("embedding", EMBEDDINGS)
def test_p_c_is_the_half_crossing(criterion, embedding):
    d = 40
    kw = {"model": "coupled", "embedding": embedding}
    pc = hebbian_p_c(d, criterion=criterion, **kw)
    f = hebbian_all_recalled_prob if criterion == "all" else hebbian_recall_prob
    assert_allclose(f(d, pc, **kw), 0.5, atol=1e-8)
    assert f(d, 0.95 * pc, **kw) > 0.5 > f(d, 1.05 * pc, **kw)


def test_p_c_orders_and_decoupled():
    d = 60
    assert hebbian_p_c(d, criterion="all", **SPHERE_COUPLED) < hebbian_p_c(d, criterion="typical", **SPHERE_COUPLED)
    pd = hebbian_p_c(d, model="decoupled", embedding="sphere")
    assert_allclose(hebbian_all_recalled_prob(d, pd, model="decoupled", embedding="sphere"), 0.5, atol=1e-8)
    pg = hebbian_p_c(d, method="gaussian", **SPHERE_COUPLED)
    assert_allclose(hebbian_all_recalled_prob(d, pg, method="gaussian", **SPHERE_COUPLED), 0.5, atol=1e-8)


def test_p_c_unreachable_raises(monkeypatch):
    # no (d, model, embedding) met so far is below 1/2 at p = 2 (d = 2, gaussian: 0.59);
    # force a failure probability of 0.9 to exercise the error path
    monkeypatch.setattr(H, "_fail", lambda *args: 0.9)
    with pytest.raises(ValueError, match="`d`"):
        hebbian_p_c(2, model="coupled", embedding="gaussian")
    assert hebbian_all_recalled_prob(2, 2, model="coupled", embedding="gaussian") == pytest.approx(0.01)


def test_defaults_are_decoupled_gaussian():
    # the package-wide default memory: decoupled competitors, N(0, I/d) embeddings, conditional picture
    import inspect

    for fn in (hebbian_score_moments, hebbian_recall_prob, hebbian_all_recalled_prob, hebbian_p_c, hebbian_capacity):
        params = inspect.signature(fn).parameters
        assert (params["model"].default, params["embedding"].default) == ("decoupled", "gaussian"), fn.__name__
    assert hebbian_recall_prob(30, 40) == hebbian_recall_prob(30, 40, model="decoupled", embedding="gaussian")
    m = hebbian_score_moments(20, 11)
    assert (m.model, m.embedding) == ("decoupled", "gaussian")


def test_capacity_result_collects_both_criteria():
    import dataclasses
    import json

    r = hebbian_capacity(40, model="coupled", embedding="sphere")
    assert [f.name for f in dataclasses.fields(r)] == [
        "d", "model", "embedding", "method", "p_all", "p_typical", "p_all_log_p_over_d2", "p_typical_log_p_over_d2",
        "p_all_asymptotic", "p_typical_asymptotic"]
    assert (r.d, r.model, r.embedding, r.method) == (40, "coupled", "sphere", "conditional")
    assert r.p_all == hebbian_p_c(40, criterion="all", **SPHERE_COUPLED)
    assert r.p_typical == hebbian_p_c(40, criterion="typical", **SPHERE_COUPLED)
    assert_allclose(r.p_all_log_p_over_d2, r.p_all * math.log(r.p_all) / 1600, rtol=1e-15)
    assert_allclose(r.p_typical_log_p_over_d2, r.p_typical * math.log(r.p_typical) / 1600, rtol=1e-15)
    assert r.p_all_asymptotic == hebbian_p_c_asymptotic(40, "all")
    assert r.p_typical_asymptotic == hebbian_p_c_asymptotic(40, "typical")
    json.dumps(r.to_dict())
    with pytest.raises(ValueError, match="`d`"):
        hebbian_capacity(1)
    with pytest.raises(ValueError, match="`model`"):
        hebbian_capacity(40, model="both")


def test_default_capacity_at_d50():
    # the decoupled/gaussian default: P(all recalled) = 1/2 near p = 59.8 at d = 50 (coupled/sphere: 68.8)
    r = hebbian_capacity(50)
    assert (r.model, r.embedding) == ("decoupled", "gaussian")
    assert 59.7 < r.p_all < 59.9
    assert 68.7 < hebbian_p_c(50, **SPHERE_COUPLED) < 68.9


# --------------------------------------------------------------------------------------
# asymptotics
# --------------------------------------------------------------------------------------
def test_threshold_constants():
    assert hebbian_threshold("all") == 0.125 == HEBBIAN_THRESHOLDS["all"]
    assert hebbian_threshold("typical") == 0.5 == HEBBIAN_THRESHOLDS["typical"]


@pytest.mark.parametrize("criterion", ("all", "typical"))
@pytest.mark.parametrize("d", [2, 2.5, 10, 400, 1e4, 1e8, 1e100])
def test_asymptotic_solves_its_equation(criterion, d):
    p = hebbian_p_c_asymptotic(d, criterion)
    c = HEBBIAN_THRESHOLDS[criterion]
    assert p > 1
    assert_allclose(p * math.log(p), c * d * d, rtol=1e-12)


def _next_order(d, criterion):
    """Next order of the Gaussian picture, from its exact moments (module docstring).

    all: union bound over the p K pairs, a pair failing when N(1, Var h0 + Var hk) < 0:
         p K Phibar(1 / sqrt(Var h0 + Var hk)) = ln 2 (an upper bound on the failures, since a
         low correct score makes several competitors of one input win at once);
    typical: the median item (h0 = 1) against K competitors: K Phibar(1 / sqrt(Var hk)) = ln 2.
    """
    from scipy.optimize import brentq

    def g(p):
        m = hebbian_score_moments(d, p, **SPHERE_COUPLED)
        if criterion == "all":
            return math.log(p * (p - 1)) + special.log_ndtr(-1 / math.sqrt(m.var_correct + m.var_competitor))
        return math.log(p - 1) + special.log_ndtr(-1 / math.sqrt(m.var_competitor))

    return brentq(lambda p: g(p) - math.log(math.log(2)), 3.0, float(d) ** 2, rtol=1e-13)


@pytest.mark.parametrize("criterion", ("all", "typical"))
def test_theory_approaches_the_asymptotics_from_above_slowly(criterion):
    c = HEBBIAN_THRESHOLDS[criterion]
    x = {}
    for d in (3000, 10_000, 100_000):
        pc = hebbian_p_c(d, criterion=criterion, **SPHERE_COUPLED)
        pg = hebbian_p_c(d, criterion=criterion, method="gaussian", **SPHERE_COUPLED)
        # the O(1/d) terms die out: both pictures merge
        assert_allclose(pc, pg, rtol=0.6 / math.sqrt(d))
        # the Gaussian picture follows the next-order estimate (the union bound of "all" is a
        # lower bound on its p_c)
        pn = _next_order(d, criterion)
        assert_allclose(pg, pn, rtol=0.03)
        if criterion == "all":
            assert pg > pn
        x[d] = pc * math.log(pc) / d**2
    assert c < x[100_000] < x[10_000] < x[3000] < 1.2 * c


# --------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: hebbian_recall_prob(1, 10), "`d`"),
        (lambda: hebbian_recall_prob(20.5, 10), "`d`"),
        (lambda: hebbian_recall_prob(20, 1.5), "`p`"),
        (lambda: hebbian_recall_prob(20, float("nan")), "`p`"),
        (lambda: hebbian_recall_prob(20, 10, model="both"), "`model`"),
        (lambda: hebbian_recall_prob(20, 10, embedding="cube"), "`embedding`"),
        (lambda: hebbian_recall_prob(20, 10, method="exact"), "`method`"),
        (lambda: hebbian_recall_prob(20, 10, model="coupled", K=5), "`K`"),
        (lambda: hebbian_recall_prob(20, 10, model="decoupled", K=0.5), "`K`"),
        (lambda: hebbian_all_recalled_prob(20, -3), "`p`"),
        (lambda: hebbian_score_moments(0, 10), "`d`"),
        (lambda: hebbian_p_c(20, criterion="most"), "`criterion`"),
        (lambda: hebbian_p_c(1), "`d`"),
        (lambda: hebbian_p_c_asymptotic(1.0), "`d`"),
        (lambda: hebbian_p_c_asymptotic(20, "half"), "`criterion`"),
        (lambda: hebbian_threshold("x"), "`criterion`"),
    ],
)
def test_bad_inputs_raise_value_error(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_wrong_types_raise_type_error():
    with pytest.raises(TypeError, match="`d`"):
        hebbian_recall_prob("20", 10)
    with pytest.raises(TypeError, match="`p`"):
        hebbian_recall_prob(20, None)
