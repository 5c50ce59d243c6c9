"""Physics-agnostic numerics called by :mod:`capacity.theory` (Numba kernels,
contour integrals, special functions).  Kernels never validate their inputs."""
