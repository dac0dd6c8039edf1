"""The protobuf messages of TensorBoard event files, with TensorFlow's names and numbers.

An event file is a TFRecord file (records.py) of serialized ``Event`` messages. Field
numbers were read from the wire format and descriptors of TensorFlow 2.21's event and
summary messages; ``tests/interop/test_events_tf.py`` compares every message here with
TensorFlow's descriptors. Usage: ``from flowsaver.format.event_protos import Event``.
"""
from __future__ import annotations

from flowsaver.format import protos  # noqa: F401 - defines flowsaver/core.proto first
from flowsaver.format.proto_builder import build

_WHAT = " oneof:what"
_VALUE = " oneof:value"

_summary = build("flowsaver/summary.proto", "tensorflow", {
    "DataClass": {"DATA_CLASS_UNKNOWN": 0, "DATA_CLASS_SCALAR": 1, "DATA_CLASS_TENSOR": 2,
                  "DATA_CLASS_BLOB_SEQUENCE": 3},
}, {
    "SummaryDescription": ["1 type_hint string"],
    "HistogramProto": ["1 min double", "2 max double", "3 num double", "4 sum double",
                       "5 sum_squares double", "6 bucket_limit repeated double",
                       "7 bucket repeated double"],
    "SummaryMetadata": ["1 plugin_data SummaryMetadata.PluginData", "2 display_name string",
                        "3 summary_description string", "4 data_class DataClass"],
    "SummaryMetadata.PluginData": ["1 plugin_name string", "2 content bytes"],
    "Summary": ["1 value repeated Summary.Value"],
    "Summary.Image": ["1 height int32", "2 width int32", "3 colorspace int32",
                      "4 encoded_image_string bytes"],
    "Summary.Audio": ["1 sample_rate float", "2 num_channels int64", "3 length_frames int64",
                      "4 encoded_audio_string bytes", "5 content_type string"],
    "Summary.Value": [
        "7 node_name string", "1 tag string", "9 metadata SummaryMetadata",
        "2 simple_value float" + _VALUE, "3 obsolete_old_style_histogram bytes" + _VALUE,
        "4 image Summary.Image" + _VALUE, "5 histo HistogramProto" + _VALUE,
        "6 audio Summary.Audio" + _VALUE, "8 tensor TensorProto" + _VALUE,
    ],
}, deps=["flowsaver/core.proto"])

_event = build("flowsaver/event.proto", "tensorflow", {
    "LogMessage.Level": {"UNKNOWN": 0, "DEBUGGING": 10, "INFO": 20, "WARN": 30, "ERROR": 40,
                         "FATAL": 50},
    "SessionLog.SessionStatus": {"STATUS_UNSPECIFIED": 0, "START": 1, "STOP": 2,
                                 "CHECKPOINT": 3},
}, {
    "Event": [
        "1 wall_time double", "2 step int64", "3 file_version string" + _WHAT,
        "4 graph_def bytes" + _WHAT, "5 summary Summary" + _WHAT,
        "6 log_message LogMessage" + _WHAT, "7 session_log SessionLog" + _WHAT,
        "8 tagged_run_metadata TaggedRunMetadata" + _WHAT, "9 meta_graph_def bytes" + _WHAT,
        "10 source_metadata SourceMetadata",
    ],
    "SourceMetadata": ["1 writer string"],
    "LogMessage": ["1 level LogMessage.Level", "2 message string"],
    "SessionLog": ["1 status SessionLog.SessionStatus", "2 checkpoint_path string",
                   "3 msg string"],
    "TaggedRunMetadata": ["1 tag string", "2 run_metadata bytes"],
}, deps=["flowsaver/summary.proto"])

SummaryDescription = _summary["SummaryDescription"]
HistogramProto = _summary["HistogramProto"]
SummaryMetadata = _summary["SummaryMetadata"]
Summary = _summary["Summary"]
Event = _event["Event"]
SourceMetadata = _event["SourceMetadata"]
LogMessage = _event["LogMessage"]
SessionLog = _event["SessionLog"]
TaggedRunMetadata = _event["TaggedRunMetadata"]

# Every top-level message class, by its name in package ``tensorflow``.
MESSAGES = {name: cls for table in (_summary, _event) for name, cls in table.items()
            if "." not in name}
