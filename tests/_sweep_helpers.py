"""Picklable task functions for tests/test_sweeps.py.

Pool workers and Dask workers import these by name, so they live in a module
rather than in the test file.  ``logged`` leaves a side channel: each call
appends the task's ``"i"`` to the file named by ``task["log"]``, which is how
the tests count how often each task was executed (across processes).
"""
import os
import time

import numpy as np


def value(task):
    """A deterministic function of the task (random draws from ``task["seed"]``), with NumPy types."""
    rng = np.random.default_rng(task["seed"])
    return {
        "i": np.int64(task["i"]),
        "y": task["i"] ** 2 + rng.standard_normal(),
        "draws": rng.integers(0, 100, size=3),
        "tail": float("inf") if task["i"] % 3 == 0 else float("nan"),
    }


def logged(task):
    """Log the call, sleep ``task["sleep"]`` s, fail if the file ``task["fail_flag"]`` exists, return ``value``."""
    fd = os.open(task["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{task['i']}\n".encode())  # one short O_APPEND write: atomic across processes
    finally:
        os.close(fd)
    time.sleep(task.get("sleep", 0.0))
    flag = task.get("fail_flag")
    if flag is not None and os.path.exists(flag):
        raise ValueError(f"task {task['i']} told to fail")
    return value(task)


def unserialisable(task):
    """A result the store cannot hold."""
    return {"i": task["i"], "obj": object()}


def read_log(path):
    """How many times each task ``i`` was executed, as a dict."""
    counts = {}
    if os.path.exists(path):
        with open(path) as fh:
            for line in fh:
                counts[int(line)] = counts.get(int(line), 0) + 1
    return counts


# ------------------------------------------------------------------ process hygiene and permissions
def sleepy(task):
    """Sleep ``task["sleep"]`` seconds (the GIL is released: a watchdog thread can run)."""
    time.sleep(task["sleep"])
    return {"i": task["i"]}


def gil_bound(task):
    """Hold the GIL for a long time in one C call (a regular expression that backtracks exponentially).

    While it runs no other thread of the worker runs, so only the kernel's
    parent-death signal can end the worker.
    """
    import re

    re.match(r"(a+)+$", "a" * task["n"] + "b")
    return {"i": task["i"]}


def watchdog_only_init(parent_pid):
    """The pool-worker initializer with the parent-death signal disabled (the portable fallback alone)."""
    from capacity.sweeps import executors

    executors._set_parent_death_signal = lambda: False
    executors._worker_init(parent_pid)


def descendants(pid):
    """PIDs of the living (non-zombie) descendants of ``pid``, from /proc (Linux)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if fields[0] != "Z":
            parents.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        children = parents.get(todo.pop(), [])
        found.extend(children)
        todo.extend(children)
    return found


def alive(pids):
    """Those of ``pids`` that are still running (neither gone nor zombies)."""
    living = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        if stat[stat.rindex(")") + 2:].split()[0] not in ("Z", "X"):
            living.append(pid)
    return living


def without_file_privileges():
    """A ``preexec_fn`` under which file permissions apply to the child, or ``None`` if they already do.

    A superuser's child keeps its user id but loses the capabilities that
    override file permissions (``CAP_DAC_OVERRIDE``, ``CAP_DAC_READ_SEARCH``,
    dropped from the bounding set before ``exec``), so a folder or file without
    write permission really cannot be written.  Check it worked with
    :func:`privileges_dropped`.
    """
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return None

    def drop():
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        for cap in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
            if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
                raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")

    return drop


def privileges_dropped(folder):
    """Whether a child started with :func:`without_file_privileges` is refused writing into ``folder`` (0o555)."""
    import subprocess
    import sys

    probe = os.path.join(folder, "probe")
    os.makedirs(probe, exist_ok=True)
    os.chmod(probe, 0o555)
    try:
        code = "import sys, os\ntry:\n    open(os.path.join(sys.argv[1], 'x'), 'w')\nexcept PermissionError:\n" \
               "    sys.exit(3)\n"
        done = subprocess.run([sys.executable, "-c", code, probe], preexec_fn=without_file_privileges(),
                              capture_output=True, timeout=60)
        return done.returncode == 3
    except (OSError, subprocess.SubprocessError):
        return False
    finally:
        os.chmod(probe, 0o755)
