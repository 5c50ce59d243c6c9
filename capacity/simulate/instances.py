"""Random finite instances of the linear associative memory (docs/simulator.md §1).

An instance is (model, d, p, K, embedding, seed, trial) -> inputs x (p x d), targets
y (p x d) and, for the decoupled model, p x K fresh competitors per input.  The
competitors are never materialised at once: they are regenerated block by block
(64 inputs a block) from per-block seeds, so memory stays O(64 K d) and the same
seed gives the same instance on every machine, executor and block order.

Seeding: ``SeedSequence(seed, spawn_key=(d, p, trial))`` is the trial's root
(identical to the ``trial``-th child of ``SeedSequence(seed).spawn`` along that
path); its children 0, 1, 2 generate x, y and the competitor blocks.  x and y
depend only on (seed, d, p, trial, embedding), so the coupled and decoupled models
of the same trial share them.
"""
from dataclasses import dataclass

import numpy as np

from .._validation import check_choice, check_int, show

__all__ = ["Instance", "make_instance", "MODELS", "EMBEDDINGS", "BLOCK", "P_MAX"]

MODELS = ("coupled", "decoupled")
EMBEDDINGS = ("gaussian", "sphere")
BLOCK = 64
#: Largest p of an instance.
P_MAX = 10**6


def _draw(rng, shape, embedding):
    v = rng.standard_normal(shape)
    if embedding == "gaussian":
        return v / np.sqrt(shape[-1])
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


@dataclass(frozen=True, eq=False)
class Instance:
    """One sampled instance; see :func:`make_instance`."""

    model: str
    d: int
    p: int
    K: int
    embedding: str
    seed: int
    trial: int
    x: np.ndarray
    y: np.ndarray
    _z_seq: np.random.SeedSequence

    @property
    def n_constraints(self):
        return self.p * self.K

    def competitor_block(self, b):
        """Competitors of inputs [64 b, 64 b + 64): array (n_b, K, d); coupled: the other targets."""
        lo, hi = b * BLOCK, min(self.p, (b + 1) * BLOCK)
        if self.model == "coupled":
            idx = np.arange(self.p)
            out = np.empty((hi - lo, self.K, self.d))
            for i, mu in enumerate(range(lo, hi)):
                out[i] = self.y[idx != mu]
            return out
        rng = np.random.default_rng(_block_seq(self._z_seq, b))
        return _draw(rng, (hi - lo, self.K, self.d), self.embedding)

    def competitor(self, mu, k):
        """The k-th competitor vector of input mu."""
        if self.model == "coupled":
            return self.y[k if k < mu else k + 1]
        b = mu // BLOCK
        return self.competitor_block(b)[mu - b * BLOCK, k]

    def n_blocks(self):
        return (self.p + BLOCK - 1) // BLOCK

    def margins(self, W):
        """All p x K raw margins (y_mu - c)^T W x_mu, computed block by block in float64.

        Coupled: O(p^2 d + p d^2) via S = Y W X^T.  Returns an array (p, K).
        """
        W = np.asarray(W, dtype=float)
        v = self.x @ W.T  # rows W x_mu
        correct = np.einsum("pd,pd->p", self.y, v)
        if self.model == "coupled":
            s = self.y @ v.T  # s[nu, mu] = y_nu^T W x_mu
            out = np.empty((self.p, self.K))
            idx = np.arange(self.p)
            for mu in range(self.p):
                out[mu] = correct[mu] - s[idx != mu, mu]
            return out
        out = np.empty((self.p, self.K))
        for b in range(self.n_blocks()):
            lo, hi = b * BLOCK, min(self.p, (b + 1) * BLOCK)
            z = self.competitor_block(b)
            out[lo:hi] = correct[lo:hi, None] - np.einsum("bkd,bd->bk", z, v[lo:hi])
        return out


def _block_seq(z_seq, b):
    return np.random.SeedSequence(z_seq.entropy, spawn_key=tuple(z_seq.spawn_key) + (b,))


def make_instance(model, d, p, *, K=None, embedding="gaussian", seed=0, trial=0):
    """Sample an instance of the coupled or decoupled memory.

    Parameters
    ----------
    model : {"coupled", "decoupled"}
    d, p : int
        Dimension and number of associations (``d >= 1``, ``p >= 2``).
    K : int, optional
        Competitors per input; the coupled model has ``K = p - 1`` (the other
        targets); the decoupled default is also ``p - 1``.
    embedding : {"gaussian", "sphere"}
        N(0, I/d) entries, or uniform on the unit sphere.
    seed, trial : int
        The instance is a deterministic function of (seed, d, p, trial) (and of
        K, embedding, model).

    Examples
    --------
    >>> inst = make_instance("decoupled", 8, 20, seed=1)
    >>> inst.x.shape, inst.K
    ((20, 8), 19)
    """
    model = check_choice("model", model, MODELS)
    embedding = check_choice("embedding", embedding, EMBEDDINGS)
    d = check_int("d", d, low=1, high=4096)
    p = check_int("p", p, low=2, high=P_MAX)
    seed = check_int("seed", seed, low=0)
    trial = check_int("trial", trial, low=0)
    if model == "coupled":
        if K is not None and check_int("K", K, low=1) != p - 1:
            raise ValueError(f"`K` must be p - 1 = {p - 1} for the coupled model; got {show(K)}")
        K = p - 1
    else:
        K = p - 1 if K is None else check_int("K", K, low=1, high=10**7)
    root = np.random.SeedSequence(seed, spawn_key=(d, p, trial))
    sx, sy, sz = root.spawn(3)
    x = _draw(np.random.default_rng(sx), (p, d), embedding)
    y = _draw(np.random.default_rng(sy), (p, d), embedding)
    return Instance(model=model, d=d, p=p, K=K, embedding=embedding, seed=seed, trial=trial, x=x, y=y, _z_seq=sz)
