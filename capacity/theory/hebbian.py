r"""Finite-d theory of the Hebbian (correlation-matrix) memory (docs/theory.md §5).

The memory is W_H = sum_nu y_nu x_nu^T; candidate c scores c^T W_H x_mu on input mu,
and input mu is *recalled* when its target beats every competitor strictly
(coupled model: the other p - 1 targets; decoupled model: K fresh competitors with
the targets' law, default K = p - 1).  Embeddings are N(0, I/d) ("gaussian") or
uniform on S^{d-1} ("sphere").  Every function defaults to the decoupled model with
Gaussian embeddings (``model="decoupled"``, ``embedding="gaussian"``), as the rest of
the package does.

Exact score moments (:func:`hebbian_score_moments`)
---------------------------------------------------
Write a_nu = |y_nu|^2, b_nu = |x_nu|^2, t_nu = x_nu . x_mu and q2 = E|x|^4 =
1 + 2/d (gaussian) or 1 (sphere); for independent u, v of either law
E(u.v) = 0 and E(u.v)^2 = E|u|^2 / d = 1/d.  The correct score and a coupled
competitor y_kappa are

    h_0     = a_mu b_mu + sum_{nu != mu} (y_mu . y_nu) t_nu,
    h_kappa = (y_kappa . y_mu) b_mu + a_kappa t_kappa
              + sum_{nu != mu, kappa} (y_kappa . y_nu) t_nu,

and a decoupled competitor scores z . W_H x_mu with z independent of W_H.  Every
cross term is odd in some independent vector, so all the terms are uncorrelated and

    E h_0 = 1,   Var h_0 = q2^2 - 1 + (p - 1)/d^2,
    coupled:     E h_k = 0,  Var h_k = 2 q2/d + (p - 2)/d^2,
    decoupled:   E h_k = 0,  Var h_k = E|W_H x_mu|^2 / d = q2/d + (p - 1)/d^2,
    Cov(h_0, h_k) = 0,  Cov(h_k, h_l) = 0  (k != l).

(Gaussian: q2^2 - 1 = 4/d + 4/d^2 is the variance of the norm product a b.)

Two pictures of the recall probability
--------------------------------------
``method="gaussian"``: the plain Gaussian picture, h_0 ~ N(1, Var h_0) and K i.i.d.
competitors N(0, Var h_k) independent of it, P(recall) = int Dx Phi((1 + s_0 x)/s_c)^K;
poor at the dimensions one simulates.  ``method="conditional"`` (default): the same
ingredients conditioned exactly on what the competitors of one input share, with
the competitor geometry in closed form (a Student-t tail on the sphere, a Gaussian
or quadratic threshold with Gaussian embeddings) and the competitors treated as
independent given the shared variables.  The derivation, what it drops and the
quadrature (rules of :mod:`capacity.solvers.quadrature`) are in
:mod:`capacity.theory._hebbian_fail`; all recalled: P(all) = P(recall)^p (inputs
treated as independent).

Asymptotics
-----------
With sigma^2 = p/d^2 the competitor variance (the O(1/d) terms vanish relative
to it) and h_0 ~ 1:

- typical item: the largest of ~p competitors is sigma sqrt(2 ln p); it reaches 1
  when 2 p ln p = d^2, i.e. p ln p / d^2 -> 1/2;
- all items: a pair (mu, kappa) fails when h_0 - h_kappa ~ N(1, 2 sigma^2) < 0, with
  probability ~ exp(-d^2/(4p)); the union over ~p^2 pairs is O(1) when
  d^2/(4p) = 2 ln p, i.e. p ln p / d^2 -> 1/8.

At finite d the logarithmic prefactors (p^2 Phibar(d/sqrt(2p)) = ln 2 rather than
p^2 e^{-d^2/4p} = 1) keep p ln p / d^2 *above* the constants, and failures of one
input cluster (a low correct score lets several competitors win at once), which
pushes it up further; the approach is logarithmically slow.  The theory's
all-recalled value (coupled, sphere) is 0.117 at d = 20..50, 0.137 at d = 400, peaks at 0.140 near
d = 3000 and is 0.137 at d = 1e5; for a typical item 0.54..0.59 at d = 20..3000 and
0.562 at d = 1e5.

References
----------
Barnfield, Kim, Nichani, Lee, Lu, "Sharp Capacity Thresholds in Linear Associative
Memory", arXiv:2605.05189.
Giorlandino, Goldt, Maillard, "Factual recall in linear associative memories",
arXiv:2605.10795.
"""
import math
from dataclasses import dataclass

