r"""Exact feasibility (kappa = 0 capacity) with certificates, by cutting planes.

docs/simulator.md §2.  Row (mu, c) of the constraint matrix is
a = vec((y_mu - c) x_mu^T); the instance is *feasible* iff some W has a.vec(W) > 0
for every row.  The LP on a working set R of rows is

    maximise tau  s.t.  d a_r . w - tau >= 0  (r in R),   -1 <= w_i <= 1,   tau <= 1,

always feasible (w = 0, tau = 0) and bounded, solved by HiGHS (``highspy``, rows
added incrementally, warm-started).  Verdicts, never anything in between:

- **feasible** — tau* > 0 *and* the returned W, re-scored in float64 over *all*
  p K constraints, has every margin > 0.  The minimum margin and the normalised
  margin kappa_hat = min margin / (||W||_F / d) are reported.
- **infeasible** — a Farkas/Gordan certificate: lambda >= 0 with sum lambda = 1 over
  rows of the working set (a subset being infeasible proves the whole instance
  infeasible), taken from the LP's row duals (or, if that fails, from the LP
  min ||sum lambda_r a_r||_1 over the simplex) and *verified* in float64:
  cert_bound = d ||sum_r lambda_r a_r||_2 bounds the best normalised margin of any W
  (for ||W||_F = d, min_r a_r.w <= sum lambda_r a_r.w <= ||sum lambda a|| d), and the
  verdict requires cert_bound <= ``cert_tol`` (default 1e-7; normalised margins of
  these instances are O(0.01-1), so this separates the cases by 5+ orders).
- **undecided** — anything else (solver status not optimal, tau* tiny but the
  certificate does not verify, round budget exhausted).  Reported, never folded.

Cutting planes: start from the 4 competitors per input that the Hebbian memory
ranks most dangerous, solve, re-score every constraint with BLAS (O(p K d)), add
up to ``add_per_input`` most violated rows per input, re-solve; stop when no
constraint is violated.

Two engines solve the working-set problem (``method``):

- ``"ldp"`` (default): the least-distance program min ||w|| s.t. d A_R w >= 1 — the
  hard-margin SVM — by Lawson & Hanson's exact reduction to one non-negative least
  squares problem (*Solving Least Squares Problems*, 1974, ch. 23), solved by
  ``scipy.optimize.nnls``: with E = [d A_R^T; 1^T] and f = e_{n+1}, the NNLS residual
  r = E u - f is zero iff the rows admit no W (then u / sum u is a Gordan certificate,
  sum_r u_r a_r = 0), and otherwise w = -r_{1..n} / r_{n+1} is the max-margin W of the
  working set.  Same certificates, 3-6x faster than the LP at d = 16-24.
- ``"gram"``: the same LDP cutting planes, the NNLS solved in Gram form
  (G_rs = (x_r.x_s)((y_r - c_r).(y_s - c_s)), rows never formed as d^2-vectors) by a
  Lawson-Hanson active-set method warm-started across rounds
  (:mod:`capacity.simulate._gram`); same certificates, checked on the dense support rows.
  Its rounds are inexact: ``INNER_ITERATIONS`` active-set iterations on the working set, then a
  re-scoring of all constraints (see :func:`gram_cutting_planes`); a solve can start its passive
  set from a related solve's ``support`` (``initial_support``).
  Faster than "ldp" from d = 16 up (benchmarks/results/bench_simulator.txt; d = 64 near
  p_c decided and certified in ~30 s on one core, < 1 GB, where "ldp" takes > 15 min),
  slower at d <= 12 (Python overhead per iteration).  For decoupled instances the
  competitor blocks are drawn once per solve (if they fit in 4 GiB) to re-score and
  gather rows; a W they find separating is re-scored by ``inst.margins`` first.
- ``"highs"``: the LP above in HiGHS (``highspy``), rows added incrementally and
  re-solved from the previous basis; certificates from the row duals, or from the
  LP min ||sum lambda_r a_r||_1 over the simplex.
- ``"torch"``: the Gram engine's cutting planes and NNLS ported to torch
  (:mod:`capacity.simulate._torch_gram`; needs the optional torch), its dense linear
  algebra (Gram blocks, Cholesky factor updates, triangular solves, the scoring of all
  p K margins in batches) on ``device`` ("cpu", "cuda" or "auto") in float64; W is
  re-scored and certificates verified on the host exactly as for "gram".

Either way the verdict rests only on the float64 checks above, not on the solver.

Rectangular memories (two-layer models, docs/simulator.md §5): the engines read the
shape of W from ``inst.y`` (p x n_out, also the competitors' dimension) and ``inst.x``
(p x n_in); ``inst.d`` only sets the normalisation ||W||_F = d of the reported margins.
"""
import time
from dataclasses import dataclass

import numpy as np

