"""Tying a TF2 SavedModel's graph handles to checkpoint keys, on hand-made MetaGraphs: each
of the three records alone, their agreement, and the typed errors for a handle two records
disagree on, a variable no record ties, a MetaGraph without an object graph."""
from __future__ import annotations

import pytest

from flowsaver import errors
from flowsaver.format.graph_protos import MetaGraphDef
from flowsaver.format.protos import TrackableObjectGraph
from flowsaver.format.saved_object_graph import handle_checkpoint_keys, handle_node_ids


def _meta(handles=("w", "w_1", "u"), call=None, bound=(), restore=None) -> MetaGraphDef:
    """Root node 0, variable nodes 1..3 named w, w, u; graph handles ``handles``."""
    meta = MetaGraphDef()
    meta.object_graph_def.nodes.add().user_object.identifier = "root"
    for name in ("w", "w", "u"):
        meta.object_graph_def.nodes.add().variable.name = name
    for name in handles:
        node = meta.graph_def.node.add(name=name, op="VarHandleOp")
        node.attr["shared_name"].s = name.encode()
    meta.graph_def.node.add(name="x", op="Placeholder")
    if call is not None:
        node = meta.graph_def.node.add(name="call", op="StatefulPartitionedCall",
                                       input=["x", *call, "^x"])
        node.attr["f"].func.name = "fn"
        meta.object_graph_def.concrete_functions["fn"].bound_inputs.extend(bound)
    if restore is not None:
        meta.graph_def.node.add(name="restore", op="StatefulPartitionedCall",
                                input=["filename", *restore])
        meta.saver_def.restore_op_name = "restore"
    return meta


def _checkpoint_graph() -> TrackableObjectGraph:
    graph = TrackableObjectGraph()
    graph.nodes.add()
    for key in ("a", "b", "unused"):
        graph.nodes.add().attributes.add(name="VARIABLE_VALUE", full_name="?",
                                         checkpoint_key=f"{key}/.ATTRIBUTES/VARIABLE_VALUE")
    return graph


def test_function_captures_decide_before_names():
    meta = _meta(call=["w_1", "w"], bound=[1, 2])
    assert handle_node_ids(meta, "m") == {"w_1": 1, "w": 2, "u": 3}


def test_restore_inputs_cover_every_variable():
    assert handle_node_ids(_meta(restore=["w_1", "w", "u"]), "m") == {"w_1": 1, "w": 2, "u": 3}


def test_names_alone_tie_only_unique_ones():
    assert handle_node_ids(_meta(), "m") == {"u": 3}
    with pytest.raises(errors.DataLossError, match=r"m: no graph handle found for the "
                                                   r"variables \['w', 'w'\]"):
        handle_checkpoint_keys(_meta(), _checkpoint_graph(), "m")


def test_records_that_disagree():
    meta = _meta(call=["w_1", "w"], bound=[1, 2], restore=["w", "w_1", "u"])
    with pytest.raises(errors.DataLossError, match="handle 'w' is variable node 2 by one "
                                                   "record and node 1 by the restore"):
        handle_node_ids(meta, "m")


def test_keys_from_the_checkpoint_object_graph():
    meta = _meta(call=["w_1", "w"], bound=[1, 2])
    assert handle_checkpoint_keys(meta, _checkpoint_graph(), "m") == {
        "w_1": "a/.ATTRIBUTES/VARIABLE_VALUE", "w": "b/.ATTRIBUTES/VARIABLE_VALUE",
        "u": "unused/.ATTRIBUTES/VARIABLE_VALUE"}
    graph = _checkpoint_graph()
    del graph.nodes[2].attributes[:]
    with pytest.raises(errors.DataLossError, match=r"'w' \(node 2\) has no value"):
        handle_checkpoint_keys(meta, graph, "m")
    with pytest.raises(errors.DataLossError, match="not a TF2 SavedModel"):
        handle_checkpoint_keys(MetaGraphDef(), graph, "m")