from .._validation import check_choice, check_int, check_real
from ..exceptions import ConvergenceError
from ..results import Result
from ..solvers.plogp import inverse_p_log_p
from ..solvers.roots import brent
from ._hebbian_fail import _fail, _moments, _sphere_tail  # noqa: F401  (_sphere_tail: tested here)

__all__ = [
    "HEBBIAN_THRESHOLDS",
    "HebbianScoreMoments",
    "HebbianCapacityResult",
    "hebbian_score_moments",
    "hebbian_recall_prob",
    "hebbian_all_recalled_prob",
    "hebbian_p_c",
    "hebbian_capacity",
    "hebbian_p_c_asymptotic",
    "hebbian_threshold",
]

MODELS = ("coupled", "decoupled")
EMBEDDINGS = ("gaussian", "sphere")
METHODS = ("conditional", "gaussian")
CRITERIA = ("all", "typical")

#: Asymptotic thresholds c in p ln p / d^2 -> c: "typical" (an item is recalled with
#: probability 1/2) and "all" (every item recalled with probability 1/2).
HEBBIAN_THRESHOLDS = {"typical": 0.5, "all": 0.125}

D_MAX = 10**6
P_MAX = 1e13
#: Largest number of decoupled competitors K per input accepted by the Hebbian theory.
K_MAX_HEBBIAN = 1e12


# --------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------
def _choice(name, value, allowed):
    return check_choice(name, value, allowed)


def _iv(d, p, model, embedding, K, method=None):
    d = check_int("d", d, low=2, high=D_MAX)
    p = check_real("p", p, low=2.0, high=P_MAX)
    model = _choice("model", model, MODELS)
    embedding = _choice("embedding", embedding, EMBEDDINGS)
    if method is not None:
        method = _choice("method", method, METHODS)
    if model == "coupled":
        if K is not None and check_real("K", K, low=1.0, high=K_MAX_HEBBIAN) != p - 1.0:
            raise ValueError(f"`K` must be p - 1 = {p - 1:g} for the coupled model (or None); got {K!r}")
        K = p - 1.0
    else:
        K = p - 1.0 if K is None else check_real("K", K, low=1.0, high=K_MAX_HEBBIAN)
    return d, p, model, embedding, K, method


# --------------------------------------------------------------------------------------
# exact moments
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class HebbianScoreMoments(Result):
    """Exact first and second moments of the raw Hebbian scores of one input (docs/theory.md §5).

    Scores are c^T W_H x_mu with the unnormalised W_H = sum_nu y_nu x_nu^T.
    ``cov_correct_competitor`` = Cov(h_0, h_k), ``cov_competitors`` =
    Cov(h_k, h_l) for k != l (both vanish).
    """

    d: int
    p: float
    K: float
    model: str
    embedding: str
    mean_correct: float
    var_correct: float
    mean_competitor: float
    var_competitor: float
    cov_correct_competitor: float
    cov_competitors: float


