"""Array ops that cut, reverse and scatter along dimensions: Split, SplitV, ReverseV2,
ReverseSequence, ScatterNd, GatherNd (RNN cells split their gates; bidirectional RNNs
reverse sequences; top_k's gradient scatters)."""
from __future__ import annotations

import numpy as np

from flowsaver import errors
from flowsaver.graph.tensor_shape import TensorShape
from flowsaver.ops.const_eval import value_of
from flowsaver.ops.registry import ALIASING, OpTable
from flowsaver.ops.shapes import fail, shape_from_tensor

TABLE = OpTable(__name__)
define, kernel, shape_fn = TABLE.define, TABLE.kernel, TABLE.shape_fn

define(
    'Split(split_dim: int32, value: T) -> (output: num_split * T); num_split: int >= 1; T: type',
    'SplitV(value: T, size_splits: Tlen, split_dim: int32) -> (output: num_split * T); '
    'num_split: int >= 1; T: type; Tlen: type {int8, int32, int64} = int64',
    'ReverseV2(tensor: T, axis: Tidx) -> (output: T); Tidx: type {int32, int64} = int32; '
    'T: type {uint8, int8, uint16, int16, int32, uint32, int64, uint64, bool, bfloat16, half, '
    'float, double, complex64, complex128, string}',
    'ReverseSequence(input: T, seq_lengths: Tlen) -> (output: T); seq_dim: int; '
    'batch_dim: int = 0; T: type; Tlen: type {int32, int64} = int64',
    'ScatterNd(indices: Tindices, updates: T, shape: Tindices) -> (output: T); T: type; '
    'Tindices: type {int16, int32, int64}; bad_indices_policy: string = ""',
    'GatherNd(params: Tparams, indices: Tindices) -> (output: Tparams); Tparams: type; '
    'Tindices: type {int16, int32, int64}; bad_indices_policy: string = ""',
)
TABLE.mark(ALIASING, "Split", "SplitV")  # the pieces are views of the input


def _invalid(op, message: str) -> errors.InvalidArgumentError:
    return errors.InvalidArgumentError(None, op, message)


def _axis(op, value, rank: int) -> int:
    axis = int(value) if np.ndim(value) == 0 else int(np.reshape(value, -1)[0])
    if not -rank <= axis < rank:
        raise _invalid(op, f"-{rank} <= split_dim < {rank} but got {axis}")
    return axis + rank if axis < 0 else axis


# ---- Split / SplitV ---------------------------------------------------------------------------
def _split_shapes(op, value_shape: TensorShape, axis_tensor, sizes):
    n = op.get_attr("num_split")
    axis = value_of(axis_tensor)
    if axis is None or value_shape.ndims is None:
        rank = value_shape.ndims
        return [TensorShape(None if rank is None else [None] * rank)] * n
    rank = value_shape.ndims
    a = int(np.reshape(axis, -1)[0])
    if not -rank <= a < rank:
        raise fail(op, f"Dimension must be in range [{-rank}, {rank}), but is {a}")
    a = a + rank if a < 0 else a
    dims = value_shape.as_list()
    out = []
    for size in sizes:
        piece = list(dims)
        piece[a] = size
        out.append(TensorShape(piece))
    return out


@shape_fn("Split")
def _split_shape(op):
    shape = op.inputs[1].shape
    n = op.get_attr("num_split")
    size = None
    if shape.ndims is not None and value_of(op.inputs[0]) is not None:
        a = int(np.reshape(value_of(op.inputs[0]), -1)[0])
        total = shape.as_list()[a + shape.ndims if a < 0 else a] if -shape.ndims <= a < \
            shape.ndims else None
        if total is not None:
            if total % n:
                raise fail(op, f"Dimension size must be evenly divisible by {n} but is {total}")
            size = total // n
    return _split_shapes(op, shape, op.inputs[0], [size] * n)


@shape_fn("SplitV")
def _split_v_shape(op):
    n = op.get_attr("num_split")
    sizes = value_of(op.inputs[1])
    if sizes is None:
        return _split_shapes(op, op.inputs[0].shape, op.inputs[2], [None] * n)
    sizes = [int(s) for s in np.reshape(sizes, -1)]
    shape = op.inputs[0].shape
    if -1 in sizes and shape.ndims is not None and value_of(op.inputs[2]) is not None:
        a = int(np.reshape(value_of(op.inputs[2]), -1)[0])
        total = shape.as_list()[a + shape.ndims if a < 0 else a]
        if total is not None:
            sizes[sizes.index(-1)] = total - (sum(sizes) + 1)
    return _split_shapes(op, shape, op.inputs[2], [None if s == -1 else s for s in sizes])


@kernel("Split")
def _split(op, ctx):
    n = op.get_attr("num_split")

    def split(axis, value):
        a = _axis(op, axis, value.ndim)
        size = value.shape[a]
        if size % n:
            raise _invalid(op, f"Number of ways to split should evenly divide the split "
                               f"dimension, but got split_dim {a} (size = {size}) "
                               f"and num_split {n}")
        step, lead = size // n, (slice(None),) * a
        return [value[lead + (slice(i * step, (i + 1) * step),)] for i in range(n)]
    return split


