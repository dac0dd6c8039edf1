"""Graph plumbing ops: constants, placeholders, identities, no-ops."""
from __future__ import annotations

import numpy as np

from flowsaver.format import tensor_proto
from flowsaver.graph.tensor_shape import TensorShape
from flowsaver.ops.registry import (ALIASING, IDENTITY, NOT_FOLDABLE, NOTHING_TO_RUN, PLACEHOLDER,
                                     PYTHON_CONSTANT, SESSION_CONSTANT, OpTable)

TABLE = OpTable(__name__)
define, kernel, shape_fn, simple_kernel = (
    TABLE.define, TABLE.kernel, TABLE.shape_fn, TABLE.simple_kernel)

define(
    'Const() -> (output: dtype); value: tensor; dtype: type',
    'Placeholder() -> (output: dtype); dtype: type; shape: shape = ?',
    'PlaceholderWithDefault(input: dtype) -> (output: dtype); dtype: type; shape: shape',
    'Identity(input: T) -> (output: T); T: type',
    'StopGradient(input: T) -> (output: T); T: type',
    'NoOp() -> ()',
)
TABLE.not_differentiable("NoOp", "Placeholder")
TABLE.mark(ALIASING, "Identity", "StopGradient", "PlaceholderWithDefault", "Const")
TABLE.mark(IDENTITY, "Identity", "StopGradient")
TABLE.mark(SESSION_CONSTANT, "Const")
TABLE.mark(NOT_FOLDABLE, "Placeholder", "PlaceholderWithDefault")
TABLE.mark(PLACEHOLDER, "Placeholder")
TABLE.mark(NOTHING_TO_RUN, "NoOp")
TABLE.mark(PYTHON_CONSTANT, "Const", "StopGradient")


@shape_fn("Const")
def _const_shape(op):
    proto = op._get_attr_proto("value").tensor
    return [TensorShape([d.size for d in proto.tensor_shape.dim])]


@shape_fn("Placeholder", "PlaceholderWithDefault")
def _placeholder_shape(op):
    return [op.get_attr("shape")]


@shape_fn("Identity", "StopGradient")
def _same_shape(op):
    return [op.inputs[0].shape]


@shape_fn("NoOp")
def _no_outputs(op):
    return []


@kernel("Const")
def _const(op, ctx):
    value = tensor_proto.to_array(op._get_attr_proto("value").tensor,
                                  where=f"value of Const node '{op.name}'")  # errors name it
    value.flags.writeable = False  # shared by every run: nothing may write into it
    return lambda: value


@kernel("Placeholder")
def _placeholder(op, ctx):
    def unfed():
        from flowsaver import errors
        raise errors.InvalidArgumentError(
            None, op, f"You must feed a value for placeholder tensor '{op.name}' with dtype "
                      f"{op.get_attr('dtype').name}")
    return unfed


def _identity(x):
    return x


simple_kernel("Identity", _identity)
simple_kernel("StopGradient", _identity)
simple_kernel("PlaceholderWithDefault", _identity)
simple_kernel("NoOp", lambda: None)

