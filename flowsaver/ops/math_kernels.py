"""Elementwise arithmetic, comparisons, reductions and matrix products: defs, shapes, kernels."""
from __future__ import annotations

import numpy as np

from flowsaver.ops import shape_util
from flowsaver.ops.registry import define, kernel, shape_fn, simple_kernel

define(
    'AddV2(x: T, y: T) -> (z: T); T: type {bfloat16, half, float, double, uint8, uint16, uint32, uint64, int8, int16, int32, int64, complex64, complex128}; !commutative !aggregate',
    'Sub(x: T, y: T) -> (z: T); T: type {bfloat16, half, float, double, uint8, int8, uint16, int16, int32, int64, complex64, complex128, uint32, uint64}',
    'Mul(x: T, y: T) -> (z: T); T: type {bfloat16, half, float, double, uint8, int8, uint16, int16, int32, uint32, uint64, int64, complex64, complex128}; !commutative',
    'RealDiv(x: T, y: T) -> (z: T); T: type {bfloat16, half, float, double, uint8, int8, uint16, int16, int32, uint32, uint64, int64, complex64, complex128}',
    'MatMul(a: T, b: T) -> (product: T); transpose_a: bool = false; transpose_b: bool = false; T: type {bfloat16, half, float, double, int32, int64, uint8, uint16, uint32, uint64, complex64, complex128}; grad_a: bool = false; grad_b: bool = false',
)

# Binary elementwise ops whose NumPy function keeps the input dtype.
BINARY = {
    "AddV2": np.add,
    "Sub": np.subtract,
    "Mul": np.multiply,
}
for _name, _fn in BINARY.items():
    simple_kernel(_name, _fn)
    shape_fn(_name)(shape_util.broadcast)


@shape_fn("RealDiv")
def _div_shape(op):
    return shape_util.broadcast(op)


@kernel("RealDiv")
def _real_div(op, ctx):
    dtype = op.get_attr("T").as_numpy_dtype
    if np.issubdtype(dtype, np.integer):
        def int_div(x, y):  # C semantics: truncate toward zero
            return (np.trunc(np.true_divide(x, y))).astype(dtype)
        return int_div
    return np.true_divide


@shape_fn("MatMul")
def _matmul_shape(op):
    a, b = op.inputs[0].shape, op.inputs[1].shape
    if a.ndims is None or b.ndims is None:
        return [[None, None]]
    ta, tb = op.get_attr("transpose_a"), op.get_attr("transpose_b")
    if a.ndims != 2 or b.ndims != 2:
        raise ValueError(f"Shape must be rank 2 but is rank {a.ndims if a.ndims != 2 else b.ndims}"
                         f" for '{op.name}' (op: 'MatMul') with input shapes: {a}, {b}.")
    rows, inner_a = (a.as_list()[::-1] if ta else a.as_list())
    inner_b, cols = (b.as_list()[::-1] if tb else b.as_list())
    if inner_a is not None and inner_b is not None and inner_a != inner_b:
        raise ValueError(f"Dimensions must be equal, but are {inner_a} and {inner_b} for "
                         f"'{op.name}' (op: 'MatMul') with input shapes: {a}, {b}.")
    return [[rows, cols]]


@kernel("MatMul")
def _matmul(op, ctx):
    ta, tb = op.get_attr("transpose_a"), op.get_attr("transpose_b")
    if not ta and not tb:
        return np.matmul
    return lambda a, b: np.matmul(a.T if ta else a, b.T if tb else b)
