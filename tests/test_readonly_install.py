"""Numba caching falls back when the package folder and the home folder are read-only.

In process, Numba's "no locator available" refusal is simulated and the
fallbacks of ``capacity._jit`` are checked: a private folder in the temporary
directory, else no cache with exactly one warning, and a ``NUMBA_CACHE_DIR``
set by the user is never overridden.  The slow test installs a copy of the
package into a read-only folder and runs ``python -m capacity query --d 16`` in
a child for which file permissions apply, with a read-only HOME.
"""
import os
import shutil
import stat
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from capacity import _jit
from tests import _sweep_helpers as helpers

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def fake_numba(monkeypatch, tmp_path):
    """``numba.njit`` that, with cache=True, can cache only in a set ``CACHE_DIR``; records the calls."""
    calls = []

    def njit(*args, **kwargs):
        def decorate(fn):
            folder = _jit._numba_config.CACHE_DIR
            calls.append((kwargs.get("cache"), folder))
            if kwargs.get("cache") and not (folder and os.access(folder, os.W_OK)):
                raise RuntimeError(f"cannot cache function {fn.__name__!r}: no locator available for file 'x.py'")
            return fn
        return decorate

    monkeypatch.setattr(_jit.numba, "njit", njit)
    monkeypatch.setattr(_jit, "_state", {"fallback_dir": None, "warned": False})
    monkeypatch.setattr(_jit.tempfile, "tempdir", str(tmp_path))
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setattr(_jit._numba_config, "CACHE_DIR", "")
    return calls


def _kernel(x):
    return x + 1


def _fallback_name():
    if not hasattr(os, "getuid"):
        pytest.skip("the fallback folder is named by the POSIX user id")
    return f"capacity-numba-{os.getuid()}"


def test_falls_back_to_a_private_temporary_folder(fake_numba, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _jit.njit(_kernel)(1) == 2
        assert _jit.njit(fastmath=False)(_kernel)(2) == 3
    folder = tmp_path / _fallback_name()
    assert fake_numba == [(True, ""), (True, str(folder))] * 2
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert _jit._numba_config.CACHE_DIR == ""  # only this package's kernels were redirected


def test_compiles_uncached_with_one_warning_when_no_folder_is_usable(fake_numba, tmp_path):
    (tmp_path / _fallback_name()).write_text("")  # the fallback name is taken by a file
    with pytest.warns(RuntimeWarning) as record:
        assert _jit.njit(_kernel)(1) == 2
        assert _jit.njit(_kernel)(5) == 6
    assert len(record) == 1
    message = str(record[0].message)
    assert "\n" not in message and "Numba cannot cache compiled kernels" in message
    assert "set NUMBA_CACHE_DIR to a writable folder" in message
    assert [cache for cache, _ in fake_numba] == [True, False, True, False]


def test_refuses_a_shared_fallback_folder(fake_numba, tmp_path):
    shared = tmp_path / _fallback_name()
    shared.mkdir()
    shared.chmod(0o777)  # writable by others: its pickles could be anyone's
    with pytest.warns(RuntimeWarning, match="Numba cannot cache"):
        _jit.njit(_kernel)
    assert fake_numba[-1] == (False, "")


def test_respects_a_users_numba_cache_dir(fake_numba, monkeypatch):
    monkeypatch.setenv("NUMBA_CACHE_DIR", "/nonexistent/cache")
    with pytest.warns(RuntimeWarning, match=r"NUMBA_CACHE_DIR='/nonexistent/cache' is not writable"):
        assert _jit.njit(_kernel)(1) == 2
    assert [cache for cache, _ in fake_numba] == [True, False]  # no folder of ours tried


def test_other_errors_are_not_swallowed(monkeypatch):
    def njit(*args, **kwargs):
        def decorate(fn):
            raise RuntimeError("something else")
        return decorate

    monkeypatch.setattr(_jit.numba, "njit", njit)
    with pytest.raises(RuntimeError, match="something else"):
        _jit.njit(_kernel)


def _copy_package(target):
    shutil.copytree(REPO_ROOT / "capacity", target / "capacity",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.nbi", "*.nbc"))
    for root, dirs, files in os.walk(target):
        for name in dirs:
            os.chmod(os.path.join(root, name), 0o555)
        for name in files:
            os.chmod(os.path.join(root, name), 0o444)
    os.chmod(target, 0o555)


def _make_writable(folder):
    for root, dirs, _ in os.walk(folder):
        os.chmod(root, 0o755)
        for name in dirs:
            os.chmod(os.path.join(root, name), 0o755)


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX permissions")
@pytest.mark.parametrize("fallback", ["tempdir", "none"])
def test_read_only_install_without_writable_home_answers_query(tmp_path, fallback):
    if not helpers.privileges_dropped(str(tmp_path)):
        pytest.skip("cannot run a child for which file permissions apply here")
    site, home, tmp = tmp_path / "site", tmp_path / "home", tmp_path / "tmp"
    site.mkdir()
    home.mkdir()
    tmp.mkdir()
    _copy_package(site)
    home.chmod(0o555)
    if fallback == "none":  # the fallback folder's name is taken: no cache at all, one warning
        (tmp / f"capacity-numba-{os.getuid()}").write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NUMBA_", "XDG_", "PYTHON"))}
    env.update(HOME=str(home), PYTHONPATH=str(site), TMPDIR=str(tmp), PYTHONDONTWRITEBYTECODE="1")
    try:
        done = subprocess.run([sys.executable, "-m", "capacity", "query", "--d", "16"], cwd=str(tmp), env=env,
                              preexec_fn=helpers.without_file_privileges(), capture_output=True, text=True,
                              timeout=600)
    finally:
        home.chmod(0o755)
        _make_writable(site)
    assert done.returncode == 0, done.stderr[-3000:]
    assert any(line.startswith("p_c ") and "61.65" in line for line in done.stdout.splitlines()), done.stdout
    assert "no locator available" not in done.stderr and "Traceback" not in done.stderr
    warned = done.stderr.count("Numba cannot cache compiled kernels")
    cached = list((tmp / f"capacity-numba-{os.getuid()}").rglob("*.nbi")) if fallback == "tempdir" else []
    if fallback == "tempdir":
        assert warned == 0 and cached, done.stderr
    else:
        assert warned == 1, done.stderr
    assert not list(site.rglob("__pycache__")) and not list(home.iterdir())
