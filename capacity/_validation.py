"""Input validation shared by the public functions.

Every public function calls one of these before touching a kernel, so that a
bad argument fails with a one-line message naming the argument, the value
received and what is allowed, e.g. "`kappa` must be finite and >= 0; got -0.5".
Kernels themselves never validate.
"""
import math
import numbers

import numpy as np

__all__ = ["check_real", "check_int", "check_bool", "check_choice", "check_instance", "check_callable", "show"]

_SHOW_MAX = 60


def show(value):
    """``repr(value)`` on one line and at most about 60 characters (for error messages).

    >>> show("abc"), show(list(range(100)))[:12]
    ("'abc'", '[0, 1, 2, 3,')
    """
    text = " ".join(repr(value).split())
    return text if len(text) <= _SHOW_MAX else text[:_SHOW_MAX - 3] + "..."


def _got(value):
    return f"got {show(value)} of type {type(value).__name__}"


def _describe(low, high, low_open, high_open):
    parts = []
    if low is not None:
        parts.append(f"{'>' if low_open else '>='} {low:g}")
    if high is not None:
        parts.append(f"{'<' if high_open else '<='} {high:g}")
    return " and ".join(parts)


def check_real(name, value, *, low=None, high=None, low_open=False, high_open=False):
    """Return ``value`` as a finite Python float within the given bounds.

    Raises
    ------
    TypeError
        If ``value`` is not a real number (bools and strings are rejected).
    ValueError
        If it is NaN, infinite or outside ``[low, high]`` (open ends with
        ``low_open``/``high_open``).
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise TypeError(f"`{name}` must be a real number; {_got(value)}")
    x = float(value)
    rng = _describe(low, high, low_open, high_open)
    allowed = f"finite and {rng}" if rng else "finite"
    bad = not math.isfinite(x)
    if not bad and low is not None:
        bad = x <= low if low_open else x < low
    if not bad and high is not None:
        bad = x >= high if high_open else x > high
    if bad:
        raise ValueError(f"`{name}` must be {allowed}; got {show(value)}")
    return x


def check_int(name, value, *, low=None, high=None):
    """Return ``value`` as a Python int within ``[low, high]``.

    Integral floats such as ``16.0`` are accepted; ``16.5`` is not.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise TypeError(f"`{name}` must be an integer; {_got(value)}")
    x = float(value)
    rng = _describe(low, high, False, False)
    allowed = f"an integer {rng}" if rng else "an integer"
    if not math.isfinite(x) or x != math.floor(x):
        raise ValueError(f"`{name}` must be {allowed}; got {show(value)}")
    n = int(value) if isinstance(value, (numbers.Integral, np.integer)) else int(x)
    if (low is not None and n < low) or (high is not None and n > high):
        raise ValueError(f"`{name}` must be {allowed}; got {show(value)}")
    return n


def check_bool(name, value):
    """Return ``value`` as a Python bool; anything but ``True``/``False`` (or a NumPy bool) is a TypeError.

    >>> check_bool("warm_start", True)
    True
    """
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"`{name}` must be a bool (True or False); {_got(value)}")
    return bool(value)


def check_choice(name, value, choices):
    """Return ``value`` if it is one of the strings ``choices``: TypeError for a non-string,
    ValueError for another string.

    >>> check_choice("method", "gram", ("ldp", "gram", "highs"))
    'gram'
    """
    allowed = ", ".join(choices)
    if not isinstance(value, str):
        raise TypeError(f"`{name}` must be one of {allowed}; {_got(value)}")
    if value not in choices:
        raise ValueError(f"`{name}` must be one of {allowed}; got {show(value)}")
    return value


def check_callable(name, value):
    """Return ``value`` if it is callable, else raise TypeError."""
    if not callable(value):
        raise TypeError(f"`{name}` must be callable; {_got(value)}")
    return value


#: What the certified engines read from an instance (capacity.simulate.Instance and its
#: nested and projected variants all provide it).
_INSTANCE_ATTRS = ("d", "p", "K", "x", "y", "margins", "competitor_block", "n_blocks")


def check_instance(name, inst):
    """Return ``inst`` if it looks like a simulator instance (``make_instance``, ``make_nested_instance``,
    a ``ProjectedInstance``): the attributes the engines read, and 2-D ``x``, ``y`` with p rows.

    Raises TypeError naming ``name`` otherwise (e.g. for None or a string).
    """
    missing = [a for a in _INSTANCE_ATTRS if not hasattr(inst, a)]
    if missing:
        raise TypeError(f"`{name}` must be an instance from capacity.simulate.make_instance (or "
                        f"make_nested_instance); {_got(inst)}")
    x, y = getattr(inst, "x"), getattr(inst, "y")
    if not (isinstance(x, np.ndarray) and isinstance(y, np.ndarray) and x.ndim == 2 and y.ndim == 2
            and len(x) == len(y) == inst.p):
        raise TypeError(f"`{name}` must be an instance from capacity.simulate.make_instance; its x and y are "
                        f"not p x n arrays")
    return inst