def hebbian_score_moments(d, p, *, model="decoupled", embedding="gaussian", K=None):
    r"""Exact mean and variance of the correct and competitor scores of the Hebbian memory (docs/theory.md §5).

    Parameters
    ----------
    d : int
        Dimension, ``2 <= d <= 1e6``.
    p : float
        Number of stored associations, ``p >= 2`` (real values interpolate).
    model : {"decoupled", "coupled"}
    embedding : {"gaussian", "sphere"}
    K : float, optional
        Competitors per input (decoupled; the coupled model has ``K = p - 1``).

    Returns
    -------
    HebbianScoreMoments

    Notes
    -----
    With q2 = E|x|^4 (1 + 2/d gaussian, 1 sphere): E h_0 = 1,
    Var h_0 = q2^2 - 1 + (p-1)/d^2; E h_k = 0 and Var h_k = 2 q2/d + (p-2)/d^2
    (coupled) or q2/d + (p-1)/d^2 (decoupled); all covariances vanish.  Derivation
    in the module docstring and docs/theory.md §5 ("Exact score moments");
    verified by Monte Carlo in the tests.

    Examples
    --------
    >>> m = hebbian_score_moments(20, 11, model="coupled", embedding="sphere")
    >>> m.var_correct, round(m.var_competitor, 6)     # 10/400 and 2/20 + 9/400
    (0.025, 0.1225)
    """
    d, p, model, embedding, K, _ = _iv(d, p, model, embedding, K)
    m0, v0, vc = _moments(d, p, model, embedding)
    return HebbianScoreMoments(
        d=d, p=p, K=K, model=model, embedding=embedding,
        mean_correct=m0, var_correct=v0, mean_competitor=0.0, var_competitor=vc,
        cov_correct_competitor=0.0, cov_competitors=0.0,
    )


# --------------------------------------------------------------------------------------
# public probabilities
# --------------------------------------------------------------------------------------
def hebbian_recall_prob(d, p, *, model="decoupled", embedding="gaussian", K=None, method="conditional"):
    r"""Probability that one input's target beats all its competitors under W_H (docs/theory.md §5).

    Parameters
    ----------
    d : int
        Dimension, ``2 <= d <= 1e6``.
    p : float
        Stored associations, ``p >= 2`` (real values interpolate).
    model : {"decoupled", "coupled"}
        Competitors: K fresh vectors with the targets' law (default) or the other
        p - 1 stored targets.
    embedding : {"gaussian", "sphere"}
        N(0, I/d) entries (default) or uniform on the unit sphere.
    K : float, optional
        Competitors per input: ``p - 1`` (coupled, the only value) or any real
        ``K >= 1`` (decoupled, default ``p - 1``).
    method : {"conditional", "gaussian"}
        The conditional picture (default; exact competitor geometry and the
        input's common competitor variance) or the plain Gaussian picture
        (independent Gaussian scores with the exact moments of
        :func:`hebbian_score_moments`).  See the module docstring and
        docs/theory.md §5.

    Returns
    -------
    float

    Notes
    -----
    ``method="gaussian"``: P = int Dx Phi((1 + s_0 x)/s_c)^K, composite
    Gauss-Legendre on |x| <= 9.5, relative error of 1 - P < 1e-9.
    ``method="conditional"``: P = E[(1 - P(fail | shared))^K] (module
    docstring), quadrature error < 5e-5 relative in 1 - P for d >= 20.
    Runtime: ~1 ms (gaussian picture), ~10 ms (sphere), ~0.1 s (gaussian
    embeddings, coupled).

    Examples
    --------
    >>> kw = dict(model="coupled", embedding="sphere")
    >>> round(hebbian_recall_prob(20, 10, **kw), 3)          # simulation: 0.9932 +- 0.0006
    0.994
    >>> round(hebbian_recall_prob(20, 10, method="gaussian", **kw), 3)
    0.966
    >>> hebbian_recall_prob(20, 2, **kw)                     # sphere, p = 2: margin (1-s)(1-t) > 0
    1.0
    """
    d, p, model, embedding, K, method = _iv(d, p, model, embedding, K, method)
    return 1.0 - _fail(d, p, model, embedding, K, method)


def hebbian_all_recalled_prob(d, p, *, model="decoupled", embedding="gaussian", K=None, method="conditional"):
    r"""Probability that all p inputs are recalled, P(recall)^p (inputs treated as independent; docs/theory.md §5).

    Parameters are those of :func:`hebbian_recall_prob`.

    Notes
    -----
    Computed as exp(p log1p(-(1 - P))) from the failure probability 1 - P, so it
    stays accurate when 1 - P ~ 1/p is small.  The independence of the p inputs
    is an approximation (they share W_H); the benchmark compares it with the
    simulated all-recalled frequency.

    Examples
    --------
    >>> kw = dict(model="coupled", embedding="sphere")
    >>> q = 1 - hebbian_recall_prob(50, 69, **kw)
    >>> round(hebbian_all_recalled_prob(50, 69, **kw), 3), round((1 - q) ** 69, 3)   # simulated p50: 69
    (0.493, 0.493)
    """
    d, p, model, embedding, K, method = _iv(d, p, model, embedding, K, method)
    q = _fail(d, p, model, embedding, K, method)
    return float(math.exp(p * math.log1p(-q))) if q < 1.0 else 0.0


