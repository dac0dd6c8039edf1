"""``tf.saved_model.main_op``."""
from flowsaver.train.saved_model_builder import main_op, main_op_with_restore  # noqa: F401
