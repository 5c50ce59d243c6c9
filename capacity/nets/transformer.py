"""N2: a one-layer transformer with frozen random embeddings storing (subject, relation) -> attribute facts.

Spec: shared/spec/nets.md §N2.  The source papers were only partially available, so every
architectural choice is fixed here and stated once:

Facts
    ``n_subjects = N`` subjects, ``n_relations = R`` relations and ``N`` attribute tokens.  Relation
    ``r`` is a uniformly random bijection ``pi_r`` of ``{0..N-1}`` (independent over r); the fact
    ``(s, r)`` has attribute ``a = pi_r(s)``.  There are ``N R`` facts, every (s, r) pair is one.
Input
    The two-token sequence ``[s, r]``.  Subjects and relations have disjoint vocabularies, so no
    positional embedding is used (the token identity already says which slot it fills).
Frozen (never trained)
    subject embeddings ``E_s`` (N x d), relation embeddings ``E_r`` (R x d) and the unembedding
    ``U`` (N x d, one row per attribute): all entries i.i.d. N(0, 1/d), i.e. rows ~ N(0, I/d).
Trainable (``count_params(d, m) = 4 d^2 + 2 d m + m``)
    one single-head attention layer with ``W_Q, W_K, W_V, W_O`` (each d x d, no biases), and a
    ReLU MLP ``W_in`` (m x d), ``b_in`` (m), ``W_out`` (d x m, no output bias).  No LayerNorm.
Forward (read out at the last position only; causal attention lets it see both tokens)
    ``x_s = E_s[s]``, ``x_r = E_r[r]``; ``q = W_Q x_r``, ``k_j = W_K x_j``, ``v_j = W_V x_j`` for
    ``j in (s, r)``; ``a = softmax(q.k_j / sqrt(d))``;
    ``h1 = x_r + W_O (a_s v_s + a_r v_r)``;  ``h2 = h1 + W_out relu(W_in h1 + b_in)``;
    ``logits = U h2`` (N attributes).
Initialisation
    ``W_Q, W_K, W_V, W_O, W_in`` entries N(0, 1/d); ``b_in = 0``; ``W_out`` entries N(0, 1/m).
Training
    full batch (all N R facts), cross-entropy on the logits, Adam (``lr``, default 1e-2, betas
    (0.9, 0.999)), ``steps`` steps at constant learning rate; float32.  The training accuracy (argmax
    of the logits over the N attributes, before the step's update) is checked every
    ``CHECK_EVERY`` steps; training stops early once it reaches ``STORED_ACCURACY``.
"Stored"
    accuracy >= 0.99 over all N R facts within the step budget.  A run that is not stored may be
    stored with more steps: the benchmark checks this by doubling the budget at the boundary.

Capacity comparison (spec theory.md (T3))
    The linear-memory law predicts the number of storable facts p solving ``p = P alpha_c(p - 1)``
    for ``P`` parameters (:func:`capacity.theory.p_c` with ``n_params=P``).  Two parameter counts
    are compared: all trainable parameters and the MLP's only (``2 d m + m``).  (T3) assumes every
    stored item has p - 1 competitors; here a fact has N - 1 = p/R - 1 competing attributes, and
    :func:`facts_law` also reports the variant ``p = P alpha_c(p/R - 1)``.

Determinism: on CPU with one torch thread the same seed and arguments give bit-identical
results; the facts, the frozen embeddings and the initialisation each come from their own
``torch.Generator`` / NumPy stream derived from ``(seed, n_subjects, n_relations, d, m)``.
"""
import functools
import math
import time
from dataclasses import asdict, dataclass

import numpy as np

from .._validation import check_int, check_real
from ._torch import require_torch, resolve_device, seeded_generator, torch_threads

__all__ = [
    "N2Result",
    "N2Row",
    "TrainResult",
    "build_model",
    "count_params",
    "facts_law",
    "make_facts",
    "run_n2",
    "train_facts",
]

STORED_ACCURACY = 0.99
CHECK_EVERY = 10
EXPERIMENT = "nets-n2"
PARTS = ("all", "attention", "mlp")
WALK = 1.25  # factor of the search's walk from the (T3) prediction to a stored/unstored bracket

