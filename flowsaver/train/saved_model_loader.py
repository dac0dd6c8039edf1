"""Loading SavedModels into a session: ``tf.saved_model.loader.load`` and
``SavedModelLoader``, as TensorFlow's TF1 loader does it.

The MetaGraph whose tag set equals the one asked for is imported (with ``import_scope``),
the variables are restored from ``variables/variables`` by the Saver its SaverDef
describes (a TF2 SavedModel's: by key, from its object-based checkpoint), and the init op
runs (the ``__saved_model_init_op`` signature, else the
``saved_model_main_op`` or ``legacy_init_op`` collection) with every asset tensor fed the
path of its file under ``assets/``. Errors name the SavedModel's file and what failed.
"""
from __future__ import annotations

import logging
import os

from flowsaver import errors
from flowsaver.format import saved_model as constants
from flowsaver.format.graph_protos import AssetFileDef
from flowsaver.format.saved_model import is_saved_model_dir
from flowsaver.format.saved_model_file import (find_meta_graph, read_saved_model,
                                               saved_model_path)
from flowsaver.graph.graph import get_default_graph
from flowsaver.train import saveables
from flowsaver.train.meta_graph_import import (TYPED_ERRORS, import_meta_graph,
                                               prepend_name_scope, with_context)
from flowsaver.train.object_based_restore import restore_saved_model_variables
from flowsaver.train.saver import Saver
from flowsaver.train.signature_defs import load_op_from_signature_def

_log = logging.getLogger(__name__)


def maybe_saved_model_directory(export_dir) -> bool:
    """Whether ``export_dir`` holds ``saved_model.pb`` or ``saved_model.pbtxt``."""
    return is_saved_model_dir(export_dir)


contains_saved_model = maybe_saved_model_directory


def get_asset_tensors(export_dir, meta_graph_def_to_load, import_scope=None) -> dict:
    """``{asset tensor name: path of its file under assets/}`` for a MetaGraph."""
    protos = list(meta_graph_def_to_load.asset_file_def)
    collection = meta_graph_def_to_load.collection_def
    if not protos and constants.ASSETS_KEY in collection:
        for packed in collection[constants.ASSETS_KEY].any_list.value:
            asset = AssetFileDef()
            if not packed.Unpack(asset):
                raise errors.DataLossError(f"collection {constants.ASSETS_KEY!r} holds a "
                                           f"{packed.type_url}, not an AssetFileDef")
            protos.append(asset)
    directory = constants.assets_directory(os.fsdecode(export_dir))
    return {prepend_name_scope(asset.tensor_info.name, import_scope):
            os.path.join(directory, asset.filename) for asset in protos}


def _op_from_collection(meta_graph_def, key, import_scope):
    if key not in meta_graph_def.collection_def:
        return None
    names = meta_graph_def.collection_def[key].node_list.value
    if len(names) != 1:
        raise RuntimeError(f"Expected exactly one SavedModel init op. Found {len(names)}: "
                           f"{list(names)}.")
    return get_default_graph().as_graph_element(prepend_name_scope(names[0], import_scope))


def get_init_op(meta_graph_def, import_scope=None):
    """The op to run after restoring, or None."""
    if constants.INIT_OP_SIGNATURE_KEY in meta_graph_def.signature_def:
        return load_op_from_signature_def(
            meta_graph_def.signature_def[constants.INIT_OP_SIGNATURE_KEY],
            constants.INIT_OP_SIGNATURE_KEY, import_scope)
    return (_op_from_collection(meta_graph_def, constants.MAIN_OP_KEY, import_scope)
            or _op_from_collection(meta_graph_def, constants.LEGACY_INIT_OP_KEY, import_scope))


def get_train_op(meta_graph_def, import_scope=None):
    """The train op a SavedModel records (never run by the loader), or None."""
    if constants.TRAIN_OP_SIGNATURE_KEY in meta_graph_def.signature_def:
        return load_op_from_signature_def(
            meta_graph_def.signature_def[constants.TRAIN_OP_SIGNATURE_KEY],
            constants.TRAIN_OP_SIGNATURE_KEY, import_scope)
    return _op_from_collection(meta_graph_def, constants.TRAIN_OP_KEY, import_scope)


