r"""N4: factual recall with *learned* subject embeddings — geometric memory (spec/nets.md N4).

After Ravfogel, Yehudai, Bruna, Bietti, "Geometric Factual Recall in Transformers",
arXiv:2605.12426 (only the abstract was available when this was written): with trainable
embeddings a model can store N R facts in a dimension d growing like R ln N, far below the
associative (linear-memory) law d^2 / (2 ln p) >= p.  Every modelling choice below is ours.

Facts
    N subjects, R relations, N attribute tokens.  Relation r is a uniformly random bijection
    pi_r of {0..N-1} (independent over r, NumPy stream ``(seed, N, R, 0)``); the query (s, r)
    has the answer pi_r(s).  All N R pairs are facts and all are trained on (full batch).
Model (:func:`build_model`; d = embedding and residual width, h = MLP width)
    x = [e(s); e(r)] in R^{2d} (concatenation; no attention: one query position holds both),
    out = W2 relu(W1 x + b1) in R^d (no output bias, no residual connection),
    logits_a = <U_a, out> over the N attributes.
    Trainable: subject embeddings e(s) (N x d), relation embeddings e(r) (R x d), W1 (h x 2d),
    b1 (h), W2 (d x h).  Fixed: the attribute unembedding U (N x d, rows ~ N(0, I/d)),
    never trained.
    Initialisation: e(s), e(r) ~ N(0, I/d); W1 entries N(0, 1/(2d)); b1 = 0; W2 entries
    N(0, 1/h).  Draws from ``seeded_generator((seed, N, R, d, h, 1))`` (parameters) and
    ``seeded_generator((seed, N, R, d, 2))`` (U, so the construction below sees the same U as
    every learned model of that size).
    Width: h = :data:`WIDTH` = 64 for every (N, R) and d (fixed, so that the MLP's own
    associative capacity, ~ 3 d h / (2 ln NR) facts, does not grow with R).  The hand-built
    construction below needs h >= d + R and is built with its own width d + R.
Readout variants (``unembedding=``; default ``"fixed"`` as above)
    ``"normalised"``: U is the same draw with every row scaled to unit norm, still fixed; every row
    is then a vertex of conv(U), so the readout bound below is 1 at every d.  ``"trained"``: U is
    the same draw as a trainable parameter (trained with the rest).  The task dict of a training
    run carries the key ``"unembedding"`` only for a non-default readout, so fixed-readout store
    keys are unchanged.  The construction and the associative prediction do not depend on it.
Frozen-embedding control (``frozen_subjects=True``)
    the same model with e(s) frozen at its N(0, I/d) initial value (a buffer); e(r), W1, b1,
    W2 still trained.  Facts can then only be stored associatively, in the MLP.
Training (:func:`train_facts`)
    full batch (all N R facts), mean cross-entropy, Adam (betas (0.9, 0.999), constant
    ``lr`` = :data:`LR`), float32, at most ``steps`` steps.  The accuracy (argmax over the N
    attributes) is checked every :data:`CHECK_EVERY` steps and training stops once it reaches
    ``STORED_ACCURACY`` = 0.99; a final forward pass gives the reported accuracy.
"Stored"
    accuracy >= 0.99 over all N R facts within the step budget.
Minimal dimension d* (:func:`run_n4`)
    per (N, R, seed), a search over d with facts fixed: d = d_start, doubling while not stored
    (halving while stored), then integer bisection between the largest unstored and the
    smallest stored d; d* = the smallest stored d found.  The bisection assumes "stored" is
    monotone in d (not guaranteed for one seed; the full search history is kept).
Hand-built construction (:func:`geometric_construction`), an exact oracle of the *same* model
    d = R k.  The attribute codebook of relation r is block r (coordinates r k .. r k + k - 1)
    of the fixed unembedding: c_r(a) = U_a[block r] in R^k, i.e. U_a is the concatenation of
    a's R codes.  Subject embedding: e(s) = sum_r P_r U_{pi_r(s)} (block r holds the code of
    pi_r(s)).  Relation embedding: e(r) = the r-th standard basis vector.  MLP of width
    h = d + R with a gate value M > max |U|:
    units i < d: relu(x_i + M) if i is in block r, relu(x_i - M) = 0 otherwise (the bias comes
    from W1 acting on e(r)); units d + r': relu(M [r' = r] - M [r' != r]) = M [r' = r];
    W2 = [I_d, -B] with column r' of B = the indicator of block r', so out = P_r e(s) =
    c_r(pi_r(s)) in block r and 0 elsewhere, and logits_a = <c_r(pi_r(s)), c_r(a)>: decoding by
    max inner product against relation r's codebook.  With random Gaussian codes it is exact
    (100 %) once k ~ C ln N; :func:`construction_k_min` finds the smallest k that gives 100 %.
Readout bound (:func:`hull_vertex_fraction`)
    with U fixed, an attribute whose row U_a lies inside the convex hull of the other rows is
    never the argmax, whatever the network computes; each attribute answers exactly one subject
    per relation, so the accuracy of any model reading out through U is at most the fraction of
    rows that are hull vertices.  This bounds d* from below independently of R.
Associative prediction
    the smallest d with p_c(d, n_params=P) >= N R (finite-size law (T3),
    :func:`capacity.theory.p_c`), for P = d^2 (a d x d linear memory) and for P = the number
    of trainable parameters of the frozen control (2 d h + h + d h + R d).

Determinism: on CPU with one torch thread the same task gives bit-identical results.
"""
import functools
import math
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from .._validation import check_int, check_real
from ._torch import DEVICES, require_torch, resolve_device, seeded_generator, torch_threads

