"""The protobuf messages of graphs and MetaGraphs, with TensorFlow's names and field numbers.

A TF1 ``.meta`` file is one serialized ``MetaGraphDef``; ``export_meta_graph(as_text=True)``
writes the same message in text format (spec section 4.1). TF writes binary files from Python
with ``SerializeToString(deterministic=True)``: every field in field-number order, and map
entries (``collection_def``, ``NodeDef.attr``, ``signature_def``) sorted by key the way the
upb protobuf runtime sorts them, bytewise except that a key that is a prefix of another comes
after it (``Tidx`` is written before ``T``). Text files sort map keys plainly. Parsing a TF
file with these classes and re-serializing with ``deterministic=True`` under the same (upb)
runtime gives the same bytes.

Field numbers follow the shared format spec (sections 3.6 and 4.2). Numbers the spec does not
list (FullTypeDef, FunctionDef, the struct messages) were read from the wire format of
TF-written files and from the runtime descriptors; ``tests/interop/test_graph_protos_tf.py``
compares every message here with TensorFlow's descriptors.

One piece of TensorFlow's schema is deliberately absent and survives only as an unknown
field: ``GraphDef.debug_info`` (a proto2 message, never written into a ``.meta`` by a Saver).
``MetaGraphDef.object_graph_def`` (a TF2 SavedModel's SavedObjectGraph) is modelled, so that
the variables and concrete functions of TF2 SavedModels can be found by node id.
``ResourceHandleProto.DtypeAndShape``
lives here as the top-level ``ResourceHandleProto_DtypeAndShape``, because its parent is
defined in ``flowsaver/core.proto``.

Usage: ``from flowsaver.format.graph_protos import MetaGraphDef``.
"""
from __future__ import annotations

from google.protobuf import message_factory

from flowsaver.format import protos as _core  # noqa: F401 - builds core.proto, imported below
from flowsaver.format.proto_builder import build

# Full type ids (``FullTypeDef.type_id``), set on nodes whose outputs are variants or
# resources, and on some OpDef args.
FULL_TYPE_IDS = {
    "TFT_UNSET": 0, "TFT_VAR": 1, "TFT_ANY": 2, "TFT_PRODUCT": 3, "TFT_NAMED": 4,
    "TFT_FOR_EACH": 20, "TFT_CALLABLE": 100,
    "TFT_TENSOR": 1000, "TFT_ARRAY": 1001, "TFT_OPTIONAL": 1002, "TFT_LITERAL": 1003,
    "TFT_ENCODED": 1004, "TFT_SHAPE_TENSOR": 1005,
    "TFT_BOOL": 200, "TFT_UINT8": 201, "TFT_UINT16": 202, "TFT_UINT32": 203,
    "TFT_UINT64": 204, "TFT_INT8": 205, "TFT_INT16": 206, "TFT_INT32": 207, "TFT_INT64": 208,
    "TFT_HALF": 209, "TFT_FLOAT": 210, "TFT_DOUBLE": 211, "TFT_BFLOAT16": 215,
    "TFT_COMPLEX64": 212, "TFT_COMPLEX128": 213, "TFT_STRING": 214,
    "TFT_DATASET": 10102, "TFT_RAGGED": 10103, "TFT_ITERATOR": 10104,
    "TFT_MUTEX_LOCK": 10202, "TFT_LEGACY_VARIANT": 10203,
}

