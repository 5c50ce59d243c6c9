"""The bad-input matrix of the ``capacity`` command: every subcommand, every kind of bad value.

Each case runs ``cli.main(argv)`` in-process and asserts the exit status (2 for bad input, 1 for
numerical trouble), nothing on stdout, stderr one line starting ``capacity <sub>: error:`` that
names the flag, and no traceback.  The sweep runner, the figure maker and the training runners
are replaced by functions that fail the test if called: every case must be refused before any
work starts.  Files given as --store / FILE are checked to be left exactly as they were, and no
default results file may appear in the working folder.
"""
import hashlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from capacity import cli
from capacity.sweeps import ResultsStore

ROOT = Path(__file__).resolve().parents[1]


class WorkStarted(AssertionError):
    """Raised by the stand-ins for the expensive calls: a bad input got past validation."""


def _forbidden(*args, **kwargs):
    raise WorkStarted("work started before the input was refused")


@pytest.fixture
def files(tmp_path, monkeypatch):
    """Placeholders for argv -> paths of prepared files (and the guards against work)."""
    monkeypatch.chdir(tmp_path)
    import capacity.nets.experiments as experiments
    import capacity.plotting as plotting
    import capacity.sweeps.runner as runner

    monkeypatch.setattr(runner, "_timed_call", _forbidden)
    monkeypatch.setattr(plotting, "run_figures", _forbidden)
    monkeypatch.setattr(experiments, "load_experiment", lambda name: _forbidden)

    good = tmp_path / "good.sqlite"
    with ResultsStore(good) as store:
        store.put({"experiment": "feasibility", "d": 5, "p": 10, "trial": 0}, {"verdict": "feasible"})
        store.put({"experiment": "threshold", "d": 5, "instance": 0}, {"threshold": 11})
    foreign = tmp_path / "foreign.sqlite"
    con = sqlite3.connect(foreign)
    con.execute("CREATE TABLE people (name TEXT)")
    con.execute("INSERT INTO people VALUES ('ada')")
    con.commit()
    con.close()
    corrupt = tmp_path / "corrupt.sqlite"
    data = bytearray(good.read_bytes())
    data[100:len(data)] = b"\xa5" * (len(data) - 100)  # the header survives, every page is garbage
    corrupt.write_bytes(bytes(data))
    text = tmp_path / "notes.txt"
    text.write_text("not a database\n")
    folder = tmp_path / "folder"
    folder.mkdir()
    paths = {"good": good, "foreign": foreign, "corrupt": corrupt, "text": text, "dir": folder,
             "nofolder": tmp_path / "missing" / "r.sqlite", "missing": tmp_path / "absent.sqlite",
             "underfile": text / "sub"}
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths.values() if p.is_file()}
    listing = sorted(os.listdir(tmp_path))
    yield {k: str(v) for k, v in paths.items()}
    # nothing written: every prepared file as it was, no new file in the folder
    for p, digest in before.items():
        assert hashlib.sha256(p.read_bytes()).hexdigest() == digest, f"{p.name} was modified"
    assert sorted(os.listdir(tmp_path)) == listing, "a file was left behind"


def _argv(argv, files):
    return [a.format(**files) for a in argv]


def _check(status, out, err, *, code, prefix, needle):
    assert "Traceback" not in err, err
    assert status == code, err
    assert out == ""
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert err.startswith(f"{prefix}: error: "), err
    assert needle in err, err


def C(sub, argv, needle, prefix=None, code=2):
    """One case: argv after the subcommand, the text that must be in the message."""
    prefix = prefix or f"capacity {sub}"
    return pytest.param([sub, *argv] if sub else argv, needle, prefix, code, id=f"{sub} {' '.join(argv)}")


