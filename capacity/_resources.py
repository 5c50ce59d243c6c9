"""Memory guards: estimate what a solve or a sweep will hold at its peak and refuse up front what will not fit.

A request whose estimate exceeds the limit raises
:class:`~capacity.exceptions.ResourceLimitError` (a ``ValueError``) before any array is
allocated, with the estimate, the limit and the way out ("pass `max_memory` to override").
The limit is ``max_memory`` (bytes) where a function takes it, else
:func:`default_memory_limit`: the environment variable ``CAPACITY_MAX_MEMORY`` (bytes, or
with a K/M/G/T suffix: ``"64G"``), else 80 % of the physical memory.

The estimates (:func:`solve_memory`, :func:`sweep_memory`) follow the arrays the engines of
:mod:`capacity.simulate` allocate (docs/simulator.md §2): the instance (x, y: 2 p d doubles);
the p x K margins re-scored every round (with their scaled copy and the argsort that picks
violated rows: 3 p K words; coupled instances add the p x p score matrix); one competitor
block (64 K d doubles, twice); and the engine's working set —

- ``"ldp"``: dense rows vec((y - c) x^T) of n = n_out n_in entries, at most
  max(initial p, n + 1 + added p) of them (rows with a zero NNLS multiplier are pruned), held
  four times (rows, the NNLS matrix E, SciPy's copy of it, the stacking temporary);
- ``"gram"``: the triangular factor buffer of up to (n + 1)^2 doubles (twice while it grows),
  the dense certificate rows ((n + 1) n) and, for decoupled instances, the competitor blocks
  cached once per solve (p K n_out doubles) when they fit in 1 GiB;
- ``"highs"``: the dense rows as above, counted 30 times: our copy, the values and indices
  handed to HiGHS, HiGHS's own row- and column-wise matrices and factorisation, the Gordan LP
  at the end (HiGHS allocates outside Python; measured by the growth of the peak resident
  size, about 25 times the working set);
- ``"torch"``: on the host the dense certificate rows ((n + 1) n) and the working set's pairs;
  on its device (:func:`torch_device_memory`; the host's own memory for device "cpu") the
  factor buffer of up to 1.25 (n + 1)^2 doubles (it jumps to its full size instead of doubling
  past half of it), the temporaries of deletions and entering blocks (a few thousand columns of
  n + 1), the row factors and gradients of the working set, the instance, batches of margins
  of at most 2^25 doubles, and the decoupled competitor blocks (p K n_out doubles) when they
  are kept there (:func:`torch_competitor_cache`: on the CPU up to 1 GiB as for "gram", on a
  GPU up to 40 % of its memory), else one streamed block and each input's few retained
  competitor vectors.  On a GPU the estimate, plus 512 MiB for the CUDA context, is compared
  with the GPU's total memory before any work (:func:`check_device_memory`).

They are meant as upper-ish bounds, not exact figures: at d = 8-32 the estimate (less the
64 MiB floor for the interpreter and libraries) was 1.2-2.6 times the peak that ``tracemalloc``
sees for the NumPy engines, and about 1.0-1.2 times the growth of the peak resident size for
HiGHS (tests/test_resources.py checks the first at small sizes).
"""
import math
import numbers
import os
import re

import numpy as np

from ._validation import check_int, show
from .exceptions import ResourceLimitError

__all__ = ["ENV_VAR", "GIB", "default_memory_limit", "parse_memory", "physical_memory", "check_max_memory",
           "check_memory", "solve_memory", "sweep_memory", "task_overhead", "torch_competitor_cache",
           "torch_device_memory", "check_device_memory"]