# default grid of the benchmark: (d, m) with R = 4 relations
DEFAULT_CONFIGS = ((16, 16), (16, 64), (32, 32), (32, 128))
QUICK_CONFIGS = ((8, 8),)


# ----------------------------------------------------------------------------- counting and law
def count_params(d, m, *, part="all"):
    """Number of trainable parameters of the N2 transformer.

    Parameters
    ----------
    d : int
        Embedding (residual) dimension, ``d >= 1``.
    m : int
        MLP width, ``m >= 1``.
    part : {"all", "attention", "mlp"}
        ``"attention"``: ``W_Q, W_K, W_V, W_O`` = 4 d^2; ``"mlp"``: ``W_in, b_in, W_out`` =
        2 d m + m; ``"all"``: their sum.  Embeddings and unembedding are frozen and not counted.

    Examples
    --------
    >>> count_params(16, 64), count_params(16, 64, part="mlp")
    (3136, 2112)
    """
    d = check_int("d", d, low=1)
    m = check_int("m", m, low=1)
    if part not in PARTS:
        raise ValueError(f"`part` must be one of {', '.join(PARTS)}; got {part!r}")
    attention, mlp = 4 * d * d, 2 * d * m + m
    return {"all": attention + mlp, "attention": attention, "mlp": mlp}[part]


def facts_law(n_params, n_relations=None):
    """Facts predicted by the linear-memory law for ``n_params`` parameters.

    Without ``n_relations``: (T3), the p solving ``p = n_params alpha_c(p - 1)``
    (:func:`capacity.theory.p_c`).  With ``n_relations = R``: the p solving
    ``p = n_params alpha_c(p/R - 1)`` (a fact competes with the other N - 1 = p/R - 1 attributes).

    Examples
    --------
    >>> round(facts_law(256), 1)
    61.7
    """
    from ..solvers.roots import brent
    from ..theory import alpha_c, p_c

    n_params = check_real("n_params", n_params, low=4.0, high=1e15)
    if n_relations is None:
        return float(p_c(math.sqrt(n_params), n_params=n_params))
    r = check_int("n_relations", n_relations, low=1)

    def f(p):
        return p / (n_params * alpha_c(p / r - 1.0)) - 1.0

    lo = 2.0 * r  # N = 2 attributes, K = 1
    if f(lo) >= 0.0:
        return float(lo)
    hi = 2.0 * lo
    while f(hi) < 0.0:
        lo, hi = hi, 2.0 * hi
    return float(brent(f, lo, hi, xtol=1e-10 * hi, rtol=1e-12))


# ----------------------------------------------------------------------------- facts and model
def make_facts(n_subjects, n_relations, *, seed=0):
    """The attribute table: ``facts[r, s] = pi_r(s)``, R independent uniform random bijections.

    Examples
    --------
    >>> f = make_facts(5, 2, seed=1)
    >>> f.shape, sorted(f[0].tolist()) == list(range(5))
    ((2, 5), True)
    """
    n = check_int("n_subjects", n_subjects, low=2)
    r = check_int("n_relations", n_relations, low=1)
    rng = np.random.default_rng([int(seed), n, r, 0])
    return np.stack([rng.permutation(n) for _ in range(r)]).astype(np.int64)


@functools.lru_cache(maxsize=None)
def _module_class():
    torch = require_torch()
    nn = torch.nn

    class FactTransformer(nn.Module):
        """The N2 model (see the module docstring); buffers are frozen, parameters trainable."""

        def __init__(self, n_subjects, n_relations, d, m, generator, device):
            super().__init__()
            self.d, self.m = d, m

            def normal(*shape, std):
                return torch.randn(*shape, generator=generator, device=device) * std

            s = 1.0 / math.sqrt(d)
            # frozen: registered as buffers, never seen by the optimiser
            self.register_buffer("emb_subject", normal(n_subjects, d, std=s))
            self.register_buffer("emb_relation", normal(n_relations, d, std=s))
            self.register_buffer("unembed", normal(n_subjects, d, std=s))
            self.w_q = nn.Parameter(normal(d, d, std=s))
            self.w_k = nn.Parameter(normal(d, d, std=s))
            self.w_v = nn.Parameter(normal(d, d, std=s))
            self.w_o = nn.Parameter(normal(d, d, std=s))
            self.w_in = nn.Parameter(normal(m, d, std=s))
            self.b_in = nn.Parameter(torch.zeros(m, device=device))
            self.w_out = nn.Parameter(normal(d, m, std=1.0 / math.sqrt(m)))

        def forward(self, subjects, relations):
            xs = self.emb_subject[subjects]  # (B, d)
            xr = self.emb_relation[relations]
            q = xr @ self.w_q.T
            ks, kr = xs @ self.w_k.T, xr @ self.w_k.T
            scores = torch.stack(((q * ks).sum(-1), (q * kr).sum(-1)), dim=-1) / math.sqrt(self.d)
            att = torch.softmax(scores, dim=-1)
            mix = att[:, :1] * (xs @ self.w_v.T) + att[:, 1:] * (xr @ self.w_v.T)
            h = xr + mix @ self.w_o.T
            h = h + torch.relu(h @ self.w_in.T + self.b_in) @ self.w_out.T
            return h @ self.unembed.T  # (B, N)

    return FactTransformer


