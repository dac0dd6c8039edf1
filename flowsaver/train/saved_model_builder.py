"""Writing TF1 SavedModels: ``tf.saved_model.builder.SavedModelBuilder``, ``simple_save``
and ``main_op``, producing the files TensorFlow's builder produces (layout in
format/saved_model.py).

The first MetaGraph is added with its variables: a sharded V2 Saver over every saveable
object writes ``variables/variables``, and the MetaGraph it exports (with that Saver's
SaverDef) is tagged and given its SignatureDefs. Later MetaGraphs share those variables and
add only their graphs. Assets are string constants naming files: each file is copied into
``assets/`` under its base name (made unique when two different files share one), and the
MetaGraph lists an AssetFileDef for it, in the ``saved_model_assets`` collection.
"""
from __future__ import annotations

import filecmp
import logging
import os
import shutil

from flowsaver.format import saved_model as constants
from flowsaver.format.graph_protos import Any, AssetFileDef, SaverDef
from flowsaver.format.protos import DATA_TYPES
from flowsaver.format.saved_model_file import new_saved_model, write_saved_model
from flowsaver.graph.graph import GraphKeys, get_default_graph
from flowsaver.graph.operation import Operation, Tensor
from flowsaver.train import saveables
from flowsaver.train.saver import Saver
from flowsaver.train.signature_defs import predict_signature_def

_log = logging.getLogger(__name__)


class SavedModelBuilder:
    """Builds a SavedModel directory: variables once, then one MetaGraph per tag set."""

    def __init__(self, export_dir):
        self._export_dir = os.fsdecode(os.fspath(export_dir))
        if os.path.exists(self._export_dir):
            if os.listdir(self._export_dir):
                raise AssertionError(
                    f"Export directory {self._export_dir} already exists, and isn't empty. "
                    f"Please choose a different export directory, or delete all the "
                    f"contents of the specified directory.")
        else:
            os.makedirs(self._export_dir)
        self._saved_model = new_saved_model()
        self._has_saved_variables = False
        self._saved_asset_files: set[str] = set()

    def add_meta_graph_and_variables(self, sess, tags, signature_def_map=None,
                                     assets_collection=None, legacy_init_op=None,
                                     clear_devices=False, main_op=None,
                                     strip_default_attrs=False, saver=None) -> None:
        """Save the variables of ``sess`` and the default graph as the first MetaGraph.

        Raises:
          AssertionError: variables were saved already, or a TensorInfo lacks a name or
            dtype. KeyError: a reserved signature key is used. TypeError, ValueError: a bad
            main op or asset tensor.
        """
        if self._has_saved_variables:
            raise AssertionError("Graph state including variables and assets has already "
                                 "been saved. Please invoke `add_meta_graph()` instead.")
        signature_def_map = signature_def_map or {}
        _validate_signature_def_map(signature_def_map)
        self._add_collections(assets_collection, main_op or legacy_init_op)
        os.makedirs(constants.variables_directory(self._export_dir), exist_ok=True)
        saver = saver or _default_saver()
        saver.save(sess, constants.variables_prefix(self._export_dir), write_meta_graph=False,
                   write_state=False)
        meta = saver.export_meta_graph(clear_devices=clear_devices,
                                       strip_default_attrs=strip_default_attrs)
        self._tag_and_add(meta, tags, signature_def_map)
        self._has_saved_variables = True

    def add_meta_graph(self, tags, signature_def_map=None, assets_collection=None,
                       legacy_init_op=None, clear_devices=False, main_op=None,
                       strip_default_attrs=False, saver=None) -> None:
        """Add the default graph as another MetaGraph sharing the saved variables."""
        if not self._has_saved_variables:
            raise AssertionError("Graph state including variables and assets has not been "
                                 "saved yet. Please invoke `add_meta_graph_and_variables()` "
                                 "first.")
        signature_def_map = signature_def_map or {}
        _validate_signature_def_map(signature_def_map)
        main_op = main_op if main_op is not None else legacy_init_op
        self._add_collections(assets_collection, main_op)
        saver = saver or _default_saver()
        meta = saver.export_meta_graph(clear_devices=clear_devices,
                                       strip_default_attrs=strip_default_attrs)
        self._tag_and_add(meta, tags, signature_def_map)

    def save(self, as_text=False) -> bytes:
        """Write ``saved_model.pb`` (or ``.pbtxt``); returns its path (bytes, as
        TensorFlow's does)."""
        os.makedirs(self._export_dir, exist_ok=True)
        path = write_saved_model(self._export_dir, self._saved_model, as_text)
        _log.info("SavedModel written to: %s", path)
        return os.fsencode(path)

    # -- the pieces -------------------------------------------------------------------------
    def _tag_and_add(self, meta, tags, signature_def_map) -> None:
        if isinstance(tags, str):
            tags = [tags]
        meta.meta_info_def.tags.extend(tags)
        for key, signature in signature_def_map.items():
            meta.signature_def[key].CopyFrom(signature)
        self._saved_model.meta_graphs.add().CopyFrom(meta)

    def _add_collections(self, assets_collection, main_op) -> None:
        assets = _asset_files(assets_collection)
        if assets:
            _copy_assets(assets, self._export_dir, self._saved_asset_files)
        else:
            _log.info("No assets to write.")
        _add_main_op(main_op)


