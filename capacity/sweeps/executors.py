"""Executors for :func:`~capacity.sweeps.run_sweep`: a local process pool and Dask clusters (docs/simulator.md §7).

:func:`process_pool` is the pool ``run_sweep(..., jobs=N)`` uses: ``spawn``
workers that die with the process that started them, even when it is killed
with ``kill -9`` (Linux: the kernel's parent-death signal; elsewhere, and as a
second line, a watchdog thread that notices the parent is gone), and
:func:`stop_process_pool` ends one at once on Ctrl-C or an error.

``scheduler`` names where the tasks run: ``"local:N"`` starts a
``dask.distributed.LocalCluster`` of N single-threaded worker processes on this
machine for the duration of the sweep; any other value is the address of a
running Dask scheduler (``"tcp://host:8786"``), e.g. one started by
``dask-scheduler`` or by ``dask_jobqueue.SLURMCluster``.  Either way the sweep
sees a plain ``concurrent.futures.Executor`` (``Client.get_executor()``) and the
results store stays with the calling process, which alone writes to it.

Dask is optional (``pip install capacity[dask]``) and imported only when a
cluster is actually used; :func:`check_scheduler` validates a value without it.
"""
import concurrent.futures
import contextlib
import logging
import multiprocessing
import os
import re
import signal
import sys
import threading
import time

from .._validation import check_int

__all__ = ["DEFAULT_CONNECT_TIMEOUT", "check_scheduler", "dask_executor", "executor_for", "process_pool",
           "sigint_blocked", "stop_process_pool"]

DEFAULT_CONNECT_TIMEOUT = 10.0
"""Seconds to wait for a scheduler address to answer before giving up."""

_LOCAL = re.compile(r"local:(\d+)")
# protocol://host:port, with host a name, an IPv4 address or a bracketed IPv6 address
_ADDRESS = re.compile(r"(tcp|tls|ws|wss|ucx)://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})")
_FORMS = ('"local:N" (start N local worker processes, N >= 1) or the address of a running Dask scheduler '
          'such as "tcp://host:8786"')


def check_scheduler(scheduler):
    """Validate a scheduler string and say what it asks for.

    Parameters
    ----------
    scheduler : str
        ``"local:N"`` with an integer N >= 1, or a scheduler address
        ``protocol://host:port`` (protocol ``tcp``, ``tls``, ``ws``, ``wss`` or
        ``ucx``; port 1-65535).

    Returns
    -------
    tuple
        ``("local", N)`` or ``("address", scheduler)``.

    Raises
    ------
    TypeError
        If ``scheduler`` is not a string.
    ValueError
        If it has neither form; the message names both.

    Examples
    --------
    >>> check_scheduler("local:2")
    ('local', 2)
    >>> check_scheduler("tcp://10.0.0.5:8786")
    ('address', 'tcp://10.0.0.5:8786')
    """
    if not isinstance(scheduler, str):
        raise TypeError(f"`scheduler` must be a string, {_FORMS}; got {scheduler!r} of type "
                        f"{type(scheduler).__name__}")
    local = _LOCAL.fullmatch(scheduler)
    if local is not None and int(local.group(1)) >= 1:
        return "local", int(local.group(1))
    address = _ADDRESS.fullmatch(scheduler)
    if address is not None and 1 <= int(address.group(3)) <= 65535:
        return "address", scheduler
    raise ValueError(f"`scheduler` must be {_FORMS}; got {scheduler!r}")


def _import_distributed():
    try:
        import distributed
    except ImportError as exc:
        raise ImportError(f"a Dask `scheduler` needs dask.distributed: pip install capacity[dask] ({exc})") from None
    return distributed


def _one_line(exc):
    return " ".join(str(exc).split()) or type(exc).__name__


@contextlib.contextmanager
def dask_executor(scheduler, *, timeout=None):
    """A ``concurrent.futures.Executor`` on a Dask cluster, closed again on exit.

    Parameters
    ----------
    scheduler : str
        ``"local:N"``: start a ``LocalCluster`` of N worker processes, one
        thread each, no dashboard, on 127.0.0.1, for the duration of the
        ``with`` block.  Otherwise the address of a running scheduler
        (``"tcp://host:8786"``) to connect to (see :func:`check_scheduler`).
    timeout : float, optional
        Seconds to wait for the scheduler to answer (and for closing);
        default :data:`DEFAULT_CONNECT_TIMEOUT` (10).

    Yields
    ------
    concurrent.futures.Executor
        ``Client.get_executor()``; pass it as ``executor`` to
        :func:`~capacity.sweeps.run_sweep`.

    Raises
    ------
    ValueError, TypeError
        From :func:`check_scheduler`, before anything is imported or started.
    ImportError
        If dask.distributed is missing (``pip install capacity[dask]``).
    ConnectionError
        If the scheduler at the address does not answer within ``timeout``
        seconds (a one-line message naming the address).

    Notes
    -----
    On leaving the block -- normally, by an exception or by Ctrl-C -- the
    client is closed and a cluster started here is shut down with its worker
    processes.  The client is not made Dask's default scheduler.  Workers
    started with ``local:N`` are spawned, so a script using it needs the usual
    ``if __name__ == "__main__":`` guard; Dask gives each one BLAS thread.
    Workers of a remote scheduler must have ``capacity`` (the same version)
    installed, since tasks are sent to them by name.

    Examples
    --------
    >>> from capacity.sweeps import run_sweep
    >>> with dask_executor("local:2") as executor:  # doctest: +SKIP
    ...     run_sweep(fn, tasks, store="results.sqlite", executor=executor)
    """
    kind, value = check_scheduler(scheduler)
    timeout = float(DEFAULT_CONNECT_TIMEOUT if timeout is None else timeout)
    if not timeout > 0:
        raise ValueError(f"`timeout` must be > 0 seconds; got {timeout!r}")
    distributed = _import_distributed()
    with contextlib.ExitStack() as stack:
        if kind == "local":
            cluster = distributed.LocalCluster(
                n_workers=value, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None,
                silence_logs=logging.WARNING,
                # the scheduler's HTTP server (health routes) starts even without a dashboard; on a free
                # port, so that two clusters on one machine do not collide (and warn) at 8787
                scheduler_kwargs={"dashboard_address": "127.0.0.1:0"})
            stack.callback(cluster.close, timeout=timeout)
            address = cluster
        else:
            address = value
        try:
            client = distributed.Client(address, timeout=timeout, set_as_default=False)
        except OSError as exc:  # distributed reports "Timed out trying to connect" as an OSError
            raise ConnectionError(f"no Dask scheduler answered at {scheduler!r} within "
                                  f"{timeout:g} s ({_one_line(exc)})") from None
        stack.callback(client.close, timeout=timeout)
        yield client.get_executor()


