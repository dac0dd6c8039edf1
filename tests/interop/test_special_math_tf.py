"""Trigonometric, hyperbolic and special functions against real TensorFlow: GraphDefs,
outputs over each function's domain (and outside it: NaN as in TensorFlow), every float
dtype, and the gradient graphs and values."""
from __future__ import annotations

import numpy as np
import pytest

from rows import arr, check_build_error, check_row, row

F16, F32, F64 = np.float16, np.float32, np.float64
ANY = arr(2, 3)
UNIT = arr(2, 3, low=-0.95, high=0.95)          # inside (-1, 1)
ABOVE_ONE = arr(2, 3, low=1.1, high=3.0)         # acosh's domain
WIDE = np.array([[-40.0, -3.5, -1e-4, 0.0], [1e-5, 0.5, 3.0, 40.0]], F32)  # erf, expm1 ...
EDGES = np.array([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, np.inf, -np.inf, np.nan], F32)
HALVES = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.49, -3.51], F32)

UNARY = [
    ("sin", ANY), ("cos", ANY), ("tan", UNIT), ("asin", UNIT), ("acos", UNIT), ("atan", ANY),
    ("sinh", ANY), ("cosh", ANY), ("asinh", ANY), ("acosh", ABOVE_ONE), ("atanh", UNIT),
    ("erf", ANY), ("erfc", ANY), ("log1p", arr(2, 3, low=-0.9, high=3.0)), ("expm1", ANY),
]
ROWS = []
for _name, _x in UNARY:
    ROWS.append(row(_name, lambda api, x, n=_name: getattr(api, n)(x), [_x], grad=True))
    ROWS.append(row(f"{_name}-f64", lambda api, x, n=_name: getattr(api.math, n)(x, name="f"),
                    [_x.astype(F64)], grad=True))
    ROWS.append(row(f"{_name}-f16", lambda api, x, n=_name: getattr(api, n)(x),
                    [_x.astype(F16)]))
    ROWS.append(row(f"{_name}-python", lambda api, n=_name: getattr(api, n)(0.5)))
    ROWS.append(row(f"{_name}-edges", lambda api, x, n=_name: getattr(api, n)(x), [EDGES]))
ROWS += [
    row("erf-wide", lambda api, x: [api.erf(x), api.math.erfc(x), api.math.expm1(x),
                                    api.math.log1p(api.abs(x))], [WIDE]),
    row("erf-f64-wide", lambda api, x: [api.erf(x), api.erfc(x)], [WIDE.astype(F64)]),
    row("erf-empty", lambda api, x: api.erf(x), [np.zeros((0, 2), F32)]),
    row("gelu", lambda api, x: 0.5 * x * (1.0 + api.erf(x / np.sqrt(2.0).astype(F32))),
        [arr(3, 4)], grad=True),
    row("atan2", lambda api, y, x: [api.atan2(y, x), api.math.atan2(x, y, name="a")],
        [ANY, arr(3)], grad=True),
    row("atan2-python", lambda api, x: [api.atan2(1.0, x), api.atan2(x, -1.0)], [ANY]),
    row("atan2-quadrants", lambda api, y, x: api.atan2(y, x),
        [np.array([0.0, 0.0, 1.0, -1.0, -0.0, 2.0], F64),
         np.array([1.0, -1.0, 0.0, 0.0, -1.0, np.inf], F64)]),
    row("classify", lambda api, x: [api.is_finite(x), api.is_nan(x), api.math.is_inf(x)],
        [EDGES]),
    row("round", lambda api, x, i: [api.round(x), api.round(i), api.round(2.5),
                                    api.math.round(x, name="r")],
        [HALVES, np.array([1, -2], np.int32)]),
    row("round-f64", lambda api, x: api.round(x), [HALVES.astype(F64)]),
    row("conj", lambda api, x: [api.math.conj(x), api.conj(x) * 2.0], [ANY], grad=True),
    row("trig-chain", lambda api, x: api.sin(api.cos(x)) * api.tan(x * 0.3)
        + api.atan(api.sinh(x)) - api.asinh(api.cosh(x)), [ANY], grad=True),
    row("inverse-trig-chain", lambda api, x: api.asin(x) + api.acos(x * 0.5)
        + api.atanh(x * 0.9) + api.acosh(2.0 + x), [UNIT], grad=True),
    row("unknown-shape", lambda api, x: [api.sin(x), api.erf(x), api.atan2(x, x)], [ANY],
        [None], grad=True),
]


@pytest.mark.parametrize("fn,inputs,shapes,grad,rtol", ROWS)
def test_op_matches_tensorflow(tf, fn, inputs, shapes, grad, rtol):
    check_row(tf, fn, inputs, shapes, grad, rtol)


BUILD_ERRORS = [
    ("sin-int", lambda api: api.sin(api.placeholder(np.int32, [2])), TypeError),
    ("erf-complex", lambda api: api.erf(api.placeholder(np.complex64, [2])), TypeError),
    ("atan2-shapes", lambda api: api.atan2(api.placeholder(F32, [2]),
                                           api.placeholder(F32, [3])), ValueError),
    ("is_nan-int", lambda api: api.is_nan(api.placeholder(np.int64, [2])), TypeError),
]


@pytest.mark.parametrize("build,error", [pytest.param(b, e, id=n) for n, b, e in BUILD_ERRORS])
def test_build_errors_match_tensorflow(tf, build, error):
    check_build_error(tf, build, error)
