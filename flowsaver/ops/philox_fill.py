"""How TensorFlow's CPU kernels turn Philox blocks into values of each distribution.

Output layout (``FillPhiloxRandom``): the output is cut into groups; group g is made from
the stream at counter + g * (blocks per group), so any split of the groups across threads
gives the same values. Fixed-size distributions use one block per group:

    distribution              group  from one block (w0, w1, w2, w3)
    uniform half / bfloat16     4    low 16 bits of each word -> mantissa bits, minus 1
    uniform float               4    low 23 bits of each word -> mantissa bits, minus 1
    uniform double              2    (w0 low 20 bits, w1) and (w2, w3) -> 52 mantissa bits
    uniform int32 / uint32      4    lo + w % (hi - lo), or the words themselves
    uniform int64 / uint64      2    lo + (w0 | w1 << 32) % (hi - lo), ...
    normal half/bfloat16/float  4    Box-Muller of (w0, w1) and of (w2, w3), in float
    normal double               2    Box-Muller of (w0 w1, w2 w3), in double

Truncated normal draws a variable number of words per group, so each group owns 256 words
per output (64 blocks per float output): group g starts reading words at block
g * 256 * group / 4 and takes Box-Muller pairs in order, keeping each value with
|x| < 2 until the group has its 4 (double: 2) values; the rest of a pair is dropped.

Box-Muller (float): u = max(uniform(w0), 1e-7); v = float(2 pi (as double) * uniform(w1));
r = sqrtf(-2 logf(u)); (sin v * r, cos v * r) with glibc's logf and sincosf
(``libm_float``). Half and bfloat16 round the float results to nearest even.
The last, partial group is computed in full and cut.
"""
from __future__ import annotations

import math

import ml_dtypes
import numpy as np

from flowsaver.ops import libm_float, philox

RESERVED_WORDS_PER_OUTPUT = 256  # TensorFlow's reservation per output value and per group
_FLOAT_EPSILON = np.float32(1e-7)
_TWO_PI = 2 * math.pi
_BFLOAT16 = np.dtype(ml_dtypes.bfloat16)
_WIDE = {np.dtype(np.float64), np.dtype(np.int64), np.dtype(np.uint64)}


def group_size(dtype) -> int:
    """Values per block (and per group) for ``dtype``: 2 for 64-bit types, else 4."""
    return 2 if np.dtype(dtype) in _WIDE else 4


def reserved_blocks(size: int) -> int:
    """Blocks a stateful op reserves per run for ``size`` outputs (256 per output)."""
    return size * RESERVED_WORDS_PER_OUTPUT


# ---- words to values -----------------------------------------------------------------------
def uniform_float32(w: np.ndarray) -> np.ndarray:
    return ((w & np.uint32(0x7FFFFF)) | np.uint32(0x3F800000)).view(np.float32) - \
        np.float32(1.0)


def uniform_half(w: np.ndarray) -> np.ndarray:
    bits = ((w & np.uint32(0x3FF)) | np.uint32(0x3C00)).astype(np.uint16)
    return bits.view(np.float16) - np.float16(1.0)


def uniform_bfloat16(w: np.ndarray) -> np.ndarray:
    # 1.m - 1 is exact in float32 and in bfloat16, so the cast does not round.
    bits = ((w & np.uint32(0x7F)) << np.uint32(16)) | np.uint32(0x3F800000)
    return (bits.view(np.float32) - np.float32(1.0)).astype(_BFLOAT16)


def uniform_float64(hi_word: np.ndarray, lo_word: np.ndarray) -> np.ndarray:
    bits = (hi_word.astype(np.uint64) & np.uint64(0xFFFFF)) << np.uint64(32)
    bits |= lo_word.astype(np.uint64)
    bits |= np.uint64(0x3FF << 52)
    return bits.view(np.float64) - 1.0


