r"""Exact expected squared distance of a Gaussian vector to the top-1 cone.

This module is the numerical engine behind :func:`capacity.theory.expected_dist2`.
It knows nothing about memories: it evaluates, for real ``K >= 1`` and
``kappa >= 0``,

.. math::

    E(K, \kappa) = \mathbb{E}_z\,\mathrm{dist}^2(z, C_\kappa),\qquad
    C_\kappa = \{h \in \mathbb{R}^{K+1} : h_0 - h_k \ge \kappa\ \forall k\},

deterministically, from the one-dimensional representation (docs/theory.md §2, eq. (T4))

.. math::

    E = 2\int ds\, I(s),\qquad I(s) = \Psi(s+\kappa) - \mathbb{E}\,X_s^+,\qquad
    X_s = s + \kappa + Z - G_s,\quad G_s = \sum_{k=1}^K (z_k - s)_+ ,

with :math:`\Psi(x) = x\Phi(x) + \varphi(x)`.

How :math:`\mathbb{E} X_s^+` is computed (the route differs from the tilted
Bromwich contour of (T4), which the tests evaluate independently in mpmath).
The characteristic function of :math:`X_s` is closed-form through the Mills ratio
:math:`R(x) = \bar\Phi(x)/\varphi(x)` at complex argument,

.. math::

    \chi_X(u) = e^{iu(s+\kappa) - u^2/2}\,
      \bigl[\Phi(s) + \varphi(s) R(s + iu)\bigr]^K .

Let :math:`Y \sim N(\mu, \sigma^2)` have the exact mean and variance of
:math:`X_s`.  Then :math:`g(u) = -(\chi_X(u) - \chi_Y(u))/u^2` is *entire*
(the double pole of the Bromwich kernel :math:`1/\lambda^2` cancels), so the
contour can be put on the imaginary axis and

.. math::

    \mathbb{E} X^+ = \sigma\Psi(\mu/\sigma) + \frac{1}{2\pi}\int_{-\infty}^{\infty} g(u)\,du .

The integral of an entire, Gaussian-decaying function is computed with the
trapezoidal rule, whose error on a strip of half-width ``a`` is bounded by
``B(a) / (a (exp(2 pi a / h) - 1))`` with ``B(a)`` the moment generating
functions of X and Y at ``+-a`` (Trefethen & Weideman, SIAM Rev. 56 (2014),
Thm 5.1).  The step ``h`` is chosen from that bound for each ``s`` so that every
node carries an absolute error below ``_EPS_NODE``; no oscillation or
cancellation problem arises because no tilt is used.

The ``s``-integral is split into: ``(-inf, s_a]`` where a Chernoff bound shows
``E X^+ < 1e-16`` (there ``I = Psi(s+kappa)``, integrated in closed form),
``[s_a, s_b]`` integrated by adaptive Gauss-Kronrod (7-15), and
``[s_b, inf)`` where ``I(s) <= E G_s`` and ``K * sf(s_b) / (1 + s_b^2) < 1e-16``
bounds the neglected mass.

The complex Mills ratio uses Weideman's rational approximation of the
Faddeeva function (SIAM J. Numer. Anal. 31 (1994) 1497) with N = 40 terms,
accurate to ~1e-14 relative in the closed right half-plane (tested against
``scipy.special.wofz``).

All kernels take float64 scalars, never validate and never raise: failures
are reported through the returned status code.
"""
import cmath
import math

import numpy as np

from .._jit import njit

__all__ = [
    "mills_ratio_complex",
    "mills_ratio",
    "log_sf",
    "log_cdf",
    "psi",
    "psi2",
    "expected_dist2_kernel",
    "integrand_kernel",
    "STATUS_OK",
    "STATUS_MAXITER",
    "STATUS_NONFINITE",
]

STATUS_OK = 0
STATUS_MAXITER = 1
STATUS_NONFINITE = 2

