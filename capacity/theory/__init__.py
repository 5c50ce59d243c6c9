"""The physics as public functions; each module implements a section of docs/theory.md.

- :mod:`.decoupled` — exact finite-K Gardner capacity of the decoupled memory,
  finite-size p_c(d), d_min(p), max margin kappa*(alpha, K) (§2, §3);
- :mod:`.fields` — the laws of the optimal memory's fields (exact projection; §3);
- :mod:`.asymptotics` — large-K expansions and the closed-form inversion (mpmath; §4);
- :mod:`.hebbian` — the correlation-matrix memory at finite d (§5);
- :mod:`.two_layer` — two-layer memories (frozen: N = d min(m, d); trained: the Gaussian-width hypothesis
  N_eff = E sum_{i<=m} sigma_i(G)^2 under test, beside the parameter-count conjecture N = 2dm - m^2; §6);
- :mod:`.listwise` — tail-average (listwise) margin: exact projection, Monte Carlo E dist^2, p_c (§7);
- :mod:`.accuracy` — capacity at a target accuracy (replica-symmetric, Monte Carlo tail), facts and bits
  per parameter (docs/accuracy.md §1, §2);
- :mod:`.predict` — the theory value printed beside a simulation, per simulated model.

The physics-free numerics they call (kernels, quadrature rules, order statistics,
root finding, the inverse of p ln p = c) are in :mod:`capacity.solvers` (§8).
``K_MAX`` and ``KAPPA_MAX`` are the ranges of the decoupled solver (§2).
"""
from .accuracy import (
    AccuracyCapacityResult,
    accuracy_at,
    bits_per_param,
    facts_per_param,
    p_c_accuracy,
    solve_p_c_accuracy,
)
from .decoupled import (
    K_MAX,
    KAPPA_MAX,
    alpha_c,
    d_min,
    expected_dist2,
    kappa_star,
    p_c,
    solve_d_min,
    solve_dist2,
    solve_p_c,
)
from .two_layer import (
    N_EFF_D_MAX,
    NEffRankResult,
    TwoLayerWidthResult,
    n_eff_rank,
    n_eff_rank_limit,
    p_c_two_layer_width,
)

__all__ = [
    "AccuracyCapacityResult",
    "K_MAX",
    "KAPPA_MAX",
    "N_EFF_D_MAX",
    "NEffRankResult",
    "TwoLayerWidthResult",
    "accuracy_at",
    "alpha_c",
    "bits_per_param",
    "d_min",
    "expected_dist2",
    "facts_per_param",
    "kappa_star",
    "n_eff_rank",
    "n_eff_rank_limit",
    "p_c",
    "p_c_accuracy",
    "p_c_two_layer_width",
    "solve_d_min",
    "solve_dist2",
    "solve_p_c",
    "solve_p_c_accuracy",
]
