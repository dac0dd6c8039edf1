"""Public math functions (``tf.add``, ``tf.cast``, ``tf.matmul``, ...), named as TensorFlow names them.

Reductions, ``argmax``/``argmin`` and ``range`` live in ``math_reduce_ops`` and are re-exported
here. Naming follows TensorFlow's wrappers: a function opens the scope ``name or Default``,
Python operands become ``<scope>/x`` / ``<scope>/y`` constants of the tensor operand's dtype,
and the op takes exactly the scope's name.
"""
from __future__ import annotations

from flowsaver.graph.attr_value import as_dtype
from flowsaver.graph.operation import Tensor
from flowsaver.ops.op_builder import convert_to_tensor, create_op, graph_of

# truediv casts integers to a float wide enough for them, as Python 3 division does.
_TRUEDIV_FLOAT = {"int8": "float32", "uint8": "float32", "int16": "float32",
                  "uint16": "float32", "int32": "float64", "uint32": "float64",
                  "int64": "float64", "uint64": "float64"}


def is_tensor_like(value) -> bool:
    """A Tensor, or an object standing for one in the graph (a Variable)."""
    return isinstance(value, Tensor) or hasattr(value, "_as_graph_element")


def _base(value):
    return value.dtype.base_dtype


def convert_pair(op_type: str, x, y, reverse: bool = False):
    """``x`` and ``y`` as tensors of one dtype, converted in the current scope as ``x``/``y``.

    The operand converted first decides the dtype: ``x``, or ``y`` when ``reverse`` (the
    reflected operator ``2 * t``).

    Raises:
      TypeError: the operands are tensors of different dtypes.
    """
    if reverse:
        y = convert_to_tensor(y, name="y")
        _check_same(op_type, x, y, "x")
        x = convert_to_tensor(x, dtype=_base(y), name="x")
    else:
        x = convert_to_tensor(x, name="x")
        _check_same(op_type, y, x, "y")
        y = convert_to_tensor(y, dtype=_base(x), name="y")
    return x, y


def _check_same(op_type, value, other, arg):
    if is_tensor_like(value) and _base(value) != _base(other):
        first = "y" if arg == "x" else "x"
        raise TypeError(f"Input '{arg}' of '{op_type}' Op has type {_base(value).name} that "
                        f"does not match type {_base(other).name} of argument '{first}'.")


def binary(op_type: str, x, y, name, default_name: str, reverse: bool = False):
    """A binary op under scope ``name or default_name``; Python values take the tensor's dtype.

    Python operands become ``<scope>/x`` and ``<scope>/y`` constants, as in TensorFlow.
    """
    g = graph_of([x, y])
    with g.as_default(), g.name_scope(name or default_name) as scope:
        x, y = convert_pair(op_type, x, y, reverse)
        return create_op(op_type, [x, y], name=scope)


def unary(op_type: str, x, name, default_name: str | None = None):
    """A one-input op under scope ``name or default_name``; a Python ``x`` is ``<scope>/x``."""
    g = graph_of([x])
    with g.as_default(), g.name_scope(name or default_name or op_type) as scope:
        x = convert_to_tensor(x, name="x")
        return create_op(op_type, [x], name=scope)


# ---- arithmetic --------------------------------------------------------------------------------
def add(x, y, name=None):
    """``x + y`` elementwise with broadcasting (``AddV2``)."""
    return binary("AddV2", x, y, name, "Add")


def subtract(x, y, name=None):
    """``x - y`` elementwise (``Sub``)."""
    return binary("Sub", x, y, name, "Sub")


def multiply(x, y, name=None):
    """``x * y`` elementwise (``Mul``)."""
    return binary("Mul", x, y, name, "Mul")