_SQRT2 = math.sqrt(2.0)
_SQRT2PI = math.sqrt(2.0 * math.pi)
_LOG_SQRT2PI = 0.5 * math.log(2.0 * math.pi)
_SQRT_HALF_PI = math.sqrt(0.5 * math.pi)
_INV_SQRT_PI = 1.0 / math.sqrt(math.pi)

# Per-node absolute error target of the u-integral and the bound used to cut
# the s-range (both absolute, in units of the integrand I(s) = O(s + kappa)).
_EPS_NODE = 1e-15
_EPS_CUT = 1e-16
# u-range of the trapezoidal rule: |g(u)| <= 2 exp(-u^2/2) / u^2, so the tail
# beyond 9 contributes < 1e-19.
_U_MAX = 9.0
# Strip half-widths tried when choosing the trapezoidal step.
_STRIP_WIDTHS = np.array([0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0])


def _weideman_coefficients(n):
    """Coefficients (highest degree first) and scale of Weideman's rational
    approximation w(z) ~ 2 p(Z)/(L - iz)^2 + pi^{-1/2}/(L - iz), Z = (L+iz)/(L-iz)."""
    m = 2 * n
    m2 = 2 * m
    k = np.arange(-m + 1, m)
    scale = math.sqrt(n / math.sqrt(2.0))
    theta = k * np.pi / m
    t = scale * np.tan(theta / 2.0)
    f = np.concatenate([[0.0], np.exp(-t**2) * (scale**2 + t**2)])
    a = np.real(np.fft.fft(np.fft.fftshift(f))) / m2
    return np.ascontiguousarray(np.flipud(a[1 : n + 1])), scale


_W_COEF, _W_SCALE = _weideman_coefficients(40)


@njit
def _faddeeva_uhp(z):
    """Faddeeva w(z) = exp(-z^2) erfc(-iz) for Im z >= 0 (Weideman, N = 40)."""
    iz = 1j * z
    den = _W_SCALE - iz
    zz = (_W_SCALE + iz) / den
    p = 0j
    for k in range(_W_COEF.shape[0]):
        p = p * zz + _W_COEF[k]
    return 2.0 * p / (den * den) + _INV_SQRT_PI / den


@njit
def mills_ratio_complex(x):
    """Mills ratio R(x) = sf(x)/pdf(x) for complex ``x`` with ``Re x >= 0``."""
    return _SQRT_HALF_PI * _faddeeva_uhp(1j * x / _SQRT2)


@njit
def mills_ratio(x):
    """Mills ratio R(x) for real ``x`` (inf for x < -37.5, where it overflows)."""
    if x >= 0.0:
        return mills_ratio_complex(complex(x, 0.0)).real
    return _SQRT2PI * math.exp(0.5 * x * x) - mills_ratio_complex(complex(-x, 0.0)).real


@njit
def log_sf(x):
    """log(1 - Phi(x)) for real x, accurate in both tails."""
    if x >= 0.0:
        return -0.5 * x * x - _LOG_SQRT2PI + math.log(mills_ratio_complex(complex(x, 0.0)).real)
    return math.log1p(-math.exp(-0.5 * x * x - _LOG_SQRT2PI) * mills_ratio_complex(complex(-x, 0.0)).real)


@njit
def log_cdf(x):
    """log Phi(x) for real x."""
    return log_sf(-x)


@njit
def _pdf(x):
    return math.exp(-0.5 * x * x) / _SQRT2PI


@njit
def psi(x):
    """Psi(x) = x Phi(x) + phi(x) = E (x + Z)_+, without cancellation."""
    if x >= 0.0:
        return x + _pdf(x) * (1.0 - x * mills_ratio(x))
    return _pdf(x) * (1.0 + x * mills_ratio(-x))


@njit
def psi2(x):
    """Antiderivative of Psi vanishing at -inf: ((x^2+1) Phi(x) + x phi(x)) / 2."""
    if x >= 0.0:
        sf = _pdf(x) * mills_ratio(x)
        return 0.5 * ((x * x + 1.0) * (1.0 - sf) + x * _pdf(x))
    y = -x
    return 0.5 * _pdf(y) * ((y * y + 1.0) * mills_ratio(y) - y)


