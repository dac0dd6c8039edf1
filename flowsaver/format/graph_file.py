"""Reading a graph from whichever file holds one: a MetaGraph (``.meta``, binary or text),
a GraphDef (``tf.io.write_graph``: ``.pb`` binary or ``.pbtxt`` text), or a SavedModel
directory (its ``saved_model.pb``, a SavedModel message: {1 saved_model_schema_version
int64, 2 meta_graphs repeated MetaGraphDef}; the directory's layout is in saved_model.py,
the message and its reader in saved_model_file.py).

Binary GraphDef and MetaGraphDef files cannot be told apart by their first bytes, and the
wire format of one can parse as the other. So: ``.meta`` is a MetaGraphDef; text is
parsed as a GraphDef first, then as a MetaGraphDef (text names its fields, so only the
right one parses); binary is taken as a GraphDef when it parses as one whose every node
has a name and an op, else as a MetaGraphDef holding a graph.
"""
from __future__ import annotations

import dataclasses
import os

from google.protobuf import text_format
from google.protobuf.message import DecodeError

from flowsaver import errors
from flowsaver.format import storage
from flowsaver.format.graph_protos import GraphDef, MetaGraphDef
from flowsaver.format.meta_file import MAX_META_BYTES, read_meta_graph_file
from flowsaver.format.saved_model import is_saved_model_dir
from flowsaver.format.saved_model_file import (MAX_SAVED_MODEL_BYTES,  # noqa: F401 - re-exported
                                               SavedModel, read_saved_model)

META_SUFFIX = ".meta"


@dataclasses.dataclass(frozen=True)
class LoadedGraph:
    graph_def: GraphDef
    meta_graph_def: MetaGraphDef | None   # set for MetaGraphs and SavedModels
    kind: str                             # "MetaGraph", "GraphDef", "SavedModel"


def _plausible(graph: GraphDef) -> bool:
    return all(node.name and node.op for node in graph.node)


def _graph_def_from_bytes(data: bytes) -> GraphDef | None:
    try:
        graph = GraphDef.FromString(data)
    except (DecodeError, RecursionError):
        graph = None
    if graph is not None and graph.node and _plausible(graph):
        return graph
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    graph = GraphDef()
    try:
        text_format.Parse(text, graph)
    except (text_format.ParseError, RecursionError, ValueError):
        return None
    return graph


def read_graph_file(path, tags: tuple[str, ...] = ()) -> LoadedGraph:
    """The graph in ``path``; ``tags`` picks a SavedModel's MetaGraph (default: its first).

    Raises:
      NotFoundError: no such file, or no MetaGraph of a SavedModel has all ``tags``.
      DataLossError: the file holds no graph (the message says what was tried).
    """
    path = os.fspath(path)
    if storage.isdir(path):
        if not is_saved_model_dir(path):
            raise errors.NotFoundError(f"{path} is a directory but not a SavedModel (no "
                                       f"saved_model.pb or saved_model.pbtxt)")
        model = read_saved_model(path)
        for meta in model.meta_graphs:
            if set(tags) <= set(meta.meta_info_def.tags):
                return LoadedGraph(meta.graph_def, meta, "SavedModel")
        found = [list(m.meta_info_def.tags) for m in model.meta_graphs]
        raise errors.NotFoundError(f"{path}: no MetaGraph has tags {list(tags)}; it has "
                                   f"{found}")
    if path.endswith(META_SUFFIX):
        meta = read_meta_graph_file(path)
        return LoadedGraph(meta.graph_def, meta, "MetaGraph")
    if not storage.isfile(path):
        raise errors.NotFoundError(f"{path}: no such file")
    data = storage.read_bytes(path, MAX_META_BYTES)
    if len(data) > MAX_META_BYTES:
        raise errors.DataLossError(f"{path}: larger than the 2 GiB a protobuf message can be")
    graph = _graph_def_from_bytes(data)
    if graph is not None:
        return LoadedGraph(graph, None, "GraphDef")
    try:
        meta = read_meta_graph_file(path)
    except errors.DataLossError as exc:
        raise errors.DataLossError(f"{path} holds neither a GraphDef nor a MetaGraphDef "
                                   f"({exc})") from None
    if not meta.HasField("graph_def"):
        raise errors.DataLossError(f"{path} is a MetaGraphDef without a graph")
    return LoadedGraph(meta.graph_def, meta, "MetaGraph")


def used_op_types(graph_def) -> set:
    """TensorFlow's rule for the op types a graph uses (``ops_used_by_graph_def``): its
    nodes' types, and those of the library functions reached by calling them as op types
    or through a (Stateful)PartitionedCall's ``f``, recursively; not a While's or If's
    functions. The functions' own names are not op types."""
    functions = {f.signature.name: f for f in graph_def.library.function}
    used: set = set()
    pending = []

    def use(op_type):
        if op_type not in used and op_type in functions:
            pending.append(functions[op_type])
        used.add(op_type)

    def visit(node):
        use(node.op)
        if node.op in ("PartitionedCall", "StatefulPartitionedCall"):
            use(node.attr["f"].func.name)
    for node in graph_def.node:
        visit(node)
    while pending:
        for node in pending.pop().node_def:
            visit(node)
    return used - set(functions)
