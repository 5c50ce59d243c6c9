"""`capacity train`: routing, JSON, persistence and one-line errors; the numbers are the library's."""
import json

import pytest

from capacity import cli
from capacity.results import json_ready

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch


def run(capsys, *argv):
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.slow
def test_train_linear_quick_json_resumes_from_store(tmp_path, capsys):
    store = tmp_path / "n1.sqlite"
    status, out, err = run(capsys, "train", "linear", "--quick", "--json", "--store", str(store))
    assert status == 0, err
    first = json.loads(out)
    assert store.exists() and first["rows"]
    row = first["rows"][0]
    assert row["d"] == 6 and row["arch"] == "linear"
    assert 0 < row["gd_over_theory"] < 2 and row["gd_not_lp"] == 0  # GD never stores an LP-infeasible set
    # a rerun reads every run back from the store: the same answer
    status, out, err = run(capsys, "train", "n1", "--quick", "--json", "--store", str(store))
    assert status == 0, err
    assert json.loads(out)["rows"] == first["rows"]


def test_train_node2vec_quick_text_and_json(tmp_path, capsys):
    # the NumPy-only experiment (about a second): the printed table and JSON are the library's
    from capacity.nets.experiments import load_experiment

    status, out, err = run(capsys, "train", "n5", "--quick", "--no-store", "--json")
    assert status == 0, err
    payload = json.loads(out)
    expected = load_experiment("node2vec")(quick=True, store=None, progress=False)
    assert payload["rows"] == json_ready(expected.to_dict()["rows"])
    status, out, err = run(capsys, "train", "node2vec", "--quick", "--store", str(tmp_path / "n5.sqlite"))
    assert status == 0, err
    assert out.startswith(expected.format_table())
    # the store report moved from stdout to one line on stderr
    assert "computed now" in err and "n5.sqlite" in err and err.count("\n") == 1


@pytest.mark.parametrize("argv, needle", [
    (["train", "nonsense", "--no-store"], "EXPERIMENT must be one of"),
    (["train", "linear", "--seed", "-1", "--no-store"], "--seed"),
    (["train", "linear", "--jobs", "0", "--no-store"], "--jobs"),
])
def test_train_bad_input_one_line_exit_2(argv, needle, capsys):
    status, out, err = run(capsys, *argv)
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and needle in err


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_train_cuda_without_gpu_is_a_clear_error(capsys):
    status, out, err = run(capsys, "train", "linear", "--quick", "--device", "cuda", "--no-store")
    assert status == 2 and "cuda" in err and err.count("\n") == 1


def test_train_node2vec_is_numpy_only(capsys):
    status, out, err = run(capsys, "train", "node2vec", "--quick", "--no-store", "--json")
    assert status == 0, err
    assert {row["graph"] for row in json.loads(out)["rows"]} >= {"cycle"}
    status, out, err = run(capsys, "train", "node2vec", "--quick", "--no-store", "--device", "cuda")
    assert status == 2 and "NumPy" in err and err.count("\n") == 1
