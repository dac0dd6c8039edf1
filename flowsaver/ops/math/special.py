"""Public trigonometric and special functions (``tf.sin``, ``tf.erf``, ``tf.atan2``, ...).

TensorFlow exports most of these as its generated op wrappers: the op takes the name
(default: its type), and a Python operand becomes ``<op>/x``. ``round`` and ``conj`` are
Python functions that return an integer (``round``) or real (``conj``) input unchanged.
"""
from __future__ import annotations

from flowsaver.graph.operation import Tensor
from flowsaver.ops.math.basic import cast, unary
from flowsaver.ops.op_builder import convert_to_tensor, create_op, graph_of

__all__ = ['sin', 'cos', 'tan', 'asin', 'acos', 'atan', 'atan2', 'sinh', 'cosh', 'asinh',
           'acosh', 'atanh', 'erf', 'erfc', 'log1p', 'expm1', 'is_finite', 'is_nan',
           'is_inf', 'round', 'conj', 'div_no_nan']

# div_no_nan casts integers to a float wide enough for them, as truediv does.
_TRUEDIV_FLOAT = {"int8": "float32", "uint8": "float32", "int16": "float32",
                  "uint16": "float32", "int32": "float64", "uint32": "float64",
                  "int64": "float64", "uint64": "float64"}
_NO_CAST = {"float16", "bfloat16", "float32", "float64", "complex64", "complex128"}


def sin(x, name=None):
    """Sine, elementwise (``Sin``)."""
    return unary("Sin", x, name)


def cos(x, name=None):
    """Cosine (``Cos``)."""
    return unary("Cos", x, name)


def tan(x, name=None):
    """Tangent (``Tan``)."""
    return unary("Tan", x, name)


def asin(x, name=None):
    """Inverse sine; NaN outside [-1, 1] (``Asin``)."""
    return unary("Asin", x, name)


def acos(x, name=None):
    """Inverse cosine; NaN outside [-1, 1] (``Acos``)."""
    return unary("Acos", x, name)


def atan(x, name=None):
    """Inverse tangent (``Atan``)."""
    return unary("Atan", x, name)


def sinh(x, name=None):
    """Hyperbolic sine (``Sinh``)."""
    return unary("Sinh", x, name)


def cosh(x, name=None):
    """Hyperbolic cosine (``Cosh``)."""
    return unary("Cosh", x, name)


def asinh(x, name=None):
    """Inverse hyperbolic sine (``Asinh``)."""
    return unary("Asinh", x, name)


def acosh(x, name=None):
    """Inverse hyperbolic cosine; NaN below 1 (``Acosh``)."""
    return unary("Acosh", x, name)


def atanh(x, name=None):
    """Inverse hyperbolic tangent (``Atanh``)."""
    return unary("Atanh", x, name)


def erf(x, name=None):
    """The Gauss error function (``Erf``); GELU is ``0.5 * x * (1 + erf(x / sqrt(2)))``."""
    return unary("Erf", x, name)


def erfc(x, name=None):
    """``1 - erf(x)``, accurate for large x (``Erfc``)."""
    return unary("Erfc", x, name)


def log1p(x, name=None):
    """``log(1 + x)``, accurate for small x (``Log1p``)."""
    return unary("Log1p", x, name)


def expm1(x, name=None):
    """``exp(x) - 1``, accurate for small x (``Expm1``)."""
    return unary("Expm1", x, name)


def is_finite(x, name=None):
    """Whether each element is neither infinite nor NaN (``IsFinite``)."""
    return unary("IsFinite", x, name)


def is_nan(x, name=None):
    """Whether each element is NaN (``IsNan``)."""
    return unary("IsNan", x, name)


def is_inf(x, name=None):
    """Whether each element is +/- infinity (``IsInf``)."""
    return unary("IsInf", x, name)


def atan2(y, x, name=None):
    """The angle of the point ``(x, y)``, elementwise with broadcasting (``Atan2``)."""
    g = graph_of([y, x])
    with g.as_default():
        return create_op("Atan2", [y, x], name=name)


def round(x, name=None):  # noqa: A001 - TensorFlow's name
    """Round half to even (``Round``); an integer tensor is returned as it is."""
    g = graph_of([x])
    with g.as_default():
        x = convert_to_tensor(x, name="x")
        if x.dtype.base_dtype.is_integer:
            return x
        return create_op("Round", [x], name=name)


def conj(x, name=None):
    """The complex conjugate (``Conj``); a real or integer tensor is returned as it is."""
    if isinstance(x, Tensor) and (x.dtype.base_dtype.is_floating or
                                  x.dtype.base_dtype.is_integer):
        return x
    g = graph_of([x])
    with g.as_default(), g.name_scope(name or "Conj") as scope:
        x = convert_to_tensor(x, name="x")
        dtype = x.dtype.base_dtype
        if dtype.is_complex or dtype.name == "variant":
            return create_op("Conj", [x], name=scope)
        if dtype.is_floating or dtype.is_integer:
            return x
        raise TypeError(f"Expected numeric or variant tensor, got dtype {dtype!r}.")


def div_no_nan(x, y, name=None):
    """``x / y``, and 0 where ``y`` is 0 (``DivNoNan``); integers are divided as floats."""
    g = graph_of([x, y])
    with g.as_default(), g.name_scope(name or "div_no_nan") as scope:
        if not isinstance(x, Tensor) and isinstance(y, Tensor):
            y = convert_to_tensor(y, name="y")
            x = convert_to_tensor(x, dtype=y.dtype.base_dtype, name="x")
        else:
            x = convert_to_tensor(x, name="x")
            y = convert_to_tensor(y, preferred_dtype=x.dtype.base_dtype, name="y")
        x_dtype, y_dtype = x.dtype.base_dtype, y.dtype.base_dtype
        if x_dtype != y_dtype:
            raise TypeError(f"`x` and `y` must have the same dtype, got {x_dtype!r} != "
                            f"{y_dtype!r}.")
        if x_dtype.name in _TRUEDIV_FLOAT:
            x, y = cast(x, _TRUEDIV_FLOAT[x_dtype.name]), cast(y, _TRUEDIV_FLOAT[x_dtype.name])
        elif x_dtype.name not in _NO_CAST:
            raise TypeError(f"Invalid dtype {x_dtype!r} in tf.math.divide_no_nan.")
        return create_op("DivNoNan", [x, y], name=scope)