@njit
def _logaddexp(a, b):
    if a == -np.inf:
        return b
    if b == -np.inf:
        return a
    if a > b:
        return a + math.log1p(math.exp(b - a))
    return b + math.log1p(math.exp(a - b))


@njit
def _log_mgf_y(s, eta):
    """log E exp(-eta Y), Y = (z - s)_+, real eta of either sign."""
    return _logaddexp(log_cdf(s), eta * s + 0.5 * eta * eta + log_sf(s + eta))


@njit
def _log_mgf_x(s, kappa, big_k, eta):
    """log E exp(eta X), X = s + kappa + Z - G_s."""
    return eta * (s + kappa) + 0.5 * eta * eta + big_k * _log_mgf_y(s, eta)


@njit
def _moments_y(s):
    """Mean and variance of Y = (z - s)_+, each without cancellation."""
    if s >= 0.0:
        pdf = _pdf(s)
        r = mills_ratio(s)
        mean = pdf * (1.0 - s * r)
        second = pdf * ((1.0 + s * s) * r - s)
        return mean, second - mean * mean
    y = -s
    pdf = _pdf(s)
    r = mills_ratio(y)  # sf(s) = 1 - pdf*r, cdf(s) = pdf*r
    cdf = pdf * r
    sf = 1.0 - cdf
    mean = pdf + y * sf
    m = s * cdf + pdf  # E max(z, s) = mean + s
    var = s * s * cdf + sf + s * pdf - m * m
    return mean, var


@njit
def _clog1p(w):
    if abs(w) < 1e-3:
        w2 = w * w
        return w - w2 / 2.0 + w2 * w / 3.0 - w2 * w2 / 4.0 + w2 * w2 * w / 5.0 - w2 * w2 * w2 / 6.0
    return cmath.log(1.0 + w)


@njit
def _log_cf_y(s, u, pdf_s, r_abs_s):
    """log E exp(-i u Y), Y = (z - s)_+, given pdf(s) and R(|s|).

    Only Mills ratios with Re >= 0 are evaluated: for s >= 0,
    E e^{-iuY} = 1 - pdf(s) (R(s) - R(s + iu)); for s < 0,
    E e^{-iuY} = e^{e} + pdf(s) (R(-s) - R(-s - iu)) with e = ius - u^2/2.
    """
    lam = 1j * u
    if s >= 0.0:
        d = r_abs_s - mills_ratio_complex(s + lam)
        return _clog1p(-pdf_s * d)
    d = r_abs_s - mills_ratio_complex(-s - lam)
    e = lam * s + 0.5 * lam * lam
    return e + _clog1p(pdf_s * cmath.exp(-e) * d)


@njit
def _trapezoid_step(s, kappa, big_k, mu, var):
    """Largest step h whose strip bound keeps the per-node error below _EPS_NODE."""
    best = 0.0
    log_eps = math.log(_EPS_NODE)
    for j in range(_STRIP_WIDTHS.shape[0]):
        a = _STRIP_WIDTHS[j]
        lp = _logaddexp(_log_mgf_x(s, kappa, big_k, a), a * mu + 0.5 * a * a * var)
        lm = _logaddexp(_log_mgf_x(s, kappa, big_k, -a), -a * mu + 0.5 * a * a * var)
        log_b = max(lp, lm) - math.log(a)
        # error <= exp(log_b) / (exp(2 pi a / h) - 1) <= eps
        x = log_b - log_eps
        if x < 1.0:
            x = 1.0
        h = 2.0 * math.pi * a / (x + math.log1p(math.exp(-x)))
        if h > best:
            best = h
    if best > 0.5:
        best = 0.5
    return best


