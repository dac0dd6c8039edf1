"""A GraphDef as a Graphviz DOT graph: name scopes as nested clusters, one box per node
(its short name, op type and output shapes), data edges solid and control edges dashed.

Variables (VariableV2, VarHandleOp, ...) are filled yellow boxes, placeholders blue
"invhouse" shapes, constants grey. ``depth`` limits the nesting shown: a node more than
``depth`` scopes deep is drawn as the one box of its scope at that depth ("dense/ (12
ops)"), and edges between boxes are merged, labelled with how many they stand for. With
no depth every node is drawn.

Node ids in the DOT text are ``n0``, ``n1``, ... (group boxes ``g0``, ...; inputs naming
no node of the graph ``m0``, ...) so that no TensorFlow name needs quoting as an id;
every name appears in a quoted, escaped label and in the ``tooltip``.
"""
from __future__ import annotations

import dataclasses

VARIABLE_OPS = frozenset({"VariableV2", "Variable", "VarHandleOp", "AutoReloadVariable",
                          "TemporaryVariable", "_VarHandlesOp"})
PLACEHOLDER_OPS = frozenset({"Placeholder", "PlaceholderV2", "PlaceholderWithDefault"})
CONST_OPS = frozenset({"Const", "HostConst"})
STYLES = {   # op class -> DOT node attributes
    "variable": 'shape=box, style="filled,bold", fillcolor="#fde8a8"',
    "placeholder": 'shape=invhouse, style=filled, fillcolor="#cfe3ff"',
    "const": 'shape=box, style=filled, fillcolor="#eeeeee"',
    "op": 'shape=box, style="rounded,filled", fillcolor="#ffffff"',
    "group": 'shape=box3d, style=filled, fillcolor="#e6f2e6"',
    "missing": 'shape=box, style=dashed, color="#999999"',
}
MAX_INDENT = 40   # deeper clusters are not indented further


