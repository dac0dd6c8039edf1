"""The ``saved_model.pb`` / ``saved_model.pbtxt`` file: its message, reader and writer, and
choosing a MetaGraph by tags (the directory's layout is described in saved_model.py).

Binary files are written as TensorFlow writes them, ``SerializeToString(deterministic=True)``
of the SavedModel message; text files as ``str(message)``. Every failure to read names the
file; asking for a tag set the file lacks lists the tag sets it has and their signatures.
"""
from __future__ import annotations

import os

from google.protobuf import text_format
from google.protobuf.message import DecodeError

from flowsaver import errors
from flowsaver.format import storage
from flowsaver.format.graph_protos import MetaGraphDef
from flowsaver.format.proto_builder import build
from flowsaver.format.saved_model import (SAVED_MODEL_PB, SAVED_MODEL_PBTXT,
                                          SAVED_MODEL_SCHEMA_VERSION)

# protobuf cannot parse a message over 2 GiB, so a larger file is refused unread.
MAX_SAVED_MODEL_BYTES = 2 << 30

SavedModel = build("flowsaver/saved_model.proto", "tensorflow", {}, {
    "SavedModel": ["1 saved_model_schema_version int64", "2 meta_graphs repeated MetaGraphDef"],
}, deps=["flowsaver/meta_graph.proto"])["SavedModel"]


class MetaGraphNotFoundError(errors.NotFoundError, RuntimeError):
    """No MetaGraph has the tag set asked for. A ``RuntimeError`` too, which is what
    TensorFlow's loader raises, so code catching either keeps working."""


def saved_model_path(export_dir) -> str:
    """The file that holds the SavedModel message: ``saved_model.pb``, else ``.pbtxt``."""
    export_dir = os.fspath(export_dir)
    binary = os.path.join(export_dir, SAVED_MODEL_PB)
    return binary if storage.isfile(binary) else os.path.join(export_dir, SAVED_MODEL_PBTXT)


def read_saved_model(export_dir) -> SavedModel:
    """The SavedModel message of a SavedModel directory, binary or text.

    Raises:
      NotFoundError: neither ``saved_model.pb`` nor ``saved_model.pbtxt`` is there.
      DataLossError: the file does not parse, holds no MetaGraph, or is larger than
        protobuf allows.
    """
    export_dir = os.fspath(export_dir)
    path = saved_model_path(export_dir)
    if not storage.isfile(path):
        raise errors.NotFoundError(
            f"SavedModel file does not exist at: {export_dir}{os.sep}"
            f"{{{SAVED_MODEL_PBTXT}|{SAVED_MODEL_PB}}}; {export_dir} is not a SavedModel "
            f"directory")
    data = storage.read_bytes(path, MAX_SAVED_MODEL_BYTES)
    if len(data) > MAX_SAVED_MODEL_BYTES:
        raise errors.DataLossError(f"{path}: larger than the 2 GiB a protobuf message can be")
    model = SavedModel()
    try:
        if path.endswith(SAVED_MODEL_PB):
            model.ParseFromString(data)
        else:
            text_format.Parse(data.decode("utf-8"), model)
    except (DecodeError, text_format.ParseError, UnicodeDecodeError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)[:300]
        raise errors.DataLossError(f"{path} is not a SavedModel (truncated or damaged?): "
                                   f"{reason}") from None
    if not model.meta_graphs:
        raise errors.DataLossError(f"{path} holds no MetaGraphDef")
    return model


def write_saved_model(export_dir, model: SavedModel, as_text: bool = False) -> str:
    """Write ``model`` as ``saved_model.pb`` (or ``.pbtxt``) in ``export_dir``, atomically;
    returns the file's path."""
    name = SAVED_MODEL_PBTXT if as_text else SAVED_MODEL_PB
    path = os.path.join(os.fspath(export_dir), name)
    if as_text:
        data = text_format.MessageToString(model).encode("utf-8")
    else:
        data = model.SerializeToString(deterministic=True)
    storage.write_atomic(path, data)
    return path


def new_saved_model() -> SavedModel:
    """An empty SavedModel message of the current schema version."""
    return SavedModel(saved_model_schema_version=SAVED_MODEL_SCHEMA_VERSION)


def tag_sets(model: SavedModel) -> list[list[str]]:
    """The tag set of each MetaGraph, in file order."""
    return [list(meta.meta_info_def.tags) for meta in model.meta_graphs]


def describe_contents(model: SavedModel) -> str:
    """``[serve] (signatures: serving_default), [train] (no signatures)``: for messages."""
    parts = []
    for meta in model.meta_graphs:
        keys = sorted(meta.signature_def)
        sigs = f"signatures: {', '.join(keys)}" if keys else "no signatures"
        parts.append(f"{sorted(meta.meta_info_def.tags)} ({sigs})")
    return ", ".join(parts)


def find_meta_graph(model: SavedModel, tags, where: str) -> MetaGraphDef:
    """The MetaGraph whose tag set is exactly ``tags`` (TensorFlow's rule).

    Raises:
      MetaGraphNotFoundError: none has that tag set; the message names ``where`` (the
        directory) and lists each tag set with its signatures.
    """
    if isinstance(tags, (str, bytes)):
        tags = [tags]
    wanted = {t.decode() if isinstance(t, bytes) else t for t in tags}
    for meta in model.meta_graphs:
        if set(meta.meta_info_def.tags) == wanted:
            return meta
    raise MetaGraphNotFoundError(
        f"MetaGraphDef associated with tags {sorted(wanted)} could not be found in the "
        f"SavedModel {where}; it has the tag sets {describe_contents(model)}")


def find_signature(meta: MetaGraphDef, key: str, where: str):
    """The SignatureDef ``key`` of ``meta``.

    Raises:
      NotFoundError: there is none; the message lists the keys there are.
    """
    if key not in meta.signature_def:
        raise errors.NotFoundError(
            f"{where}: the MetaGraph with tags {sorted(meta.meta_info_def.tags)} has no "
            f"SignatureDef {key!r}; it has {sorted(meta.signature_def) or 'none'}")
    return meta.signature_def[key]