def box_muller_float(w0: np.ndarray, w1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """TensorFlow's float Box-Muller of two word arrays: two float32 normal arrays."""
    u = np.maximum(uniform_float32(w0), _FLOAT_EPSILON)
    v = (uniform_float32(w1).astype(np.float64) * _TWO_PI).astype(np.float32)
    r = libm_float.logf(u)
    r *= np.float32(-2.0)
    np.sqrt(r, out=r)
    sin_v, cos_v = libm_float.sincosf(v)
    sin_v *= r
    cos_v *= r
    return sin_v, cos_v


def box_muller_double(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """TensorFlow's double Box-Muller of (n, 4) words: two float64 normal arrays."""
    u = np.maximum(uniform_float64(w[:, 0], w[:, 1]), 1e-7)
    v = _TWO_PI * uniform_float64(w[:, 2], w[:, 3])
    r = np.sqrt(-2.0 * libm_float.log_double(u))
    sin_v, cos_v = libm_float.sincos_double(v)
    return sin_v * r, cos_v * r


def _pairs_float(b: np.ndarray) -> np.ndarray:
    """Float normals of (n, 4) blocks: (n, 4) float32, pair (w0, w1) then (w2, w3)."""
    f0, f1 = box_muller_float(b[:, 0::2].reshape(-1), b[:, 1::2].reshape(-1))
    return np.stack([f0, f1], axis=1).reshape(len(b), 4)


def _normal_block_values(b: np.ndarray, dtype: np.dtype) -> np.ndarray:
    if dtype == np.float64:
        return np.stack(box_muller_double(b), axis=1)
    return _pairs_float(b).astype(dtype)


def _uniform_block_values(b: np.ndarray, dtype: np.dtype) -> np.ndarray:
    if dtype == np.float32:
        return uniform_float32(b)
    if dtype == np.float16:
        return uniform_half(b)
    if dtype == _BFLOAT16:
        return uniform_bfloat16(b)
    if dtype == np.float64:
        return uniform_float64(b[:, 0::2], b[:, 1::2])
    raise TypeError(f"no Philox uniform for {dtype}")


def _wide_words(b: np.ndarray) -> np.ndarray:
    """(n, 4) words as (n, 2) uint64: w0 | w1 << 32 and w2 | w3 << 32."""
    wide = b.astype(np.uint64)
    return wide[:, 0::2] | (wide[:, 1::2] << np.uint64(32))


# ---- fills ----------------------------------------------------------------------------------
def _fixed(key: int, counter: int, size: int, dtype, per_block) -> np.ndarray:
    dtype = np.dtype(dtype)
    group = group_size(dtype)
    count = -(-size // group)
    out = np.empty(count * group, dtype)
    step = philox.CHUNK
    for start in range(0, count, step):
        stop = min(start + step, count)
        b = philox.blocks(key, counter + start, stop - start)
        out[start * group:stop * group] = per_block(b).reshape(-1)
    return out[:size]


def uniform(key: int, counter: int, size: int, dtype) -> np.ndarray:
    """``RandomUniform`` values in [0, 1) (half, bfloat16, float, double)."""
    dtype = np.dtype(dtype)
    return _fixed(key, counter, size, dtype, lambda b: _uniform_block_values(b, dtype))


def normal(key: int, counter: int, size: int, dtype) -> np.ndarray:
    """``RandomStandardNormal`` values (half, bfloat16, float, double)."""
    dtype = np.dtype(dtype)
    return _fixed(key, counter, size, dtype, lambda b: _normal_block_values(b, dtype))


def uniform_int(key: int, counter: int, size: int, lo: int, hi: int, dtype) -> np.ndarray:
    """``RandomUniformInt`` values in [lo, hi): lo + sample % (hi - lo), TensorFlow's way."""
    dtype = np.dtype(dtype)
    if dtype.itemsize == 8:
        span = np.uint64((hi - lo) & philox.MASK64)
        base = np.uint64(lo & philox.MASK64)
        return _fixed(key, counter, size, dtype,
                      lambda b: ((_wide_words(b) % span) + base).view(dtype))
    span = np.uint32((hi - lo) & philox.MASK32)
    return _fixed(key, counter, size, dtype,
                  lambda b: ((b % span).astype(np.int64) + lo).astype(dtype))


def full_int(key: int, counter: int, size: int, dtype) -> np.ndarray:
    """Uniform integers over the whole range of ``dtype`` (the words themselves)."""
    dtype = np.dtype(dtype)
    if dtype.itemsize == 8:
        return _fixed(key, counter, size, dtype, lambda b: _wide_words(b).view(dtype))
    return _fixed(key, counter, size, dtype, lambda b: b.view(dtype))


def truncated_normal(key: int, counter: int, size: int, dtype) -> np.ndarray:
    """``TruncatedNormal`` values: normals kept when |x| < 2, drawn group by group."""
    dtype = np.dtype(dtype)
    group = group_size(dtype)
    count = -(-size // group)
    stride = group * RESERVED_WORDS_PER_OUTPUT // 4  # blocks each group owns
    out = np.empty((count, group), dtype)
    filled = np.zeros(count, np.int64)
    active = np.arange(count, dtype=np.int64)
    block = 0
    while active.size:
        offsets = active.astype(np.uint64) * np.uint64(stride) + np.uint64(block)
        b = philox.blocks_at(key, counter, offsets)
        if dtype == np.float64:
            values = np.stack(box_muller_double(b), axis=1)
        else:
            values = _pairs_float(b)
        keep = np.abs(values) < 2.0
        rank = np.cumsum(keep, axis=1)
        have = filled[active]
        take = keep & (rank <= (group - have)[:, None])
        rows = np.broadcast_to(active[:, None], take.shape)[take]
        cols = (have[:, None] + rank - 1)[take]
        out[rows, cols] = values[take].astype(dtype)
        filled[active] = have + take.sum(axis=1)
        active = active[filled[active] < group]
        block += 1
    return out.reshape(-1)[:size]
