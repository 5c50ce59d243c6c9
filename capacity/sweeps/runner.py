"""Run a function over a list of tasks on any executor, committing each result at once.

The engine knows no physics: a sweep is a picklable function ``fn(task) ->
result`` and a list of task dicts that carry everything ``fn`` needs (all
parameters and the seed).  Results therefore do not depend on where or in which
order tasks run, and a sweep is resumed by running it again (docs/simulator.md
§7).
"""
import concurrent.futures
import contextlib
import json
import os
import pickle
import sys
import threading
import time
import uuid

from .._validation import check_int
from ..exceptions import CapacityError, StoreError
from .executors import process_pool, sigint_blocked, stop_process_pool
from .store import ResultsStore, _normalise, task_key

__all__ = ["HEARTBEAT_SECONDS", "run_sweep", "SweepError"]

_MAX_LISTED_FAILURES = 5


class SweepError(CapacityError, RuntimeError):
    """Some tasks of a sweep raised; every other result was kept.

    Attributes
    ----------
    failures : list of (dict, BaseException)
        Each failed task (as passed to ``fn``) with the exception it raised.
    results : list of dict or None
        One entry per task, in task order; ``None`` for the failed ones.  (With a
        store the successful results are also in the store, so running the
        sweep again computes only the failed tasks.)
    """

    def __init__(self, message, failures=(), results=()):
        super().__init__(message)
        self.failures = list(failures)
        self.results = list(results)


def _timed_call(fn, task, submission=None):
    """Run one task where the executor puts it; return (result as stored, seconds).

    ``submission`` is ignored: a fresh token per submission keeps executors that
    memoise calls by their arguments (Dask's ``get_executor()`` submits with
    ``pure=True``) from handing back a stored failure when a task is retried.
    """
    start = time.perf_counter()
    result = fn(task)
    seconds = time.perf_counter() - start
    return _normalise("result", result), seconds


HEARTBEAT_SECONDS = 30.0
"""Without a terminal, seconds between heartbeat lines on stderr (and before the first one)."""


