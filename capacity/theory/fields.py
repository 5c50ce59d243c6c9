r"""Laws of the optimal memory's fields (docs/theory.md §3): the projection of z onto C_kappa.

At the max margin the optimal fields of an input are the Euclidean projection
of its Gaussian fields z = (z_0, z_1..z_K) onto C_kappa (docs/theory.md §2, eq. (T2)):

    h_0 = t* + kappa,     h_k = min(z_k, t*),

where t* solves t + kappa - z_0 = sum_k (z_k - t)_+ (for an input that needs no
raising, z_0 - kappa >= max_k z_k, the root is t* = z_0 - kappa and nothing moves).
So the correct field *is* t* + kappa; inputs that needed raising sit exactly at
margin kappa above their top competitors (the point mass of the margin law),
the others keep their Gaussian gap.

What is exact and what is sampled (labelled in every result):

- :func:`prob_raised` — P(input needs raising) = 1 - int phi(x) Phi(x - kappa)^K dx,
  **exact** (adaptive quadrature, absolute error < 1e-12).
- :func:`sample_projection` — **exact sampling** of the projection (Monte Carlo):
  draws z_0 and the top order statistics of K standard normals without
  materialising all K (Renyi's representation: the j-th largest uniform is
  prod_{i<=j} V_i^{1/(K-i+1)}; :func:`capacity.solvers.order_stats.normal_order_stats`,
  docs/theory.md §8), so its cost is O(n ln K) for any K up to 1e15.
  Returns t*, the correct fields, the number of flattened competitors J, the
  raised indicator and the per-input dist^2, each with Monte Carlo standard
  errors in the summary.
"""
import math
from dataclasses import dataclass

import numpy as np

from .._validation import check_int, check_real
from ..results import Result
from ..solvers.order_stats import normal_order_stats

__all__ = ["ProjectionSample", "prob_raised", "sample_projection"]


@dataclass(frozen=True)
class ProjectionSample(Result):
    """Exact samples of the projection of z ~ N(0, I_{K+1}) onto C_kappa (Monte Carlo; docs/theory.md §3).

    Arrays have one entry per sampled input: ``t`` (the level t*), ``h0``
    (correct field t* + kappa), ``n_active`` (competitors flattened onto t*),
    ``raised`` (input needed raising), ``dist2`` (squared distance), and
    ``top_competitor`` (largest original competitor field z_(1)).

    ``to_dict()`` deliberately returns :meth:`summary` (means and standard
    errors) rather than the per-input arrays, which can hold millions of entries.
    """

    K: int
    kappa: float
    seed: object
    method: str
    t: np.ndarray
    h0: np.ndarray
    n_active: np.ndarray
    raised: np.ndarray
    dist2: np.ndarray
    top_competitor: np.ndarray

    def summary(self):
        """Means with Monte Carlo standard errors (``*_se``); plain dict."""
        n = self.t.size
        out = {"K": self.K, "kappa": self.kappa, "n_samples": n, "method": self.method}
        for name, arr in (("dist2", self.dist2), ("n_active", self.n_active), ("raised", self.raised),
                          ("t", self.t)):
            a = np.asarray(arr, dtype=float)
            out[f"mean_{name}"] = float(a.mean())
            out[f"mean_{name}_se"] = float(a.std(ddof=1) / math.sqrt(n)) if n > 1 else float("nan")
        return out

    def to_dict(self):
        """Summary statistics (the per-input arrays are not JSON material)."""
        return self.summary()