from .._resources import _GRAM_CACHE, check_memory, solve_memory
from .._torch import check_device
from .._validation import check_choice, check_instance, check_int, check_real, show
from ..results import Result

__all__ = [
    "FeasibilityResult", "solve_feasibility", "ldp_cutting_planes", "constraint_rows", "verify_certificate",
    "verify_separating", "gram_cutting_planes", "torch_memory_check",
]

_TAU_TOL = 1e-10
#: The working-set engines of :func:`solve_feasibility`.
METHODS = ("ldp", "gram", "highs", "torch")
#: The engines that take a warm start (``initial_pairs``).
WARM_METHODS = ("gram", "torch")


@dataclass(frozen=True)
class FeasibilityResult(Result):
    """Certified verdict of one instance (see module docstring).

    ``working_set`` (Gram and torch engines only, else None) is the final working set as an array of
    (mu, k) pairs, for warm-starting a related solve (``initial_pairs``); ``to_dict()``
    leaves it out, as it is solver state rather than part of the verdict.  ``support`` (Gram and torch
    engines) is the part of it with a positive multiplier at the end (the solver's passive set), for
    ``initial_support``; also left out of ``to_dict()``.
    """

    verdict: str  # "feasible" | "infeasible" | "undecided"
    min_margin: float  # feasible: min raw margin of the returned W over all constraints
    kappa_hat: float  # feasible: normalised margin of that W (not the max margin)
    cert_bound: float  # infeasible: verified bound on the best normalised margin
    tau: float  # LP optimum on the final working set
    n_rows: int  # rows in the final working set
    n_constraints: int  # p K
    rounds: int
    seconds: float
    message: str
    working_set: object = None
    support: object = None

    def to_dict(self):
        """The verdict as plain Python, without the working set and support (solver state)."""
        out = super().to_dict()
        del out["working_set"], out["support"]
        return out


def constraint_rows(inst, pairs, comps):
    """Dense rows vec((y_mu - c) x_mu^T) for the (mu, k) pairs with competitor vectors comps."""
    mu = pairs[:, 0]
    diff = inst.y[mu] - comps  # (n, d)
    return (diff[:, :, None] * inst.x[mu][:, None, :]).reshape(len(pairs), -1)


def verify_certificate(rows, lam, d):
    """Float64 check of a Gordan certificate: returns d ||sum lambda_r a_r||_2 after
    clipping lambda to >= 0 and normalising to sum 1 (inf if lambda has no mass)."""
    lam = np.clip(np.asarray(lam, dtype=float), 0.0, None)
    s = lam.sum()
    if not np.isfinite(s) or s <= 0:
        return float("inf")
    g = (lam / s) @ rows
    return float(d * np.linalg.norm(g))


def verify_separating(inst, W):
    """Float64 re-scoring of all p K constraints: the minimum raw margin of W (> 0 certifies feasibility)."""
    return float(inst.margins(W).min())


def _competitors_of(inst, pairs):
    out = np.empty((len(pairs), inst.y.shape[1]))
    if inst.model == "coupled":
        for i, (mu, k) in enumerate(pairs):
            out[i] = inst.competitor(mu, k)
        return out
    # decoupled: regenerate the needed blocks once each
    blocks = pairs[:, 0] // 64
    for b in np.unique(blocks):
        zb = inst.competitor_block(int(b))
        sel = np.nonzero(blocks == b)[0]
        out[sel] = zb[pairs[sel, 0] - 64 * b, pairs[sel, 1]]
    return out


class _LP:
    """The working-set LP in highspy, rows appended incrementally (warm starts)."""

    def __init__(self, n):
        import highspy

        self.hs = highspy
        self.inf = highspy.kHighsInf
        self.h = highspy.Highs()
        self.h.setOptionValue("output_flag", False)
        self.h.setOptionValue("random_seed", 0)
        self.n = n
        lower = np.full(n + 1, -1.0)
        upper = np.ones(n + 1)
        lower[n] = -self.inf
        self.h.addVars(n + 1, lower, upper)
        self.h.changeColsCost(1, np.array([n], dtype=np.int32), np.array([-1.0]))
        self.rows = []

    def add(self, rows, scale):
        m = len(rows)
        vals = np.concatenate([rows * scale, -np.ones((m, 1))], axis=1)
        starts = np.arange(m, dtype=np.int32) * (self.n + 1)
        idx = np.tile(np.arange(self.n + 1, dtype=np.int32), m)
        self.h.addRows(m, np.zeros(m), np.full(m, self.inf), m * (self.n + 1), starts, idx, vals.ravel())
        self.rows.append(rows)

    def solve(self):
        self.h.run()
        status = self.h.getModelStatus()
        ok = status == self.hs.HighsModelStatus.kOptimal
        sol = self.h.getSolution()
        w = np.array(sol.col_value[: self.n])
        tau = float(sol.col_value[self.n]) if ok else float("nan")
        duals = np.array(sol.row_dual)
        return ok, self.h.modelStatusToString(status), w, tau, duals

    def all_rows(self):
        return np.concatenate(self.rows, axis=0)

    def n_rows(self):
        return int(sum(len(r) for r in self.rows))


