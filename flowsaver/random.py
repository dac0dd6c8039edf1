"""``tf.random``: TF1's random functions under their ``tf.random.*`` names."""
from flowsaver.ops.random_ops import random_normal as normal  # noqa: F401
from flowsaver.ops.random_ops import random_shuffle as shuffle  # noqa: F401
from flowsaver.ops.random_ops import random_uniform as uniform  # noqa: F401
from flowsaver.ops.random_ops import set_random_seed  # noqa: F401
from flowsaver.ops.random_ops import truncated_normal  # noqa: F401

set_seed = set_random_seed