def truediv(x, y, name=None):
    """``x / y`` as Python 3 divides: integers are cast to float first (``RealDiv``)."""
    g = graph_of([x, y])
    with g.as_default(), g.name_scope(name or "truediv") as scope:
        x = convert_to_tensor(x, name="x")
        y = convert_to_tensor(y, preferred_dtype=_base(x), name="y")
        if _base(x) != _base(y):
            raise TypeError(f"`x` and `y` must have the same dtype, got {_base(x)!r} != "
                            f"{_base(y)!r}.")
        dtype = _base(x)
        if not (dtype.is_floating or dtype.is_complex or dtype.is_integer):
            raise TypeError(f"Invalid dtype {dtype!r} in __truediv__. Expected one of "
                            f"{{tf.uint8, tf.int8, tf.uint16, tf.int16, tf.uint32, tf.int32, "
                            f"tf.uint64, tf.int64, tf.bfloat16, tf.float16, tf.float32, "
                            f"tf.float64, tf.complex64, tf.complex128}}.")
        if dtype.is_integer:
            x = cast(x, _TRUEDIV_FLOAT[dtype.name])
            y = cast(y, _TRUEDIV_FLOAT[dtype.name])
        return create_op("RealDiv", [x, y], name=scope)


def divide(x, y, name=None):
    """``x / y`` (``tf.divide``): ``truediv`` under ``name``, else the ``/`` operator."""
    if name is not None:
        return truediv(x, y, name=name)
    if not is_tensor_like(x):
        g = graph_of([y])
        with g.as_default():
            x = convert_to_tensor(x, dtype=_base(y) if is_tensor_like(y) else None)
    return x / y


def realdiv(x, y, name=None):
    """``x / y`` for floats, without truediv's casts (``RealDiv``)."""
    return binary("RealDiv", x, y, name, "RealDiv")


def div(x, y, name=None):
    """TF1 ``tf.div``: ``RealDiv`` for floats, floor division (``FloorDiv``) for integers."""
    g = graph_of([x, y])
    with g.as_default(), g.name_scope(name or "div") as scope:
        x, y = convert_pair("Div", x, y)
        op_type = "RealDiv" if _base(x).is_floating or _base(x).is_complex else "FloorDiv"
        return create_op(op_type, [x, y], name=scope)


def floordiv(x, y, name=None):
    """``x // y``, rounding toward negative infinity (``FloorDiv``)."""
    return binary("FloorDiv", x, y, name, "floordiv")


def floor_div(x, y, name=None):
    """The raw ``FloorDiv`` op, named after it."""
    return binary("FloorDiv", x, y, name, "FloorDiv")


def floormod(x, y, name=None):
    """``x % y`` with the divisor's sign, as Python's ``%`` (``FloorMod``)."""
    return binary("FloorMod", x, y, name, "FloorMod")


mod = floormod


def pow(x, y, name=None):  # noqa: A001 - TensorFlow's name
    """``x ** y`` elementwise (``Pow``)."""
    return binary("Pow", x, y, name, "Pow")


def maximum(x, y, name=None):
    """The larger of ``x`` and ``y`` elementwise (``Maximum``)."""
    return binary("Maximum", x, y, name, "Maximum")


def minimum(x, y, name=None):
    """The smaller of ``x`` and ``y`` elementwise (``Minimum``)."""
    return binary("Minimum", x, y, name, "Minimum")


def squared_difference(x, y, name=None):
    """``(x - y) ** 2`` elementwise (``SquaredDifference``)."""
    return binary("SquaredDifference", x, y, name, "SquaredDifference")


def add_n(inputs, name=None):
    """The sum of a list of tensors of one shape and dtype (``AddN``)."""
    if not isinstance(inputs, (list, tuple)):
        inputs = list(inputs)
    if not inputs:
        raise ValueError("Inputs must be an iterable of at least one Tensor/IndexedSlices "
                         "with the same dtype and shape.")
    g = graph_of(inputs)
    with g.as_default():
        values = [convert_to_tensor(v) for v in inputs]
        if len({_base(v) for v in values}) > 1:
            raise TypeError(f"Tensors in list passed to 'inputs' of 'AddN' Op have types "
                            f"[{', '.join(_base(v).name for v in values)}] that don't all "
                            f"match.")
        if len(values) == 1:
            if name:
                return create_op("Identity", [values[0]], name=name)
            return values[0]
        return create_op("AddN", [values], name=name)