def _gordan_lp(rows):
    """min ||sum lambda_r a_r||_1 over the simplex (HiGHS); returns lambda or None."""
    import highspy

    m, n = rows.shape
    inf = highspy.kHighsInf
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    # variables: lambda (m) >= 0, s (n) >= 0; rows: -s <= A^T lambda <= s, sum lambda = 1
    h.addVars(m + n, np.zeros(m + n), np.full(m + n, inf))
    h.changeColsCost(n, np.arange(m, m + n, dtype=np.int32), np.ones(n))
    at = np.ascontiguousarray(rows.T)  # (n, m)
    idx = np.concatenate([np.arange(m), [0]]).astype(np.int32)
    for i in range(n):
        cols = np.concatenate([np.arange(m), [m + i]]).astype(np.int32)
        h.addRow(-inf, 0.0, m + 1, cols, np.concatenate([at[i], [-1.0]]))  # A^T lam - s <= 0
        h.addRow(0.0, inf, m + 1, cols, np.concatenate([at[i], [1.0]]))  # A^T lam + s >= 0
    del idx
    h.addRow(1.0, 1.0, m, np.arange(m, dtype=np.int32), np.ones(m))
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    return np.array(h.getSolution().col_value[:m])


def _initial_pairs(inst, per_input, extra=None):
    """The ``per_input`` competitors per input that the Hebbian memory W_H = Y^T X ranks most
    dangerous, followed by the pairs of ``extra`` (a warm start) that exist in ``inst`` and are not
    already there."""
    margins_h = inst.margins(inst.y.T @ inst.x)
    k0 = min(per_input, inst.K)
    top = np.argsort(margins_h, axis=1)[:, :k0]
    pairs = np.stack([np.repeat(np.arange(inst.p), k0), top.ravel()], axis=1)
    return _merge_pairs(pairs, extra, inst.p, inst.K)


def _merge_pairs(pairs, extra, p, K):
    """``pairs`` followed by the pairs of ``extra`` (a warm start, or None) with mu < p and k < K that are
    not already there, each once, in their order."""
    if extra is None or len(extra) == 0:
        return pairs
    extra = extra[(extra[:, 0] < p) & (extra[:, 1] < K)]
    have = set(map(tuple, pairs.tolist()))
    new = [pq for pq in dict.fromkeys(map(tuple, extra.tolist())) if pq not in have]
    return np.vstack([pairs, np.array(new, dtype=pairs.dtype).reshape(-1, 2)])


def _violated_pairs(m, in_set, add_per_input, threshold):
    """Up to add_per_input most violated (margin < threshold) new pairs per input."""
    new = []
    order = np.argsort(m, axis=1)[:, :add_per_input]
    for mu in range(m.shape[0]):
        for k in order[mu]:
            if m[mu, k] >= threshold:
                break
            if (mu, int(k)) not in in_set:
                in_set.add((mu, int(k)))
                new.append((mu, int(k)))
    return np.array(new, dtype=int).reshape(-1, 2)


def ldp_cutting_planes(inst, *, target, max_rounds=60, add_per_input=2, initial_per_input=4, prune=True):
    """Hard-margin SVM on growing working sets via Lawson-Hanson LDP/NNLS.

    Stops when every margin of the working-set optimum W is > 0 (``target="positive"``)
    or >= 1 - 1e-9 (``target="unit"``, then W is the max-margin memory of the whole
    instance), or when the working set admits no W.  With ``prune`` the rows with a
    zero NNLS multiplier are dropped from the working set after each round (they may
    come back: every round re-scores all constraints), which keeps each NNLS at about
    d^2 + (new rows) columns.  Returns ``(status, W, rows, u, rounds)`` with status
    "separated", "inconsistent" or "budget" and ``rows`` the unscaled working-set rows.
    """
    from scipy.optimize import nnls

    d, shape = inst.d, (inst.y.shape[1], inst.x.shape[1])
    n = shape[0] * shape[1]
    pairs = _initial_pairs(inst, initial_per_input)
    rows = constraint_rows(inst, pairs, _competitors_of(inst, pairs))
    threshold = 0.0 if target == "positive" else 1.0 - 1e-9
    f = np.zeros(n + 1)
    f[n] = 1.0
    u = np.zeros(len(rows))
    for rnd in range(1, max_rounds + 1):
        E = np.empty((n + 1, len(rows)))
        E[:n] = rows.T * d
        E[n] = 1.0
        u, res = nnls(E, f, maxiter=50 * (n + 1))
        r = E @ u - f
        if res <= 1e-9 or r[n] >= 0.0:
            return "inconsistent", None, rows, u, rnd
        W = (-r[:n] / r[n]).reshape(shape)
        m = inst.margins(W) * d  # in the LDP's units: >= 1 on the working set
        if (target == "positive" and m.min() > 0.0) or (target == "unit" and m.min() >= threshold):
            return "separated", W, rows, u, rnd
        if prune:
            keep = u > 0.0
            pairs, rows = pairs[keep], rows[keep]
        in_set = set(map(tuple, pairs.tolist()))
        new = _violated_pairs(m, in_set, add_per_input, threshold if target == "unit" else 1.0 - 1e-9)
        if len(new) == 0:
            # every violated row is already in the working set, i.e. violated only at the
            # NNLS round-off level: W is the optimum of the whole instance
            if target == "unit" and m.min() > 0.0:
                return "separated", W, rows, u[u > 0.0] if prune else u, rnd
            return "budget", W, rows, u, rnd
        pairs = np.vstack([pairs, new])
        rows = np.vstack([rows, constraint_rows(inst, new, _competitors_of(inst, new))])
    return "budget", None, rows, u, max_rounds


