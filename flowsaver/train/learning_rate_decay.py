"""TensorFlow 1.x's learning-rate decays (``tf.train.polynomial_decay``, ...): a scalar
tensor of the global step, built as TensorFlow's schedules build it.

``piecewise_constant`` is a ``tf.case`` over the intervals (x <= b0, x > b_last, then each
b_i < x <= b_i+1), with ``exclusive=True`` and values[0] as the default.
"""
from __future__ import annotations

import math

from flowsaver.graph.graph import get_default_graph
from flowsaver.ops.array import api as array_ops
from flowsaver.ops.control_flow.case import case
from flowsaver.ops.math import api as math_ops
from flowsaver.ops.math.special import cos
from flowsaver.ops.op_builder import constant, convert_to_tensor
from flowsaver.train.training_util import exponential_decay

__all__ = ["cosine_decay", "inverse_time_decay", "natural_exp_decay", "piecewise_constant",
           "polynomial_decay"]


def _needs_step(global_step, what: str) -> None:
    if global_step is None:
        raise ValueError(f"global_step is required for {what}.")


def polynomial_decay(learning_rate, global_step, decay_steps, end_learning_rate=0.0001,
                     power=1.0, cycle=False, name=None):
    """From ``learning_rate`` down to ``end_learning_rate`` along ``(1 - step/steps)**power``."""
    _needs_step(global_step, "polynomial_decay")
    graph = get_default_graph()
    with graph.name_scope(name or "PolynomialDecay") as scope:
        lr = convert_to_tensor(learning_rate, name="initial_learning_rate")
        dtype = lr.dtype.base_dtype
        end = math_ops.cast(end_learning_rate, dtype)
        power_t = math_ops.cast(power, dtype)
        step = math_ops.cast(global_step, dtype)
        steps = math_ops.cast(decay_steps, dtype)
        if cycle:
            multiplier = array_ops.where_v2(math_ops.equal(step, 0), 1.0,
                                            math_ops.ceil(step / decay_steps))
            steps = math_ops.multiply(steps, multiplier)
        else:
            step = math_ops.minimum(step, steps)
        p = math_ops.divide(step, steps)
        return math_ops.add(math_ops.multiply(lr - end, math_ops.pow(1 - p, power_t)), end,
                            name=scope)


def inverse_time_decay(learning_rate, global_step, decay_steps, decay_rate, staircase=False,
                       name=None):
    """``learning_rate / (1 + decay_rate * step / decay_steps)`` (step floored if staircase)."""
    _needs_step(global_step, "inverse_time_decay")
    graph = get_default_graph()
    with graph.name_scope(name or "InverseTimeDecay") as scope:
        lr = convert_to_tensor(learning_rate, name="initial_learning_rate")
        dtype = lr.dtype.base_dtype
        steps = math_ops.cast(decay_steps, dtype)
        rate = math_ops.cast(decay_rate, dtype)
        p = math_ops.cast(global_step, dtype) / steps
        if staircase:
            p = math_ops.floor(p)
        one = math_ops.cast(constant(1), dtype)
        return math_ops.divide(lr, math_ops.add(one, math_ops.multiply(rate, p)), name=scope)


def natural_exp_decay(learning_rate, global_step, decay_steps, decay_rate, staircase=False,
                      name=None):
    """``learning_rate * exp(-decay_rate * step / decay_steps)`` (floored if staircase)."""
    _needs_step(global_step, "natural_exp_decay")
    rate = math_ops.exp(math_ops.negative(decay_rate))
    return exponential_decay(learning_rate, global_step, decay_steps, rate,
                             staircase=staircase, name=name)


def cosine_decay(learning_rate, global_step, decay_steps, alpha=0.0, name=None):
    """Half a cosine from ``learning_rate`` down to ``alpha * learning_rate``."""
    _needs_step(global_step, "cosine decay")
    graph = get_default_graph()
    with graph.name_scope(name or "CosineDecay"):
        lr = convert_to_tensor(learning_rate, name="initial_learning_rate")
        dtype = lr.dtype.base_dtype
        steps = math_ops.cast(decay_steps, dtype)
        step = math_ops.minimum(math_ops.cast(global_step, dtype), steps)
        fraction = step / steps
        cosine = 0.5 * (1.0 + cos(constant(math.pi) * fraction))
        decayed = (1 - alpha) * cosine + alpha
        return math_ops.multiply(lr, decayed)


def _flat(values) -> list:
    if isinstance(values, (list, tuple)):
        return [leaf for v in values for leaf in _flat(v)]
    return [values]


def piecewise_constant(x, boundaries, values, name=None):
    """values[0] while x <= boundaries[0], values[i] while boundaries[i-1] < x <=
    boundaries[i], values[-1] after the last boundary.

    Raises:
      ValueError: boundaries of another dtype than ``x`` (int32 boundaries are cast for an
        int64 ``x``), values of different dtypes, or not one value more than boundaries.
    """
    boundaries = [convert_to_tensor(b) for b in _flat(boundaries)]
    values = [convert_to_tensor(v) for v in _flat(values)]
    x = convert_to_tensor(x)
    step_type = x.dtype.base_dtype
    for i, b in enumerate(boundaries):
        if b.dtype.base_dtype != step_type:
            if b.dtype.base_dtype.name != "int32" or step_type.name != "int64":
                raise ValueError(f"Boundaries ({b.dtype.base_dtype.name}) must have the same "
                                 f"dtype as x ({step_type.name}).")
            boundaries[i] = math_ops.cast(b, step_type)
    for v in values[1:]:
        if v.dtype.base_dtype != values[0].dtype.base_dtype:
            raise ValueError(f"Values must have elements all with the same dtype "
                             f"({values[0].dtype.base_dtype.name} vs "
                             f"{v.dtype.base_dtype.name}).")
    if len(boundaries) != len(values) - 1:
        raise ValueError("The length of boundaries should be 1 less than the length of values")
    with get_default_graph().name_scope(name or "PiecewiseConstant"):
        pairs = [(x <= boundaries[0], lambda: values[0]),
                 (x > boundaries[-1], lambda: values[-1])]
        for low, high, v in zip(boundaries[:-1], boundaries[1:], values[1:-1]):
            pairs.append(((x > low) & (x <= high), lambda v=v: v))
        return case(pairs, lambda: values[0], exclusive=True)
