r"""Finite-d theory of the Hebbian (correlation-matrix) memory (spec §5).

The memory is W_H = sum_nu y_nu x_nu^T; candidate c scores c^T W_H x_mu on input mu,
and input mu is *recalled* when its target beats every competitor strictly
(coupled model: the other p - 1 targets; decoupled model: K fresh competitors with
the targets' law, default K = p - 1).  Embeddings are N(0, I/d) ("gaussian") or
uniform on S^{d-1} ("sphere").

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
``method="gaussian"`` — the Gaussian picture of the spec: h_0 ~ N(1, Var h_0) and,
independently of it, K i.i.d. competitors N(0, Var h_k).  The margins h_0 - h_k
share h_0 exactly; the only integral is one-dimensional,

    P(recall) = int Dx Phi((1 + s_0 x) / s_c)^K,   s_0^2 = Var h_0, s_c^2 = Var h_k.

This picture is poor at the dimensions one simulates.  On the sphere it treats the
bounded O(1/sqrt d) pieces y_kappa . y_mu and x_kappa . x_mu of a competitor as
Gaussian (they are sphere coordinates, and the correct score contains their product,
so the margin is (1 - y_kappa . y_mu)(1 - x_kappa . x_mu) + bulk); it overstates the
per-input failure rate 5x at d = 20, p = 10 and puts the all-recalled 50 % point
25-35 % low at d = 20..50.  With Gaussian embeddings it also charges the norm
fluctuation Var(a b) ~ 4/d to the correct score alone, although the common factor
|x_mu| multiplies *every* score of input mu and cannot matter (p50 off by a factor
1.2-2 at d = 20..400).  See ``benchmarks/results/hebbian.md``.

``method="conditional"`` (default) — the same ingredients, conditioned exactly on
what the competitors of one input share.  Divide all scores of input mu by
beta = |x_mu| (recall is invariant) and put v = sum_{nu in S} y_nu t_nu with
t_nu = x_nu . x_mu / |x_mu| and S the n_b "bulk" memories (all nu != mu in the
decoupled model, n_b = p - 1; also nu != kappa in the coupled one, n_b = p - 2).
Split v = (B / a_mu) y_mu + v_perp with B = y_mu . v, V = |v_perp|, and let
h = beta a_mu + B.  Resolving the competitor along y_mu (sigma = y_kappa . y_mu)
and along v_perp (w) gives, *exactly*,

    coupled:    margin_kappa = (a_mu - sigma)(h / a_mu) - t_kappa (a_kappa - sigma) - V w,
    decoupled:  margin_k     = (a_mu - sigma)(h / a_mu) - V w

(the coupled correct score is h + sigma t_kappa; its own term sigma t_kappa is
what turns 1 - sigma - t into (1 - sigma)(1 - t) on the sphere).  Given the shared
(h, a_mu, V) and the competitor's own t_kappa, the failure probability is in closed
form:

- sphere (a = beta = 1, h = 1 + B): (sigma, w) are two coordinates of a uniform
  unit vector, so sigma A + V w is its coordinate along a vector of norm
  sqrt(A^2 + V^2); with A = h - t_kappa (coupled) or h (decoupled)

      P(fail) = P(coordinate > A / sqrt(A^2 + V^2)) = F_{t, d-1}(-sqrt(d - 1) A / V),

  a Student-t tail with d - 1 degrees of freedom; t_kappa is integrated over the
  law of a sphere coordinate (Gauss-Jacobi).  For the decoupled model this is the
  exact law of the competitors given W_H x_mu.
- gaussian, decoupled: sigma ~ N(0, a_mu/d) and w ~ N(0, 1/d) are independent, so
  P(fail) = Phibar(sqrt(d) h / sqrt(h^2/a_mu + V^2)).
- gaussian, coupled: rotating (sigma/sqrt(a_mu), w) onto the direction of
  (sqrt(a_mu)(h/a_mu - t), V) leaves one coordinate r ~ N(0, 1/d), and the
  competitor's own norm is a_kappa = r^2 + rho with rho ~ chi^2_{d-1}/d independent,
  so the competitor wins iff t r^2 + E r > h - t rho, E^2 = (h - a_mu t)^2/a_mu + V^2:
  a quadratic threshold in a Gaussian, solved exactly (both roots); t ~ N(0, 1/d)
  (Gauss-Hermite) and rho (Gauss-Laguerre) are integrated.  (Ignoring the r^2 in
  a_kappa understates the failure rate by ~10 % at d = 20..50: a winning competitor
  is long along the winning direction.)

The competitors of one input are then treated as independent given the shared
variables, so P(recall | shared) = (1 - P(fail | shared))^K, averaged over the
shared law:

- sphere: L^2 = |v|^2 ~ Gamma with the exact mean n_b/d and variance
  2 n_b (d-1)/(d^2 (d+2)) + 2 n_b (n_b - 1)/d^3; the direction cosine
  c = y_mu . v/|v| is an exact sphere coordinate, B = L c, V = L sqrt(1 - c^2);
- gaussian (exact laws, except beta = |x_mu|, whose chi law -- skewness 0.015 at
  d = 20 -- is replaced by the normal with its exact mean and variance):
  a_mu ~ chi^2_d/d, T = |t|^2 ~ chi^2_{n_b}/d, V^2 = T chi^2_{d-1}/d,
  B | a_mu, T ~ N(0, a_mu T/d).

What is dropped: (i) the leave-one-out differences between the bulks of different
competitors; (ii) for the coupled model, the dependence of two competitors that sit
in each other's bulk (both aligned with the winning direction, each raises the
other's score through (y_kappa . y_lambda) t_lambda): an O(1/d) positive dependence
of their tail events.  The single-pair failure rate is reproduced (d = 20, p = 20,
sphere: 0.00516 vs simulated 0.00505 +- 0.00009), but failures cluster more than
predicted and the per-input failure rate is overstated by ~6 % at d = 20 (0.0716
vs 0.0675 +- 0.0010) and P(all) at p = 17 is 0.471 against a simulated
0.520 +- 0.008 (p50 1 % low); from d = 50 on, and for the decoupled model and
Gaussian embeddings at every d tested, the per-input failure rate and P(all) at the
predicted p_c agree with :func:`capacity.simulate.hebbian_recall` within the
simulation's error (a few per cent of the failure rate; P(all) = 0.500 +- 0.035
at d = 400), and the simulated 50 % points of P(all) lie within 0.97..1.05 of the
predicted ones (``benchmarks/results/hebbian.md``).

All recalled: the p inputs are treated as independent, P(all) = P(recall)^p
(they share W_H; the benchmark compares this with the simulated all-recalled
frequency point by point).

Quadrature: the shared variables by Gauss rules (Laguerre, or Hermite in the
Wilson-Hilferty variable for shapes > 50; Jacobi; Hermite) and the sharp direction
of the correct score (B, or c) by a composite Gauss-Legendre rule; failure
probabilities are accumulated as 1 - P with ``expm1``/``log1p`` so that
P(all) = exp(p log1p(-(1 - P))) stays accurate when 1 - P is tiny.  Quadrature error
(doubling every rule; ``tests/test_hebbian_theory.py``): ``method="gaussian"``
below 1e-9 relative to scipy.integrate.quad; ``method="conditional"`` below 5e-5
relative in 1 - P for d >= 20 (below 1e-6 for d >= 50 on the sphere), degrading to
~1e-3 at d <= 10.

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
all-recalled value is 0.117 at d = 20..50, 0.137 at d = 400, peaks at 0.140 near
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
from dataclasses import asdict, dataclass

import numpy as np
from scipy import special

from .._validation import check_int, check_real
from ..exceptions import ConvergenceError
from ..solvers.roots import brent

__all__ = [
    "HEBBIAN_THRESHOLDS",
    "HebbianScoreMoments",
    "hebbian_score_moments",
    "hebbian_recall_prob",
    "hebbian_all_recalled_prob",
    "hebbian_p_c",
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
K_MAX = 1e12

# Quadrature sizes (convergence checked by doubling in the tests).
_Z = 9.0  # standard-normal range of the sharp variable; 2 Phibar(9) = 2e-19
_PANELS, _ORDER = 24, 6  # composite Gauss-Legendre for the sharp variable
_N_L = 16  # |v|^2 (sphere)
_N_A, _N_T, _N_W = 10, 6, 4  # a_mu, |t|^2, V^2 / |t|^2 (gaussian)
_N_INNER = 12  # the coupled competitor's own t_kappa
_N_RHO = 5  # and the rest of its squared norm (gaussian)
_GAUSS_PANELS, _GAUSS_ORDER = 48, 10  # method="gaussian"


# --------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------
def _choice(name, value, allowed):
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"`{name}` must be one of {', '.join(allowed)}; got {value!r}")
    return value


def _iv(d, p, model, embedding, K, method=None):
    d = check_int("d", d, low=2, high=D_MAX)
    p = check_real("p", p, low=2.0, high=P_MAX)
    model = _choice("model", model, MODELS)
    embedding = _choice("embedding", embedding, EMBEDDINGS)
    if method is not None:
        method = _choice("method", method, METHODS)
    if model == "coupled":
        if K is not None and check_real("K", K, low=1.0, high=K_MAX) != p - 1.0:
            raise ValueError(f"`K` must be p - 1 = {p - 1:g} for the coupled model (or None); got {K!r}")
        K = p - 1.0
    else:
        K = p - 1.0 if K is None else check_real("K", K, low=1.0, high=K_MAX)
    return d, p, model, embedding, K, method


# --------------------------------------------------------------------------------------
# exact moments
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class HebbianScoreMoments:
    """Exact first and second moments of the raw Hebbian scores of one input.

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

    def to_dict(self):
        """The moments as a dict of plain Python scalars."""
        return asdict(self)


