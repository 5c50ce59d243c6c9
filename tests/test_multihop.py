"""Multi-hop factual recall (capacity.nets.models.multihop, experiments.multihop, `capacity train multihop`).

The task helpers and the constructions are NumPy (run without torch); they are checked against plain
loops written here and, for exactness, by brute force over all N R^k queries.  Training tests need torch.
"""
import json
import math

import numpy as np
import pytest

from capacity.nets.models import multihop as mh


def naive_answer(facts, s, word):
    a = s
    for r in word:
        a = int(facts[r][a])
    return a


def naive_words(r, k):
    words = [[]]
    for _ in range(k):
        words = [w + [x] for w in words for x in range(r)]
    return words


# --------------------------------------------------------------------------------------
# Task
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("n, r, k", [(5, 2, 1), (4, 3, 2), (6, 2, 3)])
def test_all_queries_and_chain_match_a_plain_loop(n, r, k):
    facts = mh.make_facts(n, r, seed=3)
    s, w = mh.all_queries(n, r, k)
    expected = [(si, word) for word in naive_words(r, k) for si in range(n)]
    assert len(s) == n * r ** k
    assert [(int(a), list(map(int, b))) for a, b in zip(s, w)] == expected
    chain = mh.hop_chain(facts, s, w)
    for i in range(len(s)):
        for t in range(k):
            assert chain[i, t] == naive_answer(facts, int(s[i]), w[i, :t + 1])
    comp = mh.composite_facts(facts, k)
    for j, word in enumerate(naive_words(r, k)):
        assert comp[j].tolist() == [naive_answer(facts, si, word) for si in range(n)]
        assert sorted(comp[j].tolist()) == list(range(n))  # a composite of bijections is a bijection


def test_split_is_a_partition_and_deterministic():
    tr, te = mh.split_queries(8, 2, 3, held_out=0.2, seed=5)
    assert len(te) == int(0.2 * 64) and len(tr) + len(te) == 64
    assert not set(tr) & set(te)
    tr2, te2 = mh.split_queries(8, 2, 3, held_out=0.2, seed=5)
    assert np.array_equal(te, te2) and np.array_equal(tr, tr2)
    assert not np.array_equal(te, mh.split_queries(8, 2, 3, held_out=0.2, seed=6)[1])
    tr1, te1 = mh.split_queries(8, 2, 1)
    assert len(te1) == 0 and len(tr1) == 16  # one-hop facts: all trained on


def test_fact_bits_and_parameter_bound():
    assert mh.fact_bits(10, 3) == pytest.approx(3 * math.log2(math.factorial(10)), rel=1e-12)
    assert mh.min_params(10, 3, bits_per_param=1) == math.ceil(3 * math.log2(math.factorial(10)))
    # the bound does not depend on k and falls with the bits per parameter
    assert mh.min_params(64, 2, bits_per_param=32) < mh.min_params(64, 2, bits_per_param=2)


# --------------------------------------------------------------------------------------
# Constructions: exact by brute force
# --------------------------------------------------------------------------------------
def brute_force_accuracy(c, facts):
    """Independent check: every one of the N R^k queries, answered by the construction, against naive_answer."""
    n, r, k = c.n_entities, c.n_relations, c.hops
    words = naive_words(r, k)
    s = np.array([si for _ in words for si in range(n)])
    w = np.array([word for word in words for _ in range(n)])
    pred = c.predict(s, w)
    right = 0
    for i in range(len(s)):
        truth = [naive_answer(facts, int(s[i]), w[i, :t + 1]) for t in range(k)]
        right += (pred[i].tolist() == truth) if c.mode == "cot" else (int(pred[i]) == truth[-1])
    return right / len(s)


@pytest.mark.parametrize("mode", mh.MODES)
@pytest.mark.parametrize("k", [1, 2, 3])
def test_constructions_exact_on_all_queries(mode, k):
    facts = mh.make_facts(12, 2, seed=1)
    kc = mh.construction_code_min(facts, k, mode=mode, seed=1)
    assert kc is not None and kc > 1
    c = mh.build_construction(facts, k, kc, mode=mode, seed=1)
    assert brute_force_accuracy(c, facts) == 1.0
    assert mh.construction_accuracy(facts, k, kc, mode=mode, seed=1) == 1.0
    # the scan's answer is the smallest: one shorter code is not exact
    assert brute_force_accuracy(mh.build_construction(facts, k, kc - 1, mode=mode, seed=1), facts) < 1.0


def test_construction_widths_vs_k():
    facts = mh.make_facts(12, 2, seed=0)
    cot = [mh.build_construction(facts, k, 10, mode="cot") for k in (1, 2, 3)]
    comp = [mh.build_construction(facts, k, 10, mode="composite") for k in (1, 2, 3)]
    stack = [mh.build_construction(facts, k, 10, mode="stack") for k in (1, 2, 3)]
    assert [c.d for c in cot] == [20, 20, 20] and {c.n_params for c in cot} == {cot[0].n_params}
    assert [c.d for c in comp] == [20, 40, 80] and [c.widths[0] for c in comp] == [22, 44, 88]
    assert [c.d for c in stack] == [20, 20, 20] and [c.depth for c in stack] == [1, 2, 3]
    assert stack[1].widths == (22, 24)
    assert stack[2].n_params - stack[1].n_params == stack[1].n_params - stack[0].n_params > 0


