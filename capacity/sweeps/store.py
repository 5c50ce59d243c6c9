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

Refused stores
--------------
Opening a store checks the file before anything is written and raises
:class:`~capacity.exceptions.StoreError` (a ``ValueError``) with a one-line
message naming `store`, the path and the problem, for: an empty path ``""``
(SQLite would silently use a temporary database), a directory or other
non-regular file, a folder that does not exist (then the error is also a
``FileNotFoundError``) or is not writable (SQLite writes its journal beside the
file), a file that is not readable or, opened for writing, read-only, a file
that is not an SQLite database or is damaged (``PRAGMA quick_check``), an
SQLite database of another application (other tables, a ``trials`` table with
other columns, or another ``user_version``: nothing is ever added to it), a
newer format, and a file locked by another process.  A missing or empty
(0-byte) file becomes a new store.  SQLite errors while reading or writing an
open store are raised as ``StoreError`` too.

``ResultsStore(path, readonly=True)`` opens an existing store for reading
only: it never creates, modifies or initialises a file (a missing file is a
``StoreError``; no journal files are created unless a writer's are already
there), and :meth:`~ResultsStore.put` raises ``StoreError``.
"""
import contextlib
import hashlib
import json
import math
import os
import sqlite3
import stat
import threading
from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np

from .. import __version__
from ..exceptions import StoreError
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


_SQLITE_HEADER = b"SQLite format 3\x00"
_SUMMARY_VALUES = 5  # distinct values listed per task entry in ResultsStore.summary()


class _StoreNotFound(StoreError, FileNotFoundError):
    """A store whose folder (or, read-only, whose file) does not exist."""


def _fail(path, problem, cls=StoreError):
    """A one-line :class:`StoreError` naming `store`, ``path`` and ``problem``."""
    return cls(" ".join(f"`store` {path!r} {problem}".split()))


def _sqlite_problem(exc):
    """What an ``sqlite3.Error`` says about the file, in words (one line)."""
    code = getattr(exc, "sqlite_errorcode", None)
    base = None if code is None else code & 0xFF
    text = " ".join(str(exc).split()) or type(exc).__name__
    lowered = text.lower()
    if base in (11, 26) or "malformed" in lowered or "not a database" in lowered:  # CORRUPT, NOTADB
        return f"is not a usable results store: the file is damaged or not an SQLite database ({text}); " \
               "restore a copy or choose another file"
    if base in (5, 6) or "locked" in lowered:  # BUSY, LOCKED
        return f"is locked by another process ({text}); wait for it to finish or choose another file"
    if base in (3, 8) or "readonly" in lowered or "read-only" in lowered:  # PERM, READONLY
        return f"cannot be written ({text}); check its permissions or choose another file"
    if base == 14 or "unable to open" in lowered:  # CANTOPEN
        return f"cannot be opened ({text}); check the path and its permissions"
    return f"cannot be used ({text})"


def _check_path(path, readonly):
    """Refuse, before anything is touched, a path that cannot hold a store; return whether the file exists.

    Uses ``os.access`` for permissions (which a superuser passes whatever the mode bits say).
    """
    if path == "":
        raise _fail(path, "is empty; give a file name (an empty path would open a temporary database "
                          "that is lost when it is closed)")
    if os.path.isdir(path):
        raise _fail(path, f"is a directory; give a file inside it, e.g. {os.path.join(path, DEFAULT_STORE_NAME)!r}")
    folder = os.path.dirname(os.path.abspath(path))
    if readonly and not os.path.exists(path):
        raise _fail(path, "does not exist (opened read-only, so it is not created)", _StoreNotFound)
    if not os.path.exists(folder):
        raise _fail(path, f"cannot be created: folder {folder!r} does not exist; create it first", _StoreNotFound)
    if not os.path.isdir(folder):
        raise _fail(path, f"cannot be created: {folder!r} is not a folder")
    exists = os.path.exists(path)
    if not readonly and not os.access(folder, os.W_OK | os.X_OK):
        raise _fail(path, f"cannot be written: folder {folder!r} is not writable (SQLite writes its journal "
                          "beside the file); choose a writable location")
    if exists:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise _fail(path, "is not a regular file")
        if not os.access(path, os.R_OK):
            raise _fail(path, "is not readable (permission denied)")
        if not readonly and not os.access(path, os.W_OK):
            raise _fail(path, "is a read-only file; make it writable or choose another file")
        with open(path, "rb") as fh:
            header = fh.read(len(_SQLITE_HEADER))
        if header and header != _SQLITE_HEADER:
            raise _fail(path, "is not a usable results store: not an SQLite database (it does not start "
                              "with 'SQLite format 3'); choose another file")
        if readonly and not header:
            raise _fail(path, "is empty (0 bytes): no results store has been written to it yet")
    return exists


def _check_schema(con, path):
    """Refuse a database that is not a results store of this format; return whether it is still empty.

    Only reads: ``user_version``, the schema, the ``trials`` columns and ``PRAGMA quick_check``.
    """
    version = con.execute("PRAGMA user_version").fetchone()[0]
    objects = con.execute("SELECT type, name, tbl_name FROM sqlite_master").fetchall()
    foreign = sorted({name for kind, name, table in objects
                      if not name.startswith("sqlite_") and table != "trials"})
    tables = {name for kind, name, table in objects if kind == "table"}
    if foreign:
        shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
        raise _fail(path, f"is not a usable results store: an SQLite database of another application "
                          f"(it holds {shown}); nothing was written to it, choose another file")
    if "trials" not in tables:
        if objects or version != 0:
            raise _fail(path, f"is not a usable results store: an SQLite database of another application "
                              f"(user_version {version}, no trials table); nothing was written to it")
        return True
    columns = [row[1] for row in con.execute("PRAGMA table_info(trials)")]
    if set(columns) != set(_COLUMNS):
        raise _fail(path, f"is not a usable results store: its trials table has columns "
                          f"({', '.join(columns)}), not ({', '.join(_COLUMNS)}); nothing was written to it")
    if version != _FORMAT_VERSION:
        raise _fail(path, f"has results-store format {version}; this capacity {__version__} reads format "
                          f"{_FORMAT_VERSION}" + (" (upgrade capacity)" if version > _FORMAT_VERSION else ""))
    problems = [row[0].replace("*** in database main ***", "").strip() for row in con.execute("PRAGMA quick_check(3)")]
    if problems != ["ok"]:
        raise _fail(path, f"is not a usable results store: the file is damaged ({'; '.join(problems)}); "
                          "restore a copy or choose another file")
    return False


def _connect_readonly(path):
    """A read-only connection that creates no file: ``mode=ro``, or ``immutable=1`` when no writer's WAL exists."""
    import pathlib

    uri = pathlib.Path(os.path.abspath(path)).as_uri()
    if os.path.exists(path + "-wal"):  # a writer is active or was killed: read its journal too
        return sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=60.0, isolation_level=None,
                               check_same_thread=False)
    return sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True, isolation_level=None, check_same_thread=False)


