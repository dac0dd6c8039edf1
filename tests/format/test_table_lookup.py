"""The fast decoders against the checked ones: ``BlockReader.columns`` (one-byte lengths
walked in one loop) against the entry-by-entry walk, and TableLookup (key lookups that
decode one group of entries) against TableReader, on good and on lying tables."""
from __future__ import annotations

import io

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from flowsaver.format import block
from flowsaver.format.block import BlockBuilder, BlockReader
from flowsaver.format.coding import CorruptionError
from flowsaver.format.table import TableBuilder, TableReader
from flowsaver.format.table_lookup import TableLookup
from bundle_builders import assemble_table, block_of

FAST = settings(max_examples=120, deadline=None, database=None)

items = st.dictionaries(st.binary(max_size=24), st.binary(max_size=40), max_size=120)
long_items = st.dictionaries(st.binary(max_size=150), st.binary(max_size=200), max_size=30)


def table_bytes(pairs, block_size: int) -> bytes:
    out = io.BytesIO()
    builder = TableBuilder(out, block_size=block_size)
    for key, value in pairs:
        builder.add(key, value)
    builder.finish()
    return out.getvalue()


@FAST
@given(entries=st.one_of(items, long_items), block_size=st.sampled_from([64, 512, 262144]),
       probes=st.lists(st.binary(max_size=24), max_size=20))
def test_lookup_agrees_with_decoding_every_entry(entries, block_size, probes):
    pairs = sorted(entries.items())
    data = table_bytes(pairs, block_size)
    keys, values = TableReader(data).columns()
    table = TableLookup(data)
    assert len(table) == len(pairs)
    for key, value in pairs:
        assert table.get(key) == value
    for probe in probes:
        assert table.get(probe) == entries.get(probe)
    assert table.keys() == keys and table.values() == values
    for key, value in pairs:                  # now by position among all the keys
        assert table.get(key) == value
    for probe in probes:
        assert table.get(probe) == entries.get(probe)
    fresh = TableLookup(data)                 # every key decoded before any lookup
    assert fresh.keys() == keys and [fresh.get(k) for k in keys] == values


def numbered(count: int) -> list:
    return [(b"key%04d" % i, b"value %d" % i) for i in range(count)]


def test_disorder_inside_one_group_spares_the_other_groups():
    pairs = numbered(64)                       # four groups of 16 (restart points)
    pairs[40], pairs[41] = pairs[41], pairs[40]
    table = TableLookup(assemble_table([(block_of(pairs), 0)]))
    assert table.get(b"key0005") == b"value 5"
    assert table.get(b"key0060") == b"value 60"
    with pytest.raises(CorruptionError, match="out of order"):
        table.get(b"key0040")
    with pytest.raises(CorruptionError, match="out of order"):
        table.keys()


def test_a_group_reaching_past_the_next_groups_first_key_is_refused():
    pairs = numbered(32)
    pairs[15] = (b"key0020", b"too late")       # last of group 0, after group 1's first
    table = TableLookup(assemble_table([(block_of(pairs), 0)]))
    assert table.get(b"key0017") == b"value 17"
    with pytest.raises(CorruptionError, match="out of order"):
        table.get(b"key0003")


def test_whole_keys_out_of_order_are_refused_at_open():
    first, second = numbered(32)[16:], numbered(32)[:16]
    data = assemble_table([(block_of(first), 0), (block_of(second), 0)])
    with pytest.raises(CorruptionError, match="out of order"):
        TableLookup(data)


def test_a_block_with_long_values_is_decoded_whole_at_open():
    pairs = [(b"a", b"x" * 300), (b"b", b"y")]
    table = TableLookup(table_bytes(pairs, 262144))
    assert table.get(b"a") == b"x" * 300 and table.get(b"c") is None
    assert table.keys() == [b"a", b"b"]


@FAST
@given(items=st.one_of(items, long_items).map(lambda d: sorted(d.items())), interval=st.integers(1, 20))
def test_block_columns_round_trip(items, interval):
    """``columns`` (the fast walk for one-byte lengths, the checked walk otherwise) gives
    back exactly what was added."""
    builder = BlockBuilder(restart_interval=interval)
    for key, value in items:
        builder.add(key, value)
    keys, values = BlockReader(builder.finish()).columns()
    assert list(zip(keys, values)) == items


@FAST
@given(items=items.map(lambda d: sorted(d.items())),
       flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 255)), min_size=1,
                      max_size=4),
       after=st.one_of(st.none(), st.binary(max_size=4)))
def test_block_fast_walk_agrees_with_checked_walk_on_damaged_blocks(items, flips, after):
    """On any damaged entry bytes the fast walk returns what the checked walk returns,
    or the checked walk's CorruptionError is raised."""
    builder = BlockBuilder()
    for key, value in items:
        builder.add(key, value)
    reader = BlockReader(builder.finish())
    data = bytearray(reader._data[:reader._limit])
    assume(data)
    for pos, xor in flips:
        data[pos % len(data)] ^= xor
    data = bytes(data)
    try:
        want = reader._columns_checked(data, after, True)
    except CorruptionError:
        want = None
    try:
        got = block._columns_fast(data, after, True)
    except block.Unusual:
        return  # the checked walk's answer is what columns gives
    assert got == want


@FAST
@given(entries=st.one_of(items, long_items), block_size=st.sampled_from([64, 262144]),
       byte=st.integers(0, 255))
def test_entries_holding_a_byte_are_found_in_the_values_only(entries, block_size, byte):
    pairs = sorted(entries.items())
    table = TableLookup(table_bytes(pairs, block_size))
    assert table.holding(byte) == [i for i, (_, value) in enumerate(pairs) if byte in value]
