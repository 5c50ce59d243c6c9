"""Frozen result objects returned by the public API.

Every result is a frozen dataclass with ``to_dict()`` (JSON-ready, plain Python
types); iterative results carry ``success``, ``status`` and ``message``.
"""
from dataclasses import asdict, dataclass

__all__ = ["Dist2Result", "CapacityResult", "DminResult"]


class _AsDict:
    def to_dict(self):
        """The result as a dict of plain Python scalars (JSON-serialisable)."""
        out = {}
        for k, v in asdict(self).items():
            if hasattr(v, "item"):
                v = v.item()
            out[k] = v
        return out


@dataclass(frozen=True)
class Dist2Result(_AsDict):
    """E dist^2(z, C_kappa) for z ~ N(0, I_{K+1}) and the Gardner load alpha_c = 1/E.

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


@dataclass(frozen=True)
class CapacityResult(_AsDict):
    """Finite-size capacity p_c solving p = n_params * alpha_c(p - 1, kappa) (spec (T3))."""

    d: float
    kappa: float
    n_params: float
    p_c: float
    K: float
    alpha_c: float
    p_log_p_over_d2: float
    p_leading: float
    success: bool
    status: int
    message: str


@dataclass(frozen=True)
class DminResult(_AsDict):
    """Smallest dimension d storing p facts: d_c = sqrt(p E(p - 1, kappa)) and d_min = ceil(d_c)."""

    p: float
    kappa: float
    K: float
    d_c: float
    d_min: int
    alpha_c: float
    success: bool
    status: int
    message: str
