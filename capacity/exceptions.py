"""Exceptions raised by :mod:`capacity`."""

__all__ = ["CapacityError", "ConvergenceError", "StoreError", "ResourceLimitError"]


class CapacityError(Exception):
    """Base class of the package's own errors."""


class ConvergenceError(CapacityError, RuntimeError):
    """A numerical method failed to reach its stated accuracy.

    Raised by functions that return a bare float; functions returning a
    result object report the failure in ``success``/``status``/``message``
    instead.
    """


class StoreError(CapacityError, ValueError):
    """A results store that cannot be used: a directory, unreadable or unwritable, read-only,
    corrupted, or an SQLite file of another application.  The message is one line naming
    `store`, the path and what is wrong; nothing was written."""


class ResourceLimitError(CapacityError, ValueError):
    """A request refused before any work starts because its estimated memory exceeds the
    limit; the message gives the estimate, the limit and how to raise it (`max_memory`)."""
