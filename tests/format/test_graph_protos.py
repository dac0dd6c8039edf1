"""MetaGraphDef and friends, checked against files real TensorFlow wrote (no TensorFlow import).

* Every binary ``.meta`` parses with no unknown field left over and re-serializes to the
  identical bytes (deterministic mode: field-number order, map entries sorted by key).
* Every text ``.pbtxt`` parses, prints back to the identical text, and its binary form equals
  the ``.meta`` of the same save.
* Spot checks use the concrete values of the spec (sections 3.6 and 4.2).
"""
from __future__ import annotations

import struct

import pytest
from google.protobuf import text_format, unknown_fields

from fixture_paths import FIXTURES, SAMPLES
from flowsaver.format import coding
from flowsaver.format.graph_protos import (AttrValue, CollectionDef, FullTypeDef,
                                           FunctionDefLibrary, GraphDef, MetaGraphDef, NodeDef,
                                           OpList, SaverDef, SignatureDef, TensorInfo,
                                           VariableDef)
from flowsaver.format.protos import DATA_TYPES, TensorProto

META_FILES = sorted(SAMPLES.glob("*/*.meta")) + sorted((FIXTURES / "tf").glob("*/*.meta"))
TEXT_FILES = sorted(p for p in SAMPLES.glob("*/*.pbtxt") if p.parent.name != "s14_opdefs")
# (text export, binary .meta of the same graph): both were written after the last save.
TEXT_AND_BINARY = [
    ("s1_resource_adam/model.pbtxt", "s1_resource_adam/model.ckpt-3.meta"),
    ("s2_refvar_momentum/model.pbtxt", "s2_refvar_momentum/model-7.meta"),
]
OPDEFS = SAMPLES / "s14_opdefs" / "saver_opdefs.pbtxt"


def _rel(path) -> str:
    return str(path.relative_to(FIXTURES))


def _load(rel: str) -> MetaGraphDef:
    return MetaGraphDef.FromString((SAMPLES / rel).read_bytes())


def _nodes(meta: MetaGraphDef) -> dict:
    return {node.name: node for node in meta.graph_def.node}


def _sub_messages(message):
    """Every message directly inside ``message``: singular, repeated and map values."""
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        if field.message_type.GetOptions().map_entry:
            if field.message_type.fields_by_name["value"].message_type is not None:
                yield from value.values()
        elif field.is_repeated:
            yield from value
        else:
            yield value


def _unknown_paths(message, path="") -> list[str]:
    """Paths of the messages that hold fields their class does not define."""
    found = [path or "<root>"] if len(unknown_fields.UnknownFieldSet(message)) else []
    for child in _sub_messages(message):
        found += _unknown_paths(child, f"{path}/{child.DESCRIPTOR.name}")
    return found


def _upb_map_order(key: bytes) -> tuple:
    """Sort key of the map-entry order in TF-written files.

    Bytewise, except that a key which is a proper prefix of another comes *after* it
    ("Tidx" before "T"): the deterministic order of protobuf's upb runtime, which TF's
    Python used to write these files.
    """
    return (*key, 256)


def _top_level_fields(data: bytes) -> list[tuple[int, bytes | int]]:
    """(field number, payload) of each top-level field, in byte order: a raw wire decoder."""
    out, pos = [], 0
    while pos < len(data):
        key, pos = coding.decode_varint(data, pos)
        number, wire_type = key >> 3, key & 7
        if wire_type == 0:
            value, pos = coding.decode_varint(data, pos)
        elif wire_type == 2:
            size, pos = coding.decode_varint(data, pos)
            value, pos = data[pos:pos + size], pos + size
        elif wire_type == 5:
            value, pos = data[pos:pos + 4], pos + 4
        elif wire_type == 1:
            value, pos = data[pos:pos + 8], pos + 8
        else:
            raise AssertionError(f"unexpected wire type {wire_type}")
        out.append((number, value))
    return out


def _attr_keys(raw_node: bytes) -> list[bytes]:
    """The NodeDef.attr keys of a serialized NodeDef, in byte order."""
    return [_top_level_fields(entry)[0][1] for number, entry in _top_level_fields(raw_node)
            if number == 5]


# --- binary round trip ------------------------------------------------------------------------

def test_meta_files_found():
    assert len(META_FILES) >= 12 and len(TEXT_FILES) == 3


@pytest.mark.parametrize("path", META_FILES, ids=_rel)
def test_meta_round_trips_byte_identically(path):
    data = path.read_bytes()
    meta = MetaGraphDef.FromString(data)
    assert _unknown_paths(meta) == []
    assert meta.SerializeToString(deterministic=True) == data