# --- flowsaver/graph.proto: GraphDef and what it is made of -------------------------------
_graph = build("flowsaver/graph.proto", "tensorflow", {"FullTypeId": FULL_TYPE_IDS}, {
    "AttrValue": [
        "2 s bytes oneof:value", "3 i int64 oneof:value", "4 f float oneof:value",
        "5 b bool oneof:value", "6 type DataType oneof:value",
        "7 shape TensorShapeProto oneof:value", "8 tensor TensorProto oneof:value",
        "1 list AttrValue.ListValue oneof:value", "10 func NameAttrList oneof:value",
        "9 placeholder string oneof:value",
    ],
    "AttrValue.ListValue": [
        "2 s repeated bytes", "3 i repeated int64", "4 f repeated float", "5 b repeated bool",
        "6 type repeated DataType", "7 shape repeated TensorShapeProto",
        "8 tensor repeated TensorProto", "9 func repeated NameAttrList",
    ],
    "NameAttrList": ["1 name string", "2 attr map<string,AttrValue>"],
    "FullTypeDef": ["1 type_id FullTypeId", "2 args repeated FullTypeDef",
                    "3 s string oneof:attr", "4 i int64 oneof:attr"],
    "NodeDef": [
        "1 name string", "2 op string", "3 input repeated string", "4 device string",
        "5 attr map<string,AttrValue>",
        "6 experimental_debug_info NodeDef.ExperimentalDebugInfo",
        "7 experimental_type FullTypeDef",
    ],
    "NodeDef.ExperimentalDebugInfo": ["1 original_node_names repeated string",
                                      "2 original_func_names repeated string"],
    "ResourceHandleProto_DtypeAndShape": ["1 dtype DataType", "2 shape TensorShapeProto"],
    "OpDef": [
        "1 name string", "2 input_arg repeated OpDef.ArgDef",
        "3 output_arg repeated OpDef.ArgDef", "20 control_output repeated string",
        "4 attr repeated OpDef.AttrDef", "8 deprecation OpDeprecation", "5 summary string",
        "6 description string", "18 is_commutative bool", "16 is_aggregate bool",
        "17 is_stateful bool", "19 allows_uninitialized_input bool",
        "21 is_distributed_communication bool",
    ],
    "OpDef.ArgDef": [
        "1 name string", "2 description string", "3 type DataType", "4 type_attr string",
        "5 number_attr string", "6 type_list_attr string",
        "7 handle_data repeated ResourceHandleProto_DtypeAndShape", "16 is_ref bool",
        "17 experimental_full_type FullTypeDef",
    ],
    "OpDef.AttrDef": [
        "1 name string", "2 type string", "3 default_value AttrValue", "4 description string",
        "5 has_minimum bool", "6 minimum int64", "7 allowed_values AttrValue",
    ],
    "OpDeprecation": ["1 version int32", "2 explanation string"],
    "OpList": ["1 op repeated OpDef"],
    "FunctionDefLibrary": ["1 function repeated FunctionDef", "2 gradient repeated GradientDef",
                           "3 registered_gradients repeated RegisteredGradient"],
    "FunctionDef": [
        "1 signature OpDef", "5 attr map<string,AttrValue>",
        "7 arg_attr map<uint32,FunctionDef.ArgAttrs>",
        "8 resource_arg_unique_id map<uint32,uint32>", "3 node_def repeated NodeDef",
        "4 ret map<string,string>", "6 control_ret map<string,string>",
    ],
    "FunctionDef.ArgAttrs": ["1 attr map<string,AttrValue>"],
    "GradientDef": ["1 function_name string", "2 gradient_func string"],
    "RegisteredGradient": ["1 gradient_func string", "2 registered_op_type string"],
    "GraphDef": ["1 node repeated NodeDef", "4 versions VersionDef", "3 version int32",
                 "2 library FunctionDefLibrary"],
}, deps=["flowsaver/core.proto"])

