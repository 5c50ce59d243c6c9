"""Nothing left behind: pool workers die with their parent (kill -9, Ctrl-C), progress never breaks a sweep.

The process tests start a real sweep in a subprocess, wait until its pool
workers exist (found through /proc), end the parent and check that every
process it started is gone within 5 s.  They cover the Linux parent-death
signal alone (workers stuck in one C call that holds the GIL), the portable
watchdog thread alone (the signal disabled), the ``capacity simulate`` command,
and Ctrl-C.  The heartbeat tests shorten ``HEARTBEAT_SECONDS``.
"""
import io
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from capacity.sweeps import run_sweep, runner
from tests import _sweep_helpers as helpers

REPO_ROOT = Path(__file__).resolve().parents[1]
GRACE = 5.0  # seconds the workers get to disappear after their parent

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux") or not os.path.isdir("/proc"),
                                reason="finds processes through Linux's /proc")

_POOL_SCRIPT = """
import os, sys, concurrent.futures, multiprocessing
from capacity.sweeps import run_sweep
from tests import _sweep_helpers as helpers
if __name__ == "__main__":
    fn = getattr(helpers, sys.argv[1])
    if sys.argv[2] == "run_sweep":
        tasks = [{"i": i, "sleep": 60.0, "n": 60} for i in range(4)]
        run_sweep(fn, tasks, jobs=2, progress=False)
    else:  # a pool whose workers have only the watchdog thread
        pool = concurrent.futures.ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn"),
                                                      initializer=helpers.watchdog_only_init,
                                                      initargs=(os.getpid(),))
        futures = [pool.submit(fn, {"i": i, "sleep": 60.0}) for i in range(2)]
        concurrent.futures.wait(futures)
"""


