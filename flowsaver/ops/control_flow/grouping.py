"""``tf.group``, ``tf.no_op``, ``tf.tuple`` and ``with_dependencies``: ops that wait for others."""
from __future__ import annotations

import builtins

from flowsaver.graph.graph import get_default_graph, op_of
from flowsaver.graph.operation import Operation
from flowsaver.ops.array.basic import identity
from flowsaver.ops.op_builder import build_op, graph_of


def no_op(name=None) -> Operation:
    return build_op("NoOp", [], name=name)


def _as_op(value) -> Operation:
    op = op_of(value)
    if isinstance(op, Operation):
        return op
    raise TypeError(f"Expected a tf.Operation or tf.Tensor in tf.group, got {value!r}")


def group(*inputs, name=None) -> Operation:
    """One ``NoOp`` that runs after all ``inputs``.

    Inputs on several devices get one ``NoOp`` per device first (``name/NoOp``,
    ``name/NoOp_1``, in device order), as TensorFlow builds it.
    """
    ops = []
    for value in inputs:
        for item in (value if isinstance(value, (list, builtins.tuple)) else [value]):
            op = _as_op(item)
            if op not in ops:
                ops.append(op)
    g = graph_of(ops) if ops else get_default_graph()
    with g.as_default(), g.name_scope(name or "group_deps") as scope:
        if not ops:
            return no_op(name=scope)
        per_device: dict = {}
        for op in ops:
            per_device.setdefault(op.device, []).append(op)
        if len(per_device) == 1:
            (device, deps), = per_device.items()
            return _grouped(g, device, deps, scope)
        firsts = [_grouped(g, device, per_device[device], None) for device in sorted(per_device)]
        with g.control_dependencies(firsts):
            return no_op(name=scope)


def _grouped(g, device, deps, name):
    with g.control_dependencies(deps), g.device(device):
        return no_op(name=name)


def with_dependencies(dependencies, output_tensor, name=None):
    """``output_tensor`` through an Identity that runs after ``dependencies``."""
    g = graph_of([output_tensor])
    with g.as_default(), g.name_scope(name or "control_dependency") as scope:
        with g.colocate_with(output_tensor), g.control_dependencies(dependencies):
            return identity(output_tensor, name=scope)


def tuple(tensors, name=None, control_inputs=None):  # noqa: A001 - TensorFlow's name
    """The tensors, each passed on only after all of them (and ``control_inputs``) ran."""
    g = graph_of(tensors)
    with g.as_default(), g.name_scope(name or "tuple"):
        gate = group(*[t for t in tensors if t is not None], *(control_inputs or []))
        return [None if t is None else with_dependencies([gate], t) for t in tensors]
