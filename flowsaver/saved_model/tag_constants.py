"""``tf.saved_model.tag_constants``."""
from flowsaver.format.saved_model import GPU, SERVING, TPU, TRAINING  # noqa: F401
