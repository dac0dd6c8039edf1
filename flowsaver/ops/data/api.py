"""Public ``tf.data`` names (re-exports)."""
from flowsaver.ops.data.dataset import AUTOTUNE, Dataset
from flowsaver.ops.data.iterator import (Iterator, get_output_classes, get_output_shapes,
                                         get_output_types, make_initializable_iterator,
                                         make_one_shot_iterator)
from flowsaver.ops.data.readers import (FixedLengthRecordDataset, TextLineDataset,
                                        TFRecordDataset)

__all__ = ["AUTOTUNE", "Dataset", "FixedLengthRecordDataset", "Iterator", "TFRecordDataset",
           "TextLineDataset", "get_output_classes", "get_output_shapes", "get_output_types",
           "make_initializable_iterator", "make_one_shot_iterator"]
