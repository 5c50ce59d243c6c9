r"""Capacity of two-layer linear memories f(x) = W2 W1 x (docs/theory.md §6).

W1 is m x d, W2 is d x m (hidden width m).  Both predictions below are the
finite-size equation (T3) of docs/theory.md §2, p = N alpha_c(p - 1, kappa), with a parameter count N
that depends on which layers are trained:

- **frozen first layer** (W1 random with N(0, 1/d) entries, only W2 trained): the
  problem is the one-layer LP with inputs replaced by the Gaussian hidden codes
  W1 x in R^m, so (T3) holds with N = d min(m, d), at the same level of exactness as
  the one-layer theory (docs/theory.md §2).  For m < d that is the d m trained
  weights; for m >= d the codes span only a d-dimensional subspace of R^m (W1 has
  rank d) and W2 W1 ranges over all d x d matrices, so the memory *is* the one-layer
  d x d memory and N = d^2, not d m;
- **both layers trained**: the product W2 W1 ranges over the d x d matrices of rank
  <= m, a non-convex set.  The *parameter-count conjecture* of docs/theory.md §6 replaces
  N by the dimension of that manifold, N_eff = 2 d m - m^2 for m <= d (and d^2, the
  one-layer value, for m >= d, where every d x d matrix is a product).  It is not a
  derived result, and the certified simulations (``capacity.simulate.two_layer``)
  do not support it: the trained memories store more (docs/theory.md §6).

References
----------
Giorlandino, Goldt, Maillard, "Factual recall in linear associative memories:
sharp asymptotics and mechanistic insights", arXiv:2605.10795 (two-layer
generalisation).
"""
from dataclasses import dataclass

from .._validation import check_real
from ..results import Result
from .decoupled import KAPPA_MAX, solve_p_c

__all__ = ["M_MAX", "TwoLayerCapacityResult", "n_params_two_layer", "p_c_two_layer"]

#: Largest hidden width accepted (the same bound as ``d`` in :func:`capacity.theory.p_c`).
M_MAX = 1e12


@dataclass(frozen=True)
class TwoLayerCapacityResult(Result):
    """(T3) prediction p = N alpha_c(p - 1, kappa) for a two-layer memory of width m (docs/theory.md §6).

    ``conjecture`` is True when the value rests on the parameter-count conjecture of
    docs/theory.md §6 (both layers trained and m < d: N_eff = 2 d m - m^2), False
    when it is the (T3) theory proper (frozen first layer, N = d min(m, d); or
    trained with m >= d, N = d^2).  ``basis`` says which in words.  ``note`` is
    empty unless m >= d, where it says that the memory is the one-layer d x d
    memory (N = d^2 whatever m).  The root search cannot fail without raising, so
    there is no status.
    """

    d: float
    m: float
    trained: bool
    kappa: float
    n_params: float
    p_c: float
    K: float
    alpha_c: float
    p_log_p_over_d2: float
    conjecture: bool
    basis: str
    note: str = ""


def _two_layer_iv(d, m, trained):
    d = check_real("d", d, low=1.0, high=1e12)
    m = check_real("m", m, low=1.0, high=M_MAX)
    if not isinstance(trained, bool):
        raise TypeError(f"`trained` must be a bool; got {trained!r} of type {type(trained).__name__}")
    return d, m, trained


def n_params_two_layer(d, m, *, trained=False):
    r"""Parameter count N that enters (T3) for a two-layer memory W2 W1 of width m (docs/theory.md §6).

    Parameters
    ----------
    d : float
        Embedding dimension, ``1 <= d <= 1e12``.
    m : float
        Hidden width, ``1 <= m <= 1e12``.
    trained : bool, optional
        False: W1 frozen at random, N = d min(m, d): the d m trained weights for
        m < d; for m >= d the random W1 has rank d, W2 W1 ranges over every d x d
        matrix and the memory is the one-layer one (N = d^2).
        True: both layers trained, N_eff = 2 d m - m^2 for m <= d and d^2 for
        m >= d (the dimension of the rank-<= m matrices; a *conjectured* effective
        count, docs/theory.md §6).

    Returns
    -------
    float

    Examples
    --------
    >>> n_params_two_layer(12, 6), n_params_two_layer(12, 6, trained=True)
    (72.0, 108.0)
    >>> n_params_two_layer(12, 20, trained=True)   # m >= d: the one-layer d^2
    144.0
    >>> n_params_two_layer(12, 20)   # frozen, m >= d: also the one-layer d^2, not d m = 240
    144.0
    """
    d, m, trained = _two_layer_iv(d, m, trained)
    if m >= d:
        return d * d
    if not trained:
        return d * m
    return 2.0 * d * m - m * m


