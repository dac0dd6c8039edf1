"""TensorFlow's float Box-Muller for large draws: its factors looked up by mantissa.

The float transform (``philox_fill.box_muller_float``) turns the words (w0, w1) into
(sin v * r, cos v * r) where

    r          = sqrtf(-2 logf(max(m0 / 2**23, 1e-7)))     depends on m0 = w0 & 0x7fffff only
    sin v, cos v = sincosf(float(2 pi * m1 / 2**23))        depend on m1 = w1 & 0x7fffff only

so a draw of millions of normals needs each factor for at most 2**23 distinct mantissas.
Two tables hold them, indexed by mantissa: ``R`` (float32, 32 MiB) and ``SC`` (the float32
pair (sin, cos) as one uint64, 64 MiB). An entry is computed by the exact glibc replica
(``libm_float``) the first time a draw meets its mantissa and kept for the life of the
process; ``UNSET`` (a NaN pattern no factor has) marks the others. The products are the
same float32 multiplications as the direct path, so values are bit for bit the same.

Only draws of ``TABLE_MIN_VALUES`` values or more allocate the tables; later draws of any
size use them once they exist. Threads may fill the same entry at once: they write the
same bits, and an entry read half-way through is still either ``UNSET`` or complete (one
aligned 4- or 8-byte store), so no lock is needed.
"""
from __future__ import annotations

import math
import threading

import numpy as np

from flowsaver.ops.random import libm_float

MANTISSA_BITS = 23
ENTRIES = 1 << MANTISSA_BITS
MANTISSA = np.int64(ENTRIES - 1)
TABLE_MIN_VALUES = 1 << 20  # smaller draws do not allocate the 96 MiB of tables
UNSET_R = np.uint32(0xFFFFFFFF)  # a NaN: no r is NaN
UNSET_SC = np.uint64(0xFFFFFFFFFFFFFFFF)  # a pair of NaNs: sin and cos never are
_UNIFORM_STEP = np.float32(2.0 ** -MANTISSA_BITS)  # uniform(w) = m / 2**23, exactly
_FLOAT_EPSILON = np.float32(1e-7)
_TWO_PI_ULP = 2 * math.pi * 2.0 ** -MANTISSA_BITS

_TABLES: list = []  # [(R as uint32, SC as uint64)] once allocated
_LOCK = threading.Lock()


def tables(size: int):
    """The (R, SC) tables if they exist or a draw of ``size`` values warrants them, else
    None."""
    if _TABLES:
        return _TABLES[0]
    if size < TABLE_MIN_VALUES:
        return None
    with _LOCK:
        if not _TABLES:
            _TABLES.append((np.full(ENTRIES, UNSET_R, np.uint32),
                            np.full(ENTRIES, UNSET_SC, np.uint64)))
    return _TABLES[0]


def release() -> None:
    """Drop the tables (their memory goes back once no draw is using them)."""
    with _LOCK:
        _TABLES.clear()


def radius(m0: np.ndarray) -> np.ndarray:
    """r for mantissas ``m0``, computed (float32 bits as uint32)."""
    u = m0.astype(np.float32)
    u *= _UNIFORM_STEP
    np.maximum(u, _FLOAT_EPSILON, out=u)
    r = libm_float.logf_below_one(u)
    r *= np.float32(-2.0)
    np.sqrt(r, out=r)
    return r.view(np.uint32)


def sin_cos(m1: np.ndarray) -> np.ndarray:
    """(sin v, cos v) for mantissas ``m1``, computed, as float32 pairs viewed as uint64."""
    v = m1.astype(np.float64)
    v *= _TWO_PI_ULP
    rows = libm_float.sincosf_rows(v.astype(np.float32))  # (2, n): [sin; cos]
    return np.ascontiguousarray(rows.T).view(np.uint64).reshape(-1)


def _looked_up(table, unset, index, compute) -> np.ndarray:
    values = table.take(index, mode="clip")  # masked mantissas are always in range
    missing = values == unset
    if missing.any():
        where = index[missing]
        fresh = compute(where)
        table[where] = fresh
        values[missing] = fresh
    return values


def normals(x: np.ndarray, y: np.ndarray, r_table, sc_table, dest: np.ndarray) -> None:
    """Box-Muller of blocks given as x = [w0; w2], y = [w1; w3] ((2, m) uint64 words, each
    holding a 32-bit word) into ``dest`` ((m, 4) float32): (w0, w1) -> columns 0, 1 and
    (w2, w3) -> columns 2, 3."""
    m = x.shape[1]
    m0 = x.view(np.int64) & MANTISSA
    m1 = y.view(np.int64) & MANTISSA
    r = _looked_up(r_table, UNSET_R, m0.reshape(-1), radius).view(np.float32).reshape(2, m)
    sc = _looked_up(sc_table, UNSET_SC, m1.reshape(-1), sin_cos).view(np.float32)
    sc = sc.reshape(2, m, 2)
    # one multiply per output column: long strided loops (a broadcast over the pair axis
    # would run NumPy's inner loop two elements at a time)
    for pair in range(2):
        for k in range(2):
            np.multiply(sc[pair, :, k], r[pair], out=dest[:, 2 * pair + k])
