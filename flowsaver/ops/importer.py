"""``tf.import_graph_def``: add the nodes of a GraphDef to the default graph.

Every op type is checked before anything is added: all the types flowsaver lacks are
reported in one error, so a foreign graph never fails halfway through a run. Nodes may
come in any order; they are added inputs first. Under a prefix, names, inputs, control
inputs and ``loc:@`` colocation entries are renamed as TensorFlow renames them; tensors
remapped through ``input_map`` are not.

A GraphDef may come from a corrupted or hostile file, so each node is checked as
TensorFlow's importer checks it before it becomes an Operation: a valid unique name,
every attr its op requires, of the attr's type and allowed values, inputs that exist, as
many as the op takes and of the dtypes it takes, no cycle but a loop's (a NextIteration
into a Merge, joined once both exist, as TensorFlow does); and (stricter than TensorFlow,
which fails only when the graph runs) Const values that match their dtype and would
decode within tensor_proto's size limit. Errors are ValueError, or the OpError the
problem raises at run time, and name the node. The import is atomic: when it fails, the
graph is left as it was (``rollback_on_error``).
"""
from __future__ import annotations

import contextlib

from flowsaver import errors
from flowsaver.format import dtypes, tensor_proto
from flowsaver.graph import attr_value
from flowsaver.graph.graph import VALID_OP_NAME, get_default_graph
from flowsaver.graph.operation import Operation, Tensor
from flowsaver.ops import registry, validate
from flowsaver.ops.functional import library as function_library
from flowsaver.ops.op_builder import infer_shapes

# Attrs TensorFlow computes on export and drops on import.
DROPPED_ATTRS = ("_output_shapes",)
# The most outputs one node may have. A list output's length is an attr, so a hostile
# N = 10**12 would otherwise build a Python list of that many Tensors.
MAX_NODE_OUTPUTS = 1 << 20
# What a shape function may raise on a node it does not understand: the node keeps
# unknown shapes (RecursionError: constant_value walking a very long Identity chain).
_SHAPE_FN_ERRORS = (ValueError, TypeError, KeyError, IndexError, AttributeError,
                    ArithmeticError, RecursionError, errors.OpError)


def _all_nodes(graph_def) -> list:
    """``(where, node)`` for the GraphDef's nodes and those of every library function;
    ``where`` names the node as an error should (``node 'x' of function 'f'``)."""
    nodes = [(repr(n.name), n) for n in graph_def.node]
    for function_def in graph_def.library.function:
        function = function_def.signature.name
        nodes.extend((f"{n.name!r} of function {function!r}", n)
                      for n in function_def.node_def)
    return nodes


def missing_op_types(graph_def) -> list[str]:
    return sorted({n.op for _, n in _all_nodes(graph_def) if n.op not in registry.OP_DEFS})


def check_supported(graph_def) -> None:
    """Raise, naming every op type flowsaver has no definition or kernel for (function
    bodies included) and a node that uses it."""
    missing = missing_op_types(graph_def)
    nodes = _all_nodes(graph_def)
    no_kernel = sorted({n.op for _, n in nodes
                        if n.op in registry.OP_DEFS and n.op not in registry.KERNELS})
    if missing or no_kernel:
        parts = []
        if missing:
            users = {t: next(where for where, n in nodes if n.op == t) for t in missing}
            parts.append("op types flowsaver does not know: " + ", ".join(
                f"{t!r} (e.g. node {users[t]})" for t in missing))
        if no_kernel:
            parts.append("op types flowsaver cannot run: " + ", ".join(no_kernel))
        raise errors.UnimplementedError(
            f"The graph uses {len(missing) + len(no_kernel)} op type(s) flowsaver does not "
            f"support; nothing was imported. " + "; ".join(parts))


@contextlib.contextmanager
def rollback_on_error(graph):
    """Leave ``graph`` as it was (ops, used names, collections) if the block raises."""
    snapshot = graph.snapshot()
    try:
        yield
    except BaseException:
        graph.restore(snapshot)
        raise


def _split_input(name: str):
    """(op name, output index, is_control) of a NodeDef input string."""
    if name.startswith("^"):
        return name[1:], -1, True
    op, sep, index = name.rpartition(":")
    if sep and index.isdigit():
        return op, int(index), False
    return name, 0, False