def _duration(seconds):
    """``45s``, ``1m20s``, ``2h05m``."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class _Progress:
    """Reports ``(done, total)`` to a callable, a tqdm bar or heartbeat lines on stderr.

    ``progress``: a callable; ``False`` (nothing); ``None`` (a bar on a terminal,
    else heartbeats once the run has lasted :data:`HEARTBEAT_SECONDS`, and a
    final line only if one was printed); ``True`` (a bar on a terminal, else
    heartbeats and always a final line).  A closed or broken stderr silences it.
    """

    def __init__(self, progress, done, total):
        self._callback = self._bar = self._thread = None
        self.done, self.total, self._resumed = done, total, done
        self._start = time.monotonic()
        self._beats = 0
        self._always_final = progress is True
        self._write_lock = threading.Lock()
        self._stop = threading.Event()
        if callable(progress) and not isinstance(progress, bool):
            self._callback = progress
            return
        if progress is False or done >= total:
            self._always_final = False
            return
        if _stderr_is_tty():
            try:
                from tqdm import tqdm

                self._bar = tqdm(total=total, initial=done, unit="trial", desc="sweep", file=sys.stderr)
                self._always_final = False  # the bar says it
                return
            except ImportError:
                pass
            except (OSError, ValueError):  # stderr closed or broken
                return
        self._thread = threading.Thread(target=self._beat, name="capacity-sweep-heartbeat", daemon=True)
        self._thread.start()

    def _line(self, final=False):
        elapsed = time.monotonic() - self._start
        fresh = self.done - self._resumed
        rate = fresh / elapsed if elapsed > 0 else 0.0
        shown = f"{rate:.0f}" if rate >= 100 else f"{rate:.2g}"
        if final:
            return f"sweep: {self.done}/{self.total} done in {_duration(elapsed)}, {shown}/s"
        eta = _duration((self.total - self.done) / rate) if rate > 0 else "unknown"
        return f"sweep: {self.done}/{self.total} done, {shown}/s, ETA {eta}"

    def _write(self, line):
        with self._write_lock:
            stream = sys.stderr
            if stream is None:
                return False
            try:
                stream.write(line + "\n")
                stream.flush()
                return True
            except (OSError, ValueError):  # BrokenPipeError, a closed file: stay quiet
                self._always_final = False
                self._stop.set()
                return False

    def _beat(self):
        while not self._stop.wait(HEARTBEAT_SECONDS):
            if self._write(self._line()):
                self._beats += 1

    def step(self):
        self.done += 1
        if self._callback is not None:
            self._callback(self.done, self.total)
        if self._bar is not None:
            try:
                self._bar.update(1)
            except (OSError, ValueError):
                self._bar = None

    def close(self):
        if self._bar is not None:
            with contextlib.suppress(OSError, ValueError):
                self._bar.close()
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            if self._beats or self._always_final:
                self._write(self._line(final=True))
        elif self._always_final:
            self._write(self._line(final=True))


_BLAS_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
                     "NUMEXPR_NUM_THREADS")


@contextlib.contextmanager
def _single_threaded_blas():
    """One BLAS thread per pool worker (variables the user set are kept).

    Workers inherit the environment when they are spawned; without this, every
    worker starts a BLAS thread per core and the busy-waiting threads of ``jobs``
    processes oversubscribe the machine (measured: 15-25x slower d = 32 trials
    with ``jobs=2`` on 2 cores).
    """
    saved = {k: os.environ.get(k) for k in _BLAS_THREAD_VARS}
    for k, v in saved.items():
        if v is None:
            os.environ[k] = "1"
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)


def _stderr_is_tty():
    try:
        return sys.stderr is not None and sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def _run_sweep_iv(fn, tasks, store, executor, jobs, progress):
    if not callable(fn):
        raise TypeError(f"`fn` must be callable; got {fn!r} of type {type(fn).__name__}")
    if isinstance(tasks, (str, bytes, dict)) or not hasattr(tasks, "__iter__"):
        raise TypeError(f"`tasks` must be a list of dicts; got {type(tasks).__name__}")
    tasks = list(tasks)
    for i, task in enumerate(tasks):
        if not isinstance(task, dict):
            raise TypeError(f"`tasks[{i}]` must be a dict; got {task!r} of type {type(task).__name__}")
    if store is not None and not isinstance(store, (ResultsStore, str, os.PathLike)):
        raise TypeError(f"`store` must be a ResultsStore, a path or None; got {store!r}")
    if executor is not None and not isinstance(executor, concurrent.futures.Executor):
        raise TypeError(
            f"`executor` must be a concurrent.futures.Executor or None; got {executor!r} "
            "(for Dask pass `client.get_executor()`, not the client)"
        )
    jobs = check_int("jobs", jobs, low=1)
    if executor is not None and jobs != 1:
        raise ValueError(f"pass either `executor` or `jobs`, not both; got jobs={jobs} and an executor")
    if not (progress is None or isinstance(progress, bool) or callable(progress)):
        raise TypeError(f"`progress` must be None, a bool or a callable(done, total); got {progress!r}")
    if executor is None and jobs > 1:
        try:
            pickle.dumps(fn)
        except Exception as exc:
            raise TypeError(
                f"`fn` must be picklable (a module-level function) when jobs > 1; got {fn!r} ({exc})"
            ) from None
    return fn, tasks, jobs


def run_sweep(fn, tasks, *, store=None, executor=None, jobs=1, progress=None):
    """Compute ``fn(task)`` for every task, resuming from and committing to ``store``.

    Parameters
    ----------
    fn : callable
        ``fn(task: dict) -> dict``, JSON-serialisable result.  It must get
        everything from the task (randomness from a seed in the task), so that
        results do not depend on ``jobs`` or the executor.  Must be picklable (a
        module-level function) unless the sweep runs serially in-process.
    tasks : list of dict
        JSON-serialisable tasks.  Tasks are identified by :func:`task_key`;
        repeated tasks are computed once.
    store : ResultsStore, str or os.PathLike, optional
        Where results are committed.  Tasks already stored are not recomputed.
        A path is opened (created if missing) and closed again.  Without a
        store nothing persists.
    executor : concurrent.futures.Executor, optional
        Runs the tasks, e.g. ``dask.distributed.Client(...).get_executor()``.
        The caller owns it (it is not shut down here).
    jobs : int, default 1
        Without ``executor``: 1 runs the tasks serially in this process; more
        creates a ``ProcessPoolExecutor(jobs)`` (``spawn`` start method) for
        this sweep.  Not allowed together with ``executor``.
    progress : None, bool or callable, optional
        ``None``: a tqdm bar if stderr is a terminal; otherwise, once the run
        has lasted :data:`HEARTBEAT_SECONDS` (30), a line on stderr every 30 s
        (``sweep: 12/40 done, 0.35/s, ETA 1m20s``) and a final one after.
        ``True``: the same, with the final line always printed off a terminal.
        ``False``: nothing.  A callable: called as ``progress(done, total)``
        after each task finishes or fails, where ``total`` counts distinct
        tasks and ``done`` includes those resumed from the store.  A closed or
        broken stderr never stops the sweep.

    Returns
    -------
    list of dict
        The result of each task, in task order, exactly as stored (a JSON round
        trip: tuples become lists, NumPy scalars Python numbers), whether it was
        computed now or read from the store.

    Raises
    ------
    StoreError
        Before any task runs, if ``store`` cannot be used (see
        :class:`ResultsStore`), or is open read-only and lacks some tasks;
        during the sweep, if SQLite cannot write a result.
    SweepError
        After all tasks ran, if any raised: it lists the failed tasks and their
        exceptions; nothing was stored for them and every other result was
        committed, so running the sweep again retries only the failures.

    Notes
    -----
    Results are written by this (the calling) process as each task completes
    -- one writer, one transaction per result -- so an interrupted sweep loses
    at most the tasks that were running.  ``fn`` receives the task as it will
    be stored (see Returns); ``seconds`` in the store is the wall time of
    ``fn`` where it ran.  With ``jobs > 1`` workers are started with
    ``spawn``, so a script calling ``run_sweep`` needs the usual
    ``if __name__ == "__main__":`` guard.  On Ctrl-C the tasks not yet started
    are cancelled (and pool workers terminated); a task raising
    ``KeyboardInterrupt`` or ``SystemExit`` stops the sweep the same way
    instead of counting as a failure.  Pool workers exit when this process
    dies, even by ``kill -9`` (:func:`~capacity.sweeps.executors.process_pool`).

    Examples
    --------
    >>> run_sweep(lambda task: {"y": task["x"] ** 2}, [{"x": 1}, {"x": 2}, {"x": 1}])
    [{'y': 1}, {'y': 4}, {'y': 1}]
    """
    fn, tasks, jobs = _run_sweep_iv(fn, tasks, store, executor, jobs, progress)
    own_store = store is not None and not isinstance(store, ResultsStore)
    if own_store:
        store = ResultsStore(store)
    try:
        return _run(fn, tasks, store, executor, jobs, progress)
    finally:
        if own_store:
            store.close()


def _run(fn, tasks, store, executor, jobs, progress):
    keys = [task_key(task) for task in tasks]
    unique = {}  # key -> task as stored, first occurrence order
    for key, task in zip(keys, tasks):
        if key not in unique:
            unique[key] = _normalise("task", task)
    results = {}
    if store is not None:
        for key in unique:
            result = store.get(key)
            if result is not None:
                results[key] = result
    pending = [key for key in unique if key not in results]
    if pending and store is not None and store.readonly:
        raise StoreError(f"`store` {store.path!r} was opened read-only, but {len(pending)} of the {len(unique)} "
                         "tasks are not stored in it; open it for writing to compute them")
    failures = {}
    reporter = _Progress(progress, len(results), len(unique))

    def finish(key, future_or_call):
        try:
            result, seconds = future_or_call()
        except Exception as exc:  # a failed task: record nothing, go on
            failures[key] = exc
        else:
            if store is not None:
                store.put(unique[key], result, seconds)
            results[key] = result
        reporter.step()

    try:
        if not pending:
            pass
        elif executor is None and jobs == 1:
            for key in pending:
                finish(key, lambda: _timed_call(fn, unique[key]))
        elif executor is None:
            with _single_threaded_blas():
                pool = process_pool(jobs)
                try:
                    _run_on(pool, fn, unique, pending, finish, submitting=sigint_blocked)
                except BaseException:  # Ctrl-C or a store error: no worker left running
                    stop_process_pool(pool)
                    raise
                pool.shutdown(wait=True)
        else:
            _run_on(executor, fn, unique, pending, finish)
    finally:
        reporter.close()

    out = [results.get(key) for key in keys]
    if failures:
        raise SweepError(_failure_message(failures, unique, len(unique)),
                         [(unique[key], exc) for key, exc in failures.items()], out)
    return out


def _run_on(executor, fn, unique, pending, finish, submitting=contextlib.nullcontext):
    futures = {}
    try:
        with submitting():  # a pool starts its workers as tasks are submitted
            for key in pending:
                try:
                    futures[executor.submit(_timed_call, fn, unique[key], uuid.uuid4().hex)] = key
                except Exception as exc:  # e.g. an unpicklable task for this executor
                    finish(key, lambda exc=exc: _raise(exc))
        for future in concurrent.futures.as_completed(list(futures)):
            finish(futures.pop(future), future.result)
    except BaseException:  # Ctrl-C or a store error: stop what has not started
        for future in futures:
            future.cancel()
        raise


def _raise(exc):
    raise exc


def _failure_message(failures, unique, total):
    lines = [
        f"{len(failures)} of {total} tasks failed; the other results were kept "
        "(run the sweep again to retry the failed ones):"
    ]
    for key, exc in list(failures.items())[:_MAX_LISTED_FAILURES]:
        task = json.dumps(unique[key], sort_keys=True, allow_nan=True)
        if len(task) > 300:
            task = task[:297] + "..."
        lines.append(f"  task {task}: {type(exc).__name__}: {exc}")
    if len(failures) > _MAX_LISTED_FAILURES:
        lines.append(f"  ... and {len(failures) - _MAX_LISTED_FAILURES} more (see SweepError.failures)")
    return "\n".join(lines)
