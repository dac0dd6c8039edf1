"""Writing a whole checkpoint from values already in memory, its shards in parallel.

What a Saver's SaveV2 ops (one per device) and MergeV2Checkpoints write together, written
directly: data file K of N holds shard K's tensors in the order given, and one index
joins the shards' entries as the merge joins them (merge.merge_entries), so the bytes are
those of the graph's save. No part bundles and no renames of data are needed, which is
what object stores (no rename) want; the commit order is bundle_write.py's:

    1. every shard's data file is written, concurrently (one thread each, at most
       MAX_PARALLEL_SHARDS at a time): local temporaries, or uncommitted uploads;
    2. the index is written, uncommitted;
    3. the data files are committed (renamed into place, or their uploads completed),
       concurrently;
    4. the index is committed: the checkpoint exists from this moment.

A failure in steps 1-3 aborts every output and leaves no index. With ``sync``, each file
is fsynced before its commit and the directory after it (local disks only).
"""
from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor
from typing import Sequence

from flowsaver.format.bundle_write import BundleWriter, header_proto, write_index_output
from flowsaver.format.merge import merge_entries
from flowsaver.format.slices import parse_shape_and_slice

# Shards written at the same time. Writing is I/O (or upload) bound and NumPy's CRC and
# file writes release the GIL, so threads overlap well.
MAX_PARALLEL_SHARDS = 8


@dataclasses.dataclass(frozen=True)
class TensorToSave:
    """One SaveV2 argument: checkpoint key, shape-and-slice string ("" = whole) and value."""

    name: str
    slice_spec: str
    value: object


def add_tensors(writer: BundleWriter, tensors: Sequence[TensorToSave]) -> None:
    """Adds tensors to a writer exactly as the SaveV2 kernel does."""
    for t in tensors:
        value = t.value.read() if hasattr(t.value, "read") else t.value
        if t.slice_spec:
            full_shape, tslice = parse_shape_and_slice(t.slice_spec)
            writer.add_slice(t.name, full_shape, tslice, value)
        else:
            writer.add(t.name, value)


def write_checkpoint(prefix: str, shards: Sequence[Sequence[TensorToSave]],
                     sync: bool = False) -> str:
    """Writes checkpoint ``prefix`` with one data file per entry of ``shards``.

    Args:
      prefix: a local path or a URL (storage.py).
      shards: the tensors of each data file, in SaveV2 argument order.
      sync: fsync files and directory before each commit (local disks).

    Returns:
      ``prefix``.

    Raises:
      InvalidArgumentError: a bad slice, or a key stored whole in two shards.
    """
    if len(shards) == 1:
        writer = BundleWriter(prefix, sync=sync)
        try:
            add_tensors(writer, shards[0])
            return writer.finish()
        except BaseException:
            writer.abort()
            raise
    num_shards = len(shards)
    writers: list[BundleWriter] = []
    index = None
    try:
        for k in range(num_shards):
            writers.append(BundleWriter(prefix, sync=sync, shard=k, num_shards=num_shards))

        def fill(k: int) -> dict:
            add_tensors(writers[k], shards[k])
            return writers[k].finish_data()

        with ThreadPoolExecutor(min(num_shards, MAX_PARALLEL_SHARDS)) as pool:
            parts = list(pool.map(fill, range(num_shards)))
            total, merged = merge_entries([(f"shard {k} of {prefix}", header_proto(1), entries)
                                           for k, entries in enumerate(parts)])
            index = write_index_output(prefix, header_proto(total), merged, sync)
            list(pool.map(BundleWriter.commit_data, writers))
        index.commit()
    except BaseException:
        for writer in writers:
            writer.abort()
        if index is not None:
            index.abort()
        raise
    return prefix