def build_model(n_subjects, n_relations, d, m, *, seed=0, device="cpu"):
    """The N2 model with frozen embeddings/unembedding drawn from ``seed`` (a ``torch.nn.Module``)."""
    n = check_int("n_subjects", n_subjects, low=2)
    r = check_int("n_relations", n_relations, low=1)
    d = check_int("d", d, low=1)
    m = check_int("m", m, low=1)
    dev = resolve_device(device)
    g = seeded_generator((int(seed), n, r, d, m, 1), device=dev)
    return _module_class()(n, r, d, m, g, dev)


# ----------------------------------------------------------------------------- one training run
@dataclass(frozen=True)
class TrainResult:
    """One training run: accuracy over all facts, whether it stored them, the loss path."""

    n_subjects: int
    n_relations: int
    d: int
    m: int
    n_facts: int
    n_params: int
    steps: int
    steps_run: int
    lr: float
    seed: int
    accuracy: float
    stored: bool
    initial_loss: float
    final_loss: float
    seconds: float

    def to_dict(self):
        return asdict(self)


def _train_iv(n_subjects, n_relations, d, m, steps, lr, seed):
    return (
        check_int("n_subjects", n_subjects, low=2),
        check_int("n_relations", n_relations, low=1),
        check_int("d", d, low=1),
        check_int("m", m, low=1),
        check_int("steps", steps, low=1),
        check_real("lr", lr, low=0.0, low_open=True, high=10.0),
        check_int("seed", seed, low=0),
    )


def train_facts(n_subjects, n_relations, d, m, *, steps=3000, lr=1e-2, seed=0, device="cpu", early_stop=True):
    """Train the N2 model on all N R facts; return a :class:`TrainResult`.

    ``early_stop`` (default True) stops as soon as the accuracy, checked every
    ``CHECK_EVERY`` steps, reaches ``STORED_ACCURACY``; with False all ``steps`` run.
    The reported accuracy and loss are those of a final forward pass after training.
    """
    n, r, d, m, steps, lr, seed = _train_iv(n_subjects, n_relations, d, m, steps, lr, seed)
    torch = require_torch()
    dev = resolve_device(device)
    start = time.perf_counter()
    with torch_threads(1) if dev.type == "cpu" else _nullcontext():
        facts = torch.as_tensor(make_facts(n, r, seed=seed), device=dev)  # (R, N)
        subjects = torch.arange(n, device=dev).repeat(r)
        relations = torch.arange(r, device=dev).repeat_interleave(n)
        targets = facts.reshape(-1)
        model = build_model(n, r, d, m, seed=seed, device=device)
        opt = _adam(torch, model.parameters(), lr)
        loss_fn = torch.nn.functional.cross_entropy
        initial_loss = None
        steps_run = 0
        for step in range(steps):
            logits = model(subjects, relations)
            loss = loss_fn(logits, targets)
            if initial_loss is None:
                initial_loss = float(loss.detach())
            if early_stop and step % CHECK_EVERY == 0:
                acc = float((logits.argmax(-1) == targets).float().mean())
                if acc >= STORED_ACCURACY:
                    break
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            steps_run += 1
        with torch.no_grad():
            logits = model(subjects, relations)
            final_loss = float(loss_fn(logits, targets))
            accuracy = float((logits.argmax(-1) == targets).double().mean())
    return TrainResult(
        n_subjects=n, n_relations=r, d=d, m=m, n_facts=n * r, n_params=count_params(d, m), steps=steps,
        steps_run=steps_run, lr=lr, seed=seed, accuracy=accuracy, stored=accuracy >= STORED_ACCURACY,
        initial_loss=initial_loss, final_loss=final_loss, seconds=time.perf_counter() - start,
    )


