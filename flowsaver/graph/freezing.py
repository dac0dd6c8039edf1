"""``tf.graph_util.convert_variables_to_constants``: variables become constants holding the
values a session has for them, giving the GraphDef TensorFlow gives.

Only what the output nodes need is kept (``extract_sub_graph``). Each variable node kept
(VariableV2 / Variable, or a resource VarHandleOp, whose value is read through its
``name/Read/ReadVariableOp``) becomes a Const of the same name, with ``dtype`` and ``value``
only. Its value then flows on through the nodes that consumed the variable:

    Identity, Switch, Enter, Exit, NextIteration   attr T set to the value's dtype,
                                                   ``_output_shapes`` dropped; carried on
    ReadVariableOp        -> Identity (T = its dtype; data input only, ``_class`` kept)
    ResourceGather        -> GatherV2 with a new Const ``<name>/axis`` (batch_dims 0 only)
    ResourceGatherNd      -> GatherNd
    anything else         unchanged (a ref input reads a Const the same way)

A resource handle passed into a function call cannot be frozen this way, and is refused.
"""
from __future__ import annotations

import numpy as np

from flowsaver import errors
from flowsaver.format.graph_protos import GraphDef
from flowsaver.format.tensor_proto import from_array
from flowsaver.graph.graph_util import as_graph_def, extract_sub_graph, node_name

REF_VARIABLE_OPS = frozenset({"Variable", "VariableV2"})
RESOURCE_VARIABLE_OPS = frozenset({"VarHandleOp"})
PASS_THROUGH_OPS = frozenset({"Enter", "Exit", "Identity", "NextIteration", "Switch",
                              "_SwitchN"})
FUNCTION_CALL_OPS = frozenset({"PartitionedCall", "StatefulPartitionedCall", "If",
                               "StatelessIf", "While", "StatelessWhile", "Case"})
READ_SUFFIX = "/Read/ReadVariableOp"


def _value_tensor_name(node) -> str:
    """What a session runs for a variable's value (TensorFlow's choice of tensor)."""
    if node.op in RESOURCE_VARIABLE_OPS:
        return node.name + READ_SUFFIX + ":0"
    return node.name + ":0"


class _Freezer:
    """Rewrites one GraphDef (a copy) as each variable's value flows through it."""

    def __init__(self, graph_def: GraphDef):
        self.graph = graph_def
        self.nodes = {node.name: node for node in graph_def.node}
        # data edges: source node name -> [(destination node, input index)]
        self.consumers: dict[str, list] = {}
        for node in graph_def.node:
            for index, text in enumerate(node.input):
                if not text.startswith("^"):
                    self.consumers.setdefault(node_name(text), []).append((node, index))

    def freeze(self, node, value: np.ndarray) -> None:
        name, dtype = node.name, node.attr["dtype"].type
        node.Clear()
        node.name = name
        node.op = "Const"
        node.attr["dtype"].type = dtype
        node.attr["value"].tensor.CopyFrom(from_array(value, dtype, value.shape))
        for destination, index in self.consumers.get(name, []):
            self._carry(destination, index, dtype)

    def _carry(self, node, index: int, dtype: int) -> None:
        if node.op in PASS_THROUGH_OPS:
            _set_type(node, "T", index, dtype)
            if "_output_shapes" in node.attr:
                del node.attr["_output_shapes"]
            for destination, i in self.consumers.get(node.name, []):
                self._carry(destination, i, dtype)
        elif node.op == "ReadVariableOp":
            _rewrite(node, "Identity", [node.input[0]], {"T": node.attr["dtype"]})
        elif node.op == "ResourceGather":
            self._gather(node)
        elif node.op == "ResourceGatherNd":
            _rewrite(node, "GatherNd", list(node.input[:2]),
                     {"Tparams": node.attr["dtype"], "Tindices": node.attr["Tindices"]})
        elif node.op in FUNCTION_CALL_OPS:
            raise errors.UnimplementedError(
                f"node {node.name} ({node.op}) takes variable values into a function; "
                f"flowsaver freezes variables of the main graph only")

    def _gather(self, node) -> None:
        if node.attr["batch_dims"].i != 0:
            raise ValueError(f"batch_dims must be 0 for freeze_graph, but got "
                             f"node({node.name}).attr('batch_dims') = "
                             f"{node.attr['batch_dims'].i}.")
        axis_name = node.name + "/axis"
        index_type = type(node.attr["Tindices"])()
        index_type.CopyFrom(node.attr["Tindices"])
        if axis_name not in self.nodes:
            axis = self.graph.node.add(name=axis_name, op="Const")
            axis.attr["dtype"].CopyFrom(index_type)
            axis.attr["value"].tensor.CopyFrom(
                from_array(np.array(0), index_type.type, ()))
            self.nodes[axis_name] = axis
        _rewrite(node, "GatherV2", [node.input[0], node.input[1], axis_name],
                 {"Tparams": node.attr["dtype"], "Tindices": index_type,
                  "Taxis": index_type})


