"""TensorFlow's Philox4x32-10 streams, as its CPU random kernels draw from them.

A stream is a 64-bit key and a 128-bit counter, both kept here as Python ints::

    key     = k0 | k1 << 32                       (two 32-bit words)
    counter = c0 | c1 << 32 | c2 << 64 | c3 << 96 (four 32-bit words)

One *block* is Philox4x32 with 10 rounds applied to the counter under the key: four uint32
words. Each round multiplies c0 by 0xD2511F53 and c2 by 0xCD9E8D57 (64-bit products) and
makes the new words (hi(c2 * B) ^ c1 ^ k0, lo(c2 * B), hi(c0 * A) ^ c3 ^ k1, lo(c0 * A));
between rounds the key words grow by 0x9E3779B9 and 0xBB67AE85 (mod 2**32). Drawing a
block advances the counter by one; skipping n blocks adds n to the counter (mod 2**128).

Where streams start:

- a stateful op with attrs (seed, seed2), read as unsigned 64-bit values:
  key = seed, counter = seed2 << 64. Both zero means "unseeded": TensorFlow then takes
  two nondeterministic 64-bit seeds, and so does flowsaver (nothing to match there).
- a stateless op with seed [s0, s1] (int32 values sign-extended to 64 bits):
  one block of counter s0 | s1 << 64 under key 0x02461e29_3ec8f720 gives words
  (m0, m1, m2, m3); the op's key is m0 | m1 << 32 and its counter (m2 | m3 << 32) << 64.
  The V2 ops take that key as uint64[1] and the counter as uint64[2] (low, high).

Each Session.run of a stateful op reserves a span of its stream and moves the stream past it
(TensorFlow's GuardedPhiloxRandom); the spans are listed with the kernels in
``philox_fill.py``. A new session starts every stream over.
"""
from __future__ import annotations

import secrets

import numpy as np

MASK32 = 0xFFFFFFFF
MASK64 = (1 << 64) - 1
MASK128 = (1 << 128) - 1
ROUNDS = 10
MUL_A, MUL_B = 0xD2511F53, 0xCD9E8D57  # round multipliers
WEYL_A, WEYL_B = 0x9E3779B9, 0xBB67AE85  # key increments between rounds
STATELESS_KEY = 0x02461E29_3EC8F720  # the fixed key that scrambles a stateless seed
CHUNK = 16384  # blocks per pass: keeps the working arrays in the L2 cache

_A, _B = np.uint64(MUL_A), np.uint64(MUL_B)
_LOW = np.uint64(MASK32)
_SHIFT = np.uint64(32)


def _round_keys(key: int) -> list:
    k0, k1 = key & MASK32, key >> 32
    return [(np.uint64((k0 + r * WEYL_A) & MASK32), np.uint64((k1 + r * WEYL_B) & MASK32))
            for r in range(ROUNDS)]


def _rounds(c0, c1, c2, c3, keys, p0, p1):
    """Ten Philox rounds in place on four uint64 arrays that hold 32-bit words."""
    for ka, kb in keys:
        np.multiply(c0, _A, out=p0)
        np.multiply(c2, _B, out=p1)
        np.right_shift(p1, _SHIFT, out=c0)
        np.bitwise_xor(c0, c1, out=c0)
        np.bitwise_xor(c0, ka, out=c0)
        np.right_shift(p0, _SHIFT, out=c2)
        np.bitwise_xor(c2, c3, out=c2)
        np.bitwise_xor(c2, kb, out=c2)
        np.bitwise_and(p1, _LOW, out=c1)
        np.bitwise_and(p0, _LOW, out=c3)


def _counter_words(counter: int, offsets: np.ndarray, words) -> None:
    """Fill ``words`` (4 uint64 arrays) with the 32-bit words of ``counter + offsets``."""
    c0, c1, c2, c3 = words
    base_lo, base_hi = counter & MASK64, counter >> 64
    np.add(offsets, np.uint64(base_lo), out=c1)  # wraps modulo 2**64
    np.bitwise_and(c1, _LOW, out=c0)
    carry = c1 < offsets
    np.right_shift(c1, _SHIFT, out=c1)
    if carry.any():
        high = np.where(carry, np.uint64((base_hi + 1) & MASK64), np.uint64(base_hi))
    else:
        high = np.full(len(offsets), base_hi, np.uint64)
    np.bitwise_and(high, _LOW, out=c2)
    np.right_shift(high, _SHIFT, out=c3)


def blocks_at(key: int, counter: int, offsets: np.ndarray) -> np.ndarray:
    """The blocks at ``counter + offsets`` (offsets: uint64 array): shape (n, 4), uint32."""
    offsets = np.asarray(offsets, np.uint64).reshape(-1)
    n = len(offsets)
    out = np.empty((n, 4), np.uint32)
    keys = _round_keys(key)
    size = min(n, CHUNK)
    words = [np.empty(size, np.uint64) for _ in range(4)]
    p0, p1 = np.empty(size, np.uint64), np.empty(size, np.uint64)
    for start in range(0, n, CHUNK):
        stop = min(start + CHUNK, n)
        m = stop - start
        view = [w[:m] for w in words]
        _counter_words(counter, offsets[start:stop], view)
        _rounds(*view, keys, p0[:m], p1[:m])
        for j in range(4):
            out[start:stop, j] = view[j]
    return out


def blocks(key: int, counter: int, count: int) -> np.ndarray:
    """``count`` consecutive blocks from ``counter``: shape (count, 4), uint32."""
    return blocks_at(key, counter, np.arange(count, dtype=np.uint64))


def words(key: int, counter: int, count: int) -> np.ndarray:
    """The first ``count`` uint32 words of the stream at ``counter`` (blocks read in order)."""
    return blocks(key, counter, -(-count // 4)).reshape(-1)[:count]


class PhiloxStream:
    """One op's stream in one session: a key and the counter of its next unreserved block."""

    __slots__ = ("key", "counter")

    def __init__(self, key: int, counter: int):
        self.key = key & MASK64
        self.counter = counter & MASK128

    @classmethod
    def from_seeds(cls, seed: int, seed2: int) -> "PhiloxStream":
        """The stream of a stateful op's (seed, seed2) attrs; random seeds when both are 0."""
        if seed == 0 and seed2 == 0:
            seed, seed2 = secrets.randbits(64), secrets.randbits(64)
        return cls(seed & MASK64, (seed2 & MASK64) << 64)

    def reserve(self, count: int) -> int:
        """Take the next ``count`` blocks: return where they start and move past them."""
        start = self.counter
        self.counter = (start + count) & MASK128
        return start


def stateless_key_counter(seed0: int, seed1: int) -> tuple[int, int]:
    """The (key, counter) a stateless op derives from its two seed values."""
    counter = (seed0 & MASK64) | (seed1 & MASK64) << 64
    m = [int(w) for w in blocks(STATELESS_KEY, counter, 1)[0]]
    return m[0] | m[1] << 32, (m[2] | m[3] << 32) << 64


def key_counter_arrays(key: int, counter: int) -> tuple[np.ndarray, np.ndarray]:
    """A stateless op's key and counter as the V2 ops take them: uint64 [1] and [2]."""
    return (np.array([key], np.uint64),
            np.array([counter & MASK64, counter >> 64], np.uint64))


def key_counter_from_arrays(key: np.ndarray, counter: np.ndarray) -> tuple[int, int]:
    """The inverse of ``key_counter_arrays``."""
    key, counter = np.reshape(key, -1), np.reshape(counter, -1)
    return int(key[0]), int(counter[0]) | int(counter[1]) << 64
