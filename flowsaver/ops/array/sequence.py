"""``tf.reverse_sequence``."""
from __future__ import annotations

from flowsaver.graph.operation import Tensor
from flowsaver.ops.op_builder import create_op, graph_of

__all__ = ["reverse_sequence"]


def reverse_sequence(input, seq_lengths, seq_axis=None, batch_axis=None,  # noqa: A002
                     name=None, seq_dim=None, batch_dim=None) -> Tensor:
    """For each batch entry ``b``, the first ``seq_lengths[b]`` steps along ``seq_axis``
    reversed (``ReverseSequence``); ``seq_dim``/``batch_dim`` are the old names."""
    if seq_axis is not None and seq_dim is not None:
        raise ValueError("Cannot specify both 'seq_axis' and 'seq_dim'")
    if batch_axis is not None and batch_dim is not None:
        raise ValueError("Cannot specify both 'batch_axis' and 'batch_dim'")
    seq_axis = seq_dim if seq_axis is None else seq_axis
    batch_axis = batch_dim if batch_axis is None else batch_axis
    if seq_axis is None:
        raise TypeError("reverse_sequence() missing the argument 'seq_axis'")
    with graph_of([input, seq_lengths]).as_default():
        return create_op("ReverseSequence", [input, seq_lengths],
                         {"seq_dim": seq_axis, "batch_dim": batch_axis or 0}, name=name)
