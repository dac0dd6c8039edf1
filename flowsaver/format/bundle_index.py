"""The index of a V2 tensor bundle: reading ``P.index`` and checking what it says.

Index entries (key -> serialized proto):
    ""            BundleHeaderProto {1 num_shards, 2 endianness, 3 version}
    name          BundleEntryProto  {1 dtype, 2 shape, 3 shard_id, 4 offset, 5 size,
                                     6 crc32c (fixed32, masked), 7 slices}
    \\x00name...   one stored slice of a partitioned tensor (see slices.py)

Opening a checkpoint reads only this: the SSTable's entries in one tight loop
(table.py), every BundleEntryProto parsed in one protobuf call (framed as the repeated
field of a private BundleEntryList), the header and each entry's shard checked. File names
and the key <-> name conversions used by the reader and writer live here too.
"""
from __future__ import annotations

import os

import numpy as np

from flowsaver import errors
from flowsaver.format import dtypes, storage
from flowsaver.format.coding import CorruptionError, encode_varint
from flowsaver.format.files import open_regular_file
from flowsaver.format.protos import BundleEntryList, BundleEntryProto, BundleHeaderProto
from flowsaver.format.ranged_reads import read_object
from flowsaver.format.slices import num_elements
from flowsaver.format.table import TableReader

HEADER_KEY = b""
ENTRY_TAG = b"\x0a"   # field 1, length-delimited: an entry in a BundleEntryList
SHARD_ID_TAG = b"\x18"  # BundleEntryProto field 3 (shard_id), varint
SLICES_TAG = b"\x3a"    # BundleEntryProto field 7 (slices), length-delimited
CONSUMER_VERSION = 1   # the bundle format version this reader understands
MAX_RANK = 254         # TensorFlow's TensorShape limit
MAX_NUM_SHARDS = 99_999  # data file names hold five digits


def data_filename(prefix: str, shard_id: int, num_shards: int) -> str:
    return "%s.data-%05d-of-%05d" % (prefix, shard_id, num_shards)


def index_filename(prefix: str) -> str:
    return prefix + ".index"


def key_to_name(key: bytes) -> str:
    return key.decode("utf-8", "surrogateescape")


def name_to_key(name) -> bytes:
    if isinstance(name, bytes):
        return name
    try:
        return name.encode("utf-8", "surrogateescape")
    except (UnicodeEncodeError, AttributeError):
        raise errors.InvalidArgumentError(f"tensor name {name!r} is not UTF-8 text or bytes") \
            from None


def shape_of(proto, where: str) -> tuple[int, ...]:
    """A checked tuple of dims from a TensorShapeProto found in a file."""
    if proto.unknown_rank:
        raise errors.DataLossError(f"{where}: stored shape has unknown rank")
    dims = tuple(d.size for d in proto.dim)
    if len(dims) > MAX_RANK or any(d < 0 for d in dims):
        raise errors.DataLossError(f"{where}: stored shape {list(dims)} is invalid")
    # NumPy refuses any shape whose non-zero dims multiply past its index range, even
    # one with a zero dim; no real tensor comes near that.
    if num_elements(d for d in dims if d) > dtypes.MAX_ARRAY_ELEMENTS:
        raise errors.DataLossError(f"{where}: stored shape {list(dims)} is too large for "
                                   f"any array")
    return dims


def read_table_file(path: str) -> list[tuple[bytes, bytes]]:
    """All entries of an SSTable file; DataLossError naming the file when malformed."""
    return list(zip(*read_table_columns(path)))


def read_table_columns(path: str) -> tuple[list, list]:
    """``(keys, values)`` of an SSTable file (``TableReader.columns``); DataLossError
    naming the file when malformed."""
    if storage.is_url(path):
        data = read_object(path)
    else:
        fd = open_regular_file(path)
        with os.fdopen(fd, "rb") as f:
            data = f.read(os.fstat(fd).st_size)
    try:
        return TableReader(data).columns()
    except CorruptionError as exc:
        raise errors.DataLossError(f"Unable to read table file {path}: {exc}") from None


def read_index(prefix: str):
    """``(header, {key: BundleEntryProto})`` of a bundle, checked; the header key excluded."""
    header, entries, _ = _read_index_items(prefix)
    return header, entries


