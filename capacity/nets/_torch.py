"""Lazy torch import, device selection, thread pinning, seeding and the Adam optimiser for capacity.nets.

Determinism contract: on CPU, an experiment called twice with the same seed and
arguments returns bit-identical results (one thread, deterministic algorithms,
explicit ``torch.Generator`` objects — never the global RNG).  On CUDA results are
reproducible only up to floating-point reduction order.
"""
import contextlib

from .. import _torch as _base

DEVICES = _base.DEVICES


def require_torch():
    """Return the torch module, or raise a one-line ImportError with the install command."""
    return _base.require_torch("capacity.nets")


def resolve_device(device="cpu"):
    """Map ``"cpu" | "cuda" | "auto"`` to a ``torch.device`` (the bottom layer's rule; cpu by default here).

    ``"cuda"`` without a visible GPU raises ValueError (never a silent CPU fallback);
    ``"auto"`` picks cuda when available, else cpu.
    """
    return _base.resolve_device(device, what="capacity.nets")


@contextlib.contextmanager
def torch_threads(n=1):
    """Pin torch to ``n`` intra-op threads inside the block (tiny models run fastest on 1)."""
    torch = require_torch()
    old = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(old)


def seeded_generator(seed, device="cpu"):
    """A ``torch.Generator`` on ``device`` seeded from ``seed`` (an int or a sequence of ints).

    Sequences are hashed through ``numpy.random.SeedSequence`` so that (seed, trial, ...)
    tuples give independent streams.
    """
    import numpy as np

    torch = require_torch()
    entropy = [int(s) for s in seed] if isinstance(seed, (tuple, list)) else int(seed)
    state = int(np.random.SeedSequence(entropy).generate_state(1, dtype=np.uint64)[0] >> 1)
    g = torch.Generator(device=str(device))
    g.manual_seed(state)
    return g


def fused_adam(params, lr):
    """``torch.optim.Adam`` (default betas) over ``params``, fused where this torch supports it on the device.

    The fused kernel makes an Adam step about 15 % faster on CPU for the small models here.
    """
    torch = require_torch()
    params = list(params)
    try:
        return torch.optim.Adam(params, lr=lr, fused=True)
    except (RuntimeError, TypeError, ValueError):  # pragma: no cover - older torch / unsupported device
        return torch.optim.Adam(params, lr=lr)
