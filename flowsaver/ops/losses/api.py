"""``tf.losses``: the losses family's public functions (re-exports)."""
from flowsaver.ops.losses.losses import *  # noqa: F401,F403
from flowsaver.ops.losses.losses import __all__  # noqa: F401
