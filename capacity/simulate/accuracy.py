"""Certified storage at a target accuracy: how many of an instance's p facts one memory can recall.

docs/accuracy.md §3.  Finding the largest subset of inputs that one W stores (the others fail) is
an error-minimisation problem, not convex; this module gives a *certified lower bound* on it:

1. the L1 relaxation of the error count — the linear program
   min Σ_μ s_μ  s.t.  (y_μ − c_{μk})ᵀ W x_μ + s_μ ≥ 1 for every (μ, k),  s ≥ 0
   (HiGHS; a per-input slack shared by that input's K constraints) — picks the input with the
   largest slack, which is removed; repeated until the kept inputs are certified feasible;
2. each removed input is tried again (last removed first) and kept when the enlarged set is still
   certified feasible;
3. the kept inputs are then decided by the certified engine (`solve_feasibility`): a separating W
   re-scored on every constraint of every kept input (in the coupled model each kept input still
   competes with all p − 1 other targets, the failed inputs' targets included).

The number stored is thus proven (a re-scored W); that no larger subset exists is *not* (the search
is greedy), so the failure count is an upper bound on the minimum and the storable fraction a lower
bound.  Compare with the replica-symmetric theory of :mod:`capacity.theory.accuracy` (docs/accuracy.md §1),
which is itself not exact for error counting.
"""
import dataclasses
import time

import numpy as np

from .._validation import check_choice, check_instance, check_int
from ..results import Result
from .feasibility import solve_feasibility
from .instances import BLOCK

__all__ = ["SubsetInstance", "AccuracyStoreResult", "store_at_accuracy"]


class SubsetInstance:
    """The constraints of the inputs ``keep`` of an instance, with their competitors unchanged.

    Duck-types the instance interface the engines read (x, y, d, p, K, margins, competitor_block,
    n_blocks).  The competitors are materialised once (p_keep x K x d doubles).
    """

    def __init__(self, inst, keep):
        check_instance("inst", inst)
        keep = np.asarray(keep, dtype=int)
        if keep.ndim != 1 or keep.size < 1 or np.any(keep < 0) or np.any(keep >= inst.p) \
                or np.unique(keep).size != keep.size:
            raise ValueError(f"`keep` must be distinct input indices in [0, {inst.p}); got {keep.size} values")
        self.parent, self.keep = inst, keep
        self.model = "subset"
        self.d, self.p, self.K = inst.d, int(keep.size), inst.K
        self.x, self.y = inst.x[keep], inst.y[keep]
        z = np.empty((inst.p, inst.K, inst.y.shape[1]))
        for b in range(inst.n_blocks()):
            lo = b * BLOCK
            blk = inst.competitor_block(b)
            z[lo:lo + len(blk)] = blk
        self._z = z[keep]

    def n_blocks(self):
        return (self.p + BLOCK - 1) // BLOCK

    def competitor_block(self, b):
        return self._z[b * BLOCK:(b + 1) * BLOCK]

    def margins(self, W):
        v = self.x @ np.asarray(W, dtype=float).T
        correct = np.einsum("pd,pd->p", self.y, v)
        return correct[:, None] - np.einsum("pkd,pd->pk", self._z, v)


@dataclasses.dataclass(frozen=True)
class AccuracyStoreResult(Result):
    """Inputs stored by one certified W (a lower bound on the storable number; docs/accuracy.md §3).

    ``stored`` inputs are certified by a W whose margins on all their constraints, re-scored in float64,
    are > 0 (``min_margin``); ``failed`` = p − stored is an upper bound on the fewest failures;
    ``verdict`` "feasible" when certified, "undecided" when the engine could not decide the last subset.
    """

    p: int
    stored: int
    failed: int
    accuracy: float
    verdict: str
    min_margin: float
    removed: list
    lp_solves: int
    seconds: float
    message: str