def hebbian_p_c(d, *, criterion="all", model="decoupled", embedding="gaussian", method="conditional"):
    r"""Finite-d Hebbian capacity: the real p >= 2 where the recall probability crosses 1/2 (docs/theory.md §5).

    Parameters
    ----------
    d : int
        Dimension, ``2 <= d <= 1e6``.
    criterion : {"all", "typical"}
        ``"all"``: P(all p recalled) = 1/2 (:func:`hebbian_all_recalled_prob`);
        ``"typical"``: P(one input recalled) = 1/2 (:func:`hebbian_recall_prob`).
    model, embedding, method
        As in :func:`hebbian_recall_prob` (decoupled: K = p - 1).

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If the probability is below 1/2 already at p = 2.
    ConvergenceError
        If the root cannot be bracketed.

    Notes
    -----
    Both probabilities decrease in p; the root is bracketed by expanding
    geometrically from the asymptotic :func:`hebbian_p_c_asymptotic` and found by
    Brent's method (the quadrature, not the root finder, limits the accuracy: a
    relative error 5e-5 in 1 - P moves p_c by ~1e-5 relative).  Asymptotically
    p ln p / d^2 -> 1/8 (all) and 1/2 (typical), from above and slowly; on the
    sphere (coupled) the "all" value is 0.117 at d = 20 and 50, 0.124 at 100,
    0.132 at 200 and 0.137 at 400.  Runtime: ~0.2 s (sphere), ~2 s (gaussian
    embeddings, coupled).

    Examples
    --------
    >>> pc = hebbian_p_c(50, model="coupled", embedding="sphere")
    >>> 65 < pc < 75
    True
    """
    d = check_int("d", d, low=2, high=D_MAX)
    criterion = _choice("criterion", criterion, CRITERIA)
    _, _, model, embedding, _, method = _iv(d, 2.0, model, embedding, None, method)

    if criterion == "all":
        def g(p):
            q = _fail(d, p, model, embedding, p - 1.0, method)
            return (p * math.log1p(-q) if q < 1.0 else -math.inf) + math.log(2.0)
    else:
        def g(p):
            return 0.5 - _fail(d, p, model, embedding, p - 1.0, method)

    g2 = g(2.0)
    if g2 < 0.0:
        raise ValueError(
            f"no p >= 2 is recalled with probability 1/2 at `d` = {d} ({criterion}, {model}, {embedding}, {method})"
        )
    if g2 == 0.0:
        return 2.0
    guess = max(3.0, inverse_p_log_p(HEBBIAN_THRESHOLDS[criterion] * d * d))
    lo, hi = 2.0, guess
    ghi = g(hi)
    for _ in range(200):
        if ghi < 0.0:
            break
        lo, hi = hi, 2.0 * hi
        if hi > P_MAX:
            raise ConvergenceError(f"hebbian_p_c: no crossing of 1/2 below p = {P_MAX:g} at d = {d}")
        ghi = g(hi)
    return float(brent(g, lo, hi, xtol=1e-10 * hi, rtol=1e-11))


@dataclass(frozen=True)
class HebbianCapacityResult(Result):
    """Finite-d Hebbian capacities at one dimension, both criteria, with their asymptotics (docs/theory.md §5).

    ``p_all`` / ``p_typical``: :func:`hebbian_p_c` with ``criterion="all"`` /
    ``"typical"``; ``*_log_p_over_d2``: p ln p / d^2 of each; ``*_asymptotic``:
    the leading-order :func:`hebbian_p_c_asymptotic` (p ln p = d^2/8 and d^2/2).
    Failures raise, so there is no status.
    """

    d: int
    model: str
    embedding: str
    method: str
    p_all: float
    p_typical: float
    p_all_log_p_over_d2: float
    p_typical_log_p_over_d2: float
    p_all_asymptotic: float
    p_typical_asymptotic: float


