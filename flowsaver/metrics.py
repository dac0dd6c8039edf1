"""``tf.metrics``: TensorFlow 1.x's streaming metrics."""
from flowsaver.ops.metrics.api import *  # noqa: F401,F403
