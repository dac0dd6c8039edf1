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


def gather_drop_negatives(params, ids, clipped_ids=None, is_positive=None):
    """(``params`` gathered at ``ids`` with zeros where an id is negative, the ids clipped
    at 0, the mask of non-negative ids shaped like the result); pass the last two back in
    to gather again at the same ids without building them twice."""
    if clipped_ids is None:
        clipped_ids = math_ops.maximum(ids, array_ops.zeros_like(ids))
    gathered = array_ops.gather(params, clipped_ids)
    if is_positive is None:
        is_positive = math_ops.greater_equal(ids, 0)
        # where_v2 wants the mask shaped like the values: a 1 for each trailing dimension
        mask_shape = array_ops.shape(is_positive)
        trailing = array_ops.ones([array_ops.rank(gathered) - array_ops.rank(is_positive)],
                                  dtype=mask_shape.dtype)
        is_positive = array_ops.reshape(is_positive,
                                        array_ops.concat([mask_shape, trailing], axis=0))
        is_positive = is_positive & array_ops.ones_like(gathered, dtype="bool")
    zeros = array_ops.zeros_like(gathered)
    return array_ops.where_v2(is_positive, gathered, zeros), clipped_ids, is_positive


@gradient("UnsortedSegmentSum")
def _unsorted_segment_sum_grad(op, grad):
    return gather_drop_negatives(grad, op.inputs[1])[0], None, None
