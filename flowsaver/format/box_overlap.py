"""Finding two overlapping boxes among the stored slices of one partitioned tensor.

A box is one ``(start, length)`` pair per dimension. A checkpoint may store up to
slices.MAX_SLICES (65,536) slices of one tensor, and a hostile index can arrange them in
any way, so comparing every pair (what TensorFlow does) is out: 65,536 slices would cost
two billion comparisons. Instead:

- Empty boxes overlap nothing, and dimensions in which every box has the same extent
  decide nothing (all boxes meet there); both are set aside first.
- One varying dimension (every TensorFlow partitioner): sort by start; a box overlaps an
  earlier one exactly when it starts before the furthest end so far. O(n log n).
- Two varying dimensions (a grid of shards): sweep along the first. Boxes alive at the
  sweep position all contain it, so if none overlapped so far their extents along the
  second dimension are pairwise disjoint intervals; a new box meets one of them exactly
  when it meets the alive interval with the greatest start below its end. A Fenwick tree
  over the interval starts finds that one. O(n log n).
- Three or more: mark the cells of the grid that all box boundaries cut the space into
  (NumPy does the marking), when that grid has at most PAINT_CELLS cells: linear in n
  plus the cells. Otherwise sweep along the dimension with most distinct starts and
  compare with the boxes alive there, with at most MAX_COMPARISONS comparisons (a few
  seconds). Beyond that the layout is refused (TooIrregular): no partitioner writes one.
"""
from __future__ import annotations

import heapq

import numpy as np

PAINT_CELLS = 1 << 22
MAX_COMPARISONS = 1_000_000


class TooIrregular(Exception):
    """Raised when three or more varying dimensions defeat both bounded methods."""


def first_overlap(boxes, paint_cells: int = PAINT_CELLS) -> tuple[int, int] | None:
    """Indices ``(i, j)`` of two boxes that share an element, or None when all are disjoint.

    Args:
      boxes: a sequence of boxes, each a tuple of ``(start, length)`` pairs, all of one
        rank, with non-negative starts and lengths.
      paint_cells: the most grid cells marked for three or more varying dimensions (0
        always sweeps).

    Raises:
      TooIrregular: three or more dimensions vary and neither bounded method applies.
    """
    live = [i for i, box in enumerate(boxes) if all(n > 0 for _, n in box)]
    if len(live) < 2:
        return None
    rank = len(boxes[live[0]])
    varying = [k for k in range(rank) if len({boxes[i][k] for i in live}) > 1]
    if not varying:
        return live[0], live[1]            # two identical non-empty boxes
    if len(varying) == 1:
        return _overlap_1d(boxes, live, varying[0])
    if len(varying) == 2:
        return _overlap_2d(boxes, live, *varying)
    found = _overlap_painted(boxes, live, varying, paint_cells)
    if found is not False:
        return found
    return _overlap_swept(boxes, live, varying)


def _overlap_1d(boxes, live, k):
    order = sorted(live, key=lambda i: boxes[i][k][0])
    far_end, far = -1, None
    for i in order:
        start, length = boxes[i][k]
        if far is not None and start < far_end:
            return far, i
        if start + length > far_end:
            far_end, far = start + length, i
    return None


class _Fenwick:
    """Counts over positions 0..n-1: add at a position, and find the k-th set position."""

    def __init__(self, n: int):
        self.n = n
        self.tree = [0] * (n + 1)
        self.top = 1 << max(n.bit_length() - 1, 0)

    def add(self, pos: int, delta: int) -> None:
        pos += 1
        while pos <= self.n:
            self.tree[pos] += delta
            pos += pos & -pos

    def count_below(self, pos: int) -> int:
        """How many marks lie at positions < pos."""
        total = 0
        while pos > 0:
            total += self.tree[pos]
            pos -= pos & -pos
        return total

    def kth(self, k: int) -> int:
        """The position of the k-th mark (1-based k, 1 <= k <= total)."""
        pos, step = 0, self.top
        while step:
            nxt = pos + step
            if nxt <= self.n and self.tree[nxt] < k:
                pos = nxt
                k -= self.tree[nxt]
            step >>= 1
        return pos


def _overlap_2d(boxes, live, a, b):
    starts = sorted({boxes[i][b][0] for i in live})
    rank_of = {s: r for r, s in enumerate(starts)}
    tree = _Fenwick(len(starts))
    owner = {}                      # start rank along b -> the alive box starting there
    alive: list = []                # heap of (end along a, box)
    for i in sorted(live, key=lambda i: boxes[i][a][0]):
        at = boxes[i][a][0]
        while alive and alive[0][0] <= at:
            _, gone = heapq.heappop(alive)
            tree.add(rank_of[boxes[gone][b][0]], -1)
            del owner[rank_of[boxes[gone][b][0]]]
        lo, n = boxes[i][b]
        # the alive interval with the greatest start below this box's end
        below = tree.count_below(_bisect_left(starts, lo + n))
        if below:
            j = owner[tree.kth(below)]
            if boxes[j][b][0] + boxes[j][b][1] > lo:
                return j, i
        r = rank_of[lo]
        tree.add(r, 1)
        owner[r] = i
        heapq.heappush(alive, (at + boxes[i][a][1], i))
    return None


def _bisect_left(values, x) -> int:
    lo, hi = 0, len(values)
    while lo < hi:
        mid = (lo + hi) // 2
        if values[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _overlap_painted(boxes, live, varying, paint_cells: int):
    """Marks each box's cells of the grid its boundaries make; False when too many cells."""
    cuts = [sorted({c for i in live for c in (boxes[i][k][0], sum(boxes[i][k]))})
            for k in varying]
    cells = 1
    for c in cuts:
        cells *= len(c) - 1
        if cells > paint_cells:
            return False
    where = [{c: r for r, c in enumerate(cut)} for cut in cuts]
    owner = np.full([len(c) - 1 for c in cuts], -1, dtype=np.int32)
    for i in live:
        region = tuple(slice(where[d][boxes[i][k][0]], where[d][sum(boxes[i][k])])
                       for d, k in enumerate(varying))
        taken = owner[region]
        if (taken >= 0).any():
            return int(taken[taken >= 0].flat[0]), i
        owner[region] = i
    return None


def _overlap_swept(boxes, live, varying):
    k = max(varying, key=lambda d: len({boxes[i][d][0] for i in live}))
    rest = [d for d in varying if d != k]
    alive: list = []
    budget = MAX_COMPARISONS
    for i in sorted(live, key=lambda i: boxes[i][k][0]):
        at = boxes[i][k][0]
        while alive and alive[0][0] <= at:
            heapq.heappop(alive)
        budget -= len(alive)
        if budget < 0:
            raise TooIrregular(f"{len(live)} slices varying in {len(varying)} dimensions "
                               f"need more than {MAX_COMPARISONS} comparisons to check")
        for _, j in alive:
            if all(_meet(boxes[i][d], boxes[j][d]) for d in rest):
                return j, i
        heapq.heappush(alive, (at + boxes[i][k][1], i))
    return None


def _meet(x, y) -> bool:
    return max(x[0], y[0]) < min(x[0] + x[1], y[0] + y[1])
