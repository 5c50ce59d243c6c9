r"""The published "≥ 99 %" capacity protocol of a linear memory, reproduced (docs/accuracy.md §5).

For each dimension d, nested instance (seed, trial) and learning rate, a search over the number of
facts N: start at the theory's p_c(d) (docs/theory.md §2, eq. (T3)), multiply or divide N by
:data:`WALK` until a stored and an unstored N bracket the boundary, then bisect (geometric midpoint)
until ``N_unstored <= resolution * N_stored`` or they are adjacent.  Every N is one training run of
:func:`capacity.nets.models.protocol.train_to_accuracy` (cross-entropy + Adam from W = 0), one task
of :func:`capacity.sweeps.run_sweep`: runs are committed to the store as they finish and a rerun
resumes.  The protocol's answer for a seed is the largest N found stored, maximised over the
learning rates (as papers that sweep the learning rate report it).

Because the instances are nested, the certified LP threshold p* of the same facts
(:func:`capacity.simulate.estimate_thresholds`, same seed and trials) is the exact answer of
"largest N stored at 100 %" on them; the benchmark script puts both side by side.
"""
from dataclasses import dataclass

from ..._validation import check_int, check_real
from ...results import Result, RowsResult
from ..models.protocol import CHECK_EVERY, STEPS, TARGET, train_to_accuracy
from ._bracket import BracketSearch

__all__ = ["EXPERIMENT", "WALK", "RESOLUTION", "LR_SCALES", "protocol_task", "run_protocol_task", "ProtocolRow",
           "ProtocolResult", "run_protocol"]

EXPERIMENT = "nets-protocol"
#: factor of the walk from the theory's p_c(d) to a stored/unstored bracket
WALK = 1.1
#: bisection stops once smallest unstored N <= RESOLUTION x largest stored N
RESOLUTION = 1.02
#: default learning rates, as lr = scale / d (an Adam step moves a logit y^T W x by about lr d)
LR_SCALES = (1.0, 10.0, 100.0)


def protocol_task(d, n, *, seed, trial, lr, steps=STEPS, target=TARGET, check_every=CHECK_EVERY, dtype="float32"):
    """The task dict (its JSON is the store key) of one training run at N = ``n`` facts."""
    return {"experiment": EXPERIMENT, "model": "coupled", "embedding": "sphere", "d": int(d), "n": int(n),
            "seed": int(seed), "trial": int(trial), "lr": float(lr), "steps": int(steps), "target": float(target),
            "check_every": int(check_every), "dtype": dtype}


def run_protocol_task(task):
    """Run one training task (module level and picklable, for :func:`capacity.sweeps.run_sweep`)."""
    from ...simulate.nested import make_nested_instance

    inst = make_nested_instance("coupled", task["d"], task["n"], embedding="sphere", seed=task["seed"],
                                trial=task["trial"])
    res = train_to_accuracy([inst], lr=task["lr"], steps=task["steps"], target=task["target"],
                            check_every=task["check_every"], dtype=task["dtype"], device=task.get("device", "cpu"))
    return {"accuracy": float(res.accuracy[0]), "stored": bool(res.stored[0]),
            "step_reached": int(res.step_reached[0]), "steps_run": int(res.steps_run[0]),
            "train_accuracy": float(res.train_accuracy[0]), "loss": float(res.loss[0])}


class _Search(BracketSearch):
    """Largest stored N of one (d, trial, lr): walk by WALK from the start, then geometric bisection."""

    def __init__(self, d, trial, lr_scale, start, resolution):
        super().__init__(start, WALK, resolution)
        self.d, self.trial, self.lr_scale = d, trial, lr_scale
        self.runs = {}  # N -> run result

    def record(self, n, res):
        self.runs[n] = res
        super().record(n, res["stored"])


@dataclass(frozen=True)
class ProtocolRow(Result):
    """One search: the largest N found stored (``n_stored``) and the smallest found not (``n_unstored``).

    ``None`` where the search hit a bound (N = 2 unstored).  ``runs`` = training runs it took.
    """

    d: int
    trial: int
    lr_scale: float
    lr: float
    n_stored: object
    n_unstored: object
    runs: int