def _default_saver() -> Saver:
    return Saver(saveables.all_saveable_objects(), sharded=True, write_version=SaverDef.V2,
                 allow_empty=True)


def _validate_tensor_info(info) -> None:
    if info is None:
        raise AssertionError("All TensorInfo protos used in the SignatureDefs must have the "
                             "name and dtype fields set.")
    encoding = info.WhichOneof("encoding")
    if encoding is None:
        raise AssertionError(f"Invalid `tensor_info`: {info}. All TensorInfo protos used in "
                             f"the SignatureDefs must have one of the 'encoding' fields "
                             f"(e.g., name or coo_sparse) set.")
    if encoding == "composite_tensor":
        for component in info.composite_tensor.components:
            _validate_tensor_info(component)
    elif info.dtype == DATA_TYPES["DT_INVALID"]:
        raise AssertionError(f"Invalid `tensor_info`: {info}. All TensorInfo protos used in "
                             f"the SignatureDefs must have the dtype field set.")


def _validate_signature_def_map(signature_def_map) -> None:
    for signature in signature_def_map.values():
        for info in list(signature.inputs.values()) + list(signature.outputs.values()):
            _validate_tensor_info(info)
    for reserved, what in ((constants.INIT_OP_SIGNATURE_KEY, "initialization"),
                           (constants.TRAIN_OP_SIGNATURE_KEY, "the train op")):
        if reserved in signature_def_map:
            raise KeyError(f'SignatureDef map key "{reserved}" is reserved for {what}. '
                           f'Please use a different key.')


def _add_main_op(main_op) -> None:
    if main_op is None:
        return
    if not isinstance(main_op, Operation):
        raise TypeError(f"Expected {main_op} to be an Operation but got type "
                        f"{type(main_op)} instead.")
    graph = get_default_graph()
    for key in (constants.MAIN_OP_KEY, constants.LEGACY_INIT_OP_KEY):
        if graph.get_collection(key):
            raise ValueError(f"Graph already contains one or more main ops under the "
                             f"collection {key}.")
    graph.add_to_collection(constants.MAIN_OP_KEY, main_op)


def _asset_path(tensor) -> str:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"Asset path tensor {tensor} must be a Tensor.")
    if tensor.op.type != "Const":
        raise TypeError(f"Asset path tensor {tensor} must be of type constant.Has type "
                        f"{tensor.op.type} instead.")
    if tensor.dtype.name != "string":
        raise TypeError(f"Asset path tensor {tensor}` must be of dtype string.Has type "
                        f"{tensor.dtype} instead.")
    values = tensor.op.node_def.attr["value"].tensor.string_val
    if len(values) != 1:
        raise TypeError(f"Asset path tensor {tensor} must be a scalar.")
    return values[0].decode("utf-8")


