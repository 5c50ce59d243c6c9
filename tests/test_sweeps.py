"""The sweep engine loses nothing: store round trips, resume, kill -9, failures, executors.

Task functions live in ``tests/_sweep_helpers.py`` (pool and Dask workers import
them by name).  Execution counts come from a side channel: ``logged`` appends
the task's ``i`` to a log file named in the task, so "was this task executed
again?" is checked across processes, including one killed with SIGKILL.
Results are compared through their canonical JSON, which also checks that NaN
and infinities come back exactly.
"""
import json
import math
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import capacity
from capacity.sweeps import ResultsStore, SweepError, TrialRecord, run_sweep, task_key
from tests import _sweep_helpers as helpers

REPO_ROOT = Path(__file__).resolve().parents[1]


def canon(obj):
    return json.dumps(obj, sort_keys=True, allow_nan=True)


def make_tasks(tmp_path, n, **extra):
    log = str(tmp_path / "calls.log")
    return [{"experiment": "test", "i": i, "seed": 1000 + i, "log": log, **extra} for i in range(n)]


def expected(tasks):
    """An uninterrupted serial run without a store."""
    return run_sweep(helpers.value, tasks, progress=False)


# ------------------------------------------------------------------ store
def test_task_key_is_stable_and_order_free():
    a = {"d": 8, "kappa": 0.5, "seed": 3, "model": "decoupled"}
    b = {"seed": 3, "model": "decoupled", "kappa": 0.5, "d": 8}
    assert task_key(a) == task_key(b)
    assert len(task_key(a)) == 64
    # A fixed recipe: the key of a stored file must never change between versions.
    assert task_key({"d": 8, "seed": 0}) == __import__("hashlib").sha256(b'{"d":8,"seed":0}').hexdigest()
    assert task_key({"d": 8}) != task_key({"d": 9})
    assert task_key({"x": np.int64(3)}) == task_key({"x": 3})
    assert task_key({"x": float("nan")}) == task_key({"x": float("nan")})


def test_store_round_trip_and_idempotent_put(tmp_path):
    path = tmp_path / "results.sqlite"
    task = {"experiment": "p50", "kind": "lp", "d": 8, "p": 20, "seed": 1, "grid": (1, 2)}
    with ResultsStore(path) as store:
        assert len(store) == 0 and not store.has(task_key(task)) and store.get(task) is None
        assert store.put(task, {"feasible": True, "n": np.int64(3)}, seconds=0.25) is True
        assert store.put(dict(reversed(task.items())), {"feasible": False}, seconds=1.0) is False  # first kept
        assert len(store) == 1
        assert store.has(task_key(task)) and task in store
        assert store.get(task) == {"feasible": True, "n": 3}
        assert store.keys() == [task_key(task)]
        stored_task = {**task, "grid": [1, 2]}  # what JSON gives back
        assert list(store) == [(stored_task, {"feasible": True, "n": 3})]
        (record,) = store.records(experiment="p50", kind="lp")
        assert isinstance(record, TrialRecord)
        assert record.seconds == 0.25 and record.package_version == capacity.__version__
        assert record.created.endswith("+00:00")
        assert list(store.records(experiment="other")) == []
        assert json.loads(json.dumps(record.to_dict()))["key"] == task_key(task)
    assert store.closed
    with pytest.raises(ValueError, match="closed"):
        store.get(task)
    # A later process (here: a new connection) sees everything; the file is WAL.
    with ResultsStore(str(path)) as again:
        assert again.get(task) == {"feasible": True, "n": 3} and len(again) == 1
    con = sqlite3.connect(path)
    try:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert con.execute("SELECT experiment, kind FROM trials").fetchall() == [("p50", "lp")]
    finally:
        con.close()


def test_store_nan_and_inf_round_trip(tmp_path):
    path = tmp_path / "r.sqlite"
    task = {"kappa": float("inf"), "x": float("nan")}
    result = {"a": float("nan"), "b": float("inf"), "c": -float("inf"), "d": [1.5, float("nan")], "e": -0.0}
    with ResultsStore(path) as store:
        store.put(task, result)
    with ResultsStore(path) as store:
        got = store.get(task)
        ((got_task, _),) = store.items()
    assert math.isnan(got["a"]) and got["b"] == math.inf and got["c"] == -math.inf
    assert math.isnan(got["d"][1]) and math.copysign(1.0, got["e"]) == -1.0
    assert canon(got) == canon(result) and canon(got_task) == canon(task)


def test_store_rejects_bad_input(tmp_path):
    with pytest.raises(TypeError, match="`path`"):
        ResultsStore(3)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        ResultsStore(tmp_path / "missing" / "r.sqlite")
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(ValueError, match="not a usable results store"):
        ResultsStore(junk)
    with ResultsStore(":memory:") as store:
        with pytest.raises(TypeError, match="`task` must be a dict"):
            store.put([1], {})
        with pytest.raises(TypeError, match="`result` must be a JSON-serialisable dict"):
            store.put({"i": 1}, {"f": object()})
        with pytest.raises(ValueError, match="`seconds` must be finite and >= 0; got -1.0"):
            store.put({"i": 1}, {}, seconds=-1.0)
        assert len(store) == 0


