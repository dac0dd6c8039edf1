"""Public math functions (``tf.add``, ``tf.matmul``, ...), named as TensorFlow names them."""
from __future__ import annotations

from flowsaver.ops.op_builder import convert_to_tensor, create_op, graph_of

__all__ = ['add', 'subtract', 'multiply', 'truediv', 'matmul']


def binary(op_type: str, x, y, name, default_name: str, reverse: bool = False):
    """A binary op under scope ``name or default_name``; Python values take the tensor's dtype.

    Python operands become ``<scope>/x`` and ``<scope>/y`` constants, as in TensorFlow.
    """
    g = graph_of([x, y])
    with g.as_default(), g.name_scope(name or default_name) as scope:
        if reverse:  # ``2 * t``: t decides the dtype, the Python value becomes <scope>/x
            y = convert_to_tensor(y, name="y")
            x = convert_to_tensor(x, dtype=y.dtype.base_dtype, name="x")
        else:
            x = convert_to_tensor(x, name="x")
            y = convert_to_tensor(y, dtype=x.dtype.base_dtype, name="y")
        return create_op(op_type, [x, y], name=scope)


def unary(op_type: str, x, name, default_name: str | None = None):
    g = graph_of([x])
    with g.as_default(), g.name_scope(name or default_name or op_type) as scope:
        x = convert_to_tensor(x, name="x")
        return create_op(op_type, [x], name=scope)


def add(x, y, name=None):
    return binary("AddV2", x, y, name, "Add")


def subtract(x, y, name=None):
    return binary("Sub", x, y, name, "Sub")


def multiply(x, y, name=None):
    return binary("Mul", x, y, name, "Mul")


def truediv(x, y, name=None):
    return binary("RealDiv", x, y, name, "truediv")


def matmul(a, b, transpose_a=False, transpose_b=False, adjoint_a=False, adjoint_b=False,
           a_is_sparse=False, b_is_sparse=False, output_type=None, grad_a=False,
           grad_b=False, name=None):
    """Matrix product of 2-D tensors (``MatMul``)."""
    g = graph_of([a, b])
    with g.as_default(), g.name_scope(name or "MatMul") as scope:
        a = convert_to_tensor(a, name="a")
        b = convert_to_tensor(b, dtype=a.dtype.base_dtype, name="b")
        return create_op("MatMul", [a, b], {"transpose_a": transpose_a or adjoint_a,
                                            "transpose_b": transpose_b or adjoint_b},
                         name=scope)
