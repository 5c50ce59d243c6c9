r"""Warm-started Lawson-Hanson NNLS in Gram form, for the ``"gram"`` feasibility engine.

The working-set problem of :mod:`capacity.simulate.feasibility` is Lawson & Hanson's
LDP reduction of the hard-margin SVM, min_{u >= 0} ||E u - f||^2 with
E = [d A_R^T; 1^T], f = e_{n+1}.  Expanded, it is the m-dimensional quadratic program

    min_{u >= 0}  1/2 u^T H u - 1^T u,      H = d^2 G + 1 1^T,
    G_rs = a_r . a_s = (x_r . x_s) ((y_r - c_r) . (y_s - c_s)),

so the rows a_r = vec((y_r - c_r) x_r^T) (length d^2) are never formed: a row is
stored as its two factors (x_r, delta_r = y_r - c_r), a column of H costs O(m d),
and E u is the d x d matrix V = sum_r u_r delta_r x_r^T together with sum u.

Solver: Lawson-Hanson's active-set method on the passive set P, with

- an upper-triangular factor R, R^T R = H_PP, kept across iterations *and across
  cutting-plane rounds* (rows outside P may be pruned and new rows appended
  without touching R), appended block-wise (pivoted Cholesky of the Schur
  complement drops numerically dependent columns; R_12 by one BLAS-3 dtrsm) and
  downdated by deleting all leaving columns in one sweep: the kept columns shift
  left and the staircase below the diagonal is re-triangularised from the first
  deleted position on, panel by panel (dense QR of the panel, its explicit Q applied
  to the trailing rows by one matrix product), with diag(R) > 0 kept so that R stays
  *the* Cholesky factor of H_PP (the tests compare it with a fresh factorisation);
- R stored row-major in a square buffer wider than P (so appends and deletions work
  in place); column-major BLAS sees the buffer as R^T with the buffer width as leading
  dimension, so triangular solves run on it directly through scipy's ``cython_blas``
  (no copy of R, which at d = 64 is 4097^2 doubles, 134 MB); the forward half of the
  solve with H_PP z = 1 is reused for the leading columns no update has touched;
- gradients g = H u - 1 computed in factored form, g_r = d^2 delta_r^T V x_r + sum u - 1,
  i.e. from E u directly rather than through G (no cancellation when V -> 0, as it
  does on an infeasible working set); one step of iterative refinement on every
  accepted passive solution (corrected semi-normal equations);
- blocks of entering indices (the most negative gradients), with the classical
  one-index step as the fallback, so the objective decreases strictly at every
  accepted step and the method terminates; an entering block is filtered on its
  Schur complement before R is touched (candidates whose component of the augmented
  passive solution is <= 0 dropped, repeatedly; :meth:`GramNNLS._enter`), which is
  what appending it and deleting those columns again would leave, and the line
  search evaluates objectives along the path from E u and E (z - u) less the few
  clipped rows (O(clipped d^2) per trial step instead of O(|P| d^2)).

Nothing here decides a verdict: the caller re-checks W or the Gordan certificate in
float64 (see ``feasibility.py``).

Cost at d = 64 near p_c (p = 585, nested instance seed 0 trial 0, feasible; 26 rounds, |P| up to
4088 of n + 1 = 4097; one core, shared machine), with every working set solved to its optimum: 55-64 s,
of which ~35 % deleting columns from the interior of R (870 calls, ~13k columns; memory-bound on the
134 MB factor), ~25 % entering blocks (R^{-T} H_PB by BLAS-3 dtrsm; 34k candidates, 19k entered), ~15 %
triangular solves, ~10 % line-search set-up.  The cutting planes now stop the solver after a few
iterations per round (``feasibility.INNER_ITERATIONS``), which removes most of that churn, and a threshold
search starts each solve's passive set from the previous support (:meth:`GramNNLS.start_passive`):
docs/simulator.md §2 and benchmarks/results/bench_engine_scale.txt for the measured effect.
"""
import ctypes

import numpy as np
from scipy.linalg import lapack, solve_triangular

from .._jit import njit

__all__ = ["GramNNLS"]


