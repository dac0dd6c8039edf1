"""flowsaver reads every committed checkpoint that real TensorFlow wrote exactly as
TensorFlow's own ``load_checkpoint`` saw it (recorded in fixtures/tf/manifest.json by
fixtures/make_fixtures.py): names, list_variables, dtypes, shapes, bit-exact values, and
latest_checkpoint of the checkpoint's directory.
"""
import base64
import json
import os

import numpy as np
import pytest

import flowsaver as tf
from fixture_paths import FIXTURES

ROOT = FIXTURES / "tf"
MANIFEST = json.loads((ROOT / "manifest.json").read_text())
CASES = sorted(MANIFEST["checkpoints"].items())


def _expected_bytes(info) -> bytes | list:
    value = info["value"]
    if "hex" in value:
        return bytes.fromhex(value["hex"])
    return [base64.b64decode(s) for s in value["strings_b64"]]


@pytest.mark.parametrize("name,case", CASES, ids=[c[0] for c in CASES])
def test_reads_like_tensorflow(name, case):
    prefix = ROOT / case["prefix"]
    reader = tf.train.load_checkpoint(str(prefix))
    assert [[n, s] for n, s in tf.train.list_variables(str(prefix))] == case["list_variables"]
    dtype_map = reader.get_variable_to_dtype_map()
    shape_map = reader.get_variable_to_shape_map()
    for var, info in case["variables"].items():
        assert dtype_map[var].name == info["dtype"], var
        assert dtype_map[var].as_datatype_enum == info["dtype_enum"], var
        assert shape_map[var] == info["shape"], var
        value = np.asarray(reader.get_tensor(var))
        assert list(value.shape) == info["shape"], var
        expected = _expected_bytes(info)
        if isinstance(expected, list):
            assert [bytes(x) for x in value.reshape(-1)] == expected, var
        else:
            assert value.tobytes() == expected, var


@pytest.mark.parametrize("name,case", CASES, ids=[c[0] for c in CASES])
def test_latest_checkpoint_like_tensorflow(name, case):
    directory = ROOT / os.path.dirname(case["prefix"])
    got = tf.train.latest_checkpoint(str(directory))
    want = case["latest_checkpoint"]
    assert (got is None) == (want is None)
    if want is not None:
        assert os.path.normpath(got) == os.path.normpath(str(ROOT / want))


def test_object_graph_of_tf2_checkpoint():
    reader = tf.train.load_checkpoint(str(ROOT / "tf2_object"))
    graph = reader.object_graph()
    keys = {a.checkpoint_key for node in graph.nodes for a in node.attributes}
    # Every variable TensorFlow listed is named by some node of the object graph.
    listed = {n for n in reader.names() if n != "_CHECKPOINTABLE_OBJECT_GRAPH"}
    assert listed <= keys
    assert tf.train.load_checkpoint(str(ROOT / "refvar")).object_graph() is None


@pytest.mark.parametrize("name,case", CASES, ids=[c[0] for c in CASES])
def test_get_tensors_equals_get_tensor(name, case):
    reader = tf.train.load_checkpoint(str(ROOT / case["prefix"]))
    together = reader.get_tensors()
    assert list(together) == reader.names()
    for var in reader.names():
        one = reader.get_tensor(var)
        assert type(together[var]) is type(one)
        assert np.asarray(together[var]).tobytes() == np.asarray(one).tobytes() \
            if np.asarray(one).dtype != object else list(np.ravel(together[var])) == \
            list(np.ravel(one))
