"""The global step (``tf.train.get_or_create_global_step``) and ``exponential_decay``."""
from __future__ import annotations

from flowsaver.graph.graph import GraphKeys, get_default_graph
from flowsaver.ops.state import init_ops
from flowsaver.ops.math import api as math_ops
from flowsaver.ops.state import variable_scope
from flowsaver.ops.op_builder import convert_to_tensor


def get_global_step(graph=None):
    """The graph's global step variable, or None.

    Raises:
      TypeError: the global_step collection holds more than one variable.
    """
    graph = graph or get_default_graph()
    found = graph.get_collection(GraphKeys.GLOBAL_STEP)
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        raise TypeError("Multiple tensors in global_step collection.")
    try:
        return graph.get_tensor_by_name("global_step:0")
    except (KeyError, ValueError):
        return None


def create_global_step(graph=None):
    """A new int64 scalar ``global_step`` variable (ValueError if one exists)."""
    graph = graph or get_default_graph()
    if get_global_step(graph) is not None:
        raise ValueError("\"global_step\" already exists.")
    with graph.as_default(), graph.name_scope(None):
        return variable_scope.get_variable(
            "global_step", shape=[], dtype="int64", initializer=init_ops.Zeros(),
            trainable=False,
            collections=[GraphKeys.GLOBAL_VARIABLES, GraphKeys.GLOBAL_STEP])


def get_or_create_global_step(graph=None):
    graph = graph or get_default_graph()
    return get_global_step(graph) or create_global_step(graph)


def exponential_decay(learning_rate, global_step, decay_steps, decay_rate, staircase=False,
                      name=None):
    """``learning_rate * decay_rate ** (global_step / decay_steps)`` (floored if staircase)."""
    if global_step is None:
        raise ValueError("global_step is required for exponential_decay.")
    graph = get_default_graph()
    with graph.name_scope(name or "ExponentialDecay") as scope:
        lr = convert_to_tensor(learning_rate, name="initial_learning_rate")
        dtype = lr.dtype
        steps = math_ops.cast(decay_steps, dtype)
        rate = math_ops.cast(decay_rate, dtype)
        p = math_ops.cast(global_step, dtype) / steps
        if staircase:
            p = math_ops.floor(p)
        return math_ops.multiply(lr, math_ops.pow(rate, p), name=scope)
