r"""Two-layer linear memories f(x) = W2 W1 x: certified verdicts (docs/simulator.md §5).

W1 is m x d (hidden width m), W2 is d x m; the memory is the product W = W2 W1 and
association mu is stored when (y_mu - c)^T W2 W1 x_mu > 0 for every competitor c
(kappa = 0).  Two experiments:

**Frozen first layer** (``trained=False``).  W1 has N(0, 1/d) entries drawn from the
instance's seed (:func:`first_layer`); only W2 is trained.  The constraint
(y - c)^T W2 (W1 x) > 0 is the one-layer problem with inputs replaced by the codes
W1 x in R^m, so :class:`ProjectedInstance` (x -> W1 x, targets and competitors
unchanged) is handed to the certified engine
:func:`~capacity.simulate.feasibility.solve_feasibility` unchanged: its verdict is
exact (feasible: all p K margins of W2 W1 re-scored in float64 > 0; infeasible:
verified Gordan certificate on the coded rows; else undecided).

**Both layers trained** (``trained=True``).  Non-convex (the product has rank <= m).
The trial runs, in order, stopping at the first decision:

1. the one-layer problem (d x d) by the LDP engine.  If it is certified infeasible,
   so is every rank-<= m product (a subset of the d x d matrices): verdict
   **infeasible**, in the engine's sense (no W of normalised margin above
   ``cert_tol``).  For m >= d every d x d matrix is a product
   (W2 = [W, 0], W1 = [I; 0]), so the one-layer verdict *is* the two-layer one;
2. the frozen-first-layer problem with the same W1 as the frozen experiment: if it
   is feasible, so is the trained one (trained >= frozen on every instance);
3. alternating exact convex solves (below) from several starts: the rank-m
   truncated SVD of the one-layer separating W, the frozen W1, and ``n_restarts``
   further random W1 (each from its own seed).

A found product is **feasible** only after :meth:`Instance.margins` of W2 W1 is
recomputed from the instance (competitors regenerated, float64, all p K
constraints) and every margin is > 0.  A search that finds nothing proves nothing:
the verdict is then **undecided** with ``not_found=True``.  So for trained memories
the feasible fraction is only bounded from below ("not found" != infeasible); use
:func:`p50_lower_bound`, which says so, and never count such trials as infeasible.

Alternating solves.  With scores s_r = d (y_mu - c)^T W2 W1 x_mu (the LDP engine's
units) the trial minimises

    J(W2, W1) = 1/2 ||W2||_F^2 + 1/2 ||W1||_F^2 + C/2 sum_r (1 - s_r)_+^2,

alternately *exactly* over W2 (W1 fixed: an L2-loss SVM in d m variables with rows
vec((y - c)(W1 x)^T)) and over W1 (W2 fixed: rows vec((W2^T y - W2^T c) x^T), the
instance with targets W2^T y and competitors W2^T c).  Each block is strictly convex
and always solvable (no feasibility needed to make progress); it is solved by the
finite Newton method for L2-SVMs (Keerthi & DeCoste, JMLR 6 (2005) 341), which
terminates at the exact minimiser once the active set (s_r < 1) of the Newton
solution is self-consistent.  At fixed C, J never increases.  Since
min over factorisations of (||W2||^2 + ||W1||^2)/2 = ||W2 W1||_* (nuclear norm),
this is the Burer-Monteiro form of a nuclear-norm-regularised soft-margin SVM with
rank <= m.  C is raised through ``C_schedule`` (continuation towards hard margin)
when J stalls; the product is checked after every block.

Why not the max-tau LP of docs/simulator.md §2 per block: in a pilot (d = 12, m = 6,
decoupled, 10 instances per p, the same three starts: one-layer SVD and two random)
alternating max-tau LPs with the box |w| <= 1 found a rank-6 separating product on
6/10 instances at p = 32 and 0/10 at p = 36; the scheme here on 10/10 and 5/10
(plain gradient descent on the product: 10/10 and 4/10).  Block ascent of a max-min
objective stalls at non-stationary partial optima; exact block minimisation of the
smooth J (unique block minimisers) does not.  More effort did not help either: with
5 C values, up to 150-200 alternations per C or an extra restart, the found fraction
moved by at most one instance in 16-20 (d = 12, m = 3, p = 28; d = 16, m = 4, p = 44); the
systematic study (12 random restarts; C continued to 1e5 with 200 alternations per C) is in
benchmarks/results/two_layer.md.

Rank one, exactly.  :func:`solve_rank_one` decides m = 1 without search: W = u v^T stores every
fact iff for some sign pattern s_mu = sign(v . x_mu) both s_mu (y_mu - c)^T u > 0 (all mu, c) and
s_mu x_mu . v > 0 (all mu) are feasible; a depth-first branch and bound over the patterns, pruned by
verified Gordan certificates, gives certified verdicts both ways (docs/results.md §3 uses it to test
the Gaussian-width hypothesis of docs/theory.md §6 where the search gives only lower bounds).

Margin.  ``kappa > 0`` (trained, m < d) asks for a product of normalised margin
min margin / (||W2 W1||_F / d) >= kappa (docs/theory.md §1): the search then goes on past
the first separating product until the re-scored normalised margin reaches kappa; the
one-layer certificate at kappa = 0 still proves infeasibility.  The default kappa = 0 is
the experiment of :func:`capacity.simulate.run_trial`.
"""
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, fields

