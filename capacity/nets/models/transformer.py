"""N2 model: a one-layer transformer with frozen random embeddings storing (subject, relation) -> attribute facts.

The model of docs/nets.md, N2.  The source papers were only partially available, so every
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

Capacity comparison (docs/theory.md §2, eq. (T3))
    The linear-memory law predicts the number of storable facts p solving ``p = P alpha_c(p - 1)``
    for ``P`` parameters (:func:`capacity.theory.p_c` with ``n_params=P``).  Two parameter counts
    are compared: all trainable parameters and the MLP's only (``2 d m + m``).  (T3) assumes every
    stored item has p - 1 competitors; here a fact has N - 1 = p/R - 1 competing attributes, and
    :func:`facts_law` also reports the variant ``p = P alpha_c(p/R - 1)``.

Determinism: on CPU with one torch thread the same seed and arguments give bit-identical
results; the facts, the frozen embeddings and the initialisation each come from their own
``torch.Generator`` / NumPy stream derived from ``(seed, n_subjects, n_relations, d, m)``.

The search for the largest stored fact set is :func:`capacity.nets.experiments.n2.run_n2`.
"""
import contextlib
import functools
import math
import time
from dataclasses import dataclass

from ..._validation import check_int, check_real
from ...results import Result
from .._torch import fused_adam, require_torch, resolve_device, seeded_generator, torch_threads
from .facts import make_facts

__all__ = ["STORED_ACCURACY", "CHECK_EVERY", "PARTS", "count_params", "facts_law", "make_facts", "build_model",
           "TrainN2", "train_facts"]

STORED_ACCURACY = 0.99
CHECK_EVERY = 10
PARTS = ("all", "attention", "mlp")


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

    Without ``n_relations``: docs/theory.md §2, eq. (T3), the p solving ``p = n_params alpha_c(p - 1)``
    (:func:`capacity.theory.p_c`).  With ``n_relations = R``: the p solving
    ``p = n_params alpha_c(p/R - 1)`` (a fact competes with the other N - 1 = p/R - 1 attributes).

    Examples
    --------
    >>> round(facts_law(256), 1)
    61.7
    """
    from ...solvers.roots import brent
    from ...theory import alpha_c, p_c

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


# ----------------------------------------------------------------------------- model
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
class TrainN2(Result):
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
    """Train the N2 model on all N R facts; return a :class:`TrainN2`.

    ``early_stop`` (default True) stops as soon as the accuracy, checked every
    ``CHECK_EVERY`` steps, reaches ``STORED_ACCURACY``; with False all ``steps`` run.
    The reported accuracy and loss are those of a final forward pass after training.
    """
    n, r, d, m, steps, lr, seed = _train_iv(n_subjects, n_relations, d, m, steps, lr, seed)
    torch = require_torch()
    dev = resolve_device(device)
    start = time.perf_counter()
    with torch_threads(1) if dev.type == "cpu" else contextlib.nullcontext():
        facts = torch.as_tensor(make_facts(n, r, seed=seed), device=dev)  # (R, N)
        subjects = torch.arange(n, device=dev).repeat(r)
        relations = torch.arange(r, device=dev).repeat_interleave(n)
        targets = facts.reshape(-1)
        model = build_model(n, r, d, m, seed=seed, device=device)
        opt = fused_adam(model.parameters(), lr)
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
    return TrainN2(
        n_subjects=n, n_relations=r, d=d, m=m, n_facts=n * r, n_params=count_params(d, m), steps=steps,
        steps_run=steps_run, lr=lr, seed=seed, accuracy=accuracy, stored=accuracy >= STORED_ACCURACY,
        initial_loss=initial_loss, final_loss=final_loss, seconds=time.perf_counter() - start,
    )


