"""Sharded saves: each device group writes a one-shard bundle under a temporary prefix,
then ``merge_bundles`` joins them into one checkpoint (TensorFlow's MergeV2Checkpoints).

Part prefixes are ``<P>_temp/part-%05d-of-%05d``. The merge renames the parts' data files
to ``P.data-<k>-of-<N>`` (never copies the bytes: offsets stay valid), renumbers each
entry's shard_id by the order the data files are met, appends the ``slices`` lists of a
partitioned tensor spread over several parts, writes ``P.index`` last, then deletes the
part indexes and their directories.
"""
from __future__ import annotations

import logging
import os

from flowsaver import errors
from flowsaver.format.bundle_read import data_filename, index_filename, key_to_name, read_index
from flowsaver.format.atomic import discard
from flowsaver.format.bundle_write import BundleWriter, header_proto, write_index_temp

log = logging.getLogger(__name__)


def part_prefix(prefix: str, shard: int, num_shards: int) -> str:
    return "%s_temp/part-%05d-of-%05d" % (prefix, shard, num_shards)


def merge_bundles(part_prefixes, prefix: str, delete_old_dirs: bool = True,
                  allow_missing_files: bool = False) -> str:
    """Merge complete part bundles into checkpoint ``prefix``; returns the prefix."""
    parts = []
    for part in part_prefixes:
        if allow_missing_files and not os.path.exists(index_filename(part)):
            continue
        parts.append((part, *read_index(part)))
    if not parts:
        raise errors.InvalidArgumentError(f"no bundles to merge into {prefix}")
    version = parts[0][1].version.SerializeToString()
    endianness = parts[0][1].endianness
    for part, header, _ in parts:
        if header.endianness != endianness:
            raise errors.InvalidArgumentError(
                f"Merging bundles with conflicting endianness: {part} into {prefix}")
        if header.version.SerializeToString() != version:
            raise errors.InvalidArgumentError(
                f"Merging bundles with different format versions: {part} into {prefix}")
    total = sum(header.num_shards for _, header, _ in parts)
    merged: dict = {}
    renames = []
    base = 0
    for part, header, entries in parts:
        for key, entry in entries.items():
            if key in merged:
                if not (entry.slices and merged[key].slices):
                    raise errors.InvalidArgumentError(
                        f"Duplicate tensor keyed by {key_to_name(key)} in {part}")
                merged[key].slices.extend(entry.slices)
                continue
            if not entry.slices:
                entry.shard_id = base + entry.shard_id
            merged[key] = entry
        for shard in range(header.num_shards):
            renames.append((data_filename(part, shard, header.num_shards),
                            data_filename(prefix, base + shard, total)))
        base += header.num_shards
    missing = [src for src, _ in renames if not os.path.isfile(src)]
    if missing:
        raise errors.NotFoundError(f"cannot merge into {prefix}: part data files {missing} "
                                   f"are missing")
    header = header_proto(total)
    header.endianness = endianness
    # The index is complete before the first rename, so nothing can fail halfway through
    # the renames but the renames themselves.
    index_tmp = write_index_temp(prefix, header, merged)
    try:
        for src, dst in renames:
            os.replace(src, dst)
        os.replace(index_tmp, index_filename(prefix))
    except BaseException:
        discard(index_tmp)
        raise
    part_dirs = []
    for part, _, _ in parts:
        os.remove(index_filename(part))
        part_dir = os.path.dirname(part)
        if part_dir and part_dir not in part_dirs:
            part_dirs.append(part_dir)
    own_dir = os.path.abspath(os.path.dirname(prefix) or ".")
    for part_dir in part_dirs if delete_old_dirs else ():
        if os.path.abspath(part_dir) == own_dir:
            continue
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