import numpy as np
from scipy.linalg import cho_factor, cho_solve

from .._resources import check_memory, solve_memory
from .._validation import check_bool, check_instance, check_int, check_real, show
from ..results import Result, plain
from .estimate import binomial_ci, fit_p50
from .feasibility import ldp_cutting_planes, solve_feasibility, verify_certificate

__all__ = [
    "FIRST_LAYER_CHILD", "M_MAX", "ProjectedInstance", "TwoLayerResult", "first_layer", "solve_two_layer",
    "solve_rank_one", "LowerBoundEstimate", "p50_lower_bound",
]

#: The first layer of trial (seed, d, p, trial) is drawn from
#: ``SeedSequence(seed, spawn_key=(d, p, trial, FIRST_LAYER_CHILD, m, restart))``; the
#: instance's own children 0, 1, 2 (x, y, competitors) are untouched.
FIRST_LAYER_CHILD = 3
#: Largest hidden width accepted by the simulator (the instances' bound on d).
M_MAX = 4096
#: Most p K d difference vectors the trained search holds in memory (240 MB).
_MAX_CACHE = 3 * 10**7

_DEFAULT_C = (1.0, 10.0, 100.0, 1000.0)
# the cutting-plane settings of solve_feasibility's default engine, so that the trained search's one-layer
# and frozen checks reach exactly the verdicts of the one-layer and frozen experiments
_ENGINE = {"max_rounds": 80, "add_per_input": 4, "initial_per_input": 4}


# --------------------------------------------------------------------------------------
# First layer and the projected instance
# --------------------------------------------------------------------------------------
def first_layer(inst, m, *, restart=0):
    """Random first layer W1 (m x d, entries N(0, 1/d)) of a trial, reproducible from its seed.

    ``restart = 0`` is the frozen layer (shared by the frozen and trained experiments);
    ``restart >= 1`` are the trained search's random restarts.  Drawn from
    ``SeedSequence(inst.seed, spawn_key=(d, p, trial, FIRST_LAYER_CHILD, m, restart))``,
    so x, y and the competitors of the instance are not disturbed.

    Examples
    --------
    >>> from capacity.simulate import make_instance
    >>> inst = make_instance("decoupled", 8, 20, seed=1)
    >>> W1 = first_layer(inst, 3)
    >>> W1.shape, bool((W1 == first_layer(inst, 3)).all())
    ((3, 8), True)
    """
    inst = check_instance("inst", inst)
    m = check_int("m", m, low=1, high=M_MAX)
    restart = check_int("restart", restart, low=0)
    seq = np.random.SeedSequence(inst.seed, spawn_key=(inst.d, inst.p, inst.trial, FIRST_LAYER_CHILD, m, restart))
    return np.random.default_rng(seq).standard_normal((m, inst.d)) / np.sqrt(inst.d)


