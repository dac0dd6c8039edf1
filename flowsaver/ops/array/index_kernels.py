"""Array ops that select elements: Slice, StridedSlice, GatherV2, Where, Select, SelectV2."""
from __future__ import annotations

import numpy as np

from flowsaver import errors
from flowsaver.graph.tensor_shape import TensorShape, broadcast_shapes
from flowsaver.ops.array import strided_slice as spec
from flowsaver.ops.const_eval import value_of
from flowsaver.ops.shapes import fail, merge_shapes, partial_shape, scalar_value, with_rank
from flowsaver.ops.registry import ALIASING, OpTable

TABLE = OpTable(__name__)
define, kernel, shape_fn = TABLE.define, TABLE.kernel, TABLE.shape_fn

define(
    'Slice(input: T, begin: Index, size: Index) -> (output: T); T: type; Index: type {int32, int64}',
    'StridedSlice(input: T, begin: Index, end: Index, strides: Index) -> (output: T); T: type; Index: type {int16, int32, int64}; begin_mask: int = 0; end_mask: int = 0; ellipsis_mask: int = 0; new_axis_mask: int = 0; shrink_axis_mask: int = 0',
    'GatherV2(params: Tparams, indices: Tindices, axis: Taxis) -> (output: Tparams); batch_dims: int = 0; Tparams: type; Tindices: type {int16, int32, int64}; Taxis: type {int32, int64}',
    'Where(input: T) -> (index: int64); T: type {float, double, int32, uint8, int16, int8, complex64, int64, qint8, quint8, qint32, bfloat16, qint16, quint16, uint16, complex128, half, uint32, uint64, bool} = bool',
    'Select(condition: bool, t: T, e: T) -> (output: T); T: type',
    'SelectV2(condition: bool, t: T, e: T) -> (output: T); T: type',
)
TABLE.not_differentiable("Where")
TABLE.mark(ALIASING, "Slice", "StridedSlice")


def _invalid(message: str) -> errors.InvalidArgumentError:
    return errors.InvalidArgumentError(message)


def _ints(value) -> list:
    return [int(v) for v in np.reshape(value, -1)]


# ---- Slice ----------------------------------------------------------------------------------
@shape_fn("Slice")
def _slice_shape(op):
    begin_shape = with_rank(op, op.inputs[1].shape, 1)
    size_shape = with_rank(op, op.inputs[2].shape, 1)
    n = merge_shapes(op, begin_shape, size_shape).as_list()[0]
    given = op.inputs[0].shape
    if n is not None:
        given = with_rank(op, given, n)
    begin, sizes = value_of(op.inputs[1]), value_of(op.inputs[2])
    if sizes is None:
        out = partial_shape(op.inputs[2])
        if out.ndims is not None:
            return [out]
        return [TensorShape(None if given.ndims is None else [None] * given.ndims)]
    dims = []
    for i, size in enumerate(_ints(sizes)):
        if size == -1:
            known = None if begin is None or given.ndims is None else given.as_list()[i]
            if known is not None:
                start = _ints(begin)[i]
                if known - start < 0:
                    raise fail(op, f"Negative dimension size caused by subtracting {start} "
                                   f"from {known}")
                known -= start
            dims.append(known)
        elif size < -1:
            raise fail(op, f"Invalid value in tensor used for shape: {size}")
        else:
            dims.append(size)
    return [dims]


@kernel("Slice")
def _slice(op, ctx):
    def slice_(x, begin, size):
        x = np.asarray(x)
        begin, size = _ints(begin), _ints(size)
        if len(begin) != x.ndim or len(size) != x.ndim:
            raise _invalid(f"Expected begin and size arguments to be 1-D tensors of size "
                           f"{x.ndim}, but got shapes [{len(begin)}] and [{len(size)}] instead.")
        index = []
        for i, (b, s, dim) in enumerate(zip(begin, size, x.shape)):
            s = dim - b if s == -1 else s
            if not 0 <= b <= dim:
                raise _invalid(f"Expected begin[{i}] in [0, {dim}], but got {b}")
            if not 0 <= s <= dim - b:
                raise _invalid(f"Expected size[{i}] in [0, {dim - b}], but got {s}")
            index.append(slice(b, b + s))
        return x[tuple(index)]
    return slice_


