"""TensorFlow's float Box-Muller, fast: glibc's ``logf``/``sincosf`` steps regrouped exactly.

The float transform turns the words (w0, w1) of a pair into (sin v * r, cos v * r) with

    u = max(m0 / 2**23, 1e-7)   r = sqrtf(-2 logf(u))      m0 = w0 & 0x7fffff
    v = float(2 pi * m1 / 2**23)   (sin v, cos v) = sincosf(v)   m1 = w1 & 0x7fffff

``libm_float`` replays glibc's ``logf`` and ``sincosf`` step by step; this module computes
the same doubles with fewer NumPy passes, on pieces of ``PIECE`` (or, for threads sharing a
draw, ``MAX_PIECE``) blocks, in scratch arrays each thread allocates once (``Workspace``,
about 2 or 4 MiB): temporaries the size of a whole chunk left the CPU's caches, and fresh
ones cost page faults on every chunk. No lookup
table of results is kept. The regroupings are exact, so the bits are the replica's:

- ``logf``: the value wanted is -2 logf(u) = round(-2 y), y being glibc's double. The same
  operations give -2 y exactly when their constants are scaled by powers of two (1/c and
  log c by -2, the coefficients A0, A1, A2 by -1/8, 1/4, -1/2, the "- 1" becomes "+ 2"):
  scaling by a power of two commutes with each rounding (nothing here comes near the
  subnormal range). That saves the multiplication by -2 before the square root.
- ``sincosf``: v lies in [0, 2 pi), so glibc's quadrant n = round(v * 2/pi) is one of 0..4;
  it equals (m1 + 2**20) >> 21 (checked for all 2**23 values of m1, below); n pi/2 is
  float(n) * glibc's pi/2. The quadrant's swap and signs are applied to the float bits
  with integer operations on n. glibc returns (v, 1) for v < 2**-12; the polynomials
  round to the same floats there, so that case needs no branch.

``tools/check_box_muller.py`` compares this module with the step-by-step replica on every
one of the 2**23 inputs of each function (``make check-box-muller``; the replica itself is
checked against the C library by ``tools/check_libm_float.py``); tests sample it.
"""
from __future__ import annotations

import math
import threading

import numpy as np

from flowsaver.ops.random import libm_float as libm

PIECE = 8192  # blocks per piece: 16384 pairs, float64 scratch arrays of 128 KiB
MAX_PIECE = 2 * PIECE  # the pieces of the larger chunks threads take (see ``normals``)
MANTISSA = np.uint64(0x7FFFFF)
_STEP = np.float32(2.0 ** -23)  # uniform(w) = m / 2**23, exactly
_FLOAT_EPSILON = np.float32(1e-7)
_TWO_PI_ULP = 2 * math.pi * 2.0 ** -23

# logf, scaled: index = (bits(u) + _LOG_INDEX_BIAS) >> 19 is glibc's table index shifted
# to start at 0 (libm's tables are indexed from -4096 subintervals).
_LOG_INDEX_BIAS = (4096 << 19) - libm._LOGF_OFF
_NEG2_SCALE = libm._LOGF_SCALE * -2.0  # -2/c * 2**-k: u * it = -2 z/c exactly
_NEG2_BASE = libm._LOGF_BASE * -2.0  # -2 (log c + k ln 2)
_A0_SCALED, _A1_SCALED, _A2_SCALED = libm._LOGF_A0 / -8, libm._LOGF_A1 / 4, libm._LOGF_A2 / -2

_QUADRANT_ROUNDING = 1 << 20  # n = (m1 + 2**20) >> 21


class Workspace:
    """Scratch arrays for one thread's pieces (``values`` mantissas at a time), allocated
    once: fresh temporaries of this size cost page faults on every piece (the allocator
    gives them back to the system)."""

    def __init__(self, values: int = 2 * PIECE):
        self.values = values
        self.mantissas = np.empty(values, np.uint32)
        self.index = np.empty(values, np.int64)
        self.single = np.empty(values, np.float32)
        self.radius = np.empty(values, np.float32)
        self.pairs = [np.empty(2 * values) for _ in range(4)]
        # radius's temporaries share memory with sin_cos's (the two never overlap): the
        # smaller the footprint, the more of a piece stays in the L2 cache
        self.a, self.b = self.pairs[0][:values], self.pairs[0][values:]
        self.c, self.d = self.pairs[1][:values], self.pairs[1][values:]
        self.start = np.empty(values)
        self.sin_cos = np.empty(2 * values, np.float32)
        self.quadrant = np.empty(values, np.uint32)
        self.trade = np.empty(values, np.uint32)
        self.mask = np.empty(values, np.uint32)


_LOCAL = threading.local()


def workspace(values: int = 2 * PIECE) -> Workspace:
    """This thread's workspace, for at least ``values`` mantissas (made again larger when a
    larger piece comes)."""
    w = getattr(_LOCAL, "workspace", None)
    if w is None or w.values < values:
        w = _LOCAL.workspace = Workspace(max(values, 2 * PIECE))
    return w


