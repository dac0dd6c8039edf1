"""``RandomGamma`` and ``RandomPoisson`` as TensorFlow's CPU kernels draw them, all
outputs at once.

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

Poisson (``RandomPoisson``, ``RandomPoissonV2``) reads its blocks the same way, double
uniforms only, in double precision with the C library's ``exp``, ``log`` and ``lgamma``:

    rate < 10 (Knuth): p = 1, k = 0; repeat: p *= uniform; stop at p <= exp(-rate); else k += 1
    otherwise (Hormann's transformed rejection): b = 0.931 + 2.53 sqrt(rate),
      a = -0.059 + 0.02483 b, 1/alpha = 1.1239 + 1.1328 / (b - 3.4); repeat:
      u = uniform - 0.5, v = uniform, s = 0.5 - |u|, k = floor((2a / s + b) u + rate + 0.43);
      take k when s >= 0.07 and v <= 0.9277 - 3.6224 / (b - 2); skip when k < 0 or
      (s < 0.013 and v > s); else take k when
      log(v / alpha / (a / s^2 + b)) <= -rate + k log(rate) - lgamma(k + 1).
    (k above the output type's largest value is drawn again.)

The value is rounded to the output type (half and bfloat16 through float, as Eigen does).
Outputs advance in lockstep, one trip of the loop at a time, so the Python loop runs about
as many times as the longest rejection streak, not once per value.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import math

import numpy as np

from flowsaver.format.dtypes import from_numpy
from flowsaver.ops.random import philox
from flowsaver.ops.random import philox_fill

RESERVED_BLOCKS_PER_OUTPUT = 256
_TWO = 2  # values per double normal or uniform block


def _libm(fn, x: np.ndarray) -> np.ndarray:
    return np.fromiter(map(fn, x.tolist()), np.float64, len(x))


def _log(x: np.ndarray) -> np.ndarray:
    """The C library's ``log``, with C's answers where ``math.log`` raises (0, negatives)."""
    out = np.where(x == 0, -np.inf, np.nan)
    positive = x > 0
    out[positive] = _libm(math.log, x[positive])
    return out


def _exp(x: np.ndarray) -> np.ndarray:
    """The C library's ``exp``, infinite where ``math.exp`` raises OverflowError."""
    out = np.full(len(x), np.inf)
    fine = x < 709.0
    out[fine] = _libm(math.exp, x[fine])
    return out


def _pow(base: np.ndarray, exponent: np.ndarray) -> np.ndarray:
    return np.fromiter(map(math.pow, base.tolist(), exponent.tolist()), np.float64, len(base))


_LIBM: list = []


def _lgamma(x: np.ndarray) -> np.ndarray:
    """The C library's ``lgamma`` (Python's ``math.lgamma`` is its own approximation)."""
    if not _LIBM:
        libm = ctypes.CDLL(ctypes.util.find_library("m"))
        libm.lgamma.restype, libm.lgamma.argtypes = ctypes.c_double, [ctypes.c_double]
        _LIBM.append(libm.lgamma)
    return np.fromiter(map(_LIBM[0], x.tolist()), np.float64, len(x))


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
            accept[check] = _log(u[check]) < 0.5 * xc * xc + dc * (1 - vc + _log(vc))
        done = tried[accept]
        value = d[done] * v[accept]
        scaled = small[done]
        if scaled.any():
            b = draws.take_uniform(done[scaled])
            value[scaled] *= _pow(b, 1 / a[done[scaled]])
        result[done] = value
        rows = np.setdiff1d(rows, done, assume_unique=True)
    return _as_output(result, len(alphas), samples, dtype)


def _as_output(result: np.ndarray, params: int, samples: int, dtype) -> np.ndarray:
    """Outputs in (sample, parameter) order, rounded to ``dtype`` as Eigen rounds a double."""
    out = result.reshape(params, samples).T.reshape(-1)
    dtype = np.dtype(dtype)
    if dtype.kind == "f" and dtype.itemsize < 4 or dtype.name == "bfloat16":
        return out.astype(np.float32).astype(dtype)  # half and bfloat16 through float
    return out.astype(dtype)


def _highest(dtype) -> float:
    dtype = np.dtype(dtype)
    if dtype.kind in "iu":
        return float(np.iinfo(dtype).max)
    return float(from_numpy(dtype).max)


def poisson(key: int, counter: int, samples: int, rate: np.ndarray, dtype) -> np.ndarray:
    """Poisson(rate) counts, shape (samples, rate.size) flattened, TensorFlow's draws."""
    rates = np.asarray(rate).reshape(-1).astype(np.float64)
    count = samples * len(rates)
    highest = _highest(dtype)
    result = np.empty(count)
    lam = np.repeat(rates, samples)
    draws = _Draws(key, counter, np.arange(count))
    # Knuth for rate < 10: multiply uniforms until the product reaches exp(-rate).
    result[np.isnan(lam)] = np.nan  # TensorFlow's loop never ends for these
    rows = np.flatnonzero(lam < 10)
    limit = _exp(-lam[rows])
    product, k = np.ones(len(rows)), np.zeros(len(rows))
    while rows.size:
        product *= draws.take_uniform(rows)
        stop = (product <= limit) & (k <= highest)
        result[rows[stop]] = k[stop]
        keep = ~stop
        rows, limit, product, k = rows[keep], limit[keep], product[keep], k[keep] + 1
    # Hormann's transformed rejection for the rest.
    rows = np.flatnonzero(lam >= 10)
    rate = lam[rows]
    log_rate = _log(rate)
    b = 0.931 + 2.53 * np.sqrt(rate)
    a = -0.059 + 0.02483 * b
    inv_alpha = 1.1239 + 1.1328 / (b - 3.4)
    while rows.size:
        u = draws.take_uniform(rows) - 0.5
        v = draws.take_uniform(rows)
        shifted = 0.5 - np.abs(u)
        with np.errstate(divide="ignore", invalid="ignore"):
            k = np.floor((2 * a / shifted + b) * u + rate + 0.43)
        fits = ~(k > highest)
        done = fits & (shifted >= 0.07) & (v <= 0.9277 - 3.6224 / (b - 2))
        test = np.flatnonzero(fits & ~done & ~((k < 0) | ((shifted < 0.013) & (v > shifted))))
        if test.size:
            ts, tk = shifted[test], k[test]
            s = _log(v[test] * inv_alpha[test] / (a[test] / (ts * ts) + b[test]))
            t = -rate[test] + tk * log_rate[test] - _lgamma(tk + 1)
            done[test] = s <= t
        result[rows[done]] = k[done]
        keep = ~done
        rows, rate, log_rate, b, a, inv_alpha = (
            rows[keep], rate[keep], log_rate[keep], b[keep], a[keep], inv_alpha[keep])
    return _as_output(result, len(rates), samples, dtype)