@njit
def integrand_kernel(s, kappa, big_k):
    """I(s) = Psi(s + kappa) - E (s + kappa + Z - G_s)_+ and the number of u-nodes used."""
    c = s + kappa
    mean_y, var_y = _moments_y(s)
    mu = c - big_k * mean_y
    var = 1.0 + big_k * var_y
    sig = math.sqrt(var)
    gauss = sig * psi(mu / sig)
    h = _trapezoid_step(s, kappa, big_k, mu, var)
    n = int(math.ceil(_U_MAX / h))
    pdf_s = _pdf(s)
    r_abs_s = mills_ratio(abs(s))
    acc = 0.0
    for j in range(1, n + 1):
        u = j * h
        lam = 1j * u
        log_chi_x = lam * c + 0.5 * lam * lam + big_k * _log_cf_y(s, u, pdf_s, r_abs_s)
        log_chi_y = lam * mu + 0.5 * lam * lam * var
        g = -(cmath.exp(log_chi_x) - cmath.exp(log_chi_y)) / (u * u)
        acc += g.real
    ex_plus = gauss + h / math.pi * acc
    return psi(c) - ex_plus, n


@njit
def _log_chernoff(s, kappa, big_k):
    """log of min_{eta>0} E e^{eta X}/(e eta) >= log E X_+ (golden section; convex in eta)."""
    lo = 1e-8
    hi = 80.0
    gr = 0.5 * (math.sqrt(5.0) - 1.0)
    x1 = hi - gr * (hi - lo)
    x2 = lo + gr * (hi - lo)
    f1 = _log_mgf_x(s, kappa, big_k, x1) - math.log(x1) - 1.0
    f2 = _log_mgf_x(s, kappa, big_k, x2) - math.log(x2) - 1.0
    for _ in range(60):
        if f1 < f2:
            hi = x2
            x2 = x1
            f2 = f1
            x1 = hi - gr * (hi - lo)
            f1 = _log_mgf_x(s, kappa, big_k, x1) - math.log(x1) - 1.0
        else:
            lo = x1
            x1 = x2
            f1 = f2
            x2 = lo + gr * (hi - lo)
            f2 = _log_mgf_x(s, kappa, big_k, x2) - math.log(x2) - 1.0
    return min(f1, f2)


@njit
def _window(kappa, big_k):
    """[s_a, s_b]: outside it I(s) is Psi(s + kappa) (below) or < 1e-16 (above)."""
    log_eps = math.log(_EPS_CUT)
    # upper cut: K sf(s) / (1 + s^2) <= eps  (bounds the integral of E G_s above s)
    lo = 0.0
    hi = 60.0
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        if math.log(big_k) + log_sf(mid) - math.log1p(mid * mid) <= log_eps:
            hi = mid
        else:
            lo = mid
    s_b = hi
    # lower cut: Chernoff bound on E X_+ <= eps; never below where Psi(s+kappa) < 1e-25
    lo = -kappa - 11.0
    hi = s_b
    if _log_chernoff(lo, kappa, big_k) > log_eps:
        return lo, s_b
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if _log_chernoff(mid, kappa, big_k) <= log_eps:
            lo = mid
        else:
            hi = mid
    s_a = lo
    if s_b <= s_a + 0.5:
        s_b = s_a + 0.5
    return s_a, s_b


# Gauss-Kronrod 7-15 nodes/weights on [-1, 1] (QUADPACK qk15).
_XGK = np.array([0.991455371120812639206854697526329, 0.949107912342758524526189684047851,
                 0.864864423359769072789712788640926, 0.741531185599394439863864773280788,
                 0.586087235467691130294144845693013, 0.405845151377397166906606412076961,
                 0.207784955007898467600689403773245, 0.000000000000000000000000000000000])
_WGK = np.array([0.022935322010529224963732008058970, 0.063092092629978553290700663189204,
                 0.104790010322250183839876322541518, 0.140653259715525918745189590510238,
                 0.169004726639267902826583426598550, 0.190350578064785409913256402421014,
                 0.204432940075298892414161999234649, 0.209482141084727828012999174891714])
