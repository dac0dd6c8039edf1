"""``tf.no_op``, ``tf.group``, ``tf.tuple``, ``with_dependencies``."""
from __future__ import annotations

import builtins

from flowsaver.graph.graph import get_default_graph
from flowsaver.graph.operation import Operation, Tensor
from flowsaver.ops.op_builder import build_op, graph_of


def no_op(name=None) -> Operation:
    return build_op("NoOp", [], name=name)


def _as_op(value) -> Operation:
    if hasattr(value, "_as_graph_element") and not isinstance(value, (Tensor, Operation)):
        value = value._as_graph_element()
    if isinstance(value, Tensor):
        return value.op
    if isinstance(value, Operation):
        return value
    raise TypeError(f"Expected a tf.Operation or tf.Tensor in tf.group, got {value!r}")


def group(*inputs, name=None) -> Operation:
    """One ``NoOp`` that runs after all ``inputs`` (control inputs sorted by name)."""
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
        with g.control_dependencies(sorted(ops, key=lambda o: o.name)):
            return no_op(name=scope)


def with_dependencies(dependencies, output_tensor, name=None):
    """``output_tensor`` through an Identity that runs after ``dependencies``."""
    from flowsaver.ops.array_ops import identity
    g = graph_of([output_tensor])
    with g.as_default(), g.name_scope(name or "control_dependency") as scope:
        with g.control_dependencies(dependencies):
            return identity(output_tensor, name=scope)


def tuple(tensors, name=None, control_inputs=None):  # noqa: A001 - TensorFlow's name
    """The tensors, each passed on only after all of them (and ``control_inputs``) ran."""
    from flowsaver.ops.array_ops import identity
    g = graph_of(tensors)
    with g.as_default(), g.name_scope(name or "tuple") as scope:
        gate = group(*[t for t in tensors if t is not None], *(control_inputs or []))
        out = []
        for t in tensors:
            if t is None:
                out.append(None)
                continue
            with g.control_dependencies([gate]):
                out.append(identity(t))
        del scope
        return out
