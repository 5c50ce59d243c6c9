"""N3 model: marked-token retrieval with frozen random embeddings and one attention layer (docs/nets.md, N3).

Setting (after Vural, Bietti, Soltanolkotabi, Wu, arXiv:2603.15923, of
which only the abstract was available; the concrete choices below are ours):

- vocabulary of ``V`` tokens with fixed random embeddings ``e_v ~ N(0, I/d)`` in R^d, d < V;
- a sequence is ``L`` tokens drawn uniformly with replacement; one position, uniform, is
  *marked* by adding a fixed random trigger vector ``t ~ N(0, I/d)`` to its embedding, so
  ``x_l = e_{tok_l} + [l = marked] t`` (no positional encoding: the trigger alone says where);
- label ``y = pi(marked token)`` for a fixed uniformly random permutation ``pi`` of the vocabulary;
- model: one single-head attention layer whose query is a learned vector ``w`` (a readout /
  [CLS]-like query; a learned query times a key matrix is the same vector ``w = W_K^T q``):
  ``a = softmax_l(w . x_l)``, ``h = W_V sum_l a_l x_l`` with a trainable ``W_V`` (d x d); optional
  residual ReLU MLP of width m, ``h <- h + W_2 relu(W_1 h)`` (``W_1``: m x d, ``W_2``: d x m, both
  trained); logits ``U h`` through a **fixed** random unembedding ``U`` (rows ``N(0, I/d)``, not
  trained, so that the value path is a d x d linear memory exactly as in N1).
  ``m = 0`` is the *attention-only value path*: the output is ``U W_V (sum_l a_l x_l)``;
- training: full-batch Adam (lr 0.03, default betas; one value for every run, picked from a
  handful of trial runs at 0.01 / 0.03 / 0.1 because 0.01 converged slowly near capacity) on the
  cross-entropy over all V classes, a fixed number of steps, ``w`` initialised at 0 (uniform attention),
  ``W_V ~ N(0, 1/d)``, ``W_1 ~ N(0, 2/d)``, ``W_2 = 0``; float32;
- metrics: train and test accuracy (test: fresh sequences from the same distribution), and the
  *map accuracy*: the fraction of the V associations ``v -> pi(v)`` recovered from the
  single-token input ``e_v + t`` (what the value path stores, attention aside).

Why the value path caps at about d^2 associations (tie to N1): with m = 0 the logits are
``u_{pi(v)}^T W_V x`` with one trainable d x d matrix; with sharp attention ``x = e_v + t``, and
``W_V t`` only adds a bias vector in R^d, so storing all V associations is the N1 problem with
p = V random pairs and d^2 (+ d) parameters, impossible beyond about p_c(d) (docs/theory.md §2, eq. (T3)).

The experiment (N* fits, the value-path test) is :func:`capacity.nets.experiments.n3.run_n3`.
"""
import math

import numpy as np

from ..._validation import check_real
from .._torch import require_torch, resolve_device, seeded_generator, torch_threads

__all__ = ["LR", "N_TEST", "make_vocabulary", "sample_sequences", "train_retrieval"]

LR = 0.03
N_TEST = 2000

# stream tags for seeded_generator: (seed, V, d, [L, n_train,] tag)
_VOCAB, _TRAIN, _TEST, _INIT = 1, 2, 3, 4


# ----------------------------------------------------------------------------- validation
def _positive_int(name, value, low=1):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"`{name}` must be an integer >= {low}; got {value!r}")
    if value < low:
        raise ValueError(f"`{name}` must be an integer >= {low}; got {value!r}")
    return int(value)


def _check_shape(V, d, L, m):
    V = _positive_int("V", V, 2)
    d = _positive_int("d", d, 1)
    if d >= V:
        raise ValueError(f"`d` must be < V = {V} (the embeddings are not orthogonal); got {d}")
    L = _positive_int("L", L, 1)
    m = _positive_int("m", m, 0)
    return V, d, L, m


# ----------------------------------------------------------------------------- data
def make_vocabulary(V, d, *, seed=0, device="cpu"):
    """Fixed random embeddings, trigger, permutation and unembedding of one (V, d) instance.

    Returns a dict of tensors: ``E`` (V x d, rows N(0, I/d)), ``trigger`` (d, N(0, I/d)),
    ``perm`` (V, a uniformly random permutation: label of token v is ``perm[v]``) and ``U``
    (V x d, rows N(0, I/d), the fixed unembedding).  Drawn on the CPU from ``seed`` (the same
    instance on every device) and moved to ``device``.

    Examples
    --------
    >>> voc = make_vocabulary(16, 4, seed=1)
    >>> tuple(voc["E"].shape), sorted(voc["perm"].tolist()) == list(range(16))
    ((16, 4), True)
    """
    V, d, _, _ = _check_shape(V, d, 1, 0)
    torch = require_torch()
    dev = resolve_device(device)
    g = seeded_generator((int(seed), V, d, _VOCAB))
    s = 1.0 / math.sqrt(d)
    E = torch.randn(V, d, generator=g) * s
    trigger = torch.randn(d, generator=g) * s
    perm = torch.randperm(V, generator=g)
    U = torch.randn(V, d, generator=g) * s
    return {"E": E.to(dev), "trigger": trigger.to(dev), "perm": perm.to(dev), "U": U.to(dev)}


