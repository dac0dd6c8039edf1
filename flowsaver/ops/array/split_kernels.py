"""Splitting, reversing and N-d indexing: Split, SplitV, ReverseV2, GatherNd, ScatterNd;
and BroadcastArgs (the broadcast shape of two shape vectors, as ``tf.linspace`` uses it).

Shape functions follow TensorFlow's shape inference, quirks included: ``SplitV`` with
known sizes but an unknown axis splits the last dimension statically, as TensorFlow's
shape function does. Outputs of Split, SplitV and ReverseV2 are NumPy views of their
input (marked ``ALIASING``: fetches are copied).
"""
from __future__ import annotations

import numpy as np

from flowsaver import errors
from flowsaver.graph.tensor_shape import TensorShape
from flowsaver.ops.const_eval import value_of
from flowsaver.ops.registry import ALIASING, OpTable
from flowsaver.ops.shapes import fail, merge_shapes, partial_shape, scalar_value, shape_str

TABLE = OpTable(__name__)
define, kernel, shape_fn = TABLE.define, TABLE.kernel, TABLE.shape_fn

define(
    'Split(split_dim: int32, value: T) -> (output: num_split * T); num_split: int >= 1; T: type',
    'SplitV(value: T, size_splits: Tlen, split_dim: int32) -> (output: num_split * T); num_split: int >= 1; T: type; Tlen: type {int8, int32, int64} = int64',
    'ReverseV2(tensor: T, axis: Tidx) -> (output: T); Tidx: type {int32, int64} = int32; T: type {uint8, int8, uint16, int16, int32, uint32, int64, uint64, bool, bfloat16, half, float, double, complex64, complex128, string}',
    'GatherNd(params: Tparams, indices: Tindices) -> (output: Tparams); Tparams: type; Tindices: type {int16, int32, int64}; bad_indices_policy: string = ""',
    'ScatterNd(indices: Tindices, updates: T, shape: Tindices) -> (output: T); T: type; Tindices: type {int16, int32, int64}; bad_indices_policy: string = ""',
    'BroadcastArgs(s0: T, s1: T) -> (r0: T); T: type {int32, int64} = int32',
)
TABLE.not_differentiable("BroadcastArgs")
TABLE.mark(ALIASING, "Split", "SplitV", "ReverseV2")


def _invalid(op, message: str) -> errors.InvalidArgumentError:
    return errors.InvalidArgumentError(op.node_def, op, message)


def _axis_dim(op, tensor, rank):
    """A scalar axis input as a non-negative int, None when unknown (TF's negative indexing)."""
    value = scalar_value(tensor)
    if value is None:
        return None
    if rank is None:
        return value if value >= 0 else None
    if not -rank <= value < rank:
        raise fail(op, f"Dimension size, given by scalar input {value} must be in range "
                       f"[-{rank}, {rank})")
    return value + rank if value < 0 else value


def _pieces(value, axis: int, sizes) -> tuple:
    """Views of ``value`` cut along ``axis`` into ``sizes`` (plain slicing: np.split's
    overhead was most of an LSTM step, which splits its gates every time step)."""
    value = np.asarray(value)
    lead, start, out = (slice(None),) * axis, 0, []
    for size in sizes:
        out.append(value[lead + (slice(start, start + size),)])
        start += size
    return tuple(out)


# ---- Split ------------------------------------------------------------------------------------
@shape_fn("Split")
def _split_shape(op):
    shape = op.inputs[1].shape
    n = op.get_attr("num_split")
    axis = _axis_dim(op, op.inputs[0], shape.ndims)
    if axis is None:
        return [TensorShape(None if shape.ndims is None else [None] * shape.ndims)] * n
    if shape.ndims is not None and shape.ndims < axis + 1:
        raise fail(op, f"Shape must be at least rank {axis + 1} but is rank {shape.ndims}")
    if shape.ndims is None:
        return [TensorShape(None)] * n
    dims = shape.as_list()
    size = dims[axis]
    if size is not None and size % n:
        raise fail(op, f"Dimension size must be evenly divisible by {n} but is {size}\n\t"
                       f"Number of ways to split should evenly divide the split dimension")
    dims[axis] = None if size is None else size // n
    return [TensorShape(dims)] * n


