"""The object graph of a TF2 (object-based) checkpoint.

``tf.train.Checkpoint`` stores, besides the variables, a scalar string tensor
``_CHECKPOINTABLE_OBJECT_GRAPH`` holding a serialized TrackableObjectGraph: node 0 is the
root object; each node lists its children (node id, local name), its attributes
(name, full graph-style variable name, checkpoint key) and its slot variables
(original variable node, slot name, slot variable node).
"""
from __future__ import annotations

import numpy as np
from google.protobuf.message import DecodeError

from flowsaver import errors
from flowsaver.format.protos import TrackableObjectGraph

OBJECT_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"


def parse_object_graph(value, where: str) -> TrackableObjectGraph:
    """The TrackableObjectGraph in ``value`` (bytes or a 0-d string array), node ids checked.

    Raises:
      DataLossError: not a scalar string, not a TrackableObjectGraph, or a node id that
        points outside the graph; the message starts with ``where``.
    """
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value[()]
    if not isinstance(value, bytes):
        raise errors.DataLossError(f"{where}: expected a scalar string, found "
                                   f"{type(value).__name__}")
    try:
        graph = TrackableObjectGraph.FromString(value)
    except DecodeError as exc:
        raise errors.DataLossError(f"{where}: not a TrackableObjectGraph: {exc}") from None
    count = len(graph.nodes)
    for i, node in enumerate(graph.nodes):
        ids = [c.node_id for c in node.children]
        ids += [x for s in node.slot_variables
                for x in (s.original_variable_node_id, s.slot_variable_node_id)]
        bad = [x for x in ids if not 0 <= x < count]
        if bad:
            raise errors.DataLossError(f"{where}: node {i} refers to node {bad[0]}, but the "
                                       f"graph has {count} nodes")
    return graph
