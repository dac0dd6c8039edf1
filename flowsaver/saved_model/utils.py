"""``tf.saved_model.utils``."""
from flowsaver.train.signature_defs import (build_tensor_info,  # noqa: F401
                                            get_tensor_from_tensor_info)
