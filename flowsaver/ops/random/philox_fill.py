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
(``libm_float`` step by step in ``box_muller_float``; ``box_muller`` computes the same bits
faster, and draws use it). Half and bfloat16 round the float results to nearest even.
The last, partial group is computed in full and cut.
"""
from __future__ import annotations

import math
import os
import sys
import threading

import numpy as np

from flowsaver.ops import blas_threads
from flowsaver.ops.random import box_muller, libm_float
from flowsaver.ops.random import philox

RESERVED_BLOCKS_PER_OUTPUT = 256  # a stateful op's reservation per output value and run
TRUNCATED_WORDS_PER_OUTPUT = 256  # the words each truncated-normal output may read
_FLOAT_EPSILON = np.float32(1e-7)
_TWO_PI = 2 * math.pi
_TWO_PI_ULP = _TWO_PI * 2.0 ** -23  # 2 pi times one float32 step of [1, 2)
_MANTISSA = np.uint32(0x7FFFFF)
_MANTISSA_PAIR = np.uint64(0x007FFFFF_007FFFFF)
_ONE_BITS_PAIR = np.uint64(0x3F800000_3F800000)
_SHIFT32 = np.uint64(32)
_ONE_BITS = np.uint32(0x3F800000)
_WIDE = {np.dtype(np.float64), np.dtype(np.int64), np.dtype(np.uint64)}
_LOCAL = threading.local()


def group_size(dtype) -> int:
    """Values per block (and per group) for ``dtype``: 2 for 64-bit types, else 4."""
    return 2 if np.dtype(dtype) in _WIDE else 4


def reserved_blocks(size: int) -> int:
    """Blocks a stateful op reserves per run for ``size`` outputs (256 per output)."""
    return size * RESERVED_BLOCKS_PER_OUTPUT


# ---- words to values -----------------------------------------------------------------------
def _u32(w: np.ndarray) -> np.ndarray:
    return w if w.dtype == np.uint32 else w.astype(np.uint32)


def uniform_float32(w: np.ndarray) -> np.ndarray:
    bits = _u32(w) & _MANTISSA
    bits |= _ONE_BITS
    values = bits.view(np.float32)
    values -= np.float32(1.0)
    return values


def uniform_half(w: np.ndarray) -> np.ndarray:
    bits = ((_u32(w) & np.uint32(0x3FF)) | np.uint32(0x3C00)).astype(np.uint16)
    return bits.view(np.float16) - np.float16(1.0)


def _bfloat16() -> np.dtype:
    # ml_dtypes is slow to import: loaded only when a bfloat16 draw is asked for
    import ml_dtypes
    return np.dtype(ml_dtypes.bfloat16)


def uniform_bfloat16(w: np.ndarray) -> np.ndarray:
    # 1.m - 1 is exact in float32 and in bfloat16, so the cast does not round.
    bits = ((_u32(w) & np.uint32(0x7F)) << np.uint32(16)) | _ONE_BITS
    return (bits.view(np.float32) - np.float32(1.0)).astype(_bfloat16())


def uniform_float64(hi_word: np.ndarray, lo_word: np.ndarray) -> np.ndarray:
    bits = (hi_word.astype(np.uint64) & np.uint64(0xFFFFF)) << np.uint64(32)
    bits |= lo_word.astype(np.uint64)
    bits |= np.uint64(0x3FF << 52)
    return bits.view(np.float64) - 1.0


def box_muller_float(w0: np.ndarray, w1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """TensorFlow's float Box-Muller of two word arrays: two float32 normal arrays."""
    # uniform(w) = m / 2**23 exactly, m the word's 23 low bits; u < 1 always.
    u = (w0 & w0.dtype.type(_MANTISSA)).astype(np.float32)
    u *= np.float32(2.0**-23)
    np.maximum(u, _FLOAT_EPSILON, out=u)
    r = libm_float.logf_below_one(u)
    r *= np.float32(-2.0)
    np.sqrt(r, out=r)
    # float(2 pi * (m / 2**23)): one rounding of the double product, as in C.
    v = (w1 & w1.dtype.type(_MANTISSA)).astype(np.float64)
    v *= _TWO_PI_ULP
    rows = libm_float.sincosf_rows(v.astype(np.float32))
    rows *= r
    return rows[0], rows[1]


def box_muller_double(w0, w1, w2, w3) -> tuple[np.ndarray, np.ndarray]:
    """TensorFlow's double Box-Muller of four word arrays: two float64 normal arrays."""
    u = np.maximum(uniform_float64(w0, w1), 1e-7)
    v = _TWO_PI * uniform_float64(w2, w3)
    r = np.sqrt(-2.0 * libm_float.log_double(u))
    sin_v, cos_v = libm_float.sincos_double(v)
    return sin_v * r, cos_v * r


