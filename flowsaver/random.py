"""``tf.random``: TF1's random functions under their ``tf.random.*`` names."""
from flowsaver.ops.random.api import random_normal as normal  # noqa: F401
from flowsaver.ops.random.api import random_shuffle as shuffle  # noqa: F401
from flowsaver.ops.random.api import random_uniform as uniform  # noqa: F401
from flowsaver.ops.random.api import set_random_seed  # noqa: F401
from flowsaver.ops.random.api import truncated_normal  # noqa: F401

set_seed = set_random_seed
