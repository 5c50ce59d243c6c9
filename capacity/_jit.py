"""The package's single Numba decorator policy.

Every kernel is compiled with ``cache=True`` (compilation is paid once per
machine), ``error_model="numpy"`` (floating-point errors give inf/nan instead
of raising, so kernels can report status codes) and *no* ``fastmath`` (the
accuracy claims of :mod:`capacity.solvers` rely on IEEE semantics).

Kernels run unchanged under ``NUMBA_DISABLE_JIT=1``, which the tests use to
check them as plain Python.
"""
import numba

__all__ = ["njit"]


def njit(*args, **kwargs):
    """``numba.njit`` with the package policy (cache, numpy error model, no fastmath)."""
    kwargs.setdefault("cache", True)
    kwargs.setdefault("error_model", "numpy")
    kwargs.setdefault("fastmath", False)
    if args and callable(args[0]) and len(args) == 1:
        return numba.njit(**kwargs)(args[0])
    return numba.njit(*args, **kwargs)