# ---- unary functions ---------------------------------------------------------------------------
def negative(x, name=None):
    """``-x`` (``Neg``)."""
    return unary("Neg", x, name)


def abs(x, name=None):  # noqa: A001
    """``|x|`` (``Abs``)."""
    return unary("Abs", x, name)


def square(x, name=None):
    """``x * x`` (``Square``)."""
    return unary("Square", x, name)


def floor(x, name=None):
    """Largest integer not greater than x, elementwise (``Floor``)."""
    return unary("Floor", x, name)


def ceil(x, name=None):
    """Smallest integer not less than x, elementwise (``Ceil``)."""
    return unary("Ceil", x, name)


def sqrt(x, name=None):
    """Square root (``Sqrt``)."""
    return unary("Sqrt", x, name)


def rsqrt(x, name=None):
    """``1 / sqrt(x)`` (``Rsqrt``)."""
    return unary("Rsqrt", x, name)


def exp(x, name=None):
    """``e ** x`` (``Exp``)."""
    return unary("Exp", x, name)


def log(x, name=None):
    """Natural logarithm (``Log``)."""
    return unary("Log", x, name)


def sigmoid(x, name=None):
    """``1 / (1 + exp(-x))`` (``Sigmoid``)."""
    return unary("Sigmoid", x, name)


def tanh(x, name=None):
    """Hyperbolic tangent (``Tanh``)."""
    return unary("Tanh", x, name)


def sign(x, name=None):
    """-1, 0 or 1 by the sign of ``x`` (``Sign``); a Python ``x`` is a plain ``Const``."""
    g = graph_of([x])
    with g.as_default():
        return create_op("Sign", [convert_to_tensor(x)], name=name)


def reciprocal(x, name=None):
    """``1 / x`` (``Reciprocal``)."""
    return unary("Reciprocal", x, name)


# ---- comparisons and logic ---------------------------------------------------------------------
def equal(x, y, name=None):
    """``x == y`` elementwise, a bool tensor (``Equal``)."""
    return binary("Equal", x, y, name, "Equal")


def not_equal(x, y, name=None):
    """``x != y`` elementwise (``NotEqual``)."""
    return binary("NotEqual", x, y, name, "NotEqual")


def less(x, y, name=None):
    """``x < y`` elementwise (``Less``)."""
    return binary("Less", x, y, name, "Less")


def less_equal(x, y, name=None):
    """``x <= y`` elementwise (``LessEqual``)."""
    return binary("LessEqual", x, y, name, "LessEqual")


def greater(x, y, name=None):
    """``x > y`` elementwise (``Greater``)."""
    return binary("Greater", x, y, name, "Greater")


def greater_equal(x, y, name=None):
    """``x >= y`` elementwise (``GreaterEqual``)."""
    return binary("GreaterEqual", x, y, name, "GreaterEqual")


def _require_bool(op_type: str, **tensors) -> None:
    for arg, t in tensors.items():
        if is_tensor_like(t) and not _base(t).is_bool:
            raise TypeError(f"Input '{arg}' of '{op_type}' Op has type {_base(t).name} that "
                            f"does not match expected type of bool.")


def logical_not(x, name=None):
    """Elementwise NOT of a bool tensor (``LogicalNot``)."""
    _require_bool("LogicalNot", x=x)
    return unary("LogicalNot", x, name)


def logical_and(x, y, name=None):
    """Elementwise AND of bool tensors (``LogicalAnd``)."""
    _require_bool("LogicalAnd", x=x, y=y)
    return binary("LogicalAnd", x, y, name, "LogicalAnd")


def logical_or(x, y, name=None):
    """Elementwise OR of bool tensors (``LogicalOr``)."""
    _require_bool("LogicalOr", x=x, y=y)
    return binary("LogicalOr", x, y, name, "LogicalOr")


