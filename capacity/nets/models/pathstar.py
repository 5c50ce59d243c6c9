r"""N5 path-star model: a path-star graph memorised in the weights of a small transformer (docs/nets.md, N5).

A small in-weights path-star transformer with frozen vs trainable embeddings, scored by the
held-out first-hop accuracy against chance 1/arms, after Noroozizadeh et al., arXiv:2510.26745.
Only the abstract was available, so every choice below is ours.

**Graph.**  A centre and ``arms`` = A arms of ``length`` = L nodes each (n = 1 + A L nodes,
the path-star of :func:`capacity.nets.models.node2vec.path_star_graph`).  Node tokens are labelled
randomly: graph node i gets token ``labels[i]`` (a seeded permutation of 0..n-1), so token
ids carry no arm information.  ``n_heldout`` arms, chosen at random (same seed), are
*held out*.

**Training sequences** (all of one fixed graph; full batch, every sequence every step):

- edge sequences ``[EDGE, u, v]`` for every edge in *both* directions (2 A L sequences,
  all arms, held-out ones included); the loss is on predicting v after u only;
- path sequences ``[PATH, leaf, centre, a_1, ..., a_L]`` (a_L = leaf, a_1 the first hop out
  of the centre) for the leaves of the *training* arms only; the loss is on every token
  after the leaf (centre, a_1, ..., a_L; the leaf itself is not predictable).

- optionally (``reverse_paths=True``) reverse paths ``[RPATH, leaf, a_{L-1}, ..., a_1,
  centre]`` for *every* arm, held-out ones included; loss on every token after the leaf.

So by default a held-out arm is seen only as 2 L directed edges, never as a path and never
with its leaf after ``PATH``; with ``reverse_paths`` it is also seen as one leaf -> centre
path (never centre -> leaf).  Loss: mean token cross-entropy over all loss positions of the
batch.

**Query** (first hop): the prefix ``[PATH, leaf, centre]``, prediction = argmax of the
next-token logits over the n node tokens (strict; "restricted" = argmax over the A
neighbours of the centre only).  Chance is 1/A (a model that knows the centre's neighbours
but not which arm holds the leaf).  Reported separately for training leaves (paths seen)
and held-out leaves.  Also reported: edge accuracy (fraction of directed edges [EDGE, u]
whose argmax is a true neighbour of u).

**Model** (pre-LayerNorm, causal, no dropout): token embedding E ((n + 4) x d; tokens are
the n nodes, PATH, EDGE, PAD, RPATH), learned absolute positions P (T x d), ``n_layers`` blocks of
``n_heads``-head self-attention and a GELU MLP (width 4d), a final LayerNorm, logits
tied to E (h E^T).  E's entries are N(0, 1/d) at init; with ``embeddings="frozen"`` E
(hence also the unembedding) is never trained, with ``"trainable"`` it is.  Everything else
(positions, blocks, LayerNorms) is trained in both conditions.  Other weights: N(0, 1/d)
(input side) and N(0, 1/(fan_in 2 n_layers)) on the residual outputs; biases 0.

**Optimiser**: AdamW (betas 0.9, 0.999, weight decay ``weight_decay`` on matrices except
E), constant ``lr``, float32.

Determinism: the graph labelling and held-out split come from ``np.random.default_rng``
seeded from (seed, A, L, n_heldout); the initial weights from :func:`seeded_generator`
with (seed, A, L, d, n_layers) — so the frozen and trainable runs of one seed share the
graph, the split and the initial weights (a paired comparison).  On CPU with one thread a

The experiment over embedding conditions and seeds is :func:`capacity.nets.experiments.pathstar.run_pathstar`.
"""
import time
from dataclasses import dataclass

import numpy as np

from ..._validation import check_int, check_real
from ...results import Result
from .._torch import require_torch, resolve_device, seeded_generator, torch_threads

__all__ = [
    "EMBEDDINGS", "IGNORE", "PathStarGraph", "make_pathstar", "pathstar_sequences", "TrainPathStar", "train_pathstar",
]

EMBEDDINGS = ("frozen", "trainable")
ARMS = 12
LENGTH = 3
N_HELDOUT = 4
D_MODEL = 64
N_LAYERS = 2
N_HEADS = 2
LR = 3e-3
WEIGHT_DECAY = 0.0
STEPS = 600
N_CHECKPOINTS = 10
IGNORE = -100


