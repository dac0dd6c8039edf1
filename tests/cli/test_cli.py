"""Tests for the `flowsaver` command line: inspect and verify, in-process and as a script.

Checkpoints come from tests/fixtures/tf (written by TensorFlow 2.21, with manifest.json
recording what `tf.train.load_checkpoint` returned) and tests/fixtures/tf_samples. Corruption tests work on copies in tmp_path.
"""
from __future__ import annotations

import ast
import base64
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fixture_paths import FIXTURES as FIXTURE_DIR
from fixture_paths import SAMPLES
from flowsaver.cli.main import main
from flowsaver.format import dtypes
from flowsaver.format.bundle_read import data_filename, read_index
from flowsaver.format.bundle_write import save_tensors, write_index
from flowsaver.format.protos import TrackableObjectGraph
from flowsaver.format.reader import CheckpointReader
from flowsaver.format.slices import TensorSlice, encode_tensor_name_slice

ROOT = FIXTURE_DIR.parent.parent
FIXTURES = FIXTURE_DIR / "tf"
MANIFEST = json.loads((FIXTURES / "manifest.json").read_text())["checkpoints"]
SUMMARY = re.compile(r"^verified (\d+) tensors? \((\d+) bytes\) in (\d+) shards?: (\d+) bad",
                     re.MULTILINE)



def sample(rel: str) -> pytest.param:
    return pytest.param(SAMPLES / rel, id=rel)


def cli(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def inspect_json(capsys, *argv) -> dict:
    code, out, err = cli(capsys, "inspect", "--json", *argv)
    assert (code, err) == (0, "")
    # Strict JSON: NaN / Infinity tokens would make this raise.
    return json.loads(out, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))


def copy_checkpoint(prefix: Path, dest: Path) -> Path:
    """Copies every file of `prefix` into `dest` (writable); returns the new prefix."""
    for src in prefix.parent.glob(prefix.name + ".*"):
        shutil.copyfile(src, dest / src.name)
    return dest / prefix.name


def flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


# --- inspect -------------------------------------------------------------------------------

INSPECT_CASES = [
    (FIXTURES / "sharded", ["path:", "(directory)", "model.ckpt-3  (latest)", "shards:      2",
                            "model.ckpt-3.data-00001-of-00002  (40 B)",
                            "partitioned (3 slices)", "[5, 2]",
                            "total: 3 tensors, 17 parameters, 80 bytes (80 B)"]),
    (FIXTURES / "refvar" / "model.ckpt-5.index", ["format:      V2 bundle", "model/w",
                                                  "float32", "[2, 3]",
                                                  "total: 4 tensors, 11 parameters, 52 bytes"]),
    (FIXTURES / "tf2_object" / "slots", [
        "TF2 object-based", "_CHECKPOINTABLE_OBJECT_GRAPH",
        "model/kernel/.OPTIMIZER_SLOT/optimizer/m/.ATTRIBUTES/VARIABLE_VALUE"]),
    (FIXTURES / "partitioned" / "model.ckpt.meta", ["MetaGraphDef of", "Variables (",
                                                    "Op types:", "VariableV2"]),
    (FIXTURES / "partitioned" / "model.ckpt.index", ["partitioned (2 slices)", "[2, 5]"]),
    pytest.param(SAMPLES / "s1_resource_adam" / "model.ckpt-3.meta", [
        "Inputs (2 placeholders):", "x:0  float32 [?, 2]", "y:0  float32 [?, 3]",
        "Likely outputs (1 tensor nothing consumes):", "  loss:0",
        "w1/Adam_1  float32 [2, 3]  (not trainable)  (resource)",
        "my_floats: 1 float_list", "Saver: restore op save/restore_all", "ResourceApplyAdam"],
        id="s1-meta"),
    pytest.param(SAMPLES / "s2_refvar_momentum" / "model.pbtxt", [
        "Inputs (1 placeholder):", "layer1/w  float32 [2, 2]", "Op types:"], id="s2-pbtxt"),
    (FIXTURES / "dtypes" / "dtypes", ["string_scalar", "int2", "bfloat16", "[0, 3]",
                                      "total: 38 tensors"]),
    (FIXTURES / "v1", ["format:      V1", "model.ckpt  (latest)", "part", "[5, 2]",
                       "total: 6 tensors"]),
    pytest.param(SAMPLES / "s4_partitioned_sharded" / "sharded-1", [
        "shards:      2", "emb   float32  [6, 2]        12     48  0      partitioned (3 slices)",
        "v     int64    [3]            3     24  1",
        "total: 2 tensors, 15 parameters, 72 bytes (72 B)"], id="s4"),
    pytest.param(SAMPLES / "s5_tf2_object", [
        "(directory)", "ckpt-10  (latest", "TF2 object-based",
        "total: 8 tensors, 10 parameters, 729 bytes (729 B)"], id="s5"),
    pytest.param(SAMPLES / "s4_partitioned_sharded", [
        "/data/runs/s4/sharded-1  (latest, missing)", "checkpoint:  " +
        str(SAMPLES / "s4_partitioned_sharded" / "sharded-1")],
        id="s4-dir-stale-state"),
    pytest.param(SAMPLES / "s15_large_slice_offsets" / "sl", [
        "partitioned (1 slice, 200 of 400 elements stored)"], id="s15"),
]