@kernel("SplitV")
def _split_v(op, ctx):
    def split_v(value, size_splits, axis):
        a = _axis(op, axis, value.ndim)
        sizes = [int(s) for s in np.reshape(size_splits, -1)]
        if sizes.count(-1) > 1:
            raise _invalid(op, "Only one dimensions can have a value of -1. Second one found "
                               "at dimension 1")
        if -1 in sizes:
            sizes[sizes.index(-1)] = value.shape[a] - (sum(sizes) + 1)
        if sum(sizes) != value.shape[a] or min(sizes, default=0) < 0:
            raise _invalid(op, f"Determined shape must either match input shape along "
                               f"split_dim exactly if fully specified, or be less than the "
                               f"size of the input along split_dim if not fully specified.  "
                               f"Got: {sum(sizes)}")
        return np.split(value, np.cumsum(sizes)[:-1], axis=a)
    return split_v


# ---- reversing --------------------------------------------------------------------------------
@shape_fn("ReverseV2")
def _same_shape(op):
    return [op.inputs[0].shape]


@shape_fn("ReverseSequence")
def _reverse_sequence_shape(op):
    shape, lengths = op.inputs[0].shape, op.inputs[1].shape
    batch_dim = op.get_attr("batch_dim")
    if lengths.ndims not in (None, 1):
        raise fail(op, f"Shape must be rank 1 but is rank {lengths.ndims}")
    if shape.ndims is not None and lengths.ndims == 1 and batch_dim < shape.ndims:
        a, b = shape.as_list()[batch_dim], lengths.as_list()[0]
        if a is not None and b is not None and a != b:
            raise fail(op, f"Dimensions must be equal, but are {a} and {b}")
    return [shape]


@kernel("ReverseV2")
def _reverse(op, ctx):
    def reverse(tensor, axis):
        axes = [int(a) for a in np.reshape(axis, -1)]
        for a in axes:
            if not -tensor.ndim <= a < tensor.ndim:
                raise _invalid(op, f"'axis'[0] = {a} is out of valid range [0, "
                                   f"{tensor.ndim - 1}")
        return np.flip(tensor, axis=tuple(axes)) if axes else tensor
    return reverse


@kernel("ReverseSequence")
def _reverse_sequence(op, ctx):
    seq_dim, batch_dim = op.get_attr("seq_dim"), op.get_attr("batch_dim")

    def reverse_sequence(tensor, lengths):
        if seq_dim == batch_dim:
            raise _invalid(op, f"seq_dim == batch_dim == {seq_dim}")
        lengths = np.reshape(lengths, -1)
        if len(lengths) != tensor.shape[batch_dim]:
            raise _invalid(op, f"Length of seq_lengths != input.dims({batch_dim}), "
                               f"({len(lengths)} vs. {tensor.shape[batch_dim]})")
        out = np.array(tensor, copy=True)
        for b, n in enumerate(lengths):
            if n < 0 or n > tensor.shape[seq_dim]:
                raise _invalid(op, f"seq_lengths[{b}] > input.dims({seq_dim})" if n > 0
                               else f"seq_lengths[{b}] must be >= 0, got {n}")
            index = [slice(None)] * tensor.ndim
            index[batch_dim] = b
            index[seq_dim] = slice(0, int(n))
            view = tensor[tuple(index)]
            out[tuple(index)] = np.flip(view, axis=seq_dim - (batch_dim < seq_dim))
        return out
    return reverse_sequence


# ---- ScatterNd / GatherNd ---------------------------------------------------------------------
@shape_fn("ScatterNd")
def _scatter_nd_shape(op):
    return [shape_from_tensor(op.inputs[2])]


@shape_fn("GatherNd")
def _gather_nd_shape(op):
    params, indices = op.inputs[0].shape, op.inputs[1].shape
    if indices.ndims is None or params.ndims is None or indices.as_list()[-1] is None:
        return [TensorShape(None)]
    depth = indices.as_list()[-1]
    if depth > params.ndims:
        raise fail(op, f"indices.shape[-1] must be <= params.rank, but saw indices shape: "
                       f"{indices} and params shape: {params}")
    return [TensorShape(indices.as_list()[:-1] + params.as_list()[depth:])]


def _check_indices(op, indices, bounds):
    bad = np.argwhere((indices < 0) | (indices >= np.asarray(bounds)))
    if bad.size:
        row = tuple(bad[0][:-1])
        raise _invalid(op, f"indices{list(row)} = {list(indices[row])} does not index into "
                           f"shape {list(bounds)}")


@kernel("ScatterNd")
def _scatter_nd(op, ctx):
    def scatter_nd(indices, updates, shape):
        shape = [int(d) for d in np.reshape(shape, -1)]
        out = np.zeros(shape, updates.dtype)
        depth = indices.shape[-1]
        flat = indices.reshape(-1, depth)
        _check_indices(op, flat, shape[:depth])
        np.add.at(out, tuple(flat.T), updates.reshape((len(flat),) + tuple(shape[depth:])))
        return out
    return scatter_nd


@kernel("GatherNd")
def _gather_nd(op, ctx):
    def gather_nd(params, indices):
        depth = indices.shape[-1]
        flat = indices.reshape(-1, depth)
        _check_indices(op, flat, params.shape[:depth])
        picked = params[tuple(flat.T)]
        return picked.reshape(indices.shape[:-1] + params.shape[depth:])
    return gather_nd