@pytest.mark.parametrize("path", META_FILES, ids=_rel)
def test_meta_bytes_are_in_field_number_order_with_sorted_maps(path):
    fields = _top_level_fields(path.read_bytes())
    numbers = [number for number, _ in fields]
    assert numbers == sorted(numbers)
    keys = [_top_level_fields(entry)[0][1] for number, entry in fields if number == 4]
    assert keys == sorted(keys, key=_upb_map_order) and len(keys) == len(set(keys))
    for node in _top_level_fields(dict(fields)[2]):
        if node[0] == 1:
            node_fields = _top_level_fields(node[1])
            assert [n for n, _ in node_fields] == sorted(n for n, _ in node_fields)
            attr_keys = _attr_keys(node[1])
            assert attr_keys == sorted(attr_keys, key=_upb_map_order)


def test_prefix_keys_come_after_longer_keys():
    """Not plain bytewise order: the Mean node `loss` stores Tidx, T, _output_shapes, keep_dims."""
    expected = [b"Tidx", b"T", b"_output_shapes", b"keep_dims"]
    data = (SAMPLES / "s1_resource_adam/model.ckpt-3.meta").read_bytes()
    raw_nodes = {dict(_top_level_fields(raw))[1]: raw
                 for number, raw in _top_level_fields(dict(_top_level_fields(data))[2])
                 if number == 1}
    assert _attr_keys(raw_nodes[b"loss"]) == expected
    node = NodeDef(name="loss", op="Mean")
    for key in ("T", "Tidx", "keep_dims", "_output_shapes"):
        node.attr[key].b = True
    assert _attr_keys(node.SerializeToString(deterministic=True)) == expected
    assert sorted(expected, key=_upb_map_order) == expected


# --- text format ------------------------------------------------------------------------------

@pytest.mark.parametrize("path", TEXT_FILES, ids=_rel)
def test_text_parses_and_prints_back_identically(path):
    text = path.read_text()
    meta = text_format.Parse(text, MetaGraphDef())
    assert text_format.MessageToString(meta) == text
    again = MetaGraphDef.FromString(meta.SerializeToString(deterministic=True))
    assert text_format.MessageToString(again) == text


@pytest.mark.parametrize("text_rel, meta_rel", TEXT_AND_BINARY)
def test_text_export_equals_binary_meta_of_the_same_save(text_rel, meta_rel):
    from_text = text_format.Parse((SAMPLES / text_rel).read_text(), MetaGraphDef())
    binary = (SAMPLES / meta_rel).read_bytes()
    assert list(from_text.graph_def.node) == list(MetaGraphDef.FromString(binary).graph_def.node)
    assert from_text.SerializeToString(deterministic=True) == binary


def test_cleared_devices_export_differs_only_in_devices_and_an_empty_library():
    full = text_format.Parse((SAMPLES / "s2_refvar_momentum/model.pbtxt").read_text(),
                             MetaGraphDef())
    cleared = text_format.Parse((SAMPLES / "s2_refvar_momentum/model_cleared.pbtxt").read_text(),
                                MetaGraphDef())
    assert any(node.device for node in full.graph_def.node)
    # The spec says the diff is only the device lines; TF also wrote an empty `library {}`.
    assert not full.graph_def.HasField("library")
    assert cleared.graph_def.HasField("library")
    assert cleared.graph_def.library == FunctionDefLibrary()
    for node in full.graph_def.node:
        node.device = ""
    full.graph_def.library.SetInParent()
    assert full == cleared
    graph_bytes = cleared.graph_def.SerializeToString(deterministic=True)
    assert b"\x12\x00" in graph_bytes  # field 2 (library), length 0, is written


def test_saver_opdefs_parse_as_an_op_list():
    text = OPDEFS.read_text()
    ops = text_format.Parse(text, OpList())
    assert text_format.MessageToString(ops) == text
    by_name = {op.name: op for op in ops.op}
    save = by_name["SaveV2"]
    assert [arg.name for arg in save.input_arg] == \
        ["prefix", "tensor_names", "shape_and_slices", "tensors"]
    assert [arg.type for arg in save.input_arg[:3]] == [DATA_TYPES["DT_STRING"]] * 3
    assert save.input_arg[3].type_list_attr == "dtypes"
    (dtypes,) = save.attr
    assert (dtypes.name, dtypes.type, dtypes.has_minimum, dtypes.minimum) == \
        ("dtypes", "list(type)", True, 1)
    assert save.is_stateful
    assert OpList.FromString(ops.SerializeToString(deterministic=True)) == ops


# --- spot checks with values from the spec ---------------------------------------------------

S1_SAVER_DEF = (b"\x0a\x0csave/Const:0" b"\x12\x19save/control_dependency:0"
                b"\x1a\x10save/restore_all" b"\x20\x02" b"\x35\x00\x40\x1c\x46" b"\x38\x02")