QUERY = [
    C("query", ["--d", "0"], "--d"),
    C("query", ["--d", "-1"], "--d"),
    C("query", ["--d", "abc"], "--d"),
    C("query", ["--d", "nan"], "--d"),
    C("query", ["--d", "inf"], "--d"),
    C("query", ["--d", "1e400"], "--d"),
    C("query", ["--d", "8,,16"], "--d"),
    C("query", ["--d", ","], "--d"),
    C("query", ["--d="], "--d"),
    C("query", ["--d"], "--d"),
    C("query", ["--d", "8", "--d", "16"], "--d"),
    C("query", ["--p", "1"], "--p"),
    C("query", ["--p", "inf"], "--p"),
    C("query", ["--p", "100,"], "--p"),
    C("query", ["--K", "0.5"], "--K"),
    C("query", ["--K", "0"], "--K"),
    C("query", ["--K", "nan"], "--K"),
    C("query", ["--K", "1e31"], "--K"),
    C("query", ["--d", "8", "--kappa", "-0.5"], "--kappa"),
    C("query", ["--d", "8", "--kappa", "NaN"], "--kappa"),
    C("query", ["--d", "8", "--kappa", "x"], "--kappa"),
    C("query", ["--d", "8", "--kappa", "51"], "--kappa"),
    C("query", ["--K", "2", "--kappa", ",1"], "--kappa"),
    C("query", ["--d", "8", "--p", "100"], "--p"),
    C("query", ["--d", "8", "--K", "1"], "--K"),
    C("query", [], "--d"),
    C("query", ["--kappa", "1"], "--d"),
    C("query", ["--d", "8", "--json", "--csv"], "--csv"),
    C("query", ["--d", "8", "--model", "bogus"], "--model"),
    C("query", ["--d", "8", "--model", "hebian"], "did you mean hebbian?"),
    C("query", ["--d", "8", "--m", "4"], "--m"),
    C("query", ["--d", "8", "--k", "2"], "--k"),
    C("query", ["--d", "8", "--r", "0.5"], "--r"),
    C("query", ["--d", "8", "--model", "two-layer-frozen"], "--m"),
    C("query", ["--d", "8", "--model", "two-layer", "--m", "0"], "--m"),
    C("query", ["--d", "8", "--model", "two-layer", "--m", "x"], "--m"),
    C("query", ["--d", "8", "--model", "two-layer", "--m", "4", "--k", "2"], "--k"),
    C("query", ["--p", "100", "--model", "two-layer", "--m", "4"], "--p"),
    C("query", ["--d", "8", "--model", "listwise"], "--k"),
    C("query", ["--d", "8", "--model", "listwise", "--k", "2", "--r", "0.5"], "--r"),
    C("query", ["--d", "8", "--model", "listwise", "--k", "0"], "--k"),
    C("query", ["--p", "100", "--model", "listwise", "--k", "2"], "--p"),
    C("query", ["--d", "8", "--model", "hebbian", "--kappa", "1"], "--kappa"),
    C("query", ["--K", "8", "--model", "hebbian"], "--K"),
    C("query", ["--d", "8", "--model", "hebbian", "--competitors", "bogus"], "--competitors"),
    C("query", ["--d", "8", "--embedding", "cube"], "--embedding"),
    C("query", ["--d", "8", "--kapa", "1"], "did you mean --kappa?"),
    C("query", ["--dd", "8"], "--dd"),
    C("query", ["--d", "8", "--jsn"], "did you mean --json?"),
    C("query", ["--d", "8", "extra"], "extra"),
]

