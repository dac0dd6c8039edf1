"""``tf.nn``: activations, convolutions, pooling, losses, RNNs (``tf.nn.rnn_cell``)."""
from flowsaver.ops.nn.api import *  # noqa: F401,F403
from flowsaver.ops.rnn.api import *  # noqa: F401,F403