# ----------------------------------------------------------------- runner
def test_run_sweep_serial_returns_task_order_and_dedupes(tmp_path):
    tasks = make_tasks(tmp_path, 4)
    calls = []
    out = run_sweep(helpers.logged, tasks + [dict(tasks[1])], progress=lambda d, t: calls.append((d, t)))
    assert canon(out) == canon(expected(tasks) + [expected(tasks)[1]])
    assert [r["i"] for r in out] == [0, 1, 2, 3, 1] and isinstance(out[0]["i"], int)
    assert helpers.read_log(tasks[0]["log"]) == {0: 1, 1: 1, 2: 1, 3: 1}  # the repeated task ran once
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]


def test_resume_computes_only_missing_tasks(tmp_path):
    tasks = make_tasks(tmp_path, 6)
    path = tmp_path / "results.sqlite"
    first = run_sweep(helpers.logged, tasks[:3], store=path, progress=False)
    calls = []
    with ResultsStore(path) as store:
        out = run_sweep(helpers.logged, tasks, store=store, progress=lambda d, t: calls.append((d, t)))
        assert len(store) == 6
        assert all(r.seconds >= 0 for r in store.records())
    assert helpers.read_log(tasks[0]["log"]) == {i: 1 for i in range(6)}
    assert calls == [(4, 6), (5, 6), (6, 6)]  # done counts the resumed ones
    assert canon(out) == canon(expected(tasks)) and canon(out[:3]) == canon(first)
    # Everything stored: a third run executes nothing.
    assert canon(run_sweep(helpers.logged, tasks, store=path, progress=False)) == canon(out)
    assert sum(helpers.read_log(tasks[0]["log"]).values()) == 6


def test_results_do_not_depend_on_jobs(tmp_path):
    tasks = make_tasks(tmp_path, 8)
    serial = run_sweep(helpers.value, tasks, store=tmp_path / "a.sqlite", jobs=1, progress=False)
    pooled = run_sweep(helpers.value, tasks, store=tmp_path / "b.sqlite", jobs=2, progress=False)
    assert canon(serial) == canon(pooled) == canon(expected(tasks))
    with ResultsStore(tmp_path / "a.sqlite") as a, ResultsStore(tmp_path / "b.sqlite") as b:
        assert canon(dict(zip(a.keys(), a))) == canon(dict(zip(b.keys(), b)))


def test_failing_task_keeps_others_and_is_retried_alone(tmp_path):
    flag = tmp_path / "fail"
    flag.write_text("")
    tasks = make_tasks(tmp_path, 5)
    tasks[2]["fail_flag"] = str(flag)
    path = tmp_path / "results.sqlite"
    with pytest.raises(SweepError, match=r"1 of 5 tasks failed(.|\n)*ValueError: task 2 told to fail") as info:
        run_sweep(helpers.logged, tasks, store=path, progress=False)
    err = info.value
    assert [task["i"] for task, _ in err.failures] == [2]
    assert isinstance(err.failures[0][1], ValueError)
    assert err.results[2] is None
    want = expected(tasks)
    assert canon([r for i, r in enumerate(err.results) if i != 2]) == canon(want[:2] + want[3:])
    with ResultsStore(path) as store:
        assert len(store) == 4 and not store.has(task_key(tasks[2]))
    flag.unlink()
    assert canon(run_sweep(helpers.logged, tasks, store=path, progress=False)) == canon(want)
    assert helpers.read_log(tasks[0]["log"]) == {0: 1, 1: 1, 2: 2, 3: 1, 4: 1}


def test_failures_without_a_store_and_unserialisable_results():
    tasks = [{"i": i} for i in range(3)]
    with pytest.raises(SweepError, match="3 of 3 tasks failed") as info:
        run_sweep(helpers.unserialisable, tasks, progress=False)
    assert info.value.results == [None, None, None]
    assert "JSON-serialisable" in str(info.value.failures[0][1])


