"""A results store refuses every file it cannot safely use, before writing anything.

Each refusal is a :class:`~capacity.exceptions.StoreError` (a ``ValueError``)
whose message is one line naming `store` and the path; the file (if any) is
left byte for byte as it was and nothing is created beside it.  Read-only
stores never create or change a file.  Permissions are tested twice: in
process with ``os.access`` made to say no, and for real in a subprocess for
which file permissions apply (a superuser's child without its capabilities to
override them).
"""
import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from capacity.exceptions import StoreError
from capacity.sweeps import ResultsStore, run_sweep
from tests import _sweep_helpers as helpers

REPO_ROOT = Path(__file__).resolve().parents[1]


def _listing(folder):
    """Every file under ``folder`` with the SHA-256 of its bytes."""
    out = {}
    for path in sorted(Path(folder).rglob("*")):
        if path.is_file():
            out[str(path.relative_to(folder))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def _refused(path, *, match, readonly=False, also=None):
    """Open ``path``; assert a one-line StoreError naming `store` and the path, matching ``match``."""
    with pytest.raises(StoreError, match=match) as info:
        ResultsStore(path, readonly=readonly)
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"`store` {os.fspath(path)!r} "), message
    if also is not None:
        assert isinstance(info.value, also)
    assert isinstance(info.value, ValueError)
    return message


def _good_store(path, n=3):
    with ResultsStore(path) as store:
        for i in range(n):
            store.put({"experiment": "e", "kind": "k", "d": 8 * (i + 1), "seed": i}, {"ok": True, "i": i})
    return path


def _damage(path, offset, n=12):
    data = bytearray(Path(path).read_bytes())
    data[offset:offset + n] = b"\xff" * n
    Path(path).write_bytes(bytes(data))


# ----------------------------------------------------------------------------- paths
def test_empty_path_is_refused_not_a_temporary_database(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _refused("", match="is empty; give a file name")
    assert _listing(tmp_path) == {}


def test_directory_is_refused(tmp_path):
    message = _refused(tmp_path, match="is a directory; give a file inside it")
    assert repr(str(tmp_path / "results.sqlite")) in message
    assert _listing(tmp_path) == {}


def test_missing_folder_is_refused_and_is_a_file_not_found(tmp_path):
    _refused(tmp_path / "missing" / "r.sqlite", match="folder .* does not exist; create it first",
             also=FileNotFoundError)
    assert not (tmp_path / "missing").exists()


def test_folder_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "plain").write_text("x")
    _refused(tmp_path / "plain" / "r.sqlite", match="is not a folder")


@pytest.mark.skipif(not os.path.exists("/dev/null"), reason="needs /dev/null")
def test_device_is_refused():
    _refused("/dev/null", match="is not a regular file")


def test_unwritable_folder_is_refused_before_creating_anything(tmp_path, monkeypatch):
    folder = tmp_path / "ro"
    folder.mkdir()
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if os.fspath(p) == str(folder) and
                        mode & os.W_OK else real(p, mode, **kw))
    _refused(folder / "r.sqlite", match=r"folder .* is not writable \(SQLite writes its journal")
    assert _listing(folder) == {}


def test_read_only_file_is_refused_for_writing_but_reads(tmp_path, monkeypatch):
    path = _good_store(tmp_path / "r.sqlite")
    before = _listing(tmp_path)
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if os.fspath(p) == str(path) and
                        mode & os.W_OK else real(p, mode, **kw))
    _refused(path, match="is a read-only file; make it writable")
    with ResultsStore(path, readonly=True) as store:
        assert len(store) == 3
    assert _listing(tmp_path) == before


def test_unreadable_file_is_refused(tmp_path, monkeypatch):
    path = _good_store(tmp_path / "r.sqlite")
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if os.fspath(p) == str(path) and
                        mode & os.R_OK else real(p, mode, **kw))
    _refused(path, match=r"is not readable \(permission denied\)")
    _refused(path, match=r"is not readable \(permission denied\)", readonly=True)


_PERMISSIONS_SCRIPT = """
import json, sys
from capacity.exceptions import StoreError
from capacity.sweeps import ResultsStore
out = {}
for name, path, readonly in [("file", sys.argv[1], False), ("folder", sys.argv[2], False),
                             ("read", sys.argv[1], True)]:
    try:
        with ResultsStore(path, readonly=readonly) as store:
            out[name] = len(store)
    except StoreError as exc:
        out[name] = str(exc)
print(json.dumps(out))
"""


