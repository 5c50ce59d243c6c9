"""Optional torch for the bottom layer: a lazy import with a one-line error, and device selection.

Importing this module never imports torch; :func:`require_torch` does, and where torch is not
installed it raises an ``ImportError`` that names what needed it and the install command.
:func:`resolve_device` maps ``"cpu" | "cuda" | "auto"`` to a ``torch.device``: ``"cuda"`` without
a visible GPU is a ``ValueError``, never a silent fallback to the CPU; ``"auto"`` is cuda when
torch sees a GPU, else cpu.  The simulator's ``"torch"`` feasibility engine uses these (it may not
import :mod:`capacity.nets`, which sits above it).
"""
from ._validation import check_choice

__all__ = ["DEVICES", "INSTALL_HINT", "require_torch", "check_device", "resolve_device", "device_memory"]

#: The values of a ``device`` argument.
DEVICES = ("cpu", "cuda", "auto")
INSTALL_HINT = "pip install torch (or pip install 'capacity[torch]')"


def require_torch(what="this"):
    """Return the torch module, or raise ImportError ``"<what> needs torch, which is not installed: pip install ..."``."""
    try:
        import torch
    except ImportError:
        raise ImportError(f"{what} needs torch, which is not installed: {INSTALL_HINT}") from None
    return torch


def check_device(device, name="device"):
    """``device`` if it is one of :data:`DEVICES` (TypeError / ValueError naming ``name`` otherwise); no torch."""
    return check_choice(name, device, DEVICES)


def resolve_device(device="auto", *, what="this"):
    """The ``torch.device`` for ``"cpu" | "cuda" | "auto"``.

    Raises TypeError / ValueError for another value, ImportError (naming ``what``) without torch, and
    ValueError for ``"cuda"`` when torch sees no CUDA device.
    """
    device = check_device(device)
    torch = require_torch(what)
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"`device` is 'cuda' but torch {torch.__version__} sees no CUDA device; use device 'cpu' "
                         f"or 'auto'")
    return torch.device(device)


def device_memory(device):
    """Total memory in bytes of a CUDA ``torch.device``, or None for the CPU (host memory is guarded elsewhere)."""
    if device.type != "cuda":
        return None
    torch = require_torch()
    return int(torch.cuda.get_device_properties(device).total_memory)
