"""Ops that only TensorFlow's gradient graphs use: defs, shape functions, NumPy kernels.

``InvertPermutation`` (transpose), ``ConcatOffset`` (concat), ``StridedSliceGrad``,
``BroadcastTo`` and ``DynamicStitch`` (reductions), ``ListDiff`` (product).
"""
from __future__ import annotations

import numpy as np

from flowsaver import errors
from flowsaver.graph.tensor_shape import TensorShape, broadcast_shapes
from flowsaver.ops.array import strided_slice as spec
from flowsaver.ops.const_eval import value_of
from flowsaver.ops.shapes import partial_shape
from flowsaver.ops.registry import NO_GRADIENT_YET, OpTable

TABLE = OpTable(__name__)
define, kernel, shape_fn = TABLE.define, TABLE.kernel, TABLE.shape_fn

define(
    'InvertPermutation(x: T) -> (y: T); T: type {int32, int64} = int32',
    'ConcatOffset(concat_dim: int32, shape: N * shape_type) -> (offset: N * shape_type); N: int >= 2; shape_type: type {int32, int64} = int32',
    'StridedSliceGrad(shape: Index, begin: Index, end: Index, strides: Index, dy: T) -> (output: T); T: type; Index: type {int32, int64}; begin_mask: int = 0; end_mask: int = 0; ellipsis_mask: int = 0; new_axis_mask: int = 0; shrink_axis_mask: int = 0',
    'BroadcastTo(input: T, shape: Tidx) -> (output: T); T: type; Tidx: type {int32, int64} = int32',
    'DynamicStitch(indices: N * int32, data: N * T) -> (merged: T); N: int >= 1; T: type',
    'ListDiff(x: T, y: T) -> (out: T, idx: out_idx); T: type; out_idx: type {int32, int64} = int32',
)
TABLE.not_differentiable("ListDiff")
# TensorFlow differentiates these; flowsaver does not yet (the walk says so if it meets one)
TABLE.mark(NO_GRADIENT_YET, "DynamicStitch")


def _invalid(op, message: str) -> errors.InvalidArgumentError:
    return errors.InvalidArgumentError(None, op, f"{message} (in {op.type} {op.name})")


def _ints(value) -> list:
    return [int(v) for v in np.reshape(value, -1)]


# ---- InvertPermutation --------------------------------------------------------------------------
shape_fn("InvertPermutation")(lambda op: [op.inputs[0].shape])


@kernel("InvertPermutation")
def _invert_permutation(op, ctx):
    def run(x):
        x = np.asarray(x)
        if x.ndim != 1 or sorted(x.tolist()) != list(range(x.size)):
            raise _invalid(op, f"invert_permutation requires a permutation of 0..n-1, got "
                               f"{x.tolist()}")
        out = np.empty_like(x)
        out[x] = np.arange(x.size, dtype=x.dtype)
        return out
    return run


# ---- ConcatOffset -------------------------------------------------------------------------------
shape_fn("ConcatOffset")(lambda op: [t.shape for t in op.inputs[1:]])


@kernel("ConcatOffset")
def _concat_offset(op, ctx):
    def run(axis, *shapes):
        rank = len(shapes[0])
        axis = int(axis) + rank if int(axis) < 0 else int(axis)
        if not 0 <= axis < rank:
            raise _invalid(op, f"Concat dim is out of range: {int(axis)} vs. {rank}")
        offsets, start = [], 0
        for shape in shapes:
            if len(shape) != rank or any(
                    a != b for i, (a, b) in enumerate(zip(shape, shapes[0])) if i != axis):
                raise _invalid(op, f"input shapes {[list(s) for s in shapes]} cannot be "
                                   f"concatenated along dimension {axis}")
            offset = np.zeros(rank, dtype=np.asarray(shape).dtype)
            offset[axis] = start
            start += int(shape[axis])
            offsets.append(offset)
        return tuple(offsets)
    return run


# ---- StridedSliceGrad --------------------------------------------------------------------------
def _masks(op) -> dict:
    return {k: op.get_attr(k) for k in ("begin_mask", "end_mask", "ellipsis_mask",
                                        "new_axis_mask", "shrink_axis_mask")}


shape_fn("StridedSliceGrad")(lambda op: [partial_shape(op.inputs[0])])


@kernel("StridedSliceGrad")
def _strided_slice_grad(op, ctx):
    masks = _masks(op)

    def run(shape, begin, end, strides, dy):
        shape = _ints(shape)
        try:
            result = spec.resolve(shape, _ints(begin), _ints(end), _ints(strides), **masks)
        except spec.SliceError as e:
            raise _invalid(op, str(e)) from None
        out = np.zeros(shape, dtype=np.asarray(dy).dtype)
        index = spec.numpy_index(result)
        region = out[index]
        if list(np.shape(dy)) != list(result.final_shape):
            raise _invalid(op, f"shape of dy was {list(np.shape(dy))} instead of "
                               f"{result.final_shape}")
        out[index] = np.reshape(dy, region.shape)
        return out
    return run


# ---- BroadcastTo --------------------------------------------------------------------------------
@shape_fn("BroadcastTo")
def _broadcast_to_shape(op):
    target = partial_shape(op.inputs[1])
    try:
        return [broadcast_shapes(op.inputs[0].shape, target)]
    except ValueError as e:
        raise ValueError(f"{e} for '{op.name}' (op: 'BroadcastTo')") from None


@kernel("BroadcastTo")
def _broadcast_to(op, ctx):
    def run(x, shape):
        try:
            return np.array(np.broadcast_to(x, _ints(shape)), order="C")
        except ValueError:
            raise _invalid(op, f"Unable to broadcast tensor of shape {list(np.shape(x))} to "
                               f"tensor of shape {_ints(shape)}") from None
    return run


# ---- DynamicStitch ------------------------------------------------------------------------------
@shape_fn("DynamicStitch")
def _dynamic_stitch_shape(op):
    n = op.get_attr("N")
    indices, data = op.inputs[:n], op.inputs[n:]
    inner = TensorShape(None)
    for i, d in zip(indices, data):
        if i.shape.ndims is not None and d.shape.ndims is not None:
            inner = inner.merge_with(TensorShape(d.shape.as_list()[i.shape.ndims:]))
    values = [value_of(i) for i in indices]
    first = None
    if all(v is not None for v in values):
        first = max((int(np.max(v)) + 1 for v in values if np.size(v)), default=0)
    if inner.ndims is None:
        return [TensorShape(None)]
    return [TensorShape([first] + inner.as_list())]


@kernel("DynamicStitch")
def _dynamic_stitch(op, ctx):
    n = op.get_attr("N")

    def run(*args):
        indices, data = args[:n], args[n:]
        size = max((int(np.max(i)) + 1 for i in indices if np.size(i)), default=0)
        inner = np.shape(data[0])[np.ndim(indices[0]):]
        out = np.zeros((size,) + tuple(inner), dtype=np.asarray(data[0]).dtype)
        for i, d in zip(indices, data):
            out[np.reshape(i, -1)] = np.reshape(d, (-1,) + tuple(inner))
        return out
    return run


# ---- ListDiff -------------------------------------------------------------------------------
shape_fn("ListDiff")(lambda op: [[None], [None]])


@kernel("ListDiff")
def _list_diff(op, ctx):
    index_type = np.dtype(op.get_attr("out_idx").as_numpy_dtype)

    def run(x, y):
        keep = ~np.isin(x, y)
        return np.asarray(x)[keep], np.flatnonzero(keep).astype(index_type)
    return run
