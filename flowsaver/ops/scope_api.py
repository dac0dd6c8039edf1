"""Default-graph conveniences: ``tf.name_scope``, ``tf.control_dependencies``, collections."""
from __future__ import annotations

import contextlib

from flowsaver.graph.graph import get_default_graph
from flowsaver.ops.op_builder import graph_of


@contextlib.contextmanager
def name_scope(name, default_name=None, values=None):
    """TensorFlow 1.x's ``tf.name_scope(name, default_name, values)``; yields ``"scope/"``."""
    if name is None and default_name is None and values is None:
        name = ""
    g = graph_of(values or [])
    with g.as_default(), g.name_scope(name if name is not None else default_name) as scope:
        yield scope


def control_dependencies(control_inputs):
    return get_default_graph().control_dependencies(control_inputs)


def device(device_name_or_function):
    return get_default_graph().device(device_name_or_function)


def colocate_with(op, ignore_existing=False):
    return get_default_graph().colocate_with(op, ignore_existing)


def add_to_collection(name, value) -> None:
    get_default_graph().add_to_collection(name, value)


def add_to_collections(names, value) -> None:
    get_default_graph().add_to_collections(names, value)


def get_collection(key, scope=None) -> list:
    return get_default_graph().get_collection(key, scope)


def get_collection_ref(key) -> list:
    return get_default_graph().get_collection_ref(key)


def report_uninitialized_variables(var_list=None, name="report_uninitialized_variables"):
    """A string tensor of the names of the variables in ``var_list`` not yet initialized."""
    from flowsaver.ops.array import api as array_ops
    from flowsaver.ops.math import api as math_ops
    from flowsaver.ops.state import api as state_ops
    from flowsaver.ops.state import variables
    from flowsaver.ops.op_builder import constant
    if var_list is None:
        var_list = variables.global_variables() + variables.local_variables()
    g = get_default_graph()
    with g.name_scope(name):
        # As TensorFlow: the checks where the variables are, the rest on the CPU.
        flags = [state_ops.is_variable_initialized(v) for v in var_list]
        with g.device("/cpu:0"):
            if not var_list:
                return constant([], dtype="string")
            uninitialized = math_ops.logical_not(array_ops.stack(flags))
            names = constant([v.op.name for v in var_list])
            return array_ops.boolean_mask(names, uninitialized)
