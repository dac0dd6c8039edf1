"""flowsaver's Philox streams without TensorFlow: known answers, a scalar reference,
the C library's float functions, and the vectorized replays of loops.

Known answers: Philox4x32-10 blocks published with Random123 (and printed by TensorFlow 2.21,
``tf.raw_ops.StatelessRandomUniformFullIntV2(shape=[8], key=[k0 | k1 << 32],
counter=[c0 | c1 << 32, c2 | c3 << 32], alg=1, dtype=tf.uint32)``, whose first four values
are the block at that counter and the next four the block after it), and the key/counter
TensorFlow derives from a stateless seed (``tf.raw_ops.StatelessRandomGetKeyCounter``).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import math
import platform

import numpy as np
import os

import pytest

from flowsaver.ops import blas_threads
from flowsaver.ops.random import libm_float
from flowsaver.ops.random import philox
from flowsaver.ops.random import philox_fill
from flowsaver.ops.random import philox_sampling

M32 = 0xFFFFFFFF


def reference_block(key: int, counter: int) -> list:
    """One Philox4x32-10 block, written plainly with Python ints."""
    c = [(counter >> (32 * j)) & M32 for j in range(4)]
    k0, k1 = key & M32, key >> 32
    for _ in range(10):
        p0, p1 = 0xD2511F53 * c[0], 0xCD9E8D57 * c[2]
        c = [(p1 >> 32) ^ c[1] ^ k0, p1 & M32, (p0 >> 32) ^ c[3] ^ k1, p0 & M32]
        k0, k1 = (k0 + 0x9E3779B9) & M32, (k1 + 0xBB67AE85) & M32
    return c


def counter_of(words) -> int:
    return sum(w << (32 * j) for j, w in enumerate(words))


KNOWN_BLOCKS = [  # (counter words, key words, the block, the next block)
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8),
     (0xF8E4CCA4, 0x5CB200DB, 0xB1A574EB, 0x097EFF67)),
    ((M32,) * 4, (M32, M32), (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD),
     (0x72A47709, 0x15474739, 0x9F41B01F, 0x22799A5A)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1),
     (0x5757C6CE, 0x254CD124, 0x3C0F08A0, 0xF40A747B)),
]


@pytest.mark.parametrize("counter,key,first,second", KNOWN_BLOCKS)
def test_known_blocks(counter, key, first, second):
    key = key[0] | key[1] << 32
    got = philox.blocks(key, counter_of(counter), 2)
    assert [tuple(int(w) for w in row) for row in got] == [first, second]
    assert tuple(reference_block(key, counter_of(counter))) == first


@pytest.mark.parametrize("seed,key,counter", [
    ((1, 2), 0x908502C96D2F7FBA, 0xF7734320619CB60B << 64),
    ((-3, 7), 0x8E30A75E172EA053, 0x52346B6BF3814DF3 << 64),
])
def test_stateless_key_counter_known_answers(seed, key, counter):
    assert philox.stateless_key_counter(*seed) == (key, counter)
    k, c = philox.key_counter_arrays(key, counter)
    assert k.dtype == c.dtype == np.uint64 and k.shape == (1,) and c.shape == (2,)
    assert philox.key_counter_from_arrays(k, c) == (key, counter)


@pytest.mark.parametrize("counter", [
    0, 12345, (1 << 32) - 3, (1 << 64) - 5, (1 << 128) - 2,  # carries across words and 2**128
    0xDEADBEEF | 0x12345678 << 32 | 0x9ABCDEF0 << 64 | 0x0FEDCBA9 << 96])
def test_blocks_match_the_scalar_reference(counter):
    key = 0x0123456789ABCDEF
    got = philox.blocks(key, counter, 9)
    want = [reference_block(key, (counter + i) % (1 << 128)) for i in range(9)]
    assert got.tolist() == want
    offsets = np.array([5, 0, 3], np.uint64)
    assert philox.blocks_at(key, counter, offsets).tolist() == [want[5], want[0], want[3]]


def test_long_runs_cross_chunks_the_same_way():
    key, counter = 99, (1 << 32) - 1000  # the low word wraps inside the second chunk
    count = philox.CHUNK + 3000
    whole = philox.blocks(key, counter, count)
    offsets = np.arange(count, dtype=np.uint64)
    np.testing.assert_array_equal(whole, philox.blocks_at(key, counter, offsets))
    assert whole[-1].tolist() == reference_block(key, counter + count - 1)
    np.testing.assert_array_equal(philox.words(key, counter, 10), whole.reshape(-1)[:10])


@pytest.mark.parametrize("counter,stride", [(5 << 64, 256), ((1 << 32) - 700, 128), (3, 1)])
def test_strided_blocks_are_the_blocks_at_those_counters(counter, stride):
    x, y = philox.consecutive_words(42, counter, 50, stride)
    want = philox.blocks_at(42, counter, np.arange(50, dtype=np.uint64) * np.uint64(stride))
    np.testing.assert_array_equal(np.stack([x[0], y[0], x[1], y[1]], 1), want)


def test_streams_reserve_spans_and_unseeded_streams_differ():
    stream = philox.PhiloxStream.from_seeds(-1, 3)
    assert (stream.key, stream.counter) == ((1 << 64) - 1, 3 << 64)
    assert stream.reserve(10) == 3 << 64
    assert stream.reserve(5) == (3 << 64) + 10
    assert stream.counter == (3 << 64) + 15
    late = philox.PhiloxStream(1, (1 << 128) - 1)
    assert late.reserve(2) == (1 << 128) - 1 and late.counter == 1
    a, b = philox.PhiloxStream.from_seeds(0, 0), philox.PhiloxStream.from_seeds(0, 0)
    assert (a.key, a.counter) != (b.key, b.counter)


# ---- words to values ---------------------------------------------------------------------------
def test_uniform_transforms_use_the_low_mantissa_bits():
    w = np.array([0, 0x7FFFFF, 0xFF800001, 0x3FF, 0xFFFF7F], np.uint32)
    np.testing.assert_array_equal(philox_fill.uniform_float32(w.copy()),
                                  np.array([0, 1 - 2**-23, 2**-23, 0x3FF * 2**-23,
                                            0x7FFF7F * 2**-23], np.float32))
    np.testing.assert_array_equal(philox_fill.uniform_half(w), np.array(
        [0, 1 - 2**-10, 2**-10, 1 - 2**-10, 0x37F * 2**-10], np.float16))
    assert philox_fill.uniform_bfloat16(w).astype(np.float32).tolist() == \
        [0, 1 - 2**-7, 2**-7, 1 - 2**-7, 1 - 2**-7]
    d = philox_fill.uniform_float64(np.array([0xFFFFF, 0xFFF00000]),
                                    np.array([M32, 1]))
    assert d.tolist() == [1 - 2**-52, 2**-52]


def _glibc():
    if platform.libc_ver()[0] != "glibc":
        (pytest.fail if os.environ.get("CI") == "true" else pytest.skip)("the replayed functions are glibc's; this C library is "
                    f"{platform.libc_ver()[0] or 'unknown'}")
    return ctypes.CDLL(ctypes.util.find_library("m"))


def _inputs(count=30_000):
    """Every kind of value Box-Muller passes: uniform floats, their clamp, and 2 pi u."""
    rng = np.random.default_rng(3)
    words = np.concatenate([rng.integers(0, 1 << 32, count, dtype=np.uint64),
                            np.arange(0, 400), [0x7FFFFF, 0x400000, 0x3FFFFF]]).astype(np.uint32)
    u = np.maximum(philox_fill.uniform_float32(words.copy()), np.float32(1e-7))
    v = (philox_fill.uniform_float32(words.copy()).astype(np.float64) *
         (2 * math.pi)).astype(np.float32)
    return u, v


def test_logf_is_the_c_librarys():
    libm = _glibc()
    libm.logf.restype, libm.logf.argtypes = ctypes.c_float, [ctypes.c_float]
    u, _ = _inputs()
    extra = np.array([1.0, 2.0, 0.5, 3e38, 1.2e-38, 0.999999], np.float32)
    x = np.concatenate([u, extra])
    want = np.array([libm.logf(float(v)) for v in x], np.float32)
    np.testing.assert_array_equal(libm_float.logf(x).view(np.uint32), want.view(np.uint32))


def test_sincosf_is_the_c_librarys():
    libm = _glibc()
    fn = libm.sincosf
    fn.argtypes = [ctypes.c_float, ctypes.POINTER(ctypes.c_float),
                   ctypes.POINTER(ctypes.c_float)]
    _, v = _inputs()
    x = np.concatenate([v, np.array([0.0, 2**-13, 0.75, 0.7853982, 3.1415927, 100.0,
                                     119.9], np.float32)])
    s, c = ctypes.c_float(), ctypes.c_float()
    want = np.empty((len(x), 2), np.float32)
    for i, value in enumerate(x.tolist()):
        fn(value, ctypes.byref(s), ctypes.byref(c))
        want[i] = s.value, c.value
    got_sin, got_cos = libm_float.sincosf(x)
    np.testing.assert_array_equal(got_sin.view(np.uint32), want[:, 0].view(np.uint32))
    np.testing.assert_array_equal(got_cos.view(np.uint32), want[:, 1].view(np.uint32))
    with pytest.raises(ValueError, match="120"):
        libm_float.sincosf(np.array([120.0], np.float32))


def test_double_log_sin_cos_are_the_c_librarys():
    x = np.random.default_rng(4).random(20_000) * 2 * math.pi + 1e-9
    np.testing.assert_array_equal(libm_float.log_double(x), [math.log(v) for v in x])
    sin, cos = libm_float.sincos_double(x)
    np.testing.assert_array_equal(sin, [math.sin(v) for v in x])
    np.testing.assert_array_equal(cos, [math.cos(v) for v in x])


def test_box_muller_pairs_are_sin_and_cos_times_the_radius():
    u, v = np.array([1, 0, 0x400000], np.uint32), np.array([0, 0x200000, 0x7FFFFF], np.uint32)
    f0, f1 = philox_fill.box_muller_float(u, v)
    radius = np.sqrt(np.float32(-2) * libm_float.logf(np.array(
        [2**-23, 1e-7, 0.5], np.float32)))
    angle = (np.array([0, 0x200000, 0x7FFFFF]) * 2.0**-23 * 2 * math.pi).astype(np.float32)
    sin, cos = libm_float.sincosf(angle)
    np.testing.assert_array_equal(f0, sin * radius)
    np.testing.assert_array_equal(f1, cos * radius)


# ---- group layouts -----------------------------------------------------------------------------
def test_fixed_distributions_lay_groups_out_block_by_block():
    key, counter, size = 7, 11 << 64, 4 * philox.CHUNK + 7  # several chunks, a partial group
    b = philox.blocks(key, counter, -(-size // 4))
    u = philox_fill.uniform(key, counter, size, np.float32)
    np.testing.assert_array_equal(u, philox_fill.uniform_float32(b.reshape(-1))[:size])
    d = philox_fill.uniform(key, counter, 5, np.float64)
    np.testing.assert_array_equal(d, philox_fill.uniform_float64(b[:3, 0::2], b[:3, 1::2])
                                  .reshape(-1)[:5])
    n = philox_fill.normal(key, counter, 6, np.float32)
    f0, f1 = philox_fill.box_muller_float(b[:2, 0::2].reshape(-1), b[:2, 1::2].reshape(-1))
    np.testing.assert_array_equal(n, np.stack([f0, f1], 1).reshape(-1)[:6])
    ints = philox_fill.uniform_int(key, counter, 9, -5, 7, np.int32)
    np.testing.assert_array_equal(ints, (b.reshape(-1)[:9] % 12).astype(np.int64) - 5)
    wide = philox_fill.uniform_int(key, counter, 3, -(2**62), 2**62, np.int64)
    bits = [int(b[i // 2, 2 * (i % 2)]) | int(b[i // 2, 2 * (i % 2) + 1]) << 32
            for i in range(3)]
    assert wide.tolist() == [-(2**62) + x % 2**63 for x in bits]


def test_truncated_normal_reads_each_group_from_its_own_span():
    """Every group of 4 starts 256 blocks after the previous one and keeps, in order, the
    values with |x| < 2 of the pairs it reads; drawn here one group at a time."""
    key, counter, size = 3, 5 << 64, 4 * 40 + 2
    want = []
    for group in range(-(-size // 4)):
        kept, block = [], 0
        while len(kept) < 4:
            words = philox.blocks(key, counter + group * 256 + block, 1)[0]
            for pair in ((words[0], words[1]), (words[2], words[3])):
                f0, f1 = philox_fill.box_muller_float(np.array([pair[0]]), np.array([pair[1]]))
                kept += [x for x in (f0[0], f1[0]) if abs(x) < 2][:4 - len(kept)]
            block += 1
        want += kept
    got = philox_fill.truncated_normal(key, counter, size, np.float32)
    np.testing.assert_array_equal(got, np.array(want[:size], np.float32))


# ---- loops replayed without loops --------------------------------------------------------------
@pytest.mark.parametrize("n", [2, 3, 4, 5, 8, 33, 257, 4099])
def test_shuffle_order_is_forward_fisher_yates(n):
    key, counter = 21 + n, (n << 64) + 17
    w = philox.words(key, counter, n - 1)
    order = list(range(n))
    for i in range(n - 1):
        j = i + int(w[i]) % (n - i)
        order[i], order[j] = order[j], order[i]
    assert philox_sampling.shuffle_order(key, counter, n).tolist() == order


@pytest.mark.parametrize("shape,blocks", [((), 0), ((1,), 0), ((1, 5), 0), ((4, 0), 0),
                                          ((2,), 1), ((5,), 1), ((6, 3), 2), ((100,), 25)])
def test_shuffle_reserves_what_tensorflow_reserves(shape, blocks):
    assert philox_sampling.shuffle_reserved_blocks(shape) == blocks


@pytest.mark.parametrize("n,cost,threads,want", [
    (1, 10**9, 8, [(0, 1)]),
    (2000, 10**6, 1, [(0, 2000)]),
    (20, 100, 2, [(0, 20)]),  # too cheap to split
    (2000, 8143, 2, [(s, s + 250) for s in range(0, 2000, 250)]),
    (500, int(50 * (100 * math.log(1000) / math.log(2) + 1000)), 2,
     [(s, min(s + 63, 500)) for s in range(0, 500, 63)]),
])
def test_parallel_for_blocks_follow_eigens_cost_model(n, cost, threads, want):
    assert philox_sampling.parallel_for_blocks(n, cost, threads) == want


def test_multinomial_rows_follow_their_shard_starts():
    """Row r of a one-shard draw reads the doubles right after row r - 1's."""
    logits = np.log(np.array([[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]]))
    got = philox_sampling.multinomial(5, 9 << 64, logits, 6, threads=1)
    w = philox.words(5, 9 << 64, 2 * 12)
    u = philox_fill.uniform_float64(w[0::2], w[1::2]).reshape(2, 6)
    cdf = np.cumsum(np.exp(logits - logits.max(axis=1, keepdims=True)), axis=1)
    want = [np.searchsorted(cdf[r], u[r] * cdf[r, -1], side="right") for r in range(2)]
    np.testing.assert_array_equal(got, want)
    assert philox_sampling.multinomial_reserved_blocks(3, 5) == 3 * 16 * 256


