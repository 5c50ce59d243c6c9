"""Parameter sweeps that lose nothing: a SQLite results store, any executor, resume.

Physics-agnostic (docs/simulator.md §7): a sweep is a picklable function
``fn(task) -> result`` over JSON-serialisable task dicts that carry all
parameters and the seed.  :func:`run_sweep` commits every result to a
:class:`ResultsStore` as it completes, so an interrupted sweep (Ctrl-C,
``kill -9``) resumes by running it again; it skips the tasks already stored.

- :mod:`.store` — :class:`ResultsStore` (refuses, with a one-line
  :class:`~capacity.exceptions.StoreError`, any file it cannot safely use; ``readonly=True``;
  :meth:`~ResultsStore.summary`), :func:`task_key`, :class:`TrialRecord`;
- :mod:`.runner` — :func:`run_sweep` (a progress bar on a terminal, heartbeat lines on stderr
  otherwise), :class:`SweepError`;
- :mod:`.executors` — :func:`process_pool` (workers that die with their parent, even by
  ``kill -9``), :func:`stop_process_pool`, :func:`dask_executor`, :func:`executor_for`,
  :func:`check_scheduler` (a Dask cluster: ``"local:N"`` or a scheduler address; dask imported
  only when used).

The physics sweeps built on it (capacity over a grid of p) live in
:mod:`capacity.simulate.sweep`; this package imports neither the simulator nor the theory.

Any ``concurrent.futures.Executor`` runs the tasks: serial in-process by
default, a process pool with ``jobs > 1``, or a Dask cluster through
``dask.distributed.Client(...).get_executor()`` (:func:`dask_executor` starts or
connects to one and closes it again).
"""
from ..exceptions import StoreError
from .executors import check_scheduler, dask_executor, executor_for, process_pool, stop_process_pool
from .runner import SweepError, run_sweep
from .store import DEFAULT_STORE_NAME, ResultsStore, TrialRecord, task_key

__all__ = ["DEFAULT_STORE_NAME", "ResultsStore", "StoreError", "SweepError", "TrialRecord", "check_scheduler",
           "dask_executor", "executor_for", "process_pool", "run_sweep", "stop_process_pool", "task_key"]
