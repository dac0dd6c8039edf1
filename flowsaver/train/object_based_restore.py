"""Restoring a TF2 SavedModel's variables from its object-based checkpoint, without
running the restore function TensorFlow saved into the graph.

Each ``VarHandleOp`` of the imported MetaGraph is tied to its checkpoint key through the
object graphs (format/saved_object_graph.py); one ``RestoreV2`` then reads every key and an
``AssignVariableOp`` per handle stores the value, all under the name scope
``saved_model_restore``. Every key, dtype and shape is checked against the checkpoint's
index before anything runs, so a variables directory that does not match changes nothing.
"""
from __future__ import annotations

from flowsaver import errors
from flowsaver.format.graph_protos import MetaGraphDef
from flowsaver.format.reader import CheckpointReader
from flowsaver.format.saved_object_graph import handle_checkpoint_keys
from flowsaver.graph.tensor_shape import TensorShape
from flowsaver.ops.control_flow.api import group
from flowsaver.ops.op_builder import build_op, create_op
from flowsaver.train.meta_graph_import import prepend_name_scope

SCOPE = "saved_model_restore"


def _checked(reader: CheckpointReader, handle, key: str, prefix: str) -> None:
    """The stored tensor ``key`` fits variable ``handle`` (dtype and shape)."""
    if not reader.has_tensor(key):
        raise errors.NotFoundError(f"{prefix}: the checkpoint has no key {key!r}, which the "
                                   f"SavedModel's object graph gives variable "
                                   f"{handle.op.name!r}")
    dtype = handle.op.get_attr("dtype")
    stored = reader.get_variable_to_dtype_map()[key]
    if stored.name != dtype.name:
        raise errors.InvalidArgumentError(
            f"{prefix}: {key!r} holds {stored.name}, but variable {handle.op.name!r} is "
            f"{dtype.name}")
    shape = TensorShape(handle.op.get_attr("shape"))
    stored_shape = reader.get_variable_to_shape_map()[key]
    if not shape.is_compatible_with(TensorShape(stored_shape)):
        raise errors.InvalidArgumentError(
            f"{prefix}: {key!r} has shape {list(stored_shape)}, but variable "
            f"{handle.op.name!r} has shape {shape}")


def restore_saved_model_variables(sess, meta_graph_def: MetaGraphDef, variables_prefix: str,
                                  import_scope=None) -> dict:
    """Assign every variable of a loaded TF2 MetaGraph its value in ``variables_prefix``;
    returns ``{handle op name: checkpoint key}``.

    Raises:
      DataLossError: the object graphs do not tie every variable to a key.
      UnimplementedError: it saves other objects too (lookup tables, ...).
      NotFoundError, InvalidArgumentError: the checkpoint lacks a key, or holds another
        dtype or shape (nothing is assigned then). Messages name the checkpoint.
    """
    graph = sess.graph
    others = [(i, sorted(node.saveable_objects)) for i, node in
              enumerate(meta_graph_def.object_graph_def.nodes) if node.saveable_objects]
    if others:   # lookup tables and the like restore through functions of their own
        raise errors.UnimplementedError(
            f"{variables_prefix}: the SavedModel saves objects other than variables "
            f"(node, saveables: {others}); flowsaver restores variables only")
    with CheckpointReader(variables_prefix) as reader:
        keys = handle_checkpoint_keys(meta_graph_def, reader.object_graph(), variables_prefix)
        handles = {name: graph.get_tensor_by_name(prepend_name_scope(name, import_scope)
                                                  + ":0")
                   for name in keys}
        for name, key in keys.items():
            _checked(reader, handles[name], key, variables_prefix)
    if not keys:
        return keys
    names = sorted(keys)
    with graph.as_default(), graph.name_scope(SCOPE), graph.device("cpu:0"):
        restored = create_op("RestoreV2", [variables_prefix, [keys[n] for n in names],
                                           [""] * len(names)],
                             {"dtypes": [handles[n].op.get_attr("dtype") for n in names]})
        restored = restored if isinstance(restored, (list, tuple)) else [restored]
        assigns = [build_op("AssignVariableOp", [handles[n], value])
                   for n, value in zip(names, restored)]
        restore_all = group(*assigns, name="restore_all")
    sess.run(restore_all)
    return keys
