"""``Log1p``, ``Erf``, ``DivNoNan``, ``Cos`` and ``Sin``: what the losses, metrics, GELU
and cosine decay need beyond the basic math ops.

Minimal on purpose: the math family's own issue adds the full set (``Expm1``, ``Erfc``,
trigonometry, ...); these move there when it lands. Half precision is computed in
float32 and rounded back, as the other unary kernels do.
"""
from __future__ import annotations

import math

import numpy as np

from flowsaver.ops import shapes
from flowsaver.ops.registry import OpTable

TABLE = OpTable(__name__)
define, shape_fn, simple_kernel = TABLE.define, TABLE.shape_fn, TABLE.simple_kernel

define(
    'Log1p(x: T) -> (y: T); T: type {bfloat16, half, float, double, complex64, complex128}',
    'Erf(x: T) -> (y: T); T: type {bfloat16, half, float, double}',
    'DivNoNan(x: T, y: T) -> (z: T); T: type {half, float, bfloat16, double, complex64, complex128}',
    'Cos(x: T) -> (y: T); T: type {bfloat16, half, float, double, complex64, complex128}',
    'Sin(x: T) -> (y: T); T: type {bfloat16, half, float, double, complex64, complex128}',
)
shape_fn("Log1p", "Erf", "Cos", "Sin")(lambda op: [op.inputs[0].shape])
shape_fn("DivNoNan")(shapes.broadcast)

# math.erf as a ufunc over float64: NumPy has no erf of its own, and the package may use
# nothing beyond NumPy. It is exact to double precision, so float32 results round alike.
_ERF = np.frompyfunc(math.erf, 1, 1)


def _log1p(x):
    if x.dtype == np.float16:
        return np.log1p(x.astype(np.float32)).astype(np.float16)
    return np.log1p(x)


def _half_safe(fn):
    def run(x):
        if x.dtype == np.float16:
            return fn(x.astype(np.float32)).astype(np.float16)
        return fn(x)
    return run


def _erf(x):
    return _ERF(x.astype(np.float64)).astype(x.dtype)


simple_kernel("Log1p", _log1p)
simple_kernel("Erf", _erf)
simple_kernel("Cos", _half_safe(np.cos))
simple_kernel("Sin", _half_safe(np.sin))


def _div_no_nan(x, y):
    """x / y, and 0 wherever y is 0 (even for x = inf or nan)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.divide(x, y)
    return np.where(y == 0, np.zeros((), out.dtype), out).astype(np.result_type(x, y),
                                                                  copy=False)


simple_kernel("DivNoNan", _div_no_nan)