class _CompetitorCache:
    """The competitor blocks of a decoupled instance, drawn once per Gram solve.

    The Gram engine re-scores all p K constraints every round and gathers the factors of the new
    rows; regenerating the random blocks for each (``inst.margins``, :func:`_competitors_of`) cost
    about a fifth of a d = 64 solve and most of a d = 128 one.  The cached margins only *select* rows:
    a working-set W that they find separating is re-scored by ``inst.margins`` before the engine
    reports it, and the verdict is re-checked by :func:`verify_separating` as always.  Instances whose
    blocks would exceed ``max_bytes`` (4 GiB by default, counted in the solve's memory estimate), and
    coupled ones (whose ``margins`` needs no blocks), are not cached.
    """

    def __init__(self, inst, max_bytes=_GRAM_CACHE):
        self.inst = inst
        self.blocks = None
        if getattr(inst, "model", None) == "decoupled" and inst.p * inst.K * inst.y.shape[1] * 8 <= max_bytes:
            self.blocks = [np.ascontiguousarray(inst.competitor_block(b)) for b in range(inst.n_blocks())]

    def margins(self, W):
        """All p x K margins (y_mu - c)^T W x_mu (as ``inst.margins``, from the cached blocks)."""
        if self.blocks is None:
            return self.inst.margins(W)
        inst = self.inst
        v = inst.x @ np.asarray(W, dtype=float).T  # rows W x_mu
        correct = np.einsum("pd,pd->p", inst.y, v)
        out = np.empty((inst.p, inst.K))
        lo = 0
        for z in self.blocks:
            hi = lo + len(z)
            out[lo:hi] = correct[lo:hi, None] - np.matmul(z, v[lo:hi, :, None])[:, :, 0]
            lo = hi
        return out

    def competitors(self, pairs):
        if self.blocks is None:
            return _competitors_of(self.inst, pairs)
        out = np.empty((len(pairs), self.inst.y.shape[1]))
        blocks = pairs[:, 0] // 64
        for b in np.unique(blocks):
            sel = np.nonzero(blocks == b)[0]
            out[sel] = self.blocks[b][pairs[sel, 0] - 64 * b, pairs[sel, 1]]
        return out


def _row_factors(inst, pairs, cache=None):
    """The two factors (x_mu, y_mu - c) of the rows vec((y_mu - c) x_mu^T) for the (mu, k) pairs."""
    mu = pairs[:, 0]
    comps = _competitors_of(inst, pairs) if cache is None else cache.competitors(pairs)
    return inst.x[mu], inst.y[mu] - comps


#: Lawson-Hanson iterations of the working-set NNLS between two re-scorings in the Gram engine
#: (docs/simulator.md §2); None solves every working set to its optimum (the engine before inexact
#: rounds; benchmarks/bench_engine_scale.py sets it to measure that).
INNER_ITERATIONS = 2
#: Default ``max_rounds`` per engine: the Gram engine's rounds are short (``INNER_ITERATIONS``).
DEFAULT_ROUNDS = {"ldp": 80, "highs": 80, "torch": 80, "gram": 2000}