@pytest.mark.parametrize("path, expected", INSPECT_CASES)
def test_inspect_text(capsys, path, expected):
    code, out, err = cli(capsys, "inspect", path)
    assert code == 0
    for text in expected:
        assert text in out


@pytest.mark.parametrize("name", list(MANIFEST))
def test_inspect_json_matches_tensorflow_and_reader(capsys, name):
    info = MANIFEST[name]
    doc = inspect_json(capsys, FIXTURES / info["prefix"])
    tensors = {t["name"]: t for t in doc["tensors"]}
    assert [[t["name"], t["shape"]] for t in doc["tensors"]] == info["list_variables"]
    for tname, var in info["variables"].items():
        assert tensors[tname]["dtype_enum"] == var["dtype_enum"]
        if var["dtype_enum"] in dtypes.BY_ENUM:
            assert tensors[tname]["dtype"] == var["dtype"]
    with CheckpointReader(FIXTURES / info["prefix"]) as reader:
        assert sorted(reader.names()) == list(tensors)
        assert reader.get_variable_to_shape_map() == {n: t["shape"] for n, t in tensors.items()}
    assert doc["totals"]["tensors"] == len(tensors)
    assert doc["totals"]["bytes"] == sum(f["bytes"] for f in doc["data_files"])
    if doc["version"] == 2:   # V1 tables do not expose each tensor's stored size
        assert doc["totals"]["bytes"] == sum(t["bytes"] for t in tensors.values())


def _manifest_value(var: dict) -> np.ndarray:
    if "strings_b64" in var["value"]:
        items = [base64.b64decode(s) for s in var["value"]["strings_b64"]]
        return np.array(items, dtype=object).reshape(var["shape"])
    raw = bytes.fromhex(var["value"]["hex"])
    return np.frombuffer(raw, dtype=dtypes.BY_NAME[var["dtype"]].numpy).reshape(var["shape"])


def _from_json(value: dict) -> np.ndarray:
    dtype = dtypes.BY_NAME[value["dtype"]]
    flat = np.array(value["value"], dtype=object).reshape(-1).tolist() \
        if value["shape"] else [value["value"]]
    if dtype.kind == "string":
        return np.array([ast.literal_eval(s) for s in flat], dtype=object).reshape(value["shape"])
    if dtype.is_complex:
        pairs = np.array(value["value"], dtype=object).reshape(-1, 2).tolist()
        flat = [complex(float(re_), float(im)) for re_, im in pairs]
    elif dtype.is_floating:
        flat = [float(x) for x in flat]   # "nan" / "inf" / "-inf" parse back as floats
    if dtype.is_complex or dtype.is_floating:
        return np.array(flat).astype(dtype.numpy).reshape(value["shape"])
    return np.array(flat, dtype=dtype.numpy).reshape(value["shape"])


DTYPE_VARIABLES = [n for n, v in MANIFEST["dtypes"]["variables"].items() if v["shape"] != [0]]


