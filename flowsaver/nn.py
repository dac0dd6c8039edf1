"""``tf.nn``: activations, convolutions, pooling, losses."""
from flowsaver.ops.nn.api import *  # noqa: F401,F403
