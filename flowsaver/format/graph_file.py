"""Reading a graph from whichever file holds one: a MetaGraph (``.meta``, binary or text),
a GraphDef (``tf.io.write_graph``: ``.pb`` binary or ``.pbtxt`` text), or a SavedModel
directory (its ``saved_model.pb``, a SavedModel message: {1 saved_model_schema_version
int64, 2 meta_graphs repeated MetaGraphDef}; the directory's layout is in saved_model.py).
The MetaGraphDef's ``object_graph_def`` (TF2 SavedModels) is not modelled and survives
parsing as an unknown field (see graph_protos.py).

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
from flowsaver.format.files import read_regular_file
from flowsaver.format.graph_protos import GraphDef, MetaGraphDef
from flowsaver.format.meta_file import MAX_META_BYTES, read_meta_graph_file
from flowsaver.format.proto_builder import build
from flowsaver.format.saved_model import (SAVED_MODEL_PB, SAVED_MODEL_PBTXT,
                                          is_saved_model_dir)

META_SUFFIX = ".meta"
# protobuf cannot parse a message over 2 GiB, so a larger file is refused unread.
MAX_SAVED_MODEL_BYTES = 2 << 30

SavedModel = build("flowsaver/saved_model.proto", "tensorflow", {}, {
    "SavedModel": ["1 saved_model_schema_version int64", "2 meta_graphs repeated MetaGraphDef"],
}, deps=["flowsaver/meta_graph.proto"])["SavedModel"]


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
    if os.path.isdir(path):
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
    if not os.path.isfile(path):
        raise errors.NotFoundError(f"{path}: no such file")
    data = read_regular_file(path, MAX_META_BYTES + 1)
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


def read_saved_model(export_dir) -> SavedModel:
    """The SavedModel message of a SavedModel directory, binary or text.

    Raises:
      NotFoundError: neither ``saved_model.pb`` nor ``saved_model.pbtxt`` is there.
      DataLossError: the file does not parse, or is larger than protobuf allows.
    """
    export_dir = os.fspath(export_dir)
    binary = os.path.join(export_dir, SAVED_MODEL_PB)
    text = os.path.join(export_dir, SAVED_MODEL_PBTXT)
    path = binary if os.path.isfile(binary) else text
    if not os.path.isfile(path):
        raise errors.NotFoundError(f"{export_dir} is not a SavedModel directory: it has "
                                   f"neither {SAVED_MODEL_PB} nor {SAVED_MODEL_PBTXT}")
    data = read_regular_file(path, MAX_SAVED_MODEL_BYTES + 1)
    if len(data) > MAX_SAVED_MODEL_BYTES:
        raise errors.DataLossError(f"{path}: larger than the 2 GiB a protobuf message can be")
    model = SavedModel()
    try:
        if path == binary:
            model.ParseFromString(data)
        else:
            text_format.Parse(data.decode("utf-8"), model)
    except (DecodeError, text_format.ParseError, UnicodeDecodeError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)[:300]
        raise errors.DataLossError(f"{path} is not a SavedModel: {reason}") from None
    if not model.meta_graphs:
        raise errors.DataLossError(f"{path} holds no MetaGraphDef")
    return model
