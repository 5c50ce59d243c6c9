"""Frozen result objects returned by the public API, and the one JSON conversion.

Every result is a frozen dataclass deriving from :class:`Result`, whose
``to_dict()`` turns it, recursively, into plain Python: nested results and
dataclasses become dicts, tuples and arrays become lists, NumPy scalars become
Python numbers (integers stay integers), paths become strings.  NaN and infinities stay floats there;
:func:`json_ready` (what ``--json`` prints) turns them into ``None``.

Results of computations that can fail carry ``success``, ``status`` and
``message``; closed forms and root searches that raise
:class:`~capacity.exceptions.ConvergenceError` instead do not.
"""
import dataclasses
import math
import os
from collections.abc import Mapping

import numpy as np

__all__ = ["Result", "RowsResult", "Dist2Result", "CapacityResult", "DminResult", "plain", "json_ready",
           "json_default"]


def plain(value):
    """``value`` as plain Python, recursively (see the module docstring); NaN stays NaN.

    >>> plain({"a": np.float64(0.5), "b": (np.int64(3), np.array([1.0, 2.0]))})
    {'a': 0.5, 'b': [3, [1.0, 2.0]]}
    """
    if isinstance(value, Result) or (hasattr(value, "to_dict") and not isinstance(value, type)):
        return value.to_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {(k if isinstance(k, str) else str(k)): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value


def json_ready(value):
    """``plain(value)`` with every NaN or infinity replaced by ``None`` (strict JSON).

    >>> json_ready([float("nan"), -float("inf"), np.float32(1.5), np.int64(2)])
    [None, None, 1.5, 2]
    """
    value = plain(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_ready(v) for v in value]
    return value


def json_default(obj):
    """``default=`` hook for :func:`json.dumps`: NumPy scalars and arrays as the equivalent Python values.

    Anything else raises ``TypeError`` (as ``json.dumps`` would), so that a stored record or a
    figure's provenance never silently turns an object into its ``repr``.

    >>> import json
    >>> json.dumps({"x": np.float64(0.5), "n": np.arange(2)}, default=json_default)
    '{"x": 0.5, "n": [0, 1]}'
    """
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"{obj!r} of type {type(obj).__name__} is not JSON-serialisable")


@dataclasses.dataclass(frozen=True)
class Result:
    """Base of every result object: a frozen dataclass with a recursive ``to_dict()``."""

    def to_dict(self):
        """The result as a dict of plain Python values (JSON-serialisable with NaN allowed)."""
        return {f.name: plain(getattr(self, f.name)) for f in dataclasses.fields(self)}


@dataclasses.dataclass(frozen=True)
class RowsResult(Result):
    """Result of an experiment that prints a table: one row object per table row, the settings the
    run used, and the warnings it raised.  Subclasses add ``format_table()``."""

    rows: list
    settings: dict
    warnings: list = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class Dist2Result(Result):
    """E dist^2(z, C_kappa) for z ~ N(0, I_{K+1}) and the Gardner load alpha_c = 1/E (docs/theory.md, eq. T1).

    ``abserr`` is the solver's error estimate (Gauss-Kronrod estimate plus the
    bounded truncations); ``n_nodes`` the number of complex integrand nodes.
    """

    K: float
    kappa: float
    expected_dist2: float
    alpha_c: float
    abserr: float
    n_nodes: int
    success: bool
    status: int
    message: str


@dataclasses.dataclass(frozen=True)
class CapacityResult(Result):
    """Finite-size capacity p_c solving p = n_params * alpha_c(p - 1, kappa) (docs/theory.md, eq. T3)."""

    d: float
    kappa: float
    n_params: float
    p_c: float
    K: float
    alpha_c: float
    p_log_p_over_d2: float
    p_leading: float


@dataclasses.dataclass(frozen=True)
class DminResult(Result):
    """Smallest dimension d storing p facts: d_c = sqrt(p E(p - 1, kappa)) and d_min = ceil(d_c)."""

    p: float
    kappa: float
    K: float
    d_c: float
    d_min: int
    alpha_c: float