SIMULATE = [
    C("simulate", ["--d", "0", "--p", "5"], "--d"),
    C("simulate", ["--d", "x", "--p", "5"], "--d"),
    C("simulate", ["--d", "4.5", "--p", "5"], "--d"),
    C("simulate", ["--d", "5000", "--p", "5"], "--d"),
    C("simulate", ["--p", "5"], "--d"),
    C("simulate", ["--d", "6"], "--p"),
    C("simulate", ["--d", "6", "--p", "1"], "--p"),
    C("simulate", ["--d", "6", "--p", "9:5"], "--p"),
    C("simulate", ["--d", "6", "--p", "5,5"], "--p"),
    C("simulate", ["--d", "6", "--p", "a:b"], "--p"),
    C("simulate", ["--d", "6", "--p", "1:2:3:4"], "--p"),
    C("simulate", ["--d", "6", "--p", "5:9:0"], "--p"),
    C("simulate", ["--d", "6", "--p", ""], "--p"),
    C("simulate", ["--d", "6", "--p", "5", "--trials", "0"], "--trials"),
    C("simulate", ["--d", "6", "--p", "5", "--trials", "x"], "--trials"),
    C("simulate", ["--d", "6", "--p", "5", "--trials", "-3"], "--trials"),
    C("simulate", ["--d", "6", "--p", "5", "--seed", "-1"], "--seed"),
    C("simulate", ["--d", "6", "--p", "5", "--seed", "1.5"], "--seed"),
    C("simulate", ["--d", "6", "--p", "5", "--jobs", "0"], "--jobs"),
    C("simulate", ["--d", "6", "--p", "5", "--jobs", "1000"], "--jobs"),
    C("simulate", ["--d", "6", "--p", "5", "--jobs", "2", "--scheduler", "local:2"], "--scheduler"),
    C("simulate", ["--d", "6", "--p", "5", "--scheduler", "local:0"], "--scheduler"),
    C("simulate", ["--d", "6", "--p", "5", "--scheduler", "tcp://host"], "--scheduler"),
    C("simulate", ["--d", "6", "--p", "5", "--n-boot", "-1"], "--n-boot"),
    C("simulate", ["--d", "6", "--p", "5", "--K", "nan"], "--K"),
    C("simulate", ["--d", "6", "--p", "5", "--K", "0"], "--K"),
    C("simulate", ["--d", "6", "--p", "5", "--model", "coupled", "--K", "3"], "--K"),
    C("simulate", ["--d", "6", "--p", "5", "--model", "other"], "--model"),
    C("simulate", ["--d", "6", "--p", "5", "--model", "copuled"], "did you mean coupled?"),
    C("simulate", ["--d", "6", "--p", "5", "--embedding", "cube"], "--embedding"),
    C("simulate", ["--d", "6", "--p", "5", "--method", "simplex"], "--method"),
    C("simulate", ["--d", "6", "--p", "5", "--competitors", "coupled"], "--competitors"),
    C("simulate", ["--d", "6", "--p", "5", "--model", "hebbian", "--margin"], "--margin"),
    C("simulate", ["--d", "6", "--p", "5", "--model", "two-layer"], "--m"),
    C("simulate", ["--d", "6", "--p", "5", "--model", "two-layer-frozen", "--m", "9"], "--m"),
    C("simulate", ["--d", "6", "--p", "5", "--m", "3"], "--m"),
    C("simulate", ["--d", "6", "--p", "5", "--json", "--csv"], "--csv"),
    C("simulate", ["--d", "6", "--p", "5", "--trialz", "2"],
      "unrecognized arguments: --trialz 2; did you mean --trials?"),
    C("simulate", ["--d", "6", "--p", "5", "--no-progres"], "did you mean --no-progress?"),
    C("simulate", ["--d", "6", "--p", "5", "--progress=yes"], "--progress"),
    C("simulate", ["--d", "6", "--p", "5", "--store", "x.sqlite", "--no-store"], "--no-store"),
    C("simulate", ["--d", "6", "--p", "5", "--store", ""], "--store"),
    C("simulate", ["--d", "6", "--p", "5", "--store", " "], "--store"),
    C("simulate", ["--d", "6", "--p", "5", "--store", ":memory:"], "--store"),
    C("simulate", ["--d", "6", "--p", "5", "--store", "{dir}"], "--store"),
    C("simulate", ["--d", "6", "--p", "5", "--store", "{corrupt}"], "--store"),
    C("simulate", ["--d", "6", "--p", "5", "--store", "{foreign}"], "--store"),
    C("simulate", ["--d", "6", "--p", "5", "--store", "{text}"], "--store"),
    C("simulate", ["--d", "6", "--p", "5", "--store", "{nofolder}"], "--store"),
    C("simulate", ["--d", "6", "--p", "5", "--store", "{underfile}"], "--store"),
    C("simulate", ["--d", "6", "--p", "5", "--store", "a", "--store", "b"], "--store"),
    C("simulate", ["--d", "6", "--p", "5", "--max-memory", "abc"], "--max-memory"),
    C("simulate", ["--d", "6", "--p", "5", "--max-memory", "0"], "--max-memory"),
    C("simulate", ["--d", "6", "--p", "5", "--max-memory", "-5G"], "--max-memory"),
    C("simulate", ["--d", "6", "--p", "5", "--max-memory", "1Q"], "--max-memory"),
    C("simulate", ["--d", "6", "--p", "5", "--max-memory", ""], "--max-memory"),
    C("simulate", ["--d", "16", "--p", "40000", "--trials", "1", "--no-store"], "--max-memory"),
    C("simulate", ["--d", "8", "--p", "30", "--trials", "2", "--max-memory", "1K", "--no-store"], "--max-memory"),
    C("simulate", ["--d", "8", "--p", "30", "--trials", "1000000000", "--no-store"], "--trials"),
    C("simulate", ["--d", "6", "--p", "5", "--device", "cpu"], "--device applies to --method torch"),
    C("simulate", ["--d", "6", "--p", "5", "--method", "gram", "--device", "cuda"], "--device"),
    C("simulate", ["--d", "6", "--p", "5", "--method", "torch", "--device", "gpu"], "--device"),
    C("simulate", ["--d", "6", "--p", "5", "--method", "torch", "--device", "cpu", "--device", "cpu"], "--device"),
    C("simulate", ["--d", "6", "--p", "5", "--method", "torch", "--margin"], "--method torch"),
    C("simulate", ["--d", "6", "--p", "5", "--model", "hebbian", "--method", "torch"], "--method torch"),
    C("simulate", ["--d", "6", "--p", "5", "--method", "torh"], "did you mean torch?"),
]

