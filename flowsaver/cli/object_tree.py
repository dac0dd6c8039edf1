"""How `flowsaver inspect --object-graph` shows a TF2 checkpoint's object graph: an
indented tree from the root, or the nodes as JSON."""
from __future__ import annotations


# Indentation stops growing at this depth and the depth is written out instead: a chain
# of 30,000 nodes indented two spaces per level would take 900 million spaces.
MAX_INDENT_DEPTH = 40


def _pad(depth: int) -> str:
    if depth <= MAX_INDENT_DEPTH:
        return "  " * depth
    return "  " * MAX_INDENT_DEPTH + f"[depth {depth}] "


def object_graph_lines(graph) -> list[str]:
    """The object tree from the root (node 0); shared nodes are shown once. Memory and
    output are linear in the graph's size, however deep it is."""
    lines = [f"object graph: {len(graph.nodes)} nodes"]
    seen: set[int] = set()
    for root in range(len(graph.nodes)):   # node 0 first, then any it does not reach
        if root in seen:
            continue
        # Iterative: a hostile file can chain nodes deeper than Python's recursion limit.
        stack = [(root, "(root)" if root == 0 else "(unreached)", 0)]
        while stack:
            node_id, label, depth = stack.pop()
            pad = _pad(depth)
            if node_id in seen:
                lines.append(f"{pad}{label} #{node_id} (shown above)")
                continue
            seen.add(node_id)
            node = graph.nodes[node_id]
            lines.append(f"{pad}{label} #{node_id}")
            for attr in node.attributes:
                full = f"  (full name {attr.full_name!r})" if attr.full_name else ""
                lines.append(f"{pad}  {attr.name} -> {attr.checkpoint_key}{full}")
            children = [(c.node_id, c.local_name, depth + 1) for c in node.children]
            children += [(s.slot_variable_node_id,
                          f"(slot {s.slot_name!r} of #{s.original_variable_node_id})",
                          depth + 1) for s in node.slot_variables]
            stack.extend(reversed(children))
    return lines


def object_graph_json(graph) -> list[dict]:
    return [{"id": i,
             "children": [{"node_id": c.node_id, "local_name": c.local_name}
                          for c in node.children],
             "attributes": [{"name": a.name, "full_name": a.full_name,
                             "checkpoint_key": a.checkpoint_key} for a in node.attributes],
             "slot_variables": [{"original_variable_node_id": s.original_variable_node_id,
                                 "slot_name": s.slot_name,
                                 "slot_variable_node_id": s.slot_variable_node_id}
                                for s in node.slot_variables]}
            for i, node in enumerate(graph.nodes)]
