"""Mechanism probes of the N4 model: regression, gating, swap, transfer.

Covers capacity.nets.models.probes and capacity.nets.experiments.probes.
"""
import json

import numpy as np
import pytest
from numpy.testing import assert_allclose

torch = pytest.importorskip("torch")

from capacity.nets.experiments.probes import ProbesResult, run_probes  # noqa: E402
from capacity.nets.models.geometric import (  # noqa: E402
    build_model, construction_accuracy, fact_queries, geometric_construction, make_facts,
)
from capacity.nets.models.probes import (  # noqa: E402
    _parts, attribute_features, fit_superposition, gating_overlap, heldout_r2, jaccard, new_facts, refit_embeddings,
    swap_test, transfer_accuracy,
)
from capacity.sweeps import ResultsStore  # noqa: E402

pytestmark = [pytest.mark.torch, pytest.mark.usefixtures("torch_one_thread")]

N, R, K = 128, 2, 24  # construction exact from k = 24 on for seed 0 (asserted below); R^2 K = 96 features < N


@pytest.fixture(scope="module")
def construction():
    facts = make_facts(N, R, seed=0)
    assert construction_accuracy(facts, K, seed=0) == 1.0
    return facts, geometric_construction(facts, K, seed=0)


# ----------------------------------------------------------------------------- regression
def test_r2_is_one_for_a_linear_function_and_about_zero_for_noise():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 10))
    Y = X @ rng.normal(size=(10, 6)) + 3.0
    assert_allclose(heldout_r2(Y, X), 1.0, atol=1e-9)
    noise = rng.normal(size=(120, 6))
    assert abs(heldout_r2(noise, X)) < 0.1
    # more features than training subjects: ridge keeps the noise R^2 near 0 instead of fitting it
    assert heldout_r2(rng.normal(size=(40, 4)), rng.normal(size=(40, 64))) < 0.1


def test_fit_superposition_recovers_the_map():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(80, 5))
    A = rng.normal(size=(5, 3))
    W, c, lam = fit_superposition(X @ A + 1.5, X)
    assert lam == 0.0
    assert_allclose(W, A, atol=1e-9)
    assert_allclose(c, 1.5, atol=1e-9)


def test_construction_embeddings_are_exact_superpositions(construction):
    facts, model = construction
    X = attribute_features(model.unembed, facts)
    assert X.shape == (N, R * R * K)
    assert_allclose(heldout_r2(model.emb_subject, X, n_folds=10), 1.0, atol=1e-8)
    shuffled = X[np.roll(np.arange(N), 1)]
    assert heldout_r2(model.emb_subject, shuffled, n_folds=10) < 0.1


# ----------------------------------------------------------------------------- gating
def test_jaccard_basics():
    assert jaccard(np.array([True, False]), np.array([True, False])) == 1.0
    assert jaccard(np.array([True, False]), np.array([False, True])) == 0.0
    assert jaccard(np.zeros(3, bool), np.zeros(3, bool)) == 1.0
    assert jaccard([True, True, False, False], [True, False, True, False]) == pytest.approx(1 / 3)


def test_gating_of_the_construction_is_perfect(construction):
    facts, model = construction
    s, r, _ = fact_queries(facts)
    with torch.no_grad():
        act = model.hidden(torch.as_tensor(s), torch.as_tensor(r)).numpy() > 0
    g = gating_overlap(act, s, r)
    assert g["within"] == 1.0 and g["same_subject"] == 0.0 and g["between"] == 0.0
    assert g["relation_selective"] == 1.0


def test_functional_forward_matches_the_model():
    model = build_model(20, 3, 6, width=8, seed=2)
    s, r, _ = fact_queries(make_facts(20, 3, seed=2))
    s, r = torch.as_tensor(s), torch.as_tensor(r)
    with torch.no_grad():
        h, logits = _parts(model, model.emb_subject[s], r)
        assert torch.equal(h, model.hidden(s, r))
        assert torch.allclose(logits, model(s, r), atol=1e-6)


