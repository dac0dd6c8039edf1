"""``tf.graph_util.convert_variables_to_constants``: variables become constants holding the
values a session has for them, giving the GraphDef TensorFlow gives.

Only what the output nodes need is kept (``extract_sub_graph``). Each variable node kept
(VariableV2 / Variable, or a resource VarHandleOp, whose value is read through its
``name/Read/ReadVariableOp``) becomes a Const of the same name, with ``dtype`` and ``value``
only. Its value then flows on through the nodes that consumed the variable, in the graph and
in the library functions it is passed into:

    Identity, Switch, Enter, Exit, NextIteration   attr T set to the value's dtype,
                                                   ``_output_shapes`` dropped; carried on
    ReadVariableOp        -> Identity (T = its dtype; data input only, ``_class`` kept; in
                             a function, consumers' ``x:value:0`` become ``x:output:0``)
    ResourceGather        -> GatherV2 with a new Const ``<name>/axis`` (batch_dims 0 only;
                             left alone inside functions)
    ResourceGatherNd      -> GatherNd
    (Stateful)PartitionedCall, If, Case, While
                          the input type (Tin, or T) set to the value's dtype; each called
                          function is renamed ``<name>_frozen_<n>``, its argument retyped
                          (shapes recorded for it forgotten), and the value carried on
                          into its body (a While's body output too)
    anything else         unchanged (a ref input reads a Const the same way)
"""
from __future__ import annotations

import itertools

import numpy as np

from flowsaver.format.graph_protos import GraphDef
from flowsaver.format.tensor_proto import from_array
from flowsaver.graph.graph_util import as_graph_def, extract_sub_graph, node_name

REF_VARIABLE_OPS = frozenset({"Variable", "VariableV2"})
RESOURCE_VARIABLE_OPS = frozenset({"VarHandleOp"})
PASS_THROUGH_OPS = frozenset({"Enter", "Exit", "Identity", "NextIteration", "Switch",
                              "_SwitchN"})
# op type -> (index of the first input passed to the functions, type attr, function attrs)
FUNCTION_CALLS = {
    "PartitionedCall": (0, "Tin", ("f",)), "StatefulPartitionedCall": (0, "Tin", ("f",)),
    "If": (1, "Tin", ("then_branch", "else_branch")),
    "StatelessIf": (1, "Tin", ("then_branch", "else_branch")),
    "Case": (1, "Tin", ("branches",)),
    "While": (0, "T", ("body", "cond")), "StatelessWhile": (0, "T", ("body", "cond")),
}
READ_SUFFIX = "/Read/ReadVariableOp"
_FROZEN_IDS = itertools.count(1)


def _value_tensor_name(node) -> str:
    """What a session runs for a variable's value (TensorFlow's choice of tensor)."""
    if node.op in RESOURCE_VARIABLE_OPS:
        return node.name + READ_SUFFIX + ":0"
    return node.name + ":0"


class _Body:
    """The nodes of the graph or of one library function, and who consumes what:
    ``(source, output index) -> [(node, input position)]``, where a function's source is
    an argument name or a node name."""

    def __init__(self, nodes, function=None):
        self.function = function
        self.nodes = {node.name: node for node in nodes}
        self.consumers: dict[tuple, list] = {}
        for node in nodes:
            for position, text in enumerate(node.input):
                if not text.startswith("^"):
                    self.consumers.setdefault(self._source(text), []).append((node, position))

    def _source(self, text: str) -> tuple:
        parts = text.split(":")
        index = int(parts[-1]) if len(parts) > 1 and parts[-1].isdigit() else 0
        return parts[0], index

    def outputs_of(self, name: str, index: int | None = None) -> list:
        return [c for (source, i), found in self.consumers.items() if source == name
                and (index is None or i == index) for c in found]


