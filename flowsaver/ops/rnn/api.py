"""The RNN family's public names: ``tf.nn.dynamic_rnn``, ``tf.nn.static_rnn``, the
bidirectional ones and ``tf.nn.rnn_cell`` (re-exports)."""
from flowsaver.ops.rnn import rnn_cell  # noqa: F401
from flowsaver.ops.rnn.dynamic import bidirectional_dynamic_rnn, dynamic_rnn  # noqa: F401
from flowsaver.ops.rnn.static import static_bidirectional_rnn, static_rnn  # noqa: F401

__all__ = ["rnn_cell", "dynamic_rnn", "bidirectional_dynamic_rnn", "static_rnn",
           "static_bidirectional_rnn"]