def _q2(d, embedding):
    return 1.0 + 2.0 / d if embedding == "gaussian" else 1.0


def _moments(d, p, model, embedding):
    q2 = _q2(d, embedding)
    var0 = q2 * q2 - 1.0 + (p - 1.0) / d**2
    if model == "coupled":
        varc = 2.0 * q2 / d + (p - 2.0) / d**2
    else:
        varc = q2 / d + (p - 1.0) / d**2
    return 1.0, var0, varc


def hebbian_score_moments(d, p, *, model="coupled", embedding="sphere", K=None):
    r"""Exact mean and variance of the correct and competitor scores of the Hebbian memory.

    Parameters
    ----------
    d : int
        Dimension, ``2 <= d <= 1e6``.
    p : float
        Number of stored associations, ``p >= 2`` (real values interpolate).
    model : {"coupled", "decoupled"}
    embedding : {"sphere", "gaussian"}
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
    in the module docstring; verified by Monte Carlo in the tests.

    Examples
    --------
    >>> m = hebbian_score_moments(20, 11)
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
# quadrature rules (weights sum to 1)
# --------------------------------------------------------------------------------------
def _legendre_panels(lo, hi, n_panels, order):
    x, w = np.polynomial.legendre.leggauss(order)
    edges = np.linspace(lo, hi, n_panels + 1)
    half = 0.5 * np.diff(edges)
    mid = 0.5 * (edges[1:] + edges[:-1])
    nodes = (mid[:, None] + half[:, None] * x[None, :]).ravel()
    weights = (half[:, None] * w[None, :]).ravel()
    return nodes, weights


def _normal_composite(n_panels, order):
    """Standard normal: composite Gauss-Legendre on [-Z, Z] times the density."""
    z, w = _legendre_panels(-_Z, _Z, n_panels, order)
    w = w * np.exp(-0.5 * z * z)
    return z, w / w.sum()


def _sphere_coord_composite(d, n_panels, order):
    """A coordinate c of a uniform point of S^{d-1} (density ~ (1-c^2)^((d-3)/2)), as c = sin(theta)."""
    tmax = min(0.5 * math.pi, (_Z + 0.5) / math.sqrt(max(d - 2.0, 1.0)))
    th, w = _legendre_panels(-tmax, tmax, n_panels, order)
    logw = (d - 2.0) * np.log(np.cos(th)) if d > 2 else np.zeros_like(th)
    w = w * np.exp(logw - logw.max())
    return np.sin(th), w / w.sum()


def _sphere_coord_rule(d, n):
    x, w = special.roots_jacobi(n, 0.5 * (d - 3.0), 0.5 * (d - 3.0))
    return x, w / w.sum()


def _hermite_rule(n):
    x, w = special.roots_hermitenorm(n)
    return x, w / w.sum()


def _gamma_rule(k, scale, n):
    """Gauss rule for Gamma(shape k, scale) (weights sum to 1).

    Generalised Gauss-Laguerre for k <= 50; above, Gauss-Hermite in the
    Wilson-Hilferty variable z (X = k (1 - c + z sqrt(c))^3, c = 1/(9k), nearly normal)
    with the exact density ratio in the weights.
    """
    if k <= 50.0:
        x, w = special.roots_genlaguerre(n, k - 1.0)
        return x * scale, w / w.sum()
    z, w = special.roots_hermitenorm(n)
    c = 1.0 / (9.0 * k)
    y = 1.0 - c + z * math.sqrt(c)
    x = k * y**3
    logr = (k - 1.0) * np.log(x) - x + 2.0 * np.log(y) + 0.5 * z * z
    w = w * np.exp(logr - logr.max())
    return x * scale, w / w.sum()


def _gamma_moments_rule(mean, var, n):
    return _gamma_rule(mean * mean / var, var / mean, n)


# --------------------------------------------------------------------------------------
# failure probability 1 - P(recall)
# --------------------------------------------------------------------------------------
def _miss(f, K):
    """1 - (1 - f)^K, accurate for small f."""
    with np.errstate(divide="ignore"):
        return -np.expm1(K * np.log1p(-np.minimum(f, 1.0)))


def _fail_gaussian_picture(d, p, model, embedding, K):
    m0, v0, vc = _moments(d, p, model, embedding)
    x, w = _legendre_panels(-_Z - 0.5, _Z + 0.5, _GAUSS_PANELS, _GAUSS_ORDER)
    w = w * np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)
    u = (m0 + math.sqrt(v0) * x) / math.sqrt(vc)
    return float(np.sum(w * -np.expm1(K * special.log_ndtr(u))))


def _sphere_tail(d, a, v):
    """P(coordinate of a uniform point of S^{d-1} > a / sqrt(a^2 + v^2)) = F_{t,d-1}(-sqrt(d-1) a/v)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        arg = np.where(v > 0, -math.sqrt(d - 1.0) * a / np.where(v > 0, v, 1.0), np.where(a > 0, -np.inf, np.inf))
    return special.stdtr(d - 1.0, arg)