@njit
def _compact_columns(R, s, pos):
    """Step 1 of :func:`_delete_columns`: shift the kept columns of R[:s, :s] left, row by row
    (contiguous), zero the freed columns and rows; returns ``orig``, the old index of new column
    pos[0] + t.  New column j then has nonzeros down to row orig[j - pos[0]] (a staircase)."""
    r = len(pos)
    k0 = pos[0]
    ns = s - r
    orig = np.empty(ns - k0, dtype=np.int64)
    q = 0
    t = 0
    for o in range(k0, s):
        if q < r and pos[q] == o:
            q += 1
        else:
            orig[t] = o
            t += 1
    for i in range(s):
        # the kept runs between deleted columns move left by q as contiguous blocks; row i of the
        # old R vanishes left of column i, so only columns >= i are moved (the targets left of the
        # diagonal already hold zeros)
        for q in range(1, r + 1):
            a = max(pos[q - 1] + 1, i)
            b = pos[q] if q < r else s
            for o in range(a, b):
                R[i, o - q] = R[i, o]
        for j in range(max(ns, i), s):
            R[i, j] = 0.0
    return orig


@njit
def _retriangularise(R, ns, k0, orig, j0, j1):
    """Householder reflectors for the staircase columns j0 <= j < j1 of a compacted R (see
    :func:`_compact_columns`), applied to the columns up to ns - 1 as contiguous row axpys;
    rows are sign-flipped so that diag(R) > 0."""
    r1 = 0
    for j in range(j0, j1):
        r1 = max(r1, orig[j - k0] - j + 1)
    v = np.empty(r1)
    w = np.empty(ns)
    for j in range(j0, j1):
        last = orig[j - k0]
        m = last - j + 1
        if m > 1:
            x0 = R[j, j]
            sig = 0.0
            for i in range(1, m):
                sig += R[j + i, j] * R[j + i, j]
            if sig > 0.0:
                nrm = np.sqrt(x0 * x0 + sig)
                alpha = -nrm if x0 >= 0.0 else nrm  # R[j, j] := alpha; v = x - alpha e1
                v[0] = x0 - alpha
                for i in range(1, m):
                    v[i] = R[j + i, j]
                beta = 1.0 / (-alpha * v[0])  # 2 / v^T v = 1 / (alpha (alpha - x0))
                # apply I - beta v v^T to rows j .. last, columns j+1 .. ns-1
                for l in range(j + 1, ns):
                    w[l] = 0.0
                for i in range(m):
                    vi = v[i]
                    for l in range(j + 1, ns):
                        w[l] += vi * R[j + i, l]
                for i in range(m):
                    c = beta * v[i]
                    for l in range(j + 1, ns):
                        R[j + i, l] -= c * w[l]
                R[j, j] = alpha
                for i in range(1, m):
                    R[j + i, j] = 0.0
        if R[j, j] < 0.0:
            for l in range(j, ns):
                R[j, l] = -R[j, l]


def _delete_columns(R, s, pos, *, block=None):
    """Delete the columns ``pos`` (ascending, distinct, int64) of the upper-triangular R[:s, :s] in
    place (R a square C-contiguous float64 buffer); returns the new size s - len(pos).

    R^T R loses the matching rows and columns, and the result is *the* Cholesky factor of the
    reduced matrix (diag > 0).  The kept columns are shifted left row by row, which leaves new
    column j with nonzeros down to row orig(j), its old index; the triangle is restored from the
    first deleted position on, O(len(pos) (s - pos[0])^2) flops, either by one Householder
    reflector per column (contiguous row axpys; few deletions) or, for many deletions, panel by
    panel: a dense QR of the panel's staircase (h = nb + deletions rows), its explicit Q applied
    to the trailing rows by one BLAS-3 product.  ``block`` forces the panel width (0: unblocked).
    """
    r = len(pos)
    if r == 0:
        return s
    k0 = int(pos[0])
    ns = s - r
    orig = _compact_columns(R, s, pos)
    nb = block if block is not None else (0 if ns - k0 < 256 else int(min(48, max(16, r))))
    if nb <= 0:
        _retriangularise(R, ns, k0, orig, k0, ns)
        return ns
    for j in range(k0, ns, nb):
        je = min(j + nb, ns)
        h = int(orig[je - 1 - k0]) - j + 1
        if h == je - j:  # nothing below the diagonal in this panel
            _retriangularise(R, ns, k0, orig, j, je)
            continue
        Q, Rp = np.linalg.qr(R[j:j + h, j:je], mode="complete")
        flip = np.diag(Rp) < 0.0
        Q[:, :je - j][:, flip] *= -1.0
        Rp[:je - j][flip] *= -1.0
        R[j:j + h, j:je] = Rp
        if je < ns:
            R[j:j + h, je:ns] = Q.T @ R[j:j + h, je:ns]
    return ns


