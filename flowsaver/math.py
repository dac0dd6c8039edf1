"""``tf.math``: the math functions under their ``tf.math.*`` names."""
from flowsaver.ops.math.api import *  # noqa: F401,F403
from flowsaver.ops.math.api import __all__ as _math_all
from flowsaver.ops.math.special import cos, div_no_nan, divide_no_nan, erf, log1p, sin  # noqa: F401,E501
from flowsaver.ops.nn.api import softplus  # noqa: F401 - also tf.math.softplus

__all__ = list(_math_all) + ["softplus", "log1p", "erf", "div_no_nan", "divide_no_nan", "cos", "sin"]
