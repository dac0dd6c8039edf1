"""Elementwise arithmetic, comparisons, logic, casts and matrix products: defs, shapes, kernels.

Every kernel builder picks a plain NumPy callable from the op's attrs once, so that the
executor's loop calls NumPy directly. Outputs keep TensorFlow's dtypes: NumPy ufuncs on two
arrays of one dtype return that dtype, and the few ops where NumPy would widen say so.
"""
from __future__ import annotations

import functools
import operator

import numpy as np

from flowsaver import errors
from flowsaver.graph.tensor_shape import TensorShape
from flowsaver.ops import blas_threads, donation, shapes
from flowsaver.ops.registry import PYTHON_CONSTANT, OpTable

TABLE = OpTable(__name__)
define, kernel, shape_fn, simple_kernel = (
    TABLE.define, TABLE.kernel, TABLE.shape_fn, TABLE.simple_kernel)

define(
    'AddV2(x: T, y: T) -> (z: T); T: type {bfloat16, half, float, double, uint8, uint16, uint32, uint64, int8, int16, int32, int64, complex64, complex128}; !commutative !aggregate',
    'Sub(x: T, y: T) -> (z: T); T: type {bfloat16, half, float, double, uint8, int8, uint16, int16, int32, int64, complex64, complex128, uint32, uint64}',
    'Mul(x: T, y: T) -> (z: T); T: type {bfloat16, half, float, double, uint8, int8, uint16, int16, int32, uint32, uint64, int64, complex64, complex128}; !commutative',
    'RealDiv(x: T, y: T) -> (z: T); T: type {bfloat16, half, float, double, uint8, int8, uint16, int16, int32, uint32, uint64, int64, complex64, complex128}',
    'FloorDiv(x: T, y: T) -> (z: T); T: type {bfloat16, half, float, double, uint8, int8, uint16, int16, int32, uint32, uint64, int64, complex64, complex128}',
    'FloorMod(x: T, y: T) -> (z: T); T: type {int8, int16, int32, int64, uint8, uint16, uint32, uint64, bfloat16, half, float, double}',
    'Pow(x: T, y: T) -> (z: T); T: type {bfloat16, float, half, double, int8, int16, int32, int64, complex64, complex128}',
    'Maximum(x: T, y: T) -> (z: T); T: type {bfloat16, half, float, double, int8, uint8, int16, uint16, int32, uint32, int64, uint64}',
    'Minimum(x: T, y: T) -> (z: T); T: type {bfloat16, half, float, double, int8, uint8, int16, uint16, int32, uint32, int64, uint64}',
    'SquaredDifference(x: T, y: T) -> (z: T); T: type {bfloat16, half, float, double, int32, int64, complex64, complex128}; !commutative',
    'Neg(x: T) -> (y: T); T: type {bfloat16, half, float, double, int8, int16, int32, int64, complex64, complex128}',
    'Abs(x: T) -> (y: T); T: type {bfloat16, half, float, double, int8, int16, int32, int64}',
    'Square(x: T) -> (y: T); T: type {bfloat16, half, float, double, int8, int16, int32, int64, uint8, uint16, uint32, uint64, complex64, complex128}',
    'Sqrt(x: T) -> (y: T); T: type {bfloat16, half, float, double, complex64, complex128}',
    'Floor(x: T) -> (y: T); T: type {bfloat16, half, float, double}',
    'Ceil(x: T) -> (y: T); T: type {bfloat16, half, float, double}',
    'Rsqrt(x: T) -> (y: T); T: type {bfloat16, half, float, double, complex64, complex128}',
    'Exp(x: T) -> (y: T); T: type {bfloat16, half, float, double, complex64, complex128}',
    'Log(x: T) -> (y: T); T: type {bfloat16, half, float, double, complex64, complex128}',
    'Sigmoid(x: T) -> (y: T); T: type {bfloat16, half, float, double, complex64, complex128}',
    'Tanh(x: T) -> (y: T); T: type {bfloat16, half, float, double, complex64, complex128}',
    'Sign(x: T) -> (y: T); T: type {bfloat16, half, float, double, int8, int16, int32, int64, complex64, complex128}',
    'Reciprocal(x: T) -> (y: T); T: type {bfloat16, half, float, double, int8, int16, int32, int64, complex64, complex128}',
    'Equal(x: T, y: T) -> (z: bool); T: type; incompatible_shape_error: bool = true; !commutative',
    'NotEqual(x: T, y: T) -> (z: bool); T: type; incompatible_shape_error: bool = true; !commutative',
    'Less(x: T, y: T) -> (z: bool); T: type {float, double, int32, uint8, int16, int8, int64, bfloat16, uint16, half, uint32, uint64}',
    'LessEqual(x: T, y: T) -> (z: bool); T: type {float, double, int32, uint8, int16, int8, int64, bfloat16, uint16, half, uint32, uint64}',
    'Greater(x: T, y: T) -> (z: bool); T: type {float, double, int32, uint8, int16, int8, int64, bfloat16, uint16, half, uint32, uint64}',
    'GreaterEqual(x: T, y: T) -> (z: bool); T: type {float, double, int32, uint8, int16, int8, int64, bfloat16, uint16, half, uint32, uint64}',
    'LogicalNot(x: bool) -> (y: bool)',
    'LogicalAnd(x: bool, y: bool) -> (z: bool); !commutative',
    'LogicalOr(x: bool, y: bool) -> (z: bool); !commutative',
    'Cast(x: SrcT) -> (y: DstT); SrcT: type; DstT: type; Truncate: bool = false',
    'AddN(inputs: N * T) -> (sum: T); N: int >= 1; T: type {float, double, int32, uint8, int16, int8, complex64, int64, qint8, quint8, qint32, bfloat16, qint16, quint16, uint16, complex128, half, uint32, uint64, variant}; !commutative !aggregate',
    'MatMul(a: T, b: T) -> (product: T); transpose_a: bool = false; transpose_b: bool = false; T: type {bfloat16, half, float, double, int32, int64, uint8, uint16, uint32, uint64, complex64, complex128}; grad_a: bool = false; grad_b: bool = false',
)
TABLE.mark(PYTHON_CONSTANT, "Cast", "Equal", "NotEqual")

