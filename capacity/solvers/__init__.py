"""Physics-free numerics called by :mod:`capacity.theory` (docs/theory.md §8).

- :mod:`.dist2` — the engine of E dist^2 to the top-1 cone: Numba kernels, complex
  Mills ratio, adaptive Gauss-Kronrod (docs/theory.md §2, eq. (T4));
- :mod:`.listwise_kernels` — Numba kernels walking the listwise projection path and
  integrating it against a Gaussian;
- :mod:`.order_stats` — top order statistics of K i.i.d. normals (Renyi's representation);
- :mod:`.quadrature` — Gauss rules for expectations (Legendre panels, Hermite, Jacobi, Gamma);
- :mod:`.plogp` — the inverse of p ln p = c (Lambert W);
- :mod:`.roots` — Brent's method and an integer regula falsi.

Kernels never validate their inputs and report failures through status codes;
functions returning a bare number raise :class:`~capacity.exceptions.ConvergenceError`.
"""