__all__ = [
    "STORED_ACCURACY", "WIDTH", "UNEMBEDDINGS", "FULL_GRID", "DEFAULT_GRID", "FROZEN_GRID", "make_facts",
    "fact_queries",
    "default_width", "build_model", "TrainN4", "train_facts", "geometric_construction", "construction_accuracy",
    "construction_k_min", "hull_vertex_fraction", "associative_d", "n_params_frozen", "n4_task", "construction_task",
    "associative_task", "readout_task", "run_n4_task", "N4Row", "N4Result", "fit_line", "run_n4",
]

EXPERIMENT = "nets-n4"
STORED_ACCURACY = 0.99
CHECK_EVERY = 25
LR = 1e-2
STEPS = 1000
WIDTH = 64
#: readouts of :func:`build_model`: U fixed N(0, I/d) (default), fixed with unit-norm rows, or trained
UNEMBEDDINGS = ("fixed", "normalised", "trained")
_U_TEXT = {"fixed": "fixed N(0, I/d)", "normalised": "fixed, rows N(0, I/d) scaled to unit norm",
           "trained": "trained (initialised N(0, I/d))"}
D_START = 16
D_MAX = 1024
K_MAX = 256
#: the spec's grid: N = 64 ... 1024, R = 1, 2, 4, 8
FULL_GRID = tuple((n, r) for r in (1, 2, 4, 8) for n in (64, 128, 256, 512, 1024))
#: default (N, R) grid of :func:`run_n4`: FULL_GRID restricted to N R N <= 2^20 (N = 1024 only at R = 1,
#: N = 512 only at R <= 2), because a training step costs ~ N R N (the softmax over N attributes) and the
#: left-out searches would cost 10-60 CPU minutes each on one core
DEFAULT_GRID = tuple(p for p in FULL_GRID if p[0] * p[0] * p[1] <= 2**20 and p != (512, 4))
#: default (N, R) points of the frozen-embedding control
FROZEN_GRID = ((64, 1), (256, 1), (64, 2), (64, 4), (64, 8))
QUICK_GRID = ((16, 1), (16, 2))
QUICK_FROZEN = ((16, 1),)


# --------------------------------------------------------------------------------------
# Facts and model
# --------------------------------------------------------------------------------------
def make_facts(n_subjects, n_relations, *, seed=0):
    """The attribute table ``facts[r, s] = pi_r(s)``: R independent uniform random bijections of 0..N-1.

    Examples
    --------
    >>> f = make_facts(5, 2, seed=1)
    >>> f.shape, sorted(f[1].tolist())
    ((2, 5), [0, 1, 2, 3, 4])
    """
    n = check_int("n_subjects", n_subjects, low=2, high=10**6)
    r = check_int("n_relations", n_relations, low=1, high=10**4)
    seed = check_int("seed", seed, low=0)
    rng = np.random.default_rng([seed, n, r, 0])
    return np.stack([rng.permutation(n) for _ in range(r)]).astype(np.int64)


def fact_queries(facts):
    """Flatten a (R, N) fact table into (subjects, relations, attributes), each (N R,), relation-major."""
    facts = np.asarray(facts)
    r, n = facts.shape
    return np.tile(np.arange(n), r), np.repeat(np.arange(r), n), facts.reshape(-1)


def default_width(n_relations=None):
    """The default MLP width h = WIDTH = 64 (the same for every R)."""
    return WIDTH


def n_params_frozen(d, width, n_relations):
    """Trainable parameters of the frozen-embedding control: W1 (2dh) + b1 (h) + W2 (dh) + e(r) (Rd)."""
    return 3 * d * width + width + n_relations * d


@functools.lru_cache(maxsize=None)
def _module_class():
    torch = require_torch()
    nn = torch.nn

    class FactMLP(nn.Module):
        """The N4 model (module docstring): logits = U W2 relu(W1 [e(s); e(r)] + b1)."""

        def __init__(self, n_subjects, n_relations, d, width, frozen_subjects, gen_params, gen_unembed, device,
                     dtype, unembedding="fixed"):
            super().__init__()
            self.n_subjects, self.n_relations, self.d, self.width = n_subjects, n_relations, d, width
            self.frozen_subjects = bool(frozen_subjects)
            self.unembedding = unembedding

            def normal(gen, *shape, std):
                return (torch.randn(*shape, generator=gen, dtype=torch.float64) * std).to(device=device, dtype=dtype)

            s = 1.0 / math.sqrt(d)
            emb = normal(gen_params, n_subjects, d, std=s)
            if self.frozen_subjects:
                self.register_buffer("emb_subject", emb)
            else:
                self.emb_subject = nn.Parameter(emb)
            self.emb_relation = nn.Parameter(normal(gen_params, n_relations, d, std=s))
            self.w1 = nn.Parameter(normal(gen_params, width, 2 * d, std=1.0 / math.sqrt(2 * d)))
            self.b1 = nn.Parameter(torch.zeros(width, device=device, dtype=dtype))
            self.w2 = nn.Parameter(normal(gen_params, d, width, std=1.0 / math.sqrt(width)))
            U = normal(gen_unembed, n_subjects, d, std=s)
            if unembedding == "normalised":  # rows on the unit sphere: every row a vertex of conv(U)
                U = U / U.norm(dim=1, keepdim=True)
            if unembedding == "trained":
                self.unembed = nn.Parameter(U)
            else:
                self.register_buffer("unembed", U)

        def hidden(self, subjects, relations):
            x = torch.cat((self.emb_subject[subjects], self.emb_relation[relations]), dim=-1)
            return torch.relu(x @ self.w1.T + self.b1)

        def output(self, subjects, relations):
            return self.hidden(subjects, relations) @ self.w2.T

        def forward(self, subjects, relations):
            return self.output(subjects, relations) @ self.unembed.T

    return FactMLP