def _wide(lo_word: np.ndarray, hi_word: np.ndarray) -> np.ndarray:
    return lo_word.astype(np.uint64) | (hi_word.astype(np.uint64) << np.uint64(32))


# ---- per-block transforms: words x = [w0; w2], y = [w1; w3] of m blocks -> dest (m, group)
def _put4(a: np.ndarray, b: np.ndarray, dest: np.ndarray) -> None:
    """dest[:, 0..3] = a[0], b[0], a[1], b[1] (values made from w0, w1, w2, w3)."""
    dest[:, 0], dest[:, 1], dest[:, 2], dest[:, 3] = a[0], b[0], a[1], b[1]


def _uniform_float32_values(x, y, dest) -> None:
    """uniform_float32 of the words x = [w0; w2], y = [w1; w3] into dest (m, 4), two words
    at a time: (w0, w1) and (w2, w3) packed into one uint64 are, in memory, two adjacent
    float32 values of dest (little-endian), so both get their mantissa bits and exponent
    in one operation and land in dest with one 8-byte strided write."""
    packed = _uniform_scratch(x.shape[1])
    np.left_shift(y, _SHIFT32, out=packed)
    np.bitwise_or(packed, x, out=packed)
    np.bitwise_and(packed, _MANTISSA_PAIR, out=packed)
    np.bitwise_or(packed, _ONE_BITS_PAIR, out=dest.view(np.uint64).T)
    dest -= np.float32(1.0)


def _uniform_scratch(m: int) -> np.ndarray:
    """A (2, m) uint64 scratch array: for a full chunk a view of this thread's own (made
    once), else a fresh one."""
    if m not in (philox.CHUNK, philox.SPLIT_CHUNK):
        return np.empty((2, m), np.uint64)
    packed = getattr(_LOCAL, "uniform_scratch", None)
    if packed is None:
        packed = _LOCAL.uniform_scratch = np.empty((2, philox.SPLIT_CHUNK), np.uint64)
    return packed[:, :m]


def _uniform_values(dtype: np.dtype):
    if dtype == np.float64:
        def values(x, y, dest):
            dest[:] = uniform_float64(x, y).T
        return values
    if dtype == np.float32 and sys.byteorder == "little":
        return _uniform_float32_values
    per_word = {"float32": uniform_float32, "float16": uniform_half,
                "bfloat16": uniform_bfloat16}.get(np.dtype(dtype).name)
    if per_word is None:
        raise TypeError(f"no Philox uniform for {dtype}")
    return lambda x, y, dest: _put4(per_word(x), per_word(y), dest)


def _normal_values(dtype: np.dtype):
    if dtype == np.float64:
        def values(x, y, dest):
            dest[:, 0], dest[:, 1] = box_muller_double(x[0], y[0], x[1], y[1])
        return values

    def values(x, y, dest):
        if dest.dtype == np.float32:
            box_muller.normals(x, y, dest)
        else:  # half, bfloat16: the float values rounded
            wide = np.empty(dest.shape, np.float32)
            box_muller.normals(x, y, wide)
            dest[:] = wide
    return values


def intra_op_threads() -> int:
    """The intra-op thread count TensorFlow would use here: the CPUs this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _run_chunks(count: int, work, values: int) -> None:
    """``work(start, stop)`` over chunks of ``range(count)`` (blocks making ``values``
    values); each chunk writes its own part of the output, so any order gives the same.

    One thread alone takes chunks of ``philox.CHUNK`` blocks in order: its arrays stay in
    its L2 cache. When the run may split elementwise work (``blas_threads``: large draws,
    cores to spare) chunks of ``philox.SPLIT_CHUNK`` blocks are handed out one by one to
    this thread and the pool's. NumPy releases the GIL inside each call, but a thread that
    finds the GIL taken when a call ends sleeps until it is handed over, and the wake-up
    costs more than a short call: on an idle 2-core machine 10 million float32 normals
    took 205-211 ms on one thread, 213-262 ms on two with the one-thread chunks (calls of
    5-15 us), and 150-166 ms on two with chunks and Box-Muller pieces twice as large;
    with the interpreter's switch interval shortened while they run (``short_calls``),
    134-137 ms against 148-150 ms with the default."""
    workers = blas_threads.elementwise_workers(values)
    chunk = philox.SPLIT_CHUNK if workers > 1 else philox.CHUNK
    parts = [(start, min(start + chunk, count)) for start in range(0, count, chunk)]
    if workers > 1 and len(parts) > 1:
        blas_threads.split(lambda part: work(*part), parts, short_calls=True)
        return
    for start, stop in parts:
        work(start, stop)


def _buffers(blocks: int):
    """This thread's reusable Philox arrays for a full chunk, else None (fresh ones)."""
    if blocks in (philox.CHUNK, philox.SPLIT_CHUNK):
        return philox.chunk_buffers(blocks)
    return None


