"""The physics as public functions (spec/theory.md).

- :mod:`.decoupled` — exact finite-K Gardner capacity of the decoupled memory,
  finite-size p_c(d), d_min(p), max margin kappa*(alpha, K);
- :mod:`.fields` — the laws of the optimal memory's fields (exact projection);
- :mod:`.asymptotics` — large-K expansions and the closed-form inversion (mpmath);
- :mod:`.two_layer` — two-layer memories (frozen: N = dm; trained: the conjecture N = 2dm - m^2);
- :mod:`.listwise` — tail-average (listwise) margin: exact projection, Monte Carlo E dist^2, p_c;
- :mod:`.hebbian` — the correlation-matrix memory at finite d.
"""
from .decoupled import K_MAX, KAPPA_MAX, alpha_c, d_min, expected_dist2, kappa_star, p_c, solve_d_min, solve_dist2, solve_p_c

__all__ = [
    "K_MAX",
    "KAPPA_MAX",
    "alpha_c",
    "d_min",
    "expected_dist2",
    "kappa_star",
    "p_c",
    "solve_d_min",
    "solve_dist2",
    "solve_p_c",
]
