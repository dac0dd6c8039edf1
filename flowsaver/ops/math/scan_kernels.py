"""Cumulative sums and products, and segment sums: defs, shapes, kernels.

``Cumsum``/``Cumprod`` run along one axis, optionally ``exclusive`` (each entry leaves
itself out) and ``reverse`` (from the end). ``SegmentSum`` adds the rows of ``data`` that
share a (sorted) segment id; ``UnsortedSegmentSum`` takes ids in any order and a segment
count, dropping rows with a negative id.
"""
from __future__ import annotations

import numpy as np

from flowsaver.graph.tensor_shape import TensorShape
from flowsaver.ops.math.segment_kernels import NUMBER_TYPES, invalid, unsorted_segment_shape
from flowsaver.ops.registry import OpTable
from flowsaver.ops.shapes import fail

TABLE = OpTable(__name__)
define, kernel, shape_fn = TABLE.define, TABLE.kernel, TABLE.shape_fn

define(
    *[f'{name}(x: T, axis: Tidx) -> (out: T); exclusive: bool = false; reverse: bool = false; '
      f'T: type {{{NUMBER_TYPES}}}; Tidx: type {{int32, int64}} = int32'
      for name in ("Cumsum", "Cumprod")],
    f'SegmentSum(data: T, segment_ids: Tindices) -> (output: T); T: type {{{NUMBER_TYPES}}}; '
    f'Tindices: type {{int32, int64}}',
    f'UnsortedSegmentSum(data: T, segment_ids: Tindices, num_segments: Tnumsegments) -> '
    f'(output: T); T: type {{{NUMBER_TYPES}}}; Tindices: type {{int16, int32, int64}}; '
    f'Tnumsegments: type {{int32, int64}} = int32',
)


# ---- Cumsum / Cumprod ---------------------------------------------------------------------------
shape_fn("Cumsum", "Cumprod")(lambda op: [op.inputs[0].shape])


@kernel("Cumsum", "Cumprod")
def _scan(op, ctx):
    exclusive, reverse = op.get_attr("exclusive"), op.get_attr("reverse")
    accumulate = np.cumsum if op.type == "Cumsum" else np.cumprod
    identity = 0 if op.type == "Cumsum" else 1

    def run(x, axis):
        x = np.asarray(x)
        rank, axis = x.ndim, int(axis)
        if not -rank <= axis < rank:
            raise invalid(op, f"ScanOp: Expected scan axis in the range [{-rank}, {rank}), "
                               f"but got {axis}")
        axis %= rank
        work = np.flip(x, axis) if reverse else x
        out = accumulate(work, axis=axis, dtype=x.dtype)
        if exclusive:  # shifted by one: each entry holds what came before it
            first = np.full_like(np.take(out, [0], axis=axis), identity)
            out = np.concatenate([first, np.take(out, np.arange(x.shape[axis] - 1), axis=axis)],
                                 axis=axis)
        return np.flip(out, axis) if reverse else out
    return run


# ---- SegmentSum ---------------------------------------------------------------------------------
@shape_fn("SegmentSum")
def _segment_sum_shape(op):
    data, ids = op.inputs[0].shape, op.inputs[1].shape
    if ids.ndims is not None and ids.ndims != 1:
        raise fail(op, f"Shape must be rank 1 but is rank {ids.ndims}")
    if data.ndims is not None and data.ndims < 1:
        raise fail(op, f"Shape must be at least rank 1 but is rank {data.ndims}")
    if data.ndims is None:
        return [TensorShape(None)]
    return [TensorShape([None] + data.as_list()[1:])]


@kernel("SegmentSum")
def _segment_sum(op, ctx):
    def run(data, ids):
        data, ids = np.asarray(data), np.asarray(ids)
        if ids.ndim != 1 or data.ndim < 1 or ids.shape[0] != data.shape[0]:
            raise invalid(op, f"segment_ids should be the same size as dimension 0 of input."
                               f" data.shape = [{','.join(map(str, data.shape))}], "
                               f"segment_ids.shape = [{','.join(map(str, ids.shape))}]")
        count = int(ids[-1]) + 1 if ids.size else 0
        if ids.size and int(ids[0]) < 0:
            raise invalid(op, f"Segment id {int(ids[0])} out of range [0, {count}), possibly "
                               f"because 'segment_ids' input is not sorted.")
        if np.any(np.diff(ids) < 0):
            raise invalid(op, "segment ids are not increasing")
        out = np.zeros((max(count, 0),) + data.shape[1:], dtype=data.dtype)
        np.add.at(out, ids, data)
        return out
    return run


# ---- UnsortedSegmentSum -------------------------------------------------------------------------
shape_fn("UnsortedSegmentSum")(unsorted_segment_shape)


@kernel("UnsortedSegmentSum")
def _unsorted_segment_sum(op, ctx):
    def run(data, ids, count):
        data, ids, count = np.asarray(data), np.asarray(ids), int(count)
        if count < 0:
            raise invalid(op, f"Input num_segments == {count} must not be negative.")
        inner = data.shape[ids.ndim:]
        flat_ids = ids.reshape(-1)
        if flat_ids.size and int(flat_ids.max()) >= count:
            raise invalid(op, f"segment_ids[{int(np.argmax(flat_ids))}] = "
                               f"{int(flat_ids.max())} is out of range [0, {count})")
        out = np.zeros((count,) + inner, dtype=data.dtype)
        keep = flat_ids >= 0  # negative ids are dropped, as in TensorFlow
        np.add.at(out, flat_ids[keep], data.reshape((-1,) + inner)[keep])
        return out
    return run
