"""Gradients of ``Log1p``, ``Erf``, ``DivNoNan``, ``Cos`` and ``Sin`` (kernels in ``special_kernels``), built as TensorFlow
builds them: the new ops wait for the incoming gradient."""
from __future__ import annotations

import math

from flowsaver.ops.math import basic as math_ops
from flowsaver.ops.math.grad import unbroadcast
from flowsaver.ops.math.special import cos, div_no_nan, sin
from flowsaver.ops.op_builder import constant
from flowsaver.ops.registry import OpTable

TABLE = OpTable(__name__)
gradient = TABLE.gradient


@gradient("Log1p")
def _log1p_grad(op, grad):
    x = op.inputs[0]
    with op.graph.control_dependencies([grad]):
        return grad * math_ops.reciprocal(1 + x)


@gradient("Erf")
def _erf_grad(op, grad):
    x = op.inputs[0]
    two_over_root_pi = constant(2 / math.sqrt(math.pi), dtype=grad.dtype.base_dtype)
    with op.graph.control_dependencies([grad]):
        return grad * two_over_root_pi * math_ops.exp(-math_ops.square(x))


@gradient("DivNoNan")
def _div_no_nan_grad(op, grad):
    x, y = op.inputs
    gx = div_no_nan(grad, y)
    gy = grad * div_no_nan(div_no_nan(-x, y), y)
    return unbroadcast(x, y, gx, gy)


@gradient("Sin")
def _sin_grad(op, grad):
    with op.graph.control_dependencies([grad]):
        return grad * cos(op.inputs[0])


@gradient("Cos")
def _cos_grad(op, grad):
    with op.graph.control_dependencies([grad]):
        return -grad * sin(op.inputs[0])
