"""``tf.saved_model.loader``."""
from flowsaver.train.saved_model_loader import load, maybe_saved_model_directory  # noqa: F401