@pytest.mark.parametrize("tensor", DTYPE_VARIABLES)
def test_inspect_tensor_json_values_match_tensorflow(capsys, tensor):
    doc = inspect_json(capsys, FIXTURES / "dtypes" / "dtypes", "--tensor", tensor)
    value = doc["values"][tensor]
    expected = _manifest_value(MANIFEST["dtypes"]["variables"][tensor])
    assert value["shape"] == list(expected.shape)
    got = _from_json(value)
    if expected.dtype == object or expected.dtype.kind in "biu":
        assert got.tolist() == expected.tolist()
        return
    # Floats: the same NaN positions (a NaN's payload bits do not survive "nan"), signs
    # (-0.0) and values, infinities included.
    if expected.dtype.kind == "c":
        got, expected = (np.stack([x.real, x.imag]) for x in (got, expected))
    got, expected = got.astype(np.float64), expected.astype(np.float64)
    assert np.array_equal(np.isnan(got), np.isnan(expected))
    assert np.array_equal(np.signbit(got), np.signbit(expected))
    assert np.array_equal(got, expected, equal_nan=True)


TENSOR_TEXT_CASES = [
    (FIXTURES / "refvar" / "model.ckpt-5", "global_step", ["global_step  int64 []", "5"]),
    (FIXTURES / "sharded" / "model.ckpt-3", "emb", ["emb  float32 [5, 2]", "[[0.5 1.5]"]),
    (FIXTURES / "dtypes" / "dtypes", "string_scalar", ["string_scalar  string []", "b'hello'"]),
    (FIXTURES / "dtypes" / "dtypes", "float32_matrix", ["nan", "inf", "-inf"]),
    pytest.param(SAMPLES / "s11_variant" / "variant", "tl",
                 ["tl  variant []", 'type_name: "tensorflow::TensorList"'],
                 id="variant"),
]


@pytest.mark.parametrize("path, tensor, expected", TENSOR_TEXT_CASES)
def test_inspect_tensor_text(capsys, path, tensor, expected):
    code, out, _ = cli(capsys, "inspect", path, "--tensor", tensor)
    assert code == 0
    for text in expected:
        assert text in out
    assert "total:" not in out   # values replace the table


def test_inspect_large_tensor_is_summarized_unless_full(capsys, tmp_path):
    prefix = tmp_path / "big"
    save_tensors(str(prefix), {"big": np.arange(1000, dtype=np.int32)})
    _, short, _ = cli(capsys, "inspect", prefix, "-t", "big")
    _, full, _ = cli(capsys, "inspect", prefix, "-t", "big", "--full")
    assert "..." in short and " 500 " not in short
    assert "..." not in full and " 500 " in full


def test_inspect_repeated_tensor_flags(capsys):
    doc = inspect_json(capsys, FIXTURES / "refvar", "-t", "model/b", "-t", "global_step")
    assert list(doc["values"]) == ["model/b", "global_step"]
    assert doc["values"]["global_step"] == {"dtype": "int64", "shape": [], "value": 5}


def test_inspect_name_width_shortens_names(capsys):
    _, out, _ = cli(capsys, "inspect", FIXTURES / "tf2_object", "--name-width", "20")
    assert "model/layer/kernel/.ATTRIBUTES/VARIABLE_VALUE" not in out
    assert "model/lay...LE_VALUE" in out


def test_inspect_object_graph(capsys):
    code, out, _ = cli(capsys, "inspect", FIXTURES / "tf2_object" / "slots", "--object-graph")
    assert code == 0
    assert out.splitlines()[1] == "(root) #0"
    assert re.search(r"^  model #\d+$", out, re.MULTILINE)
    assert re.search(r"\(slot 'm' of #\d+\) #\d+\n +VARIABLE_VALUE -> "
                     r"model/\w+/.OPTIMIZER_SLOT/optimizer/m/.ATTRIBUTES/VARIABLE_VALUE", out)
    doc = inspect_json(capsys, FIXTURES / "tf2_object" / "slots", "--object-graph")
    keys = {a["checkpoint_key"] for node in doc["object_graph"] for a in node["attributes"]}
    assert keys == {t["name"] for t in doc["tensors"]} - {"_CHECKPOINTABLE_OBJECT_GRAPH"}