def _model_iv(n_subjects, n_relations, d, width):
    n = check_int("n_subjects", n_subjects, low=2, high=10**6)
    r = check_int("n_relations", n_relations, low=1, high=10**4)
    d = check_int("d", d, low=1, high=10**5)
    width = default_width(r) if width is None else check_int("width", width, low=1, high=10**6)
    return n, r, d, width


def _unembedding_iv(unembedding):
    if unembedding not in UNEMBEDDINGS:
        raise ValueError(f"`unembedding` must be one of {', '.join(map(repr, UNEMBEDDINGS))}; got {unembedding!r}")
    return unembedding


def build_model(n_subjects, n_relations, d, *, width=None, frozen_subjects=False, seed=0, device="cpu",
                dtype="float32", unembedding="fixed"):
    """The N4 model (a ``torch.nn.Module``) initialised from ``seed``; see the module docstring.

    ``model(subjects, relations)`` returns the (B, N) logits; ``model.hidden(...)`` the (B, h)
    ReLU activations and ``model.output(...)`` the (B, d) vector read against ``model.unembed``.
    With ``frozen_subjects`` the subject embeddings are a buffer (never trained).
    ``unembedding``: ``"fixed"`` (default) U is a buffer with rows N(0, I/d); ``"normalised"`` the
    same draw with every row scaled to unit norm (a buffer; every row is then a vertex of conv(U),
    so the readout caps no accuracy); ``"trained"`` the same draw as a trainable parameter.
    """
    n, r, d, width = _model_iv(n_subjects, n_relations, d, width)
    unembedding = _unembedding_iv(unembedding)
    seed = check_int("seed", seed, low=0)
    if dtype not in ("float32", "float64"):
        raise ValueError(f"`dtype` must be 'float32' or 'float64'; got {dtype!r}")
    torch = require_torch()
    dev = resolve_device(device)
    g_par = seeded_generator((seed, n, r, d, width, 1))
    g_un = seeded_generator((seed, n, r, d, 2))
    return _module_class()(n, r, d, width, frozen_subjects, g_par, g_un, dev, getattr(torch, dtype),
                           unembedding=unembedding)


# --------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TrainN4:
    """One training run of :func:`train_facts`.

    ``model`` (trained, on its device) and ``facts`` ((R, N) table) are what a probe needs;
    ``accuracy``/``final_loss`` come from a forward pass after training, ``stored`` =
    accuracy >= 0.99, ``steps_run`` = optimiser steps taken (early stop), ``check_steps`` /
    ``check_accuracy`` / ``check_loss`` the accuracy and loss at every check (before that step's
    update).
    """

    model: object
    facts: np.ndarray
    n_subjects: int
    n_relations: int
    d: int
    width: int
    frozen_subjects: bool
    seed: int
    steps: int
    steps_run: int
    lr: float
    accuracy: float
    stored: bool
    initial_loss: float
    final_loss: float
    check_steps: list
    check_accuracy: list
    check_loss: list
    seconds: float
    unembedding: str = "fixed"

    def summary(self):
        """JSON-able dict of everything but the model and the facts."""
        out = {k: getattr(self, k) for k in self.__dataclass_fields__ if k not in ("model", "facts")}
        return out


def _train_iv(steps, lr, check_every, stop_at, seed):
    return (check_int("steps", steps, low=0, high=10**7), check_real("lr", lr, low=0.0, low_open=True, high=10.0),
            check_int("check_every", check_every, low=1, high=10**7),
            None if stop_at is None else check_real("stop_at", stop_at, low=0.0, high=1.0),
            check_int("seed", seed, low=0))


def _adam(torch, params, lr):
    params = list(params)
    try:
        return torch.optim.Adam(params, lr=lr, fused=True)
    except (RuntimeError, TypeError, ValueError):  # pragma: no cover - older torch / unsupported device
        return torch.optim.Adam(params, lr=lr)


