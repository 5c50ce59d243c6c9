"""capacity — how many facts can a memory store?

Exact Gardner/replica capacity of the decoupled linear associative memory at
finite K, its finite-size prediction p_c(d), the max margin and the laws of the
optimal memory, and sharp large-K asymptotics.  The equations the code
implements, with their sources, are in docs/theory.md.

>>> import capacity
>>> round(capacity.p_c(16), 1)
61.7

Public API
----------
Theory (:mod:`capacity.theory`): :func:`expected_dist2`, :func:`alpha_c`,
:func:`solve_dist2`, :func:`p_c`, :func:`solve_p_c`, :func:`d_min`,
:func:`solve_d_min`,
:func:`kappa_star`, :func:`prob_raised`, :func:`sample_projection`;
asymptotics in :mod:`capacity.theory.asymptotics`.
"""
__version__ = "0.1.0"

from .exceptions import CapacityError, ConvergenceError
from .results import CapacityResult, DminResult, Dist2Result
from .theory import alpha_c, d_min, expected_dist2, kappa_star, p_c, solve_d_min, solve_dist2, solve_p_c
from .theory.fields import ProjectionSample, prob_raised, sample_projection

__all__ = [
    "__version__",
    "CapacityError",
    "ConvergenceError",
    "CapacityResult",
    "DminResult",
    "Dist2Result",
    "ProjectionSample",
    "alpha_c",
    "d_min",
    "expected_dist2",
    "kappa_star",
    "p_c",
    "prob_raised",
    "sample_projection",
    "solve_d_min",
    "solve_dist2",
    "solve_p_c",
]
