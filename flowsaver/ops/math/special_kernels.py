"""Trigonometric, hyperbolic and special functions, and float classification: defs,
shapes, kernels.

``Sin`` ... ``Atanh``, ``Atan2``, ``Erf``/``Erfc``, ``Log1p``/``Expm1``, ``Round``,
``Conj``, ``IsFinite``/``IsNan``/``IsInf`` and ``DivNoNan``. Each kernel is one NumPy callable; NumPy's
ufuncs keep the input's dtype, as TensorFlow's kernels do, and give NaN outside a
function's domain (``asin(2)``), as TensorFlow does.
"""
from __future__ import annotations

import math

import numpy as np

from flowsaver.ops import shapes
from flowsaver.ops.registry import OpTable

TABLE = OpTable(__name__)
define, kernel, shape_fn, simple_kernel = (TABLE.define, TABLE.kernel, TABLE.shape_fn,
                                           TABLE.simple_kernel)

_REAL_OR_COMPLEX = "{bfloat16, half, float, double, complex64, complex128}"
_REAL = "{bfloat16, half, float, double}"
# op type -> (NumPy function, allowed types)
_UNARY = {
    "Sin": (np.sin, _REAL_OR_COMPLEX), "Cos": (np.cos, _REAL_OR_COMPLEX),
    "Tan": (np.tan, _REAL_OR_COMPLEX), "Asin": (np.arcsin, _REAL_OR_COMPLEX),
    "Acos": (np.arccos, _REAL_OR_COMPLEX), "Atan": (np.arctan, _REAL_OR_COMPLEX),
    "Sinh": (np.sinh, _REAL_OR_COMPLEX), "Cosh": (np.cosh, _REAL_OR_COMPLEX),
    "Asinh": (np.arcsinh, _REAL_OR_COMPLEX), "Acosh": (np.arccosh, _REAL_OR_COMPLEX),
    "Atanh": (np.arctanh, _REAL_OR_COMPLEX), "Log1p": (np.log1p, _REAL_OR_COMPLEX),
    "Expm1": (np.expm1, _REAL_OR_COMPLEX),
}
define(
    *[f'{name}(x: T) -> (y: T); T: type {types}' for name, (_, types) in _UNARY.items()],
    f'Erf(x: T) -> (y: T); T: type {_REAL}',
    f'Erfc(x: T) -> (y: T); T: type {_REAL}',
    f'IsFinite(x: T) -> (y: bool); T: type {_REAL}',
    f'IsNan(x: T) -> (y: bool); T: type {_REAL}',
    f'IsInf(x: T) -> (y: bool); T: type {_REAL}',
    'Round(x: T) -> (y: T); T: type {bfloat16, half, float, double, int8, int16, int32, int64, complex64, complex128}',
    'Conj(input: T) -> (output: T); T: type {complex64, complex128, variant} = complex64',
    f'Atan2(y: T, x: T) -> (z: T); T: type {_REAL}',
    'DivNoNan(x: T, y: T) -> (z: T); T: type {half, float, bfloat16, double, complex64, complex128}',
)
# Their outputs are bools: no gradient reaches them.
TABLE.not_differentiable("IsFinite", "IsNan", "IsInf")

_SAME_SHAPE = tuple(_UNARY) + ("Erf", "Erfc", "IsFinite", "IsNan", "IsInf", "Round", "Conj")
shape_fn(*_SAME_SHAPE)(lambda op: [op.inputs[0].shape])
shape_fn("Atan2", "DivNoNan")(shapes.broadcast)

for _name, (_fn, _) in _UNARY.items():
    simple_kernel(_name, _fn)
simple_kernel("IsFinite", np.isfinite)
simple_kernel("IsNan", np.isnan)
simple_kernel("IsInf", np.isinf)
simple_kernel("Atan2", np.arctan2)
# NumPy's round is TensorFlow's: halves go to the even neighbour (2.5 -> 2).
simple_kernel("Round", np.round)
simple_kernel("Conj", np.conj)


def _div_no_nan(x, y):
    """``x / y``, and 0 wherever ``y`` is 0 (even for ``x`` 0, inf or NaN)."""
    out = np.true_divide(x, np.where(y == 0, 1, y))
    return np.where(y == 0, np.zeros((), out.dtype), out)


simple_kernel("DivNoNan", _div_no_nan)

# NumPy has no erf: Python's, exact to the last bit in double precision, applied per element
# (about 0.4 s per million elements); the result is rounded once to the op's type.
_ERF = np.frompyfunc(math.erf, 1, 1)
_ERFC = np.frompyfunc(math.erfc, 1, 1)


def _elementwise(fn, np_type):
    def run(x):
        x = np.asarray(x)
        if x.size == 0:
            return np.zeros(x.shape, np_type)
        return np.asarray(fn(x.astype(np.float64)), dtype=np.float64).astype(np_type)
    return run


@kernel("Erf")
def _erf(op, ctx):
    return _elementwise(_ERF, op.get_attr("T").as_numpy_dtype)


@kernel("Erfc")
def _erfc(op, ctx):
    return _elementwise(_ERFC, op.get_attr("T").as_numpy_dtype)