# ----------------------------------------------------------------------------- swap and transfer
def test_swap_on_the_construction_follows_s_prime_exactly(construction):
    facts, model = construction
    out = swap_test(model, facts, seed=0)
    assert out["component_follow"] == 1.0 and out["component_stay"] == 0.0
    assert out["component_others_kept"] == 1.0
    assert out["full_follow"] == 1.0
    assert out["random_follow"] < 0.1 and out["full_random_follow"] < 0.1


def test_transfer_on_the_construction_is_exact(construction):
    facts, model = construction
    new = new_facts(N, R, seed=0)
    assert not np.array_equal(new, facts)
    out = transfer_accuracy(model, facts, new)
    assert out["new"] == 1.0 and out["fitted_old"] == 1.0


def test_refit_trains_only_the_new_embeddings():
    model = build_model(16, 2, 8, width=16, seed=0)
    before = [p.detach().clone() for p in model.parameters()]
    flags = [p.requires_grad for p in model.parameters()]
    steps, acc = refit_embeddings(model, new_facts(16, 2, seed=0), steps=20, check_every=10)
    assert steps == [0, 10, 20] and len(acc) == 3 and all(0.0 <= a <= 1.0 for a in acc)
    for p, q in zip(before, model.parameters()):
        assert torch.equal(p, q)
    assert [p.requires_grad for p in model.parameters()] == flags


# ----------------------------------------------------------------------------- experiment
def test_run_probes_quick_persists_and_resumes(tmp_path):
    store = tmp_path / "p.sqlite"
    res = run_probes(quick=True, store=store, progress=False)
    assert isinstance(res, ProbesResult)
    assert res.settings_list == [(16, 2, 8, 16)]
    sm = res.rows[0]
    assert sm["acc_learned"][0] >= 0.99
    assert sm["r2_trained"][0] > sm["r2_shuffled"][0]
    assert sm["transfer_trained_new"][0] > sm["chance"][0]
    json.dumps(res.to_dict())
    assert "held-out R²" in res.format_table()
    with ResultsStore(store) as st:
        assert len(list(st.records())) == 1
    again = run_probes(quick=True, store=store, progress=False)
    assert again.to_dict() == res.to_dict()


@pytest.mark.parametrize("call, match", [
    (lambda: heldout_r2(np.ones((10, 2)), np.ones((9, 3))), "attributes"),
    (lambda: heldout_r2(np.ones((10, 2)), np.ones((10, 3)), n_folds=6), "n_folds"),
    (lambda: heldout_r2(np.full((10, 2), np.nan), np.ones((10, 3))), "embeddings"),
    (lambda: fit_superposition(np.ones((10, 2)), np.ones((10, 3)), lambdas=()), "lambdas"),
    (lambda: jaccard(np.ones(3, bool), np.ones(4, bool)), "`a` and `b`"),
    (lambda: gating_overlap(np.ones((4, 3), bool), [0, 1, 2], [0, 0, 1, 1]), "subjects"),
    (lambda: attribute_features(np.eye(3), np.array([[0, 1, 5]])), "facts"),
    (lambda: swap_test(build_model(16, 2, 4, width=4), make_facts(16, 3)), "facts"),
    (lambda: refit_embeddings(build_model(16, 2, 4, width=4), make_facts(16, 2), steps=-1), "steps"),
    (lambda: run_probes(settings=[(4, 1, 2, 2)], progress=False), "settings"),
    (lambda: run_probes(settings=[], progress=False), "settings"),
    (lambda: run_probes(device="tpu", progress=False), "device"),
    (lambda: run_probes(quick=True, n_seeds=0, progress=False), "n_seeds"),
    (lambda: run_probes(quick=True, n_folds=9, progress=False), "n_folds"),
])
def test_bad_inputs_raise_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()
