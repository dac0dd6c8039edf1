"""Fuzzing behind valid checksums: random blocks, entries and data that every CRC vouches for.

Only the parsers stand guard, so each run must end in a typed OpError naming the file (or
a successful read), quickly and within 4 MiB.
"""
from __future__ import annotations

import tracemalloc

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowsaver import errors
from flowsaver.format.coding import CorruptionError, crc32c, mask
from flowsaver.format.protos import BundleEntryProto
from bundle_builders import assemble_table, bundle_items, shape, table_bytes
from format_helpers import data_path, write
from hostile_bundles import MB, open_and_read
from test_helpers import time_limit


FUZZ = settings(max_examples=300, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


@FUZZ
@given(contents=st.binary(max_size=80), kind=st.sampled_from([0, 0, 1, 2]))
def test_fuzz_block_contents(tmp_path, contents, kind):
    # Random block bytes with a correct trailer: only the block parsers stand guard.
    prefix = str(tmp_path / "fz")
    write(prefix + ".index", assemble_table([(contents, kind)]))
    write(data_path(prefix), b"")
    with time_limit(5):
        try:
            open_and_read(prefix)()
        except errors.OpError as exc:
            assert prefix in str(exc)


@FUZZ
@given(value=st.binary(max_size=40), data=st.binary(max_size=40))
def test_fuzz_entry_values(tmp_path, value, data):
    # A random BundleEntryProto value under a valid table, random bytes in the data file.
    prefix = str(tmp_path / "fz")
    write(prefix + ".index", table_bytes(bundle_items({"x": value})))
    write(data_path(prefix), data)
    with time_limit(5):
        try:
            open_and_read(prefix)()
        except errors.OpError as exc:
            assert prefix in str(exc)


@FUZZ
@given(dtype=st.sampled_from([1, 7, 21, 10, 14, 19, 99]),
       dims=st.lists(st.integers(0, 2**40), max_size=3),
       data=st.binary(max_size=40), offset=st.integers(-2, 50),
       size=st.integers(-1, 60))
def test_fuzz_entries_with_valid_crc(tmp_path, dtype, dims, data, offset, size):
    # The entry's crc matches whatever bytes it points at, so decoders see hostile input.
    prefix = str(tmp_path / "fz")
    window = data[max(offset, 0):max(offset, 0) + max(size, 0)]
    entry = BundleEntryProto(dtype=dtype, shape=shape(*dims), offset=offset, size=size)
    if dtype == 7 and len(window) >= 4:
        # For strings, make the length checksum and entry crc right for these bytes too.
        entry.crc32c = _string_crc(window, int(np.prod(dims, dtype=object)))
    else:
        entry.crc32c = mask(crc32c(window))
    write(prefix + ".index", table_bytes(bundle_items({"x": entry})))
    write(data_path(prefix), data)
    with time_limit(5):
        tracemalloc.start()
        try:
            open_and_read(prefix, "x")()
        except errors.OpError as exc:
            assert prefix in str(exc)
        finally:
            used = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
    assert used < 4 * MB


def _string_crc(window: bytes, count: int) -> int:
    """The entry crc a string tensor of ``count`` elements stored as ``window`` would have
    if its lengths parse; anything when they do not (the reader must then fail anyway)."""
    from flowsaver.format.coding import decode_varint
    lengths, pos = [], 0
    try:
        for _ in range(min(count, len(window))):
            n, pos = decode_varint(window, pos)
            lengths.append(n)
    except CorruptionError:
        return 0
    width = 8 if any(n > 0xFFFFFFFF for n in lengths) else 4
    crc = crc32c(b"".join(n.to_bytes(width, "little") for n in lengths))
    return mask(crc32c(window[pos:], crc))