def gram_cutting_planes(inst, *, max_rounds=DEFAULT_ROUNDS["gram"], add_per_input=4, initial_per_input=4, cert_tol=1e-7,
                        initial_pairs=None, initial_support=None, inner_iterations=INNER_ITERATIONS):
    """The LDP cutting planes of :func:`ldp_cutting_planes` (target "positive"), with the
    working-set NNLS solved in Gram form and warm-started across rounds
    (:class:`capacity.simulate._gram.GramNNLS`); rows are never formed as d^2-vectors
    except for the final certificate check.

    Rounds are *inexact*: each runs at most ``inner_iterations`` Lawson-Hanson iterations on the
    working set (None: to its optimum), then re-scores all p K constraints with the current W and
    adds violated rows.  After every iteration u is optimal on its passive set, so each W is a
    candidate like any other (a separating one is re-scored), the objective decreases strictly
    across rounds and the method ends where the exact one does: at the optimum of a working set
    that no constraint violates.  A certificate is only taken from the working set's exact
    optimum (the solve is finished first).

    Returns ``(status, W, pairs, u, rounds, solver)``; status "separated" (W separates the
    working set; the caller re-scores all constraints), "inconsistent" (the working set
    looks infeasible: d ||sum u_r a_r|| / sum u <= cert_tol in factored arithmetic; the
    caller verifies the certificate on dense rows) or "budget".  ``initial_pairs`` (an
    array of (mu, k) pairs) is added to the first working set (a warm start); the rows of
    ``initial_support`` (pairs, e.g. the ``support`` of a solve at another p) are added too and
    the solver starts from them as its passive set (:meth:`GramNNLS.start_passive`) instead of
    from u = 0.
    """
    from ._gram import GramNNLS

    d = inst.d
    inner = {} if inner_iterations is None else {"max_iter": inner_iterations}
    cache = _CompetitorCache(inst)
    warm = [w for w in (initial_support, initial_pairs) if w is not None and len(w)]
    pairs = _initial_pairs(inst, initial_per_input, np.vstack(warm) if warm else None)
    X, D = _row_factors(inst, pairs, cache)
    nn = GramNNLS(d, X, D)
    if initial_support is not None and len(initial_support):
        row = {pq: i for i, pq in enumerate(map(tuple, pairs.tolist()))}
        nn.start_passive([row[pq] for pq in map(tuple, np.asarray(initial_support).tolist()) if pq in row])
    threshold = 1.0 - 1e-9

    def inconsistent():
        su = float(nn.u.sum())
        return su >= 1.0 or (su > 0 and d * np.linalg.norm(nn.V()) / su <= cert_tol)

    for rnd in range(1, max_rounds + 1):
        optimal = nn.solve(**inner) == "optimal"
        if inconsistent():
            if not optimal and nn.solve() != "optimal":  # pragma: no cover - iteration budget
                return "budget", None, pairs, nn.u, rnd, nn
            optimal = True
            if inconsistent():
                return "inconsistent", None, pairs, nn.u, rnd, nn
        su = float(nn.u.sum())
        W = d * nn.V() / (1.0 - su)
        m = cache.margins(W) * d  # LDP units: >= 1 on the working set at its optimum
        if m.min() > 0.0 and cache.blocks is not None:
            m = inst.margins(W) * d  # the instance's own re-scoring decides "separated"
        if m.min() > 0.0:
            return "separated", W, pairs, nn.u, rnd, nn
        keep = nn.u > 0.0
        keep[nn.P] = True
        nn.keep_rows(keep)
        pairs = pairs[keep]
        in_set = set(map(tuple, pairs.tolist()))
        new = _violated_pairs(m, in_set, add_per_input, threshold)
        if len(new) == 0:
            if optimal:  # pragma: no cover - an optimal working set with no violated row separates
                return "budget", W, pairs, nn.u, rnd, nn
            continue
        pairs = np.vstack([pairs, new])
        nn.add_rows(*_row_factors(inst, new, cache))
    return "budget", None, pairs, nn.u, max_rounds, nn


def _gram_verdict(inst, t0, cert_tol, status, W, mm, pairs, u, rounds, label):
    """The certified verdict of a Gram-form run (gram or torch engine): ``mm`` is the minimum of all p K
    margins of W re-scored in float64 on the host (NaN when not separated); a certificate is checked on
    dense float64 rows built on the host."""
    d, n_rows, ws = inst.d, len(pairs), np.asarray(pairs)
    ws_kw = {"working_set": ws, "support": ws[np.asarray(u) > 0]}
    if status == "separated" and mm > 0:
        return _result("feasible", tau=float("nan"), n_rows=n_rows, inst=inst, rounds=rounds, t0=t0, **ws_kw,
                       min_margin=mm, kappa_hat=mm / (np.linalg.norm(W) / d),
                       message=f"all p K margins of a working-set W ({label}) re-scored in float64 on "
                               f"the host and > 0")
    if status == "inconsistent":
        sup = np.nonzero(u > 0)[0]
        bound = verify_certificate(constraint_rows(inst, pairs[sup], _competitors_of(inst, pairs[sup])), u[sup], d)
        if bound <= cert_tol:
            return _result("infeasible", tau=0.0, n_rows=n_rows, inst=inst, rounds=rounds, t0=t0, **ws_kw,
                           cert_bound=bound,
                           message=f"Gordan certificate from the Gram-form LDP/NNLS solution ({label}) on {len(sup)} "
                                   f"of {n_rows} rows, verified in float64 on the host")
        return _result("undecided", tau=0.0, n_rows=n_rows, inst=inst, rounds=rounds, t0=t0, **ws_kw,
                       cert_bound=bound,
                       message=f"working set looks inconsistent but certificate bound {bound:.3g} > {cert_tol:g}")
    return _result("undecided", tau=float("nan"), n_rows=n_rows, inst=inst, rounds=rounds, t0=t0, **ws_kw,
                   message=f"no verdict after {rounds} cutting-plane rounds ({label})")


