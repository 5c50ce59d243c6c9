"""Exact finite-K values vs the asymptotic expansions (docs/theory.md §4), as a table.

Columns: the exact E dist^2 (capacity.solvers, float64, K <= 1e30), the leading
order 2 ln K, the explicit next order 2 ln K - 3 ln ln K + c (c = 3 - 3 ln 2 -
ln 2 pi), the implicit LLN form, and the scaled errors that show the rates:
(E - next) ln K / ln ln K -> const and (E - LLN) ln K -> const.  Beyond float range
(K = 1e50 .. 1e1000) only the asymptotic forms are printed (mpmath).  A second
table does the same for the capacity p_c(d).

Run:  python benchmarks/table_asymptotics.py      (a few seconds)
"""
import math
import sys
from pathlib import Path

import mpmath

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from capacity import expected_dist2, p_c  # noqa: E402
from capacity.theory import asymptotics as A  # noqa: E402


def main(kappa=0.0):
    print(f"E dist^2 at kappa = {kappa:g}")
    hdr = (f"{'K':>8} {'exact':>15} {'2 ln K':>10} {'next':>12} {'LLN':>12} "
           f"{'(E-next)lnK/lnlnK':>18} {'(E-LLN)lnK':>11}")
    print(hdr)
    print("-" * len(hdr))
    for e10 in (3, 4, 6, 9, 12, 15, 20, 30):
        K = 10.0**e10
        ex = expected_dist2(K, kappa=kappa)
        nx, ll = A.dist2_next(K, kappa=kappa), A.dist2_lln(K, kappa=kappa)
        lk = math.log(K)
        print(f"{'1e%d' % e10:>8} {ex:>15.10f} {2 * lk:>10.4f} {nx:>12.6f} {ll:>12.6f} "
              f"{(ex - nx) * lk / math.log(lk):>18.4f} {(ex - ll) * lk:>11.4f}")
    for e10 in (50, 100, 1000):
        K = f"1e{e10}"
        nx, ll = A.dist2_next(K, kappa=kappa, mp=True), A.dist2_lln(K, kappa=kappa, mp=True)
        print(f"{K:>8} {'(beyond)':>15} {mpmath.nstr(A.dist2_leading(K, mp=True), 8):>10} "
              f"{mpmath.nstr(nx, 10):>12} {mpmath.nstr(ll, 10):>12}")
    print()
    print(f"p_c(d) at kappa = {kappa:g}:  p ln p / d^2 -> 1/2 from above")
    hdr = (f"{'d':>8} {'exact p_c':>16} {'p ln p/d^2':>11} {'leading':>14} {'next':>14} {'LLN':>14} "
           f"{'next/exact-1':>13} {'LLN/exact-1':>12}")
    print(hdr)
    print("-" * len(hdr))
    for d in (24, 32, 100, 1000, 1e4, 1e5, 1e6):
        pc = p_c(d, kappa=kappa)
        lead, nx, ll = A.p_c_leading(d), A.p_c_next(d, kappa=kappa), A.p_c_lln(d, kappa=kappa)
        print(f"{d:>8g} {pc:>16.8g} {pc * math.log(pc) / d**2:>11.6f} {lead:>14.8g} {nx:>14.8g} {ll:>14.8g} "
              f"{nx / pc - 1:>13.2e} {ll / pc - 1:>12.2e}")


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 0.0)
