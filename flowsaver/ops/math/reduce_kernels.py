"""Reductions (Sum, Mean, Max, ...), ArgMax/ArgMin and Range: defs, shapes, kernels.

A reduction's axes arrive as a tensor. When that tensor is a constant (the usual case) its
normalised form is worked out once and remembered, so a run is one NumPy reduce call.
"""
from __future__ import annotations

import math

import numpy as np

from flowsaver import errors
from flowsaver.graph.tensor_shape import TensorShape
from flowsaver.ops.const_eval import value_of
from flowsaver.ops.registry import ALIASING, PYTHON_CONSTANT, OpTable

TABLE = OpTable(__name__)
define, kernel, shape_fn = TABLE.define, TABLE.kernel, TABLE.shape_fn

_REDUCE_TYPES = ('float, double, int32, uint8, int16, int8, complex64, int64, qint8, quint8, '
                 'qint32, bfloat16, qint16, quint16, uint16, complex128, half, uint32, uint64')
_MINMAX_TYPES = ('float, double, int32, uint8, int16, int8, int64, bfloat16, uint16, half, '
                 'uint32, uint64, qint8, quint8, qint32, qint16, quint16')
define(
    *[f'{name}(input: T, reduction_indices: Tidx) -> (output: T); keep_dims: bool = false; '
      f'T: type {{{types}}}; Tidx: type {{int32, int64}} = int32'
      for name, types in (("Sum", _REDUCE_TYPES), ("Mean", _REDUCE_TYPES),
                          ("Prod", _REDUCE_TYPES), ("Max", _MINMAX_TYPES),
                          ("Min", _MINMAX_TYPES))],
    'Any(input: bool, reduction_indices: Tidx) -> (output: bool); keep_dims: bool = false; Tidx: type {int32, int64} = int32',
    'All(input: bool, reduction_indices: Tidx) -> (output: bool); keep_dims: bool = false; Tidx: type {int32, int64} = int32',
    'ArgMax(input: T, dimension: Tidx) -> (output: output_type); T: type {float, double, int32, uint8, int16, int8, int64, bfloat16, uint16, half, uint32, uint64, qint8, quint8, qint32, qint16, quint16, bool}; Tidx: type {int16, int32, int64} = int32; output_type: type {int16, uint16, int32, int64} = int64',
    'ArgMin(input: T, dimension: Tidx) -> (output: output_type); T: type {float, double, int32, uint8, int16, int8, int64, bfloat16, uint16, half, uint32, uint64, qint8, quint8, qint32, qint16, quint16, bool}; Tidx: type {int32, int64} = int32; output_type: type {int32, int64} = int64',
    'Range(start: Tidx, limit: Tidx, delta: Tidx) -> (output: Tidx); Tidx: type {bfloat16, half, float, double, int8, int16, int32, int64, uint16, uint32, uint64} = int32',
)
TABLE.not_differentiable("All", "Any")
TABLE.mark(PYTHON_CONSTANT, "Range")
TABLE.mark(ALIASING, "Sum", "Prod")   # no axes: the input itself
_REDUCTIONS = ("Sum", "Mean", "Prod", "Max", "Min", "Any", "All")
# Range kernels TensorFlow's CPU build lacks (the op definition allows them).
_RANGE_NO_KERNEL = {"int8", "int16", "uint16", "uint32", "uint64"}


# ---- shapes ------------------------------------------------------------------------------------
@shape_fn(*_REDUCTIONS)
def _reduction_shape(op):
    shape, indices = op.inputs[0].shape, op.inputs[1]
    keep = op.get_attr("keep_dims")
    if indices.shape.is_fully_defined() and indices.shape.num_elements() == 0:
        return [shape]
    axes = value_of(indices)
    if shape.ndims is None:
        return [TensorShape(None)]
    rank = shape.ndims
    if axes is None:
        return [TensorShape([None] * rank) if keep else TensorShape(None)]
    reduced = set()
    for a in np.reshape(axes, -1).tolist():
        if not -rank <= a < rank:
            raise ValueError(f"Invalid reduction dimension {a} for input with {rank} "
                             f"dimensions. for '{op.name}' (op: '{op.type}') with input "
                             f"shapes: {shape}, {indices.shape}.")
        reduced.add(a % rank)
    dims = shape.as_list()
    if keep:
        return [[1 if i in reduced else d for i, d in enumerate(dims)]]
    return [[d for i, d in enumerate(dims) if i not in reduced]]