THRESHOLD = [
    C("threshold", ["--d", "0"], "--d"),
    C("threshold", ["--d", "x"], "--d"),
    C("threshold", ["--d", "5000"], "--d"),
    C("threshold", ["--instances", "3"], "--d"),
    C("threshold", ["--d", "8", "--instances", "0"], "--instances"),
    C("threshold", ["--d", "8", "--instances", "x"], "--instances"),
    C("threshold", ["--d", "8", "--instances", "2000000"], "--instances"),
    C("threshold", ["--d", "8", "--seed", "-1"], "--seed"),
    C("threshold", ["--d", "8", "--jobs", "0"], "--jobs"),
    C("threshold", ["--d", "8", "--jobs", "2", "--scheduler", "local:2"], "--scheduler"),
    C("threshold", ["--d", "8", "--scheduler", "local:0"], "--scheduler"),
    C("threshold", ["--d", "8", "--model", "hebbian"], "--model"),
    C("threshold", ["--d", "8", "--embedding", "cube"], "--embedding"),
    C("threshold", ["--d", "8", "--method", "simplex"], "--method"),
    C("threshold", ["--d", "8", "--instance", "3"], "did you mean --instances?"),
    C("threshold", ["--d", "8", "--store", "x.sqlite", "--no-store"], "--no-store"),
    C("threshold", ["--d", "8", "--store", ""], "--store"),
    C("threshold", ["--d", "8", "--store", "{dir}"], "--store"),
    C("threshold", ["--d", "8", "--store", "{corrupt}"], "--store"),
    C("threshold", ["--d", "8", "--store", "{foreign}"], "--store"),
    C("threshold", ["--d", "8", "--store", "{nofolder}"], "--store"),
    C("threshold", ["--d", "8", "--max-memory", "lots"], "--max-memory"),
    C("threshold", ["--d", "8", "--max-memory", "1K", "--no-store"], "--max-memory"),
    C("threshold", ["--d", "8", "--device", "cpu"], "--device applies to --method torch"),
    C("threshold", ["--d", "8", "--method", "ldp", "--device", "auto"], "--device"),
    C("threshold", ["--d", "8", "--method", "torch", "--device", "tpu"], "--device"),
    C("threshold", ["--d", "8", "--method", "torch", "--devic", "cpu"], "did you mean --device?"),
]

