"""The fast float Box-Muller (``ops/random/box_muller.py``) and the word-at-a-time stream,
without TensorFlow: the fast radius and (sin, cos) give the step-by-step glibc replica's
bits on a sample of the 2**23 mantissas (all of them: ``make check-box-muller``), draws
of every float width give the replica path's bits across pieces, chunks and threads, and
``WordStream`` reads the stream's words in order across its refills."""
from __future__ import annotations

import importlib.util
import pathlib

import numpy as np
import pytest

from flowsaver.ops.random import box_muller, philox, philox_fill

KEY, COUNTER = 0x1234_5678_9ABC_DEF0, 77 << 64
_TOOL = pathlib.Path(__file__).resolve().parents[2] / "tools" / "check_box_muller.py"


def _check_tool():
    spec = importlib.util.spec_from_file_location("check_box_muller", _TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _pieces(size):
    """Consecutive mantissa ranges covering ``size`` of the 2**23, at a random place."""
    start = int(np.random.default_rng().integers(0, (1 << 23) - size))
    return start, start + size


def test_a_random_slice_of_mantissas_matches_the_replica():
    check = _check_tool()
    start, stop = _pieces(1 << 19)
    bad_r, bad_sc = check.differences(start, stop)
    assert (bad_r.tolist()[:5], bad_sc.tolist()[:5]) == ([], []), f"slice from {start}"


@pytest.mark.parametrize("start", [0, 0xFFFFF, 0x2FFFF0, 0x4FFFF0, 0x6FFFF0, 0x7FFF00])
def test_edges_match_the_replica(start):
    """m = 0 (u clamped to 1e-7), tiny angles, the quadrant boundaries (m1 near odd
    multiples of 2**20) and the largest mantissas."""
    check = _check_tool()
    bad_r, bad_sc = check.differences(start, min(start + 0x100 + 32, 1 << 23))
    assert len(bad_r) == 0 and len(bad_sc) == 0


def test_the_check_notices_a_wrong_bit(monkeypatch):
    """The comparison is not vacuous: one flipped bit in the fast sine is reported."""
    check = _check_tool()
    real = box_muller.sin_cos

    def off_by_one(m1, w=None):
        out = real(m1, w)
        out.view(np.uint32)[0, m1 == 0x123456] ^= 1
        return out
    monkeypatch.setattr(box_muller, "sin_cos", off_by_one)
    bad_r, bad_sc = check.differences(0x123400, 0x123500)
    assert len(bad_r) == 0 and bad_sc.tolist() == [0x123456]


def _replica(size, dtype):
    """Normals through the step-by-step replica (``box_muller_float``), as TF lays them out."""
    count = -(-size // 4)
    b = philox.blocks(KEY, COUNTER, count)
    f0, f1 = philox_fill.box_muller_float(b[:, 0::2].reshape(-1), b[:, 1::2].reshape(-1))
    return np.stack([f0, f1], 1).reshape(-1)[:size].astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float16, "bfloat16"])
def test_draws_give_the_replicas_bits(dtype):
    import ml_dtypes
    dtype = np.dtype(ml_dtypes.bfloat16) if dtype == "bfloat16" else np.dtype(dtype)
    size = 4 * (3 * philox.CHUNK + box_muller.PIECE) + 4099  # chunks, pieces
    got = philox_fill.normal(KEY, COUNTER, size, dtype)
    assert got.tobytes() == _replica(size, dtype).tobytes()


@pytest.mark.parametrize("size", [1, 5, 4 * box_muller.PIECE - 3, 4 * box_muller.PIECE + 1])
def test_small_and_piece_sized_draws(size):
    assert philox_fill.normal(KEY, COUNTER, size, np.float32).tobytes() == \
        _replica(size, np.float32).tobytes()


def test_truncated_normals_through_pieces_match():
    size = 200_003
    count = -(-size // 4)
    stride = 4 * philox_fill.TRUNCATED_WORDS_PER_OUTPUT // 4
    got = philox_fill.truncated_normal(KEY, COUNTER, size, np.float32)
    # each group's first block through the replica: the values it keeps come first
    b = philox.blocks_at(KEY, COUNTER, np.arange(count, dtype=np.uint64) * np.uint64(stride))
    f0, f1 = philox_fill.box_muller_float(b[:, 0::2].reshape(-1), b[:, 1::2].reshape(-1))
    first = np.stack([f0, f1], 1).reshape(count, 4)
    full = (np.abs(first) < 2).all(axis=1)
    np.testing.assert_array_equal(got.reshape(-1)[:4 * (count - 1)].reshape(-1, 4)[full[:-1]],
                                  first[:-1][full[:-1]])


def test_workspaces_are_per_thread():
    from concurrent.futures import ThreadPoolExecutor
    mine = box_muller.workspace()
    with ThreadPoolExecutor(2) as pool:
        spaces = list(pool.map(lambda _: box_muller.workspace(), range(8)))
    assert box_muller.workspace() is mine
    assert len({id(w) for w in spaces}) <= 2 and all(w is not mine for w in spaces)


@pytest.mark.parametrize("batch", [1, 3, 64])
def test_word_stream_reads_the_words_in_order(batch, monkeypatch):
    monkeypatch.setattr(philox.WordStream, "BATCH", batch)
    stream = philox.WordStream(KEY, COUNTER)
    got = [stream.next() for _ in range(4 * batch * 3 + 5)]
    assert got == philox.words(KEY, COUNTER, len(got)).tolist()


def test_word_stream_from_seeds_matches_a_stateful_op_stream():
    a = philox.WordStream.from_seeds(87654321, 5)
    s = philox.PhiloxStream.from_seeds(87654321, 5)
    assert [a.next() for _ in range(10)] == philox.words(s.key, s.counter, 10).tolist()
    unseeded = [philox.WordStream.from_seeds(0, 0).next() for _ in range(4)]
    assert len(set(unseeded)) > 1  # both seeds 0: random seeds each time
