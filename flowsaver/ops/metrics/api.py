"""``tf.metrics``: the metrics family's public functions (re-exports)."""
from flowsaver.ops.metrics.curves import *  # noqa: F401,F403
from flowsaver.ops.metrics.metrics import *  # noqa: F401,F403
