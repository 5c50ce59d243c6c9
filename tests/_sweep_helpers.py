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