def logical_xor(x, y, name="LogicalXor"):
    """Elementwise XOR, built as TensorFlow builds it: ``(x | y) & ~(x & y)``."""
    return logical_and(logical_or(x, y), logical_not(logical_and(x, y)), name=name)


# ---- casts -------------------------------------------------------------------------------------
def cast(x, dtype, name=None):
    """``x`` as ``dtype`` (``Cast``); a tensor already of ``dtype`` is returned as it is."""
    base = as_dtype(dtype).base_dtype
    if isinstance(x, Tensor) and x.dtype == base:
        return x
    if getattr(type(x), "reads_where_converted", False) and x.dtype == base:
        return x  # as TensorFlow: read later, where the consumer converts it
    g = graph_of([x])
    with g.as_default(), g.name_scope(name or "Cast") as scope:
        x = convert_to_tensor(x, name="x")
        if x.dtype == base:
            return x
        return create_op("Cast", [x], {"DstT": base}, name=scope)


def to_float(x, name="ToFloat"):
    """TF1 ``tf.to_float``: ``cast(x, float32)``."""
    return cast(x, "float32", name=name)


def to_double(x, name="ToDouble"):
    """TF1 ``tf.to_double``: ``cast(x, float64)``."""
    return cast(x, "float64", name=name)


def to_int32(x, name="ToInt32"):
    """TF1 ``tf.to_int32``: ``cast(x, int32)``."""
    return cast(x, "int32", name=name)


def to_int64(x, name="ToInt64"):
    """TF1 ``tf.to_int64``: ``cast(x, int64)``."""
    return cast(x, "int64", name=name)


# ---- matrices ----------------------------------------------------------------------------------
def _conj(x):
    """``x`` conjugated: an op only for complex tensors (``Conj``)."""
    if not x.dtype.base_dtype.is_complex:
        return x
    with x.graph.name_scope("Conj") as scope:
        return create_op("Conj", [x], name=scope)


def matmul(a, b, transpose_a=False, transpose_b=False, adjoint_a=False, adjoint_b=False,
           a_is_sparse=False, b_is_sparse=False, output_type=None, grad_a=False,
           grad_b=False, name=None):
    """Matrix product (``MatMul``); of batches of matrices, broadcast, when either operand
    may have more than two dimensions (``BatchMatMulV2``).

    Raises:
      ValueError: both ``transpose_a`` and ``adjoint_a`` (or the ``b`` pair) are set.
    """
    g = graph_of([a, b])
    with g.as_default(), g.name_scope(name or "MatMul") as scope:
        for arg, transpose, adjoint in (("a", transpose_a, adjoint_a),
                                        ("b", transpose_b, adjoint_b)):
            if transpose and adjoint:
                raise ValueError(f"Only one of `transpose_{arg}` and `adjoint_{arg}` can be "
                                 f"True. Received `transpose_{arg}`={transpose}, "
                                 f"`adjoint_{arg}`={adjoint}.")
        a = convert_to_tensor(a, name="a")
        b = convert_to_tensor(b, dtype=a.dtype.base_dtype, name="b")
        ranks = (a.shape.ndims, b.shape.ndims)
        if any(r is None or r > 2 for r in ranks) and not (a_is_sparse or b_is_sparse):
            # BatchMatMulV2 has adjoints only: a transpose is the adjoint of the conjugate
            if transpose_a:
                a, adjoint_a = _conj(a), True
            if transpose_b:
                b, adjoint_b = _conj(b), True
            return create_op("BatchMatMulV2", [a, b], {
                "adj_x": adjoint_a, "adj_y": adjoint_b, "grad_x": grad_a, "grad_y": grad_b},
                name=scope)
        if adjoint_a:
            a, transpose_a = _conj(a), True
        if adjoint_b:
            b, transpose_b = _conj(b), True
        return create_op("MatMul", [a, b], {"transpose_a": transpose_a,
                                            "transpose_b": transpose_b,
                                            "grad_a": grad_a, "grad_b": grad_b},
                         name=scope)