def _solve_gram(inst, t0, cert_tol, max_rounds, add_per_input, initial_per_input, initial_pairs=None,
                initial_support=None):
    status, W, pairs, u, rounds, nn = gram_cutting_planes(inst, max_rounds=max_rounds, add_per_input=add_per_input,
                                                          initial_per_input=initial_per_input, cert_tol=cert_tol,
                                                          initial_pairs=initial_pairs, initial_support=initial_support,
                                                          inner_iterations=INNER_ITERATIONS)
    mm = verify_separating(inst, W) if status == "separated" else float("nan")
    return _gram_verdict(inst, t0, cert_tol, status, W, mm, pairs, u, rounds, "Gram NNLS")


def _solve_ldp(inst, t0, cert_tol, max_rounds, add_per_input, initial_per_input):
    d = inst.d
    status, W, rows, u, rounds = ldp_cutting_planes(inst, target="positive", max_rounds=max_rounds,
                                                    add_per_input=add_per_input,
                                                    initial_per_input=initial_per_input)
    n_rows = len(rows)
    if status == "separated":
        mm = verify_separating(inst, W)
        return _result("feasible", tau=float("nan"), n_rows=n_rows, inst=inst, rounds=rounds, t0=t0, min_margin=mm,
                       kappa_hat=mm / (np.linalg.norm(W) / d),
                       message="all p K margins of the working-set max-margin W re-scored in float64 and > 0")
    if status == "inconsistent":
        bound = verify_certificate(rows, u, d)
        if bound <= cert_tol:
            return _result("infeasible", tau=0.0, n_rows=n_rows, inst=inst, rounds=rounds, t0=t0, cert_bound=bound,
                           message=f"Gordan certificate from the LDP/NNLS solution on {len(rows)} rows, verified")
        return _result("undecided", tau=0.0, n_rows=n_rows, inst=inst, rounds=rounds, t0=t0, cert_bound=bound,
                       message=f"working set looks inconsistent but certificate bound {bound:.3g} > {cert_tol:g}")
    return _result("undecided", tau=float("nan"), n_rows=n_rows, inst=inst, rounds=rounds, t0=t0,
                   message=f"no verdict after {rounds} cutting-plane rounds")


def _solve_torch(inst, t0, cert_tol, max_rounds, add_per_input, initial_per_input, initial_pairs, device,
                 cache_bytes):
    from ._torch_gram import torch_cutting_planes

    status, W, pairs, u, rounds, nn, mm = torch_cutting_planes(
        inst, device=device, max_rounds=max_rounds, add_per_input=add_per_input, initial_per_input=initial_per_input,
        cert_tol=cert_tol, initial_pairs=initial_pairs, cache_bytes=cache_bytes)
    return _gram_verdict(inst, t0, cert_tol, status, W, mm, pairs, u, rounds, f"Gram NNLS in torch on {device}")


def torch_memory_check(what, d, p, K, *, model, device, n_in=None, n_out=None, initial_per_input=4,
                       add_per_input=4, max_memory=None, copies=1):
    """Resolve ``device`` for the torch engine and refuse up front what will not fit: the host estimate
    against ``max_memory`` and, on a GPU, ``copies`` times the device estimate (solves sharing the GPU)
    against its memory.  Returns ``(torch.device, competitor cache bytes)``.  Raises ImportError without
    torch (naming `method`), ValueError for device "cuda" without a GPU, ResourceLimitError for either
    estimate."""
    from .._resources import check_device_memory, torch_competitor_cache, torch_device_memory
    from .._torch import device_memory, resolve_device

    dev = resolve_device(device, what="`method` 'torch'")
    total = device_memory(dev)
    kw = dict(model=model, n_in=n_in, n_out=n_out, initial_per_input=initial_per_input, add_per_input=add_per_input)
    check_memory(what, solve_memory(d, p, K, method="torch", device_memory=total, **kw), max_memory)
    if total is not None:
        need = copies * torch_device_memory(d, p, K, device_memory=total, **kw)
        check_device_memory(what if copies == 1 else f"{copies} of {what}", need, total, device=str(dev))
    n_out = d if n_out is None else n_out
    return dev, torch_competitor_cache(p, p - 1 if K is None else K, n_out, model=model, device_memory=total)


