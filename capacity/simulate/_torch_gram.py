r"""The Gram engine on a torch device, for the ``"torch"`` feasibility engine (docs/simulator.md §2).

A port of :mod:`capacity.simulate._gram` — the same warm-started Lawson-Hanson NNLS in Gram form,

    min_{u >= 0}  1/2 u^T H u - 1^T u,      H = d^2 G + 1 1^T,
    G_rs = (x_r . x_s) ((y_r - c_r) . (y_s - c_s)),

and the same cutting planes (:func:`torch_cutting_planes`, a port of
:func:`capacity.simulate.feasibility.gram_cutting_planes`), with everything that costs more than
O(|P|) or O(m) on the device, in float64:

- the row factors (x_r, delta_r) of the working set, the Gram blocks H_IJ, E u = V and the
  gradients g = H u - 1 in factored form;
- the upper-triangular factor R (R^T R = H_PP) in a square buffer wider than P; triangular
  solves by blocks of columns on views of the buffer (``torch.linalg.solve_triangular`` would
  copy a strided R), so the forward solve of the leading columns no update has touched is
  reused as in the Gram engine;
- appends (R_12 = R^{-T} H_PB and the Schur complement S = H_BB - R_12^T R_12 of an entering
  block) and deletions of columns (kept columns gathered left, the staircase re-triangularised
  panel by panel by a dense QR whose Q is applied to the trailing rows by one matrix product,
  diag(R) > 0 kept);
- the re-scoring of all p K margins of each round's W in batches of inputs (coupled: the
  p x p scores S = Y W X^T; decoupled: the competitor blocks, kept on the device when they
  fit, else drawn block by block on the host and streamed), of which only the ``add_per_input``
  smallest per input (``torch.topk``) and the minimum come back to the host.

On the host, in NumPy: the active-set bookkeeping (index sets, step lengths, O(|P|) vectors),
and the pivoted Cholesky factorisation (LAPACK ``dpstrf``) and Schur filter of an entering
block of at most ``max_block`` = 512 candidates.  No float32 anywhere.

Nothing here decides a verdict: :func:`torch_cutting_planes` reports a separating W only after
:func:`~capacity.simulate.feasibility.verify_separating` has re-scored it on the host in float64,
and the caller verifies every Gordan certificate on dense float64 rows built on the host from
the instance (``feasibility.py``).
"""
import math

import numpy as np
from scipy.linalg import lapack
from scipy.linalg import solve_triangular as host_solve_triangular

from .._torch import require_torch
from .feasibility import _competitors_of, _merge_pairs, _violated_pairs, verify_separating

try:  # the module stays importable without torch; solve_feasibility refuses method 'torch' before using it
    import torch

    _F64 = torch.float64
except ImportError:
    torch = _F64 = None

__all__ = ["TorchGramNNLS", "DeviceInstance", "torch_cutting_planes"]
#: Columns per block of the triangular solves, and the smallest panel of a column deletion, by device type.
_SOLVE_BLOCK = {"cpu": 256, "cuda": 1024}
_PANEL = {"cpu": 48, "cuda": 128}
#: Most columns deleted in one sweep (more are deleted in batches, the highest first).
_DELETE_BATCH = 1024
#: Most runs of kept columns moved by contiguous copies in a deletion (more: one gather by index).
_RUNS = 8
#: Largest temporary (in doubles) of the column gather of a deletion and of a batch of margins.
_CHUNK_WORDS = 1 << 25


def _fwd_solve(Rbuf, s, Y, k, nb):
    """Complete Y[:s] = R^{-T} Y[:s] in place (R = Rbuf[:s, :s] upper triangular), given that Y[:k] already
    holds the solved leading part: Y[k:s] <- R[k:s, k:s]^{-T} (Y[k:s] - R[:k, k:s]^T Y[:k]), left-looking
    by blocks of ``nb`` columns, reading only views of the buffer.  Y is (>= s,) or (>= s, c)."""
    Y2 = Y[:, None] if Y.dim() == 1 else Y
    for j0 in range(k, s, nb):
        j1 = min(j0 + nb, s)
        blk = Y2[j0:j1]
        if j0:
            blk -= Rbuf[:j0, j0:j1].T @ Y2[:j0]
        blk.copy_(torch.linalg.solve_triangular(Rbuf[j0:j1, j0:j1].T, blk, upper=False))


