"""Gradients of the cumulative and segment ops, as TensorFlow builds them.

A cumulative sum's gradient is the cumulative sum of the gradient run the other way; a
cumulative product's divides that (``div_no_nan``) by the input. A segment sum hands each
row the gradient of its segment (``gather``); rows with a negative id got nothing.
"""
from __future__ import annotations

from flowsaver.ops.array import api as array_ops
from flowsaver.ops.math import api as math_ops
from flowsaver.ops.registry import OpTable

TABLE = OpTable(__name__)
gradient = TABLE.gradient


@gradient("Cumsum")
def _cumsum_grad(op, grad):
    exclusive, reverse = op.get_attr("exclusive"), op.get_attr("reverse")
    return [math_ops.cumsum(grad, op.inputs[1], exclusive=exclusive, reverse=not reverse),
            None]


@gradient("Cumprod")
def _cumprod_grad(op, grad):
    x, axis = op.inputs
    exclusive, reverse = op.get_attr("exclusive"), op.get_attr("reverse")
    prod = math_ops.cumprod(x, axis, exclusive=exclusive, reverse=reverse)
    out = math_ops.cumsum(prod * grad, axis, exclusive=exclusive, reverse=not reverse)
    return [math_ops.div_no_nan(out, x), None]


@gradient("SegmentSum")
def _segment_sum_grad(op, grad):
    return array_ops.gather(grad, op.inputs[1]), None


def _gather_drop_negatives(params, ids):
    """``params`` gathered at ``ids``, with zeros where an id is negative."""
    clipped = math_ops.maximum(ids, array_ops.zeros_like(ids))
    gathered = array_ops.gather(params, clipped)
    is_positive = math_ops.greater_equal(ids, 0)
    # where() wants its condition shaped like the values: ones for the trailing dims
    is_positive_shape = array_ops.shape(is_positive)
    broadcastable = array_ops.concat(
        [is_positive_shape,
         array_ops.ones([array_ops.rank(gathered) - array_ops.rank(is_positive)],
                        dtype=is_positive_shape.dtype)], axis=0)
    is_positive = array_ops.reshape(is_positive, broadcastable)
    is_positive = is_positive & array_ops.ones_like(gathered, dtype="bool")
    zero_slice = array_ops.zeros_like(gathered)
    return array_ops.where_v2(is_positive, gathered, zero_slice)


@gradient("UnsortedSegmentSum")
def _unsorted_segment_sum_grad(op, grad):
    return _gather_drop_negatives(grad, op.inputs[1]), None, None