# --------------------------------------------------------------------------------------
# Graph and sequences
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PathStarGraph:
    """A randomly labelled path-star.

    ``arms_tokens`` (A, L) int: the tokens of arm a from the centre outwards (column 0 = first
    hop, column L-1 = leaf); ``centre`` the centre's token; ``heldout`` sorted arm indices held
    out of path training; ``n`` number of node tokens; PATH = n, EDGE = n + 1, PAD = n + 2,
    RPATH = n + 3 (reverse paths).
    """

    arms: int
    length: int
    centre: int
    arms_tokens: np.ndarray
    heldout: tuple

    @property
    def n(self):
        return 1 + self.arms * self.length

    @property
    def PATH(self):
        return self.n

    @property
    def EDGE(self):
        return self.n + 1

    @property
    def PAD(self):
        return self.n + 2

    @property
    def RPATH(self):
        return self.n + 3

    @property
    def vocab(self):
        return self.n + 4

    @property
    def train_arms(self):
        return tuple(a for a in range(self.arms) if a not in self.heldout)

    def edges(self):
        """Undirected edges as (token, token) pairs, centre side first."""
        out = []
        for a in range(self.arms):
            prev = self.centre
            for t in self.arms_tokens[a]:
                out.append((int(prev), int(t)))
                prev = t
        return out

    def neighbours(self):
        """dict token -> set of neighbour tokens."""
        nb = {t: set() for t in range(self.n)}
        for u, v in self.edges():
            nb[u].add(v)
            nb[v].add(u)
        return nb


def _check_bool(name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"`{name}` must be True or False; got {value!r}")
    return bool(value)


def _check_graph_args(arms, length, n_heldout):
    arms = check_int("arms", arms, low=2, high=1024)
    length = check_int("length", length, low=1, high=256)
    n_heldout = check_int("n_heldout", n_heldout, low=1, high=arms - 1)
    return arms, length, n_heldout


def make_pathstar(arms=ARMS, length=LENGTH, n_heldout=N_HELDOUT, *, seed=0):
    """The randomly labelled path-star of (seed, arms, length, n_heldout) and its held-out arms."""
    arms, length, n_heldout = _check_graph_args(arms, length, n_heldout)
    seed = check_int("seed", seed, low=0)
    rng = np.random.default_rng([seed, arms, length, n_heldout])
    n = 1 + arms * length
    labels = rng.permutation(n)  # graph node i (0 = centre, 1 + a L + j = arm a, step j) -> token
    arms_tokens = labels[1:].reshape(arms, length).astype(np.int64)
    heldout = tuple(sorted(int(a) for a in rng.choice(arms, size=n_heldout, replace=False)))
    return PathStarGraph(arms=arms, length=length, centre=int(labels[0]), arms_tokens=arms_tokens, heldout=heldout)


def pathstar_sequences(g, reverse_paths=False):
    """Training batch of graph ``g``: ``(inputs, targets)``, int64 arrays (S, L + 3).

    Rows: first the 2 A L edge sequences [EDGE, u, v, PAD...] (target v at position 1),
    then one path sequence [PATH, leaf, centre, a_1..a_L] per training arm (targets: the next
    token at positions 1 .. L + 1), then, with ``reverse_paths``, one reverse path
    [RPATH, leaf, a_{L-1}, ..., a_1, centre, PAD] per arm, held-out arms included (targets:
    the next token after the leaf up to the centre).  Other targets are ``IGNORE`` (-100).
    """
    T = g.length + 3
    X, Y = [], []
    for u, v in g.edges():
        for a, b in ((u, v), (v, u)):
            x = [g.EDGE, a, b] + [g.PAD] * (T - 3)
            y = [IGNORE] * T
            y[1] = b
            X.append(x)
            Y.append(y)
    for a in g.train_arms:
        x = [g.PATH, int(g.arms_tokens[a, -1]), g.centre] + [int(t) for t in g.arms_tokens[a]]
        y = [IGNORE] + x[2:] + [IGNORE]
        X.append(x)
        Y.append(y)
    if reverse_paths:
        for a in range(g.arms):
            x = [g.RPATH] + [int(t) for t in g.arms_tokens[a][::-1]] + [g.centre, g.PAD]
            y = [IGNORE] + x[2:-1] + [IGNORE, IGNORE]
            X.append(x)
            Y.append(y)
    return np.array(X, dtype=np.int64), np.array(Y, dtype=np.int64)


