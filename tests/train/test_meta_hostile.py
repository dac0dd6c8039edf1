"""Importing corrupted, truncated and hostile ``.meta`` / ``.pbtxt`` files.

The rule: bad input gets a clear, typed error (OpError, ValueError, TypeError, KeyError or
OSError) naming the file and the node or collection, quickly and in little memory, and
loses nothing: imports are atomic, so a failed one leaves the graph exactly as it was.
Part 1 damages a real .meta and .pbtxt written by flowsaver (hypothesis); a damaged file
that still imports must then plan every op with typed errors only. Part 3 builds hostile
MetaGraphDefs and files. (Part 2, hostile GraphDefs, is test_graph_def_hostile.py.)
"""
from __future__ import annotations

import os
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import flowsaver as tf
from flowsaver import errors
from flowsaver.format.graph_protos import MetaGraphDef, SaveSliceInfoDef, SaverDef, VariableDef
from fixture_paths import SAMPLES
from hostile_helpers import _import_file, _plan_every_op, _seeded_graph, time_limit


# --- part 1: damaged real files ---------------------------------------------------------------
def test_intact_files_import_and_compute(model_files):
    for path in model_files:
        g = _seeded_graph()
        assert _import_file(path, g) is None
        with g.as_default():
            sess = tf.Session()
            sess.run(tf.global_variables_initializer())
            y = g.get_tensor_by_name("y:0")
            out = sess.run(y, {"x:0": np.array([[1., 1.]], np.float32)})
        np.testing.assert_array_equal(out, [[4.5, 5.5]])
        assert [v.name for v in g.get_collection("variables")] == ["w:0", "b:0"]
        assert g.get_collection("outputs") == [g.get_tensor_by_name("pre:0"), y]
        assert g.get_collection("my_ints") == [1, 7]


def _damage(draw, raw: bytes) -> bytes:
    kind = draw(st.sampled_from(["truncate", "flip", "overwrite", "splice"]))
    if kind == "truncate":
        return raw[:draw(st.integers(0, len(raw) - 1))]
    out, pos = bytearray(raw), st.integers(0, len(raw) - 1)
    if kind == "flip":
        for at, bit in draw(st.lists(st.tuples(pos, st.integers(0, 7)), min_size=1, max_size=4)):
            out[at] ^= 1 << bit
    elif kind == "overwrite":
        at, chunk = draw(pos), draw(st.binary(min_size=1, max_size=8))
        out[at:at + len(chunk)] = chunk
    else:  # delete or repeat up to 64 bytes
        a = draw(pos)
        b = draw(st.integers(a, min(len(raw), a + 64)))
        out = out[:a] + out[b:] if draw(st.booleans()) else out[:b] + out[a:b] + out[b:]
    return bytes(out)


# Values of the text form and hostile values of the same kind to put in their place, so
# that most mutations still parse and reach the importer's checks.
_TEXT_SWAPS = [
    (re.compile(rb'"[^"\n]*"'),
     [b'"x:5"', b'"^y"', b'"y"', b'"w"', b'"x"', b'""', b'"save/Const:0"', b'"a b"',
      b'"\\377"', b'"NoSuchOp"', b'"Identity"', b'"Const"', b'"w:0"', b'"^w/Assign"']),
    (re.compile(rb'(?<=: )-?\d+(?:\.\d+)?\b'),
     [b"-1", b"0", b"2", b"3", b"77", b"99999999999", b"1000000000000", b"-99999999999"]),
    (re.compile(rb'\bDT_\w+\b'),
     [b"DT_STRING", b"DT_FLOAT_REF", b"DT_RESOURCE", b"DT_INT32", b"DT_VARIANT"]),
    (re.compile(rb'\b(?:true|false)\b'), [b"true", b"false"]),
]


def _damage_text(draw, raw: bytes) -> bytes:
    if draw(st.integers(0, 3)) == 0:
        return _damage(draw, raw)
    for _ in range(draw(st.integers(1, 3))):
        pattern, values = draw(st.sampled_from(_TEXT_SWAPS))
        a, b = draw(st.sampled_from([m.span() for m in pattern.finditer(raw)]))
        raw = raw[:a] + draw(st.sampled_from(values)) + raw[b:]
    return raw


