"""A results store that loses nothing: one SQLite file, one committed row per trial.

Every trial is a JSON-serialisable *task* dict (all parameters, including the
seed) and a JSON-serialisable *result* dict.  A trial is identified by
:func:`task_key`, a stable hash of its task, so a sweep that is interrupted
(Ctrl-C, ``kill -9``, a lost node) resumes by skipping the keys already stored
(docs/simulator.md §7).

Each :meth:`ResultsStore.put` is its own transaction, committed before it
returns (WAL journal, ``synchronous=FULL``): a crash loses at most the trials
still being computed, never one that was stored, and never leaves a partial row.

File format (version 1)
-----------------------
Table ``trials``, one row per task, in insertion order (``rowid``):

========================  =====================================================
``key`` (primary key)     :func:`task_key` of the task
``experiment``, ``kind``  the task's ``"experiment"``/``"kind"`` entries when
                          they are strings, else NULL (indexed, for queries)
``task``, ``result``      canonical JSON (sorted keys; NaN/inf as ``NaN``,
                          ``Infinity``, ``-Infinity``)
``seconds``               wall time of the trial, as measured where it ran
``package_version``       ``capacity.__version__`` of the process that stored it
``created``               UTC time of the commit, ISO 8601
========================  =====================================================

``PRAGMA user_version`` holds the format version.  The file can be read with
any SQLite client, e.g.
``SELECT json_extract(result, '$.p50') FROM trials WHERE experiment = 'x'``.
"""
import hashlib
import json
import math
import os
import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np

from .. import __version__
from ..results import Result, json_default

__all__ = ["ResultsStore", "TrialRecord", "task_key", "DEFAULT_STORE_NAME"]

DEFAULT_STORE_NAME = "results.sqlite"
_FORMAT_VERSION = 1
_COLUMNS = ("key", "experiment", "kind", "task", "result", "seconds", "package_version", "created")
_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS trials (
        key TEXT PRIMARY KEY,
        experiment TEXT,
        kind TEXT,
        task TEXT NOT NULL,
        result TEXT NOT NULL,
        seconds REAL,
        package_version TEXT NOT NULL,
        created TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS trials_experiment ON trials (experiment)",
    "CREATE INDEX IF NOT EXISTS trials_kind ON trials (kind)",
)
_PAGE = 1000  # rows fetched per query while iterating


def _dumps(name, obj):
    """Canonical JSON of the dict ``obj``: sorted keys, no spaces, NaN/inf allowed."""
    if not isinstance(obj, dict):
        raise TypeError(f"`{name}` must be a dict; got {obj!r} of type {type(obj).__name__}")
    try:
        return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=True, default=json_default)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"`{name}` must be a JSON-serialisable dict; {exc}") from None


def _normalise(name, obj):
    """Return ``obj`` as it reads back from the store (a JSON round trip).

    Tuples become lists, NumPy scalars Python numbers, non-string keys strings.
    Raises ``TypeError`` (naming ``name``) if ``obj`` is not a JSON-serialisable dict.
    """
    return json.loads(_dumps(name, obj))


def task_key(task):
    """Stable identifier of a task: SHA-256 (hex) of its canonical JSON.

    The canonical JSON is ``json.dumps(task, sort_keys=True,
    separators=(",", ":"), allow_nan=True)`` (NumPy scalars and arrays as the
    equivalent Python values), so the key does not depend on the order of the
    dict's entries.  It does depend on types: ``1`` and ``1.0`` are different
    tasks.

    Examples
    --------
    >>> task_key({"d": 8, "seed": 0}) == task_key({"seed": 0, "d": 8})
    True
    >>> task_key({"d": 8}) == task_key({"d": 8.0})
    False
    """
    return hashlib.sha256(_dumps("task", task).encode("ascii")).hexdigest()


@dataclass(frozen=True)
class TrialRecord(Result):
    """One stored trial: its task and result and where/when/how fast it was computed."""

    key: str
    task: dict
    result: dict
    seconds: float
    package_version: str
    created: str


def _label(task, name):
    value = task.get(name)
    return value if isinstance(value, str) else None


