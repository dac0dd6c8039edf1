"""``tf.math``: the math functions under their ``tf.math.*`` names."""
from flowsaver.ops.math.api import *  # noqa: F401,F403
from flowsaver.ops.math.api import __all__ as _math_all
from flowsaver.ops.math.api import div_no_nan as divide_no_nan  # noqa: F401
from flowsaver.ops.nn.api import softplus  # noqa: F401 - also tf.math.softplus

__all__ = list(_math_all) + ["softplus", "divide_no_nan"]