def _bulk_size(p, model):
    return max(p - 2.0, 0.0) if model == "coupled" else p - 1.0


def _fail_conditional_sphere(d, p, model, K):
    nb = _bulk_size(p, model)
    c, wc = _sphere_coord_composite(d, _PANELS, _ORDER)
    if nb > 0:
        mean = nb / d
        rel = (2.0 / nb) * max((d - 1.0) / (d + 2.0) + (nb - 1.0) / d, 1.0 / (d + 2.0))
        L2, wl = _gamma_moments_rule(mean, rel * mean * mean, _N_L)
    else:
        L2, wl = np.zeros(1), np.ones(1)
    L = np.sqrt(L2)[:, None]
    Q = 1.0 + L * c[None, :]  # correct score, (n_L, n_c)
    V = L * np.sqrt(1.0 - c * c)[None, :]
    weights = wl[:, None] * wc[None, :]
    if model == "decoupled":
        f = _sphere_tail(d, Q, V)
    else:
        t, wt = _sphere_coord_rule(d, _N_INNER)
        f = np.zeros_like(Q)
        for tj, wj in zip(t, wt):
            f += wj * _sphere_tail(d, Q - tj, V)
    return float(np.sum(weights * _miss(f, K)))


def _beta_moments(d):
    """Mean and variance of |x| for x ~ N(0, I/d)."""
    m = math.sqrt(2.0 / d) * math.exp(special.gammaln(0.5 * (d + 1.0)) - special.gammaln(0.5 * d))
    return m, max(1.0 - m * m, 0.0)


