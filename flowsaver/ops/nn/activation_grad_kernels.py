"""Kernels of the elementwise gradient ops TensorFlow's training graphs hold
(``ReluGrad``, ``SigmoidGrad``, ``BiasAddGrad``, ...). Each computes TensorFlow's formula
from the incoming gradient and the forward op's input or output."""
from __future__ import annotations

import numpy as np

from flowsaver.ops import blas_threads, donation
from flowsaver.ops.registry import NO_GRADIENT_YET, OpTable

TABLE = OpTable(__name__)
define, kernel, shape_fn, simple_kernel = (
    TABLE.define, TABLE.kernel, TABLE.shape_fn, TABLE.simple_kernel)

define(
    'ReluGrad(gradients: T, features: T) -> (backprops: T); T: type {float, double, int32, uint8, int16, int8, int64, bfloat16, uint16, half, uint32, uint64}',
    'Relu6Grad(gradients: T, features: T) -> (backprops: T); T: type {float, double, int32, uint8, int16, int8, int64, bfloat16, uint16, half, uint32, uint64}',
    'EluGrad(gradients: T, outputs: T) -> (backprops: T); T: type {half, bfloat16, float, double}',
    'SeluGrad(gradients: T, outputs: T) -> (backprops: T); T: type {half, bfloat16, float, double}',
    'SoftplusGrad(gradients: T, features: T) -> (backprops: T); T: type {half, bfloat16, float, double}',
    'SoftsignGrad(gradients: T, features: T) -> (backprops: T); T: type {half, bfloat16, float, double}',
    'LeakyReluGrad(gradients: T, features: T) -> (backprops: T); alpha: float = 0.20000000298023224; T: type {half, bfloat16, float, double} = float',
    'SigmoidGrad(y: T, dy: T) -> (z: T); T: type {bfloat16, half, float, double, complex64, complex128}',
    'TanhGrad(y: T, dy: T) -> (z: T); T: type {bfloat16, half, float, double, complex64, complex128}',
    'RsqrtGrad(y: T, dy: T) -> (z: T); T: type {bfloat16, half, float, double, complex64, complex128}',
    'SqrtGrad(y: T, dy: T) -> (z: T); T: type {bfloat16, half, float, double, complex64, complex128}',
    'ReciprocalGrad(y: T, dy: T) -> (z: T); T: type {bfloat16, half, float, double, complex64, complex128}',
    'BiasAddGrad(out_backprop: T) -> (output: T); T: type {float, double, int32, uint8, int16, int8, complex64, int64, qint8, quint8, qint32, bfloat16, qint16, quint16, uint16, complex128, half, uint32, uint64}; data_format: string {"NHWC", "NCHW"} = "NHWC"',
)
# TensorFlow differentiates these; flowsaver does not yet (the walk says so if it meets one)
TABLE.mark(NO_GRADIENT_YET, "SoftsignGrad")

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _cast_like(fn):
    def run(a, b):
        out = fn(a, b)
        return out.astype(np.result_type(a, b), copy=False)
    return run


def _relu_grad(g, x):
    """``g * (x > 0)``, in pieces over the threads when large (see over_rows), over
    either input when the plan hands it over (``donation``)."""
    if g.shape != x.shape or g.ndim == 0 or g.dtype != x.dtype:
        return (g * (x > 0)).astype(np.result_type(g, x), copy=False)
    out = donation.output_over(g, g.shape, g.dtype)
    if out is None:
        out = donation.output_over(x, g.shape, g.dtype)
    if out is None:
        out = np.empty_like(g)
    blas_threads.over_rows(lambda lo, hi: np.multiply(g[lo:hi], x[lo:hi] > 0, out=out[lo:hi]),
                           g.shape[0], g.size)
    return out


ELEMENTWISE = {
    # (gradients, features) -> backprops
    "Relu6Grad": lambda g, x: g * ((x > 0) & (x < 6)),
    "EluGrad": lambda g, y: np.where(y < 0, g * (y + 1), g),
    "SeluGrad": lambda g, y: np.where(y < 0, g * (y + _SELU_ALPHA * _SELU_SCALE),
                                      g * _SELU_SCALE),
    "SoftplusGrad": lambda g, x: g / (1 + np.exp(-x)),
    "SoftsignGrad": lambda g, x: g / np.square(1 + np.abs(x)),
    # (y, dy) -> z, y being the forward op's output
    "SigmoidGrad": lambda y, dy: dy * y * (1 - y),
    "TanhGrad": lambda y, dy: dy * (1 - y * y),
    "RsqrtGrad": lambda y, dy: dy * (y * y * y) * -0.5,
    "SqrtGrad": lambda y, dy: dy * 0.5 / y,
    "ReciprocalGrad": lambda y, dy: -dy * y * y,
}
for _name, _fn in ELEMENTWISE.items():
    simple_kernel(_name, _cast_like(_fn))
# TensorFlow multiplies by the mask (so a NaN gradient stays NaN); also 5x faster. Its own
# kernel, not wrapped: a donated input must reach it with no other frame holding it.
simple_kernel("ReluGrad", _relu_grad)


@kernel("LeakyReluGrad")
def _leaky_relu_grad(op, ctx):
    alpha = op.get_attr("alpha")
    return _cast_like(lambda g, x: np.where(x > 0, g, g * alpha))


@shape_fn(*ELEMENTWISE, "ReluGrad", "LeakyReluGrad")
def _same_as_first(op):
    return [op.inputs[0].shape.merge_with(op.inputs[1].shape)]


@shape_fn("BiasAddGrad")
def _bias_grad_shape(op):
    shape = op.inputs[0].shape
    if shape.ndims is None:
        return [[None]]
    axis = 1 if op.get_attr("data_format") in (b"NCHW", "NCHW") and shape.ndims >= 3 else -1
    return [[shape.as_list()[axis]]]


@kernel("BiasAddGrad")
def _bias_add_grad(op, ctx):
    nchw = op.get_attr("data_format") in (b"NCHW", "NCHW")

    def run(grad):
        axis = 1 if nchw and grad.ndim >= 3 else grad.ndim - 1
        if axis == grad.ndim - 1 and grad.dtype in _BLAS_FLOATS and grad.ndim >= 2:
            # column sums as ones @ (rows, C): BLAS, about 3x faster than sum(axis=0)
            rows = grad.reshape(-1, grad.shape[-1])
            return np.ones(rows.shape[0], grad.dtype) @ rows
        axes = tuple(i for i in range(grad.ndim) if i != axis)
        return grad.sum(axis=axes, dtype=grad.dtype)
    return run


_BLAS_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