def test_permissions_really_applied_in_a_subprocess(tmp_path):
    if sys.platform.startswith("win") or not helpers.privileges_dropped(str(tmp_path)):
        pytest.skip("cannot run a child for which file permissions apply here")
    path = _good_store(tmp_path / "r.sqlite")
    folder = tmp_path / "ro"
    folder.mkdir()
    os.chmod(path, 0o444)
    os.chmod(folder, 0o555)
    before = _listing(tmp_path)
    try:
        done = subprocess.run([sys.executable, "-c", _PERMISSIONS_SCRIPT, str(path), str(folder / "new.sqlite")],
                              cwd=REPO_ROOT, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
                              preexec_fn=helpers.without_file_privileges(), capture_output=True, text=True,
                              timeout=300)
    finally:
        os.chmod(folder, 0o755)
        os.chmod(path, 0o644)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["file"] == f"`store` {str(path)!r} is a read-only file; make it writable or choose another file"
    assert out["folder"].startswith(f"`store` {str(folder / 'new.sqlite')!r} cannot be written: folder")
    assert out["read"] == 3
    assert _listing(tmp_path) == before


# ----------------------------------------------------------------------------- contents
def test_garbage_bytes_are_refused_unchanged(tmp_path):
    path = tmp_path / "junk.sqlite"
    path.write_bytes(b"not a database at all" * 100)
    before = _listing(tmp_path)
    _refused(path, match="not a usable results store: not an SQLite database")
    _refused(path, match="not a usable results store: not an SQLite database", readonly=True)
    assert _listing(tmp_path) == before


@pytest.mark.parametrize("page", [0, 1, 2, 3])
@pytest.mark.parametrize("readonly", [False, True])
def test_damaged_pages_are_refused_unchanged(tmp_path, page, readonly):
    path = _good_store(tmp_path / "r.sqlite")
    page_size = sqlite3.connect(path).execute("PRAGMA page_size").fetchone()[0]
    _damage(path, 100 + page * page_size if page == 0 else page * page_size)  # a b-tree page header
    before = _listing(tmp_path)
    _refused(path, match="not a usable results store: the file is damaged", readonly=readonly)
    assert _listing(tmp_path) == before


def test_truncated_file_is_refused(tmp_path):
    path = _good_store(tmp_path / "r.sqlite")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2 + 7])
    _refused(path, match="not a usable results store: the file is damaged")


def _foreign(path, *statements):
    con = sqlite3.connect(path)
    for statement in statements:
        con.execute(statement)
    con.commit()
    con.close()
    return path


@pytest.mark.parametrize("statements, match", [
    (["CREATE TABLE users (name TEXT)", "INSERT INTO users VALUES ('ann')"], r"another application \(it holds users\)"),
    (["CREATE TABLE trials (id INTEGER, score REAL)"], r"its trials table has columns \(id, score\), not \(key, .*\)"),
    (["PRAGMA user_version = 7"], r"another application \(user_version 7, no trials table\)"),
    (["CREATE TABLE trials (key TEXT PRIMARY KEY, experiment TEXT, kind TEXT, task TEXT, result TEXT, seconds REAL,"
      " package_version TEXT, created TEXT)", "CREATE TABLE notes (x)", "PRAGMA user_version = 1"],
     r"another application \(it holds notes\)"),
])
def test_foreign_database_gets_nothing_added(tmp_path, statements, match):
    path = _foreign(tmp_path / "app.db", *statements)
    before = _listing(tmp_path)
    _refused(path, match=match + "; nothing was written to it")
    _refused(path, match=match, readonly=True)
    assert _listing(tmp_path) == before
    con = sqlite3.connect(path)
    names = {row[0] for row in con.execute("SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")}
    con.close()
    assert "trials_experiment" not in names


def test_newer_format_is_refused(tmp_path):
    path = _good_store(tmp_path / "r.sqlite")
    _foreign(path, "PRAGMA user_version = 2")
    _refused(path, match=r"has results-store format 2; this capacity .* reads format 1 \(upgrade capacity\)")


def test_empty_file_becomes_a_store(tmp_path):
    path = tmp_path / "new.sqlite"
    path.write_bytes(b"")
    with ResultsStore(path) as store:
        assert store.put({"i": 1}, {"y": 2}) and len(store) == 1
    with ResultsStore(path, readonly=True) as store:
        assert store.get({"i": 1}) == {"y": 2}