def _pairs_iv(name, pairs):
    """A warm start's (mu, k) pairs: an integer array of shape (n, 2), entries >= 0."""
    pairs = np.asarray(pairs)
    if pairs.ndim != 2 or pairs.shape[1] != 2 or pairs.dtype.kind not in "iu":
        raise ValueError(f"`{name}` must be an integer array of shape (n, 2); got shape {pairs.shape} and dtype "
                         f"{pairs.dtype}")
    bad = ~(pairs >= 0).all(axis=1)
    if bad.any():
        raise ValueError(f"`{name}` must hold (mu, k) pairs >= 0; got {show(pairs[bad][0].tolist())} in row "
                         f"{int(np.argmax(bad))}")
    return pairs


def _feasibility_iv(inst, method, cert_tol, max_rounds, add_per_input, initial_per_input, initial_pairs,
                    max_memory, device, initial_support=None):
    inst = check_instance("inst", inst)
    method = check_choice("method", method, METHODS)
    if device is not None:
        check_device(device)
        if method != "torch":
            raise ValueError(f"`device` applies to method 'torch' only; got device={device!r} with method={method!r}")
    cert_tol = check_real("cert_tol", cert_tol, low=0.0, low_open=True)
    max_rounds = DEFAULT_ROUNDS[method] if max_rounds is None else check_int("max_rounds", max_rounds, low=1)
    add_per_input = check_int("add_per_input", add_per_input, low=1)
    initial_per_input = check_int("initial_per_input", initial_per_input, low=1)
    if initial_pairs is not None:
        if method not in WARM_METHODS:
            raise ValueError(f"`initial_pairs` needs method 'gram' or 'torch'; got method={method!r}")
        initial_pairs = _pairs_iv("initial_pairs", initial_pairs)
    if initial_support is not None:
        if method != "gram":
            raise ValueError(f"`initial_support` needs method 'gram'; got method={method!r}")
        initial_support = _pairs_iv("initial_support", initial_support)
    what = f"solve_feasibility at d = {inst.d}, p = {inst.p}, K = {inst.K} (method {method!r})"
    model = getattr(inst, "model", "decoupled")
    torch_state = None
    if method == "torch":
        torch_state = torch_memory_check(what, inst.d, inst.p, inst.K, model=model,
                                         device="auto" if device is None else device, n_in=inst.x.shape[1],
                                         n_out=inst.y.shape[1], initial_per_input=initial_per_input,
                                         add_per_input=add_per_input, max_memory=max_memory)
    else:
        need = solve_memory(inst.d, inst.p, inst.K, model=model, method=method, n_in=inst.x.shape[1],
                            n_out=inst.y.shape[1], initial_per_input=initial_per_input, add_per_input=add_per_input)
        check_memory(what, need, max_memory)
    return method, cert_tol, max_rounds, add_per_input, initial_per_input, initial_pairs, torch_state, initial_support