def _queries(g, arms):
    """First-hop query prefixes [PATH, leaf, centre] (len(arms), 3) and the answers."""
    X = np.array([[g.PATH, int(g.arms_tokens[a, -1]), g.centre] for a in arms], dtype=np.int64).reshape(-1, 3)
    y = np.array([int(g.arms_tokens[a, 0]) for a in arms], dtype=np.int64)
    return X, y


# --------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------
def _build_model(torch, vocab, T, d, n_layers, n_heads, gen, frozen):
    nn = torch.nn
    F = torch.nn.functional

    def p(*shape, std):
        return nn.Parameter(torch.randn(*shape, generator=gen) * std)

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1 = nn.LayerNorm(d)
            self.ln2 = nn.LayerNorm(d)
            self.qkv = p(d, 3 * d, std=d ** -0.5)
            self.o = p(d, d, std=(d * 2 * n_layers) ** -0.5)
            self.w1 = p(d, 4 * d, std=d ** -0.5)
            self.b1 = nn.Parameter(torch.zeros(4 * d))
            self.w2 = p(4 * d, d, std=(4 * d * 2 * n_layers) ** -0.5)
            self.b2 = nn.Parameter(torch.zeros(d))

        def forward(self, x):
            B, T_, _ = x.shape
            q, k, v = (self.ln1(x) @ self.qkv).split(d, dim=-1)
            q, k, v = (t.view(B, T_, n_heads, d // n_heads).transpose(1, 2) for t in (q, k, v))
            a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + a.transpose(1, 2).reshape(B, T_, d) @ self.o
            return x + F.gelu(self.ln2(x) @ self.w1 + self.b1) @ self.w2 + self.b2

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.E = p(vocab, d, std=d ** -0.5)
            self.P = p(T, d, std=d ** -0.5)
            self.blocks = nn.ModuleList([Block() for _ in range(n_layers)])
            self.lnf = nn.LayerNorm(d)
            if frozen:
                self.E.requires_grad_(False)

        def forward(self, x):
            h = self.E[x] + self.P[: x.shape[1]]
            for b in self.blocks:
                h = b(h)
            return self.lnf(h) @ self.E.T

    return Model()


# --------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TrainPathStar(Result):
    """One run of :func:`train_pathstar`.

    ``checkpoint_steps`` and, per checkpoint (before that step's update), ``loss``,
    ``train_acc`` / ``heldout_acc`` (strict first-hop accuracy on training / held-out leaves),
    ``heldout_acc_restricted`` (argmax over the centre's neighbours only), ``edge_acc``;
    ``heldout_pred`` the final first-hop predictions (tokens) for the held-out arms;
    ``seconds`` the training wall time.
    """

    checkpoint_steps: list
    loss: list
    train_acc: list
    heldout_acc: list
    heldout_acc_restricted: list
    train_acc_restricted: list
    edge_acc: list
    heldout_pred: list
    seconds: float


def _train_iv(embeddings, steps, d_model, n_layers, n_heads, lr, weight_decay, n_checkpoints):
    if embeddings not in EMBEDDINGS:
        raise ValueError(f"`embeddings` must be one of {', '.join(EMBEDDINGS)}; got {embeddings!r}")
    steps = check_int("steps", steps, low=0, high=10**7)
    d_model = check_int("d_model", d_model, low=2, high=4096)
    n_layers = check_int("n_layers", n_layers, low=1, high=16)
    n_heads = check_int("n_heads", n_heads, low=1, high=d_model)
    if d_model % n_heads:
        raise ValueError(f"`n_heads` must divide d_model={d_model}; got {n_heads}")
    lr = check_real("lr", lr, low=0.0, low_open=True)
    weight_decay = check_real("weight_decay", weight_decay, low=0.0)
    n_checkpoints = check_int("n_checkpoints", n_checkpoints, low=1, high=10**5)
    return embeddings, steps, d_model, n_layers, n_heads, lr, weight_decay, n_checkpoints


def train_pathstar(*, arms=ARMS, length=LENGTH, n_heldout=N_HELDOUT, reverse_paths=False, embeddings="trainable",
                   steps=STEPS,
                   d_model=D_MODEL, n_layers=N_LAYERS, n_heads=N_HEADS, lr=LR, weight_decay=WEIGHT_DECAY, seed=0,
                   n_checkpoints=N_CHECKPOINTS, device="cpu"):
    """Train the transformer on the edge and training-path sequences of one path-star.

    Returns :class:`TrainPathStar` (see the module docstring for every choice).

    Examples
    --------
    >>> t = train_pathstar(arms=4, length=2, n_heldout=1, steps=300, d_model=32, n_layers=1, seed=0)
    >>> t.train_acc[-1]
    1.0
    """
    arms, length, n_heldout = _check_graph_args(arms, length, n_heldout)
    embeddings, steps, d_model, n_layers, n_heads, lr, weight_decay, n_checkpoints = _train_iv(
        embeddings, steps, d_model, n_layers, n_heads, lr, weight_decay, n_checkpoints)
    seed = check_int("seed", seed, low=0)
    reverse_paths = _check_bool("reverse_paths", reverse_paths)
    dev = resolve_device(device)
    torch = require_torch()
    F = torch.nn.functional
    g = make_pathstar(arms, length, n_heldout, seed=seed)
    X, Y = pathstar_sequences(g, reverse_paths)
    nb = g.neighbours()
    edge_u = X[: 2 * len(g.edges()), 1]
    edge_ok = np.zeros((len(edge_u), g.n), dtype=bool)
    for i, u in enumerate(edge_u):
        edge_ok[i, sorted(nb[int(u)])] = True
    qx_tr, qy_tr = _queries(g, g.train_arms)
    qx_ho, qy_ho = _queries(g, g.heldout)
    first_hops = g.arms_tokens[:, 0]
    ck = sorted({0, steps} | {round(steps * k / n_checkpoints) for k in range(n_checkpoints + 1)})
    rows = []
    t0 = time.perf_counter()
    with torch_threads(1):
        gen = seeded_generator((seed, arms, length, d_model, n_layers))
        model = _build_model(torch, g.vocab, length + 3, d_model, n_layers, n_heads, gen,
                             frozen=embeddings == "frozen").to(dev)
        decay = [p_ for n_, p_ in model.named_parameters() if p_.requires_grad and p_.ndim == 2 and n_ != "E"]
        other = [p_ for n_, p_ in model.named_parameters() if p_.requires_grad and not (p_.ndim == 2 and n_ != "E")]
        opt = torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                                 {"params": other, "weight_decay": 0.0}], lr=lr, betas=(0.9, 0.999))
        Xt, Yt = torch.as_tensor(X, device=dev), torch.as_tensor(Y, device=dev)
        q_tr, q_ho = torch.as_tensor(qx_tr, device=dev), torch.as_tensor(qx_ho, device=dev)
        ck_set = set(ck)
        pred_ho = []
        for step in range(steps + 1):
            logits = model(Xt)
            loss = F.cross_entropy(logits.reshape(-1, g.vocab), Yt.reshape(-1), ignore_index=IGNORE)
            if step in ck_set:
                with torch.no_grad():
                    node_logits = logits[: len(edge_u), 1, : g.n].cpu().numpy()
                    e_acc = float(np.mean(edge_ok[np.arange(len(edge_u)), node_logits.argmax(1)]))
                    accs = []
                    for q, y in ((q_tr, qy_tr), (q_ho, qy_ho)):
                        lg = model(q)[:, -1, : g.n].cpu().numpy()
                        strict = lg.argmax(1)
                        restricted = first_hops[lg[:, first_hops].argmax(1)]
                        accs += [float(np.mean(strict == y)), float(np.mean(restricted == y))]
                        pred_ho = strict.tolist()
                rows.append((step, float(loss.detach()), *accs, e_acc))
            if step == steps:
                break
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    seconds = time.perf_counter() - t0
    cols = list(zip(*rows))
    return TrainPathStar(checkpoint_steps=[int(s) for s in cols[0]], loss=list(cols[1]), train_acc=list(cols[2]),
                         train_acc_restricted=list(cols[3]), heldout_acc=list(cols[4]),
                         heldout_acc_restricted=list(cols[5]), edge_acc=list(cols[6]),
                         heldout_pred=[int(t) for t in pred_ho], seconds=seconds)