def test_s1_saver_def_bytes():
    saver_def = _load("s1_resource_adam/model.ckpt-3.meta").saver_def
    assert saver_def.SerializeToString(deterministic=True) == S1_SAVER_DEF
    assert saver_def.version == SaverDef.V2 == 2
    assert (SaverDef.LEGACY, SaverDef.V1) == (0, 1)
    assert saver_def.keep_checkpoint_every_n_hours == 10000.0
    assert not saver_def.sharded


def test_s4_sharded_saver_def():
    saver_def = _load("s4_partitioned_sharded/sharded-1.meta").saver_def
    assert saver_def.sharded and saver_def.max_to_keep == 3
    assert saver_def.save_tensor_name == "save/Identity:0"
    assert saver_def.filename_tensor_name == "save/Const:0"


def test_s8_keep_every_n_hours_is_a_float32():
    saver_def = _load("s8_keep_every_n_hours/m-2.meta").saver_def
    assert saver_def.keep_checkpoint_every_n_hours == \
        struct.unpack("<f", struct.pack("<f", 1 / 3600))[0]


def test_s1_collections_in_sorted_order_with_their_kinds():
    data = (SAMPLES / "s1_resource_adam/model.ckpt-3.meta").read_bytes()
    keys = [_top_level_fields(entry)[0][1] for number, entry in _top_level_fields(data)
            if number == 4]
    assert keys == [b"global_step", b"my_floats", b"my_ints", b"my_strs", b"train_op",
                    b"trainable_variables", b"variables"]
    collections = MetaGraphDef.FromString(data).collection_def
    assert list(collections["my_floats"].float_list.value) == [3.5]
    assert list(collections["my_ints"].int64_list.value) == [7]
    assert list(collections["my_strs"].bytes_list.value) == [b"hello"]
    assert collections["train_op"].WhichOneof("kind") == "node_list"
    assert collections["train_op"].node_list.value[0] == "train"
    global_step = VariableDef.FromString(collections["global_step"].bytes_list.value[0])
    assert global_step.aggregation == 3  # VARIABLE_AGGREGATION_ONLY_FIRST_REPLICA
    assert global_step.is_resource and not global_step.trainable


def test_s1_resource_variable_def():
    raw = _load("s1_resource_adam/model.ckpt-3.meta").collection_def["variables"] \
        .bytes_list.value[0]
    var = VariableDef.FromString(raw)
    assert (var.variable_name, var.initializer_name, var.snapshot_name,
            var.initial_value_name) == \
        ("w1:0", "w1/Assign", "w1/Read/ReadVariableOp:0", "w1/Initializer/initial_value:0")
    assert var.is_resource and var.trainable
    assert var.SerializeToString(deterministic=True) == raw


def test_s2_ref_variable_def_bytes():
    raw = _load("s2_refvar_momentum/model-7.meta").collection_def["variables"] \
        .bytes_list.value[0]
    assert raw.startswith(b"\x0a\x0alayer1/w:0\x12\x0flayer1/w/Assign\x1a\x0flayer1/w/read:0"
                          b"\x32\x18layer1/w/initial_value:0")
    assert raw.endswith(b"\x38\x01")
    var = VariableDef.FromString(raw)
    assert [f.number for f, _ in var.ListFields()] == [1, 2, 3, 6, 7]
    assert not var.is_resource and var.trainable
    assert var.SerializeToString(deterministic=True) == raw


def test_s4_partitioned_save_slice_info():
    collection = _load("s4_partitioned_sharded/partitioned.meta").collection_def["variables"]
    parts = [VariableDef.FromString(raw) for raw in collection.bytes_list.value]
    assert [p.variable_name for p in parts] == ["emb/part_0:0", "emb/part_1:0", "emb/part_2:0"]
    info = parts[1].save_slice_info_def
    assert (info.full_name, list(info.full_shape), list(info.var_offset),
            list(info.var_shape)) == ("emb", [6, 2], [2, 0], [2, 2])
    # Zeros are kept in packed int64 lists: var_offset [0, 0] is written, not dropped.
    assert list(parts[0].save_slice_info_def.var_offset) == [0, 0]


def test_const_node_value_tensor():
    node = _nodes(_load("s2_refvar_momentum/model-7.meta"))["layer1/w/initial_value"]
    assert node.op == "Const" and node.attr["dtype"].type == DATA_TYPES["DT_FLOAT"]
    tensor = node.attr["value"].tensor
    assert isinstance(tensor, TensorProto)
    assert [d.size for d in tensor.tensor_shape.dim] == [2, 2]
    assert tensor.tensor_content == struct.pack("<4f", 1.0, 2.0, 3.0, 4.0)
    assert node.attr["value"].WhichOneof("value") == "tensor"


