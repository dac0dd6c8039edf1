"""Descriptor parity: flowsaver's graph and MetaGraph messages against TensorFlow's own.

For every message in ``flowsaver.format.graph_protos`` and, recursively, every message and enum
its fields reach (the core messages of ``protos.py`` included), compare with TensorFlow's
runtime descriptor: field names, numbers, types, repetition, presence, packing, map-ness, oneof
membership and enum values. Only field *numbers and shapes* are read from TensorFlow here.
"""
from __future__ import annotations

import pytest

from flowsaver.format.graph_protos import MESSAGES, MetaGraphDef

# TensorFlow fields flowsaver leaves out on purpose; they survive parsing as unknown fields.
NOT_MODELLED = {
    ("tensorflow.GraphDef", "debug_info"),          # proto2 GraphDebugInfo, not in .meta files
    ("tensorflow.ResourceHandleProto", "dtypes_and_shapes"),  # core.proto predates it
}
# flowsaver's top-level stand-ins for TF messages nested in a parent defined elsewhere.
TF_NAMES = {
    "tensorflow.ResourceHandleProto_DtypeAndShape": "tensorflow.ResourceHandleProto.DtypeAndShape",
}


@pytest.fixture(scope="module")
def tf_pool(tf):
    """TensorFlow's descriptor pool, with the files these messages live in loaded."""
    from google.protobuf import descriptor_pool
    from tensorflow.core.framework import variable_pb2  # noqa: F401
    from tensorflow.core.protobuf import meta_graph_pb2, saver_pb2  # noqa: F401
    return descriptor_pool.Default()


def _field_shape(field) -> dict:
    message = field.message_type
    return {
        "number": field.number, "type": field.type, "repeated": field.is_repeated,
        "presence": field.has_presence, "packed": field.is_packed,
        "map": bool(message and message.GetOptions().map_entry),
        "oneof": field.containing_oneof.name if field.containing_oneof else None,
    }


def _compare(ours, theirs, seen: set, problems: list) -> None:
    """Append a line to ``problems`` for every difference below ``ours``/``theirs``."""
    if ours.full_name in seen:
        return
    seen.add(ours.full_name)
    expected_name = TF_NAMES.get(ours.full_name, ours.full_name)
    if not ours.GetOptions().map_entry and theirs.full_name != expected_name:
        problems.append(f"{ours.full_name}: TensorFlow calls it {theirs.full_name}")
    our_fields = {f.name: f for f in ours.fields}
    for name, tf_field in theirs.fields_by_name.items():
        if (theirs.full_name, name) in NOT_MODELLED:
            if name in our_fields:
                problems.append(f"{theirs.full_name}.{name} is modelled; drop it from NOT_MODELLED")
            continue
        field = our_fields.pop(name, None)
        if field is None:
            problems.append(f"{ours.full_name}: missing field {name} = {tf_field.number}")
            continue
        if _field_shape(field) != _field_shape(tf_field):
            problems.append(f"{ours.full_name}.{name}: ours {_field_shape(field)}, "
                            f"TensorFlow {_field_shape(tf_field)}")
        if field.enum_type and tf_field.enum_type:
            ours_values = {v.name: v.number for v in field.enum_type.values}
            tf_values = {v.name: v.number for v in tf_field.enum_type.values}
            if ours_values != tf_values:
                problems.append(f"{field.enum_type.full_name}: ours {ours_values}, "
                                f"TensorFlow {tf_values}")
        if field.message_type and tf_field.message_type:
            _compare(field.message_type, tf_field.message_type, seen, problems)
    for name, field in our_fields.items():
        problems.append(f"{ours.full_name}.{name} = {field.number} is not in TensorFlow")


@pytest.mark.parametrize("name", sorted(MESSAGES))
def test_message_matches_tensorflow(tf_pool, name):
    ours = MESSAGES[name].DESCRIPTOR
    theirs = tf_pool.FindMessageTypeByName(TF_NAMES.get(ours.full_name, ours.full_name))
    problems: list[str] = []
    _compare(ours, theirs, set(), problems)
    assert problems == []


def test_meta_graph_def_reaches_every_message(tf_pool):
    """Walking MetaGraphDef covers every message defined here, so parity covers them all."""
    seen: set = set()
    problems: list[str] = []
    _compare(MetaGraphDef.DESCRIPTOR, tf_pool.FindMessageTypeByName("tensorflow.MetaGraphDef"),
             seen, problems)
    reached = {name.removeprefix("tensorflow.") for name in seen}
    # VariableDef travels as bytes inside bytes_list collections, so no field reaches it.
    assert set(MESSAGES) - reached == {"VariableDef", "SaveSliceInfoDef"}
    assert problems == []


def test_tensorflow_parses_our_bytes_and_we_parse_theirs(tf):
    """Serialized messages cross between the two runtimes unchanged."""
    from tensorflow.core.protobuf import meta_graph_pb2

    from fixture_paths import SAMPLES
    data = (SAMPLES / "s1_resource_adam" / "model.ckpt-3.meta").read_bytes()
    ours = MetaGraphDef.FromString(data)
    theirs = meta_graph_pb2.MetaGraphDef.FromString(ours.SerializeToString(deterministic=True))
    assert theirs.SerializeToString(deterministic=True) == data
    with tf.Graph().as_default() as graph:
        saver = tf.compat.v1.train.import_meta_graph(theirs)
        exported = tf.compat.v1.train.export_meta_graph(graph=graph,
                                                       saver_def=saver.as_saver_def())
    again = MetaGraphDef.FromString(exported.SerializeToString(deterministic=True))
    assert again.saver_def == ours.saver_def
    assert again.graph_def == ours.graph_def
    assert again.collection_def == ours.collection_def