def test_draws_split_over_threads_give_the_same_values(monkeypatch):
    """With the run's threads sharing a draw (larger chunks taken one by one by two
    threads, each with its own scratch arrays) every distribution gives the values drawn
    on one thread, which the test above ties to the blocks."""
    key, counter = 7, 11 << 64
    size = 4 * (3 * philox.SPLIT_CHUNK + 5) + 3  # full split chunks and a partial one
    draws = [lambda: philox_fill.normal(key, counter, size, np.float32),
             lambda: philox_fill.uniform(key, counter, size, np.float32),
             lambda: philox_fill.normal(key, counter, size // 2, np.float64),
             lambda: philox_fill.truncated_normal(key, counter, size, np.float32),
             lambda: philox_fill.uniform_int(key, counter, size, -5, 1000, np.int32)]
    alone = [draw() for draw in draws]
    calls = []
    real_split = blas_threads.split
    monkeypatch.setattr(blas_threads, "elementwise_workers", lambda values: 2)
    monkeypatch.setattr(blas_threads._CONTROL, "workers", 2)
    monkeypatch.setattr(blas_threads, "split", lambda fn, parts, short_calls=False: (
        calls.append(len(parts)) or real_split(fn, parts, short_calls)))
    for draw, want in zip(draws, alone):
        np.testing.assert_array_equal(draw(), want)
    assert len(calls) == len(draws) and min(calls) >= 2
