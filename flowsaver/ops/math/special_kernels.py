"""``Log1p`` and ``Erf``: the two special functions the layers, losses and GELU need.

Minimal on purpose: the math family's own issue adds the full set (``Expm1``, ``Erfc``,
trigonometry, ...); these two move there when it lands. Half precision is computed in
float32 and rounded back, as the other unary kernels do.
"""
from __future__ import annotations

import math

import numpy as np

from flowsaver.ops.registry import OpTable

TABLE = OpTable(__name__)
define, shape_fn, simple_kernel = TABLE.define, TABLE.shape_fn, TABLE.simple_kernel

define(
    'Log1p(x: T) -> (y: T); T: type {bfloat16, half, float, double, complex64, complex128}',
    'Erf(x: T) -> (y: T); T: type {bfloat16, half, float, double}',
)
shape_fn("Log1p", "Erf")(lambda op: [op.inputs[0].shape])

# math.erf as a ufunc over float64: NumPy has no erf of its own, and the package may use
# nothing beyond NumPy. It is exact to double precision, so float32 results round alike.
_ERF = np.frompyfunc(math.erf, 1, 1)


def _log1p(x):
    if x.dtype == np.float16:
        return np.log1p(x.astype(np.float32)).astype(np.float16)
    return np.log1p(x)


def _erf(x):
    return _ERF(x.astype(np.float64)).astype(x.dtype)


simple_kernel("Log1p", _log1p)
simple_kernel("Erf", _erf)
