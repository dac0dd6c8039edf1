"""``tf.assign``, ``tf.assign_add``, ``tf.assign_sub``, ``tf.is_variable_initialized`` and
the ``tf.scatter_*`` row updates of ref variables."""
from __future__ import annotations

from flowsaver.ops.op_builder import convert_to_tensor, create_op, graph_of


def _ref(ref):
    return convert_to_tensor(ref, as_ref=True) if not hasattr(ref, "op") or \
        hasattr(ref, "_ref") else ref


def assign(ref, value, validate_shape=None, use_locking=None, name=None):
    """Store ``value`` in variable ``ref``; returns the ref, for chaining."""
    attrs = {}
    if validate_shape is not None:
        attrs["validate_shape"] = validate_shape
    if use_locking is not None:
        attrs["use_locking"] = use_locking
    g = graph_of([ref, value])
    with g.as_default():
        return create_op("Assign", [_ref(ref), value], attrs, name=name)


def assign_add(ref, value, use_locking=None, name=None):
    attrs = {} if use_locking is None else {"use_locking": use_locking}
    with graph_of([ref, value]).as_default():
        return create_op("AssignAdd", [_ref(ref), value], attrs, name=name)


def assign_sub(ref, value, use_locking=None, name=None):
    attrs = {} if use_locking is None else {"use_locking": use_locking}
    with graph_of([ref, value]).as_default():
        return create_op("AssignSub", [_ref(ref), value], attrs, name=name)


def is_variable_initialized(variable):
    """A bool tensor: has ``variable`` been given a value in this session?"""
    ref = _ref(variable)
    with ref.graph.as_default():
        return create_op("IsVariableInitialized", [ref], {"dtype": ref.dtype.base_dtype})


def _scatter(op_type: str, default_locking: bool):
    def scatter(ref, indices, updates, use_locking=default_locking, name=None):
        with graph_of([ref, indices, updates]).as_default():
            return create_op(op_type, [_ref(ref), indices, updates],
                             {"use_locking": use_locking}, name=name)
    scatter.__name__ = "scatter_" + op_type[len("Scatter"):].lower()
    scatter.__doc__ = (f"Rows ``indices`` of variable ``ref`` combined with ``updates`` "
                       f"(``{op_type}``); returns the ref.")
    return scatter


scatter_update = _scatter("ScatterUpdate", True)
scatter_add = _scatter("ScatterAdd", False)
scatter_sub = _scatter("ScatterSub", False)
scatter_mul = _scatter("ScatterMul", False)
scatter_div = _scatter("ScatterDiv", False)
scatter_min = _scatter("ScatterMin", False)
scatter_max = _scatter("ScatterMax", False)