def prob_raised(K, *, kappa=0.0):
    """Exact probability that an input's correct field must be raised at margin kappa (docs/theory.md §3).

    P = 1 - int phi(x) Phi(x - kappa)^K dx (the input is untouched iff
    z_0 - kappa >= max_k z_k).  K may be real.

    Examples
    --------
    >>> round(prob_raised(1), 12)      # P(z_1 > z_0) = 1/2
    0.5
    """
    from scipy import integrate, special  # lazy: keeps `import capacity` fast

    K = check_real("K", K, low=1.0, high=1e30)
    kappa = check_real("kappa", kappa, low=0.0, high=50.0)
    # integrand phi(x) exp(K log Phi(x - kappa)); its mass sits near the maximum of K competitors
    centre = kappa + math.sqrt(2.0 * math.log1p(K))

    def f(x):
        return math.exp(-0.5 * x * x + K * special.log_ndtr(x - kappa)) / math.sqrt(2.0 * math.pi)

    pts = [centre - 3.0, centre, centre + 3.0]
    lo, hi = min(-12.0, pts[0] - 12.0), pts[-1] + 40.0
    pieces = [lo] + pts + [hi]
    total = 0.0
    for a, b in zip(pieces[:-1], pieces[1:]):
        val, _ = integrate.quad(f, a, b, epsabs=1e-15, epsrel=1e-13, limit=200)
        total += val
    return float(1.0 - total)


def _top_order_stats(rng, n, K, B):
    """The B largest of K i.i.d. N(0,1), descending, for n inputs (exact: a full sort, or Renyi for K > 4B)."""
    if K <= 4 * B:
        z = rng.standard_normal((n, K))
        z = -np.sort(-z, axis=1)
        return z[:, :B]
    v = rng.random((n, B))
    z, _ = normal_order_stats(np.log(v).T, K)  # ranks along axis 0
    return np.ascontiguousarray(z.T)


def sample_projection(K, *, kappa=0.0, n_samples=10000, seed=None):
    """Exact samples of the optimal fields (projection of z onto C_kappa), Monte Carlo (docs/theory.md §3).

    Parameters
    ----------
    K : int
        Number of competitors, ``1 <= K <= 1e15``.
    kappa : float
        Margin, ``0 <= kappa <= 50``.
    n_samples : int
        Number of inputs sampled.
    seed : int, numpy.random.Generator or None
        Passed to ``numpy.random.default_rng``.

    Returns
    -------
    ProjectionSample

    Examples
    --------
    >>> s = sample_projection(2, n_samples=20000, seed=0)
    >>> bool(abs(s.dist2.mean() - 5/6) < 4 * s.dist2.std() / 20000**0.5)
    True
    """
    K = check_int("K", K, low=1, high=10**15)
    kappa = check_real("kappa", kappa, low=0.0, high=50.0)
    n = check_int("n_samples", n_samples, low=1, high=10**8)
    rng = np.random.default_rng(seed)
    z0 = rng.standard_normal(n)
    lk = math.log(K + 1.0)
    B = int(min(K, 64 + 3 * (2 * lk + kappa * math.sqrt(2 * lk))))
    while True:
        zs = _top_order_stats(rng, n, K, B)
        cs = np.cumsum(zs, axis=1)
        j = np.arange(1, B + 1)
        t = (z0[:, None] - kappa + cs) / (j + 1)  # t_j for j = 1..B
        nxt = np.concatenate([zs[:, 1:], np.full((n, 1), -np.inf if B == K else np.nan)], axis=1)
        stop = nxt <= t  # accept the first j with z_(j+1) <= t_j
        done = stop.any(axis=1)
        raised = z0 - kappa < zs[:, 0]
        if np.all(done | ~raised):
            break
        B = min(K, 4 * B)  # extremely rare: more active competitors than the block holds
    first = np.argmax(stop, axis=1)
    n_active = np.where(raised, first + 1, 0)
    tstar = np.where(raised, t[np.arange(n), first], z0 - kappa)
    over = np.clip(zs - tstar[:, None], 0.0, None)
    dist2 = np.where(raised, (tstar + kappa - z0) ** 2 + np.sum(over**2, axis=1), 0.0)
    return ProjectionSample(
        K=K,
        kappa=kappa,
        seed=seed if isinstance(seed, (int, type(None))) else repr(seed),
        method="exact sampling of the projection (Monte Carlo)" + (" via top order statistics" if K > 4 * B else ""),
        t=tstar,
        h0=tstar + kappa,
        n_active=n_active,
        raised=raised,
        dist2=dist2,
        top_competitor=zs[:, 0],
    )
