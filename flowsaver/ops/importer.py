"""``tf.import_graph_def``: add the nodes of a GraphDef to the default graph.

Every op type is checked before anything is added: all the types flowsaver lacks are
reported in one error, so a foreign graph never fails halfway through a run. Nodes may
come in any order; they are added inputs first. Under a prefix, names, inputs, control
inputs and ``loc:@`` colocation entries are renamed as TensorFlow renames them; tensors
remapped through ``input_map`` are not.
"""
from __future__ import annotations

from flowsaver import errors
from flowsaver.graph import attr_value
from flowsaver.graph.graph import get_default_graph
from flowsaver.graph.operation import Operation
from flowsaver.ops import registry
from flowsaver.ops.op_builder import _output_types, infer_shapes

# Attrs TensorFlow computes on export and drops on import.
DROPPED_ATTRS = ("_output_shapes",)


def missing_op_types(graph_def) -> list[str]:
    return sorted({n.op for n in graph_def.node if n.op not in registry.OP_DEFS})


def check_supported(graph_def) -> None:
    """Raise, naming every op type flowsaver has no definition or kernel for."""
    missing = missing_op_types(graph_def)
    no_kernel = sorted({n.op for n in graph_def.node
                        if n.op in registry.OP_DEFS and n.op not in registry.KERNELS})
    if missing or no_kernel:
        parts = []
        if missing:
            users = {t: [n.name for n in graph_def.node if n.op == t][:3] for t in missing}
            parts.append("op types flowsaver does not know: " + ", ".join(
                f"{t} (e.g. node {users[t][0]})" for t in missing))
        if no_kernel:
            parts.append("op types flowsaver cannot run: " + ", ".join(no_kernel))
        raise errors.UnimplementedError(
            f"The graph uses {len(missing) + len(no_kernel)} op type(s) flowsaver does not "
            f"support; nothing was imported. " + "; ".join(parts))


def _split_input(name: str):
    """(op name, output index, is_control) of a NodeDef input string."""
    if name.startswith("^"):
        return name[1:], -1, True
    op, sep, index = name.rpartition(":")
    if sep and index.isdigit():
        return op, int(index), False
    return name, 0, False


def _ordered(nodes) -> list:
    """Nodes with every node after its inputs (control and data)."""
    by_name = {n.name: n for n in nodes}
    order, state = [], {}
    for root in nodes:
        stack = [(root, False)]
        while stack:
            node, done = stack.pop()
            if done:
                state[node.name] = 2
                order.append(node)
                continue
            if state.get(node.name):
                continue
            state[node.name] = 1
            stack.append((node, True))
            for inp in reversed(node.input):
                src = _split_input(inp)[0]
                dep = by_name.get(src)
                if dep is None:
                    continue
                if state.get(src) == 1 and node.op not in ("Merge", "RefMerge"):
                    raise ValueError(f"The GraphDef has a cycle through node '{node.name}'")
                if not state.get(src):
                    stack.append((dep, False))
    return order


def import_graph_def(graph_def, input_map=None, return_elements=None, name=None,
                     op_dict=None, producer_op_list=None):
    """Import ``graph_def`` into the default graph under scope ``name`` ("import" if None).

    Returns:
      The elements named by ``return_elements`` ("op" or "op:0", unprefixed), or None.
    Raises:
      UnimplementedError: op types flowsaver lacks (all of them listed).
      ValueError: an input that names no node, or an ``input_map`` key never used.
    """
    graph = get_default_graph()
    check_supported(graph_def)
    input_map = {_canonical(k): v for k, v in (input_map or {}).items()}
    unbound = sorted({i for n in graph_def.node for i in n.input
                      if i.lstrip("^").startswith("$unbound_inputs_")
                      and _canonical(i.lstrip("^")) not in input_map and i not in input_map})
    if unbound:
        raise ValueError(f"Graph contains unbound inputs: {unbound}. Must provide these "
                         f"inputs through input_map.")
    with graph.name_scope(name if name is not None else "import") as scope:
        prefix = scope[:-1] if scope else ""
    created: dict = {}
    used_keys = set()
    for node in _ordered(list(graph_def.node)):
        created[node.name] = _add_node(graph, node, prefix, created, input_map, used_keys)
    unused = sorted(set(input_map) - used_keys)
    if unused:
        raise ValueError(f"Attempted to map inputs that were not found in graph_def: "
                         f"[{', '.join(unused)}]")
    if return_elements is None:
        return None
    out = []
    for element in return_elements:
        op_name, index, _ = _split_input(element)
        op = created.get(op_name)
        if op is None:
            raise ValueError(f"Requested return_element {element!r} not found in graph_def.")
        out.append(op.outputs[index] if ":" in element else op)
    return out


def _canonical(name: str) -> str:
    return name if ":" in name or name.startswith("^") else name + ":0"


def _add_node(graph, node, prefix, created, input_map, used_keys) -> Operation:
    op_def = registry.OP_DEFS[node.op]
    attrs = {k: v for k, v in node.attr.items() if k not in DROPPED_ATTRS}
    for a in op_def.attrs:  # graphs saved with strip_default_attrs leave defaults out
        if a.name not in attrs and a.default is not None:
            attrs[a.name] = a.default
    if "_class" in attrs and prefix:
        groups = [s.decode() for s in attrs["_class"].list.s]
        attrs["_class"] = attr_value.encode(
            [f"loc:@{prefix}/{g[5:]}" if g.startswith("loc:@") else g for g in groups],
            "list(string)")
    inputs, controls = [], []
    for text in node.input:
        src, index, is_control = _split_input(text)
        key = "^" + src if is_control else f"{src}:{index}"
        if key in input_map:
            used_keys.add(key)
            mapped = input_map[key]
            (controls if is_control else inputs).append(mapped)
            continue
        if src not in created:
            raise ValueError(f"Node '{node.name}': input '{text}' names no node of the "
                             f"GraphDef")
        op = created[src]
        if is_control:
            controls.append(op)
        else:
            if index >= len(op.outputs):
                raise ValueError(f"Node '{node.name}': input '{text}' asks for output "
                                 f"{index}, but '{src}' has {len(op.outputs)} outputs")
            inputs.append(op.outputs[index])
    full_name = f"{prefix}/{node.name}" if prefix else node.name
    if full_name in graph:
        raise ValueError(f"Node '{full_name}' already exists in the graph; import under a "
                         f"name (import_scope) to keep both")
    try:
        out_types = _output_types(op_def, attrs)
    except KeyError as e:
        raise ValueError(f"Node '{node.name}' ({node.op}) lacks attr {e.args[0]!r}") from None
    op = Operation(graph, full_name, node.op, inputs, attrs, out_types,
                   control_inputs=controls, device=node.device, op_def=op_def)
    saved_scopes = graph._control_scopes
    graph._control_scopes = []  # imported nodes keep exactly their own control inputs
    saved_devices, graph._device_stack = graph._device_stack, []
    saved_colocation, graph._colocation_stack = graph._colocation_stack, []
    try:
        graph._add_op(op)
    finally:
        graph._control_scopes = saved_scopes
        graph._device_stack = saved_devices
        graph._colocation_stack = saved_colocation
    try:
        infer_shapes(op)
    except (ValueError, TypeError, KeyError):
        pass  # a shape function stricter than the graph's producer: leave shapes unknown
    return op