def _read_index_items(prefix: str):
    """``read_index`` plus the keys whose entries may list slices (a superset)."""
    path = index_filename(prefix)
    keys, values = read_table_columns(path)
    if not keys or keys[0] != HEADER_KEY:
        raise errors.DataLossError(f"{path}: the table has no bundle header (key \"\")")
    try:
        header = BundleHeaderProto.FromString(values[0])
    except Exception as exc:  # DecodeError; the message is all we keep
        raise errors.DataLossError(f"{path}: bundle header does not parse: {exc}") from None
    _check_header(header, path)
    del keys[0], values[0]
    framed, sharded, sliced = _frame_entries(values)
    parsed = _parse_entries(framed, keys, values, path)
    for i in sharded:
        if not 0 <= parsed[i].shard_id < header.num_shards:
            raise errors.DataLossError(f"{path}: tensor {key_to_name(keys[i])!r} names "
                                       f"shard {parsed[i].shard_id} of {header.num_shards}")
    return header, dict(zip(keys, parsed)), [keys[i] for i in sliced]


def _frame_entries(values: list) -> tuple[bytes, list, list]:
    """``(framed, sharded, sliced)``: the values as one serialized BundleEntryList (each
    behind its field tag and length), and the positions of the values holding the
    shard_id or the slices tag byte.

    An entry without the shard_id tag byte has shard 0 (always valid), one without the
    slices tag byte lists no slices: those two lists are supersets of the entries worth
    a second look (a tag byte may also occur inside another field), and reading a field
    of 1000 parsed messages would cost more than this. When every value is shorter than
    128 bytes (one-byte lengths: any checkpoint's entries but a few with long shapes or
    many slices) all of it is a few whole-array operations; else a loop per value."""
    sizes = np.fromiter(map(len, values), np.int64, len(values))
    if len(values) and sizes.max() >= 128:
        framed, sharded, sliced = [], [], []
        for i, value in enumerate(values):
            framed.extend((ENTRY_TAG, encode_varint(len(value)), value))
            if SHARD_ID_TAG in value:
                sharded.append(i)
            if SLICES_TAG in value:
                sliced.append(i)
        return b"".join(framed), sharded, sliced
    body = np.frombuffer(b"".join(values), np.uint8)
    ends = np.cumsum(sizes)
    heads = ends - sizes + 2 * np.arange(len(values))    # where each value's tag goes
    out = np.empty(len(body) + 2 * len(values), np.uint8)
    is_value = np.ones(len(out), bool)
    is_value[heads] = is_value[heads + 1] = False
    out[is_value] = body
    out[heads] = ENTRY_TAG[0]
    out[heads + 1] = sizes

    def holding(tag: bytes) -> list:
        found = np.flatnonzero(body == tag[0])
        return np.unique(np.searchsorted(ends, found, side="right")).tolist()
    return out.tobytes(), holding(SHARD_ID_TAG), holding(SLICES_TAG)


def _parse_entries(framed: bytes, keys: list, values: list, path: str) -> list:
    """The BundleEntryProto of each value, parsed in one protobuf call from ``framed``
    (the values as a BundleEntryList); one call per entry only to name the entry that
    does not parse."""
    try:
        return list(BundleEntryList.FromString(framed).entries)
    except Exception:  # DecodeError: find which entry, for the message
        pass
    for key, value in zip(keys, values):
        try:
            BundleEntryProto.FromString(value)
        except Exception as exc:
            raise errors.DataLossError(f"{path}: entry for tensor {key_to_name(key)!r} does "
                                       f"not parse: {exc}") from None
    raise errors.DataLossError(f"{path}: the index entries do not parse")


def _check_header(header, path: str) -> None:
    version = header.version
    if not 1 <= header.num_shards <= MAX_NUM_SHARDS:
        raise errors.DataLossError(f"{path}: bundle header says {header.num_shards} shards "
                                   f"(data file names allow 1 to {MAX_NUM_SHARDS})")
    if version.producer < 0 or version.min_consumer > CONSUMER_VERSION \
            or CONSUMER_VERSION in version.bad_consumers:
        raise errors.InvalidArgumentError(
            f"{path}: checkpoint format version (producer {version.producer}, min_consumer "
            f"{version.min_consumer}, bad_consumers {list(version.bad_consumers)}) cannot be "
            f"read by this reader (version {CONSUMER_VERSION})")
