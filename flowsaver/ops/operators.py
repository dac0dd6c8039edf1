"""Python operators on Tensors and Variables: ``a + b`` builds ``AddV2`` named ``add``.

As in TensorFlow, a binary operator opens a scope named after the operator (``add``,
``truediv``, ``mod``, ...) and calls the math function with ``name=`` that scope; the
reflected form (``2 * t``) first converts the Python operand to the tensor's dtype as
``<scope>/x``. Comparisons call the op function directly (``t < 1`` is ``Less``), and
``-t``, ``abs(t)``, ``~t`` are ``Neg``, ``Abs``, ``LogicalNot``. ``==`` stays identity (TF1).
"""
from __future__ import annotations

from flowsaver.graph.operation import Tensor
from flowsaver.ops.math import api as math_ops
from flowsaver.ops.op_builder import convert_to_tensor, graph_of


def _bool_only(name: str, fn):
    """``fn`` for bool tensors; TensorFlow's bitwise forms for integers are not built here."""
    def logical(x, y, name_=None):
        x = convert_to_tensor(x, name="x")
        if not x.dtype.base_dtype.is_bool:
            raise TypeError(f"Operator '{name}' is only supported on bool tensors in "
                            f"flowsaver, not {x.dtype.base_dtype.name} ({x.name}).")
        return fn(x, y, name=name_)
    return lambda x, y, name=None: logical(x, y, name)


# (method, math function called as fn(x, y, name=scope), scope name); reflected forms too.
BINARY = [
    ("add", math_ops.add, "add"),
    ("sub", math_ops.subtract, "sub"),
    ("mul", math_ops.multiply, "mul"),
    ("truediv", math_ops.truediv, "truediv"),
    ("floordiv", math_ops.floordiv, "floordiv"),
    ("mod", math_ops.floormod, "mod"),
    ("pow", math_ops.pow, "pow"),
    ("matmul", math_ops.matmul, "matmul"),
    ("and", _bool_only("&", math_ops.logical_and), "and"),
    ("or", _bool_only("|", math_ops.logical_or), "or"),
    ("xor", _bool_only("^", math_ops.logical_xor), "xor"),
]
# Comparisons: no scope of their own and no reflected form (Python swaps ``1 < t`` to ``t > 1``).
COMPARISONS = {"lt": math_ops.less, "le": math_ops.less_equal, "gt": math_ops.greater,
               "ge": math_ops.greater_equal}
_registered: list = []


def _tensor(value):
    return value.value() if hasattr(value, "value") and not isinstance(value, Tensor) else value


def _binary_method(fn, scope_name, reverse):
    if reverse:
        def reflected(self, other):
            y = _tensor(self)
            g = graph_of([y, other])
            with g.as_default(), g.name_scope(scope_name) as scope:
                x = convert_to_tensor(other, dtype=y.dtype.base_dtype, name="x")
                return fn(x, y, name=scope)
        return reflected

    def method(self, other):
        x = _tensor(self)
        g = graph_of([x, other])
        with g.as_default(), g.name_scope(scope_name) as scope:
            return fn(x, other, name=scope)
    return method


def _set_binary(cls, method, fn, scope) -> None:
    setattr(cls, f"__{method}__", _binary_method(fn, scope, False))
    setattr(cls, f"__r{method}__", _binary_method(fn, scope, True))


def overload(cls) -> None:
    """Give ``cls`` (Tensor, Variable) every operator registered so far and later."""
    if cls not in _registered:
        _registered.append(cls)
    for method, fn, scope in BINARY:
        _set_binary(cls, method, fn, scope)
    for method, fn in COMPARISONS.items():
        setattr(cls, f"__{method}__", _plain_method(fn))
    for method, fn in UNARY.items():
        setattr(cls, f"__{method}__", _unary_method(fn))
    for method, fn in METHODS.items():
        setattr(cls, f"__{method}__", _plain_method(fn))


def _unary_method(fn):
    return lambda self: fn(_tensor(self))


def _invert(x):
    if not x.dtype.base_dtype.is_bool:
        raise TypeError(f"Operator '~' is only supported on bool tensors in flowsaver, not "
                        f"{x.dtype.base_dtype.name} ({x.name}).")
    return math_ops.logical_not(x)


UNARY: dict = {"neg": math_ops.negative, "abs": math_ops.abs, "invert": _invert}
METHODS: dict = {}


def add_method(method: str, fn) -> None:
    """Attach ``fn(tensor, *args)`` as ``__method__`` (e.g. ``getitem``) to every tensor type.

    Variables pass their value (``v.value()``) as the tensor.
    """
    METHODS[method] = fn
    for cls in _registered:
        setattr(cls, f"__{method}__", _plain_method(fn))


def _plain_method(fn):
    return lambda self, *args: fn(_tensor(self), *args)


def install(classes, methods: dict) -> None:
    """Give every class in ``classes`` (Tensor, Variable, ...) the operators, plus the
    ``methods`` (``{"getitem": fn}``) other families provide. Called once, by
    ``flowsaver.ops.families.install``: importing this module changes no class."""
    for method, fn in methods.items():
        add_method(method, fn)
    for cls in classes:
        overload(cls)
