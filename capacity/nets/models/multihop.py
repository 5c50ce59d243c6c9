r"""Multi-hop factual recall in the geometric-memory (N4) architecture family (docs/multihop.md).

After Ravfogel, Yehudai, Bruna, Bietti, "Geometric Factual Recall in Transformers",
arXiv:2605.12426, Section 4 (multi-hop recall with and without chain-of-thought).  Every modelling
choice below is ours and is stated here; docs/multihop.md compares it with the paper.

Task
    N entities {0..N-1}, R relations, relation r a uniformly random bijection pi_r of the entity set
    (the N4 fact table :func:`capacity.nets.models.facts.make_facts`, stream ``(seed, N, R, 0)``).
    A k-hop query is (s, w) with a relation word w = (r_1, ..., r_k); its chain is
    a_t = pi_{r_t}(a_{t-1}), a_0 = s, and its answer a_k.  :func:`all_queries` lists all N R^k
    queries (word-major, r_1 most significant); :func:`split_queries` holds out a fraction of them
    (stream ``(seed, N, R, k, 3)``).  Every one-hop part of every query is a one-hop fact, and all
    N R one-hop facts are trained on, so every held-out query is made of seen facts.
Answer modes
    ``"cot"``: the model emits a_1, ..., a_k, one hop per step, the predicted entity fed back
    through its embedding (argmax at test time, the true a_{t-1} during training: teacher forcing).
    Direct (no chain-of-thought), one answer, no intermediate tokens: ``"composite"`` (every word w
    is one of R^k composite relations, with its own relation embedding) and ``"stack"`` (a depth-k
    stack of hop blocks, block t reading the output of block t-1 and e(r_t)).
Model (:func:`build_model`; d = embedding width, h = hop-block MLP width)
    hop block t: y -> W2_t relu(W1_t [y; e(r)] + b1_t) in R^d, the N4 block; readout
    logits_a = <U_a, y> over the N entities with U (N x d) fixed, rows N(0, I/d), the draw of
    N4's :func:`~capacity.nets.models.geometric.build_model` for (seed, N, R, d).  Trainable:
    entity embeddings e(a) (N x d), relation embeddings (R x d; composite: R + R^k words, the R
    one-hop words first), the block(s).  ``cot`` and ``composite``: one block; ``stack``: k blocks
    (a query of length j runs blocks 1..j).  Initialisation as N4 (e, e(r) ~ N(0, I/d),
    W1 ~ N(0, 1/(2d)), b1 = 0, W2 ~ N(0, 1/h)), stream ``(seed, N, R, k, d, h, mode, 1)``.
Training (:func:`train_multihop`)
    full batch, Adam (lr :data:`LR`), float32, at most ``steps`` steps; loss = mean cross-entropy
    over the N R one-hop facts + mean cross-entropy over the training k-hop queries (k >= 2; ``cot``:
    mean over the k teacher-forced steps).  Accuracies are checked every :data:`CHECK_EVERY` steps;
    training stops once the one-hop and training k-hop accuracies both reach ``stop_at`` (default 1).
    Reported: one-hop accuracy, training and held-out k-hop accuracy (``cot``: generated
    autoregressively; also the fraction with every intermediate entity right).
Constructions (:func:`build_construction`, exact oracles in NumPy, float64)
    codes: U (N x S kc) with S code slots of kc coordinates, rows N(0, I/d) (stream
    ``(seed, N, S, kc, 11)``); c_b(a) = U_a[slot b].  Gate block of N4 (width d + S): with the
    relation embedding the basis vector e_b, it outputs the slot-b part of its input and zeroes the
    rest.  ``cot``: S = R, e(a) = [c_1(pi_1(a)); ...; c_R(pi_R(a))]; each step gates slot r_t and
    decodes a_t = argmax_b <c_{r_t}(b), out>; the same weights at every step: d = R kc, width d + R,
    independent of k.  ``composite``: S = R^k slots, one per word w, e(s) = [c_w(pi_w(s))]_w:
    d = R^k kc, width d + R^k.  ``stack``: S = R, the cot embedding; hops 1..k-1 are
    re-embedding blocks (one hidden layer of width R N, unit (r, b) fires iff the relation is r and slot r holds
    c_r(b), writing e(b)), so the block maps e(a) to e(pi_r(a)); the last hop is the gate block:
    d = R kc, depth k (one hidden layer per hop), (k - 1)(3 d + 1) R N parameters in the re-embedding
    blocks.
    All three are exact iff every codebook satisfies ||c_b(a)||^2 > <c_b(a), c_b(a')> for all a' != a;
    :func:`construction_accuracy` checks exactness by brute force over all N R^k queries and
    :func:`construction_code_min` scans kc = 1, 2, ... for the smallest exact one.
Information bound (:func:`fact_bits`, :func:`min_params`)
    the R bijections are log2 (N!)^R bits; a model with P parameters of b bits each that answers
    all one-hop queries needs b P >= R log2 N! (every model here does: all are trained on the
    one-hop facts, the direct ones answer them as length-1 queries).  Composition adds no
    information (every k-hop answer is a function of the one-hop facts): the bound does not grow
    with k.  docs/multihop.md, (M5), states it with its derivation.

Determinism: on CPU with one torch thread the same task gives bit-identical results; the
constructions are NumPy and deterministic everywhere.
"""
import contextlib
import functools
import math
import time
from dataclasses import dataclass, fields