def _check_names(nodes) -> None:
    seen = set()
    for node in nodes:
        if not VALID_OP_NAME.match(node.name):
            raise ValueError(f"Node {node.name[:200]!r} ({node.op}): the name is empty or "
                             f"has characters a node name cannot have")
        if node.name in seen:
            raise ValueError(f"Node '{node.name}' appears more than once in the GraphDef")
        seen.add(node.name)


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
                if dep is None or _is_back_edge(node, dep):
                    continue
                if state.get(src) == 1:
                    raise ValueError(f"The GraphDef has a cycle through node '{node.name}' "
                                     f"(its input '{inp}')")
                if not state.get(src):
                    stack.append((dep, False))
    return order


def _is_back_edge(node, dep) -> bool:
    """A loop's back edge: a NextIteration into a Merge, added once both exist."""
    return registry.has_trait(node.op, registry.FORWARDS_LIVE) and \
        registry.has_trait(dep.op, registry.NEXT_ITERATION)


def import_graph_def(graph_def, input_map=None, return_elements=None, name=None,
                     op_dict=None, producer_op_list=None):
    """Import ``graph_def`` into the default graph under scope ``name`` ("import" if None).

    Returns:
      The elements named by ``return_elements`` ("op" or "op:0", unprefixed), or None.
    Raises:
      UnimplementedError: op types flowsaver lacks (all of them listed).
      ValueError: a node that is invalid (see the module docstring), an input that names
        no node, or an ``input_map`` key never used. Nothing is imported then.
      InvalidArgumentError, ResourceExhaustedError: a Const whose value does not decode
        to its dtype and shape, or would be too large.
    """
    graph = get_default_graph()
    check_supported(graph_def)
    nodes = list(graph_def.node)
    _check_names(nodes)
    input_map = {_canonical(k): v for k, v in (input_map or {}).items()}
    unbound = sorted({i for n in nodes for i in n.input
                      if i.lstrip("^").startswith("$unbound_inputs_")
                      and _canonical(i.lstrip("^")) not in input_map and i not in input_map})
    if unbound:
        raise ValueError(f"Graph contains unbound inputs: {unbound}. Must provide these "
                         f"inputs through input_map.")
    in_graph_def = {n.name for n in nodes}
    function_library.check_addable(graph, graph_def.library)  # before anything is added
    with rollback_on_error(graph):
        with graph.name_scope(name if name is not None else "import") as scope:
            prefix = scope[:-1] if scope else ""
        created: dict = {}
        used_keys = set()
        back_edges: list = []
        for node in _ordered(nodes):
            created[node.name] = _add_node(graph, node, prefix, created, input_map, used_keys,
                                           in_graph_def, back_edges)
        for op, index, text in back_edges:
            _close_loop(op, index, text, created)
        unused = sorted(set(input_map) - used_keys)
        if unused:
            raise ValueError(f"Attempted to map inputs that were not found in graph_def: "
                             f"[{', '.join(unused)}]")
        function_library.add_all(graph, graph_def.library)
        if return_elements is None:
            return None
        out = []
        for element in return_elements:
            op_name, index, _ = _split_input(element)
            op = created.get(op_name)
            if op is None or index >= len(op.outputs):
                raise ValueError(f"Requested return_element {element!r} not found in "
                                 f"graph_def.")
            out.append(op.outputs[index] if ":" in element else op)
        return out


def _canonical(name: str) -> str:
    return name if ":" in name or name.startswith("^") else name + ":0"


def _close_loop(op: Operation, index: int, text: str, created: dict) -> None:
    """Give a loop's Merge its NextIteration input, now that it exists."""
    src, out, _ = _split_input(text)
    source = created[src]
    where = f"Node '{op.name}' ({op.type})"
    if out >= len(source.outputs):
        raise ValueError(f"{where}: input '{text}' asks for output {out}, but '{src}' has "
                         f"{len(source.outputs)} outputs")
    tensor = source.outputs[out]
    if tensor.dtype.base_dtype != op.inputs[index].dtype.base_dtype:
        raise ValueError(f"{where}: input '{text}' is {tensor.dtype.base_dtype.name}, but the "
                         f"Merge takes {op.inputs[index].dtype.base_dtype.name}")
    op.replace_input(index, tensor)


