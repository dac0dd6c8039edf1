"""Public cumulative and segment functions: ``tf.cumsum``, ``tf.cumprod``,
``tf.math.segment_sum`` (``tf.math.unsorted_segment_sum`` is re-exported from slicing).

``cumsum``/``cumprod`` open their scope (``Cumsum``), convert ``x`` inside it as ``x`` and
the axis as ``<scope>/axis``; ``segment_sum`` is TensorFlow's generated wrapper.
"""
from __future__ import annotations

from flowsaver.ops.op_builder import convert_to_tensor, create_op, graph_of

__all__ = ['cumsum', 'cumprod', 'segment_sum']


def _scan(op_type: str, x, axis, exclusive, reverse, name):
    g = graph_of([x, axis])
    with g.as_default(), g.name_scope(name or op_type) as scope:
        x = convert_to_tensor(x, name="x")
        return create_op(op_type, [x, axis], {"exclusive": exclusive, "reverse": reverse},
                         name=scope)


def cumsum(x, axis=0, exclusive=False, reverse=False, name=None):
    """Running sums along ``axis``: ``[a, a + b, a + b + c]`` (``Cumsum``); ``exclusive``
    leaves each entry out (``[0, a, a + b]``), ``reverse`` runs from the end."""
    return _scan("Cumsum", x, axis, exclusive, reverse, name)


def cumprod(x, axis=0, exclusive=False, reverse=False, name=None):
    """Running products along ``axis`` (``Cumprod``), with ``cumsum``'s options."""
    return _scan("Cumprod", x, axis, exclusive, reverse, name)


def segment_sum(data, segment_ids, name=None):
    """Rows of ``data`` summed per (sorted) segment id (``SegmentSum``)."""
    with graph_of([data, segment_ids]).as_default():
        return create_op("SegmentSum", [data, segment_ids], name=name)
