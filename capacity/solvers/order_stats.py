r"""Top order statistics of K i.i.d. standard normals by Renyi's representation (no physics).

With V_1, V_2, ... i.i.d. uniform on (0, 1], the j-th largest of K i.i.d.
uniforms is (Renyi 1953)

    U_(j) = prod_{i <= j} V_i^{1 / (K - i + 1)},   i.e.   log U_(j) = sum_{i <= j} log V_i / (K - i + 1),

and the j-th largest of K standard normals is Phi^{-1}(U_(j)).  The ranks are
drawn one after the other from the top, at a cost independent of K, so a few
hundred top ranks of K = 1e15 normals cost as much as those of K = 1000.  The
map to normals keeps full precision in both tails: -Phi^{-1}(1 - U) with
1 - U = -expm1(log U) where U >= 1/2 (the top ranks), Phi^{-1}(U) below.

The caller draws the uniforms (so that each caller keeps its own random
stream) and passes their logarithms; ranks run along axis 0.  See
docs/theory.md §8 ("Order statistics by Renyi's representation").

References
----------
A. Renyi, "On the theory of order statistics", Acta Math. Hung. 4 (1953) 191.
"""
import numpy as np

__all__ = ["normal_order_stats"]

_LOG_HALF = -0.6931471805599453


def normal_order_stats(log_v, K, *, first_rank=0, log_u_above=0.0):
    """Consecutive top order statistics of K i.i.d. N(0, 1), from the logs of i.i.d. uniforms.

    Parameters
    ----------
    log_v : ndarray, shape (n_ranks, ...)
        log V for V i.i.d. uniform on (0, 1]; row j drives rank ``first_rank + j``
        (0-based: rank 0 is the largest).  Further axes are independent samples.
    K : int or float
        Number of normals, ``K >= first_rank + n_ranks``.
    first_rank : int
        0-based rank of the first row (for drawing the ranks in chunks).
    log_u_above : float or ndarray
        log U of the rank just above ``first_rank`` (0 for the top; the last row
        of ``log_u`` of the previous chunk otherwise).

    Returns
    -------
    z : ndarray, shape of ``log_v``
        ``z[j]`` is the ``(first_rank + j + 1)``-th largest of the K normals (decreasing along axis 0).
    log_u : ndarray, shape of ``log_v``
        log of the matching uniform order statistics (carry ``log_u[-1]`` to the next chunk).

    Notes
    -----
    docs/theory.md §8: log U_(j) = sum_{i <= j} log V_i / (K - i + 1) (Renyi), then
    z = -Phi^{-1}(-expm1(log U)) for U >= 1/2 and z = Phi^{-1}(U) for U < 1/2.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> z, _ = normal_order_stats(np.log(1.0 - rng.random((3, 1))), 10**15)
    >>> bool(np.all(np.diff(z[:, 0]) < 0)), bool(7.5 < z[0, 0] < 9.0)   # decreasing; near sqrt(2 ln K)
    (True, True)
    """
    from scipy import special  # lazy: keeps `import capacity` fast

    log_v = np.asarray(log_v, dtype=float)
    ranks = K - np.arange(first_rank, first_rank + log_v.shape[0], dtype=float)
    log_u = np.cumsum(log_v / ranks.reshape((-1,) + (1,) * (log_v.ndim - 1)), axis=0)
    log_u += log_u_above
    z = np.empty_like(log_u)
    low = log_u < _LOG_HALF
    if low.any():
        z[low] = special.ndtri(np.exp(log_u[low]))
        high = ~low
        z[high] = -special.ndtri(-np.expm1(log_u[high]))
    else:
        z[:] = -special.ndtri(-np.expm1(log_u))
    return z, log_u