FIGURES = [
    C("figures", ["nonexistent_figure"], "SLUG"),
    C("figures", ["pc_scalin"], "did you mean pc_scaling?"),
    C("figures", ["--all", "pc_scaling"], "--all"),
    C("figures", ["--list", "pc_scaling"], "--list"),
    C("figures", ["--list", "--all"], "--list"),
    C("figures", [], "--all"),
    C("figures", ["--all", "--outdir", "{text}"], "--outdir"),
    C("figures", ["--all", "--outdir", ""], "--outdir"),
    C("figures", ["--all", "--outdir", "{underfile}"], "--outdir"),
    C("figures", ["--all", "--bogus"], "--bogus"),
    C("figures", ["--all", "--quik"], "did you mean --quick?"),
    C("figures", ["--all", "--progress=1"], "--progress"),
]

TRAIN = [
    C("train", ["nonsense", "--no-store"], "EXPERIMENT"),
    C("train", ["liner", "--no-store"], "did you mean linear?"),
    C("train", [], "EXPERIMENT"),
    C("train", ["node2vec", "--seed", "-1"], "--seed"),
    C("train", ["node2vec", "--seed", "x"], "--seed"),
    C("train", ["node2vec", "--jobs", "0"], "--jobs"),
    C("train", ["node2vec", "--jobs", "many"], "--jobs"),
    C("train", ["node2vec", "--device", "gpu"], "--device"),
    C("train", ["node2vec", "--device", "cuda", "--no-store"], "--device"),
    C("train", ["node2vec", "--store", "x.sqlite", "--no-store"], "--no-store"),
    C("train", ["node2vec", "--store", ""], "--store"),
    C("train", ["node2vec", "--store", "{dir}"], "--store"),
    C("train", ["node2vec", "--store", "{corrupt}"], "--store"),
    C("train", ["node2vec", "--store", "{foreign}"], "--store"),
    C("train", ["node2vec", "--quik"], "did you mean --quick?"),
    C("train", ["node2vec", "extra"], "extra"),
]

STORE = [
    C("store", [], "ls, show or export"),
    C("store", ["list", "{good}"], "did you mean ls?"),
    C("store", ["ls"], "FILE", prefix="capacity store ls"),
    C("store", ["ls", "{missing}"], "FILE", prefix="capacity store ls"),
    C("store", ["ls", ""], "FILE", prefix="capacity store ls"),
    C("store", ["ls", "{dir}"], "FILE", prefix="capacity store ls"),
    C("store", ["ls", "{corrupt}"], "FILE", prefix="capacity store ls"),
    C("store", ["ls", "{foreign}"], "FILE", prefix="capacity store ls"),
    C("store", ["ls", "{text}"], "FILE", prefix="capacity store ls"),
    C("store", ["ls", "{good}", "--bogus"], "--bogus", prefix="capacity store ls"),
    C("store", ["ls", "{good}", "--jsn"], "did you mean --json?", prefix="capacity store ls"),
    C("store", ["show", "{missing}"], "FILE", prefix="capacity store show"),
    C("store", ["show", "{foreign}"], "FILE", prefix="capacity store show"),
    C("store", ["show", "{good}", "--experiment", "margin"], "--experiment", prefix="capacity store show"),
    C("store", ["show", "{good}", "--experiment", "feasibilty"], "did you mean feasibility?",
      prefix="capacity store show"),
    C("store", ["show", "{good}", "--experimnt", "x"], "did you mean --experiment?", prefix="capacity store show"),
    C("store", ["export", "{good}"], "--format", prefix="capacity store export"),
    C("store", ["export", "{good}", "--format", "xml"], "--format", prefix="capacity store export"),
    C("store", ["export", "{good}", "--format", "csv", "--output", "{dir}"], "--output",
      prefix="capacity store export"),
    C("store", ["export", "{good}", "--format", "csv", "--output", "{nofolder}"], "--output",
      prefix="capacity store export"),
    C("store", ["export", "{good}", "--format", "json", "--output", "{good}"], "--output",
      prefix="capacity store export"),
    C("store", ["export", "{good}", "--format", "csv", "--output", ""], "--output", prefix="capacity store export"),
    C("store", ["export", "{good}", "--format", "csv", "--experiment", "margin"], "--experiment",
      prefix="capacity store export"),
    C("store", ["export", "{corrupt}", "--format", "csv"], "FILE", prefix="capacity store export"),
    C("store", ["export", "{missing}", "--format", "json"], "FILE", prefix="capacity store export"),
]