def train_facts(n_subjects, n_relations, d, *, width=None, frozen_subjects=False, steps=STEPS, lr=LR, seed=0,
                device="cpu", check_every=CHECK_EVERY, stop_at=STORED_ACCURACY, facts=None, unembedding="fixed"):
    """Train the N4 model on all N R facts (full batch, Adam, cross-entropy); return :class:`TrainN4`.

    Parameters
    ----------
    n_subjects, n_relations, d : int
        N, R and the embedding width d.
    width : int, optional
        MLP width h; default 64.
    frozen_subjects : bool
        The frozen-embedding control: e(s) fixed at its N(0, I/d) draw.
    steps, lr : int, float
        Step budget and Adam learning rate.
    seed : int
        Seeds the facts (unless ``facts`` is given), the initialisation and U.
    device : {"cpu", "cuda", "auto"}
    check_every : int
        Accuracy/loss check interval (steps).
    stop_at : float or None
        Stop once the checked accuracy reaches it (default 0.99); None trains all ``steps``.
    facts : (R, N) int array, optional
        A fact table to train on instead of ``make_facts(N, R, seed=seed)`` (e.g. new bijections).
    unembedding : {"fixed", "normalised", "trained"}
        The readout U (:func:`build_model`); default ``"fixed"``.

    Examples
    --------
    >>> t = train_facts(16, 2, 16, steps=400, seed=0)
    >>> t.stored, t.facts.shape
    (True, (2, 16))
    """
    n, r, d, width = _model_iv(n_subjects, n_relations, d, width)
    steps, lr, check_every, stop_at, seed = _train_iv(steps, lr, check_every, stop_at, seed)
    unembedding = _unembedding_iv(unembedding)
    if facts is None:
        facts = make_facts(n, r, seed=seed)
    else:
        facts = np.asarray(facts)
        if facts.shape != (r, n) or not all(np.array_equal(np.sort(f), np.arange(n)) for f in facts):
            raise ValueError(f"`facts` must be an (n_relations, n_subjects) = ({r}, {n}) table of bijections; "
                             f"got shape {facts.shape}")
        facts = facts.astype(np.int64)
    torch = require_torch()
    dev = resolve_device(device)
    start = time.perf_counter()
    with torch_threads(1) if dev.type == "cpu" else _null():
        subj, rel, att = (torch.as_tensor(a, device=dev) for a in fact_queries(facts))
        model = build_model(n, r, d, width=width, frozen_subjects=frozen_subjects, seed=seed, device=device,
                            unembedding=unembedding)
        opt = _adam(torch, model.parameters(), lr)
        ce = torch.nn.functional.cross_entropy
        ck_steps, ck_acc, ck_loss = [], [], []
        initial_loss = None
        steps_run = 0
        for step in range(steps + 1):
            logits = model(subj, rel)
            loss = ce(logits, att)
            if initial_loss is None:
                initial_loss = float(loss.detach())
            if step % check_every == 0 or step == steps:
                acc = float((logits.argmax(-1) == att).double().mean())
                ck_steps.append(step)
                ck_acc.append(acc)
                ck_loss.append(float(loss.detach()))
                if stop_at is not None and acc >= stop_at:
                    break
            if step == steps:
                break
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            steps_run += 1
        with torch.no_grad():
            logits = model(subj, rel)
            final_loss = float(ce(logits, att))
            accuracy = float((logits.argmax(-1) == att).double().mean())
    return TrainN4(model=model, facts=facts, n_subjects=n, n_relations=r, d=d, width=width,
                   frozen_subjects=bool(frozen_subjects), seed=seed, steps=steps, steps_run=steps_run, lr=lr,
                   accuracy=accuracy, stored=accuracy >= STORED_ACCURACY, initial_loss=initial_loss,
                   final_loss=final_loss, check_steps=ck_steps, check_accuracy=ck_acc, check_loss=ck_loss,
                   seconds=time.perf_counter() - start, unembedding=unembedding)


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


# --------------------------------------------------------------------------------------
# Hand-built geometric construction (exact oracle)
# --------------------------------------------------------------------------------------
def geometric_construction(facts, k, *, seed=0, device="cpu", dtype="float64"):
    """The hand-built geometric solution as weights of the N4 model (d = R k, width d + R).

    See the module docstring: block r of the fixed unembedding U is relation r's codebook,
    e(s) = sum_r P_r U_{pi_r(s)}, the relation gates the MLP so that only block r passes, and
    the logits are <c_r(pi_r(s)), c_r(a)>.  U is the one :func:`build_model` draws for
    (seed, N, R, d), so the construction is a point in the learned model's weight space.

    Returns the ``torch.nn.Module`` (evaluation only).

    Examples
    --------
    >>> f = make_facts(64, 2, seed=0)
    >>> construction_accuracy(f, 24, seed=0)
    1.0
    """
    facts = np.asarray(facts)
    if facts.ndim != 2 or facts.shape[1] < 2:
        raise ValueError(f"`facts` must be an (n_relations, n_subjects) table with n_subjects >= 2; got shape "
                         f"{facts.shape}")
    r, n = facts.shape
    k = check_int("k", k, low=1, high=10**5)
    d = r * k
    torch = require_torch()
    model = build_model(n, r, d, width=d + r, seed=seed, device=device, dtype=dtype)
    U = model.unembed.detach().to("cpu", torch.float64)
    gate = 2.0 * float(U.abs().max()) + 1.0
    emb = torch.zeros(n, d, dtype=torch.float64)
    for rr in range(r):
        blk = slice(rr * k, (rr + 1) * k)
        emb[:, blk] = U[torch.as_tensor(facts[rr]), blk]
    w1 = torch.zeros(d + r, 2 * d, dtype=torch.float64)
    w1[:d, :d] = torch.eye(d)
    w2 = torch.zeros(d, d + r, dtype=torch.float64)
    w2[:, :d] = torch.eye(d)
    for rr in range(r):
        in_block = torch.zeros(d, dtype=torch.float64)
        in_block[rr * k:(rr + 1) * k] = 1.0
        w1[:d, d + rr] = gate * (2.0 * in_block - 1.0)  # +M on block rr, -M elsewhere
        w1[d:, d + rr] = -gate
        w1[d + rr, d + rr] = gate
        w2[:, d + rr] = -in_block
    rel = torch.zeros(r, d, dtype=torch.float64)
    rel[torch.arange(r), torch.arange(r)] = 1.0
    with torch.no_grad():
        for name, val in (("emb_subject", emb), ("emb_relation", rel), ("w1", w1), ("w2", w2)):
            getattr(model, name).copy_(val)
        model.b1.zero_()
    model.requires_grad_(False)
    return model


