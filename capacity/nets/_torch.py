"""Lazy torch import, device selection, thread pinning, seeding and the Adam optimiser for capacity.nets.

Determinism contract: on CPU, an experiment called twice with the same seed and
arguments returns bit-identical results (one thread, deterministic algorithms,
explicit ``torch.Generator`` objects — never the global RNG).  On CUDA results are
reproducible only up to floating-point reduction order.
"""
import contextlib

DEVICES = ("cpu", "cuda", "auto")

_INSTALL_HINT = "capacity.nets needs torch: pip install torch==2.13.0 'capacity[torch]' (any torch >= 2.1 works)"


def require_torch():
    """Return the torch module, or raise ImportError with the install command."""
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - exercised only without torch
        raise ImportError(_INSTALL_HINT) from exc
    return torch


def resolve_device(device="cpu"):
    """Map ``"cpu" | "cuda" | "auto"`` to a ``torch.device``.

    ``"cuda"`` without a visible GPU raises ValueError (never a silent CPU fallback);
    ``"auto"`` picks cuda when available, else cpu.
    """
    if not isinstance(device, str):
        raise TypeError(f"`device` must be a string ({', '.join(DEVICES)}); got {type(device).__name__}")
    if device not in DEVICES:
        raise ValueError(f"`device` must be one of {', '.join(DEVICES)}; got {device!r}")
    torch = require_torch()
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("`device` is 'cuda' but torch sees no CUDA device; use --device cpu or auto")
    return torch.device(device)


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
