"""TensorFlow's Philox-driven shuffles and categorical draws, vectorized.

``RandomShuffle`` of n rows reserves ceil((n - 1) / 4) blocks (nothing when there is at most
one row or no element) and reads n - 1 words w_0, w_1, ... in order. For i = 0 .. n-2 it
swaps rows i and j_i = i + w_i % (n - i): a forward Fisher-Yates. The swaps are replayed
without a Python loop: row i ends up holding what position j_i held just before step i,
which is the original row j_i unless an earlier step wrote there; following "who wrote
there last" links to their start gives every row at once (pointer doubling).

``Multinomial`` (and ``StatelessMultinomial``) reserves 256 * batch * 2 * ceil4(samples)
blocks. Rows are split into shards as TensorFlow's thread pool splits them (Eigen's
``parallelFor`` block sizes, from a cost of 50 * (samples * log2(classes) + classes) per
row and the number of intra-op threads); a shard starting at row s reads words from block
s * (samples + 3) // 4 on, two words per sample (a double in [0, 1)), row after row.
Per row: cdf = running sum of exp(logit - max finite logit) over finite logits, in double;
a sample is the first class whose cdf exceeds u * total. So TensorFlow's draws depend on
its thread count once rows are costly enough to be split; ``intra_op_threads`` says
which split to replay (the number of CPUs this process may use, as TensorFlow counts).
"""
from __future__ import annotations

import math

import numpy as np

from flowsaver.format.dtypes import from_numpy
from flowsaver.ops.random import philox
from flowsaver.ops.random import philox_fill

_MULTINOMIAL_ROW_COST = 50
# Eigen's cost model (TensorCostModel): cycles to start a parallel loop and per thread,
# and the ideal cycles per task.
_STARTUP_CYCLES = 100000
_PER_THREAD_CYCLES = 100000
_TASK_CYCLES = 40000
_MAX_OVERSHARDING = 4


def shuffle_reserved_blocks(shape) -> int:
    """Blocks ``RandomShuffle`` reserves for a value of ``shape``."""
    if len(shape) == 0 or shape[0] <= 1 or math.prod(shape) <= 1:
        return 0
    return (shape[0] - 1 + 3) // 4


def shuffle_order(key: int, counter: int, n: int) -> np.ndarray:
    """The row order TensorFlow's ``RandomShuffle`` gives n >= 2 rows: out[i] = in[order[i]]."""
    w = philox.words(key, counter, n - 1).astype(np.int64)
    steps = np.arange(n, dtype=np.int64)
    target = np.empty(n, np.int64)
    target[:-1] = steps[:-1] + w % (n - steps[:-1])
    target[-1] = n - 1  # the last row is whatever is left there
    order = np.lexsort((steps, target))  # by target, then by step
    by_target, by_step = target[order], steps[order]
    same_as_before = np.zeros(n, bool)
    same_as_before[1:] = by_target[1:] == by_target[:-1]
    # prev[i]: the latest earlier step that swapped with the same position.
    prev = np.full(n, -1, np.int64)
    prev[by_step[same_as_before]] = by_step[np.flatnonzero(same_as_before) - 1]
    # writer[p]: the latest step before p that swapped position p (p's content at step p).
    writer = np.full(n, -1, np.int64)
    ends = np.flatnonzero(np.append(by_target[:-1] != by_target[1:], True))
    group_target = by_target[ends]
    pick = ends - (by_step[ends] == group_target)  # not the step that swapped p with itself
    valid = (pick >= 0) & (by_target[np.maximum(pick, 0)] == group_target)
    writer[group_target[valid]] = by_step[pick[valid]]
    root = np.where(writer >= 0, writer, steps)
    while True:
        nxt = root[root]
        if np.array_equal(nxt, root):
            break
        root = nxt
    return np.where(prev >= 0, root[np.maximum(prev, 0)], target)


def parallel_for_blocks(n: int, cost: int, threads: int) -> list[tuple[int, int]]:
    """The [start, stop) shards TensorFlow's ``Shard`` (Eigen ``parallelFor``) makes."""
    if n <= 0:
        return []
    wanted = (n * cost - _STARTUP_CYCLES) / _PER_THREAD_CYCLES + 0.9
    if n == 1 or threads <= 1 or min(threads, max(1, int(min(wanted, 2**31 - 1)))) == 1:
        return [(0, n)]
    size = min(n, max(-(-n // (_MAX_OVERSHARDING * threads)), int(_TASK_CYCLES / cost)))
    largest = min(n, 2 * size)
    count = -(-n // size)
    best = count / (-(-count // threads) * threads)
    before = count
    while best < 1.0 and before > 1:
        coarser = -(-n // (before - 1))
        if coarser > largest:
            break
        coarser_count = -(-n // coarser)
        before = coarser_count
        efficiency = coarser_count / (-(-coarser_count // threads) * threads)
        if efficiency + 0.01 >= best:
            size, count = coarser, coarser_count
            best = max(best, efficiency)
    return [(start, min(start + size, n)) for start in range(0, n, size)]


def multinomial_reserved_blocks(batch: int, num_samples: int) -> int:
    """Blocks ``Multinomial`` reserves per run (two words per sample on the CPU)."""
    return batch * (-(-num_samples // 4) * 4 * 2) * philox_fill.RESERVED_BLOCKS_PER_OUTPUT


def multinomial(key: int, counter: int, logits: np.ndarray, num_samples: int,
                threads: int | None = None) -> np.ndarray:
    """Class indices, shape (batch, num_samples), drawn as TensorFlow's CPU kernel does."""
    batch, classes = logits.shape
    out = np.empty((batch, num_samples), np.int64)
    if out.size == 0:
        return out
    wide = logits.astype(np.float64)
    finite = np.isfinite(wide)
    lowest = float(np.iinfo(logits.dtype).min) if logits.dtype.kind in "iu" else \
        float(from_numpy(logits.dtype).min)
    top = np.where(finite, wide, -np.inf).max(axis=1)
    top = np.where(np.isneginf(top), lowest, top)
    with np.errstate(over="ignore", invalid="ignore"):
        terms = np.exp(wide - top[:, None])
    cdf = np.cumsum(np.where(finite, terms, 0.0), axis=1)
    total = cdf[:, -1]
    cost = int(_MULTINOMIAL_ROW_COST * (num_samples * math.log(classes) / math.log(2)
                                        + classes))
    threads = threads or philox_fill.intra_op_threads()
    for start, stop in parallel_for_blocks(batch, cost, threads):
        first = counter + start * (num_samples + 3) // 4
        w = philox.words(key, first, (stop - start) * num_samples * 2)
        u = philox_fill.uniform_float64(w[0::2], w[1::2]).reshape(stop - start, num_samples)
        targets = u * total[start:stop, None]
        for row in range(start, stop):
            out[row] = np.searchsorted(cdf[row], targets[row - start], side="right")
    return out