def _blas_fn(name, *argtypes, module="cython_blas"):
    """A routine of scipy's ``cython_blas`` (or another ``module`` of scipy.linalg, e.g. ``cython_lapack``)
    as a ctypes function (Fortran calling convention: every argument by pointer), so that it can run on a
    sub-block of the factor buffer in place (leading dimension = buffer width) where scipy's wrappers would
    copy the block first."""
    from numba.extending import get_cython_function_address

    return ctypes.CFUNCTYPE(None, *argtypes)(get_cython_function_address(f"scipy.linalg.{module}", name))


_ch, _ip, _vp = ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_void_p
_dp = ctypes.POINTER(ctypes.c_double)
# dtrsv(uplo, trans, diag, n, a, lda, x, incx); dtrsm(side, uplo, transa, diag, m, n, alpha, a, lda, b, ldb)
_dtrsv = _blas_fn("dtrsv", _ch, _ch, _ch, _ip, _vp, _ip, _vp, _ip)
_dtrsm = _blas_fn("dtrsm", _ch, _ch, _ch, _ch, _ip, _ip, _dp, _vp, _ip, _vp, _ip)
# dpstrf(uplo, n, a, lda, piv, rank, tol, work, info): pivoted Cholesky, in place
_dpstrf = _blas_fn("dpstrf", _ch, _ip, _vp, _ip, _vp, _ip, _dp, _vp, _ip, module="cython_lapack")


def _i(v):
    return ctypes.byref(ctypes.c_int(int(v)))


def _check_buf(Rbuf, s):
    if not (Rbuf.flags.c_contiguous and Rbuf.dtype == np.float64 and Rbuf.ndim == 2
            and Rbuf.shape[0] == Rbuf.shape[1] and 0 <= s <= Rbuf.shape[0] < 2 ** 31):
        raise ValueError("factor buffer must be a square C-contiguous float64 array holding R[:s, :s]")


def _chol_solve(Rbuf, s, b):
    """z = (R^T R)^{-1} b with R = Rbuf[:s, :s] upper triangular (C-contiguous buffer): two BLAS
    triangular solves on the buffer in place.  Column-major BLAS sees the buffer as M = R^T (lower,
    leading dimension = buffer width): R^T y = b is M y = b, R z = y is M^T z = y."""
    _check_buf(Rbuf, s)
    z = np.array(b, dtype=np.float64, copy=True)
    if s == 0:
        return z
    assert z.shape == (s,)
    lda = _i(Rbuf.shape[0])
    _dtrsv(b"L", b"N", b"N", _i(s), Rbuf.ctypes.data, lda, z.ctypes.data, _i(1))
    _dtrsv(b"L", b"T", b"N", _i(s), Rbuf.ctypes.data, lda, z.ctypes.data, _i(1))
    return z


def _chol_solve_ones(Rbuf, s, y, k):
    """z = (R^T R)^{-1} 1 for R = Rbuf[:s, :s], given y[:k] = R[:k, :k]^{-T} 1 (the forward solve of a
    leading block, unchanged while only columns >= k were appended or deleted); completes y in place
    (y has room for s entries) by a matrix-vector product with R[:k, k:s] and a triangular solve
    with R[k:s, k:s], then solves R z = y.  Returns z."""
    _forward_ones(Rbuf, s, y, k)
    if s == 0:
        return np.zeros(0)
    z = y[:s].copy()
    _dtrsv(b"L", b"T", b"N", _i(s), Rbuf.ctypes.data, _i(Rbuf.shape[0]), z.ctypes.data, _i(1))
    return z


def _forward_ones(Rbuf, s, y, k):
    """Complete y[:s] = R^{-T} 1 in place for R = Rbuf[:s, :s], given y[:k] (see :func:`_chol_solve_ones`)."""
    _check_buf(Rbuf, s)
    assert len(y) >= s and y.flags.c_contiguous and y.dtype == np.float64 and 0 <= k <= s
    cap = Rbuf.shape[0]
    if k < s:
        tail = np.ones(s - k)
        if k:
            tail -= y[:k] @ Rbuf[:k, k:s]
        y[k:s] = tail
        _dtrsv(b"L", b"N", b"N", _i(s - k), Rbuf.ctypes.data + 8 * (k * cap + k), _i(cap), y.ctypes.data + 8 * k,
               _i(1))


