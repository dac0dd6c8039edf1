"""``tf.math.log1p`` and ``tf.math.erf`` (ops in ``special_kernels``)."""
from __future__ import annotations

from flowsaver.ops.math.basic import unary

__all__ = ["log1p", "erf"]


def log1p(x, name=None):
    """log(1 + x), accurate for small x (``Log1p``)."""
    return unary("Log1p", x, name)


def erf(x, name=None):
    """The Gauss error function (``Erf``)."""
    return unary("Erf", x, name)
