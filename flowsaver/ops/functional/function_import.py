"""A FunctionDef of a graph's library as a ``Function`` flowsaver can plan and run.

A FunctionDef's nodes name their inputs ``ARG`` (a function argument) or
``NODE:OUTPUT_ARG:INDEX`` (INDEX counting within that output argument of NODE's OpDef),
``ret`` maps each output argument to such a name and ``control_ret`` names the ops that
must run. The body becomes a GraphDef of its own: one ``Placeholder`` per argument (its
shape from the argument's ``_output_shapes`` attr when TensorFlow recorded one), the nodes
with their inputs rewritten to flat output indices (``NODE:FLAT_INDEX``), imported into a
``FuncGraph`` whose outer graph is the caller's outermost graph (so it sees the same
library: a loop body may call other functions) with the ordinary importer, which checks
every node as it checks a GraphDef's.

Functions are loaded once per outermost graph and name, when a kernel first needs one.
"""
from __future__ import annotations

import threading
import weakref

from flowsaver import errors
from flowsaver.format.graph_protos import GraphDef
from flowsaver.graph.attr_value import decode
from flowsaver.ops import registry
from flowsaver.ops.functional import library
from flowsaver.ops.functional.func_graph import FuncGraph, Function

__all__ = ["load", "load_or_fail"]

_LOADED: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_LOCK = threading.RLock()   # dataset pipelines may load functions from their threads


def _flat_index(node, arg_name: str, index: int, function: str) -> int:
    op_def = registry.OP_DEFS.get(node.op)
    if op_def is None:
        raise errors.UnimplementedError(
            None, None, f"Op type not registered '{node.op}' in flowsaver (node {node.name} "
                        f"of library function {function})")
    offset = 0
    for arg in op_def.outputs:
        if arg.number_attr:
            count = decode(node.attr[arg.number_attr]) if arg.number_attr in node.attr \
                else decode(op_def.attr(arg.number_attr).default)
        elif arg.type_list_attr:
            count = len(decode(node.attr[arg.type_list_attr]))
        else:
            count = 1
        if arg.name == arg_name:
            if not 0 <= index < count:
                break
            return offset + index
        offset += count
    raise ValueError(f"Function '{function}': node {node.name} ({node.op}) has no output "
                     f"{arg_name}:{index}")


def _rewriter(function_def):
    nodes = {n.name: n for n in function_def.node_def}
    args = {a.name for a in function_def.signature.input_arg}
    name = function_def.signature.name

    def rewrite(text: str) -> str:
        if text.startswith("^"):
            return text
        parts = text.split(":")
        if len(parts) == 1 and text in args:
            return f"{text}:0"
        if len(parts) == 3 and parts[0] in nodes:
            node = nodes[parts[0]]
            return f"{node.name}:{_flat_index(node, parts[1], int(parts[2]), name)}"
        raise ValueError(f"Function '{name}': input '{text}' names no argument or node "
                         f"output")
    return rewrite


def _graph_def(function_def) -> GraphDef:
    name = function_def.signature.name
    out = GraphDef()
    for i, arg in enumerate(function_def.signature.input_arg):
        if not arg.type:
            raise errors.UnimplementedError(
                None, None, f"Function '{name}': argument '{arg.name}' has no concrete type "
                            f"(a polymorphic function, which flowsaver does not run)")
        placeholder = out.node.add(name=arg.name, op="Placeholder")
        placeholder.attr["dtype"].type = arg.type
        shapes = function_def.arg_attr[i].attr.get("_output_shapes") \
            if i in function_def.arg_attr else None
        if shapes is not None and len(shapes.list.shape) == 1:
            placeholder.attr["shape"].shape.CopyFrom(shapes.list.shape[0])
        else:
            placeholder.attr["shape"].shape.unknown_rank = True
    rewrite = _rewriter(function_def)
    for node in function_def.node_def:
        for key, value in node.attr.items():
            if value.WhichOneof("value") == "placeholder":
                raise errors.UnimplementedError(
                    None, None, f"Function '{name}': node '{node.name}' attr '{key}' is the "
                                f"unbound placeholder '{value.placeholder}'")
        copy = out.node.add()
        copy.CopyFrom(node)
        del copy.input[:]
        copy.input.extend(rewrite(i) for i in node.input)
    return out, rewrite


def load(graph, name: str):
    """The Function for library function ``name`` of ``graph``'s library, or None when the
    library has no such function.

    Raises:
      UnimplementedError: the function needs something flowsaver cannot run (naming it).
      ValueError: a node input naming nothing, or a node the importer refuses.
    """
    top = library.top_graph(graph)
    with _LOCK:
        cache = _LOADED.setdefault(top, {})
        if name in cache:
            return cache[name]
        function_def = library.find(top, name)
        if function_def is None:
            return None
        from flowsaver.ops.importer import import_graph_def
        body = FuncGraph(name, top)
        graph_def, rewrite = _graph_def(function_def)
        with body.as_default():
            import_graph_def(graph_def, name="")
        signature = function_def.signature
        body.inputs = [body.get_tensor_by_name(f"{a.name}:0") for a in signature.input_arg]
        body.outputs = [body.get_tensor_by_name(rewrite(function_def.ret[a.name]))
                        for a in signature.output_arg]
        body.targets = [body.get_operation_by_name(function_def.control_ret[c])
                        for c in signature.control_output]
        function = cache[name] = Function(name, body, tuple(body.outputs))
        return function


def load_or_fail(op, attr: str) -> Function:
    """The Function that ``op``'s func attr ``attr`` names, loaded when ``op``'s plan is
    built (so a broken function fails there, before anything runs).

    Raises:
      NotFoundError: the graph's library has no such function.
      InvalidArgumentError: its body does not import (naming ``op`` and the function).
    """
    name = op.get_attr(attr).name
    try:
        function = load(op.graph, name)
    except (ValueError, TypeError) as e:
        raise errors.InvalidArgumentError(
            op.node_def, op, f"Function {name} (attr '{attr}' of node {op.name}) cannot be "
                             f"instantiated: {e}") from e
    if function is None:
        raise errors.NotFoundError(
            op.node_def, op, f"Function {name} (attr '{attr}' of node {op.name}) is not in "
                             f"the graph's function library")
    return function
