"""Weights for losses and metrics: a scalar, or of the values' rank with each dimension 1
or the values' own (TensorFlow's ``weights_broadcast_ops``).

When static shapes settle the question, the check is a ``NoOp`` named for the outcome
(``static_scalar_check_success``, ``static_dims_check_success``) or a ValueError at build
time, exactly as TensorFlow lays it out. The run-time check TensorFlow builds for unknown
shapes (an ``Assert`` over set operations) is not built by flowsaver yet.
"""
from __future__ import annotations

from flowsaver.ops.array import api as array_ops
from flowsaver.ops.const_eval import constant_value
from flowsaver.ops.control_flow import api as control_flow_ops
from flowsaver.ops.math import api as math_ops
from flowsaver.ops.op_builder import convert_to_tensor
from flowsaver.ops.scope_api import name_scope
from flowsaver.graph.graph import get_default_graph

_PREFIX = "weights can not be broadcast to values."


def assert_broadcastable(weights, values):
    """A ``NoOp`` when ``weights`` can be broadcast to ``values``; ValueError when not."""
    with name_scope(None, "assert_broadcastable", (weights, values)):
        with name_scope(None, "weights", (weights,)) as weights_scope:
            weights = convert_to_tensor(weights, name=weights_scope)
            weights_shape = array_ops.shape(weights, name="shape")
            weights_rank = array_ops.rank(weights, name="rank")
        weights_rank_static = constant_value(weights_rank)
        with name_scope(None, "values", (values,)) as values_scope:
            values = convert_to_tensor(values, name=values_scope)
            values_shape = array_ops.shape(values, name="shape")
            values_rank = array_ops.rank(values, name="rank")
        values_rank_static = constant_value(values_rank)
        if weights_rank_static is not None and values_rank_static is not None:
            if weights_rank_static == 0:
                return control_flow_ops.no_op(name="static_scalar_check_success")
            if weights_rank_static != values_rank_static:
                raise ValueError(
                    f"{_PREFIX} values.rank={values_rank_static}. weights.rank="
                    f"{weights_rank_static}. values.shape={values.shape}. weights.shape="
                    f"{weights.shape}. Received weights={weights}, values={values}")
            weights_static = constant_value(weights_shape)
            values_static = constant_value(values_shape)
            if weights_static is not None and values_static is not None:
                for i, (w, v) in enumerate(zip(weights_static, values_static)):
                    if w not in (1, v):
                        raise ValueError(
                            f"{_PREFIX} Mismatch at dim {i}. values.shape={values_static}, "
                            f"weights.shape={weights_static}. Received weights={weights}, "
                            f"values={values}")
                return control_flow_ops.no_op(name="static_dims_check_success")
        raise NotImplementedError(
            f"weights of shape {weights.shape} against values of shape {values.shape}: "
            f"TensorFlow checks these at run time with an Assert, which flowsaver does not "
            f"build yet; give weights a static shape (or a scalar)")


def broadcast_weights(weights, values):
    """``weights`` broadcast to the shape of ``values`` (checked by ``assert_broadcastable``)."""
    with name_scope(None, "broadcast_weights", (weights, values)) as scope:
        values = convert_to_tensor(values, name="values")
        weights = convert_to_tensor(weights, dtype=values.dtype.base_dtype, name="weights")
        if weights.shape.is_fully_defined() and values.shape.is_fully_defined() and \
                weights.shape.is_compatible_with(values.shape):
            return weights
        with get_default_graph().control_dependencies([assert_broadcastable(weights, values)]):
            return math_ops.multiply(weights, array_ops.ones_like(values), name=scope)