def _start(argv, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    log = open(tmp_path / "stderr.txt", "wb")
    try:
        proc = subprocess.Popen(argv, cwd=REPO_ROOT, env=env, start_new_session=True,
                                stdout=subprocess.DEVNULL, stderr=log)
    finally:
        log.close()
    return proc


def _wait_for_workers(proc, tmp_path, n=2, timeout=120.0):
    """The parent's descendants once ``n`` spawned workers exist (and have had a moment to start their tasks)."""
    deadline = time.monotonic() + timeout
    while True:
        assert proc.poll() is None, f"the sweep ended early: {(tmp_path / 'stderr.txt').read_text()[-2000:]}"
        assert time.monotonic() < deadline, f"no {n} pool workers within {timeout:.0f} s"
        workers = [pid for pid in helpers.descendants(proc.pid) if _is_worker(pid)]
        if len(workers) >= n:
            time.sleep(1.0)  # let the workers import and take a task
            return helpers.descendants(proc.pid)
        time.sleep(0.1)


def _is_worker(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return b"spawn_main" in fh.read()
    except OSError:
        return False


def _assert_all_gone(pids):
    """Every pid in ``pids`` ends within GRACE seconds; otherwise kill them (no leftovers) and fail."""
    deadline = time.monotonic() + GRACE
    while helpers.alive(pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = helpers.alive(pids)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    assert not left, f"processes still running {GRACE:.0f} s after their parent ended: {left}"


def _kill9_leaves_nothing(argv, tmp_path):
    proc = _start(argv, tmp_path)
    started = []
    try:
        started = _wait_for_workers(proc, tmp_path)
        proc.kill()  # SIGKILL: the parent runs no cleanup at all
        proc.wait(10.0)
        assert proc.returncode == -signal.SIGKILL
        _assert_all_gone(started)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in helpers.alive(started):
            os.kill(pid, signal.SIGKILL)


@linux_only
@pytest.mark.slow
def test_kill9_of_the_parent_ends_workers_that_hold_the_gil(tmp_path):
    # each worker is inside one regular-expression call that never returns: only the kernel's signal ends it
    _kill9_leaves_nothing([sys.executable, "-c", _POOL_SCRIPT, "gil_bound", "run_sweep"], tmp_path)


@linux_only
@pytest.mark.slow
def test_kill9_of_the_parent_ends_workers_through_the_watchdog_alone(tmp_path):
    _kill9_leaves_nothing([sys.executable, "-c", _POOL_SCRIPT, "sleepy", "watchdog"], tmp_path)


@linux_only
@pytest.mark.slow
def test_kill9_of_capacity_simulate_leaves_no_process(tmp_path):
    argv = [sys.executable, "-m", "capacity", "simulate", "--model", "decoupled", "--d", "16", "--p", "60:80:2",
            "--trials", "40", "--jobs", "2", "--no-store"]
    _kill9_leaves_nothing(argv, tmp_path)


@linux_only
@pytest.mark.slow
@pytest.mark.parametrize("group", [False, True], ids=["parent-only", "terminal"])
def test_ctrl_c_stops_the_pool_at_once(tmp_path, group):
    # SIGINT to the parent alone (`kill -INT`) or to the whole process group (a terminal's Ctrl-C): the
    # parent must not wait for the 60 s tasks, must leave no worker behind, and the workers print nothing
    proc = _start([sys.executable, "-c", _POOL_SCRIPT, "sleepy", "run_sweep"], tmp_path)
    started = []
    try:
        started = _wait_for_workers(proc, tmp_path)
        if group:
            os.killpg(proc.pid, signal.SIGINT)
        else:
            os.kill(proc.pid, signal.SIGINT)
        proc.wait(20.0)
        assert proc.returncode not in (0, -signal.SIGKILL)
        stderr = (tmp_path / "stderr.txt").read_text()
        assert stderr.count("Traceback") == 1 and stderr.rstrip().endswith("KeyboardInterrupt"), stderr
        _assert_all_gone(started)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in helpers.alive(started):
            os.kill(pid, signal.SIGKILL)


# ----------------------------------------------------------------------------- heartbeat
_BEAT = re.compile(r"sweep: (\d+)/(\d+) done, [0-9.e+]+/s, ETA (\d+s|\d+m\d\ds|\d+h\d\dm|unknown)")
_FINAL = re.compile(r"sweep: (\d+)/(\d+) done in (\d+s|\d+m\d\ds|\d+h\d\dm), [0-9.e+]+/s")


def _tasks(n, sleep):
    return [{"i": i, "sleep": sleep} for i in range(n)]


def test_heartbeat_lines_on_stderr_when_not_a_terminal(monkeypatch, capsys):
    monkeypatch.setattr(runner, "HEARTBEAT_SECONDS", 0.05)
    out = run_sweep(helpers.sleepy, _tasks(8, 0.03))
    assert out == [{"i": i} for i in range(8)]
    stdout, stderr = capsys.readouterr()
    lines = stderr.splitlines()
    assert stdout == "" and len(lines) >= 2
    assert all(_BEAT.fullmatch(line) for line in lines[:-1]), lines
    assert all(int(_BEAT.fullmatch(line).group(2)) == 8 for line in lines[:-1])
    final = _FINAL.fullmatch(lines[-1])
    assert final is not None and final.group(1, 2) == ("8", "8"), lines[-1]


def test_no_heartbeat_for_short_runs_or_when_silenced(monkeypatch, capsys):
    run_sweep(helpers.sleepy, _tasks(3, 0.0))  # far shorter than 30 s: nothing at all
    assert capsys.readouterr() == ("", "")
    monkeypatch.setattr(runner, "HEARTBEAT_SECONDS", 0.01)
    run_sweep(helpers.sleepy, _tasks(4, 0.03), progress=False)
    assert capsys.readouterr() == ("", "")


def test_progress_true_off_a_terminal_prints_the_final_line(capsys):
    run_sweep(helpers.sleepy, _tasks(3, 0.0), progress=True)
    stdout, stderr = capsys.readouterr()
    assert stdout == "" and len(stderr.splitlines()) == 1
    assert _FINAL.fullmatch(stderr.strip()).group(1, 2) == ("3", "3")


class _BrokenStderr(io.TextIOBase):
    def __init__(self, exc):
        self.exc, self.writes = exc, 0

    def isatty(self):
        return False

    def write(self, text):
        self.writes += 1
        raise self.exc


@pytest.mark.parametrize("exc", [BrokenPipeError(32, "Broken pipe"), ValueError("I/O operation on closed file")])
def test_a_broken_or_closed_stderr_does_not_stop_the_sweep(monkeypatch, exc):
    monkeypatch.setattr(runner, "HEARTBEAT_SECONDS", 0.02)
    broken = _BrokenStderr(exc)
    monkeypatch.setattr(sys, "stderr", broken)
    out = run_sweep(helpers.sleepy, _tasks(6, 0.03), progress=True)
    assert out == [{"i": i} for i in range(6)]
    assert broken.writes == 1  # tried once, then stayed quiet


def test_closed_stderr_object_does_not_stop_the_sweep(monkeypatch):
    monkeypatch.setattr(runner, "HEARTBEAT_SECONDS", 0.02)
    closed = io.StringIO()
    closed.close()
    monkeypatch.setattr(sys, "stderr", closed)
    assert run_sweep(helpers.sleepy, _tasks(4, 0.03)) == [{"i": i} for i in range(4)]
    monkeypatch.setattr(sys, "stderr", None)
    assert run_sweep(helpers.sleepy, _tasks(4, 0.03), progress=True) == [{"i": i} for i in range(4)]


def test_durations_read_like_a_clock():
    assert [runner._duration(s) for s in (0.4, 45, 80, 3599, 3600, 7500)] == \
        ["0s", "45s", "1m20s", "59m59s", "1h00m", "2h05m"]
