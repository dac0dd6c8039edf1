"""Public functions that split, reverse and broadcast tensors: ``tf.split``, ``tf.reverse``,
``tf.broadcast_to`` (re-exported by array_ops)."""
from __future__ import annotations

from flowsaver.graph.operation import Tensor
from flowsaver.ops.op_builder import create_op, graph_of


def broadcast_to(input, shape, name=None) -> Tensor:  # noqa: A002 - TensorFlow's name
    """``input`` broadcast, NumPy style, to ``shape`` (``BroadcastTo``)."""
    with graph_of([input, shape]).as_default():
        return create_op("BroadcastTo", [input, shape], name=name)
