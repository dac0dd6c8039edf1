"""A ``FunctionDef`` of a GraphDef's library as a graph flowsaver can plan and run.

A function body names its inputs by argument name (``x``) and other nodes' outputs by
output argument and index (``node:output:0``, ``split:output:2``). The body becomes a
GraphDef of its own: one ``Placeholder`` per input argument, the nodes with their inputs
rewritten to flat output indices (``node:0``, ``split:2``), imported into a new Graph that
shares its caller's function library. ``FunctionBody`` holds that graph, its argument
placeholders, its return tensors (``ret``) and the ops that must run (``control_ret``).
"""
from __future__ import annotations

from flowsaver import errors
from flowsaver.format.graph_protos import GraphDef
from flowsaver.graph import attr_value
from flowsaver.graph.graph import Graph
from flowsaver.ops import registry
from flowsaver.ops.importer import import_graph_def

__all__ = ["FunctionBody", "function_body"]


class FunctionBody:
    """A function's body as a Graph: feed ``args``, fetch ``outputs``, run ``targets``."""

    def __init__(self, name, graph, args, outputs, targets):
        self.name = name
        self.graph = graph
        self.args = args
        self.outputs = outputs
        self.targets = targets


def _output_counts(node) -> list:
    """``[(output arg name, how many tensors)]`` of a node, from its op's definition."""
    op_def = registry.OP_DEFS[node.op]
    counts = []
    for arg in op_def.outputs:
        count = 1
        if arg.number_attr:
            count = attr_value.decode(node.attr[arg.number_attr]) if arg.number_attr in \
                node.attr else attr_value.decode(op_def.attr(arg.number_attr).default)
        elif arg.type_list_attr:
            count = len(attr_value.decode(node.attr[arg.type_list_attr]))
        counts.append((arg.name, count))
    return counts


def _flat_name(text: str, nodes: dict, function: str) -> str:
    """``node:arg:i`` as ``node:<flat index>``; an argument name as ``arg:0``."""
    if text.startswith("^"):
        return text
    parts = text.split(":")
    if len(parts) == 1:
        return f"{text}:0"
    if len(parts) != 3 or parts[0] not in nodes:
        raise ValueError(f"Function '{function}': input '{text}' names no node output")
    node, arg, index = parts[0], parts[1], int(parts[2])
    offset = 0
    for name, count in _output_counts(nodes[node]):
        if name == arg:
            if not 0 <= index < count:
                break
            return f"{node}:{offset + index}"
        offset += count
    raise ValueError(f"Function '{function}': input '{text}' names no output of node '{node}'")


def function_body(caller_graph: Graph, name: str) -> FunctionBody:
    """The body of function ``name`` of ``caller_graph``'s library, ready to plan.

    Raises:
      NotFoundError: no such function.
      ValueError: a node input that names nothing, or a placeholder attr (``$T``) that a
        polymorphic function would need bound.
    """
    function_def = caller_graph.get_function(name)
    if function_def is None:
        raise errors.NotFoundError(f"Function '{name}' is not in the graph's function library")
    signature = function_def.signature
    nodes = {n.name: n for n in function_def.node_def}
    graph_def = GraphDef()
    for arg in signature.input_arg:
        if not arg.type:
            raise ValueError(f"Function '{name}': argument '{arg.name}' has no concrete type")
        node = graph_def.node.add(name=arg.name, op="Placeholder")
        node.attr["dtype"].type = arg.type
    for original in function_def.node_def:
        node = graph_def.node.add()
        node.CopyFrom(original)
        for key, value in node.attr.items():
            if value.WhichOneof("value") == "placeholder":
                raise ValueError(f"Function '{name}': node '{node.name}' attr '{key}' is the "
                                 f"unbound placeholder '{value.placeholder}'")
        del node.input[:]
        node.input.extend(_flat_name(t, nodes, name) for t in original.input)
    graph = Graph()
    graph.share_functions_of(caller_graph)
    with graph.as_default():
        import_graph_def(graph_def, name="")
    args = [graph.get_tensor_by_name(f"{a.name}:0") for a in signature.input_arg]
    outputs = [graph.get_tensor_by_name(_flat_name(function_def.ret[a.name], nodes, name))
               for a in signature.output_arg]
    targets = [graph.get_operation_by_name(function_def.control_ret[c])
               for c in signature.control_output]
    return FunctionBody(name, graph, args, outputs, targets)
