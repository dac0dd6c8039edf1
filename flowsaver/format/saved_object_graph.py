"""Which checkpoint key holds each variable of a TF2 SavedModel's graph.

A TF2 SavedModel (``tf.saved_model.save``, Keras ``model.save``) names its variables three
ways: the graph has a ``VarHandleOp`` per variable (graph names made unique, ``w``,
``w_1``), the MetaGraph's SavedObjectGraph has a ``SavedVariable`` node per variable, and
the checkpoint's TrackableObjectGraph gives each node id its checkpoint key
(``a/.ATTRIBUTES/VARIABLE_VALUE``). The two object graphs share node ids. What ties a
handle op to a node id, most reliable first:

1. a call of a concrete function in the graph (``StatefulPartitionedCall`` with ``f``): its
   last inputs are the function's captured variables, the node ids of its ``bound_inputs``;
2. the call of the restore function the SaverDef names: its inputs after the file name are
   every saved variable's handle, in node id order;
3. a variable node whose ``SavedVariable.name`` no other variable node has, and which is
   the ``shared_name`` of exactly one handle.

Names alone are not enough: two variables both named ``w`` get handles ``w`` and ``w_1`` in
whatever order the graph was built.
"""
from __future__ import annotations

from flowsaver import errors

VARIABLE_VALUE = "VARIABLE_VALUE"
HANDLE_OPS = frozenset({"VarHandleOp"})
CALL_OPS = frozenset({"StatefulPartitionedCall", "PartitionedCall"})


def variable_node_ids(object_graph) -> list[int]:
    """Ids of the SavedObjectGraph's variable nodes, in order."""
    return [i for i, node in enumerate(object_graph.nodes)
            if node.WhichOneof("kind") == "variable"]


def _input_node(text: str) -> str:
    return text.lstrip("^").split(":")[0]


def handle_node_ids(meta_graph_def, where: str) -> dict[str, int]:
    """``{VarHandleOp node name: SavedObjectGraph node id}`` for every handle that can be
    tied to a variable node.

    Raises:
      DataLossError: two ways disagree on a handle (the message names ``where``).
    """
    object_graph = meta_graph_def.object_graph_def
    nodes = {n.name: n for n in meta_graph_def.graph_def.node}
    handles = {name for name, n in nodes.items() if n.op in HANDLE_OPS}
    variables = variable_node_ids(object_graph)
    found: dict[str, int] = {}

    def tie(handle: str, node_id: int, how: str) -> None:
        if handle not in handles or node_id not in variables:
            return
        if found.setdefault(handle, node_id) != node_id:
            raise errors.DataLossError(
                f"{where}: handle {handle!r} is variable node {found[handle]} by one "
                f"record and node {node_id} by {how}")

    for node in nodes.values():
        if node.op not in CALL_OPS:
            continue
        function = object_graph.concrete_functions.get(node.attr["f"].func.name)
        if function is None or not function.bound_inputs:
            continue
        captured = [i for i in node.input if not i.startswith("^")][-len(function.bound_inputs):]
        for text, node_id in zip(captured, function.bound_inputs):
            tie(_input_node(text), node_id, "a function's captured inputs")
    restore_name = meta_graph_def.saver_def.restore_op_name
    restore = nodes.get(_input_node(restore_name)) if restore_name else None
    if restore is not None and restore.op in CALL_OPS:
        saved = [_input_node(i) for i in restore.input[1:] if not i.startswith("^")]
        if len(saved) == len(variables) and all(h in handles for h in saved):
            for handle, node_id in zip(saved, variables):
                tie(handle, node_id, "the restore function's inputs")
    by_shared_name: dict[str, list[str]] = {}
    for name in handles:
        shared = nodes[name].attr["shared_name"].s.decode("utf-8", "replace") or name
        by_shared_name.setdefault(shared, []).append(name)
    tied = set(found.values())
    names = [object_graph.nodes[i].variable.name for i in variables]
    for node_id, name in zip(variables, names):
        candidates = by_shared_name.get(name, [])
        if node_id not in tied and names.count(name) == 1 and len(candidates) == 1 \
                and candidates[0] not in found:
            tie(candidates[0], node_id, "its name")
    return found


def checkpoint_keys(checkpoint_object_graph) -> dict[int, str]:
    """``{node id: checkpoint key of its value}`` from a checkpoint's TrackableObjectGraph."""
    keys = {}
    for node_id, node in enumerate(checkpoint_object_graph.nodes):
        for attribute in node.attributes:
            if attribute.name == VARIABLE_VALUE:
                keys[node_id] = attribute.checkpoint_key
    return keys


def handle_checkpoint_keys(meta_graph_def, checkpoint_object_graph, where: str) -> dict:
    """``{VarHandleOp node name: checkpoint key}`` for a TF2 SavedModel's MetaGraph.

    Raises:
      DataLossError: the MetaGraph has no object graph, a variable's handle cannot be
        found, or its node has no value in the checkpoint; names ``where``.
    """
    if not meta_graph_def.HasField("object_graph_def"):
        raise errors.DataLossError(f"{where}: the MetaGraph has no SavedObjectGraph, so it "
                                   f"is not a TF2 SavedModel")
    handles = handle_node_ids(meta_graph_def, where)
    keys = checkpoint_keys(checkpoint_object_graph)
    object_graph = meta_graph_def.object_graph_def
    tied = set(handles.values())
    lost = [object_graph.nodes[i].variable.name for i in variable_node_ids(object_graph)
            if i not in tied]
    if lost:
        raise errors.DataLossError(f"{where}: no graph handle found for the variables "
                                   f"{lost}")
    out = {}
    for handle, node_id in sorted(handles.items()):
        if node_id not in keys:
            raise errors.DataLossError(
                f"{where}: variable {object_graph.nodes[node_id].variable.name!r} (node "
                f"{node_id}) has no value in the checkpoint's object graph")
        out[handle] = keys[node_id]
    return out