def _fail_coupled_gaussian(d, h, a, V2, t, rho):
    """P(t r^2 + E r + t rho > h) for r ~ N(0, 1/d), with E^2 = (h - a t)^2/a + V^2.

    The coupled competitor's margin is h - t a_kappa - (sigma (h/a - t) + V w); with
    (s, w) = (sigma/sqrt(a), w) ~ N(0, I/d) and a_kappa = s^2 + w^2 + rest, rotating
    (s, w) onto the direction of (sqrt(a)(h/a - t), V) leaves one N(0, 1/d) coordinate r
    and a_kappa = r^2 + rho with rho ~ chi^2_{d-1}/d independent of r.  The quadratic
    threshold is solved exactly (both roots).
    """
    sd = math.sqrt(d)
    E = np.sqrt((h - a * t) ** 2 / a + V2)
    H = h - t * rho
    if t == 0.0:
        return special.ndtr(-sd * H / E)
    disc = E * E + 4.0 * t * H
    ok = disc >= 0.0
    sq = np.sqrt(np.where(ok, disc, 0.0))
    r1 = 2.0 * H / (E + sq)  # the root near H/E
    r2 = -(E + sq) / (2.0 * t)  # the far root, ~ -E/t
    near = special.ndtr(-sd * r1)
    if t > 0.0:  # fail outside (r2, r1); no real root: always
        f = np.where(ok, near + special.ndtr(sd * r2), 1.0)
    else:  # fail inside (r1, r2); no real root: never
        f = np.where(ok, near - special.ndtr(-sd * r2), 0.0)
    return np.clip(f, 0.0, 1.0)