@dataclass(frozen=True)
class ProtocolResult(RowsResult):
    """All searches of :func:`run_protocol` (``rows``), with ``best(d, trial)`` = max over learning rates."""

    def best(self, d, trial):
        """The protocol's answer for one seed: the largest stored N over the learning rates (None if none)."""
        vals = [r.n_stored for r in self.rows if r.d == d and r.trial == trial and r.n_stored is not None]
        return max(vals) if vals else None


def _iv(dims, trials, lr_scales, seed, steps, target, resolution):
    if isinstance(dims, (str, bytes)) or not hasattr(dims, "__iter__"):
        raise TypeError(f"`dims` must be a sequence of ints; got {type(dims).__name__}")
    dims = tuple(check_int("dims", d, low=2, high=512) for d in dims)
    if not dims:
        raise ValueError("`dims` must hold at least one dimension; got an empty sequence")
    trials = check_int("trials", trials, low=1, high=1000)
    if isinstance(lr_scales, (str, bytes)) or not hasattr(lr_scales, "__iter__"):
        raise TypeError(f"`lr_scales` must be a sequence of floats; got {type(lr_scales).__name__}")
    lr_scales = tuple(check_real("lr_scales", v, low=0.0, low_open=True, high=1e4) for v in lr_scales)
    if not lr_scales:
        raise ValueError("`lr_scales` must hold at least one value; got an empty sequence")
    return (dims, trials, lr_scales, check_int("seed", seed, low=0), check_int("steps", steps, low=1, high=10**7),
            check_real("target", target, low=0.0, low_open=True, high=1.0),
            check_real("resolution", resolution, low=1.0, low_open=True, high=2.0))


def run_protocol(dims, *, trials=5, lr_scales=LR_SCALES, seed=2026, steps=STEPS, target=TARGET,
                 resolution=RESOLUTION, store=None, progress=None):
    """Reproduce the "≥ target accuracy" binary-search protocol on nested coupled sphere instances.

    Parameters
    ----------
    dims : sequence of int
        Dimensions d, searched one after the other (all searches of one d advance together).
    trials : int
        Seeds: nested instances ``trial = 0 .. trials - 1`` of ``seed``.
    lr_scales : sequence of float
        Learning rates lr = scale / d, one search each.
    seed : int
        Root seed of the nested instances.
    steps, target : int, float
        Adam budget of every run and the accuracy that counts as stored.
    resolution : float
        Bisection stops at smallest-unstored / largest-stored N <= resolution.
    store, progress
        Passed to :func:`capacity.sweeps.run_sweep`; a rerun with the same store resumes.

    Returns
    -------
    ProtocolResult

    Examples
    --------
    >>> res = run_protocol([6], trials=1, lr_scales=[30.0], steps=300, progress=False)
    >>> r = res.rows[0]; r.n_unstored == r.n_stored + 1 or r.n_unstored <= 1.02 * r.n_stored
    True
    """
    from ...sweeps import run_sweep
    from ...theory import p_c

    dims, trials, lr_scales, seed, steps, target, resolution = _iv(dims, trials, lr_scales, seed, steps, target,
                                                                   resolution)
    rows = []
    for d in dims:
        start = p_c(d)
        searches = [_Search(d, t, s, start, resolution) for s in lr_scales for t in range(trials)]
        while True:
            active = [s for s in searches if s.next_n is not None]
            if not active:
                break
            tasks = [protocol_task(d, s.next_n, seed=seed, trial=s.trial, lr=s.lr_scale / d, steps=steps,
                                   target=target) for s in active]
            for s, res in zip(active, run_sweep(run_protocol_task, tasks, store=store, progress=progress)):
                s.record(s.next_n, res)
        rows += [ProtocolRow(d=d, trial=s.trial, lr_scale=s.lr_scale, lr=s.lr_scale / d, n_stored=s.lo,
                             n_unstored=s.hi, runs=len(s.runs)) for s in searches]
    settings = {"dims": dims, "trials": trials, "lr_scales": lr_scales, "seed": seed, "steps": steps,
                "target": target, "resolution": resolution, "walk": WALK, "check_every": CHECK_EVERY,
                "dtype": "float32"}
    return ProtocolResult(rows=rows, settings=settings)