def _fixed(key: int, counter: int, size: int, dtype, per_block) -> np.ndarray:
    """``size`` values made by ``per_block`` from one block per group, as TensorFlow's
    ``FillPhiloxRandom`` lays them out."""
    dtype = np.dtype(dtype)
    group = group_size(dtype)
    count = -(-size // group)
    out = np.empty((count, group), dtype)

    def work(start, stop):
        x, y = philox.consecutive_words(key, counter + start, stop - start,
                                        buffers=_buffers(stop - start))
        per_block(x, y, out[start:stop])
    _run_chunks(count, work, size)
    return out.reshape(-1)[:size]


def uniform(key: int, counter: int, size: int, dtype) -> np.ndarray:
    """``RandomUniform`` values in [0, 1) (half, bfloat16, float, double)."""
    dtype = np.dtype(dtype)
    return _fixed(key, counter, size, dtype, _uniform_values(dtype))


def normal(key: int, counter: int, size: int, dtype) -> np.ndarray:
    """``RandomStandardNormal`` values (half, bfloat16, float, double)."""
    dtype = np.dtype(dtype)
    return _fixed(key, counter, size, dtype, _normal_values(dtype))


def uniform_int(key: int, counter: int, size: int, lo: int, hi: int, dtype) -> np.ndarray:
    """``RandomUniformInt`` values in [lo, hi): lo + sample % (hi - lo), TensorFlow's way."""
    dtype = np.dtype(dtype)
    if dtype.itemsize == 8:
        span = np.uint64((hi - lo) & philox.MASK64)
        base = np.uint64(lo & philox.MASK64)

        def wide(x, y, dest):
            dest[:] = ((_wide(x, y) % span + base).view(dtype)).T
        return _fixed(key, counter, size, dtype, wide)
    span = np.uint64((hi - lo) & philox.MASK32)
    return _fixed(key, counter, size, dtype, lambda x, y, dest: _put4(
        (x % span).astype(np.int64) + lo, (y % span).astype(np.int64) + lo, dest))


def full_int(key: int, counter: int, size: int, dtype) -> np.ndarray:
    """Uniform integers over the whole range of ``dtype`` (the words themselves)."""
    dtype = np.dtype(dtype)
    if dtype.itemsize == 8:
        def wide(x, y, dest):
            dest[:] = _wide(x, y).view(dtype).T
        return _fixed(key, counter, size, dtype, wide)
    return _fixed(key, counter, size, dtype, lambda x, y, dest: _put4(
        x.astype(np.uint32).view(dtype), y.astype(np.uint32).view(dtype), dest))


def _block_words(key: int, counter: int, offsets: np.ndarray) -> tuple:
    b = philox.blocks_at(key, counter, offsets).T.astype(np.uint64)
    return b[0::2], b[1::2]  # x = [w0; w2], y = [w1; w3]


def _keep_first(values: np.ndarray, rows: np.ndarray, have: np.ndarray, out: np.ndarray):
    """Put each row's values with |x| < 2, in order, after the ``have`` it already has, up
    to a full group; return how many each row has now."""
    group = out.shape[1]
    keep = np.abs(values) < 2.0
    rank = np.cumsum(keep, axis=1)
    take = keep & (rank <= (group - have)[:, None])
    out[np.broadcast_to(rows[:, None], take.shape)[take],
        (have[:, None] + rank - 1)[take]] = values[take].astype(out.dtype)
    return have + take.sum(axis=1)


def truncated_normal(key: int, counter: int, size: int, dtype) -> np.ndarray:
    """``TruncatedNormal`` values: normals kept when |x| < 2, drawn group by group."""
    dtype = np.dtype(dtype)
    group = group_size(dtype)
    count = -(-size // group)
    stride = group * TRUNCATED_WORDS_PER_OUTPUT // 4  # blocks each group owns
    work_dtype = np.dtype(np.float64) if dtype == np.float64 else np.dtype(np.float32)
    candidates = _normal_values(work_dtype)
    out = np.empty((count, group), dtype)
    filled = np.zeros(count, np.int64)

    def first_blocks(start, stop):  # block 0 of every group: most groups end here
        x, y = philox.consecutive_words(key, counter + start * stride, stop - start, stride,
                                        _buffers(stop - start))
        values = np.empty((stop - start, group), work_dtype)
        candidates(x, y, values)
        rows = np.arange(start, stop)
        filled[start:stop] = _keep_first(values, rows, filled[start:stop], out)
    _run_chunks(count, first_blocks, size)
    active = np.flatnonzero(filled < group)
    block = 1
    while active.size:
        offsets = active.astype(np.uint64) * np.uint64(stride) + np.uint64(block)
        values = np.empty((len(active), group), work_dtype)
        candidates(*_block_words(key, counter, offsets), values)
        filled[active] = _keep_first(values, active, filled[active], out)
        active = active[filled[active] < group]
        block += 1
    return out.reshape(-1)[:size]
