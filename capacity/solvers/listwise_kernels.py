r"""Numba kernels of the listwise projection path (no physics: sorted vectors and Gaussian integrals).

The theory is :mod:`capacity.theory.listwise` (docs/theory.md §7); these kernels
only walk a piecewise-linear path and integrate piecewise quadratics against the
standard normal density.  Given competitors sorted in decreasing order, the
Euclidean projection of (z_0, w) onto {h : h_0 - T_k(g)/k >= kappa} (T_k the sum
of the k largest entries) is parametrised by sigma = lambda/k: the top ``a``
competitors are lowered by sigma, the next ``b`` are flattened onto a level
theta, the rest are untouched, with sum_B (w_i - theta) = (k - a) sigma and
T_k(g) = S_A - a sigma + (k - a) theta.  As sigma grows theta decreases
(d theta/d sigma = -(k - a)/b) and theta + sigma increases, so the groups change by
single moves (an element joins B from below, or leaves A into B), and
G(sigma) = T_k(g)/k + kappa - k sigma is piecewise linear and strictly decreasing.

:func:`walk_path` records the linear pieces until G falls below a stopping value;
:func:`integrate_path` integrates dist^2, a quadratic in z_0 on each piece, against
the N(0, 1) density of z_0 (:func:`gauss_quadratic`: closed form, or 8-point
Gauss-Legendre on narrow pieces); :func:`rao_blackwell_block` does this for a block
of samples and :func:`project_rows` returns the projection itself.

Kernels take float64 arrays and scalars, never validate, never raise, and
report trouble through status codes: :data:`STATUS_NEED_BELOW` /
:data:`STATUS_NEED_ABOVE` when the path leaves the window of competitors it was
given (the caller widens the window and calls again).  They call only kernels of
this module and run unchanged under ``NUMBA_DISABLE_JIT=1``.
"""
import math

import numpy as np

from .._jit import njit

__all__ = [
    "STATUS_OK",
    "STATUS_NEED_BELOW",
    "STATUS_NEED_ABOVE",
    "GL8_NODES",
    "GL8_WEIGHTS",
    "path_workspace",
    "walk_path",
    "gauss_quadratic",
    "integrate_path",
    "rao_blackwell_block",
    "project_rows",
]

#: The path finished below the stopping value.
STATUS_OK = 0
#: The path needs competitors below the window (ranks >= hi).
STATUS_NEED_BELOW = 1
#: The path needs competitors above the window (ranks < lo).
STATUS_NEED_ABOVE = 2


#: 8-point Gauss-Legendre nodes and weights on [-1, 1] (for :func:`gauss_quadratic`).
GL8_NODES = np.array([-0.9602898564975363, -0.7966664774136267, -0.5255324099163290, -0.1834346424956498,
                      0.1834346424956498, 0.5255324099163290, 0.7966664774136267, 0.9602898564975363])
GL8_WEIGHTS = np.array([0.1012285362903763, 0.2223810344533745, 0.3137066458778873, 0.3626837833783620,
                        0.3626837833783620, 0.3137066458778873, 0.2223810344533745, 0.1012285362903763])


@njit
def walk_path(v, lo, hi, s_lo, K, k, kappa, zstop, seg_sigma, seg_theta, seg_e2, seg_ghi, seg_glo, seg_a, seg_b):
    """Follow the projection path of sorted competitors until G(sigma) <= zstop.

    ``v[j - lo]`` is the (j+1)-th largest competitor for ``lo <= j < hi``;
    ``s_lo`` is the sum of the ``lo`` largest.  Records one row per linear piece:
    sigma, theta and E2 = sum_B (w_i - theta)^2 at its start, G at its two ends,
    and the group sizes a, b.  Returns (number of pieces, status).
    """
    sk = s_lo
    for j in range(lo, k):
        sk += v[j - lo]
    g = sk / k + kappa
    if g <= zstop:
        return 0, STATUS_OK
    n = 0
    if k < K:
        ds = v[k - 1 - lo] - v[k - lo]
        if ds < 0.0:
            ds = 0.0
        g_end = g - (k + 1.0) * ds
    else:
        ds = np.inf
        g_end = -np.inf
    # first piece: the top k are lowered together (b = 0)
    seg_sigma[n] = 0.0
    seg_theta[n] = np.nan
    seg_e2[n] = 0.0
    seg_ghi[n] = g
    seg_glo[n] = g_end
    seg_a[n] = k
    seg_b[n] = 0
    n += 1
    if g_end <= zstop:
        return n, STATUS_OK
    sigma = ds
    g = g_end
    a = k - 1
    b = 2
    theta = v[k - lo]
    e2 = sigma * sigma
    while True:
        c = (k - a) / b
        slope = (a + (k - a) * c) / k + k
        j = a + b
        if j < K:
            if j >= hi:
                return n, STATUS_NEED_BELOW
            ds1 = (theta - v[j - lo]) / c
        else:
            ds1 = np.inf
        if a >= 1:
            if a - 1 < lo:
                return n, STATUS_NEED_ABOVE
            ds2 = (v[a - 1 - lo] - theta - sigma) * b / (a + b - k)
        else:
            ds2 = np.inf
        ds = min(ds1, ds2)
        if ds < 0.0:
            ds = 0.0
        g_end = g - slope * ds if ds < np.inf else -np.inf
        seg_sigma[n] = sigma
        seg_theta[n] = theta
        seg_e2[n] = e2
        seg_ghi[n] = g
        seg_glo[n] = g_end
        seg_a[n] = a
        seg_b[n] = b
        n += 1
        if g_end <= zstop:
            return n, STATUS_OK
        e2 += 2.0 * c * ds * (k - a) * sigma + b * c * c * ds * ds
        sigma += ds
        g = g_end
        if ds1 <= ds2:  # theta reached the next competitor from below: it joins the flat group
            theta = v[j - lo]
            b += 1
        else:  # theta + sigma reached the lowest lowered competitor: it joins the flat group at e = sigma
            a -= 1
            b += 1
            theta = v[a - lo] - sigma
            e2 += sigma * sigma