_SIGNED = {"int8", "int16", "int32", "int64"}
_UNSIGNED = {"uint8", "uint16", "uint32", "uint64"}
_COMPLEX = {"complex64", "complex128"}
# Types an op's definition allows but TensorFlow's CPU build has no kernel for: running such
# a node fails in TensorFlow at Session.run, and so it does here.
NO_KERNEL = {
    "RealDiv": _SIGNED | _UNSIGNED,
    "FloorDiv": _COMPLEX,
    "Reciprocal": _SIGNED,
    "MatMul": _UNSIGNED,
}


def no_kernel(op, attr: str = "T"):
    """Raise TensorFlow's error for a node whose type has no CPU kernel."""
    dtype = op.get_attr(attr)
    raise errors.InvalidArgumentError(
        op.node_def, op, f"No OpKernel was registered to support Op '{op.type}' used by "
                         f"{{{{node {op.name}}}}} with these attrs: [{attr}={dtype.proto_name}]")


def _dtype(op, attr: str = "T"):
    """The op's type attr, after refusing types TensorFlow has no kernel for."""
    dtype = op.get_attr(attr)
    if dtype.name in NO_KERNEL.get(op.type, ()):
        no_kernel(op, attr)
    return dtype


# ---- shapes ------------------------------------------------------------------------------------
_BINARY = ("AddV2", "Sub", "Mul", "RealDiv", "FloorDiv", "FloorMod", "Pow", "Maximum",
           "Minimum", "SquaredDifference", "Less", "LessEqual", "Greater", "GreaterEqual",
           "LogicalAnd", "LogicalOr")
_UNARY = ("Neg", "Abs", "Square", "Sqrt", "Rsqrt", "Exp", "Log", "Sigmoid", "Tanh", "Sign",
          "Reciprocal", "LogicalNot", "Cast", "Floor", "Ceil")
shape_fn(*_BINARY)(shapes.broadcast)


@shape_fn(*_UNARY)
def _same_shape(op):
    return [op.inputs[0].shape]


@shape_fn("Equal", "NotEqual")
def _equal_shape(op):
    try:
        return shapes.broadcast(op)
    except ValueError:
        if op.get_attr("incompatible_shape_error"):
            raise
        return [TensorShape(None)]  # shapes that do not broadcast compare as one bool


@shape_fn("AddN")
def _add_n_shape(op):
    shape = TensorShape(None)
    for t in op.inputs:
        try:
            shape = shape.merge_with(t.shape)
        except ValueError as e:
            raise ValueError(f"{e} for '{op.name}' (op: 'AddN') with input shapes: "
                             f"{', '.join(str(i.shape) for i in op.inputs)}.") from None
    return [shape]