def construction_accuracy(facts, k, *, seed=0, device="cpu"):
    """Accuracy over all N R facts of :func:`geometric_construction` (float64 forward pass)."""
    torch = require_torch()
    model = geometric_construction(facts, k, seed=seed, device=device)
    dev = model.unembed.device
    subj, rel, att = (torch.as_tensor(a, device=dev) for a in fact_queries(facts))
    with torch.no_grad(), (torch_threads(1) if dev.type == "cpu" else _null()):
        return float((model(subj, rel).argmax(-1) == att).double().mean())


def construction_k_min(facts, *, seed=0, k_max=K_MAX, device="cpu"):
    """Smallest k (scanning k = 1, 2, ...) for which the construction stores all facts (100 %), or None."""
    k_max = check_int("k_max", k_max, low=1, high=10**5)
    for k in range(1, k_max + 1):
        if construction_accuracy(facts, k, seed=seed, device=device) == 1.0:
            return k
    return None


# --------------------------------------------------------------------------------------
# Readout bound of the fixed unembedding
# --------------------------------------------------------------------------------------
def hull_vertex_fraction(unembed):
    """Fraction of attributes a for which some output o ranks U_a strictly first (U_a a vertex of conv(U)).

    An attribute whose row lies in the convex hull of the others is never the argmax of
    <U_., o>, whatever the network computes.  Each attribute is the answer of exactly one
    subject per relation (the pi_r are bijections), so the accuracy of *any* model reading
    out through this U is at most this fraction.  Rows with <U_a, U_a> > max_b <U_a, U_b>
    are vertices (o = U_a); the others are decided by an LP (HiGHS): is there an o with
    <U_a - U_b, o> >= 1 for all b != a?

    Examples
    --------
    >>> import numpy as np
    >>> hull_vertex_fraction(np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.2, 0.2]]))
    0.75
    """
    from scipy.optimize import linprog

    U = np.asarray(unembed.detach().cpu().double().numpy() if hasattr(unembed, "detach") else unembed, dtype=float)
    if U.ndim != 2 or U.shape[0] < 2 or not np.all(np.isfinite(U)):
        raise ValueError(f"`unembed` must be a finite (N, d) array with N >= 2; got shape {U.shape}")
    n, d = U.shape
    G = U @ U.T
    diag = np.diag(G).copy()
    np.fill_diagonal(G, -np.inf)
    count = 0
    for a in range(n):
        if diag[a] > G[a].max():
            count += 1
            continue
        A = np.delete(U, a, axis=0) - U[a]
        res = linprog(np.zeros(d), A_ub=A, b_ub=-np.ones(n - 1), bounds=[(None, None)] * d, method="highs")
        count += res.status == 0
    return count / n


# --------------------------------------------------------------------------------------
# Associative prediction
# --------------------------------------------------------------------------------------
def associative_d(n_facts, *, params="square", width=None, n_relations=1, d_max=1 << 16):
    """Smallest d with p_c(d, n_params=P) >= n_facts (finite-size law (T3)).

    ``params="square"``: P = d^2 (a d x d linear memory); ``"frozen"``: P = the trainable
    parameters of the frozen-embedding control, 3 d h + h + R d (``width`` h, ``n_relations`` R).
    """
    from ..theory import p_c

    n_facts = check_int("n_facts", n_facts, low=2)
    if params not in ("square", "frozen"):
        raise ValueError(f"`params` must be 'square' or 'frozen'; got {params!r}")
    if params == "frozen":
        width = check_int("width", width, low=1)
        n_relations = check_int("n_relations", n_relations, low=1)

    cache = {}

    def pc(d):
        if d not in cache:
            cache[d] = p_c(d, n_params=d * d if params == "square" else n_params_frozen(d, width, n_relations))
        return cache[d]

    # Newton-like iteration on the leading-order scaling p_c ~ P / (2 ln p) (P = d^2: d ~ sqrt; P ~ 3dh: d ~ linear),
    # then a walk of unit steps to the exact smallest d
    expo = 0.5 if params == "square" else 1.0
    P0 = 2.0 * n_facts * math.log(n_facts)
    g = max(1, int(round(math.sqrt(P0) if params == "square" else P0 / (3 * width + n_relations))))
    for _ in range(3):
        g_new = max(1, int(round(g * (n_facts / pc(g)) ** expo)))
        if g_new == g or g_new > d_max:
            break
        g = g_new
    if pc(g) >= n_facts:
        while g > 1 and pc(g - 1) >= n_facts:
            g -= 1
        return g
    while pc(g) < n_facts:
        g += 1
        if g > d_max:
            return None
    return g


# --------------------------------------------------------------------------------------
# Tasks (one training run or one construction scan each) and the d* search
# --------------------------------------------------------------------------------------
def n4_task(n_subjects, n_relations, d, *, seed, width, frozen_subjects=False, steps=STEPS, lr=LR, device="cpu",
            unembedding="fixed"):
    """The task dict of one training run; its JSON is the store key.

    The key ``"unembedding"`` is present only for a non-default readout, so the tasks (and store
    keys) of fixed-readout runs are those written before the option existed.
    """
    n, r, d, width = _model_iv(n_subjects, n_relations, d, width)
    steps, lr, _, _, seed = _train_iv(steps, lr, CHECK_EVERY, STORED_ACCURACY, seed)
    unembedding = _unembedding_iv(unembedding)
    task = {"experiment": EXPERIMENT, "kind": "frozen" if frozen_subjects else "learned", "n_subjects": n,
            "n_relations": r, "d": d, "width": width, "seed": seed, "steps": steps, "lr": lr,
            "check_every": CHECK_EVERY, "stored_accuracy": STORED_ACCURACY, "device": str(device)}
    if unembedding != "fixed":
        task["unembedding"] = unembedding
    return task


