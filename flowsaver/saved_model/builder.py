"""``tf.saved_model.builder``."""
from flowsaver.train.saved_model_builder import SavedModelBuilder  # noqa: F401
