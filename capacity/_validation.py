"""Input validation shared by the public functions.

Every public function calls one of these before touching a kernel, so that a
bad argument fails with a one-line message naming the argument, the value
received and what is allowed, e.g. "`kappa` must be finite and >= 0; got -0.5".
Kernels themselves never validate.
"""
import math
import numbers

import numpy as np

__all__ = ["check_real", "check_int"]


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
        raise TypeError(f"`{name}` must be a real number; got {value!r} of type {type(value).__name__}")
    x = float(value)
    rng = _describe(low, high, low_open, high_open)
    allowed = f"finite and {rng}" if rng else "finite"
    bad = not math.isfinite(x)
    if not bad and low is not None:
        bad = x <= low if low_open else x < low
    if not bad and high is not None:
        bad = x >= high if high_open else x > high
    if bad:
        raise ValueError(f"`{name}` must be {allowed}; got {value!r}")
    return x


def check_int(name, value, *, low=None, high=None):
    """Return ``value`` as a Python int within ``[low, high]``.

    Integral floats such as ``16.0`` are accepted; ``16.5`` is not.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise TypeError(f"`{name}` must be an integer; got {value!r} of type {type(value).__name__}")
    x = float(value)
    rng = _describe(low, high, False, False)
    allowed = f"an integer {rng}" if rng else "an integer"
    if not math.isfinite(x) or x != math.floor(x):
        raise ValueError(f"`{name}` must be {allowed}; got {value!r}")
    n = int(x)
    if (low is not None and n < low) or (high is not None and n > high):
        raise ValueError(f"`{name}` must be {allowed}; got {value!r}")
    return n
