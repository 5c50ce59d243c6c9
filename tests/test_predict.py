"""The theory value beside a simulation: capacity.theory.predict.predicted_p_c."""
import json
import math

import pytest

from capacity import p_c
from capacity.results import Result
from capacity.theory.hebbian import hebbian_p_c
from capacity.theory.predict import Prediction, predicted_p_c
from capacity.theory.two_layer import p_c_two_layer


@pytest.mark.parametrize("model", ["decoupled", "coupled"])
def test_one_layer_models_get_the_decoupled_capacity(model):
    r = predicted_p_c(model, 16)
    assert isinstance(r, Prediction) and isinstance(r, Result)
    assert r.value == p_c(16)
    assert r.label == "theory p_c (decoupled, docs/theory.md T3)"
    assert json.loads(json.dumps(r.to_dict())) == {"value": r.value, "label": r.label}


@pytest.mark.parametrize("model", ["decoupled", "coupled", "hebbian", "two-layer-frozen", "two-layer"])
def test_a_fixed_K_has_no_theory(model):
    r = predicted_p_c(model, 12, m=4, K=5)
    assert math.isnan(r.value) and r.label == "theory: n/a for K != p - 1"


def test_no_storable_load_is_not_applicable():
    # d^2 < 2 E(1, 0) = 1: not even two items fit
    r = predicted_p_c("decoupled", 0.5)
    assert math.isnan(r.value) and r.label == "theory: n/a"


@pytest.mark.parametrize("competitors, embedding", [("decoupled", "gaussian"), ("coupled", "sphere")])
def test_hebbian_is_the_all_recalled_half_point(competitors, embedding):
    r = predicted_p_c("hebbian", 30, competitors=competitors, embedding=embedding)
    assert r.value == hebbian_p_c(30, criterion="all", model=competitors, embedding=embedding)
    assert r.label == (f"theory p at P(all recalled) = 1/2 (Hebbian, {competitors} competitors, {embedding}, "
                       "finite-d)")


def test_hebbian_defaults_are_decoupled_gaussian():
    assert predicted_p_c("hebbian", 30).value == hebbian_p_c(30)


@pytest.mark.parametrize("model, m, what", [
    ("two-layer-frozen", 6, "N = dm"),
    ("two-layer-frozen", 12, "N = d^2"),  # m >= d: the one-layer memory
    ("two-layer-frozen", 40, "N = d^2"),
    ("two-layer", 6, "conjecture N = 2dm - m^2"),
    ("two-layer", 12, "N = d^2"),
])
def test_two_layer_models(model, m, what):
    r = predicted_p_c(model, 12, m=m)
    assert r.value == p_c_two_layer(12, m, trained=model == "two-layer").p_c
    assert r.label == f"theory p_c ({what}, decoupled, docs/theory.md T3)"


def test_a_value_error_of_the_theory_becomes_not_applicable():
    r = predicted_p_c("hebbian", 1)  # the Hebbian theory needs d >= 2
    assert math.isnan(r.value)
    assert r.label.startswith("theory: n/a (") and "`d`" in r.label


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="`model`"):
        predicted_p_c("listwise", 12)
    with pytest.raises(ValueError, match="`m`"):
        predicted_p_c("two-layer", 12)


def test_labels_cite_the_package_documents_only():
    for model in ("decoupled", "hebbian", "two-layer-frozen", "two-layer"):
        assert "spec" not in predicted_p_c(model, 12, m=4).label