def test_unknown_dtype_is_listed_and_verify_flags_it(capsys, tmp_path):
    prefix = copy_checkpoint(FIXTURES / "refvar" / "model.ckpt-5", tmp_path)
    _rewrite_index(prefix, lambda entries: setattr(entries[b"model/b"], "dtype", 99))
    code, out, _ = cli(capsys, "inspect", prefix)
    assert code == 0
    assert re.search(r"^model/b +DataType 99 .*dtype not supported by flowsaver$", out,
                     re.MULTILINE)
    code, out, _ = cli(capsys, "verify", prefix)
    assert code == 1 and "BAD model/b: " in out and "unknown dtype enum 99" in out


def _object_graph_checkpoint(tmp_path: Path, graph: TrackableObjectGraph) -> Path:
    prefix = tmp_path / "obj"
    save_tensors(str(prefix), {
        "_CHECKPOINTABLE_OBJECT_GRAPH": np.array(graph.SerializeToString(), dtype=object),
        "v/.ATTRIBUTES/VARIABLE_VALUE": np.float32(1.0)})
    return prefix


def test_object_graph_with_a_dangling_node_id(capsys, tmp_path):
    graph = TrackableObjectGraph()
    graph.nodes.add().children.add(node_id=7, local_name="v")
    prefix = _object_graph_checkpoint(tmp_path, graph)
    code, _, err = cli(capsys, "inspect", prefix, "--object-graph")
    assert code == 2 and "node 0 refers to node 7, but the graph has 1 nodes" in err
    code, out, _ = cli(capsys, "verify", prefix)
    assert code == 1 and "BAD _CHECKPOINTABLE_OBJECT_GRAPH: " in out


def test_object_graph_key_without_tensor_is_a_warning(capsys, tmp_path):
    graph = TrackableObjectGraph()
    graph.nodes.add().children.add(node_id=1, local_name="w")
    graph.nodes.add().attributes.add(name="VARIABLE_VALUE",
                                     checkpoint_key="w/.ATTRIBUTES/VARIABLE_VALUE")
    prefix = _object_graph_checkpoint(tmp_path, graph)
    code, out, _ = cli(capsys, "inspect", prefix, "--object-graph")
    assert code == 0 and "  w #1\n    VARIABLE_VALUE -> w/.ATTRIBUTES/VARIABLE_VALUE" in out
    code, out, _ = cli(capsys, "verify", prefix)
    assert code == 0
    assert "names checkpoint key 'w/.ATTRIBUTES/VARIABLE_VALUE', which the index does not " \
           "hold" in out


def test_inspect_object_graph_of_name_based_checkpoint_is_an_error(capsys):
    code, out, err = cli(capsys, "inspect", FIXTURES / "refvar", "--object-graph")
    assert (code, out) == (2, "")
    assert "not an object-based" in err and "Traceback" not in err


# --- errors --------------------------------------------------------------------------------

ERROR_CASES = [
    (["inspect", FIXTURES / "nope"], "no checkpoint at"),
    (["verify", FIXTURES / "nope"], "no checkpoint at"),
    (["inspect", FIXTURES / "refvar", "-t", "model/ww"], "Closest names: model/w"),
]


@pytest.mark.parametrize("argv, message", ERROR_CASES)
def test_errors_are_one_line_on_stderr(capsys, argv, message):
    code, out, err = cli(capsys, *argv)
    assert (code, out) == (2, "")
    assert message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


@pytest.mark.parametrize("argv", [["verify", "--debug"], ["--debug", "verify"]])
def test_debug_shows_the_traceback(capsys, argv):
    code, _, err = cli(capsys, *argv, FIXTURES / "nope")
    assert code == 2
    assert "Traceback" in err and "CheckpointNotFoundError" in err


def test_usage_error_exit_code(capsys):
    assert cli(capsys, "inspect")[0] == 2
    assert cli(capsys, "frobnicate", "x")[0] == 2


# --- verify --------------------------------------------------------------------------------

