"""Optionals: a ``variant`` holding a tuple of tensors, or nothing.

TensorFlow 2's ``tf.cond`` hands the intermediate values its gradient needs out of the
``If`` op as optionals: the branch that ran wraps its values (``OptionalFromValue``), the
other branch gives ``OptionalNone``, and the gradient's branches unwrap them
(``OptionalGetValue``). Like a TensorList, an optional knows its own ``zeros_like`` and
``+`` (used when gradients of optionals are summed).
"""
from __future__ import annotations

import numpy as np

from flowsaver.format.graph_protos import FULL_TYPE_IDS, FullTypeDef
from flowsaver.graph.tensor_shape import TensorShape
from flowsaver.ops.functional.tensor_list import invalid
from flowsaver.ops.registry import NO_GRADIENT_YET, OpTable

TABLE = OpTable(__name__)
define, kernel, shape_fn = TABLE.define, TABLE.kernel, TABLE.shape_fn

define(
    'OptionalFromValue(components: Toutput_types) -> (optional: variant); Toutput_types: list(type) >= 1',
    'OptionalNone() -> (optional: variant)',
    'OptionalGetValue(optional: variant) -> (components: output_types); output_types: list(type) >= 1; output_shapes: list(shape) >= 1',
    'OptionalHasValue(optional: variant) -> (has_value: bool)',
)
TABLE.not_differentiable("OptionalNone", "OptionalHasValue")
TABLE.mark(NO_GRADIENT_YET, "OptionalFromValue", "OptionalGetValue")


def _optional_of_each(attr: str) -> FullTypeDef:
    """TensorFlow's full type of ``OptionalFromValue``'s output: an optional of a product
    of tensors, one for each type of ``attr``."""
    ids = FULL_TYPE_IDS
    out = FullTypeDef(type_id=ids["TFT_OPTIONAL"])
    each = out.args.add(type_id=ids["TFT_FOR_EACH"])
    each.args.add(type_id=ids["TFT_PRODUCT"])
    tensor = each.args.add(type_id=ids["TFT_TENSOR"])
    tensor.args.add(type_id=ids["TFT_VAR"], s=attr)
    each.args.add(type_id=ids["TFT_VAR"], s=attr)
    return out


# the notation has no place for a nested full type; set the message itself
TABLE._put(TABLE.full_types, ("OptionalFromValue", "optional"),
           _optional_of_each("Toutput_types"), "full type")


class OptionalValue:
    """An optional's value: a tuple of arrays, or None."""

    __slots__ = ("values",)

    def __init__(self, values):
        self.values = values

    def zeros_like(self) -> "OptionalValue":
        if self.values is None:
            return self
        return OptionalValue(tuple(np.zeros_like(v) for v in self.values))

    def __add__(self, other: "OptionalValue") -> "OptionalValue":
        if not isinstance(other, OptionalValue):
            return NotImplemented
        if self.values is None:
            return other
        if other.values is None:
            return self
        return OptionalValue(tuple(a + b for a, b in zip(self.values, other.values)))


NONE = OptionalValue(None)


@shape_fn("OptionalFromValue", "OptionalNone", "OptionalHasValue")
def _scalar(op):
    return [TensorShape([])]


@shape_fn("OptionalGetValue")
def _components(op):
    return [TensorShape(s) for s in op.get_attr("output_shapes")]


@kernel("OptionalFromValue")
def _from_value(op, ctx):
    return lambda *values: OptionalValue(tuple(values))


@kernel("OptionalNone")
def _none(op, ctx):
    return lambda: NONE


@kernel("OptionalHasValue")
def _has_value(op, ctx):
    return lambda optional: np.bool_(optional.values is not None)


@kernel("OptionalGetValue")
def _get_value(op, ctx):
    def get_value(optional):
        if optional.values is None:
            raise invalid(op, "The optional variable has no value.")
        return list(optional.values)
    return get_value
