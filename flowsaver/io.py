"""``tf.io``: TFRecord files, Example parsing, raw and CSV decoding, whole-file reads,
``tf.io.gfile`` (files by path or URL) and ``write_graph``."""
from flowsaver.format import gfile
from flowsaver.format.record_files import (TFRecordCompressionType, TFRecordOptions,
                                           TFRecordWriter, tf_record_iterator)
from flowsaver.ops.io.parsing import (FixedLenFeature, FixedLenSequenceFeature,
                                      VarLenFeature, decode_csv, decode_raw, parse_example,
                                      parse_single_example, parse_single_sequence_example,
                                      read_file, write_file)
from flowsaver.train.meta_graph import write_graph

__all__ = ["gfile", "FixedLenFeature", "FixedLenSequenceFeature", "TFRecordCompressionType",
           "TFRecordOptions", "TFRecordWriter", "VarLenFeature", "decode_csv", "decode_raw",
           "parse_example", "parse_single_example", "parse_single_sequence_example",
           "read_file", "tf_record_iterator", "write_file", "write_graph"]