#: Environment variable holding the default limit (bytes, or with a K/M/G/T suffix).
ENV_VAR = "CAPACITY_MAX_MEMORY"
GIB = 1 << 30
#: Fraction of the physical memory used as the default limit.
DEFAULT_FRACTION = 0.8
_WORD = 8
_BLOCK = 64
#: Largest competitor cache of the Gram engine (capacity.simulate.feasibility._CompetitorCache): 4 GiB
#: holds every block up to d = 128 near p_c (3.4 GB), where redrawing them cost ~17 s of each ~20 s round.
_GRAM_CACHE = 4 << 30
#: Largest share of a GPU's memory the torch engine fills with cached competitor blocks.
_TORCH_GPU_CACHE = 0.4
#: What the CUDA context and torch's own kernels hold on a GPU besides the engine's tensors.
_CUDA_CONTEXT = 512 << 20
#: Largest temporary of a batch of margins or of a column gather in the torch engine, in doubles.
_TORCH_CHUNK = 1 << 25
#: Entering block and deletion batch of the torch engine (capacity.simulate._torch_gram).
_TORCH_BLOCK = 512
_TORCH_DELETE = 1024
#: Largest difference-vector cache of the trained two-layer search (capacity.simulate.two_layer).
_TWO_LAYER_CACHE = 3 * 10**7 * _WORD
#: Python objects per task of a sweep: the task dict, its JSON key, the result dict and the record
#: built from it (measured about 2.3 KB at small sizes; tests/test_resources.py).
_TASK_BYTES = 4096
#: A floor for the interpreter, NumPy, SciPy and HiGHS themselves.
_BASE_BYTES = 64 << 20
_UNITS = {"": 1, "B": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
_PATTERN = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([KMGT]?)(?:I?B)?\s*$", re.IGNORECASE)


def parse_memory(text, *, name="max_memory"):
    """A memory size in bytes from ``text``: an integer, or a number with a K/M/G/T suffix (powers of 1024).

    ``"8G"``, ``"8GiB"``, ``"8gb"``, ``"512M"``, ``"1.5T"``, ``"1000000"`` are accepted; an int is
    returned unchanged.  The size must be positive.

    Raises
    ------
    TypeError
        For anything but a str or an int.
    ValueError
        For text that is not a size, or a size <= 0; the message names `max_memory` (or ``name``).

    Examples
    --------
    >>> parse_memory("8G"), parse_memory("512M"), parse_memory("1.5K"), parse_memory(4096)
    (8589934592, 536870912, 1536, 4096)
    """
    allowed = "a positive number of bytes, optionally with a K, M, G or T suffix (e.g. 8G)"
    if isinstance(text, (numbers.Integral, np.integer)) and not isinstance(text, (bool, np.bool_)):
        return check_int(name, text, low=1)
    if not isinstance(text, str):
        raise TypeError(f"`{name}` must be {allowed}; got {show(text)} of type {type(text).__name__}")
    match = _PATTERN.match(text)
    if match is None:
        raise ValueError(f"`{name}` must be {allowed}; got {show(text)}")
    value = float(match.group(1)) * _UNITS[match.group(2).upper()]
    if not math.isfinite(value) or value < 1:
        raise ValueError(f"`{name}` must be {allowed}; got {show(text)}")
    return int(value)


def physical_memory():
    """Physical memory in bytes (``os.sysconf``), or None where the platform does not say."""
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):  # pragma: no cover - platform dependent
        return None
    if pages <= 0 or size <= 0:  # pragma: no cover
        return None
    return int(pages) * int(size)


def default_memory_limit():
    """The memory limit used when ``max_memory`` is None, in bytes.

    ``CAPACITY_MAX_MEMORY`` if set (bytes or with a K/M/G/T suffix; a bad value is a
    ValueError naming it), else 80 % of the physical memory, else (the platform does not
    say) no limit (``2**63 - 1``).
    """
    text = os.environ.get(ENV_VAR, "").strip()
    if text:
        return parse_memory(text, name=ENV_VAR)
    phys = physical_memory()
    return int(DEFAULT_FRACTION * phys) if phys else (1 << 63) - 1


def check_max_memory(max_memory):
    """``max_memory`` as bytes: None -> :func:`default_memory_limit`; else a positive int (TypeError,
    ValueError naming `max_memory` otherwise)."""
    if max_memory is None:
        return default_memory_limit()
    if isinstance(max_memory, (bool, np.bool_)) or not isinstance(max_memory, (numbers.Integral, np.integer)):
        raise TypeError(f"`max_memory` must be a positive int (bytes) or None; got {show(max_memory)} of type "
                        f"{type(max_memory).__name__} (use capacity._resources.parse_memory for '8G')")
    return check_int("max_memory", max_memory, low=1)


def _gib(nbytes):
    return f"{nbytes / GIB:.3g} GiB"