# ---- StridedSlice ---------------------------------------------------------------------------
def _masks(op) -> dict:
    return {k: op.get_attr(k) for k in ("begin_mask", "end_mask", "ellipsis_mask",
                                        "new_axis_mask", "shrink_axis_mask")}


@shape_fn("StridedSlice")
def _strided_slice_shape(op):
    given = op.inputs[0].shape
    lengths = [with_rank(op, t.shape, 1) for t in op.inputs[1:]]
    n = lengths[0]
    for s in lengths[1:]:
        n = merge_shapes(op, n, s)
    strides = value_of(op.inputs[3])
    if given.ndims is None or n.as_list()[0] is None or strides is None:
        return [TensorShape(None)]
    begin, end = value_of(op.inputs[1]), value_of(op.inputs[2])
    if begin is None or end is None:
        begin = end = None
    else:
        begin, end = _ints(begin), _ints(end)
    try:
        result = spec.resolve(given.as_list(), begin, end, _ints(strides), **_masks(op))
    except spec.SliceError as e:
        raise fail(op, str(e)) from None
    return [result.final_shape]


@kernel("StridedSlice")
def _strided_slice(op, ctx):
    masks = _masks(op)

    def strided_slice(x, begin, end, strides):
        x = np.asarray(x)
        if not (np.ndim(begin) == np.ndim(end) == np.ndim(strides) == 1 and
                np.size(begin) == np.size(end) == np.size(strides)):
            raise _invalid("Expected begin, end, and strides to be 1D equal size tensors, but "
                           f"got shapes {list(np.shape(begin))}, {list(np.shape(end))}, and "
                           f"{list(np.shape(strides))} instead.")
        try:
            result = spec.resolve(list(x.shape), _ints(begin), _ints(end), _ints(strides),
                                  **masks)
        except spec.SliceError as e:
            raise _invalid(str(e)) from None
        return x[spec.numpy_index(result)].reshape(result.final_shape)
    return strided_slice


# ---- GatherV2 -------------------------------------------------------------------------------
@shape_fn("GatherV2")
def _gather_shape(op):
    params, indices = op.inputs[0].shape, op.inputs[1].shape
    if op.inputs[2].shape.ndims is not None and op.inputs[2].shape.ndims > 1:
        raise fail(op, f"Shape must be at most rank 1 but is rank {op.inputs[2].shape.ndims}")
    batch_dims = op.get_attr("batch_dims")
    axis = scalar_value(op.inputs[2])
    if axis is None:
        if params.ndims is None or indices.ndims is None:
            return [TensorShape(None)]
        return [[None] * (params.ndims + indices.ndims - 1 - batch_dims)]
    need = -axis if axis < 0 else axis + 1
    if params.ndims is not None and params.ndims < need:
        raise fail(op, f"Shape must be at least rank {need} but is rank {params.ndims}")
    if batch_dims < 0:
        if indices.ndims is None:
            return [TensorShape(None)]
        batch_dims += indices.ndims
    if params.ndims is None or indices.ndims is None:
        return [TensorShape(None)]
    if batch_dims > indices.ndims:
        raise fail(op, f"Shape must be at least rank {batch_dims} but is rank {indices.ndims}")
    cut = axis + params.ndims if axis < 0 else axis
    if batch_dims > cut:
        raise fail(op, f"batch_dims ({batch_dims}) must be less than or equal to axis "
                       f"({cut}).")
    p, i = params.as_list(), indices.as_list()
    outer = merge_shapes(op, TensorShape(p[:batch_dims]), TensorShape(i[:batch_dims]))
    return [outer.as_list() + p[batch_dims:cut] + i[batch_dims:] + p[cut + 1:]]


