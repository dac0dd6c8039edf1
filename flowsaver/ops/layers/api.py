"""``tf.layers``: the layers family's public classes and functions (re-exports)."""
from flowsaver.ops.layers.base import InputSpec, Layer  # noqa: F401
from flowsaver.ops.layers.convolutional import *  # noqa: F401,F403
from flowsaver.ops.layers.core import *  # noqa: F401,F403
from flowsaver.ops.layers.pooling import *  # noqa: F401,F403
from flowsaver.ops.layers.normalization import *  # noqa: F401,F403