VERIFY_GOOD = [FIXTURES / info["prefix"] for info in MANIFEST.values()] + [
    sample("s7_v1_format/v1model.ckpt"), sample("s9_multiblock_index/big"),
    sample("s1_resource_adam/model.ckpt-3"), sample("s3_dtypes/dtypes"),
    sample("s4_partitioned_sharded/sharded-1"), sample("s5_tf2_object"),
    sample("s6_tf2_slots/opt"), sample("s11_variant/variant"),
    sample("s12_dict_and_slots/all-00000042"),
]


@pytest.mark.parametrize("path", VERIFY_GOOD)
def test_verify_good_checkpoints(capsys, path):
    code, out, err = cli(capsys, "verify", path)
    assert (code, err) == (0, "")
    tensors, nbytes, shards, bad = map(int, SUMMARY.search(out).groups())
    assert bad == 0 and out.count("\n") == 1   # nothing but the summary
    with CheckpointReader(path) as reader:
        assert tensors == len(reader.names())


def test_verify_partial_partition_warns_and_strict_fails(capsys):
    code, out, _ = cli(capsys, "verify", SAMPLES / "s15_large_slice_offsets" / "sl")
    assert code == 0
    assert "WARNING" in out and "cover 200 of 400 elements" in out
    assert cli(capsys, "verify", "--strict", SAMPLES / "s15_large_slice_offsets" / "sl")[0] == 1


def _entries(prefix: Path) -> dict:
    return read_index(str(prefix))[1]


def _corrupt_data(prefix: Path, key: bytes, at: int = 0) -> None:
    """Flips byte `at` of the stored bytes of index entry `key`."""
    entry = _entries(prefix)[key]
    num_shards = read_index(str(prefix))[0].num_shards
    flip_byte(Path(data_filename(str(prefix), entry.shard_id, num_shards)), entry.offset + at)


SHARDED = FIXTURES / "sharded" / "model.ckpt-3"
ROWS_2_3 = TensorSlice(((2, 2), (0, 2)))   # stored in shard 1, with b
EMB_ROWS_2_3 = encode_tensor_name_slice(b"emb", ROWS_2_3)
# (fixture prefix, how to break a copy, the labels of the bad tensors)
BAD_DATA_CASES = [
    (FIXTURES / "refvar" / "model.ckpt-5", lambda p: _corrupt_data(p, b"model/w", 5),
     ["model/w"]),
    (FIXTURES / "tf2_object" / "ckpt-1",
     lambda p: _corrupt_data(p, b"note/.ATTRIBUTES/VARIABLE_VALUE", 8),
     ["note/.ATTRIBUTES/VARIABLE_VALUE"]),
    (FIXTURES / "tf2_object" / "ckpt-1",   # a string tensor's length bytes
     lambda p: _corrupt_data(p, b"note/.ATTRIBUTES/VARIABLE_VALUE", 0),
     ["note/.ATTRIBUTES/VARIABLE_VALUE"]),
    (SHARDED, lambda p: _corrupt_data(p, EMB_ROWS_2_3, 3), ["emb[2,2:0,2]"]),
    (SHARDED, lambda p: _corrupt_data(p, b"b", 0), ["b"]),
    (SHARDED, lambda p: os.truncate(data_filename(str(p), 1, 2), 30), ["emb[2,2:0,2]"]),
    (SHARDED, lambda p: os.remove(data_filename(str(p), 1, 2)), ["b", "emb[2,2:0,2]"]),
]


@pytest.mark.parametrize("fixture, corrupt, bad", BAD_DATA_CASES)
def test_verify_names_the_bad_tensor(capsys, tmp_path, fixture, corrupt, bad):
    prefix = copy_checkpoint(fixture, tmp_path)
    corrupt(prefix)
    code, out, err = cli(capsys, "verify", prefix)
    assert (code, err) == (1, "")
    bad_lines = [line for line in out.splitlines() if line.startswith("BAD ")]
    assert [line.split(": ")[0] for line in bad_lines] == [f"BAD {b}" for b in bad]
    assert SUMMARY.search(out).group(4) == str(len(bad))
    doc = json.loads(cli(capsys, "verify", "--json", prefix)[1])
    assert not doc["ok"] and [b["label"] for b in doc["bad"]] == bad