def _fail_conditional_gaussian(d, p, model, K):
    nb = _bulk_size(p, model)
    a, wa = _gamma_rule(0.5 * d, 2.0 / d, _N_A)
    if nb > 0:
        T, wT = _gamma_rule(0.5 * nb, 2.0 / d, _N_T)
    else:
        T, wT = np.zeros(1), np.ones(1)
    W, wW = _gamma_rule(0.5 * (d - 1.0), 2.0 / d, _N_W)
    z, wz = _normal_composite(_PANELS, _ORDER)
    mb, vb = _beta_moments(d)
    # shared grid (a, T, W, z)
    A = a[:, None, None, None]
    TT = T[None, :, None, None]
    V2 = TT * W[None, None, :, None]
    h = A * mb + np.sqrt(A * A * vb + A * TT / d) * z[None, None, None, :]
    weights = wa[:, None, None, None] * wT[None, :, None, None] * wW[None, None, :, None] * wz[None, None, None, :]
    sd = math.sqrt(d)
    if model == "decoupled":
        f = special.ndtr(-sd * h / np.sqrt(h * h / A + V2))
    else:
        t, wt = _hermite_rule(_N_INNER)
        rho, wr = _gamma_rule(0.5 * (d - 1.0), 2.0 / d, _N_RHO)
        f = np.zeros(np.broadcast_shapes(h.shape, V2.shape))
        for tj, wj in zip(t / sd, wt):
            for rk, wk in zip(rho, wr):
                f += (wj * wk) * _fail_coupled_gaussian(d, h, A, V2, tj, rk)
    return float(np.sum(weights * _miss(f, K)))


def _fail(d, p, model, embedding, K, method):
    if method == "gaussian":
        q = _fail_gaussian_picture(d, p, model, embedding, K)
    elif embedding == "sphere":
        q = _fail_conditional_sphere(d, p, model, K)
    else:
        q = _fail_conditional_gaussian(d, p, model, K)
    if not math.isfinite(q):
        raise ConvergenceError(f"non-finite recall probability at d={d}, p={p:g}, {model}, {embedding}, {method}")
    return min(max(q, 0.0), 1.0)


