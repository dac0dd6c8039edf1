"""``tf.math.log1p``, ``tf.math.erf`` and ``tf.math.divide_no_nan`` (ops in
``special_kernels``)."""
from __future__ import annotations

from flowsaver.ops.math.basic import binary, unary

__all__ = ["log1p", "erf", "div_no_nan", "divide_no_nan", "cos", "sin"]


def log1p(x, name=None):
    """log(1 + x), accurate for small x (``Log1p``)."""
    return unary("Log1p", x, name)


def erf(x, name=None):
    """The Gauss error function (``Erf``)."""
    return unary("Erf", x, name)


def div_no_nan(x, y, name=None):
    """``x / y`` with 0 wherever ``y`` is 0 (``DivNoNan``)."""
    return binary("DivNoNan", x, y, name, "div_no_nan")


divide_no_nan = div_no_nan


def cos(x, name=None):
    """The cosine (``Cos``)."""
    return unary("Cos", x, name)


def sin(x, name=None):
    """The sine (``Sin``)."""
    return unary("Sin", x, name)
