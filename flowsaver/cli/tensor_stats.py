"""Summary statistics of one tensor, for `flowsaver inspect --stats`: min, max, mean and
(population) standard deviation of its finite values, and how many are NaN or infinite.

Computed in float64 (complex: of the magnitudes) over pieces of CHUNK elements, so the
temporaries stay small whatever the tensor's size; the standard deviation takes a second
pass over the pieces around the mean (no cancellation from summing squares).
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np

CHUNK = 1 << 20


@dataclasses.dataclass(frozen=True)
class TensorStats:
    count: int          # finite values the numbers below are of
    min: float | None   # None when there is no finite value
    max: float | None
    mean: float | None
    std: float | None
    nan: int
    inf: int

    def as_json(self) -> dict:
        return dataclasses.asdict(self)


def _pieces(flat: np.ndarray):
    for start in range(0, flat.size, CHUNK):
        piece = flat[start:start + CHUNK]
        yield (np.abs(piece) if piece.dtype.kind == "c" else piece).astype(np.float64)


def tensor_stats(value) -> TensorStats | None:
    """Statistics of a numeric (or bool) tensor; None for strings and variants."""
    array = np.asarray(value)
    if array.dtype == object or array.dtype.kind in "SUV":
        return None
    flat = array.reshape(-1)
    if array.dtype.kind == "c":   # NaN/inf of complex numbers: in either part
        nan = int(np.count_nonzero(np.isnan(flat)))
        inf = int(np.count_nonzero(np.isinf(flat) & ~np.isnan(flat)))
    else:
        nan = inf = 0
    count, total = 0, 0.0
    low, high = math.inf, -math.inf
    with np.errstate(over="ignore", invalid="ignore"):
        for piece in _pieces(flat):
            finite = piece[np.isfinite(piece)]
            if array.dtype.kind != "c":
                nan += int(np.count_nonzero(np.isnan(piece)))
                inf += int(np.count_nonzero(np.isinf(piece)))
            if finite.size:
                count += finite.size
                total += float(finite.sum())
                low, high = min(low, float(finite.min())), max(high, float(finite.max()))
        if not count:
            return TensorStats(0, None, None, None, None, nan, inf)
        mean = total / count
        squares = 0.0
        for piece in _pieces(flat):
            finite = piece[np.isfinite(piece)]
            squares += float(np.square(finite - mean).sum())
    return TensorStats(count, low, high, mean, math.sqrt(squares / count), nan, inf)
