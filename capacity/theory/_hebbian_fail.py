r"""The recall probability of the Hebbian memory: the Gaussian and the conditional pictures.

Private to :mod:`capacity.theory.hebbian` (docs/theory.md §5), which validates the
arguments and exposes the public probabilities and capacities; here ``_fail``
returns 1 - P(recall) of one input, and ``_moments`` the exact score moments.

Two pictures of the recall probability
--------------------------------------
``method="gaussian"`` — the plain Gaussian picture: h_0 ~ N(1, Var h_0) and,
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

References
----------
Barnfield, Kim, Nichani, Lee, Lu, "Sharp Capacity Thresholds in Linear Associative
Memory", arXiv:2605.05189.
Giorlandino, Goldt, Maillard, "Factual recall in linear associative memories",
arXiv:2605.10795.
"""
import math

import numpy as np
from scipy import special

from ..exceptions import ConvergenceError
from ..solvers import quadrature as _quad

# Quadrature sizes (convergence checked by doubling in the tests).
_Z = 9.0  # standard-normal range of the sharp variable; 2 Phibar(9) = 2e-19
_PANELS, _ORDER = 24, 6  # composite Gauss-Legendre for the sharp variable
_N_L = 16  # |v|^2 (sphere)
_N_A, _N_T, _N_W = 10, 6, 4  # a_mu, |t|^2, V^2 / |t|^2 (gaussian)
_N_INNER = 12  # the coupled competitor's own t_kappa
_N_RHO = 5  # and the rest of its squared norm (gaussian)
_GAUSS_PANELS, _GAUSS_ORDER = 48, 10  # method="gaussian"


# --------------------------------------------------------------------------------------
# exact moments
# --------------------------------------------------------------------------------------
def _q2(d, embedding):
    return 1.0 + 2.0 / d if embedding == "gaussian" else 1.0


def _moments(d, p, model, embedding):
    """(E h_0, Var h_0, Var h_k) of the raw scores (docs/theory.md §5, "Exact score moments")."""
    q2 = _q2(d, embedding)
    var0 = q2 * q2 - 1.0 + (p - 1.0) / d**2
    if model == "coupled":
        varc = 2.0 * q2 / d + (p - 2.0) / d**2
    else:
        varc = q2 / d + (p - 1.0) / d**2
    return 1.0, var0, varc


# --------------------------------------------------------------------------------------
# failure probability 1 - P(recall)
# --------------------------------------------------------------------------------------
def _miss(f, K):
    """1 - (1 - f)^K, accurate for small f."""
    with np.errstate(divide="ignore"):
        return -np.expm1(K * np.log1p(-np.minimum(f, 1.0)))


def _fail_gaussian_picture(d, p, model, embedding, K):
    m0, v0, vc = _moments(d, p, model, embedding)
    x, w = _quad.legendre_panels(-_Z - 0.5, _Z + 0.5, _GAUSS_PANELS, _GAUSS_ORDER)
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
    c, wc = _quad.sphere_coordinate_panels(d, _PANELS, _ORDER, _Z)
    if nb > 0:
        mean = nb / d
        rel = (2.0 / nb) * max((d - 1.0) / (d + 2.0) + (nb - 1.0) / d, 1.0 / (d + 2.0))
        L2, wl = _quad.gamma_rule_moments(mean, rel * mean * mean, _N_L)
    else:
        L2, wl = np.zeros(1), np.ones(1)
    L = np.sqrt(L2)[:, None]
    Q = 1.0 + L * c[None, :]  # correct score, (n_L, n_c)
    V = L * np.sqrt(1.0 - c * c)[None, :]
    weights = wl[:, None] * wc[None, :]
    if model == "decoupled":
        f = _sphere_tail(d, Q, V)
    else:
        t, wt = _quad.sphere_coordinate_jacobi(d, _N_INNER)
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
    a, wa = _quad.gamma_rule(0.5 * d, 2.0 / d, _N_A)
    if nb > 0:
        T, wT = _quad.gamma_rule(0.5 * nb, 2.0 / d, _N_T)
    else:
        T, wT = np.zeros(1), np.ones(1)
    W, wW = _quad.gamma_rule(0.5 * (d - 1.0), 2.0 / d, _N_W)
    z, wz = _quad.normal_panels(_PANELS, _ORDER, _Z)
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
        t, wt = _quad.normal_hermite(_N_INNER)
        rho, wr = _quad.gamma_rule(0.5 * (d - 1.0), 2.0 / d, _N_RHO)
        f = np.zeros(np.broadcast_shapes(h.shape, V2.shape))
        for tj, wj in zip(t / sd, wt):
            for rk, wk in zip(rho, wr):
                f += (wj * wk) * _fail_coupled_gaussian(d, h, A, V2, tj, rk)
    return float(np.sum(weights * _miss(f, K)))


def _fail(d, p, model, embedding, K, method):
    """1 - P(recall) of one input, in [0, 1]; raises ConvergenceError if the quadrature is not finite."""
    if method == "gaussian":
        q = _fail_gaussian_picture(d, p, model, embedding, K)
    elif embedding == "sphere":
        q = _fail_conditional_sphere(d, p, model, K)
    else:
        q = _fail_conditional_gaussian(d, p, model, K)
    if not math.isfinite(q):
        raise ConvergenceError(f"non-finite recall probability at d={d}, p={p:g}, {model}, {embedding}, {method}")
    return min(max(q, 0.0), 1.0)
