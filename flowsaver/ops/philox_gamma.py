"""``RandomGamma`` as TensorFlow's CPU kernel draws it, all outputs at once.

The kernel reserves 256 blocks per output value. Output o = a * samples + s (alpha a,
sample s; it lands at s * alphas + a) reads blocks from counter + 256 o on, one block per
call of its double normal (two values: Box-Muller of w0 w1, w2 w3) or double uniform (two
values) distribution, in the order the loop below calls them, using each result's values
from the last to the first. Everything is double precision, with the C library's ``log``,
``log1p`` and ``pow``:

    alpha == 1:  u = uniform; value = -log1p(-u)
    otherwise (Marsaglia and Tsang): d = alpha + (2/3 if alpha < 1 else -1/3),
      c = 1/3 / sqrt(d); repeat: x = normal; v = 1 + c x; if v <= 0 try again;
      v = v^3; u = uniform; accept when u < 1 - 0.0331 x^4 or
      log u < x^2 / 2 + d (1 - v + log v); value = d v, times uniform^(1 / alpha) when
      alpha < 1.

The value is rounded to the output type (half and bfloat16 through float, as Eigen does).
Outputs advance in lockstep, one trip of the loop at a time, so the Python loop runs about
as many times as the longest rejection streak, not once per value.
"""
from __future__ import annotations

import math

import numpy as np

from flowsaver.ops import philox, philox_fill

RESERVED_BLOCKS_PER_OUTPUT = 256
_TWO = 2  # values per double normal or uniform block


def _libm(fn, x: np.ndarray) -> np.ndarray:
    return np.fromiter(map(fn, x.tolist()), np.float64, len(x))


def _pow(base: np.ndarray, exponent: np.ndarray) -> np.ndarray:
    return np.fromiter(map(math.pow, base.tolist(), exponent.tolist()), np.float64, len(base))


class _Draws:
    """Per output: the next block to read and the unread values of its last normal and
    uniform blocks (TensorFlow takes them from the end)."""

    def __init__(self, key: int, counter: int, outputs: np.ndarray):
        n = len(outputs)
        self.key, self.counter = key, counter
        self.next_block = outputs.astype(np.uint64) * np.uint64(RESERVED_BLOCKS_PER_OUTPUT)
        self.normal = np.zeros((n, _TWO))
        self.normal_left = np.zeros(n, np.int64)
        self.uniform = np.zeros((n, _TWO))
        self.uniform_left = np.zeros(n, np.int64)

    def _blocks(self, rows: np.ndarray):
        b = philox.blocks_at(self.key, self.counter, self.next_block[rows])
        self.next_block[rows] += np.uint64(1)
        return b

    def take_normal(self, rows: np.ndarray) -> np.ndarray:
        empty = rows[self.normal_left[rows] == 0]
        if empty.size:
            b = self._blocks(empty)
            self.normal[empty] = np.stack(philox_fill.box_muller_double(
                b[:, 0], b[:, 1], b[:, 2], b[:, 3]), axis=1)
            self.normal_left[empty] = _TWO
        self.normal_left[rows] -= 1
        return self.normal[rows, self.normal_left[rows]]

    def take_uniform(self, rows: np.ndarray) -> np.ndarray:
        empty = rows[self.uniform_left[rows] == 0]
        if empty.size:
            b = self._blocks(empty)
            self.uniform[empty] = philox_fill.uniform_float64(b[:, 0::2], b[:, 1::2])
            self.uniform_left[empty] = _TWO
        self.uniform_left[rows] -= 1
        return self.uniform[rows, self.uniform_left[rows]]


def gamma(key: int, counter: int, samples: int, alpha: np.ndarray, dtype) -> np.ndarray:
    """Gamma(alpha) values, shape (samples, alpha.size) flattened, TensorFlow's draws."""
    alphas = np.asarray(alpha).reshape(-1).astype(np.float64)
    count = samples * len(alphas)
    result = np.empty(count)
    a = np.repeat(alphas, samples)  # per output o = alpha index * samples + sample
    draws = _Draws(key, counter, np.arange(count))
    rows = np.flatnonzero(a == 1.0)
    if rows.size:
        result[rows] = -_libm(math.log1p, -draws.take_uniform(rows))
    rows = np.flatnonzero(a != 1.0)
    small = a < 1
    d = a + np.where(small, 2.0 / 3, -1.0 / 3)
    c = 1.0 / 3 / np.sqrt(d)
    while rows.size:
        x = draws.take_normal(rows)
        v = 1 + c[rows] * x
        trying = np.flatnonzero(v > 0)  # the others draw another normal
        tried, x, v = rows[trying], x[trying], v[trying]
        v = v * v * v
        u = draws.take_uniform(tried)
        accept = u < 1 - 0.0331 * (x * x) * (x * x)
        check = np.flatnonzero(~accept)
        if check.size:
            dc, vc, xc = d[tried[check]], v[check], x[check]
            accept[check] = _libm(math.log, u[check]) < \
                0.5 * xc * xc + dc * (1 - vc + _libm(math.log, vc))
        done = tried[accept]
        value = d[done] * v[accept]
        scaled = small[done]
        if scaled.any():
            b = draws.take_uniform(done[scaled])
            value[scaled] *= _pow(b, 1 / a[done[scaled]])
        result[done] = value
        rows = np.setdiff1d(rows, done, assume_unique=True)
    out = result.reshape(len(alphas), samples).T.reshape(-1)
    dtype = np.dtype(dtype)
    if dtype.itemsize < 4:  # Eigen's half and bfloat16 round a double through float
        return out.astype(np.float32).astype(dtype)
    return out.astype(dtype)
