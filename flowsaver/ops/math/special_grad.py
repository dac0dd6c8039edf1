"""Gradients of the trigonometric and special functions, built as TensorFlow builds them.

Each waits for the incoming gradient (``control_dependencies([grad])``) before computing
the derivative from the op's input, or its output where that is cheaper (``asinh``,
``acosh``). ``conj`` of a real tensor is the tensor itself, so no op appears for it.
"""
from __future__ import annotations

import numpy as np

from flowsaver.ops.math import api as math_ops
from flowsaver.ops.math.grad import unbroadcast
from flowsaver.ops.op_builder import constant
from flowsaver.ops.registry import OpTable

TABLE = OpTable(__name__)
gradient = TABLE.gradient


def _after(grad, fn):
    """``fn()`` with its new ops made to wait for ``grad``."""
    with grad.graph.control_dependencies([grad]):
        return fn()


def _one(grad):
    return constant(1, dtype=grad.dtype.base_dtype)


gradient("Sin")(lambda op, grad: _after(
    grad, lambda: grad * math_ops.cos(math_ops.conj(op.inputs[0]))))
gradient("Cos")(lambda op, grad: _after(
    grad, lambda: -grad * math_ops.sin(math_ops.conj(op.inputs[0]))))
gradient("Sinh")(lambda op, grad: _after(
    grad, lambda: grad * math_ops.cosh(math_ops.conj(op.inputs[0]))))
gradient("Cosh")(lambda op, grad: _after(
    grad, lambda: grad * math_ops.sinh(math_ops.conj(op.inputs[0]))))
gradient("Asinh")(lambda op, grad: _after(
    grad, lambda: grad / math_ops.cosh(math_ops.conj(op.outputs[0]))))
gradient("Acosh")(lambda op, grad: _after(
    grad, lambda: grad / math_ops.sinh(math_ops.conj(op.outputs[0]))))
gradient("Log1p")(lambda op, grad: _after(
    grad, lambda: grad * math_ops.reciprocal(1 + math_ops.conj(op.inputs[0]))))
gradient("Expm1")(lambda op, grad: _after(
    grad, lambda: grad * math_ops.exp(math_ops.conj(op.inputs[0]))))
gradient("Conj")(lambda op, grad: math_ops.conj(grad))
gradient("Round")(lambda op, grad: [None])


@gradient("Tan")
def _tan_grad(op, grad):
    def build():
        secant = math_ops.reciprocal(math_ops.cos(math_ops.conj(op.inputs[0])))
        return math_ops.square(secant) * grad
    return _after(grad, build)


def _inverse_sqrt_one_minus_square(op, grad):
    x2 = math_ops.square(math_ops.conj(op.inputs[0]))
    return math_ops.reciprocal(math_ops.sqrt(math_ops.subtract(_one(grad), x2)))


gradient("Asin")(lambda op, grad: _after(
    grad, lambda: grad * _inverse_sqrt_one_minus_square(op, grad)))
@gradient("Acos")
def _acos_grad(op, grad):
    def build():
        inverse = _inverse_sqrt_one_minus_square(op, grad)
        return -grad * inverse
    return _after(grad, build)


@gradient("Atan")
def _atan_grad(op, grad):
    def build():
        x2 = math_ops.square(math_ops.conj(op.inputs[0]))
        return grad * math_ops.reciprocal(math_ops.add(_one(grad), x2))
    return _after(grad, build)


@gradient("Atanh")
def _atanh_grad(op, grad):
    def build():
        x2 = math_ops.square(math_ops.conj(op.inputs[0]))
        return grad * math_ops.reciprocal(math_ops.subtract(_one(grad), x2))
    return _after(grad, build)


@gradient("Atan2")
def _atan2_grad(op, grad):
    y, x = op.inputs

    def build():
        grad_inv = grad / (math_ops.square(y) + math_ops.square(x))
        return unbroadcast(y, x, x * grad_inv, -y * grad_inv)
    return _after(grad, build)


def _erf_like_grad(op, grad, factor: float):
    # the constant comes before the control dependency, as in TensorFlow
    scale = constant(factor, dtype=grad.dtype.base_dtype)

    def build():
        x = math_ops.conj(op.inputs[0])
        return grad * scale * math_ops.exp(-math_ops.square(x))
    return _after(grad, build)


gradient("Erf")(lambda op, grad: _erf_like_grad(op, grad, 2 / np.sqrt(np.pi)))
gradient("Erfc")(lambda op, grad: _erf_like_grad(op, grad, -2 / np.sqrt(np.pi)))


@gradient("DivNoNan")
def _div_no_nan_grad(op, grad):
    x, y = math_ops.conj(op.inputs[0]), math_ops.conj(op.inputs[1])
    gx = math_ops.div_no_nan(grad, y)
    gy = grad * math_ops.div_no_nan(math_ops.div_no_nan(-x, y), y)
    return unbroadcast(x, y, gx, gy)
