"""Python operators on Tensors and Variables: ``a + b`` builds ``AddV2`` named ``add``.

Each operator is a row: Python method, the function it calls, the default op name.
"""
from __future__ import annotations

from flowsaver.graph.operation import Tensor
from flowsaver.ops import math_ops

# (method, op type, scope name) for binary operators, reflected forms made alongside.
BINARY = [
    ("add", "AddV2", "add"),
    ("sub", "Sub", "sub"),
    ("mul", "Mul", "mul"),
    ("truediv", "RealDiv", "truediv"),
]
_registered: list = []


def _binary_method(op_type, scope, reverse):
    def method(self, other):
        self = _tensor(self)
        if reverse:
            return math_ops.binary(op_type, other, self, None, scope, reverse=True)
        return math_ops.binary(op_type, self, other, None, scope)
    return method


def _tensor(value):
    return value.value() if hasattr(value, "value") and not isinstance(value, Tensor) else value


def add_binary(method: str, op_type: str, scope: str) -> None:
    """Register ``__method__`` and ``__rmethod__`` building ``op_type`` under ``scope``."""
    BINARY.append((method, op_type, scope)) if (method, op_type, scope) not in BINARY else None
    for cls in [Tensor] + _registered:
        setattr(cls, f"__{method}__", _binary_method(op_type, scope, False))
        setattr(cls, f"__r{method}__", _binary_method(op_type, scope, True))


def overload(cls) -> None:
    """Give ``cls`` (Tensor, Variable) every operator registered so far and later."""
    if cls not in _registered and cls is not Tensor:
        _registered.append(cls)
    for method, op_type, scope in BINARY:
        setattr(cls, f"__{method}__", _binary_method(op_type, scope, False))
        setattr(cls, f"__r{method}__", _binary_method(op_type, scope, True))
    for method, fn in UNARY.items():
        setattr(cls, f"__{method}__", _unary_method(fn))
    for method, fn in METHODS.items():
        setattr(cls, f"__{method}__", _plain_method(fn))
    cls.__matmul__ = lambda self, other: math_ops.matmul(_tensor(self), other, name="matmul")
    cls.__rmatmul__ = lambda self, other: math_ops.matmul(other, _tensor(self), name="matmul")


def _unary_method(fn):
    return lambda self: fn(_tensor(self))


UNARY: dict = {}
METHODS: dict = {}


def add_method(method: str, fn) -> None:
    """Attach ``fn(tensor, *args)`` as ``__method__`` (e.g. ``getitem``) to every tensor type.

    Variables pass their value (``v.value()``) as the tensor.
    """
    METHODS[method] = fn
    for cls in [Tensor] + _registered:
        setattr(cls, f"__{method}__", _plain_method(fn))


def _plain_method(fn):
    return lambda self, *args: fn(_tensor(self), *args)


def add_unary(method: str, fn) -> None:
    UNARY[method] = fn
    for cls in [Tensor] + _registered:
        setattr(cls, f"__{method}__", _unary_method(fn))


overload(Tensor)