def check_memory(what, nbytes, max_memory=None):
    """Raise :class:`ResourceLimitError` if ``nbytes`` (the estimate for ``what``) exceeds the limit.

    ``max_memory`` is bytes, or None for :func:`default_memory_limit`.  Returns the estimate.

    Examples
    --------
    >>> check_memory("a test", 10, max_memory=100)
    10
    """
    limit = check_max_memory(max_memory)
    if nbytes > limit:
        raise ResourceLimitError(f"{what} needs about {_gib(nbytes)} of memory, over the limit of {_gib(limit)}; "
                                 f"reduce the problem or pass `max_memory` to override")
    return nbytes


def solve_memory(d, p, K=None, *, model="decoupled", method="ldp", experiment="feasibility", m=None, n_in=None,
                 n_out=None, initial_per_input=4, add_per_input=4, device_memory=None):
    """Estimated peak bytes of one solve in host memory (see the module docstring for what is counted).

    Parameters
    ----------
    d, p, K : int
        Dimension, items and competitors per input (K None: p - 1).
    model : {"decoupled", "coupled"}
    method : {"ldp", "gram", "highs", "torch"}
        The feasibility engine (``experiment="feasibility"``).
    experiment : {"feasibility", "margin", "hebbian", "two-layer-frozen", "two-layer"}
    m : int, optional
        Hidden width of the two-layer experiments.
    n_in, n_out : int, optional
        Shape of the memory the engine solves for (default d, d; a projected instance's).
    initial_per_input, add_per_input : int
        The cutting-plane settings (rows per input at the start and added per round).
    device_memory : int, optional
        Method "torch" only: the total memory of the GPU it runs on (its tensors are then not
        counted here but by :func:`torch_device_memory`); None for device "cpu", whose tensors are
        counted here.

    Examples
    --------
    >>> solve_memory(16, 40000) > 12 * 2**30   # the p x K margins alone are 12 GiB
    True
    """
    d, p = int(d), int(p)
    K = p - 1 if K is None else int(K)
    n_in = d if n_in is None else int(n_in)
    n_out = d if n_out is None else int(n_out)
    if experiment in ("two-layer-frozen", "two-layer") and m is not None:
        n_in = int(m)
    n = n_in * n_out
    pk = float(p) * K
    base = 2.0 * p * d + 2.0 * _BLOCK * K * d + 3.0 * pk  # instance, a competitor block, margins + argsort
    if model == "coupled":
        base += float(p) * p
    initial = p * min(int(initial_per_input), K)
    ws = min(pk, max(initial, n + 1 + int(add_per_input) * p))
    ldp = 4.0 * ws * (n + 1)
    if experiment == "hebbian":
        words = base + d * d
    elif experiment == "margin":
        # target "unit" adds up to 2 rows per input; the result holds p x K scores; a fallback solve may follow
        words = base + 2.0 * pk + 4.0 * min(pk, max(initial, n + 1 + 2 * p)) * (n + 1)
    elif experiment == "two-layer":
        # the one-layer check (d x d), the frozen check (d x m) and the alternating solves (d m unknowns):
        # the largest of them, the cached difference vectors and the Newton system
        n_big = d * max(d, n_in)
        ws_big = min(pk, max(initial, n_big + 1 + int(add_per_input) * p))
        words = base + 4.0 * ws_big * (n_big + 1) + 2.0 * (n + 1) ** 2
        words += min(pk * d * _WORD, _TWO_LAYER_CACHE) / _WORD
    elif method == "gram":
        cache = pk * n_out * _WORD if model == "decoupled" and pk * n_out * _WORD <= _GRAM_CACHE else 0.0
        words = base + 3.0 * (n + 1) ** 2 + cache / _WORD + 2.0 * ws * (n_in + n_out)
    elif method == "highs":
        words = base + 30.0 * ws * (n + 1)
    elif method == "torch":
        # host: the dense certificate rows, the pairs, each input's smallest margins; the device's tensors when
        # the device is the CPU
        words = base + (n + 1.0) * n + 4.0 * ws + 2.0 * p * int(add_per_input)
        if device_memory is None:
            words += (torch_device_memory(d, p, K, model=model, n_in=n_in, n_out=n_out,
                                          initial_per_input=initial_per_input, add_per_input=add_per_input)
                      - _BASE_BYTES) / _WORD
    else:
        words = base + ldp
    return int(_BASE_BYTES + _WORD * words)