@kernel("Split")
def _split(op, ctx):
    n = op.get_attr("num_split")

    def run(axis, value):
        rank, axis = np.ndim(value), int(axis)
        if not -rank <= axis < rank:
            raise _invalid(op, f"-input rank(-{rank}) <= split_dim < input rank ({rank}), but "
                               f"got {axis}")
        axis %= rank
        size = np.shape(value)[axis]
        if size % n:
            raise _invalid(op, f"Number of ways to split should evenly divide the split "
                               f"dimension, but got split_dim {axis} (size = {size}) and "
                               f"num_split {n}")
        return _pieces(value, axis, [size // n] * n)
    return run


# ---- SplitV -----------------------------------------------------------------------------------
@shape_fn("SplitV")
def _split_v_shape(op):
    shape = op.inputs[0].shape
    n = op.get_attr("num_split")
    rank = shape.ndims
    axis = _axis_dim(op, op.inputs[2], rank)
    sizes = value_of(op.inputs[1])
    if rank is None:
        return [TensorShape(None)] * n
    if rank == 0:
        raise fail(op, "Can't split scalars")
    if sizes is None:
        if axis is None:
            return [TensorShape([None] * rank)] * n
        dims = shape.as_list()
        dims[axis] = None
        return [TensorShape(dims)] * n
    if axis is None:
        axis = rank - 1  # TensorFlow's shape function reads an unknown axis as -1
    sizes = [int(s) for s in np.reshape(sizes, -1)]
    if len(sizes) != n:
        raise fail(op, "Length of size_splits should be equal to num_outputs")
    if sizes.count(-1) > 1:
        raise fail(op, "size_splits can only have one -1")
    total = sum(s for s in sizes if s != -1)
    dims = shape.as_list()
    known = dims[axis]
    out = []
    for i, size in enumerate(sizes):
        if size == -1 and known is None:
            size = None
        elif size == -1:
            size = known - total
        if size is not None and size < 0:
            raise fail(op, f"Split size at index {i} must be >= 0. Got: {size}")
        piece = list(dims)
        piece[axis] = size
        out.append(TensorShape(piece))
    if known is not None and (total > known if -1 in sizes else total != known):
        raise fail(op, f"can't split axis of size {known} into pieces of size "
                       f"[{','.join(map(str, sizes))}]")
    return out


@kernel("SplitV")
def _split_v(op, ctx):
    n = op.get_attr("num_split")
    message = ("Determined shape must either match input shape along split_dim exactly if "
               "fully specified, or be less than the size of the input along split_dim if "
               "not fully specified.  Got: ")

    def run(value, sizes, axis):
        rank, axis = np.ndim(value), int(axis)
        if not -rank <= axis < rank:
            raise _invalid(op, f"-input rank(-{rank}) <= split_dim < input rank ({rank}), but "
                               f"got {axis}")
        axis %= rank
        sizes = [int(s) for s in np.reshape(sizes, -1)]
        if len(sizes) != n:
            raise _invalid(op, f"Number of split sizes must equal num_split: {n} vs. "
                               f"{len(sizes)}")
        if sizes.count(-1) > 1:
            raise _invalid(op, "There can only be one -1 in the input.")
        length = np.shape(value)[axis]
        given = sum(s for s in sizes if s != -1)
        if (-1 not in sizes and given != length) or (-1 in sizes and given > length):
            raise _invalid(op, f"{message}{given}")
        if -1 in sizes:
            sizes[sizes.index(-1)] = length - given
        return _pieces(value, axis, sizes)
    return run


# ---- ReverseV2 --------------------------------------------------------------------------------
def _reverse_axes(op, axes, rank) -> tuple:
    seen = []
    for i, a in enumerate(int(a) for a in np.reshape(axes, -1)):
        canonical = a + rank if a < 0 else a
        if not 0 <= canonical < rank:
            raise ValueError(f"'axis'[{i}] = {a} is out of valid range [0, {rank - 1}")
        if canonical in seen:
            raise ValueError(f"axis {canonical} specified more than once.")
        seen.append(canonical)
    return tuple(seen)


@shape_fn("ReverseV2")
def _reverse_shape(op):
    shape, axes = op.inputs[0].shape, op.inputs[1]
    if axes.shape.ndims is not None and axes.shape.ndims != 1:
        raise fail(op, f"Shape must be rank 1 but is rank {axes.shape.ndims}")
    if shape.ndims is not None and shape.ndims > 8:
        raise fail(op, "reverse does not work on tensors with more than 8 dimensions")
    value = value_of(axes)
    if value is not None and shape.ndims is not None:
        try:
            _reverse_axes(op, value, shape.ndims)
        except ValueError as e:
            raise fail(op, str(e)) from None
    return [shape]


@kernel("ReverseV2")
def _reverse(op, ctx):
    def run(x, axes):
        try:
            return np.flip(x, _reverse_axes(op, axes, np.ndim(x)))
        except ValueError as e:
            raise _invalid(op, str(e)) from None
    return run


# ---- GatherNd ---------------------------------------------------------------------------------
@shape_fn("GatherNd")
def _gather_nd_shape(op):
    params, indices = op.inputs[0].shape, op.inputs[1].shape
    if indices.ndims is not None and indices.ndims < 1:
        raise fail(op, f"Shape must be at least rank 1 but is rank {indices.ndims}")
    if params.ndims is None or indices.ndims is None or indices.as_list()[-1] is None:
        return [TensorShape(None)]
    depth = indices.as_list()[-1]
    if depth > params.ndims:
        raise fail(op, f"indices.shape[-1] must be <= params.rank, but saw indices shape: "
                       f"{shape_str(indices)} and params shape: {shape_str(params)}")
    return [TensorShape(indices.as_list()[:-1] + params.as_list()[depth:])]


def _check_indices(op, flat, shape, what: str):
    """Raise TensorFlow's error for the first row of ``flat`` outside ``shape``."""
    bad = np.any((flat < 0) | (flat >= np.asarray(shape, dtype=np.int64)), axis=1)
    if bad.any():
        i = int(np.argmax(bad))
        raise _invalid(op, f"indices[{i}] = [{', '.join(map(str, flat[i].tolist()))}] does "
                           f"not index into {what} [{','.join(map(str, shape))}]")


@kernel("GatherNd")
def _gather_nd(op, ctx):
    def run(params, indices):
        params, indices = np.asarray(params), np.asarray(indices)
        depth = indices.shape[-1]
        if depth > params.ndim:
            raise _invalid(op, f"index innermost dimension length must be <= params rank; "
                               f"saw: {depth} vs. {params.ndim}")
        flat = indices.reshape(-1, depth).astype(np.int64)
        _check_indices(op, flat, params.shape[:depth], "param shape")
        picked = params[tuple(flat.T)] if depth else np.broadcast_to(
            params, (flat.shape[0],) + params.shape)
        return np.reshape(picked, indices.shape[:-1] + params.shape[depth:])
    return run


# ---- ScatterNd --------------------------------------------------------------------------------
@shape_fn("ScatterNd")
def _scatter_nd_shape(op):
    indices, updates = op.inputs[0].shape, op.inputs[1].shape
    for s in (indices, updates):
        if s.ndims is not None and s.ndims < 1:
            raise fail(op, f"Shape must be at least rank 1 but is rank {s.ndims}")
    out = partial_shape(op.inputs[2])
    if indices.ndims is None or updates.ndims is None or indices.as_list()[-1] is None:
        return [out]
    outer = indices.ndims - 1
    depth = indices.as_list()[-1]
    prefix_i = TensorShape(indices.as_list()[:outer])
    prefix_u = TensorShape(updates.as_list()[:outer])
    try:
        merge_shapes(op, prefix_i, prefix_u)
    except ValueError as e:
        raise fail(op, f"Dimensions [0,{outer}) of indices[shape={shape_str(indices)}] = "
                       f"{shape_str(prefix_i)} must match dimensions [0,{outer}) of "
                       f"updates[shape={shape_str(updates)}] = {shape_str(prefix_u)}: "
                       f"{str(e).split(' for ')[0]}") from None
    if out.ndims is not None:
        suffix_o = TensorShape(out.as_list()[depth:])
        suffix_u = TensorShape(updates.as_list()[outer:])
        try:
            merge_shapes(op, suffix_o, suffix_u)
        except ValueError as e:
            raise fail(op, f"Dimensions [{depth},{out.ndims}) of input[shape={shape_str(out)}]"
                           f" = {shape_str(suffix_o)} must match dimensions "
                           f"[{outer},{updates.ndims}) of updates[shape={shape_str(updates)}]"
                           f" = {shape_str(suffix_u)}: {str(e).split(' for ')[0]}") from None
    return [out]


@kernel("ScatterNd")
def _scatter_nd(op, ctx):
    dtype = op.get_attr("T").as_numpy_dtype

    def run(indices, updates, shape):
        indices, updates = np.asarray(indices), np.asarray(updates)
        shape = [int(d) for d in np.reshape(shape, -1)]
        depth = indices.shape[-1]
        flat = indices.reshape(-1, depth).astype(np.int64)
        _check_indices(op, flat, shape[:depth], "shape")
        out = np.zeros(shape, dtype=dtype)
        rows = np.reshape(updates, (flat.shape[0],) + tuple(shape[depth:]))
        np.add.at(out, tuple(flat.T), rows)  # repeated indices add up, as in TensorFlow
        return out
    return run


# ---- BroadcastArgs ------------------------------------------------------------------------------
@shape_fn("BroadcastArgs")
def _broadcast_args_shape(op):
    lengths = []
    for t in op.inputs:
        if t.shape.ndims is not None and t.shape.ndims != 1:
            raise fail(op, f"Shape must be rank 1 but is rank {t.shape.ndims}")
        lengths.append(t.shape.as_list()[0] if t.shape.ndims == 1 else None)
    return [TensorShape([None if None in lengths else max(lengths)])]


@kernel("BroadcastArgs")
def _broadcast_args(op, ctx):
    def run(s0, s1):
        try:
            shape = np.broadcast_shapes(tuple(int(d) for d in s0), tuple(int(d) for d in s1))
        except ValueError:
            raise _invalid(op, f"Incompatible shapes: [{','.join(map(str, s0))}] vs. "
                               f"[{','.join(map(str, s1))}]") from None
        return np.array(shape, dtype=np.asarray(s0).dtype)
    return run