def _add_node(graph, node, prefix, created, input_map, used_keys, in_graph_def,
              back_edges) -> Operation:
    where = f"Node '{node.name}' ({node.op})"
    op_def = registry.OP_DEFS[node.op]
    attrs = _checked_attrs(node, op_def, prefix, where)
    inputs, controls, texts = [], [], []
    pending = []  # (input index, text) of back edges, added once their source exists
    for text in node.input:
        src, index, is_control = _split_input(text)
        key = "^" + src if is_control else f"{src}:{index}"
        if key in input_map:
            used_keys.add(key)
            mapped = input_map[key]
            if not is_control and not isinstance(mapped, Tensor):
                raise TypeError(f"{where}: input_map maps '{key}' to {mapped!r}, not a Tensor")
            (controls if is_control else inputs).append(mapped)
            texts.append(text)
            continue
        if src not in created:
            if src in in_graph_def and not is_control and \
                    registry.has_trait(node.op, registry.FORWARDS_LIVE):
                pending.append((len(inputs), text))  # a loop's back edge
                inputs.append(None)
                texts.append(text)
                continue
            raise ValueError(f"{where}: input '{text}' names no node of the GraphDef")
        op = created[src]
        if is_control:
            controls.append(op)
        else:
            if index >= len(op.outputs):
                raise ValueError(f"{where}: input '{text}' asks for output {index}, but "
                                 f"'{src}' has {len(op.outputs)} outputs")
            inputs.append(op.outputs[index])
            texts.append(text)
    if pending:  # stand-ins until the loop is closed, as TensorFlow's while_loop builds it
        given = [t for t in inputs if t is not None]
        if not given:
            raise ValueError(f"{where}: every input is a NextIteration; a loop's Merge needs "
                             f"one from outside the loop")
        inputs = [given[0] if t is None else t for t in inputs]
    _check_inputs(op_def, attrs, inputs, texts, where)
    out_types = _arg_types(op_def.outputs, attrs, where, "outputs")
    if node.op == "Const":
        _check_const(attrs, where)
    full_name = f"{prefix}/{node.name}" if prefix else node.name
    if full_name in graph:
        raise ValueError(f"Node '{full_name}' already exists in the graph; import under a "
                         f"name (import_scope) to keep both")
    op = Operation(graph, full_name, node.op, inputs, attrs, out_types,
                   control_inputs=controls, device=node.device, op_def=op_def)
    graph.add_imported_op(op)  # exactly its own control inputs, device and colocation
    back_edges.extend((op, index, text) for index, text in pending)
    try:
        infer_shapes(op)
    except _SHAPE_FN_ERRORS:
        pass  # a shape function stricter than the graph's producer: leave shapes unknown
    return op


# ---- node checks -----------------------------------------------------------------------------
def _checked_attrs(node, op_def, prefix, where) -> dict:
    """The node's attrs with defaults filled in, each checked against the op definition."""
    attrs = {k: v for k, v in node.attr.items() if k not in DROPPED_ATTRS}
    for a in op_def.attrs:  # graphs saved with strip_default_attrs leave defaults out
        value = attrs.get(a.name)
        if value is not None and value.WhichOneof("value") is None:
            value = None  # an AttrValue holding nothing stands for no value
        if value is None:
            if a.default is None:
                raise ValueError(f"{where} lacks the attr '{a.name}' ({a.type}) its op "
                                 f"requires")
            value = a.default
        _check_attr(a, value, where)
        attrs[a.name] = value
    if "_class" in attrs:
        groups = _class_groups(attrs["_class"], where)
        if prefix:
            attrs["_class"] = attr_value.encode(
                [f"loc:@{prefix}/{g[5:]}" if g.startswith("loc:@") else g for g in groups],
                "list(string)")
    return attrs


def _class_groups(value, where) -> list[str]:
    if value.WhichOneof("value") != "list" or any(
            len(getattr(value.list, f)) for f in validate.FIELD.values() if f != "s"):
        raise ValueError(f"{where}: attr '_class' should be a list of strings")
    try:
        return [s.decode() for s in value.list.s]
    except UnicodeDecodeError:
        raise ValueError(f"{where}: attr '_class' holds bytes that are not UTF-8") from None


