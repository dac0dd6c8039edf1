"""``tf.losses``: TensorFlow 1.x's loss functions and loss collections."""
from flowsaver.ops.losses.api import *  # noqa: F401,F403