def _slack_lp(sub):
    """Per-input slacks of the L1 relaxation on ``sub``: ``(s, None)``, or ``(None, message)`` if HiGHS fails."""
    from scipy.optimize import linprog
    from scipy.sparse import csr_matrix, hstack

    p, K, d = sub.p, sub.K, sub.d
    x, y = sub.x, sub.y
    rows = []
    for b in range(sub.n_blocks()):
        lo = b * BLOCK
        z = sub.competitor_block(b)
        diff = y[lo:lo + len(z), None, :] - z  # (n, K, d)
        rows.append((diff[:, :, :, None] * x[lo:lo + len(z), None, None, :]).reshape(-1, d * d))
    a_w = np.concatenate(rows)
    a_s = csr_matrix((np.ones(p * K), (np.arange(p * K), np.repeat(np.arange(p), K))), shape=(p * K, p))
    a = hstack([csr_matrix(-a_w), -a_s]).tocsr()  # -(margin + s) <= -1
    c = np.concatenate([np.zeros(d * d), np.ones(p)])
    bounds = [(None, None)] * (d * d) + [(0, None)] * p
    res = linprog(c, A_ub=a, b_ub=-np.ones(p * K), bounds=bounds, method="highs")
    if res.status != 0:
        return None, f"the slack LP failed ({res.message})"
    return res.x[d * d:], None


def _readd(inst, keep, removed, res, method):
    """Second pass: try each removed input again (last removed first); keep it when still certified."""
    readded = set()
    for mu in reversed(removed):
        trial = np.sort(np.append(keep, mu))
        r = solve_feasibility(SubsetInstance(inst, trial), method=method)
        if r.verdict == "feasible":
            keep, res = trial, r
            readded.add(mu)
    return keep, res, readded


def _undecided(inst, removed, lp_solves, t0, why):
    return AccuracyStoreResult(p=inst.p, stored=0, failed=inst.p, accuracy=0.0, verdict="undecided",
                               min_margin=float("nan"), removed=removed, lp_solves=lp_solves,
                               seconds=time.perf_counter() - t0,
                               message=f"stopped after removing {len(removed)} inputs: {why}")


def store_at_accuracy(inst, *, method="gram", max_removed=None):
    """Greedy certified lower bound on the inputs one memory stores (docs/accuracy.md §3).

    Parameters
    ----------
    inst : Instance
        From :func:`capacity.simulate.make_instance` (coupled or decoupled).
    method : {"gram", "ldp", "highs"}
        Certified engine for the kept inputs.
    max_removed : int, optional
        Stop (verdict "undecided") after removing this many inputs; default p − 1.

    Returns
    -------
    AccuracyStoreResult

    Examples
    --------
    >>> from capacity.simulate import make_instance
    >>> r = store_at_accuracy(make_instance("decoupled", 6, 30, seed=1))
    >>> r.verdict, r.stored + r.failed
    ('feasible', 30)
    """
    check_instance("inst", inst)
    method = check_choice("method", method, ("gram", "ldp", "highs"))
    max_removed = inst.p - 1 if max_removed is None else check_int("max_removed", max_removed, low=0,
                                                                    high=inst.p - 1)
    t0 = time.perf_counter()
    keep = np.arange(inst.p)
    removed, lp_solves = [], 0
    while True:
        sub = SubsetInstance(inst, keep)
        res = solve_feasibility(sub, method=method)
        if res.verdict == "feasible":
            keep, res, readded = _readd(inst, keep, removed, res, method)
            removed = [mu for mu in removed if mu not in readded]
            return AccuracyStoreResult(p=inst.p, stored=int(keep.size), failed=len(removed),
                                       accuracy=keep.size / inst.p, verdict="feasible", min_margin=res.min_margin,
                                       removed=removed, lp_solves=lp_solves, seconds=time.perf_counter() - t0,
                                       message=f"{keep.size} of {inst.p} inputs stored by a re-scored W")
        if len(removed) >= max_removed or res.verdict == "undecided":
            return _undecided(inst, removed, lp_solves, t0, res.message)
        s, trouble = _slack_lp(sub)
        lp_solves += 1
        if s is None:  # numerical trouble is reported as undecided, never turned into a count
            return _undecided(inst, removed, lp_solves, t0, trouble)
        drop = int(np.argmax(s))
        removed.append(int(keep[drop]))
        keep = np.delete(keep, drop)
