"""Sweeps on a real Dask engine: ``scheduler="local:N"`` / ``--scheduler`` give the ``jobs=1`` results.

A 2-worker ``LocalCluster`` (separate worker processes) runs a small sweep; its
results, and what lands in the store, must equal the serial run's, and no
worker process may outlive the call -- also when the block is left by an
exception or Ctrl-C.  Starting a cluster costs seconds, so those tests are
``slow``; validation (which happens before anything is imported or started)
is fast.
"""
import json
import socket
import subprocess
import sys

import pytest

from capacity import cli
from capacity.simulate.sweep import simulate_capacity
from capacity.sweeps import ResultsStore, check_scheduler, dask_executor, executor_for, run_sweep
from capacity.sweeps import executors as executors_module
from tests import _sweep_helpers as helpers

psutil = pytest.importorskip("psutil")

SWEEP = dict(model="decoupled", d=6, ps=[10, 13, 16], trials=3, seed=1, n_boot=100)
BAD_SCHEDULERS = ["local:0", "local:-1", "local:x", "local:", "local", "foo", "tcp://host", "tcp://:8786",
                  "tcp://host:0", "tcp://host:99999", "http://host:8786", "host:8786", " local:2", ""]


def worker_processes():
    """This process's children, less multiprocessing's resource tracker (which lives as long as we do)."""
    return {p for p in psutil.Process().children(recursive=True)
            if "resource_tracker" not in " ".join(_cmdline(p))}


def _cmdline(proc):
    try:
        return proc.cmdline()
    except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
        return []


