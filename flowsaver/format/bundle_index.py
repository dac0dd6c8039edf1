"""The index of a V2 tensor bundle: reading ``P.index`` and checking what it says.

Index entries (key -> serialized proto):
    ""            BundleHeaderProto {1 num_shards, 2 endianness, 3 version}
    name          BundleEntryProto  {1 dtype, 2 shape, 3 shard_id, 4 offset, 5 size,
                                     6 crc32c (fixed32, masked), 7 slices}
    \\x00name...   one stored slice of a partitioned tensor (see slices.py)

Opening a checkpoint reads only this: the SSTable (table_lookup.py: every block
checked, keys decoded a group at a time when looked up) and the header. Each
BundleEntryProto is parsed, and its shard checked, when it is first used
(``IndexEntries``); a walk over all of them parses them in one protobuf call, framed as
the repeated field of a private BundleEntryList. File names
and the key <-> name conversions used by the reader and writer live here too.
"""
from __future__ import annotations

import math
import os
from collections.abc import Mapping

import numpy as np

from flowsaver import errors
from flowsaver.format import dtypes, storage
from flowsaver.format.coding import CorruptionError, encode_varint
from flowsaver.format.files import open_regular_file
from flowsaver.format.protos import BundleEntryList, BundleEntryProto, BundleHeaderProto
from flowsaver.format.ranged_reads import read_object
from flowsaver.format.slices import num_elements
from flowsaver.format.table import TableReader
from flowsaver.format.table_lookup import TableLookup

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


class LazyText:
    """Text for an error message, made only if a message is: ``str(LazyText(fn, *args))``
    is ``fn(*args)``. Reading a tensor names the tensor and its files in every check it
    makes; formatting those names for each of a checkpoint's small tensors took as long
    as reading them."""

    __slots__ = ("_fn", "_args")

    def __init__(self, fn, *args):
        self._fn, self._args = fn, args

    def __str__(self) -> str:
        return self._fn(*self._args)


def shape_of(proto, where) -> tuple[int, ...]:
    """A checked tuple of dims from a TensorShapeProto found in a file. ``where`` names
    the tensor in a message: a string or a LazyText."""
    dims = tuple([d.size for d in proto.dim])
    # The usual shape passes in a few comparisons; every other goes through the checks
    # below, which name what is wrong.
    if not proto.unknown_rank and len(dims) <= MAX_RANK and (
            not dims or min(dims) > 0 and math.prod(dims) <= dtypes.MAX_ARRAY_ELEMENTS):
        return dims
    where = str(where)
    if proto.unknown_rank:
        raise errors.DataLossError(f"{where}: stored shape has unknown rank")
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


def read_file_bytes(path: str) -> bytes:
    """The whole of a (small) file: a regular local file, or an object at a URL."""
    if storage.is_url(path):
        return read_object(path)
    fd = open_regular_file(path)
    with os.fdopen(fd, "rb") as f:
        return f.read(os.fstat(fd).st_size)


def read_table_columns(path: str) -> tuple[list, list]:
    """``(keys, values)`` of an SSTable file (``TableReader.columns``); DataLossError
    naming the file when malformed."""
    data = read_file_bytes(path)
    try:
        return TableReader(data).columns()
    except CorruptionError as exc:
        raise errors.DataLossError(f"Unable to read table file {path}: {exc}") from None


def read_index(prefix: str):
    """``(header, {key: BundleEntryProto})`` of a bundle, every entry parsed and checked;
    the header key excluded."""
    header, entries = _read_index_items(prefix)
    return header, entries.parse_all()


def _read_index_items(prefix: str):
    """``(header, IndexEntries)``: the table opened (``TableLookup``: every block
    checked, keys decoded on demand) and the header parsed and checked."""
    path = index_filename(prefix)
    data = read_file_bytes(path)
    try:
        table = TableLookup(data)
        head = table.get(HEADER_KEY)
    except CorruptionError as exc:
        raise errors.DataLossError(f"Unable to read table file {path}: {exc}") from None
    if head is None:
        raise errors.DataLossError(f"{path}: the table has no bundle header (key \"\")")
    try:
        header = BundleHeaderProto.FromString(head)
    except Exception as exc:  # DecodeError; the message is all we keep
        raise errors.DataLossError(f"{path}: bundle header does not parse: {exc}") from None
    _check_header(header, path)
    return header, IndexEntries(table, header.num_shards, path)


