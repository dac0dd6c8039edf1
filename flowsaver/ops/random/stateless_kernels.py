"""The two stateless random ops Keras-style initializers build (what ``tf.layers`` kernels
start from): ``StatelessRandomGetKeyCounter`` and ``StatelessRandomUniformV2``, drawing
TensorFlow's Philox4x32-10 stream bit for bit.

A minimal copy for the layers work: the random family's own issue (TensorFlow's Philox
streams for every random op) brings the full set and replaces this module.

Philox4x32-10 (Salmon et al., 2011): a 128-bit counter (four uint32 words, word 0 lowest)
and a 64-bit key (two words) go through ten rounds; each round multiplies words 0 and 2
by the constants below (64-bit products split into high and low halves) and mixes in the
key, which is raised by the Weyl constants between rounds. One call gives four uint32s.
``GetKeyCounter`` scrambles a [2] seed as TensorFlow's ``GenerateKey`` does: the seed's
two 64-bit halves form the counter under a fixed key, one Philox call, and its output
gives the key (words 0-1) and the counter's high words (2-3). Float32 output ``i`` is
word ``i % 4`` of the call at counter ``+ i // 4``, mapped to [0, 1) through its low 23
bits as a mantissa (``(x & 0x7fffff) | 0x3f800000`` read as a float, minus 1); float64
takes two words per value, float16 the low 10 bits of one.
"""
from __future__ import annotations

import numpy as np

from flowsaver import errors
from flowsaver.graph.tensor_shape import TensorShape
from flowsaver.ops import shapes
from flowsaver.ops.registry import OpTable

TABLE = OpTable(__name__)
define, kernel, shape_fn = TABLE.define, TABLE.kernel, TABLE.shape_fn

define(
    'StatelessRandomGetKeyCounter(seed: Tseed) -> (key: uint64, counter: uint64); Tseed: type {int32, int64} = int64',
    'StatelessRandomUniformV2(shape: Tshape, key: uint64, counter: uint64, alg: int32) -> (output: dtype); dtype: type {half, bfloat16, float, double} = float; Tshape: type {int32, int64} = int32',
)
TABLE.not_differentiable("StatelessRandomGetKeyCounter", "StatelessRandomUniformV2")

PHILOX_M0, PHILOX_M1 = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)
PHILOX_W0, PHILOX_W1 = np.uint32(0x9E3779B9), np.uint32(0xBB67AE85)
SEED_SCRAMBLE_KEY = (0x3EC8F720, 0x02461E29)  # TensorFlow's fixed key for seeds
ALG_PHILOX, ALG_AUTO_SELECT = 1, 3
_MASK32 = np.uint64(0xFFFFFFFF)


def philox(counters: np.ndarray, key) -> np.ndarray:
    """Philox4x32-10 of each row of ``counters`` (n x 4 uint32) under ``key`` (2 uint32)."""
    c = [counters[:, i].astype(np.uint64) for i in range(4)]
    k0, k1 = np.uint32(key[0]), np.uint32(key[1])
    for round_ in range(10):
        p0, p1 = PHILOX_M0 * c[0], PHILOX_M1 * c[2]
        hi0, lo0 = p0 >> np.uint64(32), p0 & _MASK32
        hi1, lo1 = p1 >> np.uint64(32), p1 & _MASK32
        c = [hi1 ^ c[1] ^ np.uint64(k0), lo1, hi0 ^ c[3] ^ np.uint64(k1), lo0]
        if round_ < 9:
            with np.errstate(over="ignore"):
                k0, k1 = k0 + PHILOX_W0, k1 + PHILOX_W1
    return np.stack(c, axis=1).astype(np.uint32)


def counters_from(start, count: int) -> np.ndarray:
    """``count`` consecutive 128-bit counters from ``start`` (4 uint32 words, low first)."""
    words = [int(w) for w in start]
    base = words[0] | words[1] << 32 | words[2] << 64 | words[3] << 96
    if count and base + count - 1 < 2 ** 64:  # the common case: no carry past word 1
        low = np.uint64(base & 0xFFFFFFFFFFFFFFFF) + np.arange(count, dtype=np.uint64)
        out = np.empty((count, 4), np.uint32)
        out[:, 0], out[:, 1] = low & _MASK32, low >> np.uint64(32)
        out[:, 2], out[:, 3] = words[2], words[3]
        return out
    values = [(base + i) % 2 ** 128 for i in range(count)]
    return np.array([[(v >> s) & 0xFFFFFFFF for s in (0, 32, 64, 96)] for v in values],
                    np.uint32).reshape(count, 4)