# --------------------------------------------------------------------------------------
# public probabilities
# --------------------------------------------------------------------------------------
def hebbian_recall_prob(d, p, *, model="coupled", embedding="sphere", K=None, method="conditional"):
    r"""Probability that one input's target beats all its competitors under W_H.

    Parameters
    ----------
    d : int
        Dimension, ``2 <= d <= 1e6``.
    p : float
        Stored associations, ``p >= 2`` (real values interpolate).
    model : {"coupled", "decoupled"}
    embedding : {"sphere", "gaussian"}
    K : float, optional
        Competitors per input: ``p - 1`` (coupled, the only value) or any real
        ``K >= 1`` (decoupled, default ``p - 1``).
    method : {"conditional", "gaussian"}
        The conditional picture (default; exact competitor geometry and the
        input's common competitor variance) or the plain Gaussian picture of
        the spec (independent Gaussian scores with the exact moments of
        :func:`hebbian_score_moments`).  See the module docstring.

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
    >>> round(hebbian_recall_prob(20, 10), 3)          # simulation: 0.9932 +- 0.0006
    0.994
    >>> round(hebbian_recall_prob(20, 10, method="gaussian"), 3)
    0.966
    >>> hebbian_recall_prob(20, 2)                     # sphere, p = 2: margin (1-s)(1-t) > 0
    1.0
    """
    d, p, model, embedding, K, method = _iv(d, p, model, embedding, K, method)
    return 1.0 - _fail(d, p, model, embedding, K, method)


def hebbian_all_recalled_prob(d, p, *, model="coupled", embedding="sphere", K=None, method="conditional"):
    r"""Probability that all p inputs are recalled, P(recall)^p (inputs treated as independent).

    Parameters are those of :func:`hebbian_recall_prob`.

    Notes
    -----
    Computed as exp(p log1p(-(1 - P))) from the failure probability 1 - P, so it
    stays accurate when 1 - P ~ 1/p is small.  The independence of the p inputs
    is an approximation (they share W_H); the benchmark compares it with the
    simulated all-recalled frequency.

    Examples
    --------
    >>> q = 1 - hebbian_recall_prob(50, 69)
    >>> round(hebbian_all_recalled_prob(50, 69), 3), round((1 - q) ** 69, 3)   # simulated p50: 69
    (0.493, 0.493)
    """
    d, p, model, embedding, K, method = _iv(d, p, model, embedding, K, method)
    q = _fail(d, p, model, embedding, K, method)
    return float(math.exp(p * math.log1p(-q))) if q < 1.0 else 0.0


def hebbian_p_c(d, *, criterion="all", model="coupled", embedding="sphere", method="conditional"):
    r"""Finite-d Hebbian capacity: the real p >= 2 where the recall probability crosses 1/2.

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
    >>> pc = hebbian_p_c(50)
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
    guess = max(3.0, _p_asym(d, HEBBIAN_THRESHOLDS[criterion]))
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


# --------------------------------------------------------------------------------------
# asymptotics
# --------------------------------------------------------------------------------------
def hebbian_threshold(criterion="all"):
    r"""Asymptotic constant c of the Hebbian threshold p ln p / d^2 -> c.

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


def _p_asym(d, c):
    y = c * d * d
    return float(y / special.lambertw(y).real)


def hebbian_p_c_asymptotic(d, criterion="all"):
    r"""Leading-order Hebbian capacity: the p > 1 solving p ln p = c d^2 (c from :func:`hebbian_threshold`).

    Parameters
    ----------
    d : float
        Dimension, real ``d >= 2``.
    criterion : {"all", "typical"}

    Returns
    -------
    float
        p = c d^2 / W0(c d^2) (principal Lambert W).

    Notes
    -----
    Only the leading order: at finite d the theory's :func:`hebbian_p_c` differs
    by logarithmic factors (for "all" on the sphere p ln p / d^2 is 0.117..0.137
    at d = 20..400 and still 0.137 at d = 1e5; see the module docstring).

    Examples
    --------
    >>> p = hebbian_p_c_asymptotic(100, "all")
    >>> round(p * math.log(p) / 100**2, 12)
    0.125
    """
    d = check_real("d", d, low=2.0, high=1e150)
    c = hebbian_threshold(criterion)
    return _p_asym(d, c)
