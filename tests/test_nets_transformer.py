"""N2 transformer with frozen random embeddings: training, storage, determinism, parameter count, inputs."""
import json
import math

import pytest

torch = pytest.importorskip("torch")

from capacity.nets.experiments.n2 import N2Result, run_n2  # noqa: E402
from capacity.nets.models.transformer import build_model, count_params, facts_law, make_facts, train_facts  # noqa: E402
from capacity.sweeps import ResultsStore  # noqa: E402
from capacity.theory import p_c  # noqa: E402

pytestmark = [pytest.mark.torch, pytest.mark.usefixtures("torch_one_thread")]


def test_loss_decreases():
    res = train_facts(8, 2, 8, 8, steps=60, seed=3, early_stop=False)
    assert res.steps_run == 60
    assert res.final_loss < 0.8 * res.initial_loss
    # untrained loss of logits U h with small h is close to ln N
    assert abs(res.initial_loss - math.log(8)) < 1.0


def test_tiny_fact_set_is_stored():
    res = train_facts(6, 2, 16, 16, steps=1000, seed=0)
    assert res.stored and res.accuracy >= 0.99
    assert res.steps_run < 1000  # stopped early once stored
    assert res.n_facts == 12 and res.n_params == count_params(16, 16)


def test_over_capacity_set_is_not_stored():
    # 256 facts against 100 trainable parameters (the law allows ~30)
    assert facts_law(count_params(4, 4)) < 40
    res = train_facts(64, 4, 4, 4, steps=150, seed=0)
    assert not res.stored
    assert res.accuracy < 0.5


def test_cpu_bit_reproducible():
    a = train_facts(10, 2, 8, 8, steps=80, seed=5, early_stop=False).to_dict()
    b = train_facts(10, 2, 8, 8, steps=80, seed=5, early_stop=False).to_dict()
    c = train_facts(10, 2, 8, 8, steps=80, seed=6, early_stop=False).to_dict()
    for x in (a, b, c):
        x.pop("seconds")
    assert a == b
    assert a["final_loss"] != c["final_loss"]


@pytest.mark.parametrize("d, m", [(1, 1), (4, 7), (16, 64), (12, 5)])
def test_count_params_matches_model(d, m):
    model = build_model(5, 3, d, m, seed=0)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert count_params(d, m) == trainable == sum(p.numel() for p in model.parameters())
    assert count_params(d, m, part="attention") + count_params(d, m, part="mlp") == trainable
    assert count_params(d, m, part="attention") == 4 * d * d


def test_embeddings_stay_frozen():
    n, r, d, m = 7, 3, 8, 8
    model = build_model(n, r, d, m, seed=2)
    frozen = {k: v.clone() for k, v in model.named_buffers()}
    assert set(frozen) == {"emb_subject", "emb_relation", "unembed"}
    assert frozen["emb_subject"].shape == (n, d) and frozen["unembed"].shape == (n, d)
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    s, rel = torch.arange(n).repeat(r), torch.arange(r).repeat_interleave(n)
    t = torch.as_tensor(make_facts(n, r, seed=2)).reshape(-1)
    for _ in range(5):
        loss = torch.nn.functional.cross_entropy(model(s, rel), t)
        opt.zero_grad()
        loss.backward()
        opt.step()
    for k, v in model.named_buffers():
        assert torch.equal(v, frozen[k]), k
        assert not v.requires_grad
    for k, v in model.named_parameters():
        assert not torch.equal(v.detach(), before[k]), k
    # the same seed rebuilds the same frozen embeddings (what train_facts uses)
    again = build_model(n, r, d, m, seed=2)
    assert torch.equal(again.emb_subject, frozen["emb_subject"])


def test_facts_are_bijections():
    f = make_facts(20, 3, seed=1)
    assert f.shape == (3, 20)
    for row in f:
        assert sorted(row.tolist()) == list(range(20))


def test_facts_law():
    assert facts_law(256) == pytest.approx(p_c(16), rel=1e-9)
    # fewer competitors (K = p/R - 1 < p - 1) -> more facts
    assert facts_law(1000, 4) > facts_law(1000)
    assert facts_law(1000, 1) == pytest.approx(facts_law(1000), rel=1e-6)


def test_run_n2_persists_and_resumes(tmp_path):
    path = tmp_path / "n2.sqlite"
    kw = dict(configs=[(4, 4)], n_relations=2, n_seeds=1, steps=60, resolution=1.5, store=path, progress=False)
    res = run_n2(**kw)
    assert isinstance(res, N2Result)
    json.dumps(res.to_dict())
    (row,) = res.rows
    assert row.n_params == count_params(4, 4) and row.max_facts == 2 * row.max_n_subjects
    assert row.min_unstored_facts is None or row.min_unstored_facts > row.max_facts
    assert res.n_runs >= 2
    with ResultsStore(path) as store:
        n_stored = len(list(store.records()))
    assert n_stored == res.n_runs
    again = run_n2(**kw)
    assert again.to_dict() == res.to_dict()
    with ResultsStore(path) as store:
        assert len(list(store.records())) == n_stored
    table = res.format_table()
    assert table.startswith("| d | m |") and "mean of 1" in table


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: train_facts(1, 2, 8, 8), "n_subjects"),
        (lambda: train_facts(4, 0, 8, 8), "n_relations"),
        (lambda: train_facts(4, 2, 0, 8), "d"),
        (lambda: train_facts(4, 2, 8, -1), "m"),
        (lambda: train_facts(4, 2, 8, 8, steps=0), "steps"),
        (lambda: train_facts(4, 2, 8, 8, lr=-1.0), "lr"),
        (lambda: train_facts(4, 2, 8, 8, device="tpu"), "device"),
        (lambda: count_params(8, 8, part="heads"), "part"),
        (lambda: count_params(0, 8), "d"),
        (lambda: run_n2(configs=[]), "configs"),
        (lambda: run_n2(configs=[(8, 0)]), "m"),
        (lambda: run_n2(resolution=1.0), "resolution"),
        (lambda: run_n2(n_seeds=0), "n_seeds"),
        (lambda: run_n2(device="gpu"), "device"),
        (lambda: facts_law(1000, 0), "n_relations"),
    ],
)
def test_bad_inputs_raise(call, name):
    with pytest.raises(ValueError, match=f"`{name}`"):
        call()