def _some_values(seen):
    """Up to ``_SUMMARY_VALUES`` of the distinct values in ``seen`` (canonical JSON -> value), sorted if possible."""
    values = list(seen.values())
    try:
        values = sorted(values)
    except TypeError:
        pass
    return values[:_SUMMARY_VALUES]


class ResultsStore:
    """Trials committed one by one to a SQLite file; safe against ``kill -9``.

    Parameters
    ----------
    path : str or os.PathLike
        The SQLite file, created (with its tables) if missing or empty; its
        folder must exist.  ``":memory:"`` gives a throw-away store.  The CLI's
        default name is ``results.sqlite`` (:data:`DEFAULT_STORE_NAME`).
    readonly : bool, default False
        Open an existing store for reading only: nothing is created or
        written, and :meth:`put` raises ``StoreError``.

    Raises
    ------
    StoreError
        If the file cannot be used as a store (see the module docstring): a
        directory, an empty path, an unwritable folder or read-only file,
        damaged, another application's database, another format.  Raised before
        anything is written; a ``FileNotFoundError`` too when the folder (or,
        read-only, the file) does not exist.

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

    def __init__(self, path, *, readonly=False):
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"`path` must be a str or os.PathLike; got {path!r} of type {type(path).__name__}")
        if not isinstance(readonly, bool):
            raise TypeError(f"`readonly` must be True or False; got {readonly!r}")
        path = os.fspath(path)
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        self.path = path
        self.readonly = readonly
        self._lock = threading.Lock()
        self._con = None
        if path == ":memory:":
            if readonly:
                raise _fail(path, "cannot be opened read-only (an in-memory store is always empty)")
            existed = True
        else:
            existed = _check_path(path, readonly)
        try:
            if readonly:
                self._con = _connect_readonly(path)
            else:
                # Autocommit mode (isolation_level=None): every INSERT is its own
                # transaction, durable when execute() returns.
                self._con = sqlite3.connect(path, timeout=60.0, isolation_level=None, check_same_thread=False)
            self._setup()
        except BaseException as exc:
            if self._con is not None:
                self._con.close()
                self._con = None
            if not existed:  # leave nothing behind
                for leftover in (path, path + "-wal", path + "-shm", path + "-journal"):
                    with contextlib.suppress(OSError):
                        os.remove(leftover)
            if isinstance(exc, sqlite3.Error):
                raise _fail(path, _sqlite_problem(exc)) from None
            raise

    def _setup(self):
        con = self._con
        empty = _check_schema(con, self.path)  # reads only
        if self.readonly:
            if empty:
                raise _fail(self.path, "holds no results store yet (an empty SQLite database)")
            return
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=FULL")
        if empty:
            con.execute("BEGIN IMMEDIATE")
            try:
                if con.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0]:  # raced by another writer
                    con.execute("ROLLBACK")
                    _check_schema(con, self.path)
                    return
                for statement in _SCHEMA:
                    con.execute(statement)
                con.execute(f"PRAGMA user_version={_FORMAT_VERSION}")
                con.execute("COMMIT")
            except BaseException:
                if con.in_transaction:
                    con.execute("ROLLBACK")
                raise

    # ---------------------------------------------------------------- access
    def _execute(self, sql, params=(), *, fetch=True):
        """Run one statement under the lock; SQLite errors become :class:`StoreError`."""
        with self._lock:
            if self._con is None:
                raise ValueError(f"ResultsStore({self.path!r}) is closed")
            try:
                cursor = self._con.execute(sql, params)
                return cursor.fetchall() if fetch else cursor.rowcount
            except sqlite3.Error as exc:
                raise _fail(self.path, _sqlite_problem(exc)) from None

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

        Raises
        ------
        StoreError
            If the store was opened read-only or SQLite cannot write (disk
            full, file locked or removed); nothing partial is stored.
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
        if self.readonly:
            raise _fail(self.path, "was opened read-only; nothing can be stored in it")
        rowcount = self._execute(
            "INSERT OR IGNORE INTO trials (key, experiment, kind, task, result, seconds, package_version, created)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (key, _label(task, "experiment"), _label(task, "kind"), task_json, result_json, seconds,
             __version__, created),
            fetch=False,
        )
        return rowcount == 1

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

    def _summary_rows(self):
        """Like :meth:`records` without parsing the results (``result`` is ``None``)."""
        sql = (f"SELECT rowid, key, task, seconds, package_version, created FROM trials WHERE rowid > ?"
               f" ORDER BY rowid LIMIT {_PAGE}")
        last = 0
        while True:
            rows = self._execute(sql, (last,))
            for rowid, key, task, seconds, version, created in rows:
                yield TrialRecord(key, json.loads(task), None, seconds, version, created)
                last = rowid
            if len(rows) < _PAGE:
                return

    def summary(self):
        """What the store holds, as a plain dict (JSON-ready apart from NaN/inf task values).

        Returns
        -------
        dict
            ``path``, ``format_version``, ``n_trials`` and ``experiments``: one
            dict per distinct ``"experiment"`` entry of the tasks (``None`` for
            tasks without one), in the order first stored, with ``experiment``,
            ``count``, ``kinds`` and ``package_versions`` (value -> number of
            trials), ``first_created`` / ``last_created`` (ISO 8601 UTC) and
            ``parameters``: for each task entry (other than ``experiment``),
            ``{"n_distinct": n, "values": [...]}`` with up to 5 distinct values,
            sorted when they compare.

        Examples
        --------
        >>> with ResultsStore(":memory:") as store:
        ...     for d in (8, 16):
        ...         _ = store.put({"experiment": "x", "d": d}, {"ok": True})
        ...     info = store.summary()
        >>> info["n_trials"], info["experiments"][0]["parameters"]["d"]
        (2, {'n_distinct': 2, 'values': [8, 16]})
        """
        experiments = {}
        for record in self._summary_rows():
            name = record.task.get("experiment")
            name = name if isinstance(name, str) else None
            entry = experiments.get(name)
            if entry is None:
                entry = experiments[name] = {"experiment": name, "count": 0, "kinds": {}, "package_versions": {},
                                             "first_created": record.created, "last_created": record.created,
                                             "parameters": {}}
            entry["count"] += 1
            kind = record.task.get("kind")
            kind = kind if isinstance(kind, str) else None
            entry["kinds"][kind] = entry["kinds"].get(kind, 0) + 1
            versions = entry["package_versions"]
            versions[record.package_version] = versions.get(record.package_version, 0) + 1
            entry["first_created"] = min(entry["first_created"], record.created)
            entry["last_created"] = max(entry["last_created"], record.created)
            for name_, value in record.task.items():
                if name_ != "experiment":
                    seen = entry["parameters"].setdefault(name_, {})
                    seen.setdefault(_dumps("value", {"v": value}), value)
        for entry in experiments.values():
            entry["parameters"] = {name: {"n_distinct": len(seen), "values": _some_values(seen)}
                                   for name, seen in sorted(entry["parameters"].items())}
        return {"path": self.path, "format_version": _FORMAT_VERSION, "n_trials": len(self),
                "experiments": list(experiments.values())}

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
