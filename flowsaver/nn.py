"""``tf.nn``: activations, convolutions, pooling, normalization, losses, embeddings, RNNs
(``tf.nn.rnn_cell``)."""
from flowsaver.ops.array.blocks import depth_to_space, space_to_batch, space_to_depth  # noqa: F401
from flowsaver.ops.nn.api import *  # noqa: F401,F403
from flowsaver.ops.nn.convolution import *  # noqa: F401,F403
from flowsaver.ops.nn.embedding import *  # noqa: F401,F403
from flowsaver.ops.nn.logistic import *  # noqa: F401,F403
from flowsaver.ops.nn.normalization import *  # noqa: F401,F403
from flowsaver.ops.nn.sampled import *  # noqa: F401,F403
from flowsaver.ops.rnn.api import *  # noqa: F401,F403
