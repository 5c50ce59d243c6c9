"""Exceptions raised by :mod:`capacity`."""

__all__ = ["CapacityError", "ConvergenceError"]


class CapacityError(Exception):
    """Base class of the package's own errors."""


class ConvergenceError(CapacityError, RuntimeError):
    """A numerical method failed to reach its stated accuracy.

    Raised by functions that return a bare float; functions returning a
    result object report the failure in ``success``/``status``/``message``
    instead.
    """
