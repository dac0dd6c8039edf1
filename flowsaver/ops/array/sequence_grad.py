"""The gradient of ReverseSequence, built as TensorFlow builds it."""
from __future__ import annotations

from flowsaver.ops.array import sequence
from flowsaver.ops.registry import OpTable

TABLE = OpTable(__name__)
gradient = TABLE.gradient


@gradient("ReverseSequence")
def _reverse_sequence_grad(op, grad):
    return [sequence.reverse_sequence(grad, batch_axis=op.get_attr("batch_dim"),
                                      seq_axis=op.get_attr("seq_dim"),
                                      seq_lengths=op.inputs[1]), None]
