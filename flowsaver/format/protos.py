"""The protobuf messages of checkpoint files, with TensorFlow's names and field numbers.

Field numbers follow the shared format spec (sections 1.3, 1.8, 2, 4.2 and 5). Usage:
``from flowsaver.format.protos import BundleEntryProto``.
"""
from __future__ import annotations

from flowsaver.format.proto_builder import build

DATA_TYPES = {
    "DT_INVALID": 0, "DT_FLOAT": 1, "DT_DOUBLE": 2, "DT_INT32": 3, "DT_UINT8": 4,
    "DT_INT16": 5, "DT_INT8": 6, "DT_STRING": 7, "DT_COMPLEX64": 8, "DT_INT64": 9,
    "DT_BOOL": 10, "DT_QINT8": 11, "DT_QUINT8": 12, "DT_QINT32": 13, "DT_BFLOAT16": 14,
    "DT_QINT16": 15, "DT_QUINT16": 16, "DT_UINT16": 17, "DT_COMPLEX128": 18, "DT_HALF": 19,
    "DT_RESOURCE": 20, "DT_VARIANT": 21, "DT_UINT32": 22, "DT_UINT64": 23,
    "DT_FLOAT8_E5M2": 24, "DT_FLOAT8_E4M3FN": 25, "DT_FLOAT8_E4M3FNUZ": 26,
    "DT_FLOAT8_E4M3B11FNUZ": 27, "DT_FLOAT8_E5M2FNUZ": 28, "DT_INT4": 29, "DT_UINT4": 30,
    "DT_INT2": 31, "DT_UINT2": 32, "DT_FLOAT4_E2M1FN": 33,
}
# Reference types: base + 100, for graph output types.
DATA_TYPES.update({k + "_REF": v + 100 for k, v in list(DATA_TYPES.items()) if v})

_core = build("flowsaver/core.proto", "tensorflow", {"DataType": DATA_TYPES}, {
    "VersionDef": ["1 producer int32", "2 min_consumer int32", "3 bad_consumers repeated int32"],
    "TensorShapeProto": ["2 dim repeated TensorShapeProto.Dim", "3 unknown_rank bool"],
    "TensorShapeProto.Dim": ["1 size int64", "2 name string"],
    "TensorSliceProto": ["1 extent repeated TensorSliceProto.Extent"],
    "TensorSliceProto.Extent": ["1 start int64", "2 length int64 oneof:has_length"],
    "ResourceHandleProto": ["1 device string", "2 container string", "3 name string",
                            "4 hash_code uint64", "5 maybe_type_name string"],
    "TensorProto": [
        "1 dtype DataType", "2 tensor_shape TensorShapeProto", "3 version_number int32",
        "4 tensor_content bytes", "5 float_val repeated float", "6 double_val repeated double",
        "7 int_val repeated int32", "8 string_val repeated bytes",
        "9 scomplex_val repeated float", "10 int64_val repeated int64",
        "11 bool_val repeated bool", "12 dcomplex_val repeated double",
        "13 half_val repeated int32", "14 resource_handle_val repeated ResourceHandleProto",
        "15 variant_val repeated VariantTensorDataProto", "16 uint32_val repeated uint32",
        "17 uint64_val repeated uint64", "18 float8_val bytes",
    ],
    "VariantTensorDataProto": ["1 type_name string", "2 metadata bytes",
                               "3 tensors repeated TensorProto"],
})

_bundle = build("flowsaver/bundle.proto", "tensorflow",
                {"BundleHeaderProto_Endianness": {"LITTLE": 0, "BIG": 1}}, {
    "BundleHeaderProto": ["1 num_shards int32", "2 endianness BundleHeaderProto_Endianness",
                          "3 version VersionDef"],
    "BundleEntryProto": ["1 dtype DataType", "2 shape TensorShapeProto", "3 shard_id int32",
                         "4 offset int64", "5 size int64", "6 crc32c fixed32",
                         "7 slices repeated TensorSliceProto"],
    # Legacy V1 checkpoints (TensorSliceWriter): one SSTable of SavedTensorSlices values.
    "SavedSliceMeta": ["1 name string", "2 shape TensorShapeProto", "3 type DataType",
                       "4 slice repeated TensorSliceProto"],
    "SavedTensorSliceMeta": ["1 tensor repeated SavedSliceMeta", "2 versions VersionDef"],
    "SavedSlice": ["1 name string", "2 slice TensorSliceProto", "3 data TensorProto"],
    "SavedTensorSlices": ["1 meta SavedTensorSliceMeta", "2 data SavedSlice"],
    # The `checkpoint` state file (text format).
    "CheckpointState": ["1 model_checkpoint_path string",
                        "2 all_model_checkpoint_paths repeated string",
                        "3 all_model_checkpoint_timestamps repeated double",
                        "4 last_preserved_timestamp double"],
    # TF2 object graph, stored as the string tensor _CHECKPOINTABLE_OBJECT_GRAPH.
    "TrackableObjectGraph": ["1 nodes repeated TrackableObjectGraph.TrackableObject"],
    "TrackableObjectGraph.TrackableObject": [
        "1 children repeated TrackableObjectGraph.TrackableObject.ObjectReference",
        "2 attributes repeated TrackableObjectGraph.TrackableObject.SerializedTensor",
        "3 slot_variables repeated TrackableObjectGraph.TrackableObject.SlotVariableReference",
    ],
    "TrackableObjectGraph.TrackableObject.ObjectReference": ["1 node_id int32",
                                                             "2 local_name string"],
    "TrackableObjectGraph.TrackableObject.SerializedTensor": [
        "1 name string", "2 full_name string", "3 checkpoint_key string"],
    "TrackableObjectGraph.TrackableObject.SlotVariableReference": [
        "1 original_variable_node_id int32", "2 slot_name string",
        "3 slot_variable_node_id int32"],
}, deps=["flowsaver/core.proto"])

# Not a TensorFlow message: a flowsaver-private list whose one repeated field lets a reader
# parse every BundleEntryProto of an index in one protobuf call (each entry framed as field
# 1, length-delimited), instead of one call per entry.
_entry_list = build("flowsaver/bundle_entry_list.proto", "tensorflow", {}, {
    "FlowsaverBundleEntryList": ["1 entries repeated BundleEntryProto"],
}, deps=["flowsaver/bundle.proto"])

VersionDef = _core["VersionDef"]
TensorShapeProto = _core["TensorShapeProto"]
TensorSliceProto = _core["TensorSliceProto"]
ResourceHandleProto = _core["ResourceHandleProto"]
TensorProto = _core["TensorProto"]
VariantTensorDataProto = _core["VariantTensorDataProto"]
BundleHeaderProto = _bundle["BundleHeaderProto"]
BundleEntryProto = _bundle["BundleEntryProto"]
SavedSliceMeta = _bundle["SavedSliceMeta"]
SavedTensorSliceMeta = _bundle["SavedTensorSliceMeta"]
SavedSlice = _bundle["SavedSlice"]
SavedTensorSlices = _bundle["SavedTensorSlices"]
CheckpointState = _bundle["CheckpointState"]
TrackableObjectGraph = _bundle["TrackableObjectGraph"]
BundleEntryList = _entry_list["FlowsaverBundleEntryList"]