BROKEN_INDEX_CASES = [
    (lambda p: os.truncate(f"{p}.index", 40), "index"),
    (lambda p: flip_byte(Path(f"{p}.index"), 10), "index"),
    (lambda p: Path(f"{p}.index").write_bytes(b""), "index"),
    (lambda p: os.remove(f"{p}.index"), "no checkpoint at"),
]


@pytest.mark.parametrize("corrupt, message", BROKEN_INDEX_CASES)
def test_verify_unreadable_index_exits_2(capsys, tmp_path, corrupt, message):
    prefix = copy_checkpoint(FIXTURES / "refvar" / "model.ckpt-5", tmp_path)
    corrupt(prefix)
    code, out, err = cli(capsys, "verify", prefix)
    assert (code, out) == (2, "")
    assert message in err and str(tmp_path) in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def _rewrite_index(prefix: Path, edit) -> None:
    header, entries = read_index(str(prefix))
    edit(entries)
    os.remove(f"{prefix}.index")
    write_index(str(prefix), header, entries)


def _add_alias(entries):
    alias = type(entries[b"a"])()
    alias.CopyFrom(entries[b"a"])
    entries[b"a_alias"] = alias


def _drop_listed_slice(entries):
    """Rows 2-3 of emb stay in the index, listed by nobody."""
    slices = entries[b"emb"].slices
    keep = [s for s in slices if TensorSlice.from_proto(s) != ROWS_2_3]
    assert len(keep) == len(slices) - 1
    del slices[:]
    slices.extend(keep)


def _repeat_slice(entries):
    entries[b"emb"].slices.add().CopyFrom(entries[b"emb"].slices[0])


# (how to break a copy of SHARDED, exit code, text expected in the output)
LAYOUT_CASES = [
    (lambda p: open(data_filename(str(p), 0, 2), "ab").write(b"junk"), 0,
     "4 bytes at offset 40 are not covered by any index entry"),
    (lambda p: Path(data_filename(str(p), 0, 3)).write_bytes(b"x"), 0,
     "data file is not part of this checkpoint"),
    (lambda p: _rewrite_index(p, _add_alias), 0, "(bytes 0..16) overlaps 'a'"),
    (lambda p: _rewrite_index(p, _drop_listed_slice), 0,
     "slice entry emb[2,2:0,2] is listed by no tensor entry"),
    (lambda p: _rewrite_index(p, _drop_listed_slice), 0, "cover 6 of 10 elements"),
    (lambda p: _rewrite_index(p, _repeat_slice), 1, "overlap"),
]


@pytest.mark.parametrize("corrupt, code, expected", LAYOUT_CASES)
def test_verify_layout_problems(capsys, tmp_path, corrupt, code, expected):
    prefix = copy_checkpoint(SHARDED, tmp_path)
    corrupt(prefix)
    got, out, _ = cli(capsys, "verify", prefix)
    assert got == code
    assert expected in out
    if code == 0:
        assert "WARNING" in out
        assert cli(capsys, "verify", "--strict", prefix)[0] == 1
    else:   # overlapping slices fail every slice alike; the tensor is reported once
        assert out.count("BAD emb") == 1


# --- as a program ----------------------------------------------------------------------------

def run_module(*argv) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "flowsaver.cli", *map(str, argv)],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)


def test_module_entry_point_inspect():
    proc = run_module("inspect", FIXTURES / "sharded")
    assert proc.returncode == 0, proc.stderr
    assert "partitioned (3 slices)" in proc.stdout


def test_module_entry_point_verify_exit_codes(tmp_path):
    prefix = copy_checkpoint(FIXTURES / "refvar" / "model.ckpt-5", tmp_path)
    assert run_module("verify", prefix).returncode == 0
    _corrupt_data(prefix, b"model/b")
    proc = run_module("verify", prefix)
    assert proc.returncode == 1 and "BAD model/b:" in proc.stdout
    os.truncate(f"{prefix}.index", 30)
    proc = run_module("verify", prefix)
    assert proc.returncode == 2 and proc.stdout == ""
    assert f"{prefix}.index" in proc.stderr and "Traceback" not in proc.stderr


def test_help_documents_json_float_encoding():
    proc = run_module("inspect", "--help")
    assert proc.returncode == 0
    assert '"nan"' in proc.stdout and '"inf"' in proc.stdout
