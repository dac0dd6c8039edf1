"""``tf.data``: input pipelines in graph mode."""
from flowsaver.ops.data.api import *  # noqa: F401,F403
from flowsaver.ops.data.api import __all__  # noqa: F401