_WG = np.array([0.129484966168869693270611432679082, 0.279705391489276667901467771423780,
                0.381830050505118944950369775488975, 0.417959183673469387755102040816327])


@njit
def _gk15(a, b, kappa, big_k):
    """Gauss-Kronrod 7-15 on [a, b] with QUADPACK's error estimate (qk15)."""
    centr = 0.5 * (a + b)
    hl = 0.5 * (b - a)
    fv = np.empty(15)
    fc, n = integrand_kernel(centr, kappa, big_k)
    nodes = n
    fv[14] = fc
    resk = fc * _WGK[7]
    resg = fc * _WG[3]
    for j in range(7):
        dx = hl * _XGK[j]
        f1, n1 = integrand_kernel(centr - dx, kappa, big_k)
        f2, n2 = integrand_kernel(centr + dx, kappa, big_k)
        fv[2 * j] = f1
        fv[2 * j + 1] = f2
        nodes += n1 + n2
        resk += _WGK[j] * (f1 + f2)
        if j % 2 == 1:
            resg += _WG[j // 2] * (f1 + f2)
    reskh = 0.5 * resk
    resasc = _WGK[7] * abs(fc - reskh)
    for j in range(7):
        resasc += _WGK[j] * (abs(fv[2 * j] - reskh) + abs(fv[2 * j + 1] - reskh))
    resasc *= abs(hl)
    err = abs((resk - resg) * hl)
    if resasc != 0.0 and err != 0.0:
        err = resasc * min(1.0, (200.0 * err / resasc) ** 1.5)
    return resk * hl, err, nodes


@njit
def expected_dist2_kernel(big_k, kappa, abstol, max_intervals):
    """E dist^2(z, C_kappa) for z ~ N(0, I_{K+1}).

    Returns ``(value, abserr, n_u_nodes, status)``; ``abserr`` is the
    Gauss-Kronrod error estimate of the window integral plus the neglected
    tails (<= 4e-16 each by construction); status 0 ok, 1 interval budget
    exhausted, 2 non-finite integrand.
    """
    s_a, s_b = _window(kappa, big_k)
    n0 = int(math.ceil((s_b - s_a) * max(1.0, math.sqrt(2.0 * math.log1p(big_k))) / 4.0))
    if n0 < 2:
        n0 = 2
    cap = max(max_intervals, n0 + 1)
    lo = np.empty(cap)
    hi = np.empty(cap)
    val = np.empty(cap)
    err = np.empty(cap)
    nodes = 0
    width = (s_b - s_a) / n0
    for i in range(n0):
        lo[i] = s_a + i * width
        hi[i] = s_a + (i + 1) * width
        v, e, n = _gk15(lo[i], hi[i], kappa, big_k)
        val[i] = v
        err[i] = e
        nodes += n
    m = n0
    status = STATUS_OK
    while True:
        total_err = 0.0
        worst = 0
        for i in range(m):
            total_err += err[i]
            if err[i] > err[worst]:
                worst = i
        if not math.isfinite(total_err):
            status = STATUS_NONFINITE
            break
        if total_err <= abstol:
            break
        if m >= cap:
            status = STATUS_MAXITER
            break
        mid = 0.5 * (lo[worst] + hi[worst])
        v1, e1, n1 = _gk15(lo[worst], mid, kappa, big_k)
        v2, e2, n2 = _gk15(mid, hi[worst], kappa, big_k)
        nodes += n1 + n2
        lo[m] = mid
        hi[m] = hi[worst]
        val[m] = v2
        err[m] = e2
        hi[worst] = mid
        val[worst] = v1
        err[worst] = e1
        m += 1
    total = 0.0
    total_err = 0.0
    for i in range(m):
        total += val[i]
        total_err += err[i]
    value = 2.0 * (psi2(s_a + kappa) + total)
    abserr = 2.0 * (total_err + 2.0 * _EPS_CUT + (s_b - s_a) * _EPS_NODE)
    if not math.isfinite(value):
        status = STATUS_NONFINITE
    return value, abserr, nodes, status
