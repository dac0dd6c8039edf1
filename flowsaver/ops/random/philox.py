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
(TensorFlow's GuardedPhiloxRandom), whatever it actually reads. A new session starts every
stream over. Blocks reserved per run:

    RandomUniform, RandomStandardNormal, TruncatedNormal, RandomUniformInt   256 per value
    RandomGamma, RandomPoisson(V2)            256 per value (none for an empty output)
    Multinomial                               256 * batch * 2 * ceil4(samples) (none if empty)
    RandomShuffle of n rows                   ceil((n - 1) / 4) (none for n < 2 or no element)

Some kernels read a stream one 32-bit word at a time instead (TensorFlow's
``SingleSampleAdapter``): blocks in order, the four words of each in order, each word used
once. The random-shuffle queue does so from its (seed, seed2) attrs, and the shuffle dataset
from the seeds its seed generator hands each iterator (``WordStream``).
"""
from __future__ import annotations

import functools
import secrets
import threading

import numpy as np

MASK32 = 0xFFFFFFFF
MASK64 = (1 << 64) - 1
MASK128 = (1 << 128) - 1
ROUNDS = 10
MUL_A, MUL_B = 0xD2511F53, 0xCD9E8D57  # round multipliers
WEYL_A, WEYL_B = 0x9E3779B9, 0xBB67AE85  # key increments between rounds
STATELESS_KEY = 0x02461E29_3EC8F720  # the fixed key that scrambles a stateless seed
CHUNK = 16384  # blocks per pass: the working arrays (3 x 256 KiB) stay in the L2 cache
SPLIT_CHUNK = 2 * CHUNK  # blocks per pass when threads share a draw (see philox_fill)

_MULTIPLIERS = np.array([[MUL_A], [MUL_B]], np.uint64)
_LOW = np.uint64(MASK32)
_SHIFT = np.uint64(32)

# The four words of a block are kept as two (2, m) uint64 arrays, each element a 32-bit word:
# x = [c0; c2] (the words that get multiplied) and y = [c1; c3]. A round is then
#   p = x * [A; B];  x = hi(p)[::-1] ^ y ^ [k0; k1];  y = lo(p)[::-1]
# five NumPy calls on 2m elements. At the end x = [w0; w2] and y = [w1; w3].


def _round_keys(key: int) -> list:
    k0, k1 = key & MASK32, key >> 32
    return [((k0 + r * WEYL_A) & MASK32, (k1 + r * WEYL_B) & MASK32) for r in range(ROUNDS)]


@functools.lru_cache(maxsize=64)
def _round_key_columns(key: int) -> tuple:
    """The round keys as (2, 1) uint64 columns [k0; k1], made once per key."""
    columns = []
    for k0, k1 in _round_keys(key):
        column = np.array([[k0], [k1]], np.uint64)
        column.flags.writeable = False
        columns.append(column)
    return tuple(columns)


def _rounds(x, y, p, key_columns) -> None:
    """Philox rounds with ``key_columns`` in place on x = [c0; c2] and y = [c1; c3]."""
    for column in key_columns:
        np.multiply(x, _MULTIPLIERS, out=p)
        np.right_shift(p[::-1], _SHIFT, out=x)
        np.bitwise_xor(x, y, out=x)
        np.bitwise_xor(x, column, out=x)
        np.bitwise_and(p[::-1], _LOW, out=y)


_LOCAL = threading.local()


def chunk_buffers(m: int = CHUNK) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Three (2, m) uint64 arrays for ``consecutive_words`` (m <= ``SPLIT_CHUNK``): views
    of this thread's own arrays, made once (fresh arrays of this size cost page faults on
    every chunk). What a call returns in them is overwritten by this thread's next call."""
    buffers = getattr(_LOCAL, "buffers", None)
    if buffers is None:
        buffers = _LOCAL.buffers = tuple(np.empty((2, SPLIT_CHUNK), np.uint64)
                                         for _ in range(3))
    return tuple(b[:, :m] for b in buffers)


def _counter_words(counter: int, offsets: np.ndarray, x, y) -> None:
    """Fill x = [c0; c2], y = [c1; c3] with the 32-bit words of ``counter + offsets``."""
    base_lo, base_hi = counter & MASK64, counter >> 64
    low = offsets + np.uint64(base_lo)  # wraps modulo 2**64
    carry = low < offsets
    np.bitwise_and(low, _LOW, out=x[0])
    np.right_shift(low, _SHIFT, out=y[0])
    high = np.where(carry, np.uint64((base_hi + 1) & MASK64), np.uint64(base_hi))
    np.bitwise_and(high, _LOW, out=x[1])
    np.right_shift(high, _SHIFT, out=y[1])


@functools.lru_cache(maxsize=8)
def _steps_times_a(m: int, stride: int) -> np.ndarray:
    steps = np.arange(m, dtype=np.uint64) * np.uint64(stride * MUL_A)
    steps.flags.writeable = False
    return steps


def consecutive_words(key: int, counter: int, m: int, stride: int = 1,
                      buffers=None) -> tuple[np.ndarray, np.ndarray]:
    """The ``m`` blocks at ``counter``, ``counter + stride``, ...: (x, y) = ([w0; w2],
    [w1; w3]), each (2, m) uint64 holding 32-bit words (in ``buffers``, three (2, m)
    uint64 arrays, when given).

    Within one call only the lowest counter word usually changes, so the first two rounds
    work on single rows and scalars (exactly the same arithmetic, less of it).
    """
    if buffers is None:
        buffers = [np.empty((2, m), np.uint64) for _ in range(3)]
    x, y, p = buffers
    keys = _round_keys(key)
    columns = _round_key_columns(key)
    s0, s1, s2, s3 = ((counter >> (32 * j)) & MASK32 for j in range(4))
    if s0 + (m - 1) * stride >= 1 << 32:  # the low word wraps: count every word
        _counter_words(counter, np.arange(m, dtype=np.uint64) * np.uint64(stride), x, y)
        _rounds(x, y, p, columns)
        return x, y
    (k0a, k1a), (k0b, k1b) = keys[:2]
    # round 1: only c0 = s0 + i * stride varies
    np.add(_steps_times_a(m, stride), np.uint64(s0 * MUL_A), out=p[0])  # no wrap
    q1 = s2 * MUL_B
    c0, c1 = (q1 >> 32) ^ s1 ^ k0a, q1 & MASK32
    np.right_shift(p[0], _SHIFT, out=x[1])
    x[1] ^= np.uint64(s3 ^ k1a)
    np.bitwise_and(p[0], _LOW, out=y[1])
    # round 2: c0 and c1 are still constant
    q0 = c0 * MUL_A
    np.multiply(x[1], np.uint64(MUL_B), out=p[1])
    np.right_shift(p[1], _SHIFT, out=x[0])
    x[0] ^= np.uint64(c1 ^ k0b)
    np.bitwise_and(p[1], _LOW, out=y[0])
    np.bitwise_xor(y[1], np.uint64((q0 >> 32) ^ k1b), out=x[1])
    y[1] = q0 & MASK32
    _rounds(x, y, p, columns[2:])
    return x, y


def blocks_at(key: int, counter: int, offsets: np.ndarray) -> np.ndarray:
    """The blocks at ``counter + offsets`` (offsets: uint64 array): shape (n, 4), uint32."""
    offsets = np.asarray(offsets, np.uint64).reshape(-1)
    n = len(offsets)
    out = np.empty((n, 4), np.uint32)
    columns = _round_key_columns(key)
    for start in range(0, n, CHUNK):
        stop = min(start + CHUNK, n)
        x, y, p = (np.empty((2, stop - start), np.uint64) for _ in range(3))
        _counter_words(counter, offsets[start:stop], x, y)
        _rounds(x, y, p, columns)
        _interleave(x, y, out[start:stop])
    return out


def _interleave(x, y, out) -> None:
    out[:, 0], out[:, 1], out[:, 2], out[:, 3] = x[0], y[0], x[1], y[1]


def blocks(key: int, counter: int, count: int) -> np.ndarray:
    """``count`` consecutive blocks from ``counter``: shape (count, 4), uint32."""
    out = np.empty((count, 4), np.uint32)
    for start in range(0, count, CHUNK):
        stop = min(start + CHUNK, count)
        _interleave(*consecutive_words(key, counter + start, stop - start), out[start:stop])
    return out


def words(key: int, counter: int, count: int) -> np.ndarray:
    """The first ``count`` uint32 words of the stream at ``counter`` (blocks read in order)."""
    return blocks(key, counter, -(-count // 4)).reshape(-1)[:count]


class PhiloxStream:
    """One op's stream in one session: a key and the counter of its next unreserved block.

    Reserving is atomic, as TensorFlow's mutex makes it: concurrent runs get disjoint spans.
    """

    __slots__ = ("key", "counter", "_lock")

    def __init__(self, key: int, counter: int):
        self.key = key & MASK64
        self.counter = counter & MASK128
        self._lock = threading.Lock()

    @classmethod
    def from_seeds(cls, seed: int, seed2: int) -> "PhiloxStream":
        """The stream of a stateful op's (seed, seed2) attrs; random seeds when both are 0."""
        if seed == 0 and seed2 == 0:
            seed, seed2 = secrets.randbits(64), secrets.randbits(64)
        return cls(seed & MASK64, (seed2 & MASK64) << 64)

    def reserve(self, count: int) -> int:
        """Take the next ``count`` blocks: return where they start and move past them."""
        with self._lock:
            start = self.counter
            self.counter = (start + count) & MASK128
        return start


class WordStream:
    """A stream's 32-bit words, one at a time and in order (TensorFlow's
    ``SingleSampleAdapter`` over ``PhiloxRandom``). Blocks are computed ``BATCH`` at a time,
    ahead of use: the words depend on nothing but the key and the counter."""

    BATCH = 64  # blocks computed per refill

    __slots__ = ("key", "counter", "_words", "_next")

    def __init__(self, key: int, counter: int):
        self.key = key & MASK64
        self.counter = counter & MASK128
        self._words: list = []
        self._next = 0

    @classmethod
    def from_seeds(cls, seed: int, seed2: int) -> "WordStream":
        """The words of ``PhiloxRandom(seed, seed2)``; random seeds when both are 0."""
        stream = PhiloxStream.from_seeds(seed, seed2)
        return cls(stream.key, stream.counter)

    def next(self) -> int:
        """The next word, as an int in [0, 2**32)."""
        if self._next == len(self._words):
            self._words = words(self.key, self.counter, 4 * self.BATCH).tolist()
            self.counter = (self.counter + self.BATCH) & MASK128
            self._next = 0
        word = self._words[self._next]
        self._next += 1
        return word


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