def test_exact_iff_every_codebook_has_strict_self_maximum():
    # the condition of the module docstring, checked independently of the forward pass for kc = 1 ... 14
    facts = mh.make_facts(10, 2, seed=2)
    for kc in range(1, 15):
        c = mh.build_construction(facts, 2, kc, mode="cot", seed=2)
        U = c.weights["unembed"]
        ok = True
        for r in range(2):
            C = U[:, r * kc:(r + 1) * kc]
            G = C @ C.T
            ok &= all(G[a, a] > max(G[a, b] for b in range(10) if b != a) for a in range(10))
        assert (brute_force_accuracy(c, facts) == 1.0) == ok


# --------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("call, exc, needle", [
    (lambda: mh.all_queries(1, 2, 2), ValueError, "n_entities"),
    (lambda: mh.all_queries(8, 2, 0), ValueError, "hops"),
    (lambda: mh.all_queries(8, 2, mh.HOPS_MAX + 1), ValueError, "hops"),
    (lambda: mh.all_queries(8, 2, 2.5), ValueError, "hops"),
    (lambda: mh.all_queries(8, "2", 2), TypeError, "n_relations"),
    (lambda: mh.all_queries(10**5, 8, 6), ValueError, "queries"),
    (lambda: mh.split_queries(8, 2, 2, held_out=0.0), ValueError, "held_out"),
    (lambda: mh.split_queries(8, 2, 2, held_out=1.0), ValueError, "held_out"),
    (lambda: mh.hop_chain([[0, 0]], np.array([0]), np.array([[0]])), ValueError, "bijection"),
    (lambda: mh.hop_chain("facts", np.array([0]), np.array([[0]])), TypeError, "facts"),
    (lambda: mh.hop_chain([[1, 0]], np.array([0]), np.array([[1]])), ValueError, "words"),
    (lambda: mh.build_construction(mh.make_facts(8, 2), 2, 4, mode="lookup"), ValueError, "mode"),
    (lambda: mh.build_construction(mh.make_facts(8, 2), 2, 4, mode=1), TypeError, "mode"),
    (lambda: mh.build_construction(mh.make_facts(8, 2), 2, 0), ValueError, "code_length"),
    (lambda: mh.build_construction(np.array([[0.0, 1.0]]), 1, 4), ValueError, "facts"),
    (lambda: mh.min_params(8, 2, bits_per_param=0), ValueError, "bits_per_param"),
    (lambda: mh.construction_code_min(mh.make_facts(8, 2), 2, code_max=0), ValueError, "code_max"),
    (lambda: mh.build_construction(mh.make_facts(8, 2), 2, 4).predict(np.array([0]), np.array([[0]])),
     ValueError, "words"),
])
def test_bad_input_names_the_argument(call, exc, needle):
    with pytest.raises(exc, match=needle):
        call()


def test_runner_bad_input():
    from capacity.nets.experiments.multihop import run_multihop

    with pytest.raises(TypeError, match="cot"):
        run_multihop(cot="yes", quick=True, progress=False)
    with pytest.raises(ValueError, match="hops"):
        run_multihop(hops=0, quick=True, progress=False)
    with pytest.raises(ValueError, match="grid"):
        run_multihop(grid=[(8, 0)], quick=True, progress=False)
    with pytest.raises(ValueError, match="grid"):
        run_multihop(grid=[], quick=True, progress=False)
    with pytest.raises(ValueError, match="device"):
        run_multihop(device="tpu", quick=True, progress=False)
    with pytest.raises(ValueError, match="d_max"):
        run_multihop(d_start=16, d_max=8, quick=True, progress=False)


# --------------------------------------------------------------------------------------
# Training (torch)
# --------------------------------------------------------------------------------------
@pytest.fixture
def torch():
    torch = pytest.importorskip("torch")
    return torch


@pytest.mark.torch
def test_cot_construction_is_a_point_of_the_trained_models_weight_space(torch):
    facts = mh.make_facts(12, 2, seed=0)
    kc = mh.construction_code_min(facts, 3, mode="cot")
    c = mh.build_construction(facts, 3, kc, mode="cot")
    model = mh.build_model(12, 2, 3, c.d, mode="cot", width=c.widths[0], dtype="float64")
    W = c.weights
    with torch.no_grad():
        model.emb.copy_(torch.as_tensor(W["emb"]))
        model.rel.copy_(torch.as_tensor(W["rel"]))
        model.w1[0].copy_(torch.as_tensor(W["gate"][0]))
        model.b1[0].copy_(torch.as_tensor(W["gate"][1]))
        model.w2[0].copy_(torch.as_tensor(W["gate"][2]))
        model.unembed.copy_(torch.as_tensor(W["unembed"]))
        s, w = mh.all_queries(12, 2, 3)
        gen = model.generate(torch.as_tensor(s), torch.as_tensor(w)).numpy()
    assert np.array_equal(gen, c.predict(s, w))
    assert np.array_equal(gen, mh.hop_chain(facts, s, w))


