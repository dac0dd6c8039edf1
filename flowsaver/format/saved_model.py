"""A SavedModel directory: ``saved_model.pb`` (or ``.pbtxt``) and its variables checkpoint.

Layout of a SavedModel directory ``D`` (what ``tf.saved_model.save`` and TF1's
SavedModelBuilder write):

    D/saved_model.pb          a binary SavedModel message (or D/saved_model.pbtxt, text):
                                SavedModel {1 saved_model_schema_version int64,
                                            2 meta_graphs repeated MetaGraphDef}
    D/variables/variables.index, D/variables/variables.data-?????-of-?????
                              an ordinary V2 checkpoint with prefix D/variables/variables
    D/assets/, D/fingerprint.pb, ...   (not read here)

The MetaGraphDef's ``object_graph_def`` (TF2 only) is not modelled and survives parsing
as an unknown field (see graph_protos.py).
"""
from __future__ import annotations

import os

from google.protobuf import text_format
from google.protobuf.message import DecodeError

from flowsaver import errors
from flowsaver.format import graph_protos  # noqa: F401 - defines meta_graph.proto first
from flowsaver.format.proto_builder import build

SAVED_MODEL_PB = "saved_model.pb"
SAVED_MODEL_PBTXT = "saved_model.pbtxt"
VARIABLES_DIRECTORY = "variables"
VARIABLES_FILENAME = "variables"
# protobuf cannot parse a message over 2 GiB, so a larger file is refused unread.
MAX_SAVED_MODEL_BYTES = 2 << 30

SavedModel = build("flowsaver/saved_model.proto", "tensorflow", {}, {
    "SavedModel": ["1 saved_model_schema_version int64", "2 meta_graphs repeated MetaGraphDef"],
}, deps=["flowsaver/meta_graph.proto"])["SavedModel"]


def is_saved_model_dir(path) -> bool:
    """Whether ``path`` is a directory holding ``saved_model.pb`` or ``saved_model.pbtxt``."""
    path = os.fspath(path)
    return os.path.isdir(path) and any(
        os.path.isfile(os.path.join(path, name)) for name in (SAVED_MODEL_PB, SAVED_MODEL_PBTXT))


def variables_prefix(export_dir) -> str:
    """The checkpoint prefix of a SavedModel's variables: ``D/variables/variables``."""
    return os.path.join(os.fspath(export_dir), VARIABLES_DIRECTORY, VARIABLES_FILENAME)


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
    with open(path, "rb") as f:
        data = f.read(MAX_SAVED_MODEL_BYTES + 1)
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
