"""Instances nested in p: one random memory problem per (seed, trial), grown one item at a time.

docs/simulator.md §8.  :func:`make_instance` draws a fresh instance for every p; here
instance ``trial`` is a single infinite sequence of items, and the instance at p is its
first p items:

- inputs x_1, x_2, ... and targets y_1, y_2, ... are the rows of one stream each, so the
  first p rows do not depend on p;
- in the decoupled model, input mu's competitors z_{mu,1}, z_{mu,2}, ... are the rows of a
  stream of its own, and the instance at p uses the first K = p - 1 of them, so K grows
  by appending;
- in the coupled model, input mu's competitors are the other targets y_nu, nu < p.

**Monotonicity.**  Every constraint (y_mu - c)^T W x_mu > 0 of the instance at p is also
a constraint of the instance at p + 1 (same W in R^{d x d}, same vectors), which only
adds constraints: the new item's own and one more competitor per earlier input.  So a
W that stores p + 1 items stores the first p, and a Gordan certificate for p (a
non-negative combination of constraint rows summing to zero) is one for every p' > p.
Feasibility is therefore monotone in p for each instance, and each instance has a
threshold p* — the largest p it stores (:mod:`capacity.simulate.threshold`).

The returned objects are :class:`~capacity.simulate.instances.Instance` objects (the
engines of :func:`~capacity.simulate.feasibility.solve_feasibility` work unchanged);
they are independent of the fixed-p instances of :func:`make_instance` (other seeds).
"""
import numpy as np

from .._validation import check_choice, check_int
from .instances import BLOCK, EMBEDDINGS, MODELS, Instance, _draw

__all__ = ["NestedInstance", "make_nested_instance", "P_MAX_NESTED"]

#: Largest p of a nested instance (as for :func:`make_instance`).
P_MAX_NESTED = 10**6

_TAG = 0x6E657374  # "nest": keeps the nested streams apart from make_instance's (seed, d, p, trial) roots


def _rows(seq, n, d, embedding):
    """The first n rows (n x d) of the stream ``seq``; row i does not depend on n."""
    return _draw(np.random.default_rng(seq), (n, d), embedding)


class NestedInstance(Instance):
    """The first p items of a nested instance; see :func:`make_nested_instance`."""

    def competitor_block(self, b):
        """Competitors of inputs [64 b, 64 b + 64): array (n_b, K, d); coupled: the other targets."""
        if self.model == "coupled":
            return super().competitor_block(b)
        lo, hi = b * BLOCK, min(self.p, (b + 1) * BLOCK)
        out = np.empty((hi - lo, self.K, self.d))
        for i, mu in enumerate(range(lo, hi)):
            out[i] = _rows(_input_seq(self._z_seq, mu), self.K, self.d, self.embedding)
        return out

    def competitor(self, mu, k):
        """The k-th competitor vector of input mu."""
        if self.model == "coupled":
            return super().competitor(mu, k)
        return _rows(_input_seq(self._z_seq, mu), k + 1, self.d, self.embedding)[k]


def _input_seq(z_seq, mu):
    return np.random.SeedSequence(z_seq.entropy, spawn_key=tuple(z_seq.spawn_key) + (mu,))


def make_nested_instance(model, d, p, *, embedding="gaussian", seed=0, trial=0):
    """The first p items of nested instance ``trial`` (K = p - 1 competitors per input).

    Parameters
    ----------
    model : {"coupled", "decoupled"}
    d : int
        Dimension, ``1 <= d <= 4096``.
    p : int
        Number of items, ``2 <= p <= 10**6``.
    embedding : {"gaussian", "sphere"}
        N(0, I/d) entries, or uniform on the unit sphere.
    seed, trial : int
        The sequence of items is a deterministic function of (seed, d, trial, embedding)
        — not of p: the instance at p is the first p items of the instance at any p' > p.

    Examples
    --------
    >>> a = make_nested_instance("decoupled", 8, 20, seed=1)
    >>> b = make_nested_instance("decoupled", 8, 30, seed=1)
    >>> bool((a.x == b.x[:20]).all() and (a.competitor_block(0) == b.competitor_block(0)[:20, :19]).all())
    True
    """
    model = check_choice("model", model, MODELS)
    embedding = check_choice("embedding", embedding, EMBEDDINGS)
    d = check_int("d", d, low=1, high=4096)
    p = check_int("p", p, low=2, high=P_MAX_NESTED)
    seed = check_int("seed", seed, low=0)
    trial = check_int("trial", trial, low=0)
    sx, sy, sz = np.random.SeedSequence(seed, spawn_key=(_TAG, d, trial)).spawn(3)
    return NestedInstance(model=model, d=d, p=p, K=p - 1, embedding=embedding, seed=seed, trial=trial,
                          x=_rows(sx, p, d, embedding), y=_rows(sy, p, d, embedding), _z_seq=sz)