@njit
def _phi(x):
    """Standard normal density."""
    return math.exp(-0.5 * x * x) * 0.3989422804014327


@njit
def _ndiff(u, v):
    """Phi(v) - Phi(u) for u <= v without cancellation in either tail."""
    r = 0.7071067811865476
    if u >= 0.0:
        return 0.5 * (math.erfc(u * r) - math.erfc(v * r))
    if v <= 0.0:
        return 0.5 * (math.erfc(-v * r) - math.erfc(-u * r))
    return 1.0 - 0.5 * math.erfc(v * r) - 0.5 * math.erfc(-u * r)


@njit
def gauss_quadratic(u, v, c0, c1, c2, glx, glw):
    """int_u^v phi(x) (c0 + c1 y + c2 y^2) dx with y = v - x (closed form; Gauss-Legendre if narrow)."""
    h = v - u
    if h <= 0.0:
        return 0.0
    if h < 0.5:
        s = 0.0
        for i in range(glx.size):
            y = 0.5 * h * (1.0 + glx[i])
            s += glw[i] * _phi(v - y) * (c0 + y * (c1 + c2 * y))
        return 0.5 * h * s
    dphi = _ndiff(u, v)
    pu = _phi(u)
    pv = _phi(v)
    m1 = v * dphi - pu + pv
    m2 = (v * v + 1.0) * dphi + (u - 2.0 * v) * pu + v * pv
    return c0 * dphi + c1 * m1 + c2 * m2


@njit
def integrate_path(n, k, zstop, seg_sigma, seg_e2, seg_ghi, seg_glo, seg_a, seg_b, glx, glw):
    """E_{z_0} dist^2 over z_0 > zstop from the recorded pieces (dist^2 = 0 above the first)."""
    total = 0.0
    for s in range(n):
        a = seg_a[s]
        b = seg_b[s]
        c = (k - a) / b if b > 0 else 0.0
        slope = (a + (k - a) * c) / k + k
        sigma = seg_sigma[s]
        q = k * k + a
        d0 = q * sigma * sigma + seg_e2[s]
        d1 = (2.0 * q * sigma + 2.0 * c * (k - a) * sigma) / slope
        d2 = (q + b * c * c) / (slope * slope)
        v = seg_ghi[s]
        u = seg_glo[s]
        if u < zstop:
            u = zstop
        total += gauss_quadratic(u, v, d0, d1, d2, glx, glw)
    return total


@njit
def path_workspace(cap):
    """Scratch arrays for :func:`walk_path` with room for ``cap`` path segments."""
    return (np.empty(cap), np.empty(cap), np.empty(cap), np.empty(cap), np.empty(cap),
            np.empty(cap, dtype=np.int64), np.empty(cap, dtype=np.int64))


@njit
def rao_blackwell_block(win, lo, hi, s_lo, K, k, kappa, zstop, out_y, out_status, glx, glw):
    """Rao-Blackwellised E_{z_0} dist^2 for each sample (row) of a block of sorted competitor windows."""
    cap = hi - lo + 4
    seg_sigma, seg_theta, seg_e2, seg_ghi, seg_glo, seg_a, seg_b = path_workspace(cap)
    for i in range(win.shape[0]):
        n, st = walk_path(win[i], lo, hi, s_lo[i], K, k, kappa, zstop,
                          seg_sigma, seg_theta, seg_e2, seg_ghi, seg_glo, seg_a, seg_b)
        out_status[i] = st
        if st == STATUS_OK:
            out_y[i] = integrate_path(n, k, zstop, seg_sigma, seg_e2, seg_ghi, seg_glo, seg_a, seg_b, glx, glw)
        else:
            out_y[i] = np.nan


@njit
def project_rows(z, k, kappa, h, dist2):
    """Exact projection of each row of z onto C_{kappa,k}; fills h and dist2."""
    n = z.shape[0]
    K = z.shape[1] - 1
    cap = K + 4
    seg_sigma, seg_theta, seg_e2, seg_ghi, seg_glo, seg_a, seg_b = path_workspace(cap)
    for i in range(n):
        z0 = z[i, 0]
        w = z[i, 1:]
        order = np.argsort(-w)
        v = w[order]
        m, st = walk_path(v, 0, K, 0.0, K, k, kappa, z0, seg_sigma, seg_theta, seg_e2, seg_ghi, seg_glo, seg_a, seg_b)
        for j in range(K + 1):
            h[i, j] = z[i, j]
        dist2[i] = 0.0
        if m == 0:
            continue  # feasible: the projection is z itself
        s = m - 1
        a = seg_a[s]
        b = seg_b[s]
        c = (k - a) / b if b > 0 else 0.0
        slope = (a + (k - a) * c) / k + k
        ds = (seg_ghi[s] - z0) / slope
        sigma = seg_sigma[s] + ds
        theta = seg_theta[s] - c * ds
        h[i, 0] = z0 + k * sigma
        for r in range(a):
            h[i, 1 + order[r]] = v[r] - sigma
        for r in range(a, a + b):
            h[i, 1 + order[r]] = theta
        acc = 0.0
        for j in range(K + 1):
            acc += (h[i, j] - z[i, j]) ** 2
        dist2[i] = acc