@shape_fn("MatMul")
def _matmul_shape(op):
    a, b = op.inputs[0].shape, op.inputs[1].shape
    for s in (a, b):
        if s.ndims is not None and s.ndims != 2:
            raise ValueError(f"Shape must be rank 2 but is rank {s.ndims} for '{op.name}' "
                             f"(op: 'MatMul') with input shapes: {a}, {b}.")
    if a.ndims is None or b.ndims is None:
        rows = None if a.ndims is None else a.as_list()[1 if op.get_attr("transpose_a") else 0]
        cols = None if b.ndims is None else b.as_list()[0 if op.get_attr("transpose_b") else 1]
        return [[rows, cols]]
    rows, inner_a = a.as_list()[::-1] if op.get_attr("transpose_a") else a.as_list()
    inner_b, cols = b.as_list()[::-1] if op.get_attr("transpose_b") else b.as_list()
    if inner_a is not None and inner_b is not None and inner_a != inner_b:
        raise ValueError(f"Dimensions must be equal, but are {inner_a} and {inner_b} for "
                         f"'{op.name}' (op: 'MatMul') with input shapes: {a}, {b}.")
    return [[rows, cols]]


# ---- kernels that are one NumPy ufunc ---------------------------------------------------------
for _name, _fn in {"Pow": np.power,
                   "Less": np.less, "LessEqual": np.less_equal, "Greater": np.greater,
                   "GreaterEqual": np.greater_equal, "LogicalAnd": np.logical_and,
                   "LogicalOr": np.logical_or, "LogicalNot": np.logical_not,
                   "Sign": np.sign, "Abs": np.abs, "Floor": np.floor, "Ceil": np.ceil}.items():
    simple_kernel(_name, _fn)


def _binary_over_inputs(ufunc):
    """``ufunc(x, y)``, written over a float input the plan hands over when it has the
    result's shape and dtype (``donation``)."""
    def run(x, y):
        out = None
        if (type(x) is np.ndarray and type(y) is np.ndarray and x.dtype == y.dtype
                and x.dtype.kind == "f" and max(x.size, y.size) >= donation.MIN_ELEMENTS):
            try:
                shape = x.shape if x.shape == y.shape else np.broadcast_shapes(x.shape, y.shape)
            except ValueError:   # the ufunc below reports it in its own words
                shape = None
            if shape is not None:
                out = donation.output_over(x, shape, x.dtype)
                if out is None:
                    out = donation.output_over(y, shape, y.dtype)
        return ufunc(x, y) if out is None else ufunc(x, y, out=out)
    return run


def _unary_over_input(ufunc):
    """``ufunc(x)``, written over a float ``x`` the plan hands over (``donation``)."""
    def run(x):
        out = None
        if type(x) is np.ndarray and x.dtype.kind == "f":
            out = donation.output_over(x, x.shape, x.dtype)
        return ufunc(x) if out is None else ufunc(x, out=out)
    return run


def _elementwise(ufunc, over_inputs):
    """A kernel builder: the bare ufunc where the output is known to be small (no check
    per call: an LSTM step runs thousands), else ``over_inputs(ufunc)``."""
    fast, reusing = ufunc, over_inputs(ufunc)

    def build(op, ctx):
        elements = op.outputs[0].shape.num_elements()
        return fast if elements is not None and elements < donation.MIN_ELEMENTS else reusing
    return build


for _name, _fn in {"AddV2": np.add, "Sub": np.subtract, "Mul": np.multiply,
                   "Maximum": np.maximum, "Minimum": np.minimum}.items():
    kernel(_name)(_elementwise(_fn, _binary_over_inputs))
for _name, _fn in {"Neg": np.negative, "Square": np.square, "Sqrt": np.sqrt, "Exp": np.exp,
                   "Log": np.log, "Tanh": np.tanh}.items():
    kernel(_name)(_elementwise(_fn, _unary_over_input))
_true_divide = _elementwise(np.true_divide, _binary_over_inputs)


@kernel("RealDiv")
def _real_div(op, ctx):
    _dtype(op)
    return _true_divide(op, ctx)


def _check_int_divisor(fn):
    """Wrap an integer division: TensorFlow fails on a zero divisor where NumPy gives 0.

    Only divisions actually done count: with an empty operand the output is empty and
    TensorFlow divides nothing, so a zero divisor there (``[] % 0``, as the gradient of a
    reduction over a scalar builds) is no error.
    """
    def run(x, y):
        if not y.all() and np.size(x):
            raise errors.InvalidArgumentError("Integer division by zero")
        return fn(x, y)
    return run