class SavedModelLoader:
    """Load graphs and restore variable values from one SavedModel directory."""

    def __init__(self, export_dir):
        self._export_dir = os.fsdecode(os.fspath(export_dir))
        self._variables_path = constants.variables_prefix(self._export_dir)
        self._saved_model = read_saved_model(self._export_dir)
        self._where = saved_model_path(self._export_dir)

    @property
    def export_dir(self) -> str:
        return self._export_dir

    @property
    def variables_path(self) -> str:
        return self._variables_path

    @property
    def saved_model(self):
        return self._saved_model

    def get_meta_graph_def_from_tags(self, tags):
        """The MetaGraphDef whose tag set is exactly ``tags``.

        Raises:
          MetaGraphNotFoundError (a NotFoundError and a RuntimeError): none is; the message
            lists the tag sets and signatures there are.
        """
        return find_meta_graph(self._saved_model, tags, self._export_dir)

    def load_graph(self, graph, tags, import_scope=None, **saver_kwargs):
        """Import the MetaGraph tagged ``tags`` into ``graph``; returns ``(saver, None)``."""
        meta = self.get_meta_graph_def_from_tags(tags)
        with graph.as_default():
            try:
                saver = import_meta_graph(meta, import_scope=import_scope, **saver_kwargs)
            except TYPED_ERRORS as exc:
                raise with_context(exc, f"{self._where} (MetaGraph {sorted(tags)})") from exc
        return saver, None

    def restore_variables(self, sess, saver, import_scope=None) -> None:
        """Restore ``variables/variables`` into ``sess`` with ``saver``.

        Raises:
          ValueError: the graph has variables but ``saver`` is None.
          NotFoundError, InvalidArgumentError, DataLossError: the variables directory does
            not match the graph (the message names the checkpoint and the variables).
        """
        with sess.graph.as_default():
            if saver is None and not saveables.all_saveable_objects():
                _log.info("The specified SavedModel has no variables; no checkpoints were "
                          "restored.")
            elif isinstance(saver, Saver):
                saver.restore(sess, self._variables_path)
            else:
                raise ValueError("No tf.train.Saver object was passed to the function "
                                 "`SavedModelLoader.restore_variables`. Since there are "
                                 "variables in the graph, a saver is required.")

    def run_init_ops(self, sess, tags, import_scope=None) -> None:
        """Run the init op, feeding every asset tensor the path of its file."""
        meta = self.get_meta_graph_def_from_tags(tags)
        with sess.graph.as_default():
            assets = get_asset_tensors(self._export_dir, meta, import_scope)
            init_op = get_init_op(meta, import_scope)
            if init_op is not None:
                sess.run(fetches=[init_op], feed_dict=assets)

    def load(self, sess, tags, import_scope=None, **saver_kwargs):
        """Import, restore and initialize; returns the MetaGraphDef loaded.

        A TF2 SavedModel's variables are restored from its object-based checkpoint by key
        (object_based_restore.py) rather than by running the restore function TensorFlow
        saved in its graph; the values are the same.
        """
        meta = self.get_meta_graph_def_from_tags(tags)
        with sess.graph.as_default():
            saver, _ = self.load_graph(sess.graph, tags, import_scope, **saver_kwargs)
            if meta.HasField("object_graph_def"):
                restore_saved_model_variables(sess, meta, self._variables_path, import_scope)
            else:
                self.restore_variables(sess, saver, import_scope)
            self.run_init_ops(sess, tags, import_scope)
        return meta


def load(sess, tags, export_dir, import_scope=None, **saver_kwargs):
    """Load the MetaGraph tagged ``tags`` of the SavedModel in ``export_dir`` into ``sess``:
    graph, variable values and init ops; returns its MetaGraphDef.

    Example:
      with tf.Session(graph=tf.Graph()) as sess:
          meta = tf.saved_model.loader.load(sess, ["serve"], "export/1")
          sig = meta.signature_def["serving_default"]
    """
    return SavedModelLoader(export_dir).load(sess, tags, import_scope, **saver_kwargs)
