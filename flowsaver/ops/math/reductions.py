"""Public reductions (``tf.reduce_sum``, ...), ``tf.argmax``/``tf.argmin`` and ``tf.range``.

Re-exported by ``math_ops``. With ``axis=None`` TensorFlow reduces over every dimension: a
``Const`` of ``range(rank)`` made before the op when the rank is known (and non-zero), else
``Rank`` and ``range`` nodes; those helper nodes sit outside the op's scope.
"""
from __future__ import annotations

import numpy as np

from flowsaver.graph.attr_value import as_dtype
from flowsaver.graph.operation import Tensor
from flowsaver.ops.math.basic import cast, is_tensor_like
from flowsaver.ops.op_builder import constant, convert_to_tensor, create_op, graph_of

__all__ = ['reduce_sum', 'reduce_mean', 'reduce_max', 'reduce_min', 'reduce_prod',
           'reduce_any', 'reduce_all', 'argmax', 'argmin', 'range']

# range() infers its dtype as the widest of its arguments' dtypes, in this order.
_RANGE_HIERARCHY = ["int32", "int64", "float16", "bfloat16", "float32", "float64"]


def _deprecated_alias(new_name: str, new, old_name: str, old):
    """The value of an argument that also has a deprecated TF1 spelling."""
    if old is not None:
        if new is not None:
            raise ValueError(f"Cannot specify both '{old_name}' and '{new_name}'.")
        return old
    return new


def _rank(x):
    """``tf.rank``: a ``Rank`` Const when the rank is known, else a ``Rank`` op."""
    g = graph_of([x])
    with g.as_default(), g.name_scope("Rank") as scope:
        x = convert_to_tensor(x)
        if x.shape.ndims is not None:
            return constant(x.shape.ndims, dtype="int32", name=scope)
        return create_op("Rank", [x], name=scope)


def _all_axes(x):
    """The axes tensor for ``axis=None``, built where and how TensorFlow builds it."""
    rank = x.shape.ndims if is_tensor_like(x) else None
    if rank:  # TensorFlow takes the Rank/range path for rank 0 too
        return constant(np.arange(rank, dtype=np.int32), dtype="int32")
    return range(0, _rank(x))


def _reduce(op_type: str, input_tensor, axis, keepdims, name, reduction_indices,
            keep_dims):
    axis = _deprecated_alias("axis", axis, "reduction_indices", reduction_indices)
    keepdims = bool(_deprecated_alias("keepdims", keepdims, "keep_dims", keep_dims))
    g = graph_of([input_tensor, axis])
    with g.as_default():
        axes = _all_axes(input_tensor) if axis is None else axis
        attrs = {"keep_dims": keepdims}
        if isinstance(axis, (np.ndarray, np.generic)) and axis.dtype == np.int64:
            attrs["Tidx"] = "int64"  # a NumPy int64 axis keeps its type, as in TensorFlow
        out = create_op(op_type, [input_tensor, axes], attrs, name=name)
    if axis is None and not keepdims and not out.shape.is_fully_defined():
        out.set_shape([])  # every dimension reduced: a scalar, whatever the rank
    return out


def reduce_sum(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None,
               keep_dims=None):
    """The sum over ``axis`` (all axes when None) (``Sum``)."""
    return _reduce("Sum", input_tensor, axis, keepdims, name, reduction_indices, keep_dims)


def reduce_mean(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None,
                keep_dims=None):
    """The mean over ``axis``; integer means truncate, as TensorFlow's do (``Mean``)."""
    return _reduce("Mean", input_tensor, axis, keepdims, name, reduction_indices, keep_dims)


def reduce_max(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None,
               keep_dims=None):
    """The maximum over ``axis`` (``Max``)."""
    return _reduce("Max", input_tensor, axis, keepdims, name, reduction_indices, keep_dims)


def reduce_min(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None,
               keep_dims=None):
    """The minimum over ``axis`` (``Min``)."""
    return _reduce("Min", input_tensor, axis, keepdims, name, reduction_indices, keep_dims)


def reduce_prod(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None,
                keep_dims=None):
    """The product over ``axis`` (``Prod``)."""
    return _reduce("Prod", input_tensor, axis, keepdims, name, reduction_indices, keep_dims)


def reduce_any(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None,
               keep_dims=None):
    """Logical OR over ``axis`` of a bool tensor (``Any``)."""
    return _reduce("Any", input_tensor, axis, keepdims, name, reduction_indices, keep_dims)


def reduce_all(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None,
               keep_dims=None):
    """Logical AND over ``axis`` of a bool tensor (``All``)."""
    return _reduce("All", input_tensor, axis, keepdims, name, reduction_indices, keep_dims)


def _arg(op_type, input, axis, name, dimension, output_type):  # noqa: A002
    axis = _deprecated_alias("axis", axis, "dimension", dimension)
    g = graph_of([input, axis])
    with g.as_default():
        return create_op(op_type, [input, 0 if axis is None else axis],
                         {"output_type": as_dtype(output_type)}, name=name)


def argmax(input, axis=None, name=None, dimension=None, output_type="int64"):  # noqa: A002
    """The index of the largest value along ``axis`` (default 0) (``ArgMax``)."""
    return _arg("ArgMax", input, axis, name, dimension, output_type)


def argmin(input, axis=None, name=None, dimension=None, output_type="int64"):  # noqa: A002
    """The index of the smallest value along ``axis`` (default 0) (``ArgMin``)."""
    return _arg("ArgMin", input, axis, name, dimension, output_type)


def range(start, limit=None, delta=1, dtype=None, name="range"):  # noqa: A001
    """``[start, start + delta, ...)`` below ``limit`` (``Range``); ``range(n)`` counts from 0."""
    if limit is None:
        start, limit = 0, start
    g = graph_of([start, limit, delta])
    with g.as_default(), g.name_scope(name) as scope:
        values = []
        for arg, value in (("start", start), ("limit", limit), ("delta", delta)):
            if not isinstance(value, Tensor):
                value = convert_to_tensor(value, dtype=dtype, name=arg)
            values.append(value)
        if dtype is None:
            names = [v.dtype.base_dtype.name for v in values]
            for n in names:
                if n not in _RANGE_HIERARCHY:
                    raise TypeError(f"range() does not take {n} arguments; expected one of "
                                    f"{', '.join(_RANGE_HIERARCHY)}.")
            target = max(names, key=_RANGE_HIERARCHY.index)
        else:
            target = as_dtype(dtype).base_dtype
        values = [cast(v, target) for v in values]
        return create_op("Range", values, name=scope)