def minus_two_logf(u: np.ndarray, w: Workspace, out: np.ndarray) -> None:
    """``out`` = -2 logf(u) (float32) for float32 u in [1e-7, 1) (glibc's bits, times -2)."""
    c = len(u)
    idx = w.index[:c]
    np.add(u.view(np.int32), np.int64(_LOG_INDEX_BIAS), out=idx)
    idx >>= 19
    r, s, q, y = w.a[:c], w.b[:c], w.c[:c], w.d[:c]
    np.copyto(r, u)
    np.take(_NEG2_SCALE, idx, out=s, mode="clip")
    r *= s
    r += 2.0  # r = -2 (z/c - 1)
    np.multiply(r, r, out=q)
    np.multiply(r, _A1_SCALED, out=y)
    y += _A2_SCALED
    np.multiply(q, _A0_SCALED, out=s)
    y += s
    y *= q
    np.take(_NEG2_BASE, idx, out=s, mode="clip")
    s += r
    y += s
    np.copyto(out, y, casting="same_kind")


def radius(m0: np.ndarray, w: Workspace | None = None) -> np.ndarray:
    """r = sqrtf(-2 logf(max(m0 / 2**23, 1e-7))) for a 1-D array of mantissas (uint32 is
    fastest), in the workspace when one is given."""
    w = w or Workspace(len(m0))
    c = len(m0)
    u = w.single[:c]
    np.copyto(u, m0, casting="unsafe")  # exact: m0 < 2**23
    u *= _STEP
    np.maximum(u, _FLOAT_EPSILON, out=u)
    r = w.radius[:c]
    minus_two_logf(u, w, r)
    np.sqrt(r, out=r)
    return r


def sin_cos(m1: np.ndarray, w: Workspace | None = None) -> np.ndarray:
    """sincosf(float(2 pi m1 / 2**23)) for a 1-D array of mantissas (uint32 is fastest):
    (2, n) float32 [sin; cos], in the workspace when one is given."""
    w = w or Workspace(len(m1))
    c = len(m1)
    powers, low, high, top = (b[:2 * c].reshape(2, c) for b in w.pairs)
    x, start = powers[1], w.start[:c]
    np.copyto(x, m1)
    x *= _TWO_PI_ULP
    v = w.single[:c]
    np.copyto(v, x, casting="same_kind")
    np.copyto(x, v)  # v, in double
    n = w.quadrant[:c]
    np.add(m1, _QUADRANT_ROUNDING, out=n, casting="unsafe")
    n >>= 21
    np.copyto(start, n)
    start *= libm._HALF_PI  # n pi/2, as glibc rounds it
    x -= start  # the reduced argument
    x2 = np.multiply(x, x, out=powers[0])  # powers = [x^2; x]
    np.multiply(powers, x2, out=low)  # [x^4; x^3]
    np.multiply(x2, libm._POLY_HIGH, out=high)
    high += libm._POLY_MID
    np.multiply(low, x2, out=top)  # [x^6; x^5]
    x2 *= libm._C1
    x2 += libm._C0  # powers = [C0 + x^2 C1; x]
    low *= libm._POLY_LOW
    low += powers
    top *= high
    low += top  # [cos x; sin x]
    value = low
    out = w.sin_cos[:2 * c].reshape(2, c)
    np.copyto(out[::-1], value, casting="same_kind")
    sin_bits, cos_bits = out.view(np.uint32)
    trade, mask = w.trade[:c], w.mask[:c]
    np.left_shift(n, 31, out=mask)
    mask.view(np.int32)[...] >>= 31  # all ones for odd n: sin and cos trade places
    np.bitwise_xor(sin_bits, cos_bits, out=trade)
    trade &= mask
    sin_bits ^= trade
    cos_bits ^= trade
    np.bitwise_and(n, 2, out=mask)
    mask <<= 30
    sin_bits ^= mask  # sin < 0 for n = 2, 3
    n += 1
    n &= 2
    n <<= 30
    cos_bits ^= n  # cos < 0 for n = 1, 2
    return out


def normals(x: np.ndarray, y: np.ndarray, dest: np.ndarray) -> None:
    """Box-Muller of m blocks given as x = [w0; w2], y = [w1; w3] ((2, m) uint64 words)
    into ``dest`` ((m, 4) float32): (w0, w1) -> columns 0, 1, (w2, w3) -> columns 2, 3.

    A chunk goes in two pieces (at least ``PIECE``, at most ``MAX_PIECE`` blocks each):
    one thread drawing alone is fastest with the smaller pieces, which stay in its L2
    cache; threads sharing a draw take chunks twice as large, and the larger pieces halve
    the NumPy calls, each of which may wait for the GIL (``philox_fill._run_chunks``)."""
    blocks = x.shape[1]
    piece = min(MAX_PIECE, max(PIECE, -(-blocks // 2)))
    w = workspace(2 * min(piece, blocks))
    for start in range(0, blocks, piece):
        stop = min(start + piece, blocks)
        size = stop - start
        m = w.mantissas[:2 * size]
        np.bitwise_and(x[:, start:stop], MANTISSA, out=m.reshape(2, size), casting="unsafe")
        r = radius(m, w).reshape(2, size)  # one radius per pair
        np.bitwise_and(y[:, start:stop], MANTISSA, out=m.reshape(2, size), casting="unsafe")
        sc = sin_cos(m, w).reshape(2, 2, size)  # [sin; cos] x pair
        # one multiply per output column: long strided loops (a broadcast over the pair
        # axis would run NumPy's inner loop two elements at a time)
        for pair in range(2):
            for k in range(2):
                np.multiply(sc[k, pair], r[pair], out=dest[start:stop, 2 * pair + k])
