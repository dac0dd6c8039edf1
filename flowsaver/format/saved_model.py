"""The layout of a SavedModel directory (what ``tf.saved_model.save`` and TF1's
SavedModelBuilder write):

    D/saved_model.pb          a binary SavedModel message (or D/saved_model.pbtxt, text):
                                SavedModel {1 saved_model_schema_version int64,
                                            2 meta_graphs repeated MetaGraphDef}
                              (the message and its reader are in graph_file.py)
    D/variables/variables.index, D/variables/variables.data-?????-of-?????
                              an ordinary V2 checkpoint with prefix D/variables/variables
    D/assets/, D/fingerprint.pb, ...   (not read by flowsaver)

This module knows only the paths, so that reading a SavedModel's variables does not load
the graph messages.
"""
from __future__ import annotations

import os

from flowsaver.format import storage

SAVED_MODEL_PB = "saved_model.pb"
SAVED_MODEL_PBTXT = "saved_model.pbtxt"
VARIABLES_DIRECTORY = "variables"
VARIABLES_FILENAME = "variables"


def is_saved_model_dir(path) -> bool:
    """Whether ``path`` is a directory holding ``saved_model.pb`` or ``saved_model.pbtxt``."""
    path = os.fspath(path)
    return storage.isdir(path) and any(
        storage.isfile(os.path.join(path, name)) for name in (SAVED_MODEL_PB, SAVED_MODEL_PBTXT))


def variables_prefix(export_dir) -> str:
    """The checkpoint prefix of a SavedModel's variables: ``D/variables/variables``."""
    return os.path.join(os.fspath(export_dir), VARIABLES_DIRECTORY, VARIABLES_FILENAME)
