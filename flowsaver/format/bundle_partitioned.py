"""Reading a partitioned tensor of a V2 bundle: its stored slices, checked once.

A partitioned tensor's index entry lists its slices (TensorSliceProtos); each slice is
stored under its own slice key (slices.py) as an ordinary entry of the slice's shape.
Before any slice is read, the listing is checked once per tensor and the result kept:
every slice fits the full shape, no two slices overlap (box_overlap.py, O(n log n)), and
no two slice entries share bytes of a data file (sorted byte runs, O(n log n)). Slices
that share bytes could otherwise claim a tensor far larger than the data files.

Reading one stored slice is then O(1) in the number of slices (what `flowsaver verify`
does for each slice); reading a region assembles the slices that meet it.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from flowsaver import errors
from flowsaver.format.slices import (TensorSlice, assemble_slices, check_disjoint,
                                     encode_tensor_name_slice, num_elements, overlap)


@dataclasses.dataclass(frozen=True)
class SliceLayout:
    """The checked slices of one partitioned tensor."""

    stored: tuple[TensorSlice, ...]
    boxes: tuple          # one resolved ((start, length), ...) per stored slice
    keys: tuple[bytes, ...]
    position: dict        # TensorSlice -> its index in ``stored``


def slice_layout(reader, key: bytes, entry, full_shape) -> SliceLayout:
    """The layout of partitioned tensor ``key``, checked; DataLossError naming it if not."""
    where = reader._where(key)
    stored = [reader._slice(s, key) for s in entry.slices]
    try:
        boxes = [s.resolve(full_shape) for s in stored]
    except ValueError as exc:
        raise errors.DataLossError(f"{where}: {exc}") from None
    check_disjoint(stored, boxes, where)
    keys = [encode_tensor_name_slice(key, s) for s in stored]
    _check_byte_runs(reader, stored, keys, where)
    return SliceLayout(tuple(stored), tuple(boxes), tuple(keys),
                       {s: i for i, s in enumerate(stored)})


def _check_byte_runs(reader, stored, keys, where: str) -> None:
    runs = []
    for tslice, skey in zip(stored, keys):
        sentry = reader._entries.get(skey)
        if sentry is not None and sentry.size > 0:
            runs.append((sentry.shard_id, sentry.offset, sentry.offset + sentry.size, tslice))
    runs.sort(key=lambda r: r[:3])
    for (s1, _, end1, a), (s2, start2, _, b) in zip(runs, runs[1:]):
        if s1 == s2 and start2 < end1:
            path = reader._data_path_of(s1)
            raise errors.DataLossError(f"{where}: stored slices {a} and {b} share bytes of "
                                       f"{path}")


def _checked_entry(reader, key: bytes, entry, layout: SliceLayout, i: int):
    """The index entry of stored slice ``i``, checked against the listing and its file."""
    where = reader._where(key)
    tslice, box, skey = layout.stored[i], layout.boxes[i], layout.keys[i]
    sentry = reader._entries.get(skey)
    if sentry is None:
        raise errors.DataLossError(f"{where}: slice {tslice} is listed but its entry is "
                                   f"missing")
    shape = tuple(n for _, n in box)
    # Compared as stored; _read_entry checks the stored shape itself before any read.
    if sentry.dtype != entry.dtype or tuple(d.size for d in sentry.shape.dim) != shape \
            or sentry.shape.unknown_rank:
        raise errors.DataLossError(f"{where}: slice {tslice} is stored with dtype "
                                   f"{sentry.dtype} and shape "
                                   f"{[d.size for d in sentry.shape.dim]}, not as listed")
    reader._check_extent(sentry, reader.dtype(key), num_elements(shape), where)
    return sentry


def stored_slice_entry(reader, key: bytes, entry, layout: SliceLayout,
                       tslice: TensorSlice) -> tuple[bytes, object, str]:
    """``(slice key, its checked index entry, label)`` of stored slice ``tslice``."""
    i = layout.position.get(tslice)
    if i is None:
        raise errors.NotFoundError(f"{reader._where(key)}: no stored slice {tslice}")
    sentry = _checked_entry(reader, key, entry, layout, i)
    return layout.keys[i], sentry, _label(key, tslice)


def read_stored_slice(reader, key: bytes, entry, layout: SliceLayout,
                      tslice: TensorSlice) -> np.ndarray:
    """Stored slice ``tslice`` of the tensor, exactly as stored (no assembly)."""
    return reader._read_entry(*stored_slice_entry(reader, key, entry, layout, tslice))


def assemble(reader, key: bytes, entry, layout: SliceLayout, want) -> np.ndarray:
    """The region ``want`` (resolved boxes) of the tensor, from the slices that meet it."""
    pieces = []
    for i, (tslice, box) in enumerate(zip(layout.stored, layout.boxes)):
        if overlap(box, want) is None:
            continue
        # Checked before assemble_slices allocates the output: each needed slice's entry
        # exists, matches the listing, and its bytes lie inside its data file.
        sentry = _checked_entry(reader, key, entry, layout, i)
        pieces.append((box, lambda k=layout.keys[i], e=sentry, s=tslice:
                       reader._read_entry(k, e, _label(key, s))))
    return assemble_slices(
        want, reader.dtype(key).numpy, pieces,
        f"partitioned tensor {_name(key)} in {reader._index_path()}",
        lambda: [str(s) for s in layout.stored])


def _name(key: bytes) -> str:
    return key.decode("utf-8", "surrogateescape")


def _label(key: bytes, tslice: TensorSlice) -> str:
    return _name(key) + f"[{tslice}]"
