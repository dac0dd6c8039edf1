"""``tf.layers``: TensorFlow 1.x's layers, as classes and functions."""
from flowsaver.ops.layers.api import *  # noqa: F401,F403
