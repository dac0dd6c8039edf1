"""TensorFlow 1.x's learning-rate decays (``tf.train.polynomial_decay``, ...): a scalar
tensor of the global step, built as TensorFlow's schedules build it.

``piecewise_constant`` is not here yet: TensorFlow builds it as a ``tf.case`` guarded by
an ``Assert``, which flowsaver does not build.
"""
from __future__ import annotations

import math

from flowsaver.graph.graph import get_default_graph
from flowsaver.ops.array import api as array_ops
from flowsaver.ops.math import api as math_ops
from flowsaver.ops.math.special import cos
from flowsaver.ops.op_builder import constant, convert_to_tensor
from flowsaver.train.training_util import exponential_decay

__all__ = ["cosine_decay", "inverse_time_decay", "natural_exp_decay", "polynomial_decay"]


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
