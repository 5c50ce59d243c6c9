"""Exact finite-K solver vs naive Monte Carlo, on the same (K, kappa) points.

For each point the table prints
- the exact solver's median wall time (after warm-up) and its accuracy target
  (the larger of its error estimate and the verified 1e-10 relative accuracy),
- the naive Monte Carlo (docs/theory.md §2, eq. (T2): sample K+1 Gaussians, sort, project) measured
  rate and per-sample standard deviation, the number of samples needed to reach
  the exact solver's accuracy, n = (sd / target)^2, and the time that takes,
  extrapolated from the measured rate,
- the ratio MC time / exact time.
A second table times the finite-size capacity p_c(d).

Run:  python benchmarks/bench_theory.py          (about 1 minute)
"""
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from capacity import p_c, solve_dist2  # noqa: E402
from tests.naive import naive_dist2_samples  # noqa: E402


def median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def mc_rate(K, kappa, budget_s=2.0):
    """Samples per second of the naive Monte Carlo and the per-sample standard deviation."""
    rng = np.random.default_rng(12345)
    n = max(4, int(2e6 // (K + 1)))  # ~2M Gaussians per batch
    samples, elapsed = [], 0.0
    while elapsed < budget_s or len(samples) < 2:
        t0 = time.perf_counter()
        samples.append(naive_dist2_samples(K, kappa, n, rng, chunk=n))
        elapsed += time.perf_counter() - t0
    x = np.concatenate(samples)
    return x.size / elapsed, float(x.std(ddof=1)), x.size


def main():
    solve_dist2(10.0)  # compile / load the Numba cache
    rows = []
    for K in (10, 100, 1000, 10_000, 1_000_000):
        for kappa in (0.0, 1.0):
            res = solve_dist2(float(K), kappa=kappa)
            t_exact = median_time(lambda: solve_dist2(float(K), kappa=kappa), 7)
            target = max(res.abserr, 1e-10 * res.expected_dist2)
            rate, sd, n_done = mc_rate(K, kappa)
            n_need = (sd / target) ** 2
            t_mc = n_need / rate
            rows.append((K, kappa, res.expected_dist2, t_exact, target, rate, sd, n_need, t_mc, t_mc / t_exact))
    hdr = (f"{'K':>9} {'kappa':>5} {'E dist^2':>14} {'exact ms':>9} {'accuracy':>9} "
           f"{'MC samp/s':>10} {'MC sd':>7} {'MC n needed':>12} {'MC time':>12} {'ratio':>9}")
    print("Exact solver vs naive Monte Carlo at equal accuracy (MC time extrapolated from its measured rate)")
    print(hdr)
    print("-" * len(hdr))
    for K, kappa, e, te, tgt, rate, sd, n_need, tmc, ratio in rows:
        print(f"{K:>9.0e} {kappa:>5g} {e:>14.10f} {te * 1e3:>9.2f} {tgt:>9.1e} {rate:>10.3g} {sd:>7.3f} "
              f"{n_need:>12.2e} {tmc:>10.2e} s {ratio:>9.1e}")
    print()
    print("Exact solver alone at large K (the naive Monte Carlo cannot even draw one sample)")
    for K in (1e9, 1e12, 1e15):
        t_exact = median_time(lambda: solve_dist2(K), 7)
        print(f"  K = {K:.0e}: E dist^2 = {solve_dist2(K).expected_dist2:.12f}, median {t_exact * 1e3:.2f} ms")
    print()
    print("Finite-size capacity p_c(d) (Brent root of p E(p-1) = d^2), median of 5")
    for d in (10, 100, 1e4, 1e6):
        t = median_time(lambda: p_c(d), 5)
        print(f"  d = {d:>8g}: p_c = {p_c(d):.10g}, median {t * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