@contextlib.contextmanager
def executor_for(scheduler=None, *, jobs=1, timeout=None):
    """The executor for a sweep given ``jobs`` or ``scheduler``: ``None`` or a Dask executor.

    A helper for functions that offer both options: with ``scheduler=None``
    it yields ``None`` (so :func:`~capacity.sweeps.run_sweep` uses ``jobs``
    itself); otherwise it validates that ``jobs == 1`` and yields
    :func:`dask_executor`'s executor.  Either way pass both on::

        with executor_for(scheduler, jobs=jobs) as executor:
            run_sweep(fn, tasks, executor=executor, jobs=jobs)

    Parameters
    ----------
    scheduler : str, optional
        ``None``, ``"local:N"`` or a scheduler address (:func:`dask_executor`).
    jobs : int, default 1
        Worker processes of a local pool; must be 1 with ``scheduler``.
    timeout : float, optional
        Passed to :func:`dask_executor`.

    Raises
    ------
    ValueError
        If both ``jobs > 1`` and ``scheduler`` are given, or ``scheduler`` is
        malformed (checked before anything starts).
    """
    jobs = check_int("jobs", jobs, low=1)
    if scheduler is None:
        yield None
        return
    check_scheduler(scheduler)
    if jobs != 1:
        raise ValueError(f"pass either `jobs` or `scheduler`, not both; got jobs={jobs} and "
                         f"scheduler={scheduler!r} (the scheduler's workers set the parallelism)")
    with dask_executor(scheduler, timeout=timeout) as executor:
        yield executor


# ------------------------------------------------------------------ local process pool
WATCHDOG_INTERVAL = 0.5
"""Seconds between a pool worker's checks that the process that started it is still alive."""

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _set_parent_death_signal():
    """Linux: have the kernel SIGKILL this process when its parent dies.  Whether it worked."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
    except (OSError, AttributeError, TypeError):
        return False


def _watch_parent(parent_pid, interval):
    """Exit this process as soon as its parent is no longer ``parent_pid`` (it died; we were re-parented)."""
    while True:
        time.sleep(interval)
        if os.getppid() != parent_pid:
            os._exit(1)


def _worker_init(parent_pid):
    """Initializer of :func:`process_pool` workers: die with the parent, however it ends; ignore Ctrl-C.

    A terminal's Ctrl-C reaches the whole process group; the parent alone
    handles it (and stops the workers), so workers print no tracebacks.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):  # blocked by `sigint_blocked` while this worker started
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    _set_parent_death_signal()
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent_pid, WATCHDOG_INTERVAL), name="capacity-parent-watchdog",
                     daemon=True).start()


@contextlib.contextmanager
def sigint_blocked():
    """Block SIGINT in the calling thread while pool workers are started (POSIX).

    Workers inherit the blocked signal, so a Ctrl-C while one is still
    importing stays pending until its initializer ignores it (no traceback from
    a half-started worker).  This process still gets it: another of its
    threads takes the signal and the main thread raises ``KeyboardInterrupt``.
    """
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def process_pool(jobs):
    """A ``ProcessPoolExecutor`` of ``jobs`` ``spawn`` workers that exit when this process dies.

    Each worker arms Linux's parent-death signal (``PR_SET_PDEATHSIG``, SIGKILL)
    and runs a watchdog thread that exits when its parent process changes, so a
    parent killed with ``kill -9`` leaves no worker behind (within about
    :data:`WATCHDOG_INTERVAL` seconds where the signal is not available and the
    worker's task lets the thread run).  Workers ignore SIGINT: on Ctrl-C the
    caller stops the pool with :func:`stop_process_pool`; otherwise it shuts it
    down as usual.
    """
    jobs = check_int("jobs", jobs, low=1)
    return concurrent.futures.ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"),
                                                  initializer=_worker_init, initargs=(os.getpid(),))


def stop_process_pool(pool, timeout=5.0):
    """Stop ``pool`` now: cancel the tasks not started and terminate the workers (Ctrl-C, an error).

    Tasks running in the workers are abandoned; waits at most about ``timeout``
    seconds for the workers to go (then kills them).
    """
    processes = [p for p in dict(getattr(pool, "_processes", None) or {}).values() if p is not None]
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        with contextlib.suppress(Exception):
            process.terminate()
    deadline = time.monotonic() + timeout
    for process in processes:
        with contextlib.suppress(Exception):
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join(1.0)