class ResultsStore:
    """Trials committed one by one to a SQLite file; safe against ``kill -9``.

    Parameters
    ----------
    path : str or os.PathLike
        The SQLite file, created (with its tables) if missing; its directory
        must exist.  ``":memory:"`` gives a throw-away store.  The CLI's
        default name is ``results.sqlite`` (:data:`DEFAULT_STORE_NAME`).

    Notes
    -----
    One process should write a given file at a time (a sweep's parent
    process); any number may read it, also while it is being written (WAL
    mode).  Reopening the file in a later process sees every committed trial.
    Tasks and results are stored as canonical JSON and read back as plain
    Python values (a JSON round trip); NaN and infinities round-trip.

    Examples
    --------
    >>> with ResultsStore(":memory:") as store:
    ...     store.put({"d": 8, "seed": 1}, {"feasible": True}, seconds=0.5)
    ...     store.put({"seed": 1, "d": 8}, {"feasible": False})  # same task: kept first
    ...     store.get({"d": 8, "seed": 1}), len(store)
    True
    False
    ({'feasible': True}, 1)
    """

    def __init__(self, path):
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"`path` must be a str or os.PathLike; got {path!r} of type {type(path).__name__}")
        path = os.fspath(path)
        if path != ":memory:":
            folder = os.path.dirname(os.path.abspath(path))
            if not os.path.isdir(folder):
                raise FileNotFoundError(f"`path` {path!r}: folder {folder!r} does not exist; create it first")
        self.path = path
        self._lock = threading.Lock()
        # Autocommit mode (isolation_level=None): every INSERT is its own
        # transaction, durable when execute() returns.
        self._con = sqlite3.connect(path, timeout=60.0, isolation_level=None, check_same_thread=False)
        try:
            self._setup()
        except sqlite3.DatabaseError as exc:
            self._con.close()
            self._con = None
            raise ValueError(f"`path` {path!r} is not a usable results store: {exc}") from None
        except BaseException:
            self._con.close()
            self._con = None
            raise

    def _setup(self):
        con = self._con
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=FULL")
        version = con.execute("PRAGMA user_version").fetchone()[0]
        if version == 0:
            con.execute("BEGIN IMMEDIATE")
            try:
                for statement in _SCHEMA:
                    con.execute(statement)
                con.execute(f"PRAGMA user_version={_FORMAT_VERSION}")
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        elif version != _FORMAT_VERSION:
            raise ValueError(
                f"`path` {self.path!r} has results-store format {version}; this capacity "
                f"{__version__} reads format {_FORMAT_VERSION}"
            )
        columns = {row[1] for row in con.execute("PRAGMA table_info(trials)")}
        if not set(_COLUMNS) <= columns:
            raise ValueError(f"`path` {self.path!r} has no `trials` table with columns {_COLUMNS}")

    # ---------------------------------------------------------------- access
    def _execute(self, sql, params=()):
        with self._lock:
            if self._con is None:
                raise ValueError(f"ResultsStore({self.path!r}) is closed")
            return self._con.execute(sql, params).fetchall()

    @staticmethod
    def _key(task_or_key):
        return task_or_key if isinstance(task_or_key, str) else task_key(task_or_key)

    def has(self, key):
        """Whether a result is stored for ``key`` (a :func:`task_key` string, or a task dict)."""
        return bool(self._execute("SELECT 1 FROM trials WHERE key = ?", (self._key(key),)))

    __contains__ = has

    def get(self, task):
        """The stored result of ``task`` (a task dict, or its key), or ``None``."""
        rows = self._execute("SELECT result FROM trials WHERE key = ?", (self._key(task),))
        return json.loads(rows[0][0]) if rows else None

    def put(self, task, result, seconds=None):
        """Store ``result`` for ``task`` and commit at once.

        Idempotent: if ``task`` is already stored, the first result is kept and
        nothing is written.

        Parameters
        ----------
        task, result : dict
            JSON-serialisable (NumPy scalars/arrays are converted; NaN and
            infinities are allowed).
        seconds : float, optional
            Wall time of the trial (finite, >= 0).

        Returns
        -------
        bool
            ``True`` if a row was written, ``False`` if the task was already there.
        """
        task_json = _dumps("task", task)
        result_json = _dumps("result", result)
        if seconds is not None:
            if isinstance(seconds, bool) or not isinstance(seconds, (int, float, np.integer, np.floating)):
                raise TypeError(f"`seconds` must be a real number or None; got {seconds!r}")
            seconds = float(seconds)
            if not (math.isfinite(seconds) and seconds >= 0):
                raise ValueError(f"`seconds` must be finite and >= 0; got {seconds!r}")
        key = hashlib.sha256(task_json.encode("ascii")).hexdigest()
        created = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
        with self._lock:
            if self._con is None:
                raise ValueError(f"ResultsStore({self.path!r}) is closed")
            cursor = self._con.execute(
                "INSERT OR IGNORE INTO trials (key, experiment, kind, task, result, seconds, package_version, created)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (key, _label(task, "experiment"), _label(task, "kind"), task_json, result_json, seconds,
                 __version__, created),
            )
            return cursor.rowcount == 1

    def keys(self):
        """The stored task keys, in the order they were stored."""
        return [row[0] for row in self._execute("SELECT key FROM trials ORDER BY rowid")]

    def records(self, *, experiment=None, kind=None):
        """Iterate over stored trials as :class:`TrialRecord`, in the order they were stored.

        ``experiment`` / ``kind`` select the trials whose task has that
        ``"experiment"`` / ``"kind"`` entry.
        """
        where, params = ["rowid > ?"], []
        for column, value in (("experiment", experiment), ("kind", kind)):
            if value is not None:
                if not isinstance(value, str):
                    raise TypeError(f"`{column}` must be a str or None; got {value!r}")
                where.append(f"{column} = ?")
                params.append(value)
        sql = (f"SELECT rowid, key, task, result, seconds, package_version, created FROM trials"
               f" WHERE {' AND '.join(where)} ORDER BY rowid LIMIT {_PAGE}")
        last = 0
        while True:
            rows = self._execute(sql, (last, *params))
            for rowid, key, task, result, seconds, version, created in rows:
                yield TrialRecord(key, json.loads(task), json.loads(result), seconds, version, created)
                last = rowid
            if len(rows) < _PAGE:
                return

    def items(self, *, experiment=None, kind=None):
        """Iterate over ``(task, result)`` pairs, in the order they were stored."""
        for record in self.records(experiment=experiment, kind=kind):
            yield record.task, record.result

    def __iter__(self):
        return self.items()

    def __len__(self):
        return self._execute("SELECT COUNT(*) FROM trials")[0][0]

    # ------------------------------------------------------------- lifecycle
    @property
    def closed(self):
        """Whether :meth:`close` has been called."""
        return self._con is None

    def close(self):
        """Close the file (idempotent).  Everything stored is already committed."""
        with self._lock:
            if self._con is not None:
                self._con.close()
                self._con = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def __repr__(self):
        state = "closed" if self.closed else f"{len(self)} trials"
        return f"ResultsStore({self.path!r}, {state})"