def _rt_solve(Rbuf, s, B):
    """Y = R^{-T} B for R = Rbuf[:s, :s] (as in :func:`_chol_solve`) and B (s, k): one BLAS-3 dtrsm
    on the buffer in place; returns Y, Fortran-ordered."""
    _check_buf(Rbuf, s)
    Y = np.array(B, dtype=np.float64, order="F", copy=True)
    assert Y.ndim == 2 and Y.shape[0] == s
    if s == 0 or Y.shape[1] == 0:
        return Y
    _dtrsm(b"L", b"L", b"N", b"N", _i(s), _i(Y.shape[1]), ctypes.byref(ctypes.c_double(1.0)),
           Rbuf.ctypes.data, _i(Rbuf.shape[0]), Y.ctypes.data, _i(s))
    return Y


class GramNNLS:
    """min_{u>=0} 1/2 u^T H u - 1^T u with H = scale^2 (X X^T) o (D D^T) + 1 1^T, rows (x_r, delta_r)."""

    def __init__(self, scale, X, D, *, tol=1e-11, max_block=512):
        self.s2 = float(scale) ** 2
        self.X = np.ascontiguousarray(X, dtype=float)
        self.D = np.ascontiguousarray(D, dtype=float)
        self.u = np.zeros(len(self.X))
        self.P = np.zeros(0, dtype=np.intp)  # row indices, in the column order of R
        self.Rbuf = np.zeros((0, 0))  # R = Rbuf[:s, :s], s = len(P)
        self._y1 = np.zeros(0)  # y1[:_y1_valid] = R[:k, :k]^{-T} 1, k = _y1_valid (see _solve_ones)
        self._y1_valid = 0
        self.rank_cap = self.X.shape[1] * self.D.shape[1] + 1  # rank of E is at most n + 1
        self.tol = tol
        self.max_block = max_block
        self.iterations = 0

    # --- rows -----------------------------------------------------------------------------
    @property
    def m(self):
        return len(self.X)

    def add_rows(self, X, D):
        self.X = np.vstack([self.X, X])
        self.D = np.vstack([self.D, D])
        self.u = np.concatenate([self.u, np.zeros(len(X))])

    def keep_rows(self, keep):
        """Drop the rows outside ``keep`` (a boolean mask that must contain all of P)."""
        keep = np.asarray(keep, dtype=bool)
        assert keep[self.P].all()
        newidx = np.cumsum(keep) - 1
        self.X, self.D, self.u = self.X[keep], self.D[keep], self.u[keep]
        self.P = newidx[self.P]

    def H(self, I, J):
        return self.s2 * (self.X[I] @ self.X[J].T) * (self.D[I] @ self.D[J].T) + 1.0

    # --- E u in factored form ---------------------------------------------------------------
    def V(self, u=None, P=None):
        """sum_r u_r delta_r x_r^T (over P)."""
        P = self.P if P is None else P
        u = self.u[P] if u is None else u
        return (self.D[P] * u[:, None]).T @ self.X[P]

    def grad(self, u=None, P=None, rows=None):
        """g_r = (H u - 1)_r for the given rows (all by default), u supported on P."""
        P = self.P if P is None else P
        u = self.u[P] if u is None else u
        V = self.V(u, P)
        Xr = self.X if rows is None else self.X[rows]
        Dr = self.D if rows is None else self.D[rows]
        return self.s2 * np.einsum("ij,ij->i", Dr @ V, Xr) + (u.sum() - 1.0)

    def objective(self, uP, P=None, factors=None):
        """1/2 u^T H u - 1^T u for u supported on P, in factored form (``factors``: the gathered
        (D[P], X[P]) when several objectives on the same P are wanted)."""
        su = float(uP.sum())
        if factors is None:
            V = self.V(uP, P)
        else:
            DP, XP = factors
            V = (DP * uP[:, None]).T @ XP
        return 0.5 * self.s2 * float(np.sum(V * V)) + 0.5 * su * su - su

    def _path(self, uP, dz):
        """What :meth:`_path_objective` needs for the points u + t dz of the passive set."""
        DP, XP = self.D[self.P], self.X[self.P]
        return (DP, XP, uP, dz, (DP * uP[:, None]).T @ XP, (DP * dz[:, None]).T @ XP, float(uP.sum()),
                float(dz.sum()))

    def _path_objective(self, path, t, clip):
        """The objective at max(u + t dz, 0) whose negative entries are exactly ``clip``:
        V = V(u) + t V(dz) - V over the clipped rows, O(len(clip) d^2) instead of O(|P| d^2).
        Selects a step only (round-off ~ eps |V(u)| + eps t |V(dz)|)."""
        DP, XP, uP, dz, V0, Vd, su0, sd = path
        w = uP[clip] + t * dz[clip]
        V = V0 + t * Vd
        if len(clip):
            V -= (DP[clip] * w[:, None]).T @ XP[clip]
        su = su0 + t * sd - float(w.sum())
        return 0.5 * self.s2 * float(np.sum(V * V)) + 0.5 * su * su - su

    # --- factor maintenance -----------------------------------------------------------------
    @property
    def R(self):
        s = len(self.P)
        return self.Rbuf[:s, :s]

    def _solve(self, rhs):
        return _chol_solve(self.Rbuf, len(self.P), np.ascontiguousarray(rhs, dtype=float))

    def _solve_ones(self):
        """(R^T R)^{-1} 1, reusing the forward solve of the leading columns that no append or
        deletion has touched since the last call."""
        s = len(self.P)
        self._grow_y1(s)
        z = _chol_solve_ones(self.Rbuf, s, self._y1, min(self._y1_valid, s))
        self._y1_valid = s
        return z

    def _schur(self, B):
        """R12 = R^{-T} H_PB and the Schur complement S = H_BB - R12^T R12 of the candidates B, with the
        pivoted Cholesky factor of S: returns (R12, S, c, order, rank), order[:rank] the numerically
        independent candidates (indices into B) in pivot order, c[:rank, :rank] their factor."""
        s = len(self.P)
        HPB = self.H(self.P, B) if s else np.zeros((0, len(B)))
        R12 = _rt_solve(self.Rbuf, s, HPB) if s else HPB
        S = self.H(B, B) - R12.T @ R12
        dmax = float(np.max(np.diag(self.H(B[:1], B[:1])))) if len(B) else 1.0
        dmax = max(dmax, float(np.max(np.diag(S))) if len(B) else 0.0)
        c, piv, rank, info = lapack.dpstrf(S, tol=1e-11 * dmax, lower=0)
        if info < 0:  # pragma: no cover - argument error
            raise RuntimeError(f"dpstrf info {info}")
        return R12, S, c, piv - 1, int(rank), 1e-11 * dmax

    def _place(self, B, R12, R22, y2=None):
        """Append the rows B to P with the factor blocks R12 (s x r) and R22 (r x r, upper); ``y2`` (the
        forward solve of the ones for the new rows, given a complete one for the old) extends it."""
        s, r = len(self.P), len(B)
        if s + r > self.Rbuf.shape[0]:
            cap = min(max(2 * self.Rbuf.shape[0], s + r, 64), max(self.rank_cap, s + r))
            buf = np.zeros((cap, cap))
            buf[:s, :s] = self.R
            self.Rbuf = buf
        self.Rbuf[:s, s:s + r] = R12
        self.Rbuf[s:s + r, :s] = 0.0
        self.Rbuf[s:s + r, s:s + r] = R22
        self.P = np.concatenate([self.P, B])
        if y2 is not None and self._y1_valid == s and len(self._y1) >= s + r:
            self._y1[s:s + r] = y2
            self._y1_valid = s + r
        else:
            self._y1_valid = min(self._y1_valid, s)

    def _append(self, B):
        """Append candidate rows B to P; returns the ones appended (numerically independent)."""
        R12, _, c, order, r, _ = self._schur(B)
        if r == 0:
            return B[:0]
        self._place(B[order[:r]], R12[:, order[:r]], np.triu(c[:r, :r]))
        return B[order[:r]]

    def _enter(self, B):
        """Append those candidates B whose component of the passive solution on P + B is positive.

        The entering block's part of z = H^{-1} 1 on the augmented set is z_B = S^{-1} (1 - R12^T y1),
        y1 = R^{-T} 1, with S the Schur complement of H_PP: candidates with z_B <= 0 are dropped and
        z_B recomputed (a Cholesky factor of the r x r principal submatrix of S) until all are positive,
        before R is touched, instead of appending them and deleting them from R.  Returns
        ``(entered, independent)``: the rows appended, and all numerically independent candidates.
        """
        R12, S, c, order, r, tol = self._schur(B)
        idx = order[:r]
        if r == 0:
            return B[:0], B[:0]
        s = len(self.P)
        self._grow_y1(s + r)
        _forward_ones(self.Rbuf, s, self._y1, min(self._y1_valid, s))
        self._y1_valid = s
        rhs = 1.0 - R12.T @ self._y1[:s]
        R22 = np.triu(c[:r, :r])
        while True:
            y2 = solve_triangular(R22, rhs[idx], trans="T")
            zB = solve_triangular(R22, y2)
            bad = zB <= 0
            if not bad.any():
                break
            idx = idx[~bad]
            if len(idx) == 0:
                return B[:0], B[order[:r]]
            c, piv, rank, info = lapack.dpstrf(S[np.ix_(idx, idx)], tol=tol, lower=0)
            idx = idx[piv[:rank] - 1]
            R22 = np.triu(c[:rank, :rank])
            if rank == 0:  # pragma: no cover - a principal submatrix of an independent set stays independent
                return B[:0], B[order[:r]]
        self._place(B[idx], R12[:, idx], R22, y2)
        return B[idx], B[order[:r]]

    def _grow_y1(self, n):
        if len(self._y1) < n:
            y = np.zeros(max(n, 2 * len(self._y1)))
            y[:self._y1_valid] = self._y1[:self._y1_valid]
            self._y1 = y

    def _remove(self, pos):
        """Remove the passive positions ``pos`` (indices into P) and downdate R (Givens, O(s^2) each)."""
        pos = np.unique(np.asarray(pos, dtype=np.intp))
        if len(pos) == 0:
            return
        keep = np.ones(len(self.P), dtype=bool)
        keep[pos] = False
        _delete_columns(self.Rbuf, len(self.P), pos.astype(np.int64))
        self._y1_valid = min(self._y1_valid, int(pos[0]))
        self.u[self.P[pos]] = 0.0
        self.P = self.P[keep]

    # --- the active-set method --------------------------------------------------------------
    def solve(self, max_iter=100000):
        """Lawson-Hanson from the current (feasible, P-optimal) state; returns "optimal" or "budget"."""
        excluded = np.zeros(self.m, dtype=bool)
        for _ in range(max_iter):
            self.iterations += 1
            g = self.grad()
            inP = np.zeros(self.m, dtype=bool)
            inP[self.P] = True
            cand = np.nonzero((g < -self.tol) & ~inP & ~excluded)[0]
            if len(cand) == 0:
                return "optimal"
            room = max(1, min(self.max_block, self.rank_cap - len(self.P)))
            cand = cand[np.argsort(g[cand], kind="stable")]
            B = cand[:room]
            s0 = len(self.P)
            best = B[0]
            single = len(B) == 1
            added, independent = self._enter(B)
            excluded[np.setdiff1d(B, independent)] = True
            if len(added) == 0:
                if len(independent) == 0:
                    continue
                # every entering index would leave at once: fall back to the classical single index with
                # the most negative gradient (z_j > 0 in exact arithmetic)
                if single or best in excluded:
                    excluded[best] = True
                    continue
                single = True
                if len(self._append(np.array([best]))) == 0:
                    excluded[best] = True
                    continue
            new = np.zeros(len(self.P), dtype=bool)
            new[s0:] = True
            progressed = False
            while True:
                z = self._solve_ones()
                bad_new = new & (z <= 0)
                if bad_new.any():
                    if bad_new.sum() == new.sum():
                        self._remove(np.nonzero(new)[0])
                        if single or best in excluded:
                            excluded[best] = True
                            break
                        single = True
                        s0 = len(self.P)
                        if len(self._append(np.array([best]))) == 0:
                            excluded[best] = True
                            break
                        new = np.zeros(len(self.P), dtype=bool)
                        new[s0:] = True
                        continue
                    self._remove(np.nonzero(bad_new)[0])
                    new = new[~bad_new]
                    continue
                neg = z <= 0
                if neg.any():
                    uP = self.u[self.P]
                    dz = z - uP
                    # the classical step from u toward z until the first variable hits zero ...
                    ratio = uP[neg] / (uP[neg] - z[neg])
                    alpha = float(ratio.min())
                    ua = uP + alpha * dz
                    hit = np.nonzero(neg)[0][ratio <= alpha * (1 + 1e-12)]
                    ua[hit] = 0.0
                    ua[ua < 0] = 0.0
                    # ... or, if it does at least as well, a longer projected step max(u + t (z - u), 0)
                    # with t in (alpha, 1], which drops several indices at once; objectives along the
                    # path from E u and E (z - u), less the few clipped rows (see _path_objective)
                    path = self._path(uP, dz)
                    ubest = ua
                    fa = self._path_objective(path, alpha, np.union1d(hit, np.nonzero(uP + alpha * dz < 0)[0]))
                    t = 1.0
                    while t > alpha:
                        ut = uP + t * dz
                        clip = np.nonzero(ut < 0)[0]
                        if self._path_objective(path, t, clip) <= fa:
                            ut[clip] = 0.0
                            ubest = ut
                            break
                        t *= 0.5
                    self.u[self.P] = ubest
                    progressed = True
                    self._remove(np.nonzero(ubest <= 0)[0])
                    new = np.zeros(len(self.P), dtype=bool)
                    continue
                # one step of iterative refinement with the factored residual
                z = z - self._solve(self.grad(z, self.P, self.P))
                if np.any(z <= 0):  # refinement pushed a tiny component across zero: keep the unrefined sign
                    z = np.maximum(z, 0.0)
                self.u[self.P] = z
                progressed = True
                break
            if progressed:
                excluded[:] = False
        return "budget"

    # --- warm start from a passive set ----------------------------------------------------------
    def start_passive(self, rows):
        """Start from the passive set ``rows`` (row indices, e.g. where a related problem's solution was
        positive) instead of u = 0: one pivoted Cholesky of H over them (numerically dependent rows
        dropped), and the rows whose component of the passive solution is <= 0 dropped, refactoring,
        until none is.  Leaves u optimal and > 0 on its passive set, which is all :meth:`solve` needs
        of a start.  H over the rows is written into the factor buffer and factored there in place
        (LAPACK dpstrf), so the peak memory is the buffer's.  Returns the size of the passive set."""
        if len(self.P):
            raise ValueError("start_passive needs an empty passive set")
        B = np.unique(np.asarray(rows, dtype=np.intp))
        while len(B):
            self._factor_in_place(B)
            z = self._solve_ones()
            good = z > 0
            if good.all():
                self.u[self.P] = z
                return len(self.P)
            B = self.P[good]
        return 0

    def _factor_in_place(self, B, panel=1024):
        """P := the numerically independent rows of B in pivot order, R its Cholesky factor, computed in
        the buffer: H_BB written row panel by row panel, then dpstrf on the buffer as a column-major
        matrix (symmetric, so it is H_BB itself) with the buffer width as leading dimension."""
        s = len(B)
        cap = max(self.rank_cap, s)
        if self.Rbuf.shape[0] < s:
            self.Rbuf = np.zeros((0, 0))  # release the old buffer before allocating the new one
            self.Rbuf = np.zeros((cap, cap))
        R = self.Rbuf
        XB, DB = self.X[B], self.D[B]
        dmax = 0.0
        for i0 in range(0, s, panel):
            i1 = min(s, i0 + panel)
            blk = R[i0:i1, :s]
            np.matmul(XB[i0:i1], XB.T, out=blk)
            blk *= DB[i0:i1] @ DB.T
            blk *= self.s2
            blk += 1.0
            dmax = max(dmax, float(np.max(np.diagonal(blk, offset=i0))))
        piv = np.zeros(max(s, 1), dtype=np.int32)
        rank, info = ctypes.c_int(0), ctypes.c_int(0)
        work = np.zeros(2 * max(s, 1))
        _dpstrf(b"L", _i(s), R.ctypes.data, _i(R.shape[0]), piv.ctypes.data, ctypes.byref(rank),
                ctypes.byref(ctypes.c_double(1e-11 * dmax)), work.ctypes.data, ctypes.byref(info))
        if info.value < 0:  # pragma: no cover - argument error
            raise RuntimeError(f"dpstrf info {info.value}")
        r = rank.value
        for i in range(s):  # the row-major lower triangle (and the rank-deficient tail) still holds H
            R[i, :min(i, s)] = 0.0
            R[i, max(i, r):s] = 0.0
        self.P = B[piv[:r] - 1]
        self._y1_valid = 0
        self.u[:] = 0.0