@pytest.mark.torch
@pytest.mark.slow
def test_gd_quick_cot_generalises_composite_does_not(torch):
    # fixed seed, N = 16, R = 2, k = 2, d = 16: with chain-of-thought the held-out 2-hop queries are answered
    # (every hop is a trained fact); the composite-relation model memorises its training queries but a held-out
    # (s, w) pair is a fact it never saw
    cot = mh.train_multihop(16, 2, 2, 16, mode="cot", steps=600, seed=0)
    comp = mh.train_multihop(16, 2, 2, 16, mode="composite", steps=600, seed=0)
    assert cot.fact_accuracy == 1.0 and cot.train_accuracy == 1.0
    assert cot.heldout_accuracy >= 0.99 and cot.heldout_chain_accuracy >= 0.99 and cot.stored
    assert comp.fact_accuracy == 1.0 and comp.train_accuracy == 1.0
    assert comp.heldout_accuracy < 0.5 and not comp.stored
    assert cot.n_heldout == comp.n_heldout == int(0.2 * 64)
    again = mh.train_multihop(16, 2, 2, 16, mode="cot", steps=600, seed=0)
    assert again.to_dict() | {"seconds": 0} == cot.to_dict() | {"seconds": 0}  # bit-reproducible on CPU


@pytest.mark.torch
def test_train_bad_input(torch):
    with pytest.raises(ValueError, match="mode"):
        mh.train_multihop(8, 2, 2, 8, mode="direct")
    with pytest.raises(ValueError, match="steps"):
        mh.train_multihop(8, 2, 2, 8, steps=-1)
    with pytest.raises(ValueError, match="stop_at"):
        mh.train_multihop(8, 2, 2, 8, stop_at=2.0)
    with pytest.raises(TypeError, match="run"):
        mh.hop_probes("not a run")


@pytest.mark.torch
@pytest.mark.slow
def test_hop_probes_shapes(torch):
    t = mh.train_multihop(16, 2, 3, 16, mode="stack", steps=200, seed=0)
    p = mh.hop_probes(t)
    assert len(p["r2"]) == len(p["gating_within"]) == 3
    assert all(v is None or (np.isfinite(v) and v <= 1.0) for v in p["r2"])


# --------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------
def run_cli(capsys, *argv):
    from capacity import cli

    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize("argv, needle", [
    (["train", "multihop", "--hops", "0", "--no-store"], "--hops"),
    (["train", "multihop", "--hops", "7", "--no-store"], "--hops"),
    (["train", "multihop", "--hops", "two", "--no-store"], "--hops"),
    (["train", "multihop", "--hops", "2", "--hops", "3", "--no-store"], "--hops"),
    (["train", "multihop", "--cot", "--no-cot", "--no-store"], "--cot"),
    (["train", "linear", "--hops", "2", "--no-store"], "only for the multihop"),
    (["train", "geometric", "--cot", "--no-store"], "only for the multihop"),
    (["train", "node2vec", "--no-cot", "--no-store"], "only for the multihop"),
])
def test_cli_bad_flags_one_line_exit_2(argv, needle, capsys):
    status, out, err = run_cli(capsys, *argv)
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and needle in err


@pytest.mark.torch
@pytest.mark.slow
def test_cli_multihop_quick_json_and_store(tmp_path, capsys, torch):
    store = tmp_path / "mh.sqlite"
    status, out, err = run_cli(capsys, "train", "multihop", "--hops", "2", "--cot", "--quick", "--json",
                               "--no-progress", "--store", str(store))
    assert status == 0, err
    payload = json.loads(out)
    assert [(r["hops"], r["mode"]) for r in payload["rows"]] == [(1, "cot"), (2, "cot")]
    assert payload["rows"][1]["probe_heldout"][0] >= 0.99
    assert all(c["code_length"][0] is not None for c in payload["constructions"])
    status, out2, err = run_cli(capsys, "train", "multihop", "--hops", "2", "--cot", "--quick", "--json",
                                "--no-progress", "--store", str(store))
    assert status == 0 and json.loads(out2)["rows"] == payload["rows"] and "0 computed now" in err
    status, out, err = run_cli(capsys, "train", "multihop", "--hops", "2", "--no-cot", "--quick", "--no-store",
                               "--no-progress")
    assert status == 0, err
    assert "| composite |" in out and "| stack |" in out and "| cot |" not in out


def test_cli_multihop_without_torch_is_one_line_exit_2(capsys):
    try:
        import torch  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("torch is installed (run with CAPACITY_BLOCK_TORCH=1)")
    status, out, err = run_cli(capsys, "train", "multihop", "--quick", "--no-store")
    assert status == 2 and out == "" and err.count("\n") == 1 and "torch" in err
