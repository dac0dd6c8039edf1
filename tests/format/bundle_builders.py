"""Hand-built bundles for the hostile-file tests: valid tables around lying contents.

Tables and blocks come from the real builders, or are assembled here with correct
checksums, so that the lie under test is the only thing wrong with a file.
"""
from __future__ import annotations

import io

import numpy as np

from flowsaver.format.block import BlockBuilder
from flowsaver.format.coding import crc32c, encode_fixed32, encode_varint, mask
from flowsaver.format.protos import BundleEntryProto, BundleHeaderProto, TensorShapeProto
from flowsaver.format.table import TableBuilder
from format_helpers import data_path, write

MAGIC = bytes.fromhex("57fb808b247547db")


def shape(*dims) -> TensorShapeProto:
    proto = TensorShapeProto()
    for d in dims:
        proto.dim.add(size=d)
    return proto


def header(num_shards: int = 1, **version) -> BundleHeaderProto:
    proto = BundleHeaderProto(num_shards=num_shards)
    proto.version.producer = 1
    for field, value in version.items():
        if field == "bad_consumers":
            proto.version.bad_consumers.extend(value)
        else:
            setattr(proto.version, field, value)
    return proto


def table_bytes(items) -> bytes:
    """A valid SSTable of ``[(key, value bytes)]`` (sorted here)."""
    out = io.BytesIO()
    builder = TableBuilder(out)
    for key, value in sorted(items):
        builder.add(key, value)
    builder.finish()
    return out.getvalue()


def bundle_items(entries: dict, head=None) -> list:
    items = [(b"", (head or header()).SerializeToString())]
    for key, entry in entries.items():
        key = key.encode() if isinstance(key, str) else key
        items.append((key, entry if isinstance(entry, bytes) else entry.SerializeToString()))
    return items


def write_bundle(prefix: str, entries: dict, data=b"", head=None) -> str:
    """An index with these entries (valid table), and data files from ``data``."""
    write(prefix + ".index", table_bytes(bundle_items(entries, head)))
    shards = data if isinstance(data, dict) else {0: data}
    num_shards = (head or header()).num_shards
    for shard, content in shards.items():
        write(data_path(prefix, shard, max(num_shards, 1)), content)
    return prefix


def trailer(stored: bytes, kind: int) -> bytes:
    return bytes([kind]) + encode_fixed32(mask(crc32c(stored + bytes([kind]))))


def assemble_table(blocks, *, index_values=None, footer_handles=None) -> bytes:
    """A table from raw data blocks ``[(stored bytes, compression type)]``.

    Checksums are right, so the lie under test is the only thing wrong. ``index_values``
    replaces the index block's handle values; ``footer_handles`` the footer's handles.
    """
    out = bytearray()
    handles = []
    for stored, kind in blocks:
        handles.append(encode_varint(len(out)) + encode_varint(len(stored)))
        out += stored + trailer(stored, kind)
    meta = BlockBuilder().finish()
    meta_handle = encode_varint(len(out)) + encode_varint(len(meta))
    out += meta + trailer(meta, 0)
    index = BlockBuilder(restart_interval=1)
    for i, value in enumerate(index_values or handles):
        index.add(b"\xff" + bytes([i]), value)
    index_contents = index.finish()
    index_handle = encode_varint(len(out)) + encode_varint(len(index_contents))
    out += index_contents + trailer(index_contents, 0)
    handles_bytes = footer_handles if footer_handles is not None else meta_handle + index_handle
    out += handles_bytes + bytes(40 - len(handles_bytes)) + MAGIC
    return bytes(out)


def block_of(items, restart_interval: int = 16) -> bytes:
    builder = BlockBuilder(restart_interval)
    for key, value in items:
        builder.add(key, value)
    return builder.finish()


def snappy_literals(raw: bytes, claimed: int | None = None) -> bytes:
    """A snappy stream of literal elements only (60-byte and 1-byte-length forms)."""
    out = bytearray(encode_varint(len(raw) if claimed is None else claimed))
    pos = 0
    while pos < len(raw):
        chunk = raw[pos:pos + (200 if pos == 0 else 60)]
        if len(chunk) <= 60:
            out.append((len(chunk) - 1) << 2)
        else:
            out += bytes([60 << 2, len(chunk) - 1])
        out += chunk
        pos += len(chunk)
    return bytes(out)


def f32_entry(values, **fields) -> tuple[BundleEntryProto, bytes]:
    data = np.asarray(values, np.float32).tobytes()
    entry = BundleEntryProto(dtype=1, shape=shape(len(values)), size=len(data),
                             crc32c=mask(crc32c(data)))
    for field, value in fields.items():
        setattr(entry, field, value)
    return entry, data