FUZZ = settings(max_examples=150, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


def _import_damaged(path, content: bytes) -> None:
    path.write_bytes(content)
    graph = _seeded_graph()
    if _import_file(path, graph) is None:
        _plan_every_op(graph)


@FUZZ
@given(data=st.data())
def test_damaged_binary_meta(model_files, tmp_path, data):
    _import_damaged(tmp_path / "bad.meta", _damage(data.draw, model_files[0].read_bytes()))


@FUZZ
@given(data=st.data())
def test_damaged_text_meta(model_files, tmp_path, data):
    _import_damaged(tmp_path / "bad.pbtxt", _damage_text(data.draw, model_files[1].read_bytes()))


def test_every_truncation_is_refused(model_files, tmp_path):
    raw = model_files[0].read_bytes()
    path = tmp_path / "cut.meta"
    # Cutting the last bytes of a field can leave a valid shorter proto; everything else
    # must fail. Either way: typed, named, atomic (checked by _import_file).
    failures = 0
    for end in range(0, len(raw), 37):
        path.write_bytes(raw[:end])
        failures += _import_file(path) is not None
    assert failures >= len(range(0, len(raw), 37)) - 3


# --- part 3: hostile MetaGraphDefs and files --------------------------------------------------
def _edited_meta(edit):
    """File content: the model's MetaGraphDef after ``edit(meta)``."""
    def content(model_files) -> bytes:
        meta = MetaGraphDef.FromString(model_files[0].read_bytes())
        edit(meta)
        return meta.SerializeToString()
    return content


def _variable_def(slice_info=None, **fields) -> bytes:
    proto = VariableDef(**{**dict(variable_name="w:0", initializer_name="w/Assign",
                                  snapshot_name="w/read:0", trainable=True), **fields})
    if slice_info is not None:
        proto.save_slice_info_def.CopyFrom(slice_info)
    return proto.SerializeToString()


def _append(key, *raw):
    return _edited_meta(lambda m: m.collection_def[key].bytes_list.value.extend(raw))


def _set_saver(field, value):
    return _edited_meta(lambda m: setattr(m.saver_def, field, value))


def _as_ints(key):
    def edit(m):
        m.collection_def.pop(key, None)
        m.collection_def[key].int64_list.value.append(3)
    return _edited_meta(edit)


def _nested_attr(depth: int) -> bytes:
    meta = MetaGraphDef()
    attr = meta.graph_def.node.add(name="a", op="NoOp").attr["f"]
    for _ in range(depth):
        attr = attr.func.attr["k"]
    attr.i = 1
    return meta.SerializeToString()


GOOD_W = _variable_def()
OUTSIDE = SaveSliceInfoDef(full_name="w", full_shape=[2, 2], var_offset=[1, 0], var_shape=[2, 2])
DL = errors.DataLossError
BAD_FILES = [  # (id, file content or fn(model_files) -> content, error, what it must name)
    ("variable_name_names_nothing", _append("local_variables", _variable_def(
        variable_name="ghost:0")), ValueError, ["local_variables", "'ghost:0'"]),
    ("initializer_names_nothing", _append("local_variables", _variable_def(
        initializer_name="ghost/Assign")), ValueError, ["'w:0'", "ghost/Assign"]),
    ("snapshot_is_an_op_name", _append("local_variables", _variable_def(snapshot_name="w/read")),
     ValueError, ["'w:0'", "w/read"]),
    ("variable_is_a_constant", _append("local_variables", _variable_def(
        variable_name="w/initial_value:0")), ValueError, ["w/initial_value:0", "reference"]),
    ("resource_variable_is_a_ref", _append("local_variables", _variable_def(is_resource=True)),
     ValueError, ["'w:0'", "resource handle"]),
    ("slice_outside_the_variable", _append("local_variables", _variable_def(OUTSIDE)),
     ValueError, ["'w:0'", "slice"]),
    ("variable_def_bytes_do_not_parse", _append("local_variables", b"\xff\xff\xff\x0f"), DL,
     ["local_variables", "VariableDef"]),
    ("100k_variables_then_a_bad_one", _append("variables", *[GOOD_W] * 100_000, _variable_def(
        variable_name="gone:0")), ValueError, ["'variables'", "'gone:0'"]),
    ("200k_node_list_then_a_missing_name", _edited_meta(
        lambda m: m.collection_def["outputs"].node_list.value.extend(["y:0"] * 200_000 + [
            "gone:0"])), KeyError, ["outputs", "'gone:0'"]),
    ("variables_as_int64_list", _as_ints("variables"), ValueError, ["'variables'", "int64_list"]),
    ("savers_as_int64_list", _as_ints("savers"), ValueError, ["'savers'", "int64_list"]),
    ("saver_def_bytes_do_not_parse", _append("savers", b"\x0a\xff"), DL, ["'savers'", "SaverDef"]),
    ("saver_collection_names_missing", _append("savers", SaverDef(
        filename_tensor_name="ghost:0", save_tensor_name="save/control_dependency:0",
        restore_op_name="save/restore_all").SerializeToString()), ValueError,
     ["'savers'", "'ghost:0'"]),
    ("saver_filename_tensor_missing", _set_saver("filename_tensor_name", "ghost:0"),
     ValueError, ["filename_tensor_name", "'ghost:0'"]),
    ("saver_save_tensor_is_an_op", _set_saver("save_tensor_name", "save/control_dependency"),
     ValueError, ["save_tensor_name"]),
    ("saver_restore_op_missing", _set_saver("restore_op_name", "save/ghost"), ValueError,
     ["restore_op_name", "'save/ghost'"]),
    ("saver_negative_max_to_keep", _set_saver("max_to_keep", -3), ValueError,
     ["max_to_keep", "-3"]),
    ("empty_file", b"", DL, ["empty"]),
    ("whitespace_only_text", b"\n  \n\t", DL, ["no field"]),
    ("comment_only_text", b"# a metagraph was here\n", DL, ["no field"]),
    ("prose", b"hello, this is not a graph\n", DL, ["neither"]),
    ("graph_def_text_not_meta", b'node { name: "a" op: "NoOp" }\n', DL, ["neither", "node"]),
    ("random_binary", bytes(range(256)) * 4, DL, ["neither"]),
    ("binary_saver_def_only", MetaGraphDef(saver_def=SaverDef(
        filename_tensor_name="a:0")).SerializeToString(), DL, ["neither"]),
    ("binary_nested_3000_deep", _nested_attr(3000), DL, ["neither"]),
    ("text_nested_3000_deep", b'graph_def { node { name: "a" op: "NoOp" attr { key: "f" value '
     b'{ ' + b'func { name: "x" attr { key: "k" value { ' * 3000 + b"i: 1" + b" } } }" * 3000 +
     b" } } } }", DL, ["nested too deeply"]),
    ("text_saver_def_only", b'saver_def { filename_tensor_name: "gone:0" }', ValueError,
     ["filename_tensor_name", "gone:0"]),
]


@pytest.mark.parametrize("name,content,error,needles", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_file(model_files, tmp_path, name, content, error, needles):
    path = tmp_path / "bad.meta"
    path.write_bytes(content(model_files) if callable(content) else content)
    e = _import_file(path)  # also checks: typed, names the file, nothing left behind
    assert isinstance(e, error) and all(needle in str(e) for needle in needles), repr(e)


def test_huge_valid_collection_imports_quickly(model_files, tmp_path):
    path = tmp_path / "big.meta"
    path.write_bytes(_edited_meta(lambda m: m.collection_def["outputs"].node_list.value.extend(
        ["y:0"] * 200_000))(model_files))
    graph = tf.Graph()
    assert _import_file(path, graph) is None
    assert len(graph.get_collection("outputs")) == 200_001


def test_bytes_collection_that_is_not_text_keeps_its_bytes(model_files, tmp_path):
    # e.g. a serialized cond context: under an import scope it cannot be renamed, so it
    # is kept as it is rather than failing the import
    path = tmp_path / "blobs.meta"
    path.write_bytes(_append("blobs", b"\x8f\x01\xff")(model_files))
    graph = tf.Graph()
    assert _import_file(path, graph, import_scope="imp") is None
    assert graph.get_collection("blobs") == [b"\x8f\x01\xff"]
    assert graph.get_tensor_by_name("imp/y:0") in graph.get_collection("outputs")


def test_directory_missing_file_and_fifo(tmp_path):
    assert isinstance(_import_file(tmp_path), IsADirectoryError)
    assert isinstance(_import_file(tmp_path / "nowhere.meta"), OSError)
    fifo = tmp_path / "pipe.meta"
    os.mkfifo(fifo)  # opening it to read would block forever
    with time_limit(5):
        assert isinstance(_import_file(fifo), OSError)


def test_files_written_by_tensorflow_still_import():
    # The checks above are strict; real TensorFlow 2.21 metagraphs must pass them.
    for path in (SAMPLES / "s1_resource_adam" / "model.pbtxt",
                 SAMPLES / "s2_refvar_momentum" / "model.pbtxt"):
        graph = _seeded_graph()
        assert _import_file(path, graph, import_scope="tf") is None
        assert graph.get_collection("variables")
        _plan_every_op(graph)