def solve_feasibility(inst, *, method="ldp", cert_tol=1e-7, max_rounds=None, add_per_input=4, initial_per_input=4,
                      initial_pairs=None, initial_support=None, max_memory=None, device=None):
    """Certified feasibility verdict for one instance (see module docstring).

    Parameters
    ----------
    inst : Instance
    cert_tol : float
        Largest verified normalised-margin bound accepted as an infeasibility proof.
    max_rounds : int, optional
        Cutting-plane rounds before giving up (verdict "undecided"); default 80, or 2000 for
        "gram", whose rounds run only ``INNER_ITERATIONS`` solver iterations each.
    add_per_input : int
        Most violated rows added per input and round.
    initial_per_input : int
        Rows per input in the first working set (Hebbian-ranked).

    method : {"ldp", "gram", "highs", "torch"}
        Working-set engine (see module docstring); "torch" needs the optional torch.
    initial_pairs : array of int, shape (n, 2), optional
        Gram and torch engines only: (mu, k) pairs >= 0 added to the first working set, e.g. the
        ``working_set`` of a solve of the same nested instance at another p (pairs beyond
        ``inst``'s p or K are dropped; negative ones are refused).  Speeds the solve up;
        never changes what certifies the verdict.
    initial_support : array of int, shape (n, 2), optional
        Gram engine only: pairs to start the solver's passive set from (their rows join the first
        working set), e.g. the ``support`` of a solve of the same nested instance at another p.
        Speeds the solve up; never changes what certifies the verdict.
    max_memory : int, optional
        Bytes the solve may use (default :func:`capacity._resources.default_memory_limit`);
        an instance whose estimated peak exceeds it is refused before any work.
    device : {"cpu", "cuda", "auto"}, optional
        Torch engine only (default "auto": cuda when torch sees a GPU, else cpu).  "cuda"
        without a GPU is a ValueError, never a fallback; on a GPU the estimated device memory
        is checked against the GPU's before any work.

    Returns
    -------
    FeasibilityResult

    Raises
    ------
    TypeError, ValueError
        For a wrong kind or value of any argument (the message names it), before any work.
    ImportError
        For method "torch" where torch is not installed (the message names the install command).
    capacity.exceptions.ResourceLimitError
        If the estimated memory exceeds ``max_memory`` (or, for "torch" on a GPU, the GPU's memory).
    """
    t0 = time.perf_counter()
    method, cert_tol, max_rounds, add_per_input, initial_per_input, initial_pairs, torch_state, initial_support = \
        _feasibility_iv(inst, method, cert_tol, max_rounds, add_per_input, initial_per_input, initial_pairs, max_memory,
                        device, initial_support)
    if method == "torch":
        dev, cache_bytes = torch_state
        return _solve_torch(inst, t0, cert_tol, max_rounds, add_per_input, initial_per_input, initial_pairs, dev,
                            cache_bytes)
    if method == "ldp":
        return _solve_ldp(inst, t0, cert_tol, max_rounds, add_per_input, initial_per_input)
    if method == "gram":
        return _solve_gram(inst, t0, cert_tol, max_rounds, add_per_input, initial_per_input, initial_pairs,
                           initial_support)
    d, shape = inst.d, (inst.y.shape[1], inst.x.shape[1])
    n = shape[0] * shape[1]
    # initial working set: competitors ranked by the Hebbian memory W_H = Y^T X
    pairs = _initial_pairs(inst, initial_per_input)
    in_set = set(map(tuple, pairs.tolist()))
    lp = _LP(n)
    lp.add(constraint_rows(inst, pairs, _competitors_of(inst, pairs)), d)
    tau = float("nan")
    for rnd in range(1, max_rounds + 1):
        ok, status, w, tau, duals = lp.solve()
        if not ok:
            return _result("undecided", tau=tau, n_rows=lp.n_rows(), inst=inst, rounds=rnd, t0=t0,
                           message=f"HiGHS status {status}")
        if tau <= _TAU_TOL:
            rows = lp.all_rows()
            bound = verify_certificate(rows, duals, d)
            how = "LP row duals"
            if not bound <= cert_tol:
                lam = _gordan_lp(rows)
                if lam is not None:
                    bound2 = verify_certificate(rows, lam, d)
                    if bound2 < bound:
                        bound, how = bound2, "Gordan LP"
            if bound <= cert_tol:
                return _result("infeasible", tau=tau, n_rows=lp.n_rows(), inst=inst, rounds=rnd, t0=t0, cert_bound=bound,
                               message=f"Gordan certificate from {how} on {len(rows)} rows, verified")
            return _result("undecided", tau=tau, n_rows=lp.n_rows(), inst=inst, rounds=rnd, t0=t0, cert_bound=bound,
                           message=f"tau* = {tau:.3g} but certificate bound {bound:.3g} > {cert_tol:g}")
        W = w.reshape(shape)
        m = inst.margins(W)
        if np.all(m > 0):
            mm = float(m.min())
            return _result("feasible", tau=tau, n_rows=lp.n_rows(), inst=inst, rounds=rnd, t0=t0, min_margin=mm,
                           kappa_hat=mm / (np.linalg.norm(W) / d),
                           message="all p K margins of the LP solution re-scored in float64 and > 0")
        new = _violated_pairs(m, in_set, add_per_input, 1e-300)
        if len(new) == 0:  # pragma: no cover - violated rows are never already in the set at an optimum
            return _result("undecided", tau=tau, n_rows=lp.n_rows(), inst=inst, rounds=rnd, t0=t0,
                           message="violated constraints already in the working set (numerical trouble)")
        lp.add(constraint_rows(inst, new, _competitors_of(inst, new)), d)
    return _result("undecided", tau=tau, n_rows=lp.n_rows(), inst=inst, rounds=max_rounds, t0=t0,
                   message=f"no verdict after {max_rounds} cutting-plane rounds")


def _result(verdict, *, tau, n_rows, inst, rounds, t0, message, min_margin=float("nan"), kappa_hat=float("nan"),
            cert_bound=float("nan"), working_set=None, support=None):
    return FeasibilityResult(
        verdict=verdict,
        min_margin=float(min_margin),
        kappa_hat=float(kappa_hat),
        cert_bound=float(cert_bound),
        tau=float(tau),
        n_rows=int(n_rows),
        n_constraints=int(inst.p * inst.K),
        rounds=int(rounds),
        seconds=time.perf_counter() - t0,
        message=message,
        working_set=working_set,
        support=support,
    )