class _Freezer:
    """Rewrites one GraphDef (a copy) as each variable's value flows through it."""

    def __init__(self, graph_def: GraphDef):
        self.graph = graph_def
        self.main = _Body(list(graph_def.node))
        self.functions = {f.signature.name: f for f in graph_def.library.function}
        self.bodies: dict[str, _Body] = {}
        self.renamed: dict[str, str] = {}

    def freeze(self, name: str, value: np.ndarray) -> None:
        node = self.main.nodes[name]
        dtype = node.attr["dtype"].type
        node.Clear()
        node.name = name
        node.op = "Const"
        node.attr["dtype"].type = dtype
        node.attr["value"].tensor.CopyFrom(from_array(value, dtype, value.shape))
        self._carry_from(self.main, name, None, dtype, value.shape)

    def _carry_from(self, body: _Body, source: str, index, dtype: int, shape) -> None:
        for destination, position in body.outputs_of(source, index):
            self._carry(body, destination, position, dtype, shape)

    def _carry(self, body: _Body, node, position: int, dtype: int, shape) -> None:
        if node.op in PASS_THROUGH_OPS:
            _set_type(node, "T", position, dtype)
            if "_output_shapes" in node.attr:
                del node.attr["_output_shapes"]
            self._carry_from(body, node.name, None, dtype, shape)
        elif node.op == "ReadVariableOp":
            _rewrite(node, "Identity", [node.input[0]], {"T": node.attr["dtype"]})
            if body.function is not None:
                for consumer, i in body.outputs_of(node.name):
                    consumer.input[i] = consumer.input[i].replace(f"{node.name}:value:",
                                                                  f"{node.name}:output:")
        elif node.op == "ResourceGather" and body.function is None:
            self._gather(node)
        elif node.op == "ResourceGatherNd":
            _rewrite(node, "GatherNd", list(node.input[:2]),
                     {"Tparams": node.attr["dtype"], "Tindices": node.attr["Tindices"]})
        elif node.op in FUNCTION_CALLS:
            self._call(node, position, dtype, shape)

    def _call(self, node, position: int, dtype: int, shape) -> None:
        first, type_attr, function_attrs = FUNCTION_CALLS[node.op]
        if position < first:
            return
        argument = position - first
        for attr in function_attrs:
            value = node.attr[attr]
            refs = [value.func] if value.HasField("func") else list(value.list.func)
            for ref in refs:
                ref.name = self._function_argument(ref.name, argument, dtype, shape)
        _set_type(node, type_attr, argument, dtype)
        if node.op in ("While", "StatelessWhile"):
            shapes = node.attr["output_shapes"].list.shape
            if len(shapes) > argument:
                shapes[argument].Clear()
                for size in shape:
                    shapes[argument].dim.add(size=size)
            body = self.functions[node.attr["body"].func.name]
            body.signature.output_arg[argument].type = dtype

    def _function_argument(self, name: str, argument: int, dtype: int, shape) -> str:
        """Carry a value into argument ``argument`` of function ``name``; its new name."""
        new_name = name if name in self.bodies else self.renamed.get(name)
        if new_name is None:
            base, _, suffix = name.rpartition("_")
            new_name = f"{base if suffix.isdigit() and base else name}_frozen_{next(_FROZEN_IDS)}"
            function = self.functions.pop(name)
            function.signature.name = new_name
            self.functions[new_name] = function
            self.renamed[name] = new_name
            self.bodies[new_name] = _Body(list(function.node_def), function)
        function = self.functions[new_name]
        body = self.bodies[new_name]
        self._carry_from(body, function.signature.input_arg[argument].name, 0, dtype, shape)
        function.signature.input_arg[argument].type = dtype
        if "_input_shapes" in function.attr:
            forgotten = function.attr["_input_shapes"].list.shape[argument]
            forgotten.Clear()
            forgotten.unknown_rank = True
        arg_attrs = function.arg_attr[argument].attr
        if "_output_shapes" in arg_attrs:
            arg_attrs["_output_shapes"].list.shape[0].Clear()
            arg_attrs["_output_shapes"].list.shape[0].unknown_rank = True
        return new_name

    def _gather(self, node) -> None:
        if node.attr["batch_dims"].i != 0:
            raise ValueError(f"batch_dims must be 0 for freeze_graph, but got "
                             f"node({node.name}).attr('batch_dims') = "
                             f"{node.attr['batch_dims'].i}.")
        axis_name = node.name + "/axis"
        index_type = type(node.attr["Tindices"])()
        index_type.CopyFrom(node.attr["Tindices"])
        if axis_name not in self.main.nodes:
            axis = self.graph.node.add(name=axis_name, op="Const")
            axis.attr["dtype"].CopyFrom(index_type)
            axis.attr["value"].tensor.CopyFrom(from_array(np.array(0), index_type.type, ()))
            self.main.nodes[axis_name] = axis
        _rewrite(node, "GatherV2", [node.input[0], node.input[1], axis_name],
                 {"Tparams": node.attr["dtype"], "Tindices": index_type, "Taxis": index_type})


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
    kept = {key: value for key, value in attrs.items()}
    if "_class" in node.attr:
        kept["_class"] = node.attr["_class"]
    copies = {}
    for key, value in kept.items():
        copies[key] = type(value)()
        copies[key].CopyFrom(value)
    name = node.name
    node.Clear()
    node.name = name
    node.op = op
    node.input.extend(inputs)
    for key, value in copies.items():
        node.attr[key].CopyFrom(value)


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
        if name in freezer.main.nodes:
            freezer.freeze(name, np.asarray(value))
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