def test_placeholder_shape_and_empty_list_attr_bytes():
    s1 = _nodes(_load("s1_resource_adam/model.ckpt-3.meta"))
    shape = s1["x"].attr["shape"]
    assert shape.shape.SerializeToString() == bytes.fromhex(
        "12 0b 08 ff ff ff ff ff ff ff ff ff 01 12 02 08 02")
    allowed = s1["w1"].attr["allowed_devices"]
    assert allowed.WhichOneof("value") == "list"
    assert allowed.SerializeToString() == b"\x0a\x00"
    assert list(s1["w1"].attr["_class"].list.s) == [b"loc:@w1"]


def test_experimental_type_full_type_def():
    node = _nodes(_load("s2_refvar_momentum/model-7.meta"))["gradients/add_grad/Shape"]
    full_type = node.experimental_type
    assert full_type.SerializeToString() == bytes.fromhex("08 03 12 08 08 ed 07 12 03 08 cf 01")
    assert text_format.MessageToString(full_type, as_one_line=True) == \
        "type_id: TFT_PRODUCT args { type_id: TFT_SHAPE_TENSOR args { type_id: TFT_INT32 } }"


def test_meta_info_def():
    meta = _load("s1_resource_adam/model.ckpt-3.meta")
    info = meta.meta_info_def
    assert info.tensorflow_version == "2.21.0"
    assert info.tensorflow_git_version.startswith("v2.21.0")
    assert not info.stripped_default_attrs and not info.HasField("any_info")
    names = [op.name for op in info.stripped_op_list.op]
    assert names == sorted(names) and "SaveV2" in names and "RestoreV2" in names
    assert meta.graph_def.versions.producer == 2474
    assert not meta.graph_def.HasField("library")


# --- messages built here, checked without files -----------------------------------------------

def test_node_def_golden_bytes_sort_attrs():
    node = NodeDef(name="a", op="Identity", input=["x", "^c"], device="/device:CPU:0")
    node.attr["T"].type = DATA_TYPES["DT_FLOAT"]
    node.attr["_class"].list.s.append(b"loc:@x")
    expected = (b"\x0a\x01a" b"\x12\x08Identity" b"\x1a\x01x" b"\x1a\x02^c"
                b"\x22\x0d/device:CPU:0"
                b"\x2a\x07" b"\x0a\x01T" b"\x12\x02\x30\x01"
                b"\x2a\x14" b"\x0a\x06_class" b"\x12\x0a\x0a\x08\x12\x06loc:@x")
    assert node.SerializeToString(deterministic=True) == expected
    assert NodeDef.FromString(expected) == node


def test_map_fields_are_real_maps():
    for cls, field in [(NodeDef, "attr"), (MetaGraphDef, "collection_def"),
                       (MetaGraphDef, "signature_def"), (SignatureDef, "inputs"),
                       (MetaGraphDef.MetaInfoDef, "function_aliases")]:
        entry = cls.DESCRIPTOR.fields_by_name[field].message_type
        assert entry.GetOptions().map_entry, (cls, field)
        assert [f.name for f in entry.fields] == ["key", "value"]
    meta = MetaGraphDef()
    meta.collection_def["b"].int64_list.value.append(1)
    meta.collection_def["a"].node_list.value.append("n")
    entries = _top_level_fields(meta.SerializeToString(deterministic=True))
    assert [_top_level_fields(entry)[0] for _, entry in entries] == [(1, b"a"), (1, b"b")]


def test_oneofs():
    value = AttrValue(i=3)
    value.s = b"x"
    assert value.WhichOneof("value") == "s" and not value.HasField("i")
    info = TensorInfo(name="x:0", dtype=1)
    info.coo_sparse.values_tensor_name = "v:0"
    assert info.WhichOneof("encoding") == "coo_sparse"
    kind = CollectionDef()
    kind.float_list.value.append(1.0)
    kind.any_list.value.add().Pack(GraphDef())
    assert kind.WhichOneof("kind") == "any_list"
    full = FullTypeDef(s="a")
    full.i = 2
    assert full.WhichOneof("attr") == "i"


def test_any_info_packs_and_unpacks_our_messages():
    meta = MetaGraphDef()
    meta.meta_info_def.any_info.Pack(SaverDef(max_to_keep=3))
    assert meta.meta_info_def.any_info.type_url == "type.googleapis.com/tensorflow.SaverDef"
    out = SaverDef()
    assert meta.meta_info_def.any_info.Unpack(out) and out.max_to_keep == 3
    again = MetaGraphDef.FromString(meta.SerializeToString())
    assert again == meta
