"""``tf.python_io``: TFRecord files from Python."""
from flowsaver.format.record_files import (TFRecordCompressionType, TFRecordOptions,
                                           TFRecordWriter, tf_record_iterator)

__all__ = ["TFRecordCompressionType", "TFRecordOptions", "TFRecordWriter",
           "tf_record_iterator"]