def construction_task(n_subjects, n_relations, *, seed, k_max=K_MAX):
    """The task dict of one construction scan (smallest k with 100 %)."""
    return {"experiment": EXPERIMENT, "kind": "construction", "n_subjects": int(n_subjects),
            "n_relations": int(n_relations), "seed": int(seed), "k_max": int(k_max)}


def associative_task(n_facts, *, params, width=None, n_relations=1):
    """The task dict of one associative-law evaluation (:func:`associative_d`)."""
    if params == "square":
        width, n_relations = None, 1
    return {"experiment": EXPERIMENT, "kind": "associative", "n_facts": int(n_facts), "params": params,
            "width": width, "n_relations": int(n_relations)}


def readout_task(n_subjects, n_relations, d, *, seed):
    """The task dict of one :func:`hull_vertex_fraction` evaluation of the U a model of this size draws."""
    return {"experiment": EXPERIMENT, "kind": "readout", "n_subjects": int(n_subjects),
            "n_relations": int(n_relations), "d": int(d), "seed": int(seed)}


def run_n4_task(task):
    """Run one N4 task (module level and picklable, for :func:`capacity.sweeps.run_sweep`)."""
    if task["kind"] == "readout":
        with torch_threads(1):
            U = build_model(task["n_subjects"], task["n_relations"], task["d"], width=1, seed=task["seed"],
                            dtype="float64").unembed
        return {"vertex_fraction": hull_vertex_fraction(U)}
    if task["kind"] == "associative":
        return {"d": associative_d(task["n_facts"], params=task["params"], width=task["width"],
                                   n_relations=task["n_relations"])}
    if task["kind"] == "construction":
        facts = make_facts(task["n_subjects"], task["n_relations"], seed=task["seed"])
        return {"k_min": construction_k_min(facts, seed=task["seed"], k_max=task["k_max"])}
    t = train_facts(task["n_subjects"], task["n_relations"], task["d"], width=task["width"],
                    frozen_subjects=task["kind"] == "frozen", steps=task["steps"], lr=task["lr"], seed=task["seed"],
                    device=task["device"], check_every=task["check_every"], stop_at=task["stored_accuracy"],
                    unembedding=task.get("unembedding", "fixed"))
    return {"stored": t.stored, "accuracy": t.accuracy, "steps_run": t.steps_run, "initial_loss": t.initial_loss,
            "final_loss": t.final_loss}