def _check_matrix(name, a, shape):
    a = np.asarray(a, dtype=float)
    if a.ndim != 2 or any(s is not None and s != t for s, t in zip(shape, a.shape)):
        want = " x ".join("*" if s is None else str(s) for s in shape)
        raise ValueError(f"`{name}` must be a {want} matrix; got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"`{name}` must be finite; got non-finite entries")
    return a


class ProjectedInstance:
    r"""An instance seen through fixed linear maps: inputs W_in x, targets/competitors W_out^T y, W_out^T c.

    The memory V (n_out x n_in) of the projected instance acts as
    W = W_out V W_in on the original one, and its margins are the original
    margins of that product, (y - c)^T W_out V W_in x, re-scored by
    ``base.margins`` (float64, all p K constraints).  It exposes what the
    certified engines of :mod:`.feasibility` use (``model, d, p, K, x, y,
    margins, competitor_block, competitor, n_blocks``); ``d`` stays the base
    dimension and only sets the reported normalisation.

    Parameters
    ----------
    base : Instance
    w_in : array (n_in, d), optional
        Map applied to the inputs (a frozen first layer W1: codes W1 x).  Default identity.
    w_out : array (d, n_out), optional
        Map whose transpose is applied to targets and competitors (a fixed second
        layer W2).  Default identity.

    Examples
    --------
    >>> from capacity.simulate import make_instance, solve_feasibility
    >>> inst = make_instance("decoupled", 8, 12, seed=1)
    >>> coded = ProjectedInstance(inst, w_in=first_layer(inst, 4))
    >>> coded.x.shape, coded.y.shape
    ((12, 4), (12, 8))
    >>> solve_feasibility(coded).verdict
    'feasible'
    """

    def __init__(self, base, *, w_in=None, w_out=None):
        self.base = check_instance("base", base)
        self.model, self.d, self.p, self.K = base.model, base.d, base.p, base.K
        self.embedding, self.seed, self.trial = base.embedding, base.seed, base.trial
        self.w_in = None if w_in is None else _check_matrix("w_in", w_in, (None, base.d))
        self.w_out = None if w_out is None else _check_matrix("w_out", w_out, (base.d, None))
        self.x = base.x if self.w_in is None else base.x @ self.w_in.T
        self.y = base.y if self.w_out is None else base.y @ self.w_out

    @property
    def n_constraints(self):
        return self.p * self.K

    def _out(self, c):
        return c if self.w_out is None else c @ self.w_out

    def competitor_block(self, b):
        """Projected competitors W_out^T c of inputs [64 b, 64 b + 64): array (n_b, K, n_out)."""
        return self._out(self.base.competitor_block(b))

    def competitor(self, mu, k):
        """The projected k-th competitor of input mu."""
        return self._out(self.base.competitor(mu, k))

    def n_blocks(self):
        return self.base.n_blocks()

    def lift(self, V):
        """The memory W_out V W_in of the original instance."""
        W = np.asarray(V, dtype=float)
        if self.w_out is not None:
            W = self.w_out @ W
        if self.w_in is not None:
            W = W @ self.w_in
        return W

    def margins(self, V):
        """All p x K margins of the original instance for the memory ``lift(V)``."""
        return self.base.margins(self.lift(V))


# --------------------------------------------------------------------------------------
# Result
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TwoLayerResult(Result):
    """Verdict of one two-layer trial (see the module docstring).

    ``verdict`` is certified or "undecided", never guessed.  ``not_found`` is True
    when the trained search ended without a verified product and without a
    certificate: such a trial only bounds P(feasible) from below.  ``found_by``
    names what decided a feasible (or infeasible) verdict.  ``min_margin`` is the
    minimum raw margin of the product over all p K constraints; ``kappa_hat`` its
    normalised margin min margin / (||W2 W1||_F / d) (NaN for the frozen experiment,
    whose product the engine certifies without returning W2).  ``w2`` (d x m) and
    ``w1`` (m x d) are the certified factors of a trained feasible verdict (else
    None); :meth:`to_dict` deliberately leaves these arrays out (it is what a sweep
    stores per trial).
    """

    verdict: str  # "feasible" | "infeasible" | "undecided"
    trained: bool
    m: int
    found_by: str
    not_found: bool
    min_margin: float
    kappa_hat: float
    cert_bound: float
    n_starts: int
    n_alternations: int
    n_constraints: int
    seconds: float
    message: str
    w2: object = field(default=None, repr=False, compare=False)
    w1: object = field(default=None, repr=False, compare=False)

    def to_dict(self):
        """The result as a dict of plain Python scalars (JSON-serialisable; NaN stays NaN); no factors."""
        return {f.name: plain(getattr(self, f.name)) for f in fields(self) if f.name not in ("w2", "w1")}


def _result(verdict, *, trained, m, inst, t0, message, found_by="", not_found=False, min_margin=np.nan,
            kappa_hat=np.nan, cert_bound=np.nan, n_starts=0, n_alternations=0, w2=None, w1=None):
    return TwoLayerResult(verdict=verdict, trained=bool(trained), m=int(m), found_by=found_by,
                          not_found=bool(not_found), min_margin=float(min_margin), kappa_hat=float(kappa_hat),
                          cert_bound=float(cert_bound), n_starts=int(n_starts), n_alternations=int(n_alternations),
                          n_constraints=int(inst.p * inst.K), seconds=time.perf_counter() - t0, message=message,
                          w2=w2, w1=w1)


# --------------------------------------------------------------------------------------
# Exact block solve: L2-SVM by finite Newton
# --------------------------------------------------------------------------------------
def _scores(a, b, V):
    """s[mu, k] = a[mu, k] . (V b[mu]);  a (p, K, n_out), b (p, n_in), V (n_out, n_in)."""
    return np.matmul(a, (b @ V.T)[:, :, None])[..., 0]


def _line_search(V, D, s0, s1, C):
    """Exact argmin over t > 0 of 1/2 ||V + t D||^2 + C/2 sum_r (1 - s0_r - t s1_r)_+^2.

    The derivative vd + t dd - C sum_{r active at t} (1 - s0_r - t s1_r) s1_r is
    piecewise linear and increasing; row r switches at t_r = (1 - s0_r) / s1_r.
    Sorting the switches gives the segment holding the root in closed form.
    """
    vd, dd = float(np.vdot(V, D)), float(np.vdot(D, D))
    u, s1 = (1.0 - s0).ravel(), s1.ravel()
    act0 = u > 0.0
    nz = s1 != 0.0
    tr = np.full(u.shape, np.inf)
    tr[nz] = u[nz] / s1[nz]
    # leaving (active, s1 > 0) or entering (inactive, s1 < 0) at t_r > 0
    sw = nz & (tr > 0.0) & (act0 == (s1 > 0.0))
    a0 = float(np.sum((u * s1)[act0]))  # slope(t) = vd - C a(t) + t (dd + C b(t)) on a segment
    b0 = float(np.sum((s1 * s1)[act0]))
    order = np.argsort(tr[sw])
    t_sw = tr[sw][order]
    sign = np.where(act0[sw], -1.0, 1.0)[order]  # -1 leaves, +1 enters
    a = a0 + np.concatenate([[0.0], np.cumsum(sign * (u * s1)[sw][order])])
    b = b0 + np.concatenate([[0.0], np.cumsum(sign * (s1 * s1)[sw][order])])
    roots = (C * a - vd) / (dd + C * b)  # root of the linear piece on each segment
    ends = np.concatenate([t_sw, [np.inf]])
    j = int(np.argmax(roots <= ends))  # first segment whose piece vanishes before its end
    return float(max(roots[j], 0.0))


def _block_solve(a, b, V, C, max_newton=60):
    """Exact minimiser over V of 1/2 ||V||^2 + C/2 sum_{mu,k} (1 - a_{mu k} . V b_mu)_+^2.

    Finite Newton: on the active set S (scores < 1) the objective is quadratic with
    Hessian I + C sum_{r in S} vec(a_r b_r^T) vec(a_r b_r^T)^T, assembled as
    sum_mu M_mu (x) b_mu b_mu^T with M_mu = sum_{k in S_mu} a a^T.  Stops when the
    Newton point's own active set is S (then it is the exact minimiser).  Returns
    (V, scores of V, converged).
    """
    p, _, no = a.shape
    ni = b.shape[1]
    n = no * ni
    B = (b[:, :, None] * b[:, None, :]).reshape(p, ni * ni)
    s = _scores(a, b, V)
    for _ in range(max_newton):
        act = s < 1.0
        am = a * act[:, :, None]
        M = np.matmul(am.transpose(0, 2, 1), a).reshape(p, no * no)
        H = (M.T @ B).reshape(no, no, ni, ni).transpose(0, 2, 1, 3).reshape(n, n)
        H *= C
        H[np.diag_indices(n)] += 1.0
        rhs = C * (am.sum(axis=1).T @ b).ravel()
        Vbar = cho_solve(cho_factor(H, check_finite=False), rhs, check_finite=False).reshape(no, ni)
        sbar = _scores(a, b, Vbar)
        if np.array_equal(sbar < 1.0, act):
            return Vbar, sbar, True
        t = _line_search(V, Vbar - V, s, sbar - s, C)
        V = V + t * (Vbar - V)
        s = s + t * (sbar - s)
    return V, s, False


def _differences(inst):
    """All p x K x d differences y_mu - c (competitors generated block by block)."""
    out = np.empty((inst.p, inst.K, inst.d))
    for b in range(inst.n_blocks()):
        lo, hi = b * 64, min(inst.p, (b + 1) * 64)
        out[lo:hi] = inst.y[lo:hi, None, :] - inst.competitor_block(b)
    return out


def _reaches(inst, W, kappa):
    """Verified minimum margin of W if every margin is > 0 and the normalised margin is >= kappa, else None."""
    mm = float(inst.margins(W).min())
    if mm > 0.0 and mm >= kappa * np.linalg.norm(W) / inst.d:
        return mm
    return None


def _alternate(inst, delta, W2, W1, C_schedule, max_alternations, stall_rtol, kappa=0.0):
    """Alternating exact block minimisation of J; returns (W2, W1, verified min margin or None, alternations).

    A product counts once every margin is > 0 and its normalised margin is >= ``kappa``.
    """
    x = inst.x
    n_alt = 0
    for C in C_schedule:
        j_old = np.inf
        for _ in range(max_alternations):
            n_alt += 1
            W2, s, _ = _block_solve(delta, x @ W1.T, W2, C)
            if s.min() > 0.0:
                mm = _reaches(inst, W2 @ W1, kappa)
                if mm is not None:
                    return W2, W1, mm, n_alt
            W1, s, _ = _block_solve(np.matmul(delta, W2), x, W1, C)
            if s.min() > 0.0:
                mm = _reaches(inst, W2 @ W1, kappa)
                if mm is not None:
                    return W2, W1, mm, n_alt
            j = 0.5 * (np.vdot(W2, W2) + np.vdot(W1, W1)) + 0.5 * C * float(np.sum(np.maximum(1.0 - s, 0.0) ** 2))
            if j > j_old * (1.0 - stall_rtol):
                break
            j_old = j
    return W2, W1, None, n_alt


# --------------------------------------------------------------------------------------
# Public entry point
# --------------------------------------------------------------------------------------
def _solve_two_layer_iv(inst, m, trained, n_restarts, C_schedule, max_alternations, stall_rtol, cert_tol,
                        max_memory, kappa):
    inst = check_instance("inst", inst)
    m = check_int("m", m, low=1, high=M_MAX)
    trained = check_bool("trained", trained)
    kappa = check_real("kappa", kappa, low=0.0, high=50.0)
    if kappa > 0.0 and not (trained and m < inst.d):
        raise ValueError(f"`kappa` > 0 is supported for trained=True with m < d only; got kappa={kappa!r} with "
                         f"trained={trained!r}, m={m}, d={inst.d} (use solve_max_margin for the one-layer memory)")
    n_restarts = check_int("n_restarts", n_restarts, low=0, high=1000)
    max_alternations = check_int("max_alternations", max_alternations, low=1)
    stall_rtol = check_real("stall_rtol", stall_rtol, low=0.0, high=1.0)
    cert_tol = check_real("cert_tol", cert_tol, low=0.0, low_open=True)
    if isinstance(C_schedule, (str, bytes)) or not isinstance(C_schedule, Iterable):
        raise TypeError(f"`C_schedule` must be a sequence of positive reals; got {show(C_schedule)} of type "
                        f"{type(C_schedule).__name__}")
    C_schedule = tuple(check_real(f"C_schedule[{i}]", c, low=0.0, low_open=True) for i, c in enumerate(C_schedule))
    if not C_schedule:
        raise ValueError("`C_schedule` must contain at least one value; got none")
    if trained and inst.p * inst.K * inst.d > _MAX_CACHE:
        raise ValueError(f"the trained search holds p K d = {inst.p * inst.K * inst.d} differences in memory; "
                         f"`inst` must have p K d <= {_MAX_CACHE}")
    need = solve_memory(inst.d, inst.p, inst.K, model=getattr(inst, "model", "decoupled"),
                        experiment="two-layer" if trained else "two-layer-frozen", m=m)
    check_memory(f"solve_two_layer at d = {inst.d}, p = {inst.p}, K = {inst.K}, m = {m}", need, max_memory)
    return m, trained, n_restarts, C_schedule, max_alternations, stall_rtol, cert_tol, kappa


def solve_two_layer(inst, m, *, trained=False, n_restarts=3, C_schedule=_DEFAULT_C, max_alternations=40,
                    stall_rtol=1e-3, cert_tol=1e-7, max_memory=None, kappa=0.0):
    r"""Certified verdict for the two-layer memory W2 W1 (width m) on one instance (kappa = 0 by default).

    Parameters
    ----------
    inst : Instance
        From :func:`~capacity.simulate.make_instance` (coupled or decoupled).
    m : int
        Hidden width, ``1 <= m <= 4096``.
    trained : bool, optional
        False: W1 = :func:`first_layer` ``(inst, m)`` frozen, the verdict of the
        certified LP engine on :class:`ProjectedInstance` (exact).  True: both layers
        trained; one-layer certificate, frozen check, then alternating exact convex
        solves (module docstring).  A trained search that finds nothing returns
        "undecided" with ``not_found=True`` — a lower bound on P(feasible), never an
        infeasibility verdict.
    n_restarts : int, optional
        Random first layers tried after the SVD and frozen starts (trained only).
    C_schedule : sequence of float, optional
        Loss weights C tried in turn, each until J stalls (trained only).
    max_alternations : int, optional
        Most alternations (W2 step + W1 step) per C and start.
    stall_rtol : float, optional
        J is stalled when one alternation lowers it by less than this fraction.
    cert_tol : float, optional
        Largest verified normalised-margin bound accepted as an infeasibility proof
        (as in :func:`~capacity.simulate.solve_feasibility`).
    max_memory : int, optional
        Bytes the solve may use (default :func:`capacity._resources.default_memory_limit`);
        a larger estimate is refused up front (:class:`~capacity.exceptions.ResourceLimitError`).
    kappa : float, optional
        Normalised margin the trained product must reach, ``0 <= kappa <= 50``
        (docs/theory.md §1: min margin >= kappa ||W2 W1||_F / d); ``kappa > 0`` needs
        ``trained=True`` and ``m < d``.  A product counts as feasible only when its
        re-scored normalised margin is >= kappa; the one-layer certificate (at kappa = 0)
        still proves infeasibility; the frozen-W1 check is used only if its solution
        happens to reach kappa.  The default 0 is the experiment stored by the sweeps.

    Returns
    -------
    TwoLayerResult

    Notes
    -----
    docs/simulator.md §5; docs/theory.md §6 (frozen: eq. (T3) with N = d min(m, d); trained:
    the Gaussian-width hypothesis N_eff = E sum_{i<=m} sigma_i(G)^2 and the parameter-count
    conjecture N_eff = 2 d m - m^2, which the trained lower bounds test).

    Examples
    --------
    >>> from capacity.simulate import make_instance
    >>> inst = make_instance("decoupled", 8, 16, seed=2)
    >>> frozen = solve_two_layer(inst, 4)
    >>> trained = solve_two_layer(inst, 4, trained=True)
    >>> frozen.verdict, trained.verdict, trained.found_by
    ('infeasible', 'feasible', 'alternating from the one-layer SVD')
    """
    t0 = time.perf_counter()
    m, trained, n_restarts, C_schedule, max_alternations, stall_rtol, cert_tol, kappa = _solve_two_layer_iv(
        inst, m, trained, n_restarts, C_schedule, max_alternations, stall_rtol, cert_tol, max_memory, kappa)
    d = inst.d
    W1_frozen = first_layer(inst, m)
    if not trained:
        r = solve_feasibility(ProjectedInstance(inst, w_in=W1_frozen), cert_tol=cert_tol, max_memory=max_memory)
        return _result(r.verdict, trained=False, m=m, inst=inst, t0=t0, min_margin=r.min_margin,
                       cert_bound=r.cert_bound, found_by="frozen first layer" if r.verdict == "feasible" else "",
                       message=f"frozen W1, LP engine on the coded instance: {r.message}")

    # 1. the one-layer problem: a certificate there covers every rank
    status, W, rows, u, _ = ldp_cutting_planes(inst, target="positive", **_ENGINE)
    if status == "inconsistent":
        bound = verify_certificate(rows, u, d)
        if bound <= cert_tol:
            return _result("infeasible", trained=True, m=m, inst=inst, t0=t0, cert_bound=bound, found_by="one-layer",
                           message=f"the one-layer d x d problem is infeasible (Gordan certificate on {len(rows)} "
                                   "rows, verified), hence so is every product W2 W1")
    one_layer_feasible = status == "separated"
    if m >= d:
        if one_layer_feasible:
            W2 = np.zeros((d, m))
            W2[:, :d] = W
            W1 = np.eye(m, d)
            return _feasible(inst, W2, W1, m=m, t0=t0, found_by="one-layer (m >= d)", n_starts=0, n_alt=0,
                             how="the one-layer solution W factored as [W, 0] [I; 0]")
        return _result("undecided", trained=True, m=m, inst=inst, t0=t0,
                       message=f"m >= d: the two-layer verdict is the one-layer one, which is undecided ({status})")

    # 2. frozen first layer (the frozen experiment's W1): feasible there => feasible here
    frozen_status, W2, *_ = ldp_cutting_planes(ProjectedInstance(inst, w_in=W1_frozen), target="positive", **_ENGINE)
    if frozen_status == "separated" and (kappa == 0.0 or _reaches(inst, W2 @ W1_frozen, kappa) is not None):
        return _feasible(inst, W2, W1_frozen, m=m, t0=t0, found_by="frozen first layer", n_starts=0, n_alt=0,
                         how="the frozen-W1 problem is feasible (LDP engine on the coded instance)")

    # 3. alternating exact convex solves from several starts
    delta = d * _differences(inst)
    starts = []
    if one_layer_feasible:
        U, sv, Vt = np.linalg.svd(W)
        root = np.sqrt(sv[:m])
        starts.append(("the one-layer SVD", U[:, :m] * root, root[:, None] * Vt[:m]))
    starts.append(("the frozen W1", np.zeros((d, m)), W1_frozen))
    for k in range(1, n_restarts + 1):
        starts.append((f"random W1 #{k}", np.zeros((d, m)), first_layer(inst, m, restart=k)))
    n_alt = 0
    for i, (name, W2, W1) in enumerate(starts, 1):
        W2, W1, mm, used = _alternate(inst, delta, W2, W1, C_schedule, max_alternations, stall_rtol, kappa)
        n_alt += used
        if mm is not None:
            return _feasible(inst, W2, W1, m=m, t0=t0, found_by=f"alternating from {name}", n_starts=i,
                             n_alt=n_alt, how=f"alternating solves from {name} (start {i} of {len(starts)})")
    one = "feasible" if one_layer_feasible else f"not decided ({status})"
    at = f" of normalised margin >= {kappa:g}" if kappa > 0.0 else ""
    return _result("undecided", trained=True, m=m, inst=inst, t0=t0, not_found=True, n_starts=len(starts),
                   n_alternations=n_alt,
                   message=f"not found: no verified rank-{m} product{at} from {len(starts)} starts "
                           f"({n_alt} alternations); "
                           f"frozen W1 not feasible, one-layer {one}; P(feasible) is bounded from below only")


def _feasible(inst, W2, W1, *, m, t0, found_by, n_starts, n_alt, how):
    W = W2 @ W1
    mm = float(inst.margins(W).min())  # the certificate: all p K margins of the product, float64
    if not mm > 0.0:  # pragma: no cover - callers only pass verified products
        return _result("undecided", trained=True, m=m, inst=inst, t0=t0, n_starts=n_starts, n_alternations=n_alt,
                       min_margin=mm, message=f"{how}: re-scored minimum margin {mm:.3g} is not > 0")
    return _result("feasible", trained=True, m=m, inst=inst, t0=t0, found_by=found_by, min_margin=mm,
                   kappa_hat=mm / (np.linalg.norm(W) / inst.d), n_starts=n_starts, n_alternations=n_alt,
                   message=f"{how}; all p K margins of W2 W1 re-scored in float64 and > 0", w2=W2, w1=W1)


# --------------------------------------------------------------------------------------
# Rank one: an exact decision by branch and bound over sign patterns
# --------------------------------------------------------------------------------------
def _strict_lp(A):
    """Is {w : A w > 0} non-empty?  ("feasible", w with A w > 0) or ("infeasible", Gordan lambda for the rows of A)
    or (a status message, None).

    The rows are scaled to unit length first (the same open cone).  The primal LP A w >= 1 is tried with
    HiGHS's dual simplex, then its interior point method; if neither decides, the Gordan LP (lambda >= 0,
    sum lambda = 1, A^T lambda = 0) is tried directly.  Every answer is re-checked by the caller.
    """
    from scipy.optimize import linprog

    n_rows, n = A.shape
    norms = np.linalg.norm(A, axis=1)
    norms[norms == 0.0] = 1.0
    An = A / norms[:, None]
    status = None
    for method in ("highs-ds", "highs-ipm"):
        r = linprog(np.zeros(n), A_ub=-An, b_ub=-np.ones(n_rows), bounds=[(None, None)] * n, method=method)
        if r.status == 0 and np.all(An @ r.x > 0.0):
            return "feasible", r.x
        status = r.status
        if r.status == 2:
            break
    g = linprog(np.zeros(n_rows), A_eq=np.vstack([An.T, np.ones((1, n_rows))]), b_eq=np.r_[np.zeros(n), 1.0],
                bounds=[(0.0, None)] * n_rows, method="highs")
    if g.status == 0:
        lam = np.clip(g.x, 0.0, None) / norms  # a certificate for the unscaled rows, renormalised by the caller
        return "infeasible", lam
    return f"LP status {status}, certificate LP status {g.status}", None


def solve_rank_one(inst, *, cert_tol=1e-7, max_nodes=200000):
    r"""Exact verdict for a rank-one memory W = u v^T (both layers trained, m = 1), kappa = 0.

    With s_mu = sign(v . x_mu) the margins are (y_mu - c)^T u (v . x_mu) = s_mu (y_mu - c)^T u |v . x_mu|,
    so W stores every fact iff, for some sign pattern s, both

        s_mu (y_mu - c)^T u > 0  for all mu, c      and      s_mu x_mu . v > 0  for all mu

    have solutions (two homogeneous strict LPs).  The patterns (modulo the global sign, W = (-u)(-v)^T)
    are searched depth first, fixing s_1, s_2, ... in turn; a prefix is pruned when either LP on its
    constraints is infeasible, shown by a Gordan certificate lambda (lambda >= 0, sum 1,
    sum lambda_r a_r = 0) whose residual is re-checked in float64 (:func:`.feasibility.verify_certificate`).

    Returns a :class:`TwoLayerResult`: **feasible** when a full pattern gives u, v and every p K margin
    of u v^T re-scored in float64 is > 0; **infeasible** when every branch was pruned by a verified
    certificate, the largest residual bounding the normalised margin of any rank-one W below
    ``cert_bound`` <= ``cert_tol`` (u side: d g max ||x_mu||; v side: d g max ||y_mu - c||);
    **undecided** otherwise (an LP failure, a residual above ``cert_tol``, or more than ``max_nodes``
    nodes).  ``n_starts`` counts the search nodes.  Cost: up to 2^(p-1) leaves; a few seconds at
    d <= 16, p <= 25.

    Examples
    --------
    >>> from capacity.simulate import make_instance
    >>> r = solve_rank_one(make_instance("decoupled", 8, 6, seed=1))
    >>> r.verdict, r.m
    ('feasible', 1)
    """
    t0 = time.perf_counter()
    inst = check_instance("inst", inst)
    cert_tol = check_real("cert_tol", cert_tol, low=0.0, low_open=True)
    max_nodes = check_int("max_nodes", max_nodes, low=1)
    d, p = inst.d, inst.p
    delta = _differences(inst)  # (p, K, d)
    x = np.asarray(inst.x, dtype=float)
    scale_u = d * float(np.linalg.norm(x, axis=1).max())
    scale_v = d * float(np.linalg.norm(delta, axis=2).max())
    state = {"nodes": 0, "bound": 0.0, "trouble": ""}

    def prune(A, scale):
        """None if {A w > 0} is non-empty (with w), else True (certified empty) or False (undecided)."""
        status, w = _strict_lp(A)
        if status == "feasible":
            return None, w
        if status == "infeasible":
            bound = verify_certificate(A, w, 1) * scale
            if bound <= cert_tol:
                state["bound"] = max(state["bound"], bound)
                return True, None
            state["trouble"] = state["trouble"] or f"certificate residual {bound:.3g} > cert_tol"
            return False, None
        state["trouble"] = state["trouble"] or status
        return False, None

    def search(signs):
        """A certified (u, v) below this prefix, or None (pruned or undecided)."""
        state["nodes"] += 1
        if state["nodes"] > max_nodes:
            state["trouble"] = state["trouble"] or f"more than {max_nodes} nodes"
            return None
        i = len(signs)
        s = np.array(signs, dtype=float)
        au = (s[:, None, None] * delta[:i]).reshape(-1, d)
        cut_u, u = prune(au, scale_u)
        if cut_u is not None:
            return None
        cut_v, v = prune(s[:, None] * x[:i], scale_v)
        if cut_v is not None:
            return None
        if i == p:
            return u, v
        for sign in ((1.0,) if i == 0 else (1.0, -1.0)):
            found = search(signs + [sign])
            if found is not None or state["nodes"] > max_nodes:
                return found
        return None

    found = search([1.0])
    n = state["nodes"]
    if found is not None:
        u, v = found
        W = np.outer(u, v)
        mm = float(inst.margins(W).min())
        if mm > 0.0:
            return _result("feasible", trained=True, m=1, inst=inst, t0=t0, found_by="rank-one branch and bound",
                           min_margin=mm, kappa_hat=mm / (np.linalg.norm(W) / d), n_starts=n,
                           message=f"rank one: sign pattern found after {n} nodes; all p K margins of u v^T "
                                   "re-scored in float64 and > 0", w2=u[:, None], w1=v[None, :])
        return _result("undecided", trained=True, m=1, inst=inst, t0=t0, min_margin=mm, n_starts=n,
                       message=f"rank one: the LP solution's re-scored minimum margin {mm:.3g} is not > 0")
    if state["trouble"]:
        return _result("undecided", trained=True, m=1, inst=inst, t0=t0, n_starts=n,
                       message=f"rank one: search not completed ({state['trouble']}) after {n} nodes")
    return _result("infeasible", trained=True, m=1, inst=inst, t0=t0, found_by="rank-one branch and bound",
                   cert_bound=state["bound"], n_starts=n,
                   message=f"rank one: every sign pattern excluded by verified Gordan certificates ({n} nodes); "
                           f"no rank-one W has normalised margin above {state['bound']:.3g}")


# --------------------------------------------------------------------------------------
# Lower-bound estimation for trained memories
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LowerBoundEstimate(Result):
    """P(feasible) bounded from below by the certified-feasible fraction, and the p50 of that bound.

    ``points``: one dict per p with ``n_trials``, ``n_feasible`` (certified),
    ``n_infeasible`` (certified), ``n_not_found`` (no verdict: search failed or
    undecided), ``p_lower = n_feasible / n_trials`` and its Clopper-Pearson
    interval ``ci_low, ci_high``.  ``p50_lower``: :class:`~.estimate.P50Result` of
    the curve p_lower(p); it estimates a *lower bound* on p50 (the true curve lies
    above p_lower wherever trials were not found).
    """

    points: list
    p50_lower: object


def p50_lower_bound(records, *, n_boot=1000, seed=0, level=0.95):
    r"""Lower bound on P(feasible) and on p50 from two-layer trial results.

    Parameters
    ----------
    records : iterable of dict
        Each with ``"p"`` and ``"verdict"`` ("feasible", "infeasible", "undecided").
    n_boot, seed, level
        As in :func:`~capacity.simulate.fit_p50`.

    Returns
    -------
    LowerBoundEstimate

    Notes
    -----
    A trial contributes to the bound's numerator only when certified feasible;
    every other trial (certified infeasible, not found, undecided) counts in the
    denominator only.  No trial is relabelled infeasible: the counts stay
    separate in ``points``, and the fitted p50 is labelled a lower bound.  For
    frozen (exact) experiments with no undecided trial the bound equals the
    ordinary estimate.

    Examples
    --------
    >>> recs = [{"p": p, "verdict": v} for p, vs in [(10, "FFFU"), (12, "FUUI"), (14, "UIII")]
    ...         for v in [{"F": "feasible", "U": "undecided", "I": "infeasible"}[c] for c in vs]]
    >>> est = p50_lower_bound(recs, n_boot=0)
    >>> [pt["p_lower"] for pt in est.points], est.p50_lower.success
    ([0.75, 0.25, 0.0], True)
    """
    level = check_real("level", level, low=0.0, high=1.0, low_open=True, high_open=True)
    counts = {}
    for i, rec in enumerate(records):
        v = rec["verdict"]
        if v not in ("feasible", "infeasible", "undecided"):
            raise ValueError(f"`records[{i}]['verdict']` must be feasible, infeasible or undecided; got {v!r}")
        c = counts.setdefault(rec["p"], [0, 0, 0])
        c[("feasible", "infeasible", "undecided").index(v)] += 1
    if not counts:
        raise ValueError("`records` must contain at least one record; got none")
    points = []
    for p in sorted(counts):
        n_f, n_i, n_u = counts[p]
        n = n_f + n_i + n_u
        lo, hi = binomial_ci(n_f, n, level=level)
        points.append({"p": p, "n_trials": n, "n_feasible": n_f, "n_infeasible": n_i, "n_not_found": n_u,
                       "p_lower": n_f / n, "ci_low": lo, "ci_high": hi})
    # the fit sees (certified feasible, all other trials) per p: the curve of the bound
    fit = fit_p50([{"p": pt["p"], "n_feasible": pt["n_feasible"], "n_infeasible": pt["n_trials"] - pt["n_feasible"]}
                   for pt in points], n_boot=n_boot, seed=seed, level=level)
    return LowerBoundEstimate(points=points, p50_lower=fit)