TOP = [
    C("", [], "command", prefix="capacity"),
    C("", ["bogus"], "bogus", prefix="capacity"),
    C("", ["qurey", "--d", "8"], "did you mean query?", prefix="capacity"),
    C("", ["--bogus"], "--bogus", prefix="capacity"),
    C("", ["-x", "query", "--d", "8"], "-x", prefix="capacity"),
]

CASES = QUERY + SIMULATE + THRESHOLD + FIGURES + TRAIN + STORE + TOP


def test_the_matrix_is_large_enough():
    assert len(CASES) >= 120
    assert {c.values[0][0] for c in CASES if c.values[0]} >= {"query", "simulate", "threshold", "figures", "train",
                                                             "store"}


@pytest.mark.parametrize(("argv", "needle", "prefix", "code"), CASES)
def test_bad_input(argv, needle, prefix, code, files, capsys):
    status = cli.main(_argv(argv, files))
    out, err = capsys.readouterr()
    _check(status, out, err, code=code, prefix=prefix, needle=needle)


# --------------------------------------------------------------------------- --method torch: torch and the GPU


def _torch_state():
    """(torch importable, a CUDA device visible)."""
    try:
        import torch
    except ImportError:
        return False, False
    return True, bool(torch.cuda.is_available())


TORCH_ARGV = {"simulate": ["simulate", "--d", "6", "--p", "5", "--method", "torch"],
              "threshold": ["threshold", "--d", "8", "--method", "torch"]}


@pytest.mark.parametrize("sub", list(TORCH_ARGV))
@pytest.mark.parametrize("device", [None, "cpu", "cuda", "auto"])
def test_method_torch_without_torch_exits_2(sub, device, files, capsys, monkeypatch):
    """Without torch (blocked here as if not installed): one line naming --method and the install command."""
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ImportError
    argv = TORCH_ARGV[sub] + ([] if device is None else ["--device", device])
    status = cli.main(argv)
    out, err = capsys.readouterr()
    _check(status, out, err, code=2, prefix=f"capacity {sub}", needle="--method 'torch' needs torch")
    assert "pip install torch" in err


@pytest.mark.parametrize("sub", list(TORCH_ARGV))
def test_device_cuda_without_a_gpu_exits_2(sub, files, capsys):
    has_torch, has_gpu = _torch_state()
    if not has_torch or has_gpu:
        pytest.skip("needs torch and no visible GPU")
    status = cli.main(TORCH_ARGV[sub] + ["--device", "cuda"])
    out, err = capsys.readouterr()
    _check(status, out, err, code=2, prefix=f"capacity {sub}", needle="--device is 'cuda' but torch")


