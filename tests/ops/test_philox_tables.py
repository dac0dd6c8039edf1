"""The Box-Muller lookup tables and the word-at-a-time stream, without TensorFlow: the table
path gives the direct path's bits (float32, half, bfloat16, truncated normals), fills on
demand, keeps small draws from allocating, and ``WordStream`` reads the stream's words in
order across its refills."""
from __future__ import annotations

import numpy as np
import pytest

from flowsaver.ops.random import box_muller_table as table
from flowsaver.ops.random import philox, philox_fill

KEY, COUNTER = 0x1234_5678_9ABC_DEF0, 77 << 64


@pytest.fixture
def fresh_tables():
    """No tables before the test; whatever it makes is dropped after it."""
    saved = list(table._TABLES)
    table.release()
    yield
    table.release()
    table._TABLES.extend(saved)


def _direct(size, dtype):
    return philox_fill._fixed(KEY, COUNTER, size, np.dtype(dtype),
                              philox_fill._normal_values(np.dtype(dtype), 0))


def test_small_draws_do_not_allocate_tables(fresh_tables):
    philox_fill.normal(KEY, COUNTER, 1000, np.float32)
    assert table.tables(table.TABLE_MIN_VALUES - 1) is None and not table._TABLES


@pytest.mark.parametrize("dtype", [np.float32, np.float16, "bfloat16"])
def test_table_path_gives_the_direct_bits(fresh_tables, dtype):
    import ml_dtypes
    dtype = np.dtype(ml_dtypes.bfloat16) if dtype == "bfloat16" else np.dtype(dtype)
    size = table.TABLE_MIN_VALUES + 4099  # a partial last group too
    looked_up = philox_fill.normal(KEY, COUNTER, size, dtype)
    assert table._TABLES  # the draw used the tables
    assert looked_up.tobytes() == _direct(size, dtype).tobytes()
    again = philox_fill.normal(KEY, COUNTER, size, dtype)  # now mostly hits
    assert again.tobytes() == looked_up.tobytes()


def test_truncated_normals_through_tables_match(fresh_tables):
    size = 200_003
    direct = philox_fill.truncated_normal(KEY, COUNTER, size, np.float32)
    table.tables(table.TABLE_MIN_VALUES)  # allocate: later draws of any size use them
    assert philox_fill.truncated_normal(KEY, COUNTER, size, np.float32).tobytes() == \
        direct.tobytes()


def test_entries_are_filled_on_demand_with_the_replica(fresh_tables):
    r_table, sc_table = table.tables(table.TABLE_MIN_VALUES)
    assert (r_table == table.UNSET_R).all()
    philox_fill.normal(KEY, COUNTER, 4096, np.float32)
    filled = np.flatnonzero(r_table != table.UNSET_R)
    assert 0 < len(filled) <= 2048
    np.testing.assert_array_equal(r_table[filled], table.radius(filled))
    both = np.flatnonzero(sc_table != table.UNSET_SC)
    np.testing.assert_array_equal(sc_table[both], table.sin_cos(both))
    # the extremes: m = 0 (u clamped to 1e-7) and the largest mantissa
    ends = np.array([0, table.ENTRIES - 1])
    r = table.radius(ends).view(np.float32)
    assert abs(r[0] - np.sqrt(-2 * np.log(1e-7))) < 1e-5  # sqrt(-2 ln 1e-7)
    assert abs(r[1] - np.sqrt(-2 * np.log1p(-2.0 ** -23))) < 1e-8


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
