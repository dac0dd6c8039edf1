"""Running a saved model once, from files: a SavedModel's signature, or chosen tensors of a
metagraph (restored from its checkpoint) or of a frozen GraphDef. What ``flowsaver run``
does; each call builds a fresh graph and session and leaves no trace in the default graph.
"""
from __future__ import annotations

import os

from flowsaver import errors
from flowsaver.format.graph_file import read_graph_file
from flowsaver.format.saved_model_file import saved_model_path
from flowsaver.format.state import checkpoint_exists
from flowsaver.graph.graph import Graph
from flowsaver.runtime.session import Session
from flowsaver.train.saved_model_loader import SavedModelLoader
from flowsaver.train.signature_runner import run_signature


def run_saved_model(export_dir, tags, signature_key: str, inputs: dict) -> dict:
    """``{output key: value}`` of signature ``signature_key`` of the MetaGraph ``tags``."""
    loader = SavedModelLoader(export_dir)
    graph = Graph()
    with graph.as_default(), Session(graph=graph) as sess:
        meta = loader.load(sess, tags)
        return run_signature(sess, meta, signature_key, inputs,
                             saved_model_path(export_dir))


def _element(graph, name: str, where: str):
    """The tensor ``name`` (``op:0`` when only an op name is given) or, for an op without
    outputs, the op."""
    try:
        if ":" not in name:
            op = graph.get_operation_by_name(name)
            return op.outputs[0] if op.outputs else op
        return graph.get_tensor_by_name(name)
    except (KeyError, ValueError) as exc:
        text = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        raise errors.NotFoundError(f"{where}: {text}") from None


def run_graph_file(path, feeds: dict, fetches, checkpoint=None) -> dict:
    """``{fetch name: value}`` of a metagraph (variables restored from ``checkpoint``,
    default the one the ``.meta`` file belongs to) or a frozen GraphDef, fed ``feeds``
    (``{tensor name: value}``).

    Raises:
      NotFoundError: a feed or fetch names nothing in the graph, or the checkpoint is
        missing; the message names the file.
    """
    path = os.fspath(path)
    loaded = read_graph_file(path)
    graph = Graph()
    with graph.as_default(), Session(graph=graph) as sess:
        if loaded.kind == "GraphDef":
            from flowsaver.ops.importer import import_graph_def
            import_graph_def(loaded.graph_def, name="")
        else:
            from flowsaver.train.meta_graph_import import import_meta_graph
            saver = import_meta_graph(loaded.meta_graph_def, clear_devices=True)
            prefix = checkpoint or (path[:-len(".meta")] if path.endswith(".meta") else None)
            if saver is not None:
                if prefix is None or not checkpoint_exists(prefix):
                    raise errors.NotFoundError(
                        f"{path} has variables, but no checkpoint was given (--checkpoint) "
                        f"or found at {prefix}")
                saver.restore(sess, prefix)
        feed_dict = {_element(graph, name, path): value for name, value in feeds.items()}
        targets = {name: _element(graph, name, path) for name in fetches}
        return sess.run(targets, feed_dict)
