"""Gradients of the segment means, extremes and products, as TensorFlow builds them.

A mean hands each row its segment's gradient divided by the segment's row count. A
maximum or minimum hands it to the rows equal to the result, shared evenly when several
tie. A product hands each row the product of the others in its segment: the result over
the row where that is safe, the product of the non-zero rows for a segment's only zero,
and nothing to any row of a segment with two zeros or more. In the unsorted forms a row
with a negative id gets nothing.
"""
from __future__ import annotations

from flowsaver.ops.array import api as array_ops
from flowsaver.ops.math import api as math_ops
from flowsaver.ops.math import segment
from flowsaver.ops.math.scan_grad import gather_drop_negatives
from flowsaver.ops.registry import OpTable

TABLE = OpTable(__name__)
gradient = TABLE.gradient


@gradient("SegmentMean")
def _segment_mean_grad(op, grad):
    data, ids = op.inputs
    data_rank = array_ops.rank(data)
    ids_shape = array_ops.shape(ids)
    trailing = array_ops.ones(array_ops.expand_dims(data_rank - 1, 0), dtype=ids_shape.dtype)
    ones = array_ops.ones(array_ops.concat([ids_shape, trailing], 0), dtype=grad.dtype)
    scaled = math_ops.divide(grad, math_ops.segment_sum(ones, ids))
    return array_ops.gather(scaled, ids), None


def _segment_extreme_grad(op, grad):
    data, ids = op.inputs
    zeros = array_ops.zeros_like(data, dtype=data.dtype)
    is_selected = math_ops.equal(data, array_ops.gather(op.outputs[0], ids))
    num_selected = math_ops.segment_sum(math_ops.cast(is_selected, grad.dtype), ids)
    shared = math_ops.divide(grad, num_selected)  # ties share their segment's gradient
    return array_ops.where_v2(is_selected, array_ops.gather(shared, ids), zeros), None


gradient("SegmentMax")(_segment_extreme_grad)
gradient("SegmentMin")(_segment_extreme_grad)


@gradient("SegmentProd")
def _segment_prod_grad(op, grad):
    data, ids = op.inputs
    is_zero = math_ops.equal(data, 0)
    num_zeros = math_ops.segment_sum(math_ops.cast(is_zero, dtype="int32"), ids)
    grad = array_ops.where_v2(math_ops.greater(num_zeros, 1), array_ops.zeros_like(grad), grad)
    non_zero_data = array_ops.where_v2(is_zero, array_ops.ones_like(data), data)
    non_zero_prod = segment.segment_prod(non_zero_data, ids)
    gathered_prod = array_ops.gather(op.outputs[0], ids)
    gathered_non_zero_prod = array_ops.gather(non_zero_prod, ids)
    others = array_ops.where_v2(is_zero, gathered_non_zero_prod, gathered_prod / non_zero_data)
    return array_ops.gather(grad, ids) * others, None


def _unsorted_segment_extreme_grad(op, grad):
    data, ids, count = op.inputs
    gathered_outputs, clipped_ids, is_positive = gather_drop_negatives(op.outputs[0], ids)
    is_selected = math_ops.logical_and(math_ops.equal(data, gathered_outputs), is_positive)
    num_selected = math_ops.unsorted_segment_sum(math_ops.cast(is_selected, grad.dtype), ids,
                                                 count)
    shared = math_ops.divide(grad, num_selected)  # ties share their segment's gradient
    gathered, _, _ = gather_drop_negatives(shared, None, clipped_ids, is_positive)
    zeros = array_ops.zeros_like(gathered)
    return array_ops.where_v2(is_selected, gathered, zeros), None, None


gradient("UnsortedSegmentMax")(_unsorted_segment_extreme_grad)
gradient("UnsortedSegmentMin")(_unsorted_segment_extreme_grad)


@gradient("UnsortedSegmentProd")
def _unsorted_segment_prod_grad(op, grad):
    data, ids, count = op.inputs
    # the sum drops negative ids itself, so is_zero needs no mask here
    is_zero = math_ops.equal(data, 0)
    num_zeros = math_ops.unsorted_segment_sum(math_ops.cast(is_zero, dtype="int32"), ids, count)
    grad = array_ops.where_v2(math_ops.greater(num_zeros, 1), array_ops.zeros_like(grad), grad)
    non_zero_data = array_ops.where_v2(is_zero, array_ops.ones_like(data), data)
    non_zero_prod = segment.unsorted_segment_prod(non_zero_data, ids, count)
    clipped_ids = math_ops.maximum(ids, array_ops.zeros_like(ids))
    gathered_prod = array_ops.gather(op.outputs[0], clipped_ids)
    gathered_non_zero_prod = array_ops.gather(non_zero_prod, clipped_ids)
    # inf or nan where a row is zero; where_v2 picks the other product there
    others = array_ops.where_v2(is_zero, gathered_non_zero_prod, gathered_prod / data)
    gathered_grad, _, _ = gather_drop_negatives(grad, ids, clipped_ids)
    return gathered_grad * others, None, None