def _unique_basename(source: str, taken: dict) -> str:
    """The file's base name, suffixed ``_1``, ``_2``... when a different file has it."""
    name = os.path.basename(source)
    if name not in taken or taken[name] == source or filecmp.cmp(source, taken[name], False):
        return name
    index, unique = 1, name
    while unique in taken:
        unique = f"{name}_{index}"
        index += 1
    return unique


def _asset_files(assets_collection) -> dict:
    """``{asset file name: source path}``; records an AssetFileDef for each in the graph."""
    if assets_collection is None:
        return {}
    taken: dict[str, str] = {}
    graph = get_default_graph()
    for tensor in assets_collection:
        source = _asset_path(tensor)
        if not source:
            raise ValueError(f"Asset filepath tensor {tensor} in is invalid.")
        name = _unique_basename(source, taken)
        graph.add_to_collection(constants.ASSETS_KEY, packed_asset_file_def(name, tensor.name))
        taken[name] = source
    return taken


def packed_asset_file_def(filename: str, tensor_name: str) -> Any:
    """An AssetFileDef in a ``google.protobuf.Any``, as the assets collection holds them."""
    asset = AssetFileDef(filename=filename)
    asset.tensor_info.name = tensor_name
    packed = Any()
    packed.Pack(asset)
    return packed


def _copy_assets(assets: dict, export_dir: str, already: set) -> None:
    directory = constants.assets_directory(export_dir)
    os.makedirs(directory, exist_ok=True)
    for name, source in assets.items():
        target = os.path.join(directory, name)
        if os.path.exists(source) and source != target and target not in already:
            shutil.copyfile(source, target)
            already.add(target)


def simple_save(session, export_dir, inputs, outputs, legacy_init_op=None) -> None:
    """A SavedModel for serving: tag ``serve``, one Predict signature ``serving_default``
    of ``inputs`` and ``outputs`` (``{key: tensor}``), the graph's ASSET_FILEPATHS as
    assets, devices cleared."""
    signature_def_map = {constants.DEFAULT_SERVING_SIGNATURE_DEF_KEY:
                         predict_signature_def(inputs, outputs)}
    builder = SavedModelBuilder(export_dir)
    builder.add_meta_graph_and_variables(
        session, tags=[constants.SERVING], signature_def_map=signature_def_map,
        assets_collection=get_default_graph().get_collection(GraphKeys.ASSET_FILEPATHS),
        main_op=legacy_init_op, clear_devices=True)
    builder.save()


def tables_initializer(name="init_all_tables"):
    """The op that initializes the graph's lookup tables (a no-op when it has none)."""
    from flowsaver.ops.control_flow.api import group, no_op
    initializers = get_default_graph().get_collection(GraphKeys.TABLE_INITIALIZERS)
    return group(*initializers, name=name) if initializers else no_op(name=name)


def main_op():
    """``tf.saved_model.main_op.main_op()``: initialize global and local variables and
    tables. As in TensorFlow, the global ones too: a loader runs this after restoring, so
    it puts back the variables' initial values."""
    from flowsaver.ops.control_flow.api import group
    from flowsaver.ops.state.variables import (global_variables_initializer,
                                               local_variables_initializer)
    return group(global_variables_initializer(), local_variables_initializer(),
                 tables_initializer())


def main_op_with_restore(restore_op_name):
    """``main_op()`` followed by the restore op named ``restore_op_name``."""
    from flowsaver.ops.control_flow.api import group
    from flowsaver.ops.scope_api import control_dependencies
    with control_dependencies([main_op()]):
        return group(get_default_graph().as_graph_element(restore_op_name))

