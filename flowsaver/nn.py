"""``tf.nn``: activations, convolutions, pooling, losses."""
from flowsaver.ops.nn_ops import *  # noqa: F401,F403