def torch_competitor_cache(p, K, n_out, *, model="decoupled", device_memory=None):
    """Bytes of competitor blocks the ``"torch"`` engine keeps on its device (0: it streams them).

    Decoupled instances only: their p K n_out doubles are kept when they fit in 1 GiB on the CPU
    (``device_memory`` None; as the Gram engine's cache) or in 40 % of a GPU's ``device_memory``.

    Examples
    --------
    >>> torch_competitor_cache(100, 99, 16), torch_competitor_cache(100, 99, 16, model="coupled")
    (1267200, 0)
    """
    if model != "decoupled":
        return 0
    nbytes = int(p) * int(K) * int(n_out) * _WORD
    cap = _GRAM_CACHE if device_memory is None else _TORCH_GPU_CACHE * device_memory
    return nbytes if nbytes <= cap else 0


def torch_device_memory(d, p, K=None, *, model="decoupled", n_in=None, n_out=None, initial_per_input=4,
                        add_per_input=4, device_memory=None):
    """Estimated peak bytes the ``"torch"`` feasibility engine allocates on its device (module docstring).

    ``device_memory`` is the GPU's total memory (None: the CPU); it decides whether the decoupled
    competitor blocks are kept there (:func:`torch_competitor_cache`).  The value includes the
    64 MiB floor of :func:`solve_memory` but not the CUDA context (:func:`check_device_memory` adds it).

    Examples
    --------
    >>> torch_device_memory(64, 564) > 8 * 4097**2   # more than the full factor at d = 64
    True
    """
    d, p = int(d), int(p)
    K = p - 1 if K is None else int(K)
    n_in = d if n_in is None else int(n_in)
    n_out = d if n_out is None else int(n_out)
    n1 = float(n_in * n_out + 1)
    pk = float(p) * K
    add = min(int(add_per_input), K)
    ws = min(pk, max(p * min(int(initial_per_input), K), n1 + int(add_per_input) * p))
    words = 1.25 * n1 * n1  # the factor buffer, growth included
    words += min(_TORCH_CHUNK, n1 * n1)  # gathering the kept columns of a deletion
    h = min(2.0 * _TORCH_DELETE, n1)  # rows of a deletion's panel
    words += 3.0 * h * n1 + h * h  # a panel's rows, Q^T times them, Q
    words += 5.0 * min(_TORCH_BLOCK, n1) * n1  # an entering block: H_PB, R12 and the temporaries of forming them
    words += 4.0 * ws * (n_in + n_out) + 4.0 * n1  # row factors (twice while rows are added), gradients, y1
    words += 2.0 * p * (n_in + n_out)  # x, y and the rows W x_mu
    batch = min(_TORCH_CHUNK, float(p) * p if model == "coupled" else pk)
    words += 3.0 * batch + 3.0 * p * add  # a batch of margins, its top-k and temporaries; each input's smallest
    cache = torch_competitor_cache(p, K, n_out, model=model, device_memory=device_memory)
    if cache:
        words += cache / _WORD
    elif model != "coupled":
        words += 2.0 * _BLOCK * K * n_out + p * add * n_out  # a streamed block and the retained vectors
    return int(_BASE_BYTES + _WORD * words)


def check_device_memory(what, nbytes, device_memory, device="cuda"):
    """Raise :class:`ResourceLimitError` (naming `device`) if ``nbytes`` plus the CUDA context exceeds the
    GPU's ``device_memory``; returns the total.

    Examples
    --------
    >>> check_device_memory("a test", 10, 80 * GIB) > 10
    True
    """
    need = int(nbytes) + _CUDA_CONTEXT
    if need > device_memory:
        raise ResourceLimitError(f"{what} needs about {_gib(need)} of memory on {device}, over its "
                                 f"{_gib(device_memory)} (`device`); reduce the problem or use device 'cpu'")
    return need


def task_overhead(n_tasks):
    """Bytes of the Python objects a sweep of ``n_tasks`` tasks keeps (tasks, keys, results, records)."""
    return int(_TASK_BYTES * n_tasks)


def sweep_memory(per_trial, n_tasks, jobs=1):
    """Estimated peak bytes of a sweep: ``jobs`` solves at once (``per_trial`` bytes each, the largest
    task's) plus the Python objects of ``n_tasks`` tasks."""
    return int(max(1, jobs) * per_trial + task_overhead(n_tasks))
