"""Public sparse segment reductions: ``tf.sparse.segment_sum``/``mean``/``sqrt_n`` and their
TF1 top-level names ``tf.sparse_segment_sum``/``mean``/``sqrt_n``.

Each is one op named after its type: ``SparseSegmentSum`` (``Mean``, ``SqrtN``), or its
``...WithNumSegments`` form when a segment count is given. ``sparse_gradient`` asks for an
``IndexedSlices`` gradient with a row per distinct index instead of a dense one.
"""
from __future__ import annotations

from flowsaver.graph.operation import Tensor
from flowsaver.ops.op_builder import create_op, graph_of

__all__ = ["sparse_segment_sum", "sparse_segment_mean", "sparse_segment_sqrt_n"]


def _sparse_segment(reduction: str, data, indices, segment_ids, name, num_segments,
                    sparse_gradient) -> Tensor:
    inputs = [data, indices, segment_ids]
    op_type = f"SparseSegment{reduction}"
    if num_segments is not None:
        inputs.append(num_segments)
        op_type += "WithNumSegments"
    with graph_of(inputs).as_default():
        return create_op(op_type, inputs, {"sparse_gradient": bool(sparse_gradient)},
                         name=name)


def sparse_segment_sum(data, indices, segment_ids, name=None, num_segments=None,
                       sparse_gradient=False) -> Tensor:
    """Rows ``data[indices]`` summed per sorted segment id; segments no id names hold 0.

    The output has ``segment_ids[-1] + 1`` rows, or ``num_segments``.
    Example: ``sparse_segment_sum([[1.], [2.], [4.]], [0, 2, 2], [0, 0, 2])`` is
    ``[[5.], [0.], [4.]]``.
    """
    return _sparse_segment("Sum", data, indices, segment_ids, name, num_segments,
                           sparse_gradient)


def sparse_segment_mean(data, indices, segment_ids, name=None, num_segments=None,
                        sparse_gradient=False) -> Tensor:
    """Rows ``data[indices]`` averaged per sorted segment id; segments no id names hold 0
    (floating data only)."""
    return _sparse_segment("Mean", data, indices, segment_ids, name, num_segments,
                           sparse_gradient)


def sparse_segment_sqrt_n(data, indices, segment_ids, name=None, num_segments=None,
                          sparse_gradient=False) -> Tensor:
    """Rows ``data[indices]`` summed per sorted segment id and divided by the square root
    of the segment's row count; segments no id names hold 0 (floating data only)."""
    return _sparse_segment("SqrtN", data, indices, segment_ids, name, num_segments,
                           sparse_gradient)