def assert_all_gone(procs):
    alive = [p for p in procs if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert not alive, f"worker processes survived: {[(p.pid, _cmdline(p)) for p in alive]}"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def canon(obj):
    return json.dumps(obj, sort_keys=True, allow_nan=True)


def without_seconds(records):
    """Trial results less their wall time (the one field that depends on where a trial ran)."""
    return canon([{k: v for k, v in r.items() if k != "seconds"} for r in records])


# ------------------------------------------------------------------ validation (fast)
def test_check_scheduler_forms():
    assert check_scheduler("local:1") == ("local", 1)
    assert check_scheduler("local:16") == ("local", 16)
    for address in ("tcp://127.0.0.1:8786", "tcp://node-17.cluster:41234", "tls://[::1]:8786", "ucx://10.0.0.5:1"):
        assert check_scheduler(address) == ("address", address)


@pytest.mark.parametrize("scheduler", BAD_SCHEDULERS)
def test_bad_scheduler_is_a_one_line_value_error(scheduler):
    with pytest.raises(ValueError) as info:
        check_scheduler(scheduler)
    msg = str(info.value)
    assert "`scheduler`" in msg and repr(scheduler) in msg and "local:N" in msg and "tcp://host:8786" in msg
    assert "\n" not in msg
    # the library entry points check before starting anything
    with pytest.raises(ValueError, match="`scheduler` must be"):
        with dask_executor(scheduler):
            pass  # pragma: no cover
    with pytest.raises(ValueError, match="`scheduler` must be"):
        simulate_capacity(**SWEEP, scheduler=scheduler, progress=False)


def test_scheduler_must_be_a_string():
    with pytest.raises(TypeError, match="`scheduler` must be a string"):
        check_scheduler(2)


def test_scheduler_excludes_jobs_and_executor():
    with pytest.raises(ValueError, match="either `jobs` or `scheduler`"):
        with executor_for("local:2", jobs=2):
            pass  # pragma: no cover
    with pytest.raises(ValueError, match="either `jobs` or `scheduler`"):
        simulate_capacity(**SWEEP, scheduler="local:2", jobs=2, progress=False)
    with pytest.raises(ValueError, match="either `executor` or `scheduler`"):
        simulate_capacity(**SWEEP, scheduler="local:2", executor=object(), progress=False)
    with executor_for(None, jobs=3) as executor:
        assert executor is None


def test_dask_is_imported_only_when_a_cluster_is_used():
    code = ("import sys, capacity.sweeps, capacity.simulate.sweep, capacity.cli; "
            "assert not {'dask', 'distributed'} & set(sys.modules), sorted(sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_missing_dask_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` now raises ImportError
    with pytest.raises(ImportError, match=r"pip install capacity\[dask\]"):
        with dask_executor("local:2"):
            pass  # pragma: no cover


def test_cli_missing_dask_is_one_line(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "distributed", None)
    code = cli.main(["simulate", "--d", "6", "--p", "10", "--trials", "1", "--store", str(tmp_path / "s.sqlite"),
                     "--scheduler", "local:2"])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "pip install capacity[dask]" in err and "Traceback" not in err


def test_unanswered_address_fails_in_bounded_time():
    pytest.importorskip("distributed")
    address = f"tcp://127.0.0.1:{free_port()}"  # nobody listens there
    with pytest.raises(ConnectionError) as info:
        with dask_executor(address, timeout=0.5):
            pass  # pragma: no cover
    msg = str(info.value)
    assert "\n" not in msg and address in msg and "0.5 s" in msg


def test_cli_unanswered_address_is_one_line(monkeypatch, tmp_path, capsys):
    pytest.importorskip("distributed")
    monkeypatch.setattr(executors_module, "DEFAULT_CONNECT_TIMEOUT", 0.5)
    address = f"tcp://127.0.0.1:{free_port()}"
    code = cli.main(["simulate", "--d", "6", "--p", "10", "--trials", "1", "--store", str(tmp_path / "s.sqlite"),
                     "--scheduler", address])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "--scheduler" in err and address in err and "Traceback" not in err


# ------------------------------------------------------------------ a real 2-worker LocalCluster (slow)
@pytest.mark.slow
def test_simulate_capacity_on_local_cluster_matches_jobs_1(tmp_path):
    pytest.importorskip("distributed")
    serial = simulate_capacity(**SWEEP, store=tmp_path / "serial.sqlite", progress=False)
    before = worker_processes()
    seen = set()

    def progress(done, total):  # runs in this process while the cluster is up
        seen.update(worker_processes() - before)

    dask = simulate_capacity(**SWEEP, store=tmp_path / "dask.sqlite", scheduler="local:2", progress=progress)
    assert len(seen) >= 2, "expected separate worker processes"
    assert_all_gone(seen)
    assert canon(dask.to_dict()) == canon(serial.to_dict())
    assert without_seconds(dask.records) == without_seconds(serial.records)
    with ResultsStore(tmp_path / "serial.sqlite") as a, ResultsStore(tmp_path / "dask.sqlite") as b:
        assert len(b) == len(SWEEP["ps"]) * SWEEP["trials"]
        assert sorted(b.keys()) == sorted(a.keys())
        assert all(without_seconds([b.get(key)]) == without_seconds([a.get(key)]) for key in a.keys())


@pytest.mark.slow
def test_cli_scheduler_local_matches_jobs_1_and_resumes(tmp_path, capsys):
    pytest.importorskip("distributed")
    argv = ["simulate", "--d", "6", "--p", "10:16:3", "--trials", "3", "--seed", "2", "--n-boot", "100", "--json"]
    assert cli.main([*argv, "--store", str(tmp_path / "serial.sqlite"), "--jobs", "1"]) == 0
    serial, _ = capsys.readouterr()
    before = worker_processes()
    code = cli.main([*argv, "--store", str(tmp_path / "dask.sqlite"), "--scheduler", "local:2"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(out) == json.loads(serial)
    assert not worker_processes() - before, "worker processes survived the command"
    with ResultsStore(tmp_path / "dask.sqlite") as store:
        assert len(store) == 9
    # a rerun on the cluster resumes from the store: the same output
    assert cli.main([*argv, "--store", str(tmp_path / "dask.sqlite"), "--scheduler", "local:2"]) == 0
    again, _ = capsys.readouterr()
    assert json.loads(again) == json.loads(serial)


@pytest.mark.slow
@pytest.mark.parametrize("exc_type", [RuntimeError, KeyboardInterrupt])
def test_cluster_is_shut_down_when_the_block_raises(exc_type, tmp_path):
    pytest.importorskip("distributed")
    before = worker_processes()
    tasks = [{"experiment": "test", "i": i, "seed": i, "log": str(tmp_path / "calls.log")} for i in range(4)]
    with pytest.raises(exc_type):
        with dask_executor("local:2") as executor:
            workers = worker_processes() - before
            out = run_sweep(helpers.value, tasks, executor=executor, progress=False)
            assert canon(out) == canon(run_sweep(helpers.value, tasks, progress=False))
            raise exc_type("stop")
    assert len(workers) >= 2
    assert_all_gone(workers)
