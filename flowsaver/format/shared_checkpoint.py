"""Many writers, one checkpoint: each process writes its shard, one process merges.

TensorFlow's parameter servers each saved the variables they held; MergeV2Checkpoints
then joined the parts into one checkpoint. The same here, across processes (or machines)
sharing a disk or an object store:

    write_shard(prefix, k, n, tensors)   in each of n writers: part bundle k of n, at
                                         merge.part_prefix(prefix, k, n); its index is
                                         written last, so a part exists only complete
    merge_shards(prefix, n)              in one process, after every writer is done: joins
                                         the parts (merge.merge_bundles), the index last,
                                         then records the checkpoint in the state file

A writer killed midway leaves no part index, so ``merge_shards`` fails with NotFoundError
naming the missing part and nothing becomes visible: no ``prefix.index`` and no state
file entry. The parts that did complete stay, and the merge can be run again once the
missing writer has been re-run. A tensor may be spread over several writers as slices
(``(full_shape, "start,length:..." slice, value)``), as a partitioned variable is.
"""
from __future__ import annotations

import os
from typing import Mapping

from flowsaver import errors
from flowsaver.format import state as ckpt_state, storage
from flowsaver.format.bundle_read import index_filename
from flowsaver.format.bundle_write import BundleWriter
from flowsaver.format.merge import merge_bundles, part_prefix
from flowsaver.format.slices import TensorSlice


def write_shard(prefix: str, shard: int, num_shards: int, tensors: Mapping,
                sync: bool = False) -> str:
    """Writes part ``shard`` of ``num_shards`` of checkpoint ``prefix``; returns its prefix.

    Args:
      tensors: ``{name: array}``, or ``{name: (full_shape, slice, array)}`` for one slice
        of a tensor whose other slices other writers hold; ``slice`` is a TensorSlice or
        its string (``"0,2:-"``).
      sync: fsync the part's files before they are committed.
    """
    if not 0 <= shard < num_shards:
        raise ValueError(f"shard {shard} is not in 0..{num_shards - 1}")
    part = part_prefix(prefix, shard, num_shards)
    if not storage.is_url(prefix):
        os.makedirs(os.path.dirname(part), exist_ok=True)
    with BundleWriter(part, sync=sync) as writer:
        for name in sorted(tensors):
            value = tensors[name]
            if isinstance(value, tuple):
                full_shape, tslice, array = value
                if isinstance(tslice, str):
                    tslice = TensorSlice.parse(tslice)
                writer.add_slice(name, full_shape, tslice, array)
            else:
                writer.add(name, value)
    return part


def merge_shards(prefix: str, num_shards: int, record: bool = True,
                 latest_filename: str | None = None) -> str:
    """Joins the ``num_shards`` parts of ``prefix`` into the checkpoint; returns ``prefix``.

    Args:
      record: also make it the directory's latest checkpoint in the state file (after
        the index exists), keeping the checkpoints the state file already lists.

    Raises:
      NotFoundError: a part is missing (its writer did not finish); nothing is changed.
    """
    parts = [part_prefix(prefix, k, num_shards) for k in range(num_shards)]
    missing = [p for p in parts if not storage.exists(index_filename(p))]
    if missing:
        raise errors.NotFoundError(f"cannot merge {prefix}: {len(missing)} of {num_shards} "
                                   f"parts are missing or unfinished: {', '.join(missing)}")
    merge_bundles(parts, prefix)
    if record:
        directory = os.path.dirname(prefix)
        state = ckpt_state.get_checkpoint_state(directory, latest_filename)
        kept = [p for p in (state.all_model_checkpoint_paths if state else []) if p != prefix]
        ckpt_state.update_checkpoint_state(directory, prefix, kept + [prefix],
                                           latest_filename=latest_filename)
    return prefix