def _float_floor_div(x, y):
    # TensorFlow floors the quotient (1.0 // 0.1 is 10); NumPy's floor_divide, exact, gives 9.
    return np.floor(np.true_divide(x, y))


@kernel("FloorDiv")
def _floor_div(op, ctx):
    dtype = _dtype(op)
    return _check_int_divisor(np.floor_divide) if dtype.is_integer else _float_floor_div


@kernel("FloorMod")
def _floor_mod(op, ctx):
    # NumPy's remainder takes the divisor's sign, as TensorFlow's FloorMod does.
    return _check_int_divisor(np.remainder) if op.get_attr("T").is_integer else np.remainder


@kernel("SquaredDifference")
def _squared_difference(op, ctx):
    if op.get_attr("T").is_complex:
        def complex_run(x, y):
            d = np.subtract(x, y)
            return d * np.conj(d)
        return complex_run
    return lambda x, y: np.square(np.subtract(x, y))


@kernel("Equal", "NotEqual")
def _equality(op, ctx):
    fn = np.equal if op.type == "Equal" else np.not_equal
    if op.get_attr("incompatible_shape_error"):
        return fn
    mismatch = np.bool_(op.type != "Equal")

    def lenient(x, y):
        try:
            return fn(x, y)
        except ValueError:
            return mismatch
    return lenient


# ---- unary kernels -----------------------------------------------------------------------------
@kernel("Rsqrt")
def _rsqrt(op, ctx):
    one = op.get_attr("T").as_numpy_dtype(1)
    return lambda x: one / np.sqrt(x)


@kernel("Reciprocal")
def _reciprocal(op, ctx):
    _dtype(op)
    one = op.get_attr("T").as_numpy_dtype(1)
    return lambda x: one / x


# The largest -x whose exp still fits the type: clipping there keeps 1 / (1 + exp(-x)) free of
# overflow; the result, below the type's smallest normal, is what TensorFlow gives.
_SIGMOID_CLIP = {"float16": 11.0, "bfloat16": 88.0, "float32": 88.0, "float64": 709.0}


@kernel("Sigmoid")
def _sigmoid(op, ctx):
    dtype = op.get_attr("T")
    np_type = dtype.as_numpy_dtype
    one = np_type(1)
    if dtype.is_complex:
        return lambda x: one / (one + np.exp(np.negative(x)))
    clip = np_type(_SIGMOID_CLIP[dtype.name])

    def sigmoid(x):
        # 1 / (1 + exp(min(-x, clip))), the same steps in one buffer (an LSTM step's gates):
        # x's own when the plan hands it over (``donation``)
        t = donation.output_over(x, np.shape(x), np_type)
        t = np.negative(x, out=np.empty(np.shape(x), np_type) if t is None else t)
        np.minimum(t, clip, out=t)
        np.exp(t, out=t)
        t += one
        return np.divide(one, t, out=t)
    return sigmoid


# ---- casts and sums ----------------------------------------------------------------------------
@kernel("Cast")
def _cast(op, ctx):
    src, dst = op.get_attr("SrcT"), op.get_attr("DstT")
    np_dst = dst.as_numpy_dtype
    if src.is_complex and not dst.is_complex:
        if dst.is_bool:
            return lambda x: np.not_equal(x, 0)
        return lambda x: np.real(x).astype(np_dst)
    if src.is_floating and (dst.is_integer or dst.is_unsigned):
        def float_to_int(x):  # NaN and out-of-range values wrap as in C, quietly
            with np.errstate(invalid="ignore", over="ignore"):
                return np.asarray(x).astype(np_dst)
        return float_to_int
    return lambda x: np.asarray(x).astype(np_dst)


@kernel("AddN")
def _add_n(op, ctx):
    if op.get_attr("T").name == "variant":  # variant values (TensorLists) add themselves
        return lambda first, *rest: functools.reduce(operator.add, rest, first)
    if op.get_attr("N") == 1:
        return np.copy

    def add_n(first, *rest):
        total = first + rest[0]  # a new array: the adds after it may write into it
        for x in rest[1:]:
            total += x
        return total
    return add_n


@kernel("MatMul")
def _matmul(op, ctx):
    _dtype(op)
    ta, tb = op.get_attr("transpose_a"), op.get_attr("transpose_b")
    if not ta and not tb:
        return blas_threads.matmul
    return lambda a, b: blas_threads.matmul(a.T if ta else a, b.T if tb else b)