class _Search:
    """Doubling (halving when d_start is already stored), then integer bisection, over d."""

    def __init__(self, d_start, d_max):
        self.d_start, self.d_max = d_start, d_max
        self.history = []  # (d, stored, accuracy, steps_run) in the order run

    def record(self, d, res):
        self.history.append([int(d), bool(res["stored"]), float(res["accuracy"]), int(res["steps_run"])])

    def next(self):
        if not self.history:
            return self.d_start
        stored = [h[0] for h in self.history if h[1]]
        failed = [h[0] for h in self.history if not h[1]]
        if not stored:
            top = max(failed)
            return None if top >= self.d_max else min(2 * top, self.d_max)
        hi = min(stored)
        below = [d for d in failed if d < hi]
        if not below:
            return None if hi == 1 else max(1, hi // 2)
        lo = max(below)
        return None if hi - lo <= 1 else (lo + hi) // 2

    @property
    def d_star(self):
        stored = [h[0] for h in self.history if h[1]]
        return min(stored) if stored else None


# --------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------
def fit_line(x, y):
    """Least-squares y = slope x + intercept; returns dict(slope, intercept, r2, n) (NaN when n < 2)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if len(x) < 2 or np.ptp(x) == 0:
        return {"slope": float("nan"), "intercept": float("nan"), "r2": float("nan"), "n": int(len(x))}
    slope, intercept = np.polyfit(x, y, 1)
    res = y - (slope * x + intercept)
    tot = y - y.mean()
    r2 = 1.0 - float(res @ res) / float(tot @ tot) if float(tot @ tot) > 0 else float("nan")
    return {"slope": float(slope), "intercept": float(intercept), "r2": r2, "n": int(len(x))}


def _mean(values):
    v = [x for x in values if x is not None]
    return float(np.mean(v)) if v and len(v) == len(values) else None


@dataclass(frozen=True)
class N4Row:
    """One (N, R) point of :func:`run_n4`.

    ``d_star`` / ``d_star_frozen``: per seed, the minimal d reaching >= 99 % (None: not reached
    up to ``d_max``; ``d_star_frozen`` is None when the control was not run here), ``*_mean``
    their mean (None if any is missing); ``construction_k`` per seed the smallest k for which the
    construction stores all facts, ``construction_d`` = R k; ``assoc_d_square`` / ``assoc_d_params``
    the smallest d with p_c(d, n_params=d^2) / p_c(d, n_params=3dh + h + Rd) >= N R;
    ``history`` / ``history_frozen``: per seed the search path [d, stored, accuracy, steps_run].
    """

    n_subjects: int
    n_relations: int
    n_facts: int
    r_ln_n: float
    width: int
    n_seeds: int
    d_star: list
    d_star_mean: object
    d_star_frozen: object
    d_star_frozen_mean: object
    construction_k: list
    construction_d: list
    construction_d_mean: object
    assoc_d_square: object
    assoc_d_params: object
    history: list
    history_frozen: object

    def to_dict(self):
        return asdict(self)


@dataclass(frozen=True)
class N4Result:
    """Result of :func:`run_n4`: one :class:`N4Row` per (N, R), the fits against R ln N, the settings."""

    rows: list
    fits: dict
    settings: dict
    warnings: list = field(default_factory=list)

    def to_dict(self):
        return {"rows": [r.to_dict() for r in self.rows], "fits": {k: dict(v) for k, v in self.fits.items()},
                "settings": dict(self.settings), "warnings": list(self.warnings)}

    def format_table(self):
        """Markdown: per (N, R) the learned, frozen-control, construction and associative d."""

        def seeds(v):
            if v is None:
                return "-"
            return ", ".join("> d_max" if x is None else str(x) for x in v)

        def num(x):
            return "-" if x is None else (f"{x:.1f}" if isinstance(x, float) else str(x))

        head = ("| N | R | N R | R ln N | learned d* (per seed) | mean | frozen-control d* | construction d = R k_min "
                "(per seed) | mean | associative d (P = d²) | associative d (P = frozen-control params) |")
        lines = [head, "|" + "---|" * (head.count("|") - 1)]
        for r in self.rows:
            lines.append(f"| {r.n_subjects} | {r.n_relations} | {r.n_facts} | {r.r_ln_n:.2f} | {seeds(r.d_star)} | "
                         f"{num(r.d_star_mean)} | {seeds(r.d_star_frozen)} | {seeds(r.construction_d)} | "
                         f"{num(r.construction_d_mean)} | {num(r.assoc_d_square)} | {num(r.assoc_d_params)} |")
        lines.append("")
        lines.append("| fit against R ln N | slope | intercept | R² | points |")
        lines.append("|---|---|---|---|---|")
        for name, f in self.fits.items():
            lines.append(f"| {name} | {f['slope']:.3f} | {f['intercept']:.3f} | {f['r2']:.3f} | {f['n']} |")
        return "\n".join(lines)


def _grid_iv(grid, name):
    out = []
    for pt in grid:
        ok = isinstance(pt, (tuple, list)) and len(pt) == 2 and all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in pt)
        if not ok or not (2 <= pt[0] <= 10**5 and 1 <= pt[1] <= 10**3):
            raise ValueError(f"`{name}` entries must be integer pairs (n_subjects, n_relations) with "
                             f"2 <= n_subjects <= 100000 and 1 <= n_relations <= 1000; got {pt!r}")
        out.append((int(pt[0]), int(pt[1])))
    return list(dict.fromkeys(out))


def _run_n4_iv(grid, frozen_grid, seed, n_seeds, steps, lr, width, d_start, d_max, k_max, quick, device):
    if not isinstance(device, str) or device not in DEVICES:
        raise ValueError(f"`device` must be one of {', '.join(DEVICES)}; got {device!r}")
    grid = _grid_iv(QUICK_GRID if quick else DEFAULT_GRID, "grid") if grid is None else _grid_iv(grid, "grid")
    if not grid:
        raise ValueError("`grid` must hold at least one (n_subjects, n_relations) pair; got an empty sequence")
    frozen_grid = _grid_iv(QUICK_FROZEN if quick else FROZEN_GRID, "frozen_grid") if frozen_grid is None else \
        _grid_iv(frozen_grid, "frozen_grid")
    seed = check_int("seed", seed, low=0)
    n_seeds = (1 if quick else 2) if n_seeds is None else check_int("n_seeds", n_seeds, low=1, high=1000)
    steps = (600 if quick else STEPS) if steps is None else check_int("steps", steps, low=1, high=10**7)
    lr = check_real("lr", lr, low=0.0, low_open=True, high=10.0)
    width = check_int("width", width, low=1, high=10**6)
    d_start = check_int("d_start", d_start, low=1, high=10**5)
    d_max = check_int("d_max", d_max, low=d_start, high=10**5)
    k_max = check_int("k_max", k_max, low=1, high=10**5)
    return grid, frozen_grid, seed, n_seeds, steps, lr, width, d_start, d_max, k_max


def run_n4(*, grid=None, frozen_grid=None, seed=0, n_seeds=None, steps=None, lr=LR, width=WIDTH, d_start=D_START,
           d_max=D_MAX, k_max=K_MAX, quick=False, device="cpu", store=None, jobs=1, progress=None,
           unembedding="fixed"):
    r"""Minimal embedding width d* storing all N R facts with learned subject embeddings, vs R ln N.

    Parameters
    ----------
    grid : sequence of (N, R), optional
        Points of the learned-embedding search; default :data:`DEFAULT_GRID` (N = 64 ... 1024,
        R = 1, 2, 4, 8 with N = 1024 only at R = 1 and N = 512 only at R <= 2; quick: (16, 1), (16, 2)).
    frozen_grid : sequence of (N, R), optional
        Points of the frozen-embedding control (also searched with learned embeddings); default
        :data:`FROZEN_GRID` (quick: (16, 1)); ``()`` for none.
    seed, n_seeds : int
        Seeds seed ... seed + n_seeds - 1 (default 2; quick: 1); one independent fact table,
        initialisation and search per seed.
    steps, lr, width : int, float, int
        Training budget per run (default 1000; quick: 600), Adam learning rate, MLP width h.
    d_start, d_max : int
        The search starts at d_start (default 16) and gives up (d* = None) above d_max.
    k_max : int
        Largest k the construction scan tries.
    quick : bool
        Tiny grid, one seed, short budget (seconds).
    device : {"cpu", "cuda", "auto"}
    unembedding : {"fixed", "normalised", "trained"}
        The readout of every training run (:func:`build_model`; default ``"fixed"``).  The
        construction and the associative law do not depend on it.
    store, jobs, progress
        Passed to :func:`capacity.sweeps.run_sweep`: every training run, construction scan and
        associative-law evaluation is one task, so an interrupted run resumes.  The search proceeds in rounds (one
        run_sweep call per round, the next d of every search depending on the previous result).

    Returns
    -------
    N4Result
        ``fits``: least-squares lines against R ln N of the learned d* (mean over seeds,
        points where every seed stored), the construction d and the associative d (P = d²).

    Examples
    --------
    >>> res = run_n4(quick=True, progress=False)
    >>> [(row.n_subjects, row.n_relations) for row in res.rows]
    [(16, 1), (16, 2)]
    """
    from ..sweeps.runner import run_sweep

    grid, frozen_grid, seed, n_seeds, steps, lr, width, d_start, d_max, k_max = _run_n4_iv(
        grid, frozen_grid, seed, n_seeds, steps, lr, width, d_start, d_max, k_max, quick, device)
    unembedding = _unembedding_iv(unembedding)
    resolve_device(device)
    points = list(dict.fromkeys(grid + frozen_grid))
    seeds = range(seed, seed + n_seeds)
    searches = {("learned", n, r, s): _Search(d_start, d_max) for n, r in points for s in seeds}
    searches.update({("frozen", n, r, s): _Search(d_start, d_max) for n, r in frozen_grid for s in seeds})
    # construction scans and associative-law evaluations: one round of tasks
    ckeys = [(n, r, s) for n, r in points for s in seeds]
    akeys = [(n, r, params) for n, r in points for params in ("square", "frozen")]
    ctasks = [construction_task(n, r, seed=s, k_max=k_max) for n, r, s in ckeys]
    atasks = [associative_task(n * r, params=params, width=width, n_relations=r) for n, r, params in akeys]
    cres = run_sweep(run_n4_task, ctasks + atasks, store=store, jobs=jobs, progress=progress)
    k_min = {key: res["k_min"] for key, res in zip(ckeys, cres)}
    assoc = {key: res["d"] for key, res in zip(akeys, cres[len(ckeys):])}
    n_runs = 0
    while True:
        pending = [(key, srch.next()) for key, srch in searches.items()]
        pending = [(key, d) for key, d in pending if d is not None]
        if not pending:
            break
        tasks = [n4_task(n, r, d, seed=s, width=width, frozen_subjects=kind == "frozen", steps=steps, lr=lr,
                         device=device, unembedding=unembedding) for (kind, n, r, s), d in pending]
        for ((key, d), res) in zip(pending, run_sweep(run_n4_task, tasks, store=store, jobs=jobs, progress=progress)):
            searches[key].record(d, res)
        n_runs += len(tasks)
    rows, warnings = [], []
    for n, r in points:
        ds = [searches[("learned", n, r, s)].d_star for s in seeds]
        fz = [searches[("frozen", n, r, s)].d_star for s in seeds] if (n, r) in frozen_grid else None
        ks = [k_min[(n, r, s)] for s in seeds]
        cd = [None if k is None else r * k for k in ks]
        for kind, vals in (("learned", ds), ("frozen", fz or [])):
            if any(v is None for v in vals):
                warnings.append(f"{kind} d* not reached up to d_max = {d_max} at N = {n}, R = {r}")
        if any(k is None for k in ks):
            warnings.append(f"construction not exact up to k_max = {k_max} at N = {n}, R = {r}")
        rows.append(N4Row(
            n_subjects=n, n_relations=r, n_facts=n * r, r_ln_n=r * math.log(n), width=width, n_seeds=n_seeds,
            d_star=ds, d_star_mean=_mean(ds), d_star_frozen=fz, d_star_frozen_mean=None if fz is None else _mean(fz),
            construction_k=ks, construction_d=cd, construction_d_mean=_mean(cd),
            assoc_d_square=assoc[(n, r, "square")], assoc_d_params=assoc[(n, r, "frozen")],
            history=[searches[("learned", n, r, s)].history for s in seeds],
            history_frozen=None if fz is None else [searches[("frozen", n, r, s)].history for s in seeds]))
    x = [row.r_ln_n for row in rows]

    def col(name):
        return [np.nan if getattr(row, name) is None else getattr(row, name) for row in rows]

    fits = {"learned d*": fit_line(x, col("d_star_mean")), "construction d": fit_line(x, col("construction_d_mean")),
            "associative d (P = d²)": fit_line(x, col("assoc_d_square"))}
    settings = {"seed": seed, "n_seeds": n_seeds, "steps": steps, "lr": lr, "width": width, "d_start": d_start,
                "d_max": d_max, "k_max": k_max, "check_every": CHECK_EVERY, "stored_accuracy": STORED_ACCURACY,
                "device": str(device), "quick": bool(quick), "n_training_runs": n_runs,
                "grid": [list(p) for p in grid], "frozen_grid": [list(p) for p in frozen_grid],
                "unembedding": unembedding,
                "model": "logits = U W2 relu(W1 [e(s); e(r)] + b1); U " + _U_TEXT[unembedding] + "; e(s), e(r), W1, "
                         "b1, W2 trained (frozen control: e(s) fixed); full-batch Adam, cross-entropy, float32",
                "construction": "d = R k, width d + R, codebook of relation r = block r of U, e(s) = sum_r P_r "
                                "U_{pi_r(s)}, exact when all N R facts are decoded (100 %)",
                "associative": "smallest d with p_c(d, n_params=P) >= N R, P = d^2 or P = 3dh + h + Rd"}
    return N4Result(rows=rows, fits=fits, settings=settings, warnings=warnings)