import numpy as np

from ..._validation import check_int, check_real
from ...results import Result, plain
from .facts import make_facts

__all__ = [
    "MODES", "DIRECT_MODES", "HOPS_MAX", "STORED_ACCURACY", "CHECK_EVERY", "LR", "STEPS", "WIDTH", "HELD_OUT",
    "CODE_MAX", "make_facts", "all_queries", "hop_chain", "split_queries", "composite_facts", "fact_bits",
    "min_params", "Construction", "build_construction", "construction_accuracy", "construction_code_min",
    "build_model", "TrainMultiHop", "train_multihop", "hop_probes",
]

#: answer modes: chain-of-thought, and the two direct (no chain-of-thought) architectures
MODES = ("cot", "composite", "stack")
DIRECT_MODES = ("composite", "stack")
#: largest number of hops the functions accept
HOPS_MAX = 6
STORED_ACCURACY = 0.99
CHECK_EVERY = 25
LR = 1e-2
STEPS = 1500
WIDTH = 64
#: fraction of the k-hop queries held out (k >= 2)
HELD_OUT = 0.2
#: largest code length kc that :func:`construction_code_min` tries
CODE_MAX = 256
_MODE_ID = {m: i for i, m in enumerate(MODES)}


# --------------------------------------------------------------------------------------
# Input validation
# --------------------------------------------------------------------------------------
def _mode_iv(mode):
    if not isinstance(mode, str):
        raise TypeError(f"`mode` must be a string, one of {', '.join(map(repr, MODES))}; got {type(mode).__name__}")
    if mode not in MODES:
        raise ValueError(f"`mode` must be one of {', '.join(map(repr, MODES))}; got {mode!r}")
    return mode


def _hops_iv(k, name="hops"):
    return check_int(name, k, low=1, high=HOPS_MAX)


def _facts_iv(facts):
    if isinstance(facts, (str, bytes)) or not hasattr(facts, "__len__"):
        raise TypeError(f"`facts` must be an (n_relations, n_entities) integer array; got {type(facts).__name__}")
    f = np.asarray(facts)
    if f.ndim != 2 or f.shape[1] < 2 or f.shape[0] < 1 or not np.issubdtype(f.dtype, np.integer):
        raise ValueError(f"`facts` must be an (n_relations, n_entities) integer array with n_entities >= 2; "
                         f"got dtype {f.dtype}, shape {f.shape}")
    n = f.shape[1]
    if not all(np.array_equal(np.sort(row), np.arange(n)) for row in f):
        raise ValueError(f"`facts` rows must be bijections (permutations) of 0..{n - 1}; got a row that is not")
    return f.astype(np.int64)


def _size_iv(n_entities, n_relations, k, limit=2_000_000):
    n = check_int("n_entities", n_entities, low=2, high=10**5)
    r = check_int("n_relations", n_relations, low=1, high=64)
    k = _hops_iv(k)
    if n * r ** k > limit:
        raise ValueError(f"`n_entities` * `n_relations` ** `hops` must be <= {limit} (the number of queries); "
                         f"got {n} * {r} ** {k} = {n * r ** k}")
    return n, r, k