def test_run_sweep_rejects_bad_arguments(tmp_path):
    with pytest.raises(TypeError, match="`fn` must be callable"):
        run_sweep(3, [])
    with pytest.raises(TypeError, match=r"`tasks\[1\]` must be a dict"):
        run_sweep(helpers.value, [{"i": 0, "seed": 0}, 5])
    with pytest.raises(TypeError, match="`tasks` must be a list of dicts"):
        run_sweep(helpers.value, {"i": 0})
    with pytest.raises(TypeError, match="`task` must be a JSON-serialisable dict"):
        run_sweep(helpers.value, [{"i": object()}])
    with pytest.raises(ValueError, match="`jobs` must be an integer >= 1; got 0"):
        run_sweep(helpers.value, [], jobs=0)
    with pytest.raises(TypeError, match="get_executor"):
        run_sweep(helpers.value, [], executor=object())
    with pytest.raises(TypeError, match="picklable"):
        run_sweep(lambda task: task, [{"i": 0}], jobs=2)
    with pytest.raises(TypeError, match="`progress`"):
        run_sweep(helpers.value, [], progress="yes")
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        with pytest.raises(ValueError, match="either `executor` or `jobs`"):
            run_sweep(helpers.value, [], executor=pool, jobs=2)
        # Any Executor works, also one whose workers share this process.
        tasks = make_tasks(tmp_path, 3)
        assert canon(run_sweep(helpers.value, tasks, executor=pool, progress=False)) == canon(expected(tasks))
    assert run_sweep(helpers.value, [], progress=False) == []


_KILLED_SWEEP = """
import json, sys
from capacity.sweeps import run_sweep
from tests._sweep_helpers import logged
with open(sys.argv[1]) as fh:
    tasks = json.load(fh)
run_sweep(logged, tasks, store=sys.argv[2], jobs=2, progress=False)
"""


@pytest.mark.slow
def test_sigkill_mid_sweep_loses_and_repeats_nothing(tmp_path):
    n = 20
    tasks = make_tasks(tmp_path, n, sleep=0.15)
    (tmp_path / "tasks.json").write_text(json.dumps(tasks))
    path = tmp_path / "results.sqlite"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILLED_SWEEP, str(tmp_path / "tasks.json"), str(path)],
        cwd=REPO_ROOT, env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20.0
        n_stored = 0
        while n_stored < 4:
            assert proc.poll() is None, f"sweep ended before the kill: {proc.stderr.read().decode()}"
            assert time.monotonic() < deadline, "sweep stored nothing within 20 s"
            time.sleep(0.02)
            if path.exists():
                con = sqlite3.connect(path, timeout=5.0)
                try:
                    n_stored = con.execute("SELECT COUNT(*) FROM trials").fetchone()[0]
                except sqlite3.OperationalError:  # tables not created yet
                    pass
                finally:
                    con.close()
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the parent and its pool workers
        proc.wait()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL

    with ResultsStore(path) as store:
        committed = {record.task["i"] for record in store.records()}
    assert 4 <= len(committed) < n
    started = helpers.read_log(tasks[0]["log"])

    out = run_sweep(helpers.logged, tasks, store=path, progress=False)

    assert canon(out) == canon(expected(tasks))
    with ResultsStore(path) as store:
        assert len(store) == n and sorted(store.keys()) == sorted(task_key(t) for t in tasks)
        assert sorted(task["i"] for task, _ in store) == list(range(n))
    calls = helpers.read_log(tasks[0]["log"])
    assert set(calls) == set(range(n))
    assert all(calls[i] == 1 for i in committed), "a task committed before the kill ran again"
    rerun = {i for i, c in calls.items() if c > 1}
    assert rerun <= set(started) - committed and all(c <= 2 for c in calls.values())


def test_dask_executor(tmp_path):
    distributed = pytest.importorskip("distributed")
    tasks = make_tasks(tmp_path, 6)
    flag = tmp_path / "fail"
    flag.write_text("")
    tasks[4]["fail_flag"] = str(flag)
    path = tmp_path / "results.sqlite"
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster, distributed.Client(cluster) as client:
        executor = client.get_executor()
        with pytest.raises(SweepError, match="1 of 6 tasks failed"):
            run_sweep(helpers.logged, tasks, store=path, executor=executor, progress=False)
        flag.unlink()
        out = run_sweep(helpers.logged, tasks, store=path, executor=executor, progress=False)
    assert canon(out) == canon(expected(tasks))
    assert helpers.read_log(tasks[0]["log"]) == {0: 1, 1: 1, 2: 1, 3: 1, 4: 2, 5: 1}


def test_progress_bar_only_when_asked_or_on_a_terminal(tmp_path, capsys):
    pytest.importorskip("tqdm")
    tasks = make_tasks(tmp_path, 3)
    run_sweep(helpers.value, tasks)  # stderr is captured, not a terminal: no bar
    assert capsys.readouterr() == ("", "")
    run_sweep(helpers.value, tasks, progress=True)
    out, err = capsys.readouterr()
    assert out == "" and "3/3" in err


def test_sweeps_know_no_physics():
    # the engine and the store import neither the simulator nor the theory (nor torch)
    import ast

    for path in Path(capacity.sweeps.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                names = [("." * node.level) + (node.module or "")]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for name in names:
                assert not any(part in ("simulate", "theory", "nets", "torch") for part in name.split(".")), (
                    f"{path.name} imports {name}")