# --- flowsaver/meta_graph.proto: MetaGraphDef, SaverDef, VariableDef, signatures -----------
_TYPE_SPEC_CLASSES = {
    "UNKNOWN": 0, "SPARSE_TENSOR_SPEC": 1, "INDEXED_SLICES_SPEC": 2, "RAGGED_TENSOR_SPEC": 3,
    "TENSOR_ARRAY_SPEC": 4, "DATA_DATASET_SPEC": 5, "DATA_ITERATOR_SPEC": 6,
    "OPTIONAL_SPEC": 7, "PER_REPLICA_SPEC": 8, "VARIABLE_SPEC": 9, "ROW_PARTITION_SPEC": 10,
    "REGISTERED_TYPE_SPEC": 12, "EXTENSION_TYPE_SPEC": 13,
}
_ENUMS = {
    "SaverDef.CheckpointFormatVersion": {"LEGACY": 0, "V1": 1, "V2": 2},
    "VariableSynchronization": {
        "VARIABLE_SYNCHRONIZATION_AUTO": 0, "VARIABLE_SYNCHRONIZATION_NONE": 1,
        "VARIABLE_SYNCHRONIZATION_ON_WRITE": 2, "VARIABLE_SYNCHRONIZATION_ON_READ": 3},
    "VariableAggregation": {
        "VARIABLE_AGGREGATION_NONE": 0, "VARIABLE_AGGREGATION_SUM": 1,
        "VARIABLE_AGGREGATION_MEAN": 2, "VARIABLE_AGGREGATION_ONLY_FIRST_REPLICA": 3},
    "TypeSpecProto.TypeSpecClass": _TYPE_SPEC_CLASSES,
    "FunctionSpec.JitCompile": {"DEFAULT": 0, "ON": 1, "OFF": 2},
}
_KIND = " oneof:kind"
_REFERENCE = "TrackableObjectGraph.TrackableObject.ObjectReference"
_SLOT_REFERENCE = "TrackableObjectGraph.TrackableObject.SlotVariableReference"
_meta = build("flowsaver/meta_graph.proto", "tensorflow", _ENUMS, {
    "SaverDef": [
        "1 filename_tensor_name string", "2 save_tensor_name string",
        "3 restore_op_name string", "4 max_to_keep int32", "5 sharded bool",
        "6 keep_checkpoint_every_n_hours float", "7 version SaverDef.CheckpointFormatVersion",
    ],
    "VariableDef": [
        "1 variable_name string", "6 initial_value_name string", "2 initializer_name string",
        "3 snapshot_name string", "4 save_slice_info_def SaveSliceInfoDef",
        "5 is_resource bool", "7 trainable bool", "8 synchronization VariableSynchronization",
        "9 aggregation VariableAggregation",
    ],
    "SaveSliceInfoDef": ["1 full_name string", "2 full_shape repeated int64",
                         "3 var_offset repeated int64", "4 var_shape repeated int64"],
    "CollectionDef": [
        "1 node_list CollectionDef.NodeList" + _KIND,
        "2 bytes_list CollectionDef.BytesList" + _KIND,
        "3 int64_list CollectionDef.Int64List" + _KIND,
        "4 float_list CollectionDef.FloatList" + _KIND,
        "5 any_list CollectionDef.AnyList" + _KIND,
    ],
    "CollectionDef.NodeList": ["1 value repeated string"],
    "CollectionDef.BytesList": ["1 value repeated bytes"],
    "CollectionDef.Int64List": ["1 value repeated int64"],
    "CollectionDef.FloatList": ["1 value repeated float"],
    "CollectionDef.AnyList": ["1 value repeated .google.protobuf.Any"],
    # The structure of a composite tensor's TypeSpec (TensorInfo.composite_tensor).
    "StructuredValue": [
        "1 none_value NoneValue" + _KIND, "11 float64_value double" + _KIND,
        "12 int64_value sint64" + _KIND, "13 string_value string" + _KIND,
        "14 bool_value bool" + _KIND, "31 tensor_shape_value TensorShapeProto" + _KIND,
        "32 tensor_dtype_value DataType" + _KIND,
        "33 tensor_spec_value TensorSpecProto" + _KIND,
        "34 type_spec_value TypeSpecProto" + _KIND,
        "35 bounded_tensor_spec_value BoundedTensorSpecProto" + _KIND,
        "51 list_value ListValue" + _KIND, "52 tuple_value TupleValue" + _KIND,
        "53 dict_value DictValue" + _KIND, "54 named_tuple_value NamedTupleValue" + _KIND,
        "55 tensor_value TensorProto" + _KIND, "56 numpy_value TensorProto" + _KIND,
    ],
    "NoneValue": [],
    "ListValue": ["1 values repeated StructuredValue"],
    "TupleValue": ["1 values repeated StructuredValue"],
    "DictValue": ["1 fields map<string,StructuredValue>"],
    "PairValue": ["1 key string", "2 value StructuredValue"],
    "NamedTupleValue": ["1 name string", "2 values repeated PairValue"],
    "TensorSpecProto": ["1 name string", "2 shape TensorShapeProto", "3 dtype DataType"],
    "BoundedTensorSpecProto": ["1 name string", "2 shape TensorShapeProto", "3 dtype DataType",
                               "4 minimum TensorProto", "5 maximum TensorProto"],
    "TypeSpecProto": ["1 type_spec_class TypeSpecProto.TypeSpecClass",
                      "2 type_state StructuredValue", "3 type_spec_class_name string",
                      "4 num_flat_components int32"],
    "TensorInfo": [
        "1 name string oneof:encoding", "4 coo_sparse TensorInfo.CooSparse oneof:encoding",
        "5 composite_tensor TensorInfo.CompositeTensor oneof:encoding",
        "2 dtype DataType", "3 tensor_shape TensorShapeProto",
    ],
    "TensorInfo.CooSparse": ["1 values_tensor_name string", "2 indices_tensor_name string",
                             "3 dense_shape_tensor_name string"],
    "TensorInfo.CompositeTensor": ["1 type_spec TypeSpecProto",
                                   "2 components repeated TensorInfo"],
    "SignatureDef": ["1 inputs map<string,TensorInfo>", "2 outputs map<string,TensorInfo>",
                     "3 method_name string", "4 defaults map<string,TensorProto>"],
    "AssetFileDef": ["1 tensor_info TensorInfo", "2 filename string"],
    "MetaGraphDef": [
        "1 meta_info_def MetaGraphDef.MetaInfoDef", "2 graph_def GraphDef",
        "3 saver_def SaverDef", "4 collection_def map<string,CollectionDef>",
        "5 signature_def map<string,SignatureDef>", "6 asset_file_def repeated AssetFileDef",
        "7 object_graph_def SavedObjectGraph",
    ],
    "MetaGraphDef.MetaInfoDef": [
        "1 meta_graph_version string", "2 stripped_op_list OpList",
        "3 any_info .google.protobuf.Any", "4 tags repeated string",
        "5 tensorflow_version string", "6 tensorflow_git_version string",
        "7 stripped_default_attrs bool", "8 function_aliases map<string,string>",
    ],
    # --- the object graph of a TF2 SavedModel (MetaGraphDef.object_graph_def) -------------
    # Node ids are those of the TrackableObjectGraph in the SavedModel's variables
    # checkpoint: node i here and node i there are the same object.
    "SavedObjectGraph": ["1 nodes repeated SavedObject",
                         "2 concrete_functions map<string,SavedConcreteFunction>"],
    "SavedObject": [
        "1 children repeated " + _REFERENCE, "15 dependencies repeated " + _REFERENCE,
        "3 slot_variables repeated " + _SLOT_REFERENCE,
        "4 user_object SavedUserObject" + _KIND, "5 asset SavedAsset" + _KIND,
        "6 function SavedFunction" + _KIND, "7 variable SavedVariable" + _KIND,
        "8 bare_concrete_function SavedBareConcreteFunction" + _KIND,
        "9 constant SavedConstant" + _KIND, "10 resource SavedResource" + _KIND,
        "12 captured_tensor CapturedTensor" + _KIND,
        "11 saveable_objects map<string,SaveableObject>", "13 registered_name string",
        "14 serialized_user_proto .google.protobuf.Any", "16 registered_saver string",
    ],
    "SavedUserObject": ["1 identifier string", "2 version VersionDef", "3 metadata string"],
    "SavedAsset": ["1 asset_file_def_index int32"],
    "SavedFunction": ["1 concrete_functions repeated string", "2 function_spec FunctionSpec"],
    "FunctionSpec": ["1 fullargspec StructuredValue", "2 is_method bool",
                     "5 input_signature StructuredValue",
                     "6 jit_compile FunctionSpec.JitCompile"],
    "SavedConcreteFunction": ["2 bound_inputs repeated int32",
                              "3 canonicalized_input_signature StructuredValue",
                              "4 output_signature StructuredValue"],
    "SavedBareConcreteFunction": ["1 concrete_function_name string",
                                  "2 argument_keywords repeated string",
                                  "3 allowed_positional_arguments int64",
                                  "4 function_spec FunctionSpec"],
    "SavedConstant": ["1 operation string"],
    "SavedVariable": ["1 dtype DataType", "2 shape TensorShapeProto", "3 trainable bool",
                      "4 synchronization VariableSynchronization",
                      "5 aggregation VariableAggregation", "6 name string", "7 device string",
                      "8 experimental_distributed_variable_components repeated SavedVariable"],
    "SavedResource": ["1 device string"],
    "SaveableObject": ["2 save_function int32", "3 restore_function int32"],
    "CapturedTensor": ["1 name string", "2 concrete_function string"],
}, deps=["flowsaver/core.proto", "flowsaver/graph.proto", "flowsaver/bundle.proto",
         "google/protobuf/any.proto"])