def _set_type(node, attr: str, index: int, dtype: int) -> None:
    value = node.attr[attr]
    if value.HasField("list") and len(value.list.type) > index:
        value.list.type[index] = dtype
    elif value.HasField("type") and index == 0:
        value.type = dtype
    else:
        count = len(value.list.type) if value.HasField("list") else int(value.HasField("type"))
        raise ValueError(f"`index` {index:d} is out of range for node({node.name}).attr("
                         f"{attr}), which has {count:d} elements.")


def _rewrite(node, op: str, inputs: list, attrs: dict) -> None:
    """Make ``node`` an ``op`` node of the same name with ``inputs`` and ``attrs``; its
    colocation (``_class``) is kept, everything else dropped."""
    colocation = type(node.attr["_class"])() if "_class" in node.attr else None
    if colocation is not None:
        colocation.CopyFrom(node.attr["_class"])
    copies = {}
    for key, value in attrs.items():
        copies[key] = type(value)()
        copies[key].CopyFrom(value)
    name = node.name
    node.Clear()
    node.name = name
    node.op = op
    node.input.extend(inputs)
    for key, value in copies.items():
        node.attr[key].CopyFrom(value)
    if colocation is not None:
        node.attr["_class"].CopyFrom(colocation)


def variable_nodes(graph_def, allow=None, deny=None) -> list:
    """The variable nodes of ``graph_def`` to freeze, by ``allow``/``deny`` name lists."""
    return [node for node in graph_def.node
            if node.op in REF_VARIABLE_OPS | RESOURCE_VARIABLE_OPS
            and (allow is None or node.name in allow)
            and (deny is None or node.name not in deny)]


def freeze_graph_def(graph_def, values: dict, output_node_names) -> GraphDef:
    """``graph_def`` cut to ``output_node_names`` with the variables named in ``values``
    (``{node name: array}``) replaced by constants."""
    frozen = extract_sub_graph(graph_def, output_node_names)
    freezer = _Freezer(frozen)
    for name, value in values.items():
        if name in freezer.nodes:
            freezer.freeze(freezer.nodes[name], np.asarray(value))
    return frozen


def convert_variables_to_constants(sess, input_graph_def, output_node_names,
                                   variable_names_whitelist=None,
                                   variable_names_blacklist=None) -> GraphDef:
    """A GraphDef holding what ``output_node_names`` need, every variable (or those
    whitelisted and not blacklisted, by node name) a constant of its value in ``sess``.

    Example:
      frozen = tf.graph_util.convert_variables_to_constants(
          sess, sess.graph.as_graph_def(), ["softmax"])
      tf.io.write_graph(frozen, "out", "frozen.pb", as_text=False)
    """
    graph_def = extract_sub_graph(as_graph_def(input_graph_def, "input_graph_def"),
                                  output_node_names)
    nodes = variable_nodes(graph_def, variable_names_whitelist, variable_names_blacklist)
    values = sess.run([_value_tensor_name(node) for node in nodes]) if nodes else []
    return freeze_graph_def(graph_def, {n.name: v for n, v in zip(nodes, values)},
                            output_node_names)