@shape_fn("ArgMax", "ArgMin")
def _arg_shape(op):
    shape = op.inputs[0].shape
    if shape.ndims is None:
        return [TensorShape(None)]
    rank = shape.ndims
    axis = value_of(op.inputs[1])
    if axis is None:
        return [TensorShape([None] * max(rank - 1, 0))]
    a = int(np.reshape(axis, -1)[0])
    if not -rank <= a < rank:
        raise ValueError(f"Dimension ({a}) must be in the range [{-rank}, {rank}), where {rank} "
                         f"is the number of dimensions in the input. for '{op.name}' (op: "
                         f"'{op.type}') with input shapes: {shape}, {op.inputs[1].shape}.")
    dims = shape.as_list()
    del dims[a % rank]
    return [dims]


@shape_fn("Range")
def _range_shape(op):
    values = [value_of(t) for t in op.inputs]
    if any(v is None for v in values):
        return [[None]]
    start, limit, delta = (v.item() for v in values)
    try:
        _check_range(start, limit, delta)
    except errors.InvalidArgumentError as e:
        raise ValueError(f"{e.message} for '{op.name}' (op: 'Range') with input shapes: "
                         f"[], [], [].") from None
    if isinstance(start, int):
        return [[(abs(limit - start) + abs(delta) - 1) // abs(delta)]]
    return [[int(math.ceil(abs((limit - start) / delta)))]]


def _check_range(start, limit, delta) -> None:
    if delta == 0:
        raise errors.InvalidArgumentError(f"Requires delta != 0: {delta}")
    if delta > 0 and start > limit:
        raise errors.InvalidArgumentError(
            f"Requires start <= limit when delta > 0: {start}/{limit}")
    if delta < 0 and start < limit:
        raise errors.InvalidArgumentError(
            f"Requires start >= limit when delta < 0: {start}/{limit}")


# ---- reduction kernels -------------------------------------------------------------------------
def _normalize_axes(value, ndim: int) -> tuple:
    """The reduction axes in ``value`` as sorted non-negative ints, with TensorFlow's errors."""
    axes = set()
    for a in np.reshape(value, -1).tolist():
        if not -ndim <= a < ndim:
            raise errors.InvalidArgumentError(
                f"Invalid reduction dimension ({a} for input with {ndim} dimension(s)")
        a %= ndim
        if a in axes:
            raise errors.InvalidArgumentError(
                f"Invalid reduction arguments: Axes contains duplicate dimension: {a}")
        axes.add(a)
    return tuple(sorted(axes))


def _axes_reader():
    """``axes(value, ndim)``: normalised axes, remembered for read-only (constant) values."""
    memo = [(None, -1, ())]

    def axes(value, ndim):
        seen, seen_ndim, result = memo[0]
        if value is seen and ndim == seen_ndim:
            return result
        result = _normalize_axes(value, ndim)
        if not value.flags.writeable:  # Const outputs and NumPy scalars never change
            memo[0] = (value, ndim, result)
        return result
    return axes


def _accumulator(np_type):
    """The type sums run in: float32 for the 16-bit floats, else the type itself."""
    return np.float32 if np.dtype(np_type).itemsize == 2 and np.dtype(np_type).kind in "fV" \
        else np_type


@kernel("Sum", "Prod")
def _sum_prod(op, ctx):
    """With no axes to reduce the input is the output, not a copy (TensorFlow's kernel
    shares the buffer too): the gradient of ``a + b`` whose batch size is unknown sums
    over no axes, which copied a ResNet block's 4 MB twice a step. Such outputs may alias
    their input, so fetches of them are copied (``ALIASING``)."""
    keep = op.get_attr("keep_dims")
    np_type = op.get_attr("T").as_numpy_dtype
    acc = _accumulator(np_type)
    reduce = np.add.reduce if op.type == "Sum" else np.multiply.reduce
    axes_of = _axes_reader()

    def run(x, axes):
        axis = axes_of(axes, x.ndim)
        if not axis:
            return x
        if acc is np_type:
            return reduce(x, axis=axis, dtype=acc, keepdims=keep)
        return reduce(x, axis=axis, dtype=acc, keepdims=keep).astype(np_type)
    return run


@kernel("Max", "Min")
def _max_min(op, ctx):
    keep = op.get_attr("keep_dims")
    dtype = op.get_attr("T")
    reduce = np.maximum.reduce if op.type == "Max" else np.minimum.reduce
    # An empty reduction gives the identity: the type's lowest value for Max, highest for Min.
    if dtype.is_floating:
        identity = dtype.as_numpy_dtype(-np.inf if op.type == "Max" else np.inf)
    else:
        identity = dtype.min if op.type == "Max" else dtype.max
    axes_of = _axes_reader()

    def run(x, axes):
        axis = axes_of(axes, x.ndim)
        try:
            return reduce(x, axis=axis, keepdims=keep)
        except ValueError:  # NumPy refuses empty reductions without an initial value
            return reduce(x, axis=axis, keepdims=keep, initial=identity)
    return run


@kernel("Mean")
def _mean(op, ctx):
    keep = op.get_attr("keep_dims")
    dtype = op.get_attr("T")
    np_type = dtype.as_numpy_dtype
    axes_of = _axes_reader()
    if dtype.is_integer or dtype.is_quantized:
        # TensorFlow sums integers in 64 bits (wrapping there) and truncates the quotient.
        wide = np.uint64 if np.dtype(np_type).kind == "u" else np.int64

        def int_mean(x, axes):
            axis = axes_of(axes, x.ndim)
            total = np.add.reduce(x, axis=axis, dtype=wide, keepdims=keep)
            count = x.size // total.size if total.size else 1
            if count == 0:
                return np.zeros_like(total, dtype=np_type)
            quotient = np.abs(total) // count
            return np.where(total < 0, -quotient, quotient).astype(np_type)
        return int_mean
    acc = _accumulator(np_type)
    nan = np_type(np.nan)

    def mean(x, axes):
        total = np.add.reduce(x, axis=axes_of(axes, x.ndim), dtype=acc, keepdims=keep)
        count = x.size // total.size if total.size else 1
        if count == 0:  # the mean of nothing is NaN, as in TensorFlow
            return np.full_like(total, nan, dtype=np_type)
        return (total / count).astype(np_type, copy=False)
    return mean


@kernel("Any", "All")
def _any_all(op, ctx):
    keep = op.get_attr("keep_dims")
    reduce = np.logical_or.reduce if op.type == "Any" else np.logical_and.reduce
    axes_of = _axes_reader()
    return lambda x, axes: reduce(x, axis=axes_of(axes, x.ndim), keepdims=keep)


# ---- ArgMax / ArgMin ---------------------------------------------------------------------------
@kernel("ArgMax", "ArgMin")
def _arg(op, ctx):
    dtype = op.get_attr("T")
    out = op.get_attr("output_type").as_numpy_dtype
    is_max = op.type == "ArgMax"
    find = np.argmax if is_max else np.argmin
    # TensorFlow never picks a NaN over a number: NaN counts as the worst value.
    worst = dtype.as_numpy_dtype(-np.inf if is_max else np.inf) if dtype.is_floating else None

    def run(x, axis):
        ndim = x.ndim
        a = int(axis)
        if not -ndim <= a < ndim:
            raise errors.InvalidArgumentError(
                f"Expected dimension in the range [{-ndim}, {ndim}), but got {a}")
        if x.shape[a] == 0:
            raise errors.InvalidArgumentError(
                f"Reduction axis {a} is empty in shape [{','.join(map(str, x.shape))}]")
        found = find(x, axis=a)
        if worst is not None:
            # NumPy stops at the first NaN; TensorFlow never picks one over a number.
            if x.size and np.isnan(np.maximum.reduce(x, axis=None)):  # max keeps any NaN
                found = find(np.where(np.isnan(x), worst, x), axis=a)
        return found.astype(out, copy=False)
    return run


# ---- Range -------------------------------------------------------------------------------------
@kernel("Range")
def _range(op, ctx):
    dtype = op.get_attr("Tidx")
    if dtype.name in _RANGE_NO_KERNEL:
        from flowsaver.ops.math.kernels import no_kernel
        no_kernel(op, "Tidx")
    np_type = dtype.as_numpy_dtype

    def run(start, limit, delta):
        _check_range(start, limit, delta)
        return np.arange(start, limit, delta, dtype=np_type)
    return run