AttrValue = _graph["AttrValue"]
NameAttrList = _graph["NameAttrList"]
FullTypeDef = _graph["FullTypeDef"]
NodeDef = _graph["NodeDef"]
OpDef = _graph["OpDef"]
OpDeprecation = _graph["OpDeprecation"]
OpList = _graph["OpList"]
FunctionDefLibrary = _graph["FunctionDefLibrary"]
FunctionDef = _graph["FunctionDef"]
GradientDef = _graph["GradientDef"]
RegisteredGradient = _graph["RegisteredGradient"]
GraphDef = _graph["GraphDef"]
SaverDef = _meta["SaverDef"]
VariableDef = _meta["VariableDef"]
SaveSliceInfoDef = _meta["SaveSliceInfoDef"]
CollectionDef = _meta["CollectionDef"]
StructuredValue = _meta["StructuredValue"]
TypeSpecProto = _meta["TypeSpecProto"]
TensorInfo = _meta["TensorInfo"]
SignatureDef = _meta["SignatureDef"]
AssetFileDef = _meta["AssetFileDef"]
MetaGraphDef = _meta["MetaGraphDef"]
SavedObjectGraph = _meta["SavedObjectGraph"]
# google.protobuf.Any as this pool knows it (what CollectionDef.any_list holds); Pack/Unpack
# work as on the runtime's own Any.
Any = message_factory.GetMessageClass(
    CollectionDef.DESCRIPTOR.nested_types_by_name["AnyList"].fields_by_name["value"].message_type)
SavedObject = _meta["SavedObject"]

# Every top-level message class, by its name in package ``tensorflow``.
MESSAGES = {name: cls for table in (_graph, _meta) for name, cls in table.items()
            if "." not in name}