def _bwd_solve(Rbuf, s, Z, nb):
    """Z[:s] <- R^{-1} Z[:s] in place (R = Rbuf[:s, :s] upper triangular), by blocks of ``nb`` rows from the
    bottom, reading only views of the buffer."""
    Z2 = Z[:, None] if Z.dim() == 1 else Z
    for j0 in reversed(range(0, s, nb)):
        j1 = min(j0 + nb, s)
        blk = Z2[j0:j1]
        if j1 < s:
            blk -= Rbuf[j0:j1, j1:s] @ Z2[j1:s]
        blk.copy_(torch.linalg.solve_triangular(Rbuf[j0:j1, j0:j1], blk, upper=True))


def _delete_columns(Rbuf, s, pos, *, panel=48, batch=_DELETE_BATCH, chunk_words=_CHUNK_WORDS):
    """Delete the columns ``pos`` (ascending, distinct) of the upper-triangular R = Rbuf[:s, :s] in place;
    returns the new size s - len(pos).

    As :func:`capacity.simulate._gram._delete_columns`: R^T R loses the matching rows and columns and
    the result is *the* Cholesky factor of the reduced matrix (diag > 0), with everything outside
    R[:s', :s'] zero.  The kept columns from the first deleted position k0 on are gathered left (in
    chunks of rows of at most ``chunk_words`` doubles), which leaves new column j with nonzeros down to
    row orig(j), its old index; the staircase is re-triangularised panel by panel (``nb`` = the number of
    deleted columns, at least ``panel``, at most ``batch``): a dense QR of the panel's rows j .. orig, its
    explicit Q applied to the trailing columns by one matrix product.  More than ``batch`` deletions are
    made in batches, the highest positions first (the lower ones keep their indices).
    """
    pos = np.asarray(pos, dtype=np.int64)
    r = len(pos)
    if r == 0:
        return s
    if r > batch:
        for start in range(((r - 1) // batch) * batch, -1, -batch):
            s = _delete_columns(Rbuf, s, pos[start:start + batch], panel=panel, batch=batch,
                                chunk_words=chunk_words)
        return s
    k0 = int(pos[0])
    ns = s - r
    keep = np.ones(s - k0, dtype=bool)
    keep[pos - k0] = False
    orig = np.nonzero(keep)[0] + k0  # old index of new column k0 + t
    if ns > k0:
        rows = int(orig[-1]) + 1  # rows below have only zeros in the kept columns
        step = max(1, chunk_words // (s - k0))
        runs = [(int(a) + 1, int(b)) for a, b in zip(pos, list(pos[1:]) + [s]) if b > a + 1]
        idx = torch.as_tensor(orig, device=Rbuf.device) if len(runs) > _RUNS else None
        for i0 in range(0, rows, step):
            i1 = min(i0 + step, rows)
            if idx is not None:
                Rbuf[i0:i1, k0:ns] = Rbuf[i0:i1].index_select(1, idx)
                continue
            tmp = Rbuf[i0:i1, k0:s].clone()  # a few runs of kept columns: contiguous copies
            for a, b in runs:
                shift = int(np.searchsorted(pos, a))  # deleted columns left of the run
                Rbuf[i0:i1, a - shift:b - shift] = tmp[:, a - k0:b - k0]
    Rbuf[:s, ns:s] = 0.0
    nb = min(max(panel, r), batch)
    for j in range(k0, ns, nb):
        je = min(j + nb, ns)
        w = je - j
        h = int(orig[je - 1 - k0]) - j + 1
        if h == w:  # nothing below the diagonal in this panel (cannot happen after deleting column k0)
            continue
        Q, Rp = torch.linalg.qr(Rbuf[j:j + h, j:je], mode="complete")
        sign = 1.0 - 2.0 * (torch.diagonal(Rp) < 0.0).to(_F64)
        Q[:, :w] *= sign
        Rp[:w] *= sign[:, None]
        Rbuf[j:j + h, j:je] = Rp
        if je < ns:
            Rbuf[j:j + h, je:ns] = Q.T @ Rbuf[j:j + h, je:ns]
    Rbuf[ns:s, :s] = 0.0
    return ns


def _to_device(a, device):
    """A float64 copy of the array ``a`` on ``device`` (a copy, so read-only arrays are fine)."""
    if isinstance(a, torch.Tensor):
        return a.to(device=device, dtype=_F64)
    return torch.tensor(np.asarray(a, dtype=np.float64), dtype=_F64, device=device)


def _host(t):
    """A NumPy copy of the tensor ``t`` (never a view of a device buffer that changes later)."""
    return t.detach().cpu().numpy().copy()


class TorchGramNNLS:
    """min_{u>=0} 1/2 u^T H u - 1^T u with H = scale^2 (X X^T) o (D D^T) + 1 1^T, rows (x_r, delta_r), on a
    torch device: :class:`capacity.simulate._gram.GramNNLS` with the same methods and the same active-set
    logic (host), its O(|P|^2) and O(m d^2) work on ``device`` in float64.  ``u`` and ``P`` are NumPy."""

    def __init__(self, scale, X, D, *, device, tol=1e-11, max_block=512, solve_block=None, panel=None):
        self.device = torch.device(device)
        kind = self.device.type if self.device.type in _SOLVE_BLOCK else "cuda"
        self.nb = int(solve_block or _SOLVE_BLOCK[kind])
        self.panel = int(panel or _PANEL[kind])
        self.s2 = float(scale) ** 2
        self.X = _to_device(X, self.device)
        self.D = _to_device(D, self.device)
        self.u = np.zeros(len(self.X))
        self.P = np.zeros(0, dtype=np.intp)  # row indices, in the column order of R
        self.Rbuf = torch.zeros((0, 0), dtype=_F64, device=self.device)  # R = Rbuf[:s, :s], s = len(P)
        self._y1 = torch.zeros(0, dtype=_F64, device=self.device)  # y1[:_y1_valid] = R[:k, :k]^{-T} 1
        self._y1_valid = 0
        self.rank_cap = self.X.shape[1] * self.D.shape[1] + 1  # rank of E is at most n + 1
        self.tol = tol
        self.max_block = max_block
        self.iterations = 0

    # --- rows -----------------------------------------------------------------------------
    @property
    def m(self):
        return len(self.X)

    def _idx(self, I):
        return torch.as_tensor(np.asarray(I, dtype=np.int64), device=self.device)

    def add_rows(self, X, D):
        X, D = _to_device(X, self.device), _to_device(D, self.device)
        self.X = torch.cat([self.X, X])
        self.D = torch.cat([self.D, D])
        self.u = np.concatenate([self.u, np.zeros(len(X))])

    def keep_rows(self, keep):
        """Drop the rows outside ``keep`` (a boolean mask that must contain all of P)."""
        keep = np.asarray(keep, dtype=bool)
        assert keep[self.P].all()
        newidx = np.cumsum(keep) - 1
        sel = self._idx(np.nonzero(keep)[0])
        self.X, self.D, self.u = self.X[sel], self.D[sel], self.u[keep]
        self.P = newidx[self.P]

    def H(self, I, J):
        """The Gram block H_IJ (a device tensor)."""
        I, J = self._idx(I), self._idx(J)
        return self.s2 * (self.X[I] @ self.X[J].T) * (self.D[I] @ self.D[J].T) + 1.0

    # --- E u in factored form ---------------------------------------------------------------
    def _u_dev(self, u):
        return torch.as_tensor(np.asarray(u, dtype=np.float64), device=self.device)

    def V(self, u=None, P=None):
        """sum_r u_r delta_r x_r^T over P (a device tensor, n_out x n_in)."""
        P = self.P if P is None else P
        u = self.u[P] if u is None else u
        sel = self._idx(P)
        return (self.D[sel] * self._u_dev(u)[:, None]).T @ self.X[sel]

    def grad(self, u=None, P=None, rows=None):
        """g_r = (H u - 1)_r for the given rows (all by default), u supported on P (NumPy)."""
        P = self.P if P is None else P
        u = self.u[P] if u is None else u
        V = self.V(u, P)
        if rows is None:
            Xr, Dr = self.X, self.D
        else:
            sel = self._idx(rows)
            Xr, Dr = self.X[sel], self.D[sel]
        g = self.s2 * ((Dr @ V) * Xr).sum(dim=1)
        return _host(g) + (float(np.sum(u)) - 1.0)

    def objective(self, uP, P=None, factors=None):
        """1/2 u^T H u - 1^T u for u supported on P, in factored form."""
        su = float(np.sum(uP))
        if factors is None:
            V = self.V(uP, P)
        else:
            DP, XP = factors
            V = (DP * self._u_dev(uP)[:, None]).T @ XP
        return 0.5 * self.s2 * float(torch.sum(V * V)) + 0.5 * su * su - su

    def _path(self, uP, dz):
        """What :meth:`_path_objective` needs for the points u + t dz of the passive set."""
        sel = self._idx(self.P)
        DP, XP = self.D[sel], self.X[sel]
        V0 = (DP * self._u_dev(uP)[:, None]).T @ XP
        Vd = (DP * self._u_dev(dz)[:, None]).T @ XP
        return DP, XP, uP, dz, V0, Vd, float(uP.sum()), float(dz.sum())

    def _path_objective(self, path, t, clip):
        """The objective at max(u + t dz, 0) whose negative entries are exactly ``clip`` (as in the Gram engine:
        V(u) + t V(dz) less the clipped rows).  Selects a step only."""
        DP, XP, uP, dz, V0, Vd, su0, sd = path
        w = uP[clip] + t * dz[clip]
        V = V0 + t * Vd
        if len(clip):
            sel = self._idx(clip)
            V = V - (DP[sel] * self._u_dev(w)[:, None]).T @ XP[sel]
        su = su0 + t * sd - float(w.sum())
        return 0.5 * self.s2 * float(torch.sum(V * V)) + 0.5 * su * su - su

    # --- factor maintenance -----------------------------------------------------------------
    @property
    def R(self):
        s = len(self.P)
        return self.Rbuf[:s, :s]

    def _solve(self, rhs):
        """(R^T R)^{-1} rhs (NumPy in and out)."""
        s = len(self.P)
        z = self._u_dev(rhs).clone()
        if s:
            _fwd_solve(self.Rbuf, s, z, 0, self.nb)
            _bwd_solve(self.Rbuf, s, z, self.nb)
        return _host(z)

    def _solve_ones(self):
        """(R^T R)^{-1} 1, reusing the forward solve of the leading columns that no append or deletion has
        touched since the last call."""
        s = len(self.P)
        self._grow_y1(s)
        self._forward_ones(s)
        z = self._y1[:s].clone()
        _bwd_solve(self.Rbuf, s, z, self.nb)
        return _host(z)

    def _forward_ones(self, s):
        """Complete y1[:s] = R^{-T} 1 from its valid leading part."""
        k = min(self._y1_valid, s)
        if k < s:
            self._y1[k:s] = 1.0
            _fwd_solve(self.Rbuf, s, self._y1, k, self.nb)
        self._y1_valid = s

    def _grow_y1(self, n):
        if len(self._y1) < n:
            y = torch.zeros(max(n, 2 * len(self._y1)), dtype=_F64, device=self.device)
            y[:self._y1_valid] = self._y1[:self._y1_valid]
            self._y1 = y

    def _schur(self, B):
        """R12 = R^{-T} H_PB (device) and the Schur complement S = H_BB - R12^T R12 of the candidates B (host),
        with the pivoted Cholesky factor of S (LAPACK on the host): (R12, S, c, order, rank, tol) as in the
        Gram engine."""
        s = len(self.P)
        if s:
            R12 = self.H(self.P, B)
            _fwd_solve(self.Rbuf, s, R12, 0, self.nb)
        else:
            R12 = torch.zeros((0, len(B)), dtype=_F64, device=self.device)
        S = _host(self.H(B, B) - R12.T @ R12)
        dmax = float(self.H(B[:1], B[:1])[0, 0]) if len(B) else 1.0
        dmax = max(dmax, float(np.max(np.diag(S))) if len(B) else 0.0)
        c, piv, rank, info = lapack.dpstrf(S, tol=1e-11 * dmax, lower=0)
        if info < 0:  # pragma: no cover - argument error
            raise RuntimeError(f"dpstrf info {info}")
        return R12, S, c, piv - 1, int(rank), 1e-11 * dmax

    def _place(self, B, R12, R22, y2=None):
        """Append the rows B to P with the factor blocks R12 (device, s x r) and R22 (host, r x r upper); ``y2``
        (host: the forward solve of the ones for the new rows, given a complete one for the old) extends it.

        The buffer doubles when full, but jumps straight to the largest size the factor can need
        (rank of E, n + 1) once a doubling would reach half of it, so that growing never holds more
        than 1.25 (n + 1)^2 doubles."""
        s, r = len(self.P), len(B)
        cap = self.Rbuf.shape[0]
        if s + r > cap:
            full = max(self.rank_cap, s + r)
            want = max(2 * cap, s + r, 64)
            new = full if 2 * want >= full else want
            buf = torch.zeros((new, new), dtype=_F64, device=self.device)
            buf[:s, :s] = self.Rbuf[:s, :s]
            self.Rbuf = buf
        self.Rbuf[:s, s:s + r] = R12
        self.Rbuf[s:s + r, :s] = 0.0
        self.Rbuf[s:s + r, s:s + r] = _to_device(R22, self.device)
        self.P = np.concatenate([self.P, B])
        if y2 is not None and self._y1_valid == s and len(self._y1) >= s + r:
            self._y1[s:s + r] = _to_device(y2, self.device)
            self._y1_valid = s + r
        else:
            self._y1_valid = min(self._y1_valid, s)

    def _append(self, B):
        """Append candidate rows B to P; returns the ones appended (numerically independent)."""
        R12, _, c, order, r, _ = self._schur(B)
        if r == 0:
            return B[:0]
        sel = self._idx(order[:r])
        self._place(B[order[:r]], R12[:, sel], np.triu(c[:r, :r]))
        return B[order[:r]]

    def _enter(self, B):
        """Append those candidates B whose component of the passive solution on P + B is positive (the Schur
        filter of :meth:`capacity.simulate._gram.GramNNLS._enter`, its r x r part on the host).  Returns
        ``(entered, independent)``."""
        R12, S, c, order, r, tol = self._schur(B)
        idx = order[:r]
        if r == 0:
            return B[:0], B[:0]
        s = len(self.P)
        self._grow_y1(s + r)
        self._forward_ones(s)
        rhs = 1.0 - _host(R12.T @ self._y1[:s]) if s else np.ones(len(B))
        R22 = np.triu(c[:r, :r])
        while True:
            y2 = host_solve_triangular(R22, rhs[idx], trans="T")
            zB = host_solve_triangular(R22, y2)
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
        self._place(B[idx], R12[:, self._idx(idx)], R22, y2)
        return B[idx], B[order[:r]]

    def _remove(self, pos):
        """Remove the passive positions ``pos`` (indices into P) and downdate R on the device."""
        pos = np.unique(np.asarray(pos, dtype=np.intp))
        if len(pos) == 0:
            return
        keep = np.ones(len(self.P), dtype=bool)
        keep[pos] = False
        _delete_columns(self.Rbuf, len(self.P), pos.astype(np.int64), panel=self.panel)
        self._y1_valid = min(self._y1_valid, int(pos[0]))
        self.u[self.P[pos]] = 0.0
        self.P = self.P[keep]

    # --- the active-set method (as GramNNLS.solve, line by line) -------------------------------
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
                    ratio = uP[neg] / (uP[neg] - z[neg])
                    alpha = float(ratio.min())
                    ua = uP + alpha * dz
                    hit = np.nonzero(neg)[0][ratio <= alpha * (1 + 1e-12)]
                    ua[hit] = 0.0
                    ua[ua < 0] = 0.0
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
                z = z - self._solve(self.grad(z, self.P, self.P))
                if np.any(z <= 0):
                    z = np.maximum(z, 0.0)
                self.u[self.P] = z
                progressed = True
                break
            if progressed:
                excluded[:] = False
        return "budget"


class DeviceInstance:
    """An instance's vectors on a torch device, to score all p K margins of a W there and gather the row
    factors of (mu, k) pairs.

    Coupled instances (the competitors of input mu are the other targets) are scored through the
    p x p scores S = Y W X^T in batches of inputs.  Decoupled ones through their competitor blocks:
    kept on the device (drawn once, on the host, exactly as ``inst.competitor_block``) when
    ``cache_bytes`` allows, else drawn block by block on the host and streamed to the device at every
    scoring, which keeps the vectors of each input's ``k`` smallest margins for gathering the new rows.
    Scores only *select* rows: a W is reported separating only after the host's float64 re-scoring.
    """

    def __init__(self, inst, device, *, cache_bytes=0):
        self.inst = inst
        self.device = torch.device(device)
        self.p, self.K = int(inst.p), int(inst.K)
        self.x = _to_device(inst.x, self.device)
        self.y = _to_device(inst.y, self.device)
        self.coupled = getattr(inst, "model", None) == "coupled" and self.K == self.p - 1
        self.Z = None
        self._top = None  # (indices (p, k) NumPy, vectors (p, k, n_out) device) of the last streamed scoring
        n_out = self.y.shape[1]
        if not self.coupled and cache_bytes and self.p * self.K * n_out * 8 <= cache_bytes:
            self.Z = torch.empty((self.p, self.K, n_out), dtype=_F64, device=self.device)
            lo = 0
            for b in range(inst.n_blocks()):
                zb = inst.competitor_block(b)
                self.Z[lo:lo + len(zb)] = _to_device(zb, self.device)
                lo += len(zb)

    def scan(self, W, k):
        """Score all p K margins (y_mu - c)^T W x_mu of the device matrix W: returns (min margin, values and
        competitor indices of each input's ``k`` smallest margins in ascending order, (p, k) NumPy)."""
        k = min(int(k), self.K)
        v = self.x @ W.T  # rows W x_mu
        correct = (self.y * v).sum(dim=1)
        mins, vals, idxs = [], [], []
        stream = not self.coupled and self.Z is None
        if stream:
            vecs = torch.empty((self.p, k, self.y.shape[1]), dtype=_F64, device=self.device)
        if self.coupled:
            step = max(1, _CHUNK_WORDS // self.p)
            for lo in range(0, self.p, step):
                hi = min(lo + step, self.p)
                M = correct[lo:hi, None] - v[lo:hi] @ self.y.T  # M[i, nu] = (y_mu - y_nu)^T W x_mu, mu = lo + i
                rows = torch.arange(hi - lo, device=self.device)
                M[rows, rows + lo] = math.inf  # an input is not its own competitor
                mins.append(M.min())
                tv, ti = torch.topk(M, k, dim=1, largest=False, sorted=True)
                ti = ti - (ti > (rows + lo)[:, None]).to(ti.dtype)  # target index nu -> competitor index k
                vals.append(tv)
                idxs.append(ti)
        else:
            step = max(1, _CHUNK_WORDS // self.K)
            chunks = range(self.inst.n_blocks()) if stream else range(0, self.p, step)
            lo = 0
            for b in chunks:
                if stream:  # one competitor block, drawn on the host
                    Zb = _to_device(self.inst.competitor_block(b), self.device)
                else:
                    Zb = self.Z[lo:min(self.p, lo + step)]
                hi = lo + len(Zb)
                M = correct[lo:hi, None] - torch.bmm(Zb, v[lo:hi, :, None])[:, :, 0]
                mins.append(M.min())
                tv, ti = torch.topk(M, k, dim=1, largest=False, sorted=True)
                vals.append(tv)
                idxs.append(ti)
                if stream:
                    vecs[lo:hi] = Zb[torch.arange(hi - lo, device=self.device)[:, None], ti]
                lo = hi
        mmin = float(torch.stack(mins).min())
        idx = _host(torch.cat(idxs)).astype(np.int64)
        if stream:
            self._top = (idx, vecs)
        return mmin, _host(torch.cat(vals)), idx

    def competitors(self, pairs):
        """The competitor vectors of the (mu, k) pairs (a device tensor, len(pairs) x n_out)."""
        pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
        mu, k = pairs[:, 0], pairs[:, 1]
        if self.coupled:
            return self.y[torch.as_tensor(k + (k >= mu), device=self.device)]
        if self.Z is not None:
            return self.Z[torch.as_tensor(mu, device=self.device), torch.as_tensor(k, device=self.device)]
        out = torch.empty((len(pairs), self.y.shape[1]), dtype=_F64, device=self.device)
        found = np.zeros(len(pairs), dtype=bool)
        if self._top is not None and len(pairs):
            top, vecs = self._top
            hit = top[mu] == k[:, None]
            found = hit.any(axis=1)
            if found.any():
                sel = np.nonzero(found)[0]
                out[torch.as_tensor(sel, device=self.device)] = vecs[torch.as_tensor(mu[sel], device=self.device),
                                                                     torch.as_tensor(hit[sel].argmax(axis=1),
                                                                                     device=self.device)]
        if not found.all():  # pairs not among the last scoring's smallest (a warm start): drawn on the host
            rest = np.nonzero(~found)[0]
            out[torch.as_tensor(rest, device=self.device)] = _to_device(_competitors_of(self.inst, pairs[rest]),
                                                                         self.device)
        return out

    def row_factors(self, pairs):
        """The factors (x_mu, y_mu - c) of the rows of the (mu, k) pairs, on the device."""
        mu = torch.as_tensor(np.asarray(pairs, dtype=np.int64).reshape(-1, 2)[:, 0], device=self.device)
        return self.x[mu], self.y[mu] - self.competitors(pairs)


def torch_cutting_planes(inst, *, device, max_rounds=80, add_per_input=4, initial_per_input=4, cert_tol=1e-7,
                         initial_pairs=None, cache_bytes=0):
    """The cutting planes of :func:`capacity.simulate.feasibility.gram_cutting_planes` with the working-set
    NNLS (:class:`TorchGramNNLS`) and the scoring of all p K margins (:class:`DeviceInstance`) on ``device``.

    The first working set holds each input's ``initial_per_input`` competitors that the Hebbian memory
    W_H = Y^T X ranks most dangerous (scored on the device), then the pairs of ``initial_pairs``.

    Returns ``(status, W, pairs, u, rounds, solver, min_margin)``: status "separated" (W, a NumPy array,
    has every margin > 0 re-scored on the host by :func:`~capacity.simulate.feasibility.verify_separating`,
    whose value ``min_margin`` is), "inconsistent" (the working set looks infeasible in factored
    arithmetic; the caller verifies the certificate ``u`` on dense rows) or "budget".
    """
    require_torch("`method` 'torch'")
    d = inst.d
    dev = DeviceInstance(inst, device, cache_bytes=cache_bytes)
    k0 = min(initial_per_input, inst.K)
    _, _, top = dev.scan(dev.y.T @ dev.x, k0)
    pairs = np.stack([np.repeat(np.arange(inst.p), k0), top.ravel()], axis=1)
    pairs = _merge_pairs(pairs, initial_pairs, inst.p, inst.K)
    nn = TorchGramNNLS(d, *dev.row_factors(pairs), device=device)
    threshold = 1.0 - 1e-9
    W = None
    nan = float("nan")
    for rnd in range(1, max_rounds + 1):
        if nn.solve() != "optimal":  # pragma: no cover - iteration budget
            return "budget", None, pairs, nn.u, rnd, nn, nan
        su = float(nn.u.sum())
        V = nn.V()
        if su > 0 and d * float(torch.linalg.norm(V)) / su <= cert_tol:
            return "inconsistent", None, pairs, nn.u, rnd, nn, nan
        if su >= 1.0:
            return "inconsistent", None, pairs, nn.u, rnd, nn, nan
        Wt = d * V / (1.0 - su)
        if not bool(torch.isfinite(Wt).all()):  # pragma: no cover - numerical trouble, reported as undecided
            return "budget", None, pairs, nn.u, rnd, nn, nan
        W = _host(Wt)
        mmin, vals, idx = dev.scan(Wt, add_per_input)
        host_m = None
        if mmin > 0.0:
            mm = verify_separating(inst, W)  # the verdict's float64 re-scoring, on the host
            if mm > 0.0:
                return "separated", W, pairs, nn.u, rnd, nn, mm
            host_m = inst.margins(W) * d  # the device's scores disagree at round-off: the host's pick the rows
        keep = nn.u > 0.0
        keep[nn.P] = True
        nn.keep_rows(keep)
        pairs = pairs[keep]
        if host_m is None:
            cand = vals * d < threshold
            new = np.stack([np.nonzero(cand)[0], idx[cand]], axis=1)
            new = new[~np.isin(new[:, 0] * inst.K + new[:, 1], pairs[:, 0] * inst.K + pairs[:, 1])]
        else:  # pragma: no cover - needs a margin at the round-off level
            new = _violated_pairs(host_m, set(map(tuple, pairs.tolist())), add_per_input, threshold)
        if len(new) == 0:
            return "budget", W, pairs, nn.u, rnd, nn, nan
        pairs = np.vstack([pairs, new])
        nn.add_rows(*dev.row_factors(new))
    return "budget", None, pairs, nn.u, max_rounds, nn, nan
