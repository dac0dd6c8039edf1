"""``tf.image``: image codecs and transformations."""
from flowsaver.ops.image.api import *  # noqa: F401,F403
from flowsaver.ops.image.api import __all__  # noqa: F401