def key_counter(seed: np.ndarray):
    """(key as 2 uint32, counter as 4 uint32) from a [2] seed, as TensorFlow derives them."""
    halves = [int(s) % 2 ** 64 for s in np.reshape(seed, -1)[:2]]  # int32s sign-extend
    start = np.array([[h >> s & 0xFFFFFFFF for h in halves for s in (0, 32)]], np.uint32)
    mix = philox(start, SEED_SCRAMBLE_KEY)[0]
    return mix[:2].copy(), np.array([0, 0, mix[2], mix[3]], np.uint32)


# ---- shapes -----------------------------------------------------------------------------
shape_fn("StatelessRandomGetKeyCounter")(lambda op: [TensorShape([1]), TensorShape([2])])


@shape_fn("StatelessRandomUniformV2")
def _uniform_shape(op):
    return [shapes.shape_from_tensor(op.inputs[0])]


# ---- kernels ----------------------------------------------------------------------------
@kernel("StatelessRandomGetKeyCounter")
def _get_key_counter(op, ctx):
    def run(seed):
        if np.size(seed) != 2:
            raise errors.InvalidArgumentError(
                None, op, f"seed must have shape [2], not {list(np.shape(seed))}")
        key, counter = key_counter(seed)
        as64 = np.uint64
        return (np.array([as64(key[0]) | as64(key[1]) << as64(32)], np.uint64),
                np.array([as64(counter[0]) | as64(counter[1]) << as64(32),
                          as64(counter[2]) | as64(counter[3]) << as64(32)], np.uint64))
    return run


def _words(values: np.ndarray, count: int) -> list:
    out = []
    for v in np.reshape(values, -1)[:count]:
        out += [int(v) & 0xFFFFFFFF, int(v) >> 32]
    return out


@kernel("StatelessRandomUniformV2")
def _uniform(op, ctx):
    dtype = np.dtype(op.get_attr("dtype").as_numpy_dtype)

    def run(shape, key, counter, alg):
        if int(alg) not in (ALG_PHILOX, ALG_AUTO_SELECT):
            raise errors.UnimplementedError(
                None, op, f"{op.name}: random algorithm {int(alg)} is not supported in "
                          f"flowsaver (Philox, 1 or 3, is)")
        dims = tuple(int(d) for d in np.reshape(shape, -1))
        n = int(np.prod(dims, dtype=np.int64))
        per_call = 2 if dtype == np.float64 else 4
        calls = -(-n // per_call)
        bits = philox(counters_from(_words(counter, 2), calls), _words(key, 1)).reshape(-1)
        return _unit_floats(op, bits, n, dtype).reshape(dims)
    return run


def _unit_floats(op, bits: np.ndarray, n: int, dtype) -> np.ndarray:
    """[0, 1) values from Philox words: random mantissa bits under exponent 0, minus 1."""
    if dtype == np.float32:  # one word each: its low 23 bits
        mantissa = (bits[:n] & np.uint32(0x7FFFFF)) | np.uint32(0x3F800000)
        return mantissa.view(np.float32) - np.float32(1.0)
    if dtype == np.float64:  # two words each: 20 bits of the first, all of the second
        pairs = bits[:2 * n].reshape(n, 2).astype(np.uint64)
        mantissa = (pairs[:, 0] & np.uint64(0xFFFFF)) << np.uint64(32) | pairs[:, 1]
        return (mantissa | np.uint64(1023 << 52)).view(np.float64) - 1.0
    if dtype == np.float16:  # one word each: its low 10 bits
        mantissa = (bits[:n] & np.uint32(0x3FF)).astype(np.uint16) | np.uint16(15 << 10)
        return mantissa.view(np.float16) - np.float16(1.0)
    raise errors.UnimplementedError(
        None, op, f"{op.name}: stateless uniform draws of {dtype} are not built in flowsaver "
                  f"yet (float16, float32 and float64 are)")