# ----------------------------------------------------------------------------- read-only
def test_readonly_never_creates_or_changes_a_file(tmp_path):
    _refused(tmp_path / "missing.sqlite", match=r"does not exist \(opened read-only", readonly=True,
             also=FileNotFoundError)
    _refused(tmp_path / "no" / "r.sqlite", match=r"does not exist \(opened read-only", readonly=True,
             also=FileNotFoundError)
    (tmp_path / "empty.sqlite").write_bytes(b"")
    _refused(tmp_path / "empty.sqlite", match=r"is empty \(0 bytes\)", readonly=True)
    _foreign(tmp_path / "blank.sqlite", "PRAGMA page_size = 4096", "VACUUM")
    _refused(tmp_path / "blank.sqlite", match="holds no results store yet", readonly=True)
    with pytest.raises(StoreError, match="`store` ':memory:' cannot be opened read-only"):
        ResultsStore(":memory:", readonly=True)
    path = _good_store(tmp_path / "r.sqlite")
    before = _listing(tmp_path)
    with ResultsStore(path, readonly=True) as store:
        assert store.readonly and len(store) == 3
        assert [r.result["i"] for r in store.records()] == [0, 1, 2]
        with pytest.raises(StoreError, match="was opened read-only; nothing can be stored in it"):
            store.put({"i": 9}, {})
    assert _listing(tmp_path) == before  # no -wal / -shm either


def test_readonly_sees_what_a_live_writer_committed(tmp_path):
    path = tmp_path / "r.sqlite"
    with ResultsStore(path) as writer:
        writer.put({"i": 1}, {"y": 1})
        with ResultsStore(path, readonly=True) as reader:
            assert len(reader) == 1
            writer.put({"i": 2}, {"y": 2})
            assert len(reader) == 2 and reader.get({"i": 2}) == {"y": 2}


def test_bad_readonly_argument():
    with pytest.raises(TypeError, match="`readonly` must be True or False; got 'yes'"):
        ResultsStore(":memory:", readonly="yes")


# ----------------------------------------------------------------------------- sweeps and summary
def test_run_sweep_refuses_a_bad_store_before_running_anything(tmp_path, monkeypatch):
    log = tmp_path / "calls.log"
    tasks = [{"i": i, "seed": i, "log": str(log)} for i in range(3)]
    monkeypatch.chdir(tmp_path)
    for store, match in [("", "is empty"), (str(tmp_path), "is a directory")]:
        with pytest.raises(StoreError, match=match):
            run_sweep(helpers.logged, tasks, store=store, progress=False)
    assert not log.exists()


def test_run_sweep_reads_a_readonly_store_but_never_computes_into_it(tmp_path):
    log = tmp_path / "calls.log"
    tasks = [{"i": i, "seed": i, "log": str(log)} for i in range(3)]
    path = tmp_path / "r.sqlite"
    first = run_sweep(helpers.logged, tasks[:2], store=path, progress=False)
    assert helpers.read_log(log) == {0: 1, 1: 1}
    with ResultsStore(path, readonly=True) as store:
        assert run_sweep(helpers.logged, tasks[:2], store=store, progress=False) == first
        with pytest.raises(StoreError, match=r"opened read-only, but 1 of the 3 tasks are not stored in it") as info:
            run_sweep(helpers.logged, tasks, store=store, progress=False)
    assert str(info.value).startswith(f"`store` {str(path)!r} ") and "\n" not in str(info.value)
    assert helpers.read_log(log) == {0: 1, 1: 1}  # nothing ran again, nothing new ran


def test_summary_says_what_the_store_holds(tmp_path):
    path = tmp_path / "r.sqlite"
    with ResultsStore(path) as store:
        for d in (8, 16, 32):
            for seed in range(7):
                store.put({"experiment": "capacity", "kind": "decoupled", "d": d, "p": 2 * d, "seed": seed},
                          {"feasible": True})
        store.put({"experiment": "other", "x": [1, 2]}, {})
        store.put({"y": 1.5}, {})
    with ResultsStore(path, readonly=True) as store:
        info = store.summary()
    json.dumps(info)  # plain data
    assert info["path"] == str(path) and info["format_version"] == 1 and info["n_trials"] == 23
    names = [e["experiment"] for e in info["experiments"]]
    assert names == ["capacity", "other", None]
    cap = info["experiments"][0]
    assert cap["count"] == 21 and cap["kinds"] == {"decoupled": 21}
    assert list(cap["package_versions"].values()) == [21]
    assert cap["first_created"] <= cap["last_created"]
    assert cap["parameters"]["d"] == {"n_distinct": 3, "values": [8, 16, 32]}
    assert cap["parameters"]["seed"] == {"n_distinct": 7, "values": [0, 1, 2, 3, 4]}
    assert "experiment" not in cap["parameters"]
    assert info["experiments"][1]["parameters"]["x"] == {"n_distinct": 1, "values": [[1, 2]]}
    assert info["experiments"][2]["kinds"] == {None: 1}
