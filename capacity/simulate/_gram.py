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
  complement drops numerically dependent columns) and downdated by a QR of the
  trailing columns;
- gradients g = H u - 1 computed in factored form, g_r = d^2 delta_r^T V x_r + sum u - 1,
  i.e. from E u directly rather than through G (no cancellation when V -> 0, as it
  does on an infeasible working set); one step of iterative refinement on every
  accepted passive solution (corrected semi-normal equations);
- blocks of entering indices (the most negative gradients), with the classical
  one-index step as the fallback, so the objective decreases strictly at every
  accepted step and the method terminates.

Nothing here decides a verdict: the caller re-checks W or the Gordan certificate in
float64 (see ``feasibility.py``).
"""
import numpy as np
from scipy.linalg import lapack, solve_triangular

from .._jit import njit

__all__ = ["GramNNLS"]


@njit
def _delete_columns(R, pos):
    """Delete the columns ``pos`` (ascending) of the upper-triangular R in place, re-triangularising
    with Givens rotations (R^T R loses the matching rows and columns); the result is R[:s-r, :s-r]."""
    s = R.shape[0]
    for q in range(len(pos) - 1, -1, -1):
        k = pos[q]
        # shift columns k+1.. left by one: column j (j >= k) now has one subdiagonal entry R[j+1, j]
        for j in range(k, s - 1):
            for i in range(j + 2):
                R[i, j] = R[i, j + 1]
        for i in range(s):
            R[i, s - 1] = 0.0
        for j in range(k, s - 1):
            a = R[j, j]
            b = R[j + 1, j]
            if b == 0.0:
                continue
            r = np.hypot(a, b)
            c = a / r
            sn = b / r
            R[j, j] = r
            R[j + 1, j] = 0.0
            for l in range(j + 1, s - 1):
                x = R[j, l]
                y = R[j + 1, l]
                R[j, l] = c * x + sn * y
                R[j + 1, l] = -sn * x + c * y
        s -= 1
    return s


@njit
def _chol_solve(R, s, b):
    """z = (R^T R)^{-1} b with R = R[:s, :s] upper triangular (row-oriented, contiguous access)."""
    y = b.copy()
    for j in range(s):
        y[j] /= R[j, j]
        yj = y[j]
        for i in range(j + 1, s):
            y[i] -= R[j, i] * yj
    z = y
    for j in range(s - 1, -1, -1):
        acc = z[j]
        for i in range(j + 1, s):
            acc -= R[j, i] * z[i]
        z[j] = acc / R[j, j]
    return z


class GramNNLS:
    """min_{u>=0} 1/2 u^T H u - 1^T u with H = scale^2 (X X^T) o (D D^T) + 1 1^T, rows (x_r, delta_r)."""

    def __init__(self, scale, X, D, *, tol=1e-11, max_block=512):
        self.s2 = float(scale) ** 2
        self.X = np.ascontiguousarray(X, dtype=float)
        self.D = np.ascontiguousarray(D, dtype=float)
        self.u = np.zeros(len(self.X))
        self.P = np.zeros(0, dtype=np.intp)  # row indices, in the column order of R
        self.Rbuf = np.zeros((0, 0))  # R = Rbuf[:s, :s], s = len(P)
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

    def objective(self, uP, P=None):
        """1/2 u^T H u - 1^T u for u supported on P, in factored form."""
        su = float(uP.sum())
        return 0.5 * self.s2 * float(np.sum(self.V(uP, P) ** 2)) + 0.5 * su * su - su

    # --- factor maintenance -----------------------------------------------------------------
    @property
    def R(self):
        s = len(self.P)
        return self.Rbuf[:s, :s]

    def _solve(self, rhs):
        return _chol_solve(self.Rbuf, len(self.P), np.ascontiguousarray(rhs, dtype=float))

    def _append(self, B):
        """Append candidate rows B to P; returns the ones appended (numerically independent)."""
        s = len(self.P)
        HPB = self.H(self.P, B) if s else np.zeros((0, len(B)))
        R12 = solve_triangular(np.ascontiguousarray(self.R), HPB, trans="T", check_finite=False) if s else HPB
        S = self.H(B, B) - R12.T @ R12
        dmax = float(np.max(np.diag(self.H(B[:1], B[:1])))) if len(B) else 1.0
        dmax = max(dmax, float(np.max(np.diag(S))) if len(B) else 0.0)
        c, piv, rank, info = lapack.dpstrf(S, tol=1e-11 * dmax, lower=0)
        if info < 0:  # pragma: no cover - argument error
            raise RuntimeError(f"dpstrf info {info}")
        r = int(rank)
        if r == 0:
            return B[:0]
        order = piv[:r] - 1
        R22 = np.triu(c[:r, :r])
        if s + r > self.Rbuf.shape[0]:
            cap = min(max(2 * self.Rbuf.shape[0], s + r, 64), max(self.rank_cap, s + r))
            buf = np.zeros((cap, cap))
            buf[:s, :s] = self.R
            self.Rbuf = buf
        self.Rbuf[:s, s:s + r] = R12[:, order]
        self.Rbuf[s:s + r, :s] = 0.0
        self.Rbuf[s:s + r, s:s + r] = R22
        self.P = np.concatenate([self.P, B[order]])
        return B[order]

    def _remove(self, pos):
        """Remove the passive positions ``pos`` (indices into P) and downdate R (Givens, O(s^2) each)."""
        pos = np.unique(np.asarray(pos, dtype=np.intp))
        if len(pos) == 0:
            return
        keep = np.ones(len(self.P), dtype=bool)
        keep[pos] = False
        s = len(self.P)
        _delete_columns(self.Rbuf[:s, :s], pos.astype(np.int64))
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
            added = self._append(B)
            excluded[np.setdiff1d(B, added)] = True
            if len(added) == 0:
                continue
            single = len(B) == 1
            best = B[0]
            new = np.zeros(len(self.P), dtype=bool)
            new[s0:] = True
            progressed = False
            while True:
                z = self._solve(np.ones(len(self.P)))
                bad_new = new & (z <= 0)
                if bad_new.any():
                    if bad_new.sum() == new.sum():
                        # every entering index would leave at once: fall back to the classical
                        # single index with the most negative gradient (z_j > 0 in exact arithmetic)
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
                    # the classical step from u toward z until the first variable hits zero ...
                    ratio = uP[neg] / (uP[neg] - z[neg])
                    alpha = float(ratio.min())
                    ua = uP + alpha * (z - uP)
                    hit = np.nonzero(neg)[0][ratio <= alpha * (1 + 1e-12)]
                    ua[hit] = 0.0
                    ua[ua < 0] = 0.0
                    # ... or, if it does at least as well, a longer projected step max(u + t (z - u), 0)
                    # with t in (alpha, 1], which drops several indices at once
                    ubest = ua
                    fa = self.objective(ua)
                    t = 1.0
                    while t > alpha:
                        ut = np.maximum(uP + t * (z - uP), 0.0)
                        if self.objective(ut) <= fa:
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
