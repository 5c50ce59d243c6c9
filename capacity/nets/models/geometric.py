r"""N4 model: factual recall with *learned* subject embeddings — geometric memory (docs/nets.md, N4).

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
    the smallest d with p_c(d, n_params=P) >= N R (finite-size law, docs/theory.md §2, eq. (T3);
    :func:`capacity.theory.p_c`), for P = d^2 (a d x d linear memory) and for P = the number
    of trainable parameters of the frozen control (2 d h + h + d h + R d).

Determinism: on CPU with one torch thread the same task gives bit-identical results.

The search for the minimal width d* is :func:`capacity.nets.experiments.n4.run_n4`; the
mechanism probes of the trained model are in :mod:`capacity.nets.models.probes`.
"""
import contextlib
import functools
import math
import time
from dataclasses import dataclass, fields

import numpy as np

from ..._validation import check_int, check_real
from ...results import Result, plain
from .._torch import fused_adam, require_torch, resolve_device, seeded_generator, torch_threads
from .facts import fact_queries, make_facts

__all__ = [
    "STORED_ACCURACY", "CHECK_EVERY", "LR", "STEPS", "WIDTH", "UNEMBEDDINGS", "CONSTRUCTION_K_MAX", "make_facts",
    "fact_queries", "default_width", "n_params_frozen", "build_model", "TrainN4", "train_facts",
    "geometric_construction", "construction_accuracy", "construction_k_min", "hull_vertex_fraction", "associative_d",
]

STORED_ACCURACY = 0.99
CHECK_EVERY = 25
LR = 1e-2
STEPS = 1000
WIDTH = 64
#: readouts of :func:`build_model`: U fixed N(0, I/d) (default), fixed with unit-norm rows, or trained
UNEMBEDDINGS = ("fixed", "normalised", "trained")
#: largest k = d / R that :func:`construction_k_min` tries for the hand-built construction
CONSTRUCTION_K_MAX = 256


# --------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------
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
class TrainN4(Result):
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

    def to_dict(self):
        """Every field but ``model`` (a torch module, not JSON) and ``facts`` (the (R, N) table the run was given)."""
        return {f.name: plain(getattr(self, f.name)) for f in fields(self) if f.name not in ("model", "facts")}


def _train_iv(steps, lr, check_every, stop_at, seed):
    return (check_int("steps", steps, low=0, high=10**7), check_real("lr", lr, low=0.0, low_open=True, high=10.0),
            check_int("check_every", check_every, low=1, high=10**7),
            None if stop_at is None else check_real("stop_at", stop_at, low=0.0, high=1.0),
            check_int("seed", seed, low=0))


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
    with torch_threads(1) if dev.type == "cpu" else contextlib.nullcontext():
        subj, rel, att = (torch.as_tensor(a, device=dev) for a in fact_queries(facts))
        model = build_model(n, r, d, width=width, frozen_subjects=frozen_subjects, seed=seed, device=device,
                            unembedding=unembedding)
        opt = fused_adam(model.parameters(), lr)
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
    with torch.no_grad(), (torch_threads(1) if dev.type == "cpu" else contextlib.nullcontext()):
        return float((model(subj, rel).argmax(-1) == att).double().mean())


def construction_k_min(facts, *, seed=0, k_max=CONSTRUCTION_K_MAX, device="cpu"):
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
    from ...theory import p_c

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