def test_gpu_memory_refusal_exits_2(files, capsys, monkeypatch):
    """A search whose solves would not fit in the GPU (stood in for here: a 4 GiB 'cuda' device): exit 2, one line
    naming --device, before any work."""
    torch = pytest.importorskip("torch")
    from capacity import _torch

    monkeypatch.setattr(_torch, "resolve_device", lambda device="auto", what="": torch.device("cuda"))
    monkeypatch.setattr(_torch, "device_memory", lambda device: 4 << 30)
    status = cli.main(["threshold", "--d", "160", "--method", "torch", "--device", "cuda", "--max-memory", "100T",
                       "--no-store"])
    out, err = capsys.readouterr()
    _check(status, out, err, code=2, prefix="capacity threshold", needle="on cuda, over its 4 GiB (--device)")


# --------------------------------------------------------------------------- numerical trouble: exit 1


def _failing_trial(*args, **kwargs):
    raise FloatingPointError("the solver diverged")


def test_failed_trials_exit_1(tmp_path, monkeypatch, capsys):
    import capacity.sweeps.runner as runner

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(runner, "_timed_call", _failing_trial)
    status = cli.main(["simulate", "--d", "5", "--p", "10", "--trials", "2", "--no-store", "--no-progress"])
    out, err = capsys.readouterr()
    _check(status, out, err, code=1, prefix="capacity simulate", needle="rerun to retry")
    assert os.listdir(tmp_path) == []


def test_failed_instances_exit_1(tmp_path, monkeypatch, capsys):
    import capacity.sweeps.runner as runner

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(runner, "_timed_call", _failing_trial)
    status = cli.main(["threshold", "--d", "5", "--instances", "2", "--no-store", "--no-progress"])
    out, err = capsys.readouterr()
    _check(status, out, err, code=1, prefix="capacity threshold", needle="rerun to retry")


def test_convergence_error_in_query_exit_1(monkeypatch, capsys):
    from capacity import theory
    from capacity.exceptions import ConvergenceError

    def fail(*args, **kwargs):
        raise ConvergenceError("root of p = d^2 alpha_c(p - 1)\nnot bracketed")

    monkeypatch.setattr(theory, "solve_d_min", fail)
    status = cli.main(["query", "--p", "100", "--csv"])
    out, err = capsys.readouterr()
    _check(status, out, err, code=1, prefix="capacity query", needle="numerical failure")


def test_internal_error_is_one_line_exit_1(monkeypatch, capsys):
    from capacity import theory

    def bug(*args, **kwargs):
        raise KeyError("oops")

    monkeypatch.setattr(theory, "solve_p_c", bug)
    monkeypatch.delenv("CAPACITY_DEBUG", raising=False)
    status = cli.main(["query", "--d", "8"])
    out, err = capsys.readouterr()
    _check(status, out, err, code=1, prefix="capacity query", needle="CAPACITY_DEBUG=1")


# --------------------------------------------------------------------------- broken pipe (real processes)


SIMULATE_PIPE = ["simulate", "--d", "5", "--p", "10,12", "--trials", "1", "--no-store", "--n-boot", "0"]


@pytest.mark.parametrize("argv", [
    ["query", "--d", "8,16,32,64"],
    ["figures", "--list"],
    ["query", "--d", "8,16", "--csv"],
    pytest.param(SIMULATE_PIPE, marks=pytest.mark.slow),
    pytest.param(SIMULATE_PIPE + ["--json"], marks=pytest.mark.slow),
], ids=" ".join)
def test_broken_pipe_exits_quietly(argv, tmp_path):
    """A reader that went away (``| head -1``): no traceback, exit 141 (128 + SIGPIPE)."""
    read, write = os.pipe()
    os.close(read)  # the reader is gone before anything is written
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    try:
        proc = subprocess.run([sys.executable, "-m", "capacity", *argv], stdout=write, stderr=subprocess.PIPE,
                              text=True, env=env, cwd=tmp_path, timeout=120)
    finally:
        os.close(write)
    assert proc.stderr == ""
    assert proc.returncode == 141