def quote(text: str) -> str:
    """A DOT double-quoted string showing ``text``: backslashes and quotes escaped, a
    newline as DOT's line break, other control characters as visible ``\\xNN``."""
    if text.isprintable() and "\\" not in text and '"' not in text:
        return f'"{text}"'
    out = []
    for c in text:
        if c == "\\":
            out.append("\\\\")
        elif c == '"':
            out.append('\\"')
        elif c == "\n":
            out.append("\\n")
        elif not c.isprintable():
            out.append(f"\\\\x{ord(c):02x}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def shape_text(shape) -> str:
    """``[?,3]`` for a TensorShapeProto; ``<unknown>`` for an unknown rank."""
    if shape.unknown_rank:
        return "<unknown>"
    return "[" + ",".join("?" if d.size < 0 else str(d.size) for d in shape.dim) + "]"


def node_shapes(node) -> list[str]:
    """Output shapes from ``_output_shapes``, else the ``shape`` attr, else a Const value."""
    attr = node.attr
    if "_output_shapes" in attr:
        return [shape_text(s) for s in attr["_output_shapes"].list.shape]
    if "shape" in attr and attr["shape"].WhichOneof("value") == "shape":
        return [shape_text(attr["shape"].shape)]
    if node.op in CONST_OPS and "value" in attr:
        return [shape_text(attr["value"].tensor.tensor_shape)]
    return []


def op_class(op: str) -> str:
    if op in VARIABLE_OPS:
        return "variable"
    if op in PLACEHOLDER_OPS:
        return "placeholder"
    return "const" if op in CONST_OPS else "op"


@dataclasses.dataclass
class _Scope:
    """A cluster: its child scopes and the DOT lines of the boxes directly in it."""

    path: str
    children: dict = dataclasses.field(default_factory=dict)
    lines: list = dataclasses.field(default_factory=list)


def _input_node(name: str) -> tuple[str, bool]:
    """``(node name, is control)`` of an input string ``^n``, ``n:1`` or ``n``."""
    control = name.startswith("^")
    name = name[1:] if control else name
    head, sep, port = name.rpartition(":")
    return (head if sep and port.isdigit() else name), control


def graph_to_dot(graph_def, depth: int | None = None, title: str | None = None) -> str:
    """The DOT text of ``graph_def`` (see the module docstring)."""
    root = _Scope("")
    box_of: dict[str, str] = {}     # node name -> id of the box that shows it
    groups: dict[str, tuple[str, list]] = {}   # collapsed scope -> (id, nodes in it)
    for i, node in enumerate(graph_def.node):
        parts = node.name.split("/")
        scopes = parts[:-1]
        shown = scopes if depth is None else scopes[:depth]
        container = root
        for k in range(len(shown)):
            path = "/".join(shown[:k + 1])
            container = container.children.setdefault(path, _Scope(path))
        if depth is not None and len(scopes) > depth:
            group = "/".join(scopes[:depth + 1])
            if group not in groups:
                groups[group] = (f"g{len(groups)}", [])
                container.lines.append(("group", group))   # drawn once counts are known
            groups[group][1].append(node)
            box_of[node.name] = groups[group][0]
            continue
        box_of[node.name] = f"n{i}"
        label = "\n".join([parts[-1], node.op] + node_shapes(node))
        container.lines.append(
            f"n{i} [label={quote(label)}, tooltip={quote(node.name)}, "
            f"{STYLES[op_class(node.op)]}];")
    edges: dict[tuple[str, str, bool], int] = {}
    missing: dict[str, str] = {}
    for node in graph_def.node:
        target = box_of[node.name]
        for raw in node.input:
            name, control = _input_node(raw)
            source = box_of.get(name)
            if source is None:
                source = missing.setdefault(name, f"m{len(missing)}")
            if source != target:
                key = (source, target, control)
                edges[key] = edges.get(key, 0) + 1
    out = [f"digraph {quote(title or 'graph')} {{",
           '  graph [rankdir=TB, compound=true, fontname="Helvetica"];',
           '  node [fontname="Helvetica", fontsize=10];',
           '  edge [color="#555555"];']
    group_lines = {group: f"{gid} [label={quote(f'{group}/ ({len(nodes)} ops)')}, "
                          f"tooltip={quote(group)}, {STYLES['group']}];"
                   for group, (gid, nodes) in groups.items()}
    _emit(root, out, group_lines, "  ")
    for name, mid in missing.items():
        out.append(f"  {mid} [label={quote(name + ' (not in graph)')}, tooltip={quote(name)}, "
                   f"{STYLES['missing']}];")
    for (source, target, control), count in edges.items():
        attrs = ["style=dashed"] if control else []
        if count > 1:
            attrs.append(f'label="{count}"')
        out.append(f"  {source} -> {target}" + (f" [{', '.join(attrs)}]" if attrs else "")
                   + ";")
    out.append("}")
    return "\n".join(out) + "\n"


def _emit(root: _Scope, out: list, group_lines: dict, pad: str) -> None:
    """Write a scope's boxes, then its child scopes as nested clusters. Iterative: a
    hostile name can nest scopes deeper than Python's recursion limit."""
    stack: list = [(root, pad, False)]
    while stack:
        scope, indent, closing = stack.pop()
        if closing:
            out.append(f"{indent}}}")
            continue
        if scope is not root:
            out.append(f"{indent}subgraph {quote('cluster_' + scope.path)} {{")
            out.append(f"{indent}  label={quote(scope.path.rsplit('/', 1)[-1])}; "
                       f"tooltip={quote(scope.path)}; style=rounded; color=\"#888888\";")
            stack.append((scope, indent, True))
            indent += "  " if len(indent) < MAX_INDENT else ""
        for line in scope.lines:
            out.append(indent + (group_lines[line[1]] if isinstance(line, tuple) else line))
        for child in reversed(list(scope.children.values())):
            stack.append((child, indent, False))