def hebbian_capacity(d, *, model="decoupled", embedding="gaussian", method="conditional"):
    r"""The Hebbian capacity at dimension d under both criteria, with p ln p / d^2 and the asymptotics.

    Parameters
    ----------
    d : int
        Dimension, ``2 <= d <= 1e6``.
    model, embedding, method
        As in :func:`hebbian_recall_prob` (decoupled: K = p - 1).

    Returns
    -------
    HebbianCapacityResult

    Notes
    -----
    docs/theory.md §5: the p where P(all p recalled) = 1/2 and where P(one input
    recalled) = 1/2 (:func:`hebbian_p_c`), and the p solving p ln p = c d^2 with
    c = 1/8 and 1/2 (:func:`hebbian_p_c_asymptotic`).

    Examples
    --------
    >>> r = hebbian_capacity(50, model="coupled", embedding="sphere")
    >>> r.p_all < r.p_typical, round(r.p_all_asymptotic, 2)
    (True, 72.87)
    """
    d = check_int("d", d, low=2, high=D_MAX)
    _, _, model, embedding, _, method = _iv(d, 2.0, model, embedding, None, method)
    kw = {"model": model, "embedding": embedding, "method": method}
    pa = hebbian_p_c(d, criterion="all", **kw)
    pt = hebbian_p_c(d, criterion="typical", **kw)
    return HebbianCapacityResult(
        d=d, model=model, embedding=embedding, method=method, p_all=pa, p_typical=pt,
        p_all_log_p_over_d2=pa * math.log(pa) / d**2, p_typical_log_p_over_d2=pt * math.log(pt) / d**2,
        p_all_asymptotic=hebbian_p_c_asymptotic(d, criterion="all"),
        p_typical_asymptotic=hebbian_p_c_asymptotic(d, criterion="typical"),
    )


# --------------------------------------------------------------------------------------
# asymptotics
# --------------------------------------------------------------------------------------
def hebbian_threshold(criterion="all"):
    r"""Asymptotic constant c of the Hebbian threshold p ln p / d^2 -> c (docs/theory.md §5).

    ``"typical"``: 1/2 (largest of p competitors of variance p/d^2 meets the
    correct score 1); ``"all"``: 1/8 (union bound over the p^2 input-competitor
    pairs, each failing with probability ~ exp(-d^2 / (4p))).  Derivation in the
    module docstring.

    Examples
    --------
    >>> hebbian_threshold("all"), hebbian_threshold("typical")
    (0.125, 0.5)
    """
    return HEBBIAN_THRESHOLDS[_choice("criterion", criterion, CRITERIA)]


def hebbian_p_c_asymptotic(d, criterion="all"):
    r"""Leading-order Hebbian capacity: the p > 1 solving p ln p = c d^2, c from :func:`hebbian_threshold`.

    Parameters
    ----------
    d : float
        Dimension, real ``d >= 2``.
    criterion : {"all", "typical"}

    Returns
    -------
    float
        p = c d^2 / W0(c d^2) (principal Lambert W), from
        :func:`capacity.solvers.plogp.inverse_p_log_p`.

    Notes
    -----
    docs/theory.md §5 ("Thresholds 1/8 and 1/2") and §8.  Only the leading
    order: at finite d the theory's :func:`hebbian_p_c` differs by logarithmic
    factors (for "all" on the sphere p ln p / d^2 is 0.117..0.137 at d = 20..400
    and still 0.137 at d = 1e5; see the module docstring).

    Examples
    --------
    >>> p = hebbian_p_c_asymptotic(100, "all")
    >>> round(p * math.log(p) / 100**2, 12)
    0.125
    """
    d = check_real("d", d, low=2.0, high=1e150)
    c = hebbian_threshold(criterion)
    return inverse_p_log_p(c * d * d)