def p_c_two_layer(d, m, *, trained=False, kappa=0.0):
    r"""Predicted finite-size capacity of a two-layer linear memory (frozen: theory; trained: conjecture).

    docs/theory.md §6.

    Parameters
    ----------
    d : float
        Embedding dimension, ``1 <= d <= 1e12``.
    m : float
        Hidden width, ``1 <= m <= 1e12``.
    trained : bool, optional
        False (default): first layer frozen at random, only W2 trained; the value
        is the (T3) prediction with N = d min(m, d) (for m >= d the one-layer
        :func:`capacity.theory.p_c`, and ``note`` says so).  True: both layers trained; for m < d
        the value is the **conjectured** capacity with N_eff = 2 d m - m^2 (the
        parameter-count conjecture of docs/theory.md §6, which the certified simulations
        do not support); for
        m >= d it is the one-layer (T3) value (N = d^2), exact at the level of
        docs/theory.md §2.
    kappa : float, optional
        Normalised margin, ``0 <= kappa <= 50``.

    Returns
    -------
    TwoLayerCapacityResult
        ``p_c`` solving p = N alpha_c(p - 1, kappa) (docs/theory.md §2, eq. (T3))
        for N = :func:`n_params_two_layer` ``(d, m, trained=trained)``;
        ``conjecture`` is True (and ``basis`` says so) when ``trained`` and m < d;
        ``note`` is non-empty when m >= d (the one-layer memory).

    Raises
    ------
    ValueError
        For arguments out of range (the message names the argument), or when N is
        too small to store two items at this margin.

    Notes
    -----
    Frozen W1: the hidden codes W1 x are Gaussian in R^m, so for m < d the Gardner
    count of docs/theory.md §2 applies with d m parameters.  For m >= d the codes lie
    in the d-dimensional range of W1 and only the d^2 parameters of W2 restricted to
    it act on them: the memory is the one-layer d x d memory (N = d^2; counting d m
    would overstate p_c by about m/d).  Trained, m >= d: identical to the
    one-layer :func:`capacity.theory.p_c` (every d x d matrix is a product W2 W1).
    Trained, m < d: the Gardner argument needs a convex solution space and the
    rank-<= m products are not convex, so N_eff is a guess; the certified
    simulations (``benchmarks/results/two_layer.md``, d = 12-24) find trained
    capacities *above* it (lower bounds 3-33 % higher for m/d = 3/4 ... 1/4).

    Examples
    --------
    >>> round(p_c_two_layer(16, 8).p_c, 2)
    36.66
    >>> r = p_c_two_layer(16, 8, trained=True)
    >>> round(r.p_c, 2), r.n_params, r.conjecture
    (49.59, 192.0, True)
    >>> from capacity.theory import p_c
    >>> p_c_two_layer(16, 16, trained=True).p_c == p_c(16)
    True
    >>> p_c_two_layer(16, 100).p_c == p_c(16)   # frozen and wide: the one-layer memory
    True
    """
    d, m, trained = _two_layer_iv(d, m, trained)
    kappa = check_real("kappa", kappa, low=0.0, high=KAPPA_MAX)
    n = n_params_two_layer(d, m, trained=trained)
    r = solve_p_c(d, kappa=kappa, n_params=n)
    conjecture = trained and m < d
    if conjecture:
        what = ("CONJECTURE (docs/theory.md §6, not derived): (T3) with N_eff = 2 d m - m^2, "
                "the dimension of rank-m matrices")
    elif trained:
        what = "(T3) with N = d^2: for m >= d every d x d matrix is a product W2 W1"
    elif m >= d:
        what = "(T3) with N = d^2: frozen random first layer of rank d, W2 W1 ranges over all d x d matrices"
    else:
        what = "(T3) with N = d m: frozen random first layer, Gaussian hidden codes"
    note = ""
    if m >= d:
        note = (f"m >= d ({m:g} >= {d:g}): W2 W1 ranges over all d x d matrices, so this is the one-layer "
                f"d x d memory (N = d^2 = {d * d:g}" + (")" if trained else f", not d m = {d * m:g})"))
    return TwoLayerCapacityResult(d=d, m=m, trained=trained, kappa=kappa, n_params=n, p_c=r.p_c, K=r.K,
                                  alpha_c=r.alpha_c, p_log_p_over_d2=r.p_log_p_over_d2, conjecture=conjecture,
                                  basis=what, note=note)
