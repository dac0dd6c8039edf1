"""``tf.graph_util``: GraphDef surgery for frozen graphs, as TensorFlow 1.x does it.

``extract_sub_graph`` keeps what the named nodes need (inputs, control inputs and
colocation partners, transitively), in the original order. ``remove_training_nodes`` drops
CheckNumerics and splices out Identity / StopGradient nodes no control edge or colocation
refers to. ``convert_variables_to_constants`` (freezing.py) replaces variables by constants
holding their values.
"""
from __future__ import annotations

import re

from flowsaver.format.graph_protos import GraphDef, NodeDef
from flowsaver.format.protos import DATA_TYPES

# Op types whose nodes must be pinned to the CPU when ``pin_variables_on_cpu`` is set.
VARIABLE_OPS = frozenset({"Assign", "AssignAdd", "AssignSub", "Queue", "ScatterAdd",
                          "ScatterSub", "ScatterUpdate", "TruncatedNormal", "Variable",
                          "VariableV2"})
# What remove_training_nodes deletes outright, and what it splices out.
TRAINING_ONLY_OPS = frozenset({"CheckNumerics"})
PASS_THROUGH_OPS = frozenset({"Identity", "StopGradient"})
COLOCATION_PREFIX = "loc:@"


def as_graph_def(graph_def, what: str = "graph_def") -> GraphDef:
    """``graph_def`` as flowsaver's GraphDef; another runtime's GraphDef is converted.

    Raises:
      TypeError: it is no GraphDef.
    """
    if isinstance(graph_def, GraphDef):
        return graph_def
    descriptor = getattr(graph_def, "DESCRIPTOR", None)
    if getattr(descriptor, "full_name", None) == "tensorflow.GraphDef":
        return GraphDef.FromString(graph_def.SerializeToString())
    raise TypeError(f"{what} must be a graph_pb2.GraphDef proto, but got type "
                    f"{type(graph_def)}.")


def node_name(text: str) -> str:
    """The node an input string names: ``^a`` -> ``a``, ``a:1`` -> ``a``."""
    return text[1:] if text.startswith("^") else text.split(":")[0]


def colocated_names(node) -> list[str]:
    """The node names of a node's ``_class`` colocation constraints."""
    if "_class" not in node.attr:
        return []
    names = []
    for value in node.attr["_class"].list.s:
        text = value.decode("utf-8")
        names.append(text[len(COLOCATION_PREFIX):] if text.startswith(COLOCATION_PREFIX)
                     else text)
    return names


def extract_sub_graph(graph_def, dest_nodes) -> GraphDef:
    """The nodes ``dest_nodes`` reach through inputs and colocation, in graph order, with
    the library and versions of ``graph_def``.

    Raises:
      TypeError: ``graph_def`` is no GraphDef, or ``dest_nodes`` is a single string.
      AssertionError: a destination node is not in the graph.
    """
    graph_def = as_graph_def(graph_def)
    if isinstance(dest_nodes, str):
        raise TypeError(f"dest_nodes must be an iterable of strings, but got type "
                        f"{type(dest_nodes)}.")
    by_name = {}
    order = {}
    edges = {}
    for index, node in enumerate(graph_def.node):
        name = node_name(node.name)
        by_name[name] = node
        order[name] = index
        edges[name] = [node_name(i) for i in node.input] + colocated_names(node)
    for name in dest_nodes:
        assert name in by_name, f"{name} is not in graph"
    keep: set[str] = set()
    pending = list(dest_nodes)
    while pending:
        name = pending.pop()
        if name in keep:
            continue
        keep.add(name)
        pending.extend(edges.get(name, ()))
    out = GraphDef()
    for name in sorted((n for n in keep if n in by_name), key=order.__getitem__):
        out.node.add().CopyFrom(by_name[name])
    out.library.CopyFrom(graph_def.library)
    out.versions.CopyFrom(graph_def.versions)
    return out


def tensor_shape_from_node_def_name(graph, input_name: str):
    """The static shape of the tensor a NodeDef input string names (``:0`` if none)."""
    name = input_name if ":" in input_name else input_name + ":0"
    return graph.get_tensor_by_name(name).get_shape()


def _without_control_prefix(name: str) -> str:
    return re.sub(r"^\^", "", name)


def remove_training_nodes(input_graph, protected_nodes=None) -> GraphDef:
    """``input_graph`` without CheckNumerics, and with Identity / StopGradient spliced out
    where nothing depends on them by control edge or colocation; ``protected_nodes`` stay.
    The result has the nodes only (no library or versions), as TensorFlow's."""
    input_graph = as_graph_def(input_graph, "input_graph")
    protected = set(protected_nodes or ())
    removed = {n.name for n in input_graph.node
               if n.op in TRAINING_ONLY_OPS and n.name not in protected}
    kept = []
    for node in input_graph.node:
        if node.name in removed:
            continue
        copy = NodeDef()
        copy.CopyFrom(node)
        del copy.input[:]
        copy.input.extend(i for i in node.input if _without_control_prefix(i) not in removed)
        kept.append(copy)
    control_targets, with_control_inputs, colocated = set(), set(), set()
    for node in kept:
        for text in node.input:
            if "^" in text:
                control_targets.add(text.replace("^", ""))
                with_control_inputs.add(node.name)
        colocated.update(colocated_names(node))
    splice = {node.name: node.input[0] for node in kept
              if node.op in PASS_THROUGH_OPS and node.name not in protected
              and node.name not in colocated and node.name not in with_control_inputs}
    splice = {k: v for k, v in splice.items() if k not in control_targets}
    out = GraphDef()
    for node in kept:
        if node.name in splice:
            continue
        copy = out.node.add()
        copy.CopyFrom(node)
        del copy.input[:]
        for text in node.input:
            name = _without_control_prefix(text)
            while name in splice:
                text = splice[name]
                name = _without_control_prefix(text)
            copy.input.append(text)
    return out


def must_run_on_cpu(node, pin_variables_on_cpu=False) -> bool:
    """Whether a node (Operation or NodeDef) must be placed on the CPU."""
    node_def = node.node_def if hasattr(node, "node_def") else node
    if pin_variables_on_cpu and node_def.op in VARIABLE_OPS:
        return True
    int32, string = DATA_TYPES["DT_INT32"], DATA_TYPES["DT_STRING"]
    if node_def.op == "Const":
        return node_def.attr["dtype"].type in (int32, string)
    if node_def.op in ("DynamicStitch", "ParallelDynamicStitch"):
        return node_def.attr["T"].type == int32
    if node_def.op == "Cast":
        return node_def.attr["SrcT"].type == int32
    return False