# --------------------------------------------------------------------------------------
# Task
# --------------------------------------------------------------------------------------
def all_queries(n_entities, n_relations, hops):
    """All N R^k k-hop queries: ``(subjects, words)``, (M,) and (M, k), word-major, r_1 most significant.

    Examples
    --------
    >>> s, w = all_queries(3, 2, 2)
    >>> s.shape, w.shape, w[:4].tolist()
    ((12,), (12, 2), [[0, 0], [0, 0], [0, 0], [0, 1]])
    """
    n, r, k = _size_iv(n_entities, n_relations, hops)
    word_ids = np.repeat(np.arange(r ** k), n)
    subjects = np.tile(np.arange(n), r ** k)
    words = np.stack([(word_ids // r ** (k - 1 - t)) % r for t in range(k)], axis=1)
    return subjects.astype(np.int64), words.astype(np.int64)


def hop_chain(facts, subjects, words):
    """The chain a_1 ... a_k of every query: an (M, k) array, a_t = pi_{r_t}(a_{t-1}), a_0 = s.

    Examples
    --------
    >>> import numpy as np
    >>> f = np.array([[1, 2, 0], [0, 2, 1]])
    >>> hop_chain(f, np.array([0]), np.array([[0, 1]])).tolist()
    [[1, 2]]
    """
    f = _facts_iv(facts)
    r, n = f.shape
    s = np.asarray(subjects)
    w = np.asarray(words)
    if s.ndim != 1 or w.ndim != 2 or len(w) != len(s) or w.shape[1] < 1:
        raise ValueError(f"`subjects` must be (M,) and `words` (M, k) with k >= 1; got {s.shape} and {w.shape}")
    if len(s) and (s.min() < 0 or s.max() >= n or w.min() < 0 or w.max() >= r):
        raise ValueError(f"`subjects` must lie in 0..{n - 1} and `words` in 0..{r - 1}")
    out = np.empty(w.shape, dtype=np.int64)
    a = s.astype(np.int64)
    for t in range(w.shape[1]):
        a = f[w[:, t], a]
        out[:, t] = a
    return out


def split_queries(n_entities, n_relations, hops, *, held_out=HELD_OUT, seed=0):
    """Indices (into :func:`all_queries`) of the training and held-out k-hop queries.

    A fraction ``held_out`` of the N R^k queries (rounded down, at least one when k >= 2) is
    held out, drawn from the stream ``(seed, N, R, k, 3)``; for k = 1 nothing is held out (all
    one-hop facts are trained on).

    Examples
    --------
    >>> tr, te = split_queries(4, 2, 2, held_out=0.25, seed=0)
    >>> len(tr), len(te), len(set(tr) & set(te))
    (12, 4, 0)
    """
    n, r, k = _size_iv(n_entities, n_relations, hops)
    held_out = check_real("held_out", held_out, low=0.0, low_open=True, high=1.0, high_open=True)
    seed = check_int("seed", seed, low=0)
    m = n * r ** k
    if k == 1:
        return np.arange(m), np.arange(0)
    perm = np.random.default_rng([seed, n, r, k, 3]).permutation(m)
    n_test = max(1, int(held_out * m))
    return np.sort(perm[n_test:]), np.sort(perm[:n_test])


def composite_facts(facts, hops):
    """The (R^k, N) table of the composite bijections pi_w = pi_{r_k} o ... o pi_{r_1}, word-major (as all_queries).

    Examples
    --------
    >>> import numpy as np
    >>> composite_facts(np.array([[1, 2, 0]]), 2).tolist()
    [[2, 0, 1]]
    """
    f = _facts_iv(facts)
    r, n = f.shape
    k = _hops_iv(hops)
    _size_iv(n, r, k)
    s, w = all_queries(n, r, k)
    return hop_chain(f, s, w)[:, -1].reshape(r ** k, n)


def fact_bits(n_entities, n_relations):
    """log2 (N!)^R: the bits that specify R bijections of N entities.

    Examples
    --------
    >>> round(fact_bits(4, 2), 6)  # 2 log2 24
    9.169925
    """
    n = check_int("n_entities", n_entities, low=2, high=10**9)
    r = check_int("n_relations", n_relations, low=1, high=10**6)
    return r * math.lgamma(n + 1) / math.log(2)


def min_params(n_entities, n_relations, *, bits_per_param=32):
    """The information lower bound on the parameter count: ceil(R log2 N! / b) for b bits per parameter.

    Holds for every model (any depth, with or without chain-of-thought) that answers all one-hop
    queries: distinct fact tables need distinct parameter values, and there are (N!)^R tables.
    It does not depend on k (docs/multihop.md, (M5)).

    Examples
    --------
    >>> min_params(4, 2, bits_per_param=1)
    10
    """
    b = check_real("bits_per_param", bits_per_param, low=0.0, low_open=True, high=1024.0)
    return int(math.ceil(fact_bits(n_entities, n_relations) / b - 1e-9))


# --------------------------------------------------------------------------------------
# Constructions (NumPy, float64)
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Construction(Result):
    """A hand-built exact multi-hop model (:func:`build_construction`).

    ``d`` embedding width, ``widths`` the hidden-layer widths of the hop blocks (gate; stack:
    gate and re-embedding), ``depth`` the number of hidden layers a k-hop answer passes through
    (cot: one per generated token), ``n_params`` the dense parameter count (embeddings, relation
    embeddings, every block; U not counted: fixed), ``weights`` the arrays.
    """

    mode: str
    hops: int
    code_length: int
    n_entities: int
    n_relations: int
    d: int
    widths: tuple
    depth: int
    n_params: int
    weights: dict

    def to_dict(self):
        """Every field but ``weights``."""
        return {f.name: plain(getattr(self, f.name)) for f in fields(self) if f.name != "weights"}

    def predict(self, subjects, words):
        """Predicted entities: (M, k) chain for ``cot``, (M,) final answer for the direct modes."""
        s, w = np.asarray(subjects, dtype=np.int64), np.asarray(words, dtype=np.int64)
        if s.ndim != 1 or w.shape != (len(s), self.hops):
            raise ValueError(f"`subjects` must be (M,) and `words` (M, {self.hops}); got {s.shape} and {w.shape}")
        W = self.weights
        E, U = W["emb"], W["unembed"]
        if self.mode == "composite":
            r = self.n_relations
            word_id = np.zeros(len(s), dtype=np.int64)
            for t in range(self.hops):
                word_id = word_id * r + w[:, t]
            out = _mlp(np.concatenate((E[s], W["rel"][word_id]), axis=1), W["gate"])
            return np.argmax(out @ U.T, axis=1)
        if self.mode == "cot":
            a, chain = s, np.empty(w.shape, dtype=np.int64)
            for t in range(self.hops):
                out = _mlp(np.concatenate((E[a], W["rel"][w[:, t]]), axis=1), W["gate"])
                a = np.argmax(out @ U.T, axis=1)
                chain[:, t] = a
            return chain
        y = E[s]
        for t in range(self.hops - 1):
            y = _mlp(np.concatenate((y, W["rel"][w[:, t]]), axis=1), W["reembed"])
        out = _mlp(np.concatenate((y, W["rel"][w[:, -1]]), axis=1), W["gate"])
        return np.argmax(out @ U.T, axis=1)


def _mlp(x, layer):
    w1, b1, w2 = layer
    return np.maximum(x @ w1.T + b1, 0.0) @ w2.T


def _gate_layer(d, n_slots, kc, gate):
    """N4's gate block (width d + S): input [x; e_b] -> the slot-b part of x (other slots zeroed)."""
    h = d + n_slots
    w1 = np.zeros((h, 2 * d))
    w1[:d, :d] = np.eye(d)
    w2 = np.zeros((d, h))
    w2[:, :d] = np.eye(d)
    for b in range(n_slots):
        in_slot = np.zeros(d)
        in_slot[b * kc:(b + 1) * kc] = 1.0
        w1[:d, d + b] = gate * (2.0 * in_slot - 1.0)
        w1[d:, d + b] = -gate
        w1[d + b, d + b] = gate
        w2[:, d + b] = -in_slot
    return w1, np.zeros(h), w2


def _reembed_layer(U, E, n_relations, kc, gate):
    """Hop block of width R N: on input [e(a); e_r], unit (r', b) reads slot r' of e(a) and fires iff r' = r and
    the slot holds c_r(b) (relation gate -M otherwise); its output weight e(b) / margin writes e(pi_r(a)) exactly."""
    n, d = E.shape
    h = n_relations * n
    w1 = np.zeros((h, 2 * d))
    b1 = np.zeros(h)
    w2 = np.zeros((d, h))
    for r in range(n_relations):
        C = U[:, r * kc:(r + 1) * kc]
        G = C @ C.T
        diag = np.diag(G).copy()
        off = G.copy()
        np.fill_diagonal(off, -np.inf)
        tau = 0.5 * (diag + off.max(axis=1))
        rows = slice(r * n, (r + 1) * n)
        w1[rows, r * kc:(r + 1) * kc] = C
        w1[rows, d:d + n_relations] = -gate  # relation gate: -M unless the relation is r
        w1[rows, d + r] = 0.0
        b1[rows] = -tau
        margin = diag - tau
        # a non-positive margin (codebook not exact) leaves the unit dead: the construction then fails honestly
        w2[:, rows] = (E / np.where(margin > 0, margin, np.inf)[:, None]).T
    return w1, b1, w2


def _codes(n, n_slots, kc, seed):
    d = n_slots * kc
    return np.random.default_rng([seed, n, n_slots, kc, 11]).normal(size=(n, d)) / math.sqrt(d)


def _n_params(shapes):
    return int(sum(int(np.prod(s)) for s in shapes))


def build_construction(facts, hops, code_length, *, mode="cot", seed=0):
    """The hand-built multi-hop model for ``facts`` (R, N) at k = ``hops`` and code length kc.

    See the module docstring: ``cot`` d = R kc (width d + R, any k); ``composite`` d = R^k kc
    (width d + R^k); ``stack`` d = R kc with k - 1 re-embedding blocks (width R N) and a final
    gate block (width d + R).

    Examples
    --------
    >>> f = make_facts(16, 2, seed=0)
    >>> c = build_construction(f, 2, 12, mode="composite")
    >>> c.d, c.widths
    (48, (52,))
    """
    f = _facts_iv(facts)
    r, n = f.shape
    k = _hops_iv(hops)
    mode = _mode_iv(mode)
    kc = check_int("code_length", code_length, low=1, high=10**4)
    seed = check_int("seed", seed, low=0)
    _size_iv(n, r, k)
    table = composite_facts(f, k) if mode == "composite" else f
    n_slots = len(table)
    U = _codes(n, n_slots, kc, seed)
    d = n_slots * kc
    E = np.zeros((n, d))
    for b in range(n_slots):
        E[:, b * kc:(b + 1) * kc] = U[table[b], b * kc:(b + 1) * kc]
    gate_value = 2.0 * float(np.abs(U).max()) + 1.0
    rel = np.zeros((n_slots, d))
    rel[np.arange(n_slots), np.arange(n_slots)] = 1.0
    gate = _gate_layer(d, n_slots, kc, gate_value)
    weights = {"emb": E, "rel": rel, "gate": gate, "unembed": U}
    shapes = [E.shape, rel.shape] + [a.shape for a in gate]
    widths, depth = (d + n_slots,), (1 if mode == "composite" else k)
    if mode == "stack":
        weights["reembed"] = _reembed_layer(U, E, r, kc, gate_value)
        widths = (d + r, r * n) if k > 1 else (d + r,)
        # the re-embedding block is one array here (the same facts at every hop); a stack without weight sharing
        # holds one per hop: count k - 1 copies
        shapes += [a.shape for a in weights["reembed"]] * (k - 1)
    return Construction(mode=mode, hops=k, code_length=kc, n_entities=n, n_relations=r, d=d, widths=widths,
                        depth=depth, n_params=_n_params(shapes), weights=weights)


def construction_accuracy(facts, hops, code_length, *, mode="cot", seed=0):
    """Fraction of all N R^k queries the construction answers right (brute force; cot: final answer)."""
    c = build_construction(facts, hops, code_length, mode=mode, seed=seed)
    f = _facts_iv(facts)
    s, w = all_queries(f.shape[1], f.shape[0], c.hops)
    pred = c.predict(s, w)
    answer = hop_chain(f, s, w)
    ok = np.all(pred == answer, axis=1) if c.mode == "cot" else pred == answer[:, -1]
    return float(np.mean(ok))


def construction_code_min(facts, hops, *, mode="cot", seed=0, code_max=CODE_MAX):
    """Smallest code length kc (scanning 1, 2, ...) whose construction answers all N R^k queries, or None."""
    code_max = check_int("code_max", code_max, low=1, high=10**4)
    for kc in range(1, code_max + 1):
        if construction_accuracy(facts, hops, kc, mode=mode, seed=seed) == 1.0:
            return kc
    return None


# --------------------------------------------------------------------------------------
# Trained model (torch)
# --------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def _module_class():
    from .._torch import require_torch

    torch = require_torch()
    nn = torch.nn

    class MultiHopMLP(nn.Module):
        """Entity/relation embeddings, hop block(s) y -> W2 relu(W1 [y; e(r)] + b1), fixed readout U."""

        def __init__(self, n, r, k, d, width, mode, gen_params, gen_unembed, device, dtype):
            super().__init__()
            self.n, self.r, self.k, self.d, self.width, self.mode = n, r, k, d, width, mode

            def normal(gen, *shape, std):
                return (torch.randn(*shape, generator=gen, dtype=torch.float64) * std).to(device=device, dtype=dtype)

            s = 1.0 / math.sqrt(d)
            n_words = r + r ** k if (mode == "composite" and k > 1) else r
            n_blocks = k if mode == "stack" else 1
            self.emb = nn.Parameter(normal(gen_params, n, d, std=s))
            self.rel = nn.Parameter(normal(gen_params, n_words, d, std=s))
            self.w1 = nn.ParameterList([nn.Parameter(normal(gen_params, width, 2 * d, std=1.0 / math.sqrt(2 * d)))
                                        for _ in range(n_blocks)])
            self.b1 = nn.ParameterList([nn.Parameter(torch.zeros(width, device=device, dtype=dtype))
                                        for _ in range(n_blocks)])
            self.w2 = nn.ParameterList([nn.Parameter(normal(gen_params, d, width, std=1.0 / math.sqrt(width)))
                                        for _ in range(n_blocks)])
            self.register_buffer("unembed", normal(gen_unembed, n, d, std=s))

        def hidden(self, t, y, word):
            return torch.relu(torch.cat((y, self.rel[word]), dim=-1) @ self.w1[t].T + self.b1[t])

        def block(self, t, y, word):
            return self.hidden(t, y, word) @ self.w2[t].T

        def word_ids(self, words):
            """Composite: the row of the relation embedding of each word (one-hop words first)."""
            if words.shape[1] == 1:
                return words[:, 0]
            ids = torch.zeros_like(words[:, 0])
            for t in range(words.shape[1]):
                ids = ids * self.r + words[:, t]
            return self.r + ids

        def direct(self, subjects, words):
            """Logits of the final answer (composite, stack)."""
            if self.mode == "composite":
                return self.block(0, self.emb[subjects], self.word_ids(words)) @ self.unembed.T
            y = self.emb[subjects]
            for t in range(words.shape[1]):
                y = self.block(t, y, words[:, t])
            return y @ self.unembed.T

        def representations(self, subjects, words):
            """Stack: the input of every block and its active units, per hop."""
            y, ys, acts = self.emb[subjects], [], []
            for t in range(words.shape[1]):
                ys.append(y)
                h = self.hidden(t, y, words[:, t])
                acts.append(h > 0)
                y = h @ self.w2[t].T
            return ys, acts

        def teacher_forced(self, subjects, words, chain):
            """CoT: (M, k, N) logits of every step with the true previous entity fed in."""
            prev = torch.cat((subjects[:, None], chain[:, :-1]), dim=1)
            return torch.stack([self.block(0, self.emb[prev[:, t]], words[:, t]) @ self.unembed.T
                                for t in range(words.shape[1])], dim=1)

        def generate(self, subjects, words):
            """CoT: the (M, k) generated chain (argmax fed back)."""
            a, out = subjects, []
            for t in range(words.shape[1]):
                a = (self.block(0, self.emb[a], words[:, t]) @ self.unembed.T).argmax(-1)
                out.append(a)
            return torch.stack(out, dim=1)

    return MultiHopMLP


def _model_iv(n_entities, n_relations, hops, d, width, mode):
    n, r, k = _size_iv(n_entities, n_relations, hops)
    d = check_int("d", d, low=1, high=10**5)
    width = WIDTH if width is None else check_int("width", width, low=1, high=10**6)
    mode = _mode_iv(mode)
    return n, r, k, d, width, mode


def build_model(n_entities, n_relations, hops, d, *, mode="cot", width=None, seed=0, device="cpu",
                dtype="float32"):
    """The trainable multi-hop model (a ``torch.nn.Module``) of the module docstring.

    ``mode``: ``"cot"`` (one block, applied once per generated hop), ``"composite"`` (one block,
    R + R^k relation words) or ``"stack"`` (k blocks).
    """
    from .._torch import require_torch, resolve_device, seeded_generator

    n, r, k, d, width, mode = _model_iv(n_entities, n_relations, hops, d, width, mode)
    seed = check_int("seed", seed, low=0)
    if dtype not in ("float32", "float64"):
        raise ValueError(f"`dtype` must be 'float32' or 'float64'; got {dtype!r}")
    torch = require_torch()
    dev = resolve_device(device)
    g_par = seeded_generator((seed, n, r, k, d, width, _MODE_ID[mode], 1))
    g_un = seeded_generator((seed, n, r, d, 2))
    return _module_class()(n, r, k, d, width, mode, g_par, g_un, dev, getattr(torch, dtype))


@dataclass(frozen=True)
class TrainMultiHop(Result):
    """One run of :func:`train_multihop`.

    ``fact_accuracy``: the N R one-hop facts; ``train_accuracy`` / ``heldout_accuracy``: the
    training / held-out k-hop queries (final answer; None when k = 1); ``heldout_chain_accuracy``
    (cot only): every intermediate entity right as well; ``stored``: fact and training accuracy
    >= 0.99 and (k >= 2) held-out accuracy >= 0.99.
    """

    model: object
    facts: np.ndarray
    mode: str
    n_entities: int
    n_relations: int
    hops: int
    d: int
    width: int
    seed: int
    steps: int
    steps_run: int
    lr: float
    n_params: int
    fact_accuracy: float
    train_accuracy: object
    heldout_accuracy: object
    heldout_chain_accuracy: object
    n_train: int
    n_heldout: int
    stored: bool
    final_loss: float
    check_steps: list
    check_fact_accuracy: list
    check_train_accuracy: list
    seconds: float

    def to_dict(self):
        """Every field but ``model`` and ``facts``."""
        return {f.name: plain(getattr(self, f.name)) for f in fields(self) if f.name not in ("model", "facts")}


def _evaluate(model, mode, subj, words, chain):
    """(final-answer accuracy, all-steps accuracy) of queries (no grad)."""
    from .._torch import require_torch

    torch = require_torch()
    with torch.no_grad():
        if mode == "cot":
            gen = model.generate(subj, words)
            final = float((gen[:, -1] == chain[:, -1]).double().mean())
            full = float((gen == chain).all(dim=1).double().mean())
            return final, full
        pred = model.direct(subj, words).argmax(-1)
        acc = float((pred == chain[:, -1]).double().mean())
        return acc, acc


def train_multihop(n_entities, n_relations, hops, d, *, mode="cot", width=None, steps=STEPS, lr=LR, seed=0,
                   held_out=HELD_OUT, check_every=CHECK_EVERY, stop_at=1.0, device="cpu"):
    """Train the multi-hop model on all one-hop facts and the training k-hop queries; return :class:`TrainMultiHop`.

    Parameters
    ----------
    n_entities, n_relations, hops, d : int
        N, R, k (1 ... :data:`HOPS_MAX`) and the embedding width d.
    mode : {"cot", "composite", "stack"}
        Chain-of-thought, or one of the two direct architectures (module docstring).
    width : int, optional
        Hop-block MLP width h (default :data:`WIDTH` = 64).
    steps, lr, seed, held_out, check_every : int, float, int, float, int
        Step budget, Adam learning rate, seed (facts, split, initialisation, U), held-out fraction
        of the k-hop queries, check interval.
    stop_at : float or None
        Stop once the one-hop and training k-hop accuracies both reach it (default 1.0); None
        trains all ``steps``.
    device : {"cpu", "cuda", "auto"}

    Examples
    --------
    (needs torch; skipped in the doctest run, which must pass without it)

    >>> t = train_multihop(8, 2, 2, 16, mode="cot", steps=300, seed=0)  # doctest: +SKIP
    >>> t.fact_accuracy, t.n_train + t.n_heldout  # doctest: +SKIP
    (1.0, 32)
    """
    from .._torch import fused_adam, require_torch, resolve_device, torch_threads

    n, r, k, d, width, mode = _model_iv(n_entities, n_relations, hops, d, width, mode)
    steps = check_int("steps", steps, low=0, high=10**7)
    lr = check_real("lr", lr, low=0.0, low_open=True, high=10.0)
    seed = check_int("seed", seed, low=0)
    check_every = check_int("check_every", check_every, low=1, high=10**7)
    stop_at = None if stop_at is None else check_real("stop_at", stop_at, low=0.0, high=1.0)
    facts = make_facts(n, r, seed=seed)
    train_idx, test_idx = split_queries(n, r, k, held_out=held_out, seed=seed)
    s_all, w_all = all_queries(n, r, k)
    c_all = hop_chain(facts, s_all, w_all)
    torch = require_torch()
    dev = resolve_device(device)
    start = time.perf_counter()

    def T(a):
        return torch.as_tensor(np.ascontiguousarray(a), device=dev)

    with torch_threads(1) if dev.type == "cpu" else contextlib.nullcontext():
        s1, w1 = all_queries(n, r, 1)
        f_s, f_w, f_c = T(s1), T(w1), T(hop_chain(facts, s1, w1))
        multi = k >= 2
        tr = (T(s_all[train_idx]), T(w_all[train_idx]), T(c_all[train_idx])) if multi else None
        te = (T(s_all[test_idx]), T(w_all[test_idx]), T(c_all[test_idx])) if multi else None
        model = build_model(n, r, k, d, mode=mode, width=width, seed=seed, device=device)
        n_params = sum(p.numel() for p in model.parameters())
        opt = fused_adam(model.parameters(), lr)
        ce = torch.nn.functional.cross_entropy

        def loss_fn():
            if mode == "cot":
                lf = ce(model.teacher_forced(f_s, f_w, f_c)[:, 0], f_c[:, 0])
            else:
                lf = ce(model.direct(f_s, f_w), f_c[:, -1])
            if not multi:
                return lf
            if mode == "cot":
                logits = model.teacher_forced(*tr)
                lk = ce(logits.reshape(-1, n), tr[2].reshape(-1))
            else:
                lk = ce(model.direct(tr[0], tr[1]), tr[2][:, -1])
            return lf + lk

        ck_steps, ck_fact, ck_train = [], [], []
        steps_run = 0
        for step in range(steps + 1):
            if step % check_every == 0 or step == steps:
                fa = _evaluate(model, mode, f_s, f_w, f_c)[0]
                ta = _evaluate(model, mode, *tr)[0] if multi else fa
                ck_steps.append(step)
                ck_fact.append(fa)
                ck_train.append(ta)
                if stop_at is not None and fa >= stop_at and ta >= stop_at:
                    break
            if step == steps:
                break
            loss = loss_fn()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            steps_run += 1
        with torch.no_grad():
            final_loss = float(loss_fn())
        fact_acc = _evaluate(model, mode, f_s, f_w, f_c)[0]
        if multi:
            train_acc = _evaluate(model, mode, *tr)[0]
            held, held_chain = _evaluate(model, mode, *te)
        else:
            train_acc, held, held_chain = None, None, None
    stored = fact_acc >= STORED_ACCURACY and (not multi or (train_acc >= STORED_ACCURACY
                                                             and held >= STORED_ACCURACY))
    return TrainMultiHop(model=model, facts=facts, mode=mode, n_entities=n, n_relations=r, hops=k, d=d,
                         width=width, seed=seed, steps=steps, steps_run=steps_run, lr=lr, n_params=int(n_params),
                         fact_accuracy=fact_acc, train_accuracy=train_acc, heldout_accuracy=held,
                         heldout_chain_accuracy=held_chain if mode == "cot" else None,
                         n_train=int(len(train_idx)), n_heldout=int(len(test_idx)), stored=bool(stored),
                         final_loss=final_loss, check_steps=ck_steps, check_fact_accuracy=ck_fact,
                         check_train_accuracy=ck_train, seconds=time.perf_counter() - start)


# --------------------------------------------------------------------------------------
# Probes per hop
# --------------------------------------------------------------------------------------
def hop_probes(run, *, max_queries=400, n_folds=5):
    """The single-hop probes (superposition R², relation gating) at every hop of a trained model.

    Superposition (:func:`capacity.nets.models.probes.heldout_r2`): the input of hop t (``cot``:
    the embedding e(a_{t-1}) of the fed-back entity, the same table at every hop, so one value;
    ``stack``: the vector block t reads, averaged over the sampled queries whose chain is at entity
    a_{t-1} there) regressed on the attribute features x(a_{t-1}) = [U_{pi_1(a_{t-1})}; ...] of that
    entity, cross-validated over entities.  ``composite``: e(s) on x(s) at
    hop 1 only (no later hop exists inside the model).  Gating
    (:func:`~capacity.nets.models.probes.gating_overlap`): Jaccard overlap of the active units of
    the block at hop t, same vs different relation r_t (over at most ``max_queries`` queries).

    Returns a dict with lists over hops t = 1..k: ``r2`` and ``gating_within`` /
    ``gating_between`` (None where not meaningful).
    """
    if not isinstance(run, TrainMultiHop):
        raise TypeError(f"`run` must be a TrainMultiHop (from train_multihop); got {type(run).__name__}")
    max_queries = check_int("max_queries", max_queries, low=4, high=10**5)
    n_folds = check_int("n_folds", n_folds, low=2, high=20)
    from .._torch import require_torch, torch_threads
    from .probes import attribute_features, gating_overlap, heldout_r2

    torch = require_torch()
    model, facts, k, n, r = run.model, run.facts, run.hops, run.n_entities, run.n_relations
    U = model.unembed.detach().cpu().double().numpy()
    X = attribute_features(U, facts)
    s, w = all_queries(n, r, k)
    chain = hop_chain(facts, s, w)
    pick = np.random.default_rng([run.seed, n, r, k, 17]).permutation(len(s))[:max_queries]
    s, w, chain = s[pick], w[pick], chain[pick]
    prev = np.concatenate((s[:, None], chain[:, :-1]), axis=1)
    dev = model.emb.device
    r2, within, between = [], [], []
    with torch.no_grad(), torch_threads(1):
        E = model.emb.detach().cpu().double().numpy()
        if run.mode == "stack":
            ys, acts = model.representations(torch.as_tensor(s, device=dev), torch.as_tensor(w, device=dev))
        for t in range(k):
            if run.mode == "composite" and t > 0:
                r2.append(None)
                within.append(None)
                between.append(None)
                continue
            if run.mode == "stack":
                # the representation block t reads, averaged over the queries whose chain is at entity a there
                # (so that a held-out fold holds out entities, not queries of a seen entity); entities never
                # reached in the sample are left out
                Y = ys[t].cpu().double().numpy()
                A = acts[t].cpu().numpy()
                ents = np.unique(prev[:, t])
                Ym = np.stack([Y[prev[:, t] == a].mean(0) for a in ents])
                r2.append(heldout_r2(Ym, X[ents], n_folds=min(n_folds, len(ents) // 2), seed=run.seed)
                          if len(ents) >= 4 else None)
            else:
                if t == 0:
                    r2.append(heldout_r2(E, X, n_folds=min(n_folds, n // 2), seed=run.seed))
                else:
                    r2.append(r2[0])
                word = torch.as_tensor(w[:, t], device=dev)
                if run.mode == "composite":
                    word = model.word_ids(torch.as_tensor(w, device=dev))
                A = model.hidden(0, model.emb[torch.as_tensor(prev[:, t], device=dev)], word).cpu().numpy() > 0
            labels = word.cpu().numpy() if run.mode == "composite" else w[:, t]
            g = gating_overlap(A, prev[:, t], labels)
            within.append(g["within"])
            between.append(g["between"])
    return {"r2": r2, "gating_within": within, "gating_between": between}
