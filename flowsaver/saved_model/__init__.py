"""``tf.saved_model`` (TensorFlow 1.x's, as ``tf.compat.v1.saved_model``): writing and
loading SavedModel directories. Re-exports only; the work is in flowsaver.train
(saved_model_builder, saved_model_loader, signature_defs) and flowsaver.format
(saved_model, saved_model_file)."""
from flowsaver.format.saved_model import (  # noqa: F401
    ASSETS_DIRECTORY, ASSETS_KEY, CLASSIFY_INPUTS, CLASSIFY_METHOD_NAME,
    CLASSIFY_OUTPUT_CLASSES, CLASSIFY_OUTPUT_SCORES, DEBUG_DIRECTORY, DEBUG_INFO_FILENAME_PB,
    DEFAULT_SERVING_SIGNATURE_DEF_KEY, GPU,
    LEGACY_INIT_OP_KEY, MAIN_OP_KEY, PREDICT_INPUTS, PREDICT_METHOD_NAME, PREDICT_OUTPUTS,
    REGRESS_INPUTS, REGRESS_METHOD_NAME, REGRESS_OUTPUTS, SAVED_MODEL_FILENAME_PB,
    SAVED_MODEL_FILENAME_PBTXT, SAVED_MODEL_SCHEMA_VERSION, SERVING, TPU, TRAINING,
    VARIABLES_DIRECTORY, VARIABLES_FILENAME)
from flowsaver.saved_model import (builder, constants, loader, main_op,  # noqa: F401
                                   signature_constants, signature_def_utils, tag_constants,
                                   utils)
from flowsaver.train.saved_model_builder import SavedModelBuilder as Builder  # noqa: F401
from flowsaver.train.saved_model_builder import main_op_with_restore, simple_save  # noqa: F401
from flowsaver.train.saved_model_loader import (contains_saved_model, load,  # noqa: F401
                                                maybe_saved_model_directory)
from flowsaver.train.signature_defs import (build_signature_def,  # noqa: F401
                                            build_tensor_info, classification_signature_def,
                                            get_tensor_from_tensor_info, is_valid_signature,
                                            predict_signature_def, regression_signature_def)
