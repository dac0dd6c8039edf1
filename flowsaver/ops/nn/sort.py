"""``tf.nn.top_k``, ``tf.sort`` and ``tf.argsort``, built on ``TopKV2`` as TensorFlow builds
them (ascending orders sort the negated values)."""
from __future__ import annotations

import numpy as np

from flowsaver.graph.attr_value import as_dtype
from flowsaver.graph.operation import Tensor
from flowsaver.ops.array import basic as array_ops
from flowsaver.ops.array import layout
from flowsaver.ops.const_eval import constant_value
from flowsaver.ops.op_builder import constant, convert_to_tensor, create_op, graph_of

__all__ = ["top_k", "sort", "argsort"]


def top_k(input, k=1, sorted=True, index_type="int32", name=None):  # noqa: A002
    """``(values, indices)`` of the ``k`` largest entries of each row of ``input``."""
    with graph_of([input, k]).as_default():
        return create_op("TopKV2", [input, k],
                         {"sorted": sorted, "index_type": as_dtype(index_type)}, name=name)


def _descending(values: Tensor, axis: int, return_argsort: bool) -> Tensor:
    k = array_ops.shape(values)[axis]
    rank = array_ops.rank(values)
    static_rank = values.shape.ndims
    if axis == -1 or axis + 1 == values.shape.ndims:
        top_k_input, transposition = values, None
    else:
        if static_rank is None:
            raise NotImplementedError("tf.sort along an inner axis of a tensor of unknown rank")
        if axis < 0:
            axis += static_rank or rank
        transposition = constant(np.r_[np.arange(axis), [static_rank - 1],
                                       np.arange(axis + 1, static_rank - 1), [axis]],
                                 name="transposition")
        top_k_input = layout.transpose(values, transposition)
    values, indices = top_k(top_k_input, k)
    result = indices if return_argsort else values
    if transposition is not None:
        result = layout.transpose(result, transposition)
    return result


def _ascending(values: Tensor, axis: int, return_argsort: bool) -> Tensor:
    dtype = values.dtype.base_dtype
    if dtype.is_unsigned:
        offset = dtype.max
        out = _descending(offset - values, axis, return_argsort)
        return out if return_argsort else offset - out
    if dtype.is_integer:
        out = _descending(-values - 1, axis, return_argsort)
        return out if return_argsort else -out - 1
    out = _descending(-values, axis, return_argsort)
    return out if return_argsort else -out


_ORDERS = {"ASCENDING": _ascending, "DESCENDING": _descending}


def _sort_or_argsort(values, axis, direction, return_argsort):
    if direction not in _ORDERS:
        raise ValueError(f"Argument `direction` should be one of ASCENDING, DESCENDING. "
                         f"Received: direction={direction}")
    axis = convert_to_tensor(axis, name="axis")
    static = constant_value(axis)
    if axis.shape.ndims not in (None, 0) or static is None:
        raise ValueError(f"Argument `axis` must be a constant scalar. Received: axis={axis}.")
    values = convert_to_tensor(values, name="values")
    return _ORDERS[direction](values, int(static), return_argsort)


def sort(values, axis=-1, direction="ASCENDING", name=None) -> Tensor:
    """``values`` sorted along ``axis``."""
    g = graph_of([values])
    with g.as_default(), g.name_scope(name or "sort"):
        return _sort_or_argsort(values, axis, direction, return_argsort=False)


def argsort(values, axis=-1, direction="ASCENDING", stable=False, name=None) -> Tensor:
    """The indices that sort ``values`` along ``axis`` (always stable)."""
    g = graph_of([values])
    with g.as_default(), g.name_scope(name or "argsort"):
        return _sort_or_argsort(values, axis, direction, return_argsort=True)
