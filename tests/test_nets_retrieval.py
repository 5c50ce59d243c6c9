"""N3 marked-token retrieval: data, training, analysis helpers, run_n3.

Covers capacity.nets.models.retrieval and capacity.nets.experiments.n3.
"""
import json
import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

torch = pytest.importorskip("torch")

from capacity import p_c  # noqa: E402
from capacity.nets import seeded_generator  # noqa: E402
from capacity.nets.experiments.n3 import N3Grid, coverage_n, fit_power_law, minimal_n, run_n3  # noqa: E402
from capacity.nets.models.retrieval import make_vocabulary, sample_sequences, train_retrieval  # noqa: E402

pytestmark = [pytest.mark.torch, pytest.mark.usefixtures("torch_one_thread")]

TINY = {"V": (16,), "d": (4,), "L": (2,), "m": (0, 8), "n_factors": (1.0, 2.0), "vp_d": (4,), "vp_ratios": (2.0,),
        "vp_m": 8, "vp_m_ratios": (), "vp_steps": 20, "vp_replicas": 2, "checks": ((16, 4, 2, 0),)}



def test_vocabulary_shapes_and_permutation():
    voc = make_vocabulary(20, 6, seed=3)
    assert voc["E"].shape == (20, 6) and voc["U"].shape == (20, 6) and voc["trigger"].shape == (6,)
    assert sorted(voc["perm"].tolist()) == list(range(20))
    again = make_vocabulary(20, 6, seed=3)
    assert all(torch.equal(voc[k], again[k]) for k in voc)


def test_sequences_have_one_marked_position_and_permuted_labels():
    voc = make_vocabulary(20, 6, seed=1)
    tokens, marked, labels, X = sample_sequences(voc, 300, 5, generator=seeded_generator(7))
    assert tokens.shape == (300, 5) and X.shape == (300, 5, 6)
    diff = X - voc["E"][tokens]  # the trigger, where it was added, else exactly zero
    is_marked = diff.abs().sum(-1) > 0
    assert torch.equal(is_marked.sum(1), torch.ones(300, dtype=torch.long))
    assert torch.equal(is_marked.float().argmax(1), marked)
    # (e + t) - e == t up to one float32 rounding of numbers of size ~1
    assert_allclose(diff[torch.arange(300), marked].numpy(), voc["trigger"].expand(300, 6).numpy(), rtol=0, atol=1e-6)
    assert torch.equal(labels, voc["perm"][tokens[torch.arange(300), marked]])
    # every position and most tokens occur
    assert set(marked.tolist()) == set(range(5)) and len(set(tokens.flatten().tolist())) == 20


def test_loss_decreases():
    r = train_retrieval(V=16, d=8, L=4, m=0, n_train=64, steps=60, n_test=50)
    assert r["loss_final"] < r["loss_half"] < r["loss_init"]
    assert_allclose(r["loss_init"], math.log(16), rtol=0.05)  # near-uniform logits at initialisation


def test_easy_setting_generalises():
    # V = 24 well below p_c(16) ~ 62, every token marked ~8 times in training
    r = train_retrieval(V=24, d=16, L=4, m=0, n_train=192, steps=300, n_test=500)
    assert r["train_acc"] == 1.0 and r["map_acc"] == 1.0
    assert r["test_acc"] >= 0.95


def test_value_path_cannot_store_far_beyond_capacity():
    # V = 26 ~ 3 p_c(4): the attention-only value path (one 4 x 4 matrix) cannot map all tokens
    d, V = 4, 26
    assert V > 2.5 * p_c(d)
    r = train_retrieval(V=V, d=d, L=2, m=0, n_train=8 * V, steps=300, n_test=200)
    assert r["map_acc"] < 0.8


def test_cpu_bit_reproducible():
    kw = dict(V=16, d=8, L=3, m=8, n_train=40, steps=25, n_test=50)
    a, b = train_retrieval(seed=5, **kw), train_retrieval(seed=5, **kw)
    assert a == b
    assert train_retrieval(seed=6, **kw) != a


@pytest.mark.parametrize("kwargs, name", [
    (dict(V=1), "V"), (dict(d=16), "d"), (dict(d=0), "d"), (dict(L=0), "L"), (dict(m=-1), "m"),
    (dict(n_train=0), "n_train"), (dict(steps=0), "steps"), (dict(n_test=0), "n_test"), (dict(seed=-1), "seed"),
    (dict(lr=0.0), "lr"), (dict(device="tpu"), "device"), (dict(V=16.5), "V"),
])
def test_bad_inputs_name_the_argument(kwargs, name):
    base = dict(V=16, d=8, L=2, m=0, n_train=8, steps=1, n_test=4)
    with pytest.raises(ValueError, match=f"`{name}`"):
        train_retrieval(**(base | kwargs))


@pytest.mark.parametrize("grid, name", [
    ({"bogus": 1}, "grid"), ({"n_factors": (2.0, 1.0)}, "grid.n_factors"), ({"V": ()}, "grid.V"),
    ({"checks": ((8, 16, 2, 0),)}, "d"), ({"checks": (16, 8, 2, 0)}, "grid.checks"), ({"d": (16,), "V": (16,)}, "grid"), ("dense", "grid"),
])
def test_run_n3_bad_grid(grid, name):
    with pytest.raises(ValueError, match=f"`{name}"):
        run_n3(grid=grid, steps=1, quick=True)


def test_minimal_n_and_coverage():
    assert minimal_n([10, 20, 40], [0.5, 0.8, 0.95], 0.9) == pytest.approx((20 * 2 ** (2 / 3), 40))
    assert minimal_n([10, 20], [0.95, 0.99], 0.9) == (10.0, 10)
    assert all(math.isnan(x) for x in minimal_n([10, 20], [0.1, 0.2], 0.9))
    n = coverage_n(64, 0.99)
    assert_allclose(1 - (1 - 1 / 64) ** n, 0.99, rtol=1e-12)


def test_fit_power_law_recovers_exponents():
    rows = [{"V": V, "L": L, "d": d, "n_star": 3.0 * V ** 1.1 * L ** 0.2 * d ** -0.3}
            for V in (32, 64, 128) for L in (4, 8) for d in (8, 16)]
    fit = fit_power_law(rows)
    assert_allclose([fit["coef"][k] for k in ("V", "L", "d")], [1.1, 0.2, -0.3], atol=1e-10)
    assert fit["n_points"] == 12 and fit["stderr"]["V"] < 1e-8
    few = fit_power_law(rows[:3])
    assert few["n_points"] == 3 and math.isnan(few["coef"]["V"])


def test_run_n3_result_and_resume(tmp_path):
    store = tmp_path / "n3.sqlite"
    calls = []
    res = run_n3(grid=TINY, steps=20, quick=True, store=store, progress=lambda done, total: calls.append(done))
    assert {r["m"] for r in res.rows} == {0, 8} and len(res.value_path) == 2
    assert res.value_path[0]["V"] == round(2.0 * p_c(4)) and {r["seed"] for r in res.value_path} == {0, 1}
    assert len(res.value_path_summary[0]["frac_stored"]) == 1
    assert len(res.fits) == 4 and res.budget_check[0]["steps_doubled"] == 40
    text = res.format_table()
    assert "N*(0.90)" in text and "Value-path test" in text and "Budget check" in text
    json.dumps(res.to_dict())
    again = run_n3(grid=N3Grid(**(N3Grid.quick().__dict__ | TINY)), steps=20, quick=True, store=store, progress=False)
    assert again.runs == res.runs and again.value_path == res.value_path
    assert np.isfinite(res.seconds)
