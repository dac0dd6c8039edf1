"""Running the FunctionDefs of a GraphDef's library (TensorFlow's tf.data function bodies)
with flowsaver's kernels: each FunctionDef becomes a FuncGraph the first time a dataset
kernel needs it, so a metagraph TensorFlow saved with a dataset pipeline runs end to end.

A FunctionDef names inputs ``ARG`` or ``NODE:OUTPUT_ARG:INDEX``; they are rewritten to
GraphDef form (``NODE:FLAT_INDEX``), the arguments become placeholders, and the body is
imported into the FuncGraph with the ordinary importer.
"""
from __future__ import annotations

import weakref

from flowsaver import errors
from flowsaver.format.graph_protos import GraphDef
from flowsaver.graph.attr_value import decode
from flowsaver.ops import registry
from flowsaver.ops.data.func_graph import DataFunction, FuncGraph
from flowsaver.ops.data.function_def import top_graph

_LOADED: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _flat_index(node, arg_name: str, index: int) -> int:
    op_def = registry.OP_DEFS.get(node.op)
    if op_def is None:
        raise errors.UnimplementedError(f"Op type not registered '{node.op}' in flowsaver "
                                        f"(node {node.name} of a library function)")
    offset = 0
    for arg in op_def.outputs:
        if arg.name == arg_name:
            return offset + index
        if arg.number_attr:
            offset += decode(node.attr[arg.number_attr])
        elif arg.type_list_attr:
            offset += len(decode(node.attr[arg.type_list_attr]))
        else:
            offset += 1
    raise ValueError(f"{node.name} ({node.op}) has no output argument {arg_name!r}")


def _graph_def(fdef) -> GraphDef:
    nodes = {n.name: n for n in fdef.node_def}
    out = GraphDef()
    for arg in fdef.signature.input_arg:
        placeholder = out.node.add(name=arg.name, op="Placeholder")
        placeholder.attr["dtype"].type = arg.type
        placeholder.attr["shape"].shape.unknown_rank = True

    def rewrite(text: str) -> str:
        if text.startswith("^"):
            return text
        parts = text.split(":")
        if len(parts) == 1:
            return text                      # an argument (a placeholder here)
        if len(parts) == 2:
            return text                      # already NODE:INDEX
        node, arg_name, index = parts
        return f"{node}:{_flat_index(nodes[node], arg_name, int(index))}"
    for node in fdef.node_def:
        copy = out.node.add()
        copy.CopyFrom(node)
        del copy.input[:]
        copy.input.extend(rewrite(i) for i in node.input)
    return out, rewrite


def load(graph, name: str):
    """The DataFunction for library function ``name`` of ``graph``'s top graph, or None."""
    top = top_graph(graph)
    cache = _LOADED.setdefault(top, {})
    if name in cache:
        return cache[name]
    library = getattr(top, "function_library", None)
    fdef = next((f for f in getattr(library, "function", ()) if f.signature.name == name),
                None)
    if fdef is None:
        return None
    from flowsaver.ops.importer import import_graph_def
    body = FuncGraph(name, top)
    graph_def, rewrite = _graph_def(fdef)
    with body.as_default():
        import_graph_def(graph_def, name="")
    body.inputs = [body.get_tensor_by_name(f"{a.name}:0") for a in fdef.signature.input_arg]
    outputs = []
    for arg in fdef.signature.output_arg:
        ref = rewrite(fdef.ret[arg.name])
        outputs.append(body.get_tensor_by_name(ref if ":" in ref else ref + ":0"))
    body.outputs = outputs
    function = cache[name] = DataFunction(name, body, tuple(outputs))
    return function