def sample_sequences(vocab, n, L, *, generator):
    """``n`` sequences of length ``L``: tokens, marked positions, labels and input vectors.

    Returns ``(tokens, marked, labels, X)``: ``tokens`` (n x L, int64, uniform with
    replacement), ``marked`` (n, uniform position), ``labels = perm[tokens[i, marked[i]]]`` and
    ``X`` (n x L x d) with ``X[i, l] = E[tokens[i, l]] + [l = marked[i]] trigger``.
    ``generator`` is a CPU ``torch.Generator`` (draws are made on the CPU).
    """
    torch = require_torch()
    n = _positive_int("n", n, 1)
    L = _positive_int("L", L, 1)
    E, trigger, perm = vocab["E"], vocab["trigger"], vocab["perm"]
    V = E.shape[0]
    tokens = torch.randint(0, V, (n, L), generator=generator).to(E.device)
    marked = torch.randint(0, L, (n,), generator=generator).to(E.device)
    rows = torch.arange(n, device=E.device)
    labels = perm[tokens[rows, marked]]
    X = E[tokens]
    X[rows, marked] += trigger
    return tokens, marked, labels, X


# ----------------------------------------------------------------------------- model
def _init_params(d, m, seed_tuple, device):
    torch = require_torch()
    g = seeded_generator(seed_tuple)
    params = {"w": torch.zeros(d), "W_V": torch.randn(d, d, generator=g) / math.sqrt(d)}
    if m > 0:
        params["W_1"] = torch.randn(m, d, generator=g) * math.sqrt(2.0 / d)
        params["W_2"] = torch.zeros(d, m)
    return {k: v.to(device).requires_grad_(True) for k, v in params.items()}


def _logits(params, X, U):
    torch = require_torch()
    a = torch.softmax(X @ params["w"], dim=1)  # (n, L) attention of the learned query
    xbar = torch.einsum("nl,nld->nd", a, X)
    h = xbar @ params["W_V"].T
    if "W_1" in params:
        h = h + torch.relu(h @ params["W_1"].T) @ params["W_2"].T
    return h @ U.T


def _accuracy(params, X, labels, U):
    torch = require_torch()
    with torch.no_grad():
        return float((_logits(params, X, U).argmax(1) == labels).double().mean())


def train_retrieval(*, V, d, L, m=0, n_train, steps=1000, seed=0, n_test=N_TEST, lr=LR, device="cpu"):
    """Train one model on ``n_train`` sequences; return its accuracies and losses (a dict).

    Parameters
    ----------
    V, d, L, m : int
        Vocabulary size, embedding dimension (``d < V``), sequence length, MLP width
        (0 = attention-only value path).
    n_train : int
        Number of training sequences (full batch).
    steps : int
        Adam steps.
    seed : int
        The vocabulary instance is drawn from ``(seed, V, d)`` (shared by every L, m and
        n_train), the test set from ``(seed, V, d, L)``, the training set and the
        initialisation from ``(seed, V, d, L, m, n_train)``.
    n_test : int
        Fresh test sequences.
    device : {"cpu", "cuda", "auto"}

    Returns
    -------
    dict
        ``train_acc, test_acc, map_acc, loss_init, loss_half, loss_final`` (floats).
        ``map_acc`` is the fraction of tokens v whose single-token input ``e_v + t`` is mapped to
        ``pi(v)`` (the associations the value path stores).

    Notes
    -----
    On CPU the result is bit-reproducible for a given seed (one thread, explicit generators).

    Examples
    --------
    >>> r = train_retrieval(V=16, d=8, L=2, m=0, n_train=64, steps=50)
    >>> r["loss_final"] < r["loss_init"]
    True
    """
    V, d, L, m = _check_shape(V, d, L, m)
    n_train = _positive_int("n_train", n_train, 1)
    steps = _positive_int("steps", steps, 1)
    n_test = _positive_int("n_test", n_test, 1)
    seed = _positive_int("seed", seed, 0)
    lr = check_real("lr", lr, low=0.0, low_open=True)
    torch = require_torch()
    dev = resolve_device(device)
    with torch_threads(1):
        vocab = make_vocabulary(V, d, seed=seed, device=device)
        U = vocab["U"]
        _, _, y_tr, X_tr = sample_sequences(vocab, n_train, L, generator=seeded_generator(
            (seed, V, d, L, m, n_train, _TRAIN)))
        _, _, y_te, X_te = sample_sequences(vocab, n_test, L, generator=seeded_generator((seed, V, d, L, _TEST)))
        params = _init_params(d, m, (seed, V, d, L, m, n_train, _INIT), dev)
        opt = torch.optim.Adam(list(params.values()), lr=lr)
        loss_init = loss_half = None
        for step in range(steps):
            opt.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(_logits(params, X_tr, U), y_tr)
            if step == 0:
                loss_init = float(loss.detach())
            if step == steps // 2:
                loss_half = float(loss.detach())
            loss.backward()
            opt.step()
        with torch.no_grad():
            loss_final = float(torch.nn.functional.cross_entropy(_logits(params, X_tr, U), y_tr))
        X_map = (vocab["E"] + vocab["trigger"]).unsqueeze(1)  # each token alone, marked
        return {
            "train_acc": _accuracy(params, X_tr, y_tr, U),
            "test_acc": _accuracy(params, X_te, y_te, U),
            "map_acc": _accuracy(params, X_map, vocab["perm"], U),
            "loss_init": loss_init,
            "loss_half": loss_half if loss_half is not None else loss_init,
            "loss_final": loss_final,
        }
