"""The layout of a SavedModel directory (what ``tf.saved_model.save`` and TF1's
SavedModelBuilder write), and its names, as TensorFlow's saved_model/constants define them:

    D/saved_model.pb          a binary SavedModel message (or D/saved_model.pbtxt, text):
                                SavedModel {1 saved_model_schema_version int64 (= 1),
                                            2 meta_graphs repeated MetaGraphDef}
                              serialized deterministically (map keys sorted); the message,
                              its reader and writer are in saved_model_file.py
    D/variables/variables.index, D/variables/variables.data-NNNNN-of-NNNNN
                              an ordinary V2 checkpoint with prefix D/variables/variables
                              (TF1: written by a sharded Saver; TF2: object-based, with
                              _CHECKPOINTABLE_OBJECT_GRAPH)
    D/assets/FILE             asset files, copied in under their base names; each MetaGraph
                              lists the ones it uses (asset_file_def, or TF1's
                              "saved_model_assets" collection of AssetFileDefs in Any)
    D/assets.extra/           files for other tools, never read by a loader
    D/fingerprint.pb          TF2 only (flowsaver neither needs nor writes it)

This module knows only names and paths, so that reading a SavedModel's variables does not
load the graph messages.
"""
from __future__ import annotations

import os

from flowsaver.format import storage

SAVED_MODEL_SCHEMA_VERSION = 1
SAVED_MODEL_PB = SAVED_MODEL_FILENAME_PB = "saved_model.pb"
SAVED_MODEL_PBTXT = SAVED_MODEL_FILENAME_PBTXT = "saved_model.pbtxt"
VARIABLES_DIRECTORY = "variables"
VARIABLES_FILENAME = "variables"
ASSETS_DIRECTORY = "assets"
EXTRA_ASSETS_DIRECTORY = "assets.extra"
FINGERPRINT_FILENAME = "fingerprint.pb"
DEBUG_DIRECTORY = "debug"
DEBUG_INFO_FILENAME_PB = "saved_model_debug_info.pb"

# Collection keys and reserved signature keys of TF1 SavedModels.
ASSETS_KEY = "saved_model_assets"
MAIN_OP_KEY = "saved_model_main_op"
LEGACY_INIT_OP_KEY = "legacy_init_op"
TRAIN_OP_KEY = "saved_model_train_op"
INIT_OP_SIGNATURE_KEY = "__saved_model_init_op"
TRAIN_OP_SIGNATURE_KEY = "__saved_model_train_op"

# tag_constants
SERVING = "serve"
TRAINING = "train"
EVAL = "eval"
GPU = "gpu"
TPU = "tpu"

# signature_constants
DEFAULT_SERVING_SIGNATURE_DEF_KEY = "serving_default"
CLASSIFY_INPUTS = "inputs"
CLASSIFY_METHOD_NAME = "tensorflow/serving/classify"
CLASSIFY_OUTPUT_CLASSES = "classes"
CLASSIFY_OUTPUT_SCORES = "scores"
PREDICT_INPUTS = "inputs"
PREDICT_METHOD_NAME = "tensorflow/serving/predict"
PREDICT_OUTPUTS = "outputs"
REGRESS_INPUTS = "inputs"
REGRESS_METHOD_NAME = "tensorflow/serving/regress"
REGRESS_OUTPUTS = "outputs"
DEFAULT_TRAIN_SIGNATURE_DEF_KEY = "train"
DEFAULT_EVAL_SIGNATURE_DEF_KEY = "eval"
SUPERVISED_TRAIN_METHOD_NAME = "tensorflow/supervised/training"
SUPERVISED_EVAL_METHOD_NAME = "tensorflow/supervised/eval"


def is_saved_model_dir(path) -> bool:
    """Whether ``path`` is a directory holding ``saved_model.pb`` or ``saved_model.pbtxt``."""
    path = os.fspath(path)
    return storage.isdir(path) and any(
        storage.isfile(os.path.join(path, name)) for name in (SAVED_MODEL_PB, SAVED_MODEL_PBTXT))


def variables_directory(export_dir) -> str:
    """``D/variables``."""
    return os.path.join(os.fspath(export_dir), VARIABLES_DIRECTORY)


def variables_prefix(export_dir) -> str:
    """The checkpoint prefix of a SavedModel's variables: ``D/variables/variables``."""
    return os.path.join(variables_directory(export_dir), VARIABLES_FILENAME)


def assets_directory(export_dir) -> str:
    """``D/assets``."""
    return os.path.join(os.fspath(export_dir), ASSETS_DIRECTORY)
