"""``tf.random``: TF1's random functions under their ``tf.random.*`` names."""
from flowsaver.ops.random.api import categorical, multinomial  # noqa: F401
from flowsaver.ops.random.api import random_gamma as gamma  # noqa: F401
from flowsaver.ops.random.api import random_normal as normal  # noqa: F401
from flowsaver.ops.random.api import random_poisson as poisson  # noqa: F401
from flowsaver.ops.random.api import random_shuffle as shuffle  # noqa: F401
from flowsaver.ops.random.api import random_uniform as uniform  # noqa: F401
from flowsaver.ops.random.api import set_random_seed  # noqa: F401
from flowsaver.ops.random.api import truncated_normal  # noqa: F401
from flowsaver.ops.random.stateless import stateless_categorical  # noqa: F401
from flowsaver.ops.random.stateless import stateless_multinomial  # noqa: F401
from flowsaver.ops.random.stateless import stateless_random_normal as stateless_normal  # noqa: F401,E501
from flowsaver.ops.random.stateless import stateless_random_uniform as stateless_uniform  # noqa: F401,E501
from flowsaver.ops.random.stateless import stateless_truncated_normal  # noqa: F401

set_seed = set_random_seed