def _adam(torch, params, lr):
    """Adam, fused where this torch supports it on the device (~15 % faster steps on CPU)."""
    params = list(params)
    try:
        return torch.optim.Adam(params, lr=lr, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.Adam(params, lr=lr)


class _nullcontext:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _train_task(task):
    """run_sweep worker: one training run from a task dict (module level, picklable)."""
    res = train_facts(task["n_subjects"], task["n_relations"], task["d"], task["m"], steps=task["steps"],
                      lr=task["lr"], seed=task["seed"], device=task["device"])
    out = res.to_dict()
    out.pop("seconds")  # the store records the run time itself; keep results bit-comparable
    return out


# ----------------------------------------------------------------------------- the N2 experiment
@dataclass(frozen=True)
class N2Row:
    """Largest stored fact set of one (d, m, seed) chain, with the linear-law predictions.

    ``max_facts = R * max_n_subjects`` is the largest fact set found stored (accuracy >= 0.99) by
    the search; ``min_unstored_facts`` the smallest set found not stored (``None`` if every tried
    set was stored).  ``law_*``: facts predicted by (T3) with all trainable parameters / MLP
    parameters only; ``law_*_r``: the same with N - 1 = p/R - 1 competitors (:func:`facts_law`).
    ``budget_*``: the run at ``min_unstored_facts`` repeated with twice the steps.
    """

    d: int
    m: int
    n_relations: int
    seed: int
    n_params: int
    n_params_mlp: int
    max_n_subjects: int
    max_facts: int
    min_unstored_facts: object
    facts_per_param: float
    law_all: float
    law_mlp: float
    law_all_r: float
    law_mlp_r: float
    ratio_all: float
    ratio_mlp: float
    budget_steps: int
    budget_stored: object
    budget_accuracy: object
    n_runs: int

    def to_dict(self):
        return asdict(self)


@dataclass(frozen=True)
class N2Result:
    """Result of :func:`run_n2`: one :class:`N2Row` per (d, m, seed) and the run's settings."""

    rows: tuple
    configs: tuple
    n_relations: int
    seeds: tuple
    steps: int
    lr: float
    resolution: float
    quick: bool
    device: str
    n_runs: int
    success: bool
    status: int
    message: str

    def to_dict(self):
        out = asdict(self)
        out["rows"] = [r.to_dict() for r in self.rows]
        out["configs"] = [list(c) for c in self.configs]
        out["seeds"] = list(self.seeds)
        return out

    def format_table(self):
        """Markdown table, one line per (d, m, seed), then the mean per (d, m)."""
        head = ("| d | m | seed | params (all / MLP) | max facts stored | first unstored | facts/param | "
                "law (T3) all / MLP | law, K = N-1: all / MLP | ratio max/law all / MLP | "
                f"2x steps ({2 * self.steps}) at first unstored |")
        lines = [head, "|" + "---|" * 11]
        for r in self.rows:
            if r.budget_stored is None:
                budget = "-"
            else:
                budget = f"{'stored' if r.budget_stored else 'not stored'} (acc {r.budget_accuracy:.3f})"
            lines.append(
                f"| {r.d} | {r.m} | {r.seed} | {r.n_params} / {r.n_params_mlp} | {r.max_facts} | "
                f"{r.min_unstored_facts if r.min_unstored_facts is not None else '-'} | {r.facts_per_param:.4f} | "
                f"{r.law_all:.0f} / {r.law_mlp:.0f} | {r.law_all_r:.0f} / {r.law_mlp_r:.0f} | "
                f"{r.ratio_all:.2f} / {r.ratio_mlp:.2f} | {budget} |")
        means = []
        for d, m in self.configs:
            rs = [r for r in self.rows if (r.d, r.m) == (d, m)]
            if rs:
                mf = float(np.mean([r.max_facts for r in rs]))
                means.append(f"| {d} | {m} | mean of {len(rs)} | {rs[0].n_params} / {rs[0].n_params_mlp} | {mf:.0f} | "
                             f"| {mf / rs[0].n_params:.4f} | {rs[0].law_all:.0f} / {rs[0].law_mlp:.0f} | "
                             f"{rs[0].law_all_r:.0f} / {rs[0].law_mlp_r:.0f} | "
                             f"{mf / rs[0].law_all:.2f} / {mf / rs[0].law_mlp:.2f} | |")
        return "\n".join(lines + means)


def _run_n2_iv(configs, n_relations, seed, n_seeds, steps, lr, resolution, device, quick):
    if not isinstance(quick, bool):
        raise TypeError(f"`quick` must be a bool; got {quick!r}")
    if configs is None:
        configs = QUICK_CONFIGS if quick else DEFAULT_CONFIGS
    try:
        configs = tuple((int(c[0]), int(c[1])) for c in configs) if not isinstance(configs, str) else None
    except (TypeError, IndexError, ValueError):
        configs = None
    if not configs:
        raise ValueError("`configs` must be a non-empty sequence of (d, m) pairs of integers >= 1; "
                         f"got {configs!r}")
    for d, m in configs:
        check_int("d", d, low=1)
        check_int("m", m, low=1)
    resolve_device(device)
    return (configs, check_int("n_relations", n_relations, low=1), check_int("seed", seed, low=0),
            check_int("n_seeds", n_seeds, low=1), check_int("steps", steps, low=1),
            check_real("lr", lr, low=0.0, low_open=True, high=10.0),
            check_real("resolution", resolution, low=1.0, low_open=True, high=4.0))


class _Chain:
    """Search for the largest stored N at one (d, m, seed): walk by WALK from the law, then bisection."""

    def __init__(self, d, m, r, seed, resolution, law_n):
        self.d, self.m, self.r, self.seed, self.resolution = d, m, r, seed, resolution
        self.lo, self.hi = None, None  # largest stored N, smallest unstored N seen
        self.next_n = max(2, int(round(law_n)))
        self.results = {}  # N -> stored
        self.budget = None

    def record(self, n, stored):
        self.results[n] = stored
        if stored:
            self.lo = n if self.lo is None else max(self.lo, n)
        else:
            self.hi = n if self.hi is None else min(self.hi, n)
        if self.lo is None:  # nothing stored yet: walk down by WALK
            if n <= 2:
                self.next_n = None
                return
            self.next_n = max(2, min(n - 1, int(round(n / WALK))))
        elif self.hi is None:  # everything stored so far: walk up by WALK
            self.next_n = max(n + 1, int(round(n * WALK)))
        elif self.hi - self.lo <= 1 or self.hi <= self.resolution * self.lo:
            self.next_n = None
        else:
            self.next_n = int(round(math.sqrt(self.lo * self.hi)))
            self.next_n = min(max(self.next_n, self.lo + 1), self.hi - 1)


def run_n2(*, configs=None, n_relations=4, seed=0, n_seeds=2, steps=3000, lr=1e-2, resolution=1.06, quick=False,
           device="cpu", store=None, jobs=1, progress=None):
    """N2: largest number of facts a one-layer transformer with frozen embeddings stores, vs the linear law.

    For every (d, m) in ``configs`` and every seed in ``seed, seed + 1, ..., seed + n_seeds - 1``
    the number of subjects N (at fixed ``n_relations = R``, so N R facts) is searched: start
    at the (T3) prediction with all trainable parameters, multiply or divide N by ``WALK`` = 1.25
    until one stored and one unstored N bracket the boundary, then bisect (geometric midpoint) until
    ``N_unstored <= resolution * N_stored``.  Each training run (:func:`train_facts`, seeded
    by the chain's seed) is one task of :func:`capacity.sweeps.run_sweep`, so runs are committed
    to ``store`` and a rerun resumes; chains advance together, one round of tasks at a time.
    Finally the smallest unstored N of each chain is retrained with ``2 * steps`` (budget check).

    Parameters
    ----------
    configs : sequence of (d, m), optional
        Default ``DEFAULT_CONFIGS``; with ``quick=True``, ``QUICK_CONFIGS``.
    n_relations : int
        R, the number of relations (default 4).
    seed, n_seeds : int
        First seed and number of seeds.
    steps, lr : int, float
        Adam budget and learning rate of every run (``quick=True``: see Notes).
    resolution : float
        Stop bisecting when smallest-unstored / largest-stored N <= resolution (> 1).
    quick : bool
        Tiny settings that finish in seconds (smoke runs): configs ``QUICK_CONFIGS``, see Notes.
    device : {"cpu", "cuda", "auto"}
    store, jobs, progress
        Passed to :func:`capacity.sweeps.run_sweep` (``progress`` per round of tasks).

    Returns
    -------
    N2Result

    Notes
    -----
    The search assumes storage is monotone in N; with noise between seeds it reports the
    largest stored N it *found*.  ``quick=True`` overrides ``steps``, ``n_seeds`` and
    ``resolution`` with 400, 1 and 1.25.
    """
    from ..sweeps import run_sweep

    if quick is True:
        steps, n_seeds, resolution = 400, 1, 1.25
    configs, r, seed, n_seeds, steps, lr, resolution = _run_n2_iv(
        configs, n_relations, seed, n_seeds, steps, lr, resolution, device, quick)
    laws = {}
    for d, m in configs:
        p_all, p_mlp = count_params(d, m), count_params(d, m, part="mlp")
        laws[d, m] = (facts_law(p_all), facts_law(p_mlp), facts_law(p_all, r), facts_law(p_mlp, r))
    seeds = tuple(range(seed, seed + n_seeds))
    chains = [_Chain(d, m, r, s, resolution, laws[d, m][0] / r) for d, m in configs for s in seeds]

    def task(c, n, n_steps):
        return {"experiment": EXPERIMENT, "kind": "train", "n_subjects": n, "n_relations": r, "d": c.d, "m": c.m,
                "steps": n_steps, "lr": lr, "seed": c.seed, "device": device}

    n_runs = 0
    while True:
        active = [c for c in chains if c.next_n is not None]
        if not active:
            break
        results = run_sweep(_train_task, [task(c, c.next_n, steps) for c in active], store=store, jobs=jobs,
                            progress=progress)
        n_runs += len(active)
        for c, res in zip(active, results):
            c.record(c.next_n, bool(res["stored"]))
    checks = [c for c in chains if c.hi is not None]
    if checks:
        results = run_sweep(_train_task, [task(c, c.hi, 2 * steps) for c in checks], store=store, jobs=jobs,
                            progress=progress)
        n_runs += len(checks)
        for c, res in zip(checks, results):
            c.budget = res
    rows = []
    for c in chains:
        p_all, p_mlp = count_params(c.d, c.m), count_params(c.d, c.m, part="mlp")
        law_all, law_mlp, law_all_r, law_mlp_r = laws[c.d, c.m]
        max_facts = (c.lo or 0) * r
        rows.append(N2Row(
            d=c.d, m=c.m, n_relations=r, seed=c.seed, n_params=p_all, n_params_mlp=p_mlp,
            max_n_subjects=c.lo or 0, max_facts=max_facts,
            min_unstored_facts=None if c.hi is None else c.hi * r, facts_per_param=max_facts / p_all,
            law_all=law_all, law_mlp=law_mlp, law_all_r=law_all_r, law_mlp_r=law_mlp_r,
            ratio_all=max_facts / law_all, ratio_mlp=max_facts / law_mlp, budget_steps=2 * steps,
            budget_stored=None if c.budget is None else bool(c.budget["stored"]),
            budget_accuracy=None if c.budget is None else float(c.budget["accuracy"]),
            n_runs=len(c.results) + (c.budget is not None)))
    bad = [f"(d={c.d}, m={c.m}, seed={c.seed})" for c in chains if c.lo is None or c.hi is None]
    message = ("converged" if not bad else
               "no stored/unstored bracket for " + ", ".join(bad) + " (a bound of the search was reached)")
    return N2Result(rows=tuple(rows), configs=configs, n_relations=r, seeds=seeds, steps=steps, lr=lr,
                    resolution=resolution, quick=quick, device=str(device), n_runs=n_runs, success=not bad,
                    status=0 if not bad else 1, message=message)
