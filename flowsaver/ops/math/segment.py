"""Public segment reductions: ``tf.math.segment_mean``/``max``/``min``/``prod``,
``tf.math.unsorted_segment_max``/``min``/``prod``, and the composites
``tf.math.unsorted_segment_mean`` and ``tf.math.unsorted_segment_sqrt_n``.

The first seven are TensorFlow's generated wrappers: one op named after its type. The two
composites divide an ``UnsortedSegmentSum`` by each segment's row count (at least 1),
built in TensorFlow's order under a ``UnsortedSegmentMean``/``UnsortedSegmentSqrtN`` scope.
"""
from __future__ import annotations

from flowsaver.graph.operation import Tensor
from flowsaver.ops.array import api as array_ops
from flowsaver.ops.array import basic as array_basic
from flowsaver.ops.math.basic import maximum, sqrt
from flowsaver.ops.op_builder import convert_to_tensor, create_op, graph_of

__all__ = ['segment_mean', 'segment_max', 'segment_min', 'segment_prod',
           'unsorted_segment_max', 'unsorted_segment_min', 'unsorted_segment_prod',
           'unsorted_segment_mean', 'unsorted_segment_sqrt_n']


def _sorted(op_type: str, data, segment_ids, name) -> Tensor:
    with graph_of([data, segment_ids]).as_default():
        return create_op(op_type, [data, segment_ids], name=name)


def _unsorted(op_type: str, data, segment_ids, num_segments, name) -> Tensor:
    with graph_of([data, segment_ids, num_segments]).as_default():
        return create_op(op_type, [data, segment_ids, num_segments], name=name)


def segment_mean(data, segment_ids, name=None) -> Tensor:
    """Rows of ``data`` averaged per (sorted) segment id (``SegmentMean``); integers round
    towards zero, ids no row has give 0.

    Example: ``segment_mean([1., 2., 6.], [0, 0, 2])`` is ``[1.5, 0., 6.]``.
    """
    return _sorted("SegmentMean", data, segment_ids, name)


def segment_max(data, segment_ids, name=None) -> Tensor:
    """The largest row of ``data`` per (sorted) segment id (``SegmentMax``); 0 for ids no
    row has."""
    return _sorted("SegmentMax", data, segment_ids, name)


def segment_min(data, segment_ids, name=None) -> Tensor:
    """The smallest row of ``data`` per (sorted) segment id (``SegmentMin``); 0 for ids no
    row has."""
    return _sorted("SegmentMin", data, segment_ids, name)


def segment_prod(data, segment_ids, name=None) -> Tensor:
    """Rows of ``data`` multiplied per (sorted) segment id (``SegmentProd``); 1 for ids no
    row has."""
    return _sorted("SegmentProd", data, segment_ids, name)


def unsorted_segment_max(data, segment_ids, num_segments, name=None) -> Tensor:
    """The largest row per segment id into ``num_segments`` rows (``UnsortedSegmentMax``);
    an empty segment holds the type's lowest value, rows with a negative id are dropped."""
    return _unsorted("UnsortedSegmentMax", data, segment_ids, num_segments, name)


def unsorted_segment_min(data, segment_ids, num_segments, name=None) -> Tensor:
    """The smallest row per segment id into ``num_segments`` rows (``UnsortedSegmentMin``);
    an empty segment holds the type's highest value, rows with a negative id are dropped."""
    return _unsorted("UnsortedSegmentMin", data, segment_ids, num_segments, name)


def unsorted_segment_prod(data, segment_ids, num_segments, name=None) -> Tensor:
    """Rows multiplied per segment id into ``num_segments`` rows (``UnsortedSegmentProd``);
    an empty segment holds 1, rows with a negative id are dropped."""
    return _unsorted("UnsortedSegmentProd", data, segment_ids, num_segments, name)


def _segment_counts(data: Tensor, segment_ids: Tensor, num_segments) -> Tensor:
    """How many rows each segment has, at least 1, shaped to divide the segment sums."""
    num_segments = convert_to_tensor(num_segments)
    ones = array_ops.ones(array_basic._shape_internal(segment_ids), dtype=data.dtype)
    counts = create_op("UnsortedSegmentSum", [ones, segment_ids, num_segments])
    # one dimension per segment, then a 1 for each dimension of a row
    counts_shape = array_ops.concat(
        [num_segments[array_ops.newaxis],
         array_ops.ones([array_ops.rank(data) - array_ops.rank(segment_ids)],
                        dtype=num_segments.dtype)], axis=0)
    counts = array_ops.reshape(counts, counts_shape)
    return maximum(counts, 1)


def _unsorted_sum_over(scope_name: str, data, segment_ids, num_segments, name, scale):
    g = graph_of([data, segment_ids, num_segments])
    with g.as_default(), g.name_scope(name or scope_name):
        data = convert_to_tensor(data)
        segment_ids = convert_to_tensor(segment_ids)
        counts = _segment_counts(data, segment_ids, num_segments)
        # num_segments as given: TensorFlow converts a Python count again for the sum
        summed = create_op("UnsortedSegmentSum", [data, segment_ids, num_segments])
        return summed / scale(counts)


def unsorted_segment_mean(data, segment_ids, num_segments, name=None) -> Tensor:
    """The mean row per segment id into ``num_segments`` rows: ``UnsortedSegmentSum``
    divided by the row count (empty segments give 0, negative ids are dropped)."""
    return _unsorted_sum_over("UnsortedSegmentMean", data, segment_ids, num_segments, name,
                              lambda counts: counts)


def unsorted_segment_sqrt_n(data, segment_ids, num_segments, name=None) -> Tensor:
    """Rows summed per segment id into ``num_segments`` rows, divided by the square root of
    the row count (``UnsortedSegmentSum`` over ``Sqrt``); floating and complex data only."""
    return _unsorted_sum_over("UnsortedSegmentSqrtN", data, segment_ids, num_segments, name,
                              sqrt)