def _check_attr(a, value, where) -> None:
    """TypeError-free checks of one attr: its field, dtypes, allowed values, minimum."""
    problem = validate.attr_problem(a, value)
    if problem is not None:
        raise ValueError(f"{where}: attr '{a.name}' {problem.message}")


def _arg_types(args, attrs, where, what) -> list:
    """The dtype of each tensor of ``args`` (inputs or outputs), counted before made."""
    counts = []
    for arg in args:
        if arg.type_list_attr:
            counts.append(len(attrs[arg.type_list_attr].list.type))
        elif arg.number_attr:
            counts.append(attrs[arg.number_attr].i)
        else:
            counts.append(1)
    if any(n < 0 for n in counts) or sum(counts) > MAX_NODE_OUTPUTS:
        raise errors.ResourceExhaustedError(
            f"{where}: its attrs ask for {sum(counts)} {what}; flowsaver allows 0 to "
            f"{MAX_NODE_OUTPUTS}")
    out = []
    for arg, count in zip(args, counts):
        if arg.type_list_attr:
            types = [dtypes.BY_ENUM[t] for t in attrs[arg.type_list_attr].list.type]
        elif arg.fixed_type:
            types = [attr_value.as_dtype(arg.fixed_type)] * count
        else:
            types = [dtypes.BY_ENUM[attrs[arg.type_attr].type]] * count
        for t in types:
            if arg.is_ref and t.enum + dtypes.REF_OFFSET not in dtypes.REF_BY_ENUM:
                raise ValueError(f"{where}: a {t.name} cannot be a reference ({arg.name})")
            out.append(t._as_ref if arg.is_ref else t)
    return out


def _check_inputs(op_def, attrs, inputs, texts, where) -> None:
    """As many data inputs as the op takes, each of the dtype it takes."""
    expected = _arg_types(op_def.inputs, attrs, where, "inputs")
    if len(expected) != len(inputs):
        raise ValueError(f"{where} has {len(inputs)} data inputs; with its attrs, the op "
                         f"takes {len(expected)}")
    for i, (tensor, want) in enumerate(zip(inputs, expected)):
        got = tensor.dtype
        # A ref input needs the variable itself; any other input also reads a ref's value.
        if (got != want) if want._is_ref_dtype else (got.base_dtype != want):
            raise ValueError(f"{where}: input {i} ('{texts[i]}') is {got.name}, the op "
                             f"expects {want.name}")


def _check_const(attrs, where) -> None:
    """A Const value that decodes to its dtype, within tensor_proto's fill limit.

    Const arrays are decoded when a session plans the node; a proto declaring 10**12
    elements and storing one would fail there (or, under the limit, fill memory) far from
    the file that holds it, so it is refused here, naming the node.
    """
    proto = attrs["value"].tensor
    dtype = dtypes.BY_ENUM[attrs["dtype"].type]
    if proto.dtype != dtype.enum:
        raise errors.InvalidArgumentError(
            f"{where}: attr dtype is {dtype.name} but its value is of DataType {proto.dtype}")
    dims = tensor_proto.proto_shape(proto, f"{where} value")
    count = 1
    for d in dims:
        count *= d
    itemsize = dtype.numpy.itemsize if dtype.kind == "memcpy" else 8
    if count == 0:
        return
    if proto.tensor_content:
        if dtype.kind == "memcpy" and len(proto.tensor_content) != count * itemsize:
            raise errors.InvalidArgumentError(
                f"{where}: value has {len(proto.tensor_content)} bytes of content, its shape "
                f"{list(dims)} of {dtype.name} needs {count * itemsize}")
        return
    field = tensor_proto.FIELDS.get(dtype.enum)
    if field is None:
        return  # decoding raises UnimplementedError when the node is planned
    stored = len(getattr(proto, field.name))
    stored = stored // 2 if field.kind == "pairs" else stored
    if stored < count and count * itemsize > tensor_proto.MAX_FILL_BYTES:
        raise errors.ResourceExhaustedError(
            f"{where}: value declares shape {list(dims)} ({count} elements) but stores "
            f"{stored}; filling it would take {count * itemsize} bytes, more than the limit "
            f"of {tensor_proto.MAX_FILL_BYTES}")
