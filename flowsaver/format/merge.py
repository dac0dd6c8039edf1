"""Sharded saves: each device group (or each process) writes a one-shard bundle under a
temporary prefix, then ``merge_bundles`` joins them into one checkpoint (TensorFlow's
MergeV2Checkpoints).

Part prefixes are ``<P>_temp/part-%05d-of-%05d`` (TensorFlow's Saver uses
``<P>.part-%05d-of-%05d`` on S3). The merge moves the parts' data files to
``P.data-<k>-of-<N>`` (never rewrites the bytes: offsets stay valid), renumbers each
entry's shard_id by the order the data files are met, appends the ``slices`` lists of a
partitioned tensor spread over several parts, writes ``P.index`` last, then deletes the
part indexes and their directories.

On a local disk the data files are renamed. On an object store, which cannot rename,
they are copied server-side (no bytes pass through this process), the index is written
with one PUT after every copy has completed (the commit), and only then are the parts
deleted: a merge killed at any point leaves no visible checkpoint and every part intact,
so it can simply be run again.
"""
from __future__ import annotations

import logging
import os

from flowsaver import errors
from flowsaver.format import storage
from flowsaver.format.bundle_read import data_filename, index_filename, key_to_name, read_index
from flowsaver.format.bundle_write import BundleWriter, header_proto, write_index_output

log = logging.getLogger(__name__)


def part_prefix(prefix: str, shard: int, num_shards: int) -> str:
    """Where part ``shard`` of ``prefix`` is written before the merge (TensorFlow's names:
    a ``_temp`` directory on disks, a ``.part`` suffix on object stores)."""
    if storage.is_url(prefix):
        return "%s.part-%05d-of-%05d" % (prefix, shard, num_shards)
    return "%s_temp/part-%05d-of-%05d" % (prefix, shard, num_shards)


def merge_entries(parts) -> tuple[int, dict]:
    """Join the entries of bundles, in order, as MergeV2Checkpoints joins them.

    Args:
      parts: ``[(where, header, {key: BundleEntryProto})]``, each bundle's shard ids
        counted from 0; the entries are changed in place.

    Returns:
      ``(total shards, {key: entry})``: entries stored whole are renumbered to the merged
      shard order; a partitioned tensor's slice lists are concatenated.

    Raises:
      InvalidArgumentError: a key stored whole appears in two parts, or the parts
        disagree on byte order or format version.
    """
    version = parts[0][1].version.SerializeToString()
    endianness = parts[0][1].endianness
    for where, header, _ in parts:
        if header.endianness != endianness:
            raise errors.InvalidArgumentError(
                f"Merging bundles with conflicting endianness: {where}")
        if header.version.SerializeToString() != version:
            raise errors.InvalidArgumentError(
                f"Merging bundles with different format versions: {where}")
    merged: dict = {}
    base = 0
    for where, header, entries in parts:
        for key, entry in entries.items():
            if key in merged:
                if not (entry.slices and merged[key].slices):
                    raise errors.InvalidArgumentError(
                        f"Duplicate tensor keyed by {key_to_name(key)} in {where}")
                merged[key].slices.extend(entry.slices)
                continue
            if not entry.slices:
                entry.shard_id = base + entry.shard_id
            merged[key] = entry
        base += header.num_shards
    return base, merged


def merge_bundles(part_prefixes, prefix: str, delete_old_dirs: bool = True,
                  allow_missing_files: bool = False) -> str:
    """Merge complete part bundles into checkpoint ``prefix``; returns the prefix."""
    parts = []
    for part in part_prefixes:
        if allow_missing_files and not storage.exists(index_filename(part)):
            continue
        parts.append((part, *read_index(part)))
    if not parts:
        raise errors.InvalidArgumentError(f"no bundles to merge into {prefix}")
    endianness = parts[0][1].endianness
    total, merged = merge_entries([(f"{part} into {prefix}", header, entries)
                                   for part, header, entries in parts])
    moves, base = [], 0
    for part, header, _ in parts:
        for shard in range(header.num_shards):
            moves.append((data_filename(part, shard, header.num_shards),
                          data_filename(prefix, base + shard, total)))
        base += header.num_shards
    missing = [src for src, _ in moves if not storage.isfile(src)]
    if missing:
        raise errors.NotFoundError(f"cannot merge into {prefix}: part data files {missing} "
                                   f"are missing")
    header = header_proto(total)
    header.endianness = endianness
    # The index is complete before the first move, so nothing can fail halfway through
    # the moves but the moves themselves.
    index = write_index_output(prefix, header, merged)
    try:
        for src, dst in moves:
            if storage.is_url(dst):
                storage.copy(src, dst)   # parts stay until the index is committed
            else:
                os.replace(src, dst)
        index.commit()
    except BaseException:
        index.abort()
        raise
    for src, _ in moves:
        if storage.is_url(src):
            storage.remove_if_present(src)
    part_dirs = []
    for part, _, _ in parts:
        storage.remove_if_present(index_filename(part))
        part_dir = os.path.dirname(part)
        if part_dir and part_dir not in part_dirs:
            part_dirs.append(part_dir)
    own_dir = os.path.dirname(prefix)
    for part_dir in part_dirs if delete_old_dirs else ():
        if storage.is_url(part_dir) or storage.same_directory(part_dir, own_dir):
            continue   # object stores have no directories to remove
        try:
            os.rmdir(part_dir)
        except OSError as exc:  # not empty: something else lives there; leave it
            log.warning("kept temporary directory %s after merging into %s: %s",
                        part_dir, prefix, exc)
    return prefix


class ShardedBundleWriter:
    """Writes ``num_shards`` part bundles, then merges them into ``prefix`` on finish.

    Example:
      >>> w = ShardedBundleWriter("/tmp/ck", 2)
      >>> w.shard(0).add("a", x); w.shard(1).add("b", y); w.finish()
    """

    def __init__(self, prefix: str, num_shards: int):
        if num_shards < 1:
            raise errors.InvalidArgumentError(f"num_shards must be at least 1, not {num_shards}")
        self.prefix = prefix
        self._parts = [part_prefix(prefix, i, num_shards) for i in range(num_shards)]
        self._writers: dict[int, BundleWriter] = {}

    def shard(self, i: int) -> BundleWriter:
        if i not in self._writers:
            self._writers[i] = BundleWriter(self._parts[i])
        return self._writers[i]

    def finish(self) -> str:
        for i in range(len(self._parts)):
            self.shard(i).finish()
        return merge_bundles(self._parts, self.prefix)

    def abort(self) -> None:
        for writer in self._writers.values():
            writer.abort()
