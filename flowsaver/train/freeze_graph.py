"""Freezing a trained model into one GraphDef, as TensorFlow's ``freeze_graph`` tool does:
from a MetaGraph and a checkpoint, or from a SavedModel's MetaGraph and variables. The graph
is imported into a fresh session (devices cleared), its variables restored (and for a
SavedModel its init op run, as the loader does), then every variable the outputs need
becomes a constant (``convert_variables_to_constants``) and nothing else is kept. A TF2
SavedModel is frozen without a session: each variable's value is read from the checkpoint
by the key the object graphs give it, and carried into the functions that use it.
"""
from __future__ import annotations

import os

from flowsaver import errors
from flowsaver.format.graph_protos import GraphDef
from flowsaver.format.saved_model_file import find_signature, saved_model_path
from flowsaver.format.state import latest_checkpoint
from flowsaver.graph.freezing import convert_variables_to_constants
from flowsaver.graph.graph import Graph
from flowsaver.graph.graph_util import node_name
from flowsaver.runtime.session import Session
from flowsaver.train.meta_graph_import import import_meta_graph
from flowsaver.train.saved_model_loader import SavedModelLoader


def signature_output_nodes(signature) -> list[str]:
    """The node names behind a SignatureDef's outputs (all three of a sparse one)."""
    names = []
    for key in sorted(signature.outputs):
        info = signature.outputs[key]
        if info.WhichOneof("encoding") == "coo_sparse":
            sparse = info.coo_sparse
            texts = [sparse.indices_tensor_name, sparse.values_tensor_name,
                     sparse.dense_shape_tensor_name]
        else:
            texts = [info.name]
        names += [node_name(t) for t in texts if node_name(t) not in names]
    return names


def _cleared(graph_def) -> GraphDef:
    out = GraphDef()
    out.CopyFrom(graph_def)
    for node in out.node:
        node.device = ""
    return out


def _checkpoint_prefix(meta_graph_file: str, checkpoint: str | None) -> str:
    """The checkpoint to restore: ``checkpoint`` (a prefix, or a directory for its latest),
    else the prefix the ``.meta`` file belongs to."""
    if checkpoint is None:
        checkpoint = meta_graph_file[:-len(".meta")] if meta_graph_file.endswith(".meta") \
            else os.path.dirname(meta_graph_file) or "."
    if os.path.isdir(checkpoint):
        latest = latest_checkpoint(checkpoint)
        if latest is None:
            raise errors.NotFoundError(f"{checkpoint} is a directory without a checkpoint "
                                       f"state file naming a checkpoint")
        return latest
    return checkpoint


def freeze_meta_graph(meta_graph_file, output_node_names, checkpoint=None,
                      variable_names_whitelist=None, variable_names_blacklist=None,
                      clear_devices=True) -> GraphDef:
    """A frozen GraphDef from a ``.meta`` file and its checkpoint.

    Raises:
      ValueError: no output node names. NotFoundError, DataLossError, ...: the metagraph or
        checkpoint cannot be read, or does not match (the message names the file).
    """
    if not output_node_names:
        raise ValueError("You need to supply the name of a node to --output_node_names.")
    from flowsaver.format.meta_file import read_meta_graph_file
    meta_graph_file = os.fspath(meta_graph_file)
    meta = read_meta_graph_file(meta_graph_file)
    prefix = _checkpoint_prefix(meta_graph_file, checkpoint)
    graph = Graph()
    with graph.as_default(), Session(graph=graph) as sess:
        saver = import_meta_graph(meta_graph_file, clear_devices=clear_devices)
        if saver is not None:
            saver.restore(sess, prefix)
        source = _cleared(meta.graph_def) if clear_devices else meta.graph_def
        return convert_variables_to_constants(sess, source, list(output_node_names),
                                              variable_names_whitelist,
                                              variable_names_blacklist)


def freeze_saved_model(export_dir, tags=("serve",), signature_key="serving_default",
                       output_node_names=None, variable_names_whitelist=None,
                       variable_names_blacklist=None) -> tuple[GraphDef, list[str]]:
    """A frozen GraphDef of a SavedModel's MetaGraph ``tags``, holding what
    ``output_node_names`` (default: the outputs of signature ``signature_key``) need;
    returns it and the output node names."""
    loader = SavedModelLoader(export_dir)
    meta = loader.get_meta_graph_def_from_tags(tags)
    if not output_node_names:
        signature = find_signature(meta, signature_key, saved_model_path(export_dir))
        output_node_names = signature_output_nodes(signature)
    if meta.HasField("object_graph_def"):
        return _freeze_tf2(loader, meta, list(output_node_names), variable_names_whitelist,
                           variable_names_blacklist), list(output_node_names)
    graph = Graph()
    with graph.as_default(), Session(graph=graph) as sess:
        loader.load(sess, tags, clear_devices=True)
        frozen = convert_variables_to_constants(sess, _cleared(meta.graph_def),
                                                list(output_node_names),
                                                variable_names_whitelist,
                                                variable_names_blacklist)
    return frozen, list(output_node_names)


def _freeze_tf2(loader, meta, output_node_names, allow, deny) -> GraphDef:
    """A TF2 SavedModel frozen with the values of its object-based checkpoint, each read by
    the key its handle is tied to (format/saved_object_graph.py): no session, so none of
    the functions TensorFlow saved with it has to run."""
    from flowsaver.format.reader import CheckpointReader
    from flowsaver.format.saved_object_graph import handle_checkpoint_keys
    from flowsaver.graph.freezing import freeze_graph_def, variable_nodes
    from flowsaver.graph.graph_util import extract_sub_graph
    graph_def = extract_sub_graph(_cleared(meta.graph_def), output_node_names)
    wanted = {node.name for node in variable_nodes(graph_def, allow, deny)}
    with CheckpointReader(loader.variables_path) as reader:
        keys = handle_checkpoint_keys(meta, reader.object_graph(), loader.variables_path)
        values = {name: reader.get_tensor(key) for name, key in keys.items()
                  if name in wanted}
    return freeze_graph_def(graph_def, values, output_node_names)