@kernel("GatherV2")
def _gather(op, ctx):
    batch_dims = op.get_attr("batch_dims")

    def gather(params, indices, axis):
        params, indices = np.asarray(params), np.asarray(indices)
        axis = int(np.reshape(axis, -1)[0])
        if not -params.ndim <= axis < params.ndim:
            raise _invalid(f"Expected axis in the range [{-params.ndim}, {params.ndim}), but "
                           f"got {axis}")
        axis = axis + params.ndim if axis < 0 else axis
        b = batch_dims + indices.ndim if batch_dims < 0 else batch_dims
        limit = params.shape[axis]
        if b == 0 and 0 in params.shape[:axis] + params.shape[axis + 1:]:
            # nothing to copy: TensorFlow's kernel checks no index then (an empty slice
            # gathered at index 5 is an empty slice)
            return np.zeros(params.shape[:axis] + indices.shape + params.shape[axis + 1:],
                            params.dtype)
        bad = np.argwhere((indices < 0) | (indices >= limit))
        if bad.size:
            where = tuple(bad[0])
            raise _invalid(f"indices[{','.join(str(k) for k in where)}] = "
                           f"{indices[where]} is not in [0, {limit})")
        if b == 0:
            return np.take(params, indices, axis=axis)
        batch_shape = indices.shape[:b]
        if params.shape[:b] != batch_shape:
            raise _invalid(f"params.shape[:{b}] = {list(params.shape[:b])} must equal "
                           f"indices.shape[:{b}] = {list(batch_shape)}")
        flat_params = params.reshape((-1,) + params.shape[b:])
        flat_indices = indices.reshape((-1,) + indices.shape[b:])
        out_shape = batch_shape + params.shape[b:axis] + indices.shape[b:] + \
            params.shape[axis + 1:]
        parts = [np.take(p, i, axis=axis - b) for p, i in zip(flat_params, flat_indices)]
        if not parts:
            return np.zeros(out_shape, params.dtype)
        return np.stack(parts).reshape(out_shape)
    return gather


# ---- Where, Select, SelectV2 ----------------------------------------------------------------
@shape_fn("Where")
def _where_shape(op):
    return [[None, op.inputs[0].shape.ndims]]


@kernel("Where")
def _where(op, ctx):
    def where(x):
        x = np.asarray(x)
        if x.ndim == 0:
            raise _invalid("WhereOp : Unhandled input dimensions: 0")
        return np.argwhere(x).astype(np.int64)
    return where


@shape_fn("Select")
def _select_shape(op):
    cond, then, other = (t.shape for t in op.inputs)
    data = merge_shapes(op, then, other)
    if cond.ndims == 0:
        return [data]
    if cond.ndims != 1 or data.ndims == 0:
        return [merge_shapes(op, data, cond)]
    if data.ndims is not None:
        merge_shapes(op, cond, TensorShape([data.as_list()[0]]))
    return [data]


@kernel("Select")
def _select(op, ctx):
    def select(cond, t, e):
        cond, t, e = np.asarray(cond), np.asarray(t), np.asarray(e)
        if t.shape != e.shape:
            raise _invalid(f"'then' and 'else' must have the same size.  but received: "
                           f"{_dims(t.shape)} vs. {_dims(e.shape)}")
        if cond.ndim == 0:
            return (t if cond else e).copy()
        if cond.ndim == 1 and t.ndim > 1:
            if cond.shape[0] != t.shape[0]:
                raise _invalid(f"Number of batches of 'then' must match size of 'cond', but "
                               f"saw: {t.shape[0]} vs. {cond.shape[0]}")
            cond = cond.reshape(cond.shape + (1,) * (t.ndim - 1))
        elif cond.shape != t.shape:
            raise _invalid(f"Inputs to operation Select of type Select must have the same "
                           f"size and shape.  Input 0: {_dims(cond.shape)} != input 1: "
                           f"{_dims(t.shape)}")
        return np.where(cond, t, e)
    return select


def _dims(shape) -> str:
    return "[" + ",".join(str(d) for d in shape) + "]"


@shape_fn("SelectV2")
def _select_v2_shape(op):
    cond, then, other = (t.shape for t in op.inputs)
    try:
        return [broadcast_shapes(broadcast_shapes(then, other), cond)]
    except ValueError as e:
        raise fail(op, str(e)) from None


@kernel("SelectV2")
def _select_v2(op, ctx):
    def select(cond, t, e):
        try:
            shape = np.broadcast_shapes(np.shape(cond), np.shape(t), np.shape(e))
        except ValueError:
            raise _invalid(f"condition {_dims(np.shape(cond))}, then {_dims(np.shape(t))}, and "
                           f"else {_dims(np.shape(e))} must be broadcastable") from None
        return np.array(np.broadcast_to(np.where(cond, t, e), shape))
    return select

