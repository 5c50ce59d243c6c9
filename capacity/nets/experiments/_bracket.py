"""The search for the largest stored N shared by the experiments that search over a fact count (N2, protocol).

Start at a prediction, multiply or divide N by ``walk`` until a stored and an unstored N bracket the
boundary, then bisect at the geometric midpoint until the smallest unstored N is at most ``resolution``
times the largest stored one, or the two are adjacent.  Storage is assumed monotone in N; with noise the
search reports the largest stored N it *found*.
"""
import math


class BracketSearch:
    """Largest stored N: ``next_n`` is the N to try next (None when done); ``lo``/``hi`` the bracket so far."""

    def __init__(self, start, walk, resolution):
        self.walk, self.resolution = walk, resolution
        self.lo = self.hi = None  # largest stored N, smallest unstored N seen
        self.next_n = max(2, int(round(start)))

    def record(self, n, stored):
        """Take the verdict at N = n and choose the next N."""
        if stored:
            self.lo = n if self.lo is None else max(self.lo, n)
        else:
            self.hi = n if self.hi is None else min(self.hi, n)
        if self.lo is None:  # nothing stored yet: walk down (N = 2 unstored ends the search)
            self.next_n = None if n <= 2 else max(2, min(n - 1, int(round(n / self.walk))))
        elif self.hi is None:  # everything stored so far: walk up
            self.next_n = max(n + 1, int(round(n * self.walk)))
        elif self.hi - self.lo <= 1 or self.hi <= self.resolution * self.lo:
            self.next_n = None
        else:
            self.next_n = min(max(int(round(math.sqrt(self.lo * self.hi))), self.lo + 1), self.hi - 1)