class IndexEntries(Mapping):
    """``{key: BundleEntryProto}`` of one index (the header excluded), in key order,
    each entry looked up and parsed when it is first asked for.

    Opening a checkpoint checks the table's blocks (``TableLookup``); an entry's proto,
    and its shard, are checked when it is first read, as TensorFlow's BundleReader does
    on lookup. A corrupt entry raises DataLossError naming it when it is read, or when
    all entries are (``parse_all``); the others stay readable. Lookups past
    ``BULK_AFTER`` parse every remaining entry in one protobuf call, so walking all
    entries costs one call, not one per entry."""

    BULK_AFTER = 32

    def __init__(self, table: TableLookup, num_shards: int, path: str):
        self._table = table
        self._parsed: dict = {}
        self._all_parsed = False
        self._bulk_failed = False
        self._num_shards = num_shards
        self._path = path

    def __getitem__(self, key: bytes):
        entry = self._parsed.get(key)
        if entry is not None:
            return entry
        value = self.value(key)
        if value is None:
            raise KeyError(key)
        if len(self._parsed) >= self.BULK_AFTER and not self._bulk_failed:
            try:
                return self.parse_all()[key]
            except errors.DataLossError:  # one bad entry: the others stay readable
                self._bulk_failed = True
        try:
            entry = BundleEntryProto.FromString(value)
        except Exception as exc:  # DecodeError; the message is all we keep
            raise self._unparsable(key, exc) from None
        self._check_shard(key, entry)
        self._parsed[key] = entry
        return entry

    def __iter__(self):
        return iter(self.key_list())

    def __len__(self) -> int:
        return len(self._table) - 1   # the header

    def __contains__(self, key) -> bool:
        return key in self._parsed or self.value(key) is not None

    def value(self, key: bytes) -> bytes | None:
        """The serialized entry stored under ``key``, or None."""
        if key == HEADER_KEY or not isinstance(key, bytes):
            return None
        return self._table_call(self._table.get, key)

    def key_list(self) -> list:
        """Every key, in order (the header excluded)."""
        return self._table_call(self._table.keys)[1:]

    def holding(self, byte: int) -> list:
        """The keys of the entries whose serialized values hold ``byte``."""
        keys = self.key_list()
        return [keys[i - 1] for i in self._table_call(self._table.holding, byte) if i]

    def value_list(self) -> list:
        """Every serialized entry, in key order (the header excluded)."""
        return self._table_call(self._table.values)[1:]

    def _table_call(self, fn, *args):
        try:
            return fn(*args)
        except CorruptionError as exc:
            raise errors.DataLossError(f"Unable to read table file {self._path}: {exc}") \
                from None

    def parse_all(self) -> dict:
        """Every entry, parsed and checked: ``{key: BundleEntryProto}`` in key order."""
        if not self._all_parsed:
            keys, values = self.key_list(), self.value_list()
            framed, sharded = _frame_entries(values)
            try:
                parsed = list(BundleEntryList.FromString(framed).entries)
            except Exception:  # DecodeError: one call per entry names the entry
                for key, value in zip(keys, values):
                    try:
                        BundleEntryProto.FromString(value)
                    except Exception as exc:
                        raise self._unparsable(key, exc) from None
                raise errors.DataLossError(f"{self._path}: the index entries do not parse") \
                    from None
            for i in sharded:
                self._check_shard(keys[i], parsed[i])
            self._parsed = dict(zip(keys, parsed))
            self._all_parsed = True
        return dict(self._parsed)

    def _unparsable(self, key: bytes, exc: Exception) -> errors.DataLossError:
        return errors.DataLossError(f"{self._path}: entry for tensor {key_to_name(key)!r} "
                                    f"does not parse: {exc}")

    def _check_shard(self, key: bytes, entry) -> None:
        if not 0 <= entry.shard_id < self._num_shards:
            raise errors.DataLossError(f"{self._path}: tensor {key_to_name(key)!r} names "
                                       f"shard {entry.shard_id} of {self._num_shards}")


def _frame_entries(values: list) -> tuple[bytes, list]:
    """``(framed, sharded)``: the values as one serialized BundleEntryList (each behind
    its field tag and length), and the positions of the values holding the shard_id tag
    byte.

    An entry without the shard_id tag byte has shard 0 (always valid): the list is a
    superset of the entries worth a second look (the byte may also occur inside another
    field), and reading a field of 1000 parsed messages would cost more than this. When
    every value is shorter than 128 bytes (one-byte lengths: any checkpoint's entries but
    a few with long shapes or many slices) all of it is a few whole-array operations;
    else a loop per value."""
    sizes = np.fromiter(map(len, values), np.int64, len(values))
    if len(values) and sizes.max() >= 128:
        framed, sharded = [], []
        tag = SHARD_ID_TAG[0]
        for i, value in enumerate(values):
            framed.extend((ENTRY_TAG, encode_varint(len(value)), value))
            if tag in value:
                sharded.append(i)
        return b"".join(framed), sharded
    body = np.frombuffer(b"".join(values), np.uint8)
    ends = np.cumsum(sizes)
    heads = ends - sizes + 2 * np.arange(len(values))    # where each value's tag goes
    out = np.empty(len(body) + 2 * len(values), np.uint8)
    is_value = np.ones(len(out), bool)
    is_value[heads] = is_value[heads + 1] = False
    out[is_value] = body
    out[heads] = ENTRY_TAG[0]
    out[heads + 1] = sizes
    found = np.flatnonzero(body == SHARD_ID_TAG[0])
    return out.tobytes(), np.unique(np.searchsorted(ends, found, side="right")).tolist()


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
