"""The package's single Numba decorator policy.

Every kernel is compiled with ``cache=True`` (compilation is paid once per
machine), ``error_model="numpy"`` (floating-point errors give inf/nan instead
of raising, so kernels can report status codes) and *no* ``fastmath`` (the
accuracy claims of :mod:`capacity.solvers` rely on IEEE semantics).

Where the compiled code is cached: in ``NUMBA_CACHE_DIR`` if it is set, else
beside the sources (``__pycache__``) or in the user's cache folder
(``~/.cache/numba``), as Numba chooses.  When none of these is writable (a
read-only install with no writable home), Numba refuses to cache; the kernels
of this package are then cached in ``<tempdir>/capacity-numba-<uid>`` (a folder
private to the user), and if that is impossible too -- or a ``NUMBA_CACHE_DIR``
set by the user is not writable -- they are compiled without a cache, with one
``RuntimeWarning`` per process.  Caching never changes a result.

Kernels run unchanged under ``NUMBA_DISABLE_JIT=1``, which the tests use to
check them as plain Python.
"""
import contextlib
import os
import stat
import tempfile
import warnings

import numba
from numba.core import config as _numba_config

__all__ = ["njit"]

_NO_LOCATOR = "no locator available"
_state = {"fallback_dir": None, "warned": False}  # fallback_dir: None (not tried), False (unusable) or a path


def njit(*args, **kwargs):
    """``numba.njit`` with the package policy (cache, numpy error model, no fastmath).

    Used bare (``@njit``) or with Numba's arguments (``@njit(signature, ...)``);
    falls back to another cache folder, or no cache, when Numba cannot cache
    (see the module docstring).
    """
    kwargs.setdefault("cache", True)
    kwargs.setdefault("error_model", "numpy")
    kwargs.setdefault("fastmath", False)
    if args and callable(args[0]) and len(args) == 1:
        return _compile(args[0], (), kwargs)
    return lambda fn: _compile(fn, args, kwargs)


def _compile(fn, args, kwargs):
    """``numba.njit(*args, **kwargs)(fn)``, retried elsewhere or uncached if caching is impossible."""
    try:
        return numba.njit(*args, **kwargs)(fn)
    except RuntimeError as exc:
        if not kwargs.get("cache") or _NO_LOCATOR not in str(exc):
            raise
    user_dir = os.environ.get("NUMBA_CACHE_DIR")
    if not user_dir:  # respect a folder the user chose, even an unusable one
        folder = _fallback_dir()
        if folder:
            try:
                with _cache_dir(folder):
                    return numba.njit(*args, **kwargs)(fn)
            except RuntimeError as exc:
                if _NO_LOCATOR not in str(exc):
                    raise
                _state["fallback_dir"] = False
    if not _state["warned"]:
        _state["warned"] = True
        where = (f"NUMBA_CACHE_DIR={user_dir!r} is not writable" if user_dir else
                 "neither the package folder, the home folder nor the temporary folder is writable")
        warnings.warn(f"capacity: Numba cannot cache compiled kernels ({where}); compiling without a cache, so "
                      "every new process compiles again; set NUMBA_CACHE_DIR to a writable folder",
                      RuntimeWarning, stacklevel=3)
    return numba.njit(*args, **{**kwargs, "cache": False})(fn)


@contextlib.contextmanager
def _cache_dir(folder):
    """Numba's ``CACHE_DIR`` set to ``folder`` while decorating (the locator keeps the path)."""
    saved = _numba_config.CACHE_DIR
    _numba_config.CACHE_DIR = folder
    try:
        yield
    finally:
        _numba_config.CACHE_DIR = saved


def _fallback_dir():
    """``<tempdir>/capacity-numba-<uid>``, created private to this user; ``False`` if unusable."""
    if _state["fallback_dir"] is None:
        _state["fallback_dir"] = _make_private_dir() or False
    return _state["fallback_dir"]


def _make_private_dir():
    uid = os.getuid() if hasattr(os, "getuid") else None
    if uid is not None:
        name = str(uid)
    else:  # Windows
        import getpass

        try:
            name = getpass.getuser()
        except Exception:
            name = "user"
    folder = os.path.join(tempfile.gettempdir(), f"capacity-numba-{name}")
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        info = os.lstat(folder)
    except OSError:
        return None
    # Numba's cache holds pickles: use only a real folder that this user owns and nobody else can write
    if not stat.S_ISDIR(info.st_mode):
        return None
    if uid is not None and (info.st_uid != uid or info.st_mode & 0o022):
        return None
    if not os.access(folder, os.W_OK | os.X_OK):
        return None
    return folder
