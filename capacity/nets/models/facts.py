"""The fact table of the factual-recall models N2 and N4 (docs/nets.md, N2 and N4).

N subjects, R relations and N attribute tokens; relation r is a uniformly random bijection
pi_r of {0..N-1} (independent over r), and the query (s, r) has the answer pi_r(s).  Every
(s, r) pair is a fact, so there are N R facts.
"""
import numpy as np

from ..._validation import check_int

__all__ = ["make_facts", "fact_queries"]


def make_facts(n_subjects, n_relations, *, seed=0):
    """The attribute table ``facts[r, s] = pi_r(s)``: R independent uniform random bijections of 0..N-1.

    Drawn from the NumPy stream ``default_rng([seed, N, R, 0])``.

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
