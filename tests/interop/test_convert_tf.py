"""`flowsaver convert` against the real libraries: TensorFlow (reader and writer of the
checkpoints), safetensors (reader and writer of .safetensors) and PyTorch.

1. TensorFlow-written checkpoints (name-based, resource, sharded, partitioned, every
   dtype, TF2 object-based, V1, a SavedModel) -> .safetensors, read by the safetensors
   library: the same bytes as TensorFlow's reader returns.
2. .safetensors written by the library -> V2 checkpoint, read by TensorFlow: equal.
3. .npz with --exclude drops exactly the excluded tensors.
4. TensorFlow checkpoint -> PyTorch state dict -> checkpoint: torch and TensorFlow see the
   same values at each step.
Values are compared as raw bytes (NaN payloads, -0.0 included), dtypes by name.
"""
from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest
import safetensors.numpy as st_numpy
import safetensors.torch as st_torch
from safetensors import safe_open

from flowsaver.cli.main import main
from flowsaver.format import dtypes
from flowsaver.format.safetensors_file import code_of

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "tf"
MANIFEST = json.loads((FIXTURES / "manifest.json").read_text())["checkpoints"]


def run(*argv) -> None:
    assert main([str(a) for a in argv]) == 0


def tf_values(tf, prefix) -> dict:
    """``{name: (dtype name, array)}`` as TensorFlow's checkpoint reader returns them."""
    reader = tf.train.load_checkpoint(str(prefix))
    dtype_map = reader.get_variable_to_dtype_map()
    return {name: (dtype_map[name].name, np.asarray(reader.get_tensor(name)))
            for name in reader.get_variable_to_shape_map()}


def torch_bytes(tensor) -> bytes:
    return tensor.contiguous().reshape(-1).view(__import__("torch").uint8).numpy().tobytes()


def library_read(path) -> dict:
    """``{name: (dtype name, shape, raw bytes)}`` through the safetensors library."""
    out = {}
    with safe_open(str(path), "pt") as f:
        for name in f.keys():
            tensor = f.get_tensor(name)
            out[name] = (str(tensor.dtype).removeprefix("torch."), tuple(tensor.shape),
                         torch_bytes(tensor))
    return out


CHECKPOINTS = ["refvar", "resource", "sharded", "partitioned", "dtypes", "tf2_object",
               "tf2_object_slots"]


@pytest.mark.parametrize("name", CHECKPOINTS)
def test_tf_checkpoint_to_safetensors_equals_tf_reader(tf, tmp_path, name):
    prefix = FIXTURES / MANIFEST[name]["prefix"]
    dst = tmp_path / "out.safetensors"
    run("convert", prefix, dst, "--skip-unsupported", "-q")
    want = tf_values(tf, prefix)
    got = library_read(dst)
    storable = {n for n, (dtype, _) in want.items() if code_of(dtypes.BY_NAME[dtype])}
    assert set(got) == storable and storable
    for tensor_name in storable:
        dtype, value = want[tensor_name]
        assert got[tensor_name][:2] == (dtype, value.shape), tensor_name
        assert got[tensor_name][2] == np.ascontiguousarray(value).tobytes(), tensor_name


def test_saved_model_variables(tf, tmp_path):
    module = tf.Module()
    module.dense = tf.Module()
    module.dense.kernel = tf.Variable(np.arange(6, dtype=np.float32).reshape(2, 3))
    module.dense.bias = tf.Variable(np.array([0.5, -1.0, 2.0], np.float32))
    module.f = tf.function(lambda x: tf.matmul(x, module.dense.kernel) + module.dense.bias,
                           input_signature=[tf.TensorSpec([None, 2], tf.float32)])
    tf.saved_model.save(module, str(tmp_path / "sm"))
    dst = tmp_path / "sm.safetensors"
    run("convert", tmp_path / "sm", dst, "--names", "path", "-q")
    got = st_numpy.load_file(str(dst))
    np.testing.assert_array_equal(got["dense/kernel"], module.dense.kernel.numpy())
    np.testing.assert_array_equal(got["dense/bias"], module.dense.bias.numpy())
    with safe_open(str(dst), "np") as f:
        assert f.metadata()["source_format"] == "SavedModel variables"
    from tensorflow.python.saved_model.loader_impl import parse_saved_model
    run("graph", tmp_path / "sm", "-o", tmp_path / "sm.dot", "-q")
    text = (tmp_path / "sm.dot").read_text()
    nodes = parse_saved_model(str(tmp_path / "sm")).meta_graphs[0].graph_def.node
    assert nodes and text.count("tooltip=") - text.count("subgraph") == len(nodes)
    for node in nodes:
        assert f'tooltip="{node.name}"' in text


def test_library_safetensors_to_bundle_read_by_tf(tf, tmp_path):
    import torch
    arrays = {"dense/kernel": np.random.default_rng(1).standard_normal((4, 3)).astype(
                  np.float32),
              "dense/bias": np.array([np.nan, -0.0, np.inf], np.float64),
              "step": np.array(42, np.int64), "mask": np.array([True, False]),
              "ids": np.array([[1, 2]], np.int32), "u8": np.arange(5, dtype=np.uint8)}
    st_numpy.save_file(arrays, str(tmp_path / "np.safetensors"), metadata={"a": "b"})
    half = {"bf": torch.arange(6, dtype=torch.bfloat16).reshape(2, 3) / 3,
            "f16": torch.tensor([1.5, -2.0], dtype=torch.float16)}
    st_torch.save_file(half, str(tmp_path / "pt.safetensors"))
    run("convert", tmp_path / "np.safetensors", tmp_path / "np_ckpt", "-q")
    run("convert", tmp_path / "pt.safetensors", tmp_path / "pt_ckpt", "-q")
    got = tf_values(tf, tmp_path / "np_ckpt")
    assert sorted(got) == sorted(arrays)
    for name, value in arrays.items():
        assert got[name][0] == dtypes.from_numpy(value.dtype).name
        assert got[name][1].tobytes() == value.tobytes()
    got = tf_values(tf, tmp_path / "pt_ckpt")
    for name, tensor in half.items():
        assert got[name][0] == str(tensor.dtype).removeprefix("torch.")
        assert got[name][1].tobytes() == torch_bytes(tensor)
    # and a TF1 Saver restores it into variables of the same names
    with tf.Graph().as_default(), tf.compat.v1.Session() as sess:
        kernel = tf.compat.v1.get_variable("dense/kernel", [4, 3], use_resource=False)
        tf.compat.v1.train.Saver([kernel]).restore(sess, str(tmp_path / "np_ckpt"))
        np.testing.assert_array_equal(sess.run(kernel), arrays["dense/kernel"])


def test_npz_with_exclude_drops_what_it_should(tf, tmp_path):
    prefix = FIXTURES / MANIFEST["resource"]["prefix"]
    run("convert", prefix, tmp_path / "x.npz", "--exclude", "/Adam", "--exclude",
        "_power$", "-q")
    want = {n: v for n, v in tf_values(tf, prefix).items()
            if "/Adam" not in n and not n.endswith("_power")}
    with np.load(tmp_path / "x.npz") as got:
        assert sorted(got.files) == sorted(want) == ["global_step", "model/b", "model/scale",
                                                     "model/w"]
        for name, (dtype, value) in want.items():
            assert got[name].dtype.name == dtype and got[name].tobytes() == value.tobytes()


def test_pytorch_state_dict_round_trip(tf, tmp_path):
    import torch
    prefix = FIXTURES / MANIFEST["resource"]["prefix"]
    want = tf_values(tf, prefix)
    run("convert", prefix, tmp_path / "model.pt", "--transpose", "^model/w$", "-q")
    state = torch.load(tmp_path / "model.pt", weights_only=True)
    assert sorted(state) == sorted(want)
    for name, (dtype, value) in want.items():
        expected = value.T if name == "model/w" else value
        assert str(state[name].dtype) == f"torch.{dtype}"
        assert torch_bytes(state[name]) == np.ascontiguousarray(expected).tobytes()
    run("convert", tmp_path / "model.pt", tmp_path / "back", "--transpose", "^model/w$",
        "-q")
    back = tf_values(tf, tmp_path / "back")
    assert {n: (d, v.tobytes()) for n, (d, v) in back.items()} == \
        {n: (d, v.tobytes()) for n, (d, v) in want.items()}


def _manifest_value(var: dict) -> np.ndarray:
    if "strings_b64" in var["value"]:
        items = [base64.b64decode(s) for s in var["value"]["strings_b64"]]
        return np.array(items, dtype=object).reshape(var["shape"])
    raw = bytes.fromhex(var["value"]["hex"])
    return np.frombuffer(raw, dtype=dtypes.BY_NAME[var["dtype"]].numpy).reshape(var["shape"])


def test_v1_and_partitioned_sources(tf, tmp_path):
    """V1: TensorFlow's reader cannot return two of its tensors, so the values TensorFlow
    restored with RestoreV2 when it wrote the fixture (manifest.json) are the oracle."""
    v1 = FIXTURES / MANIFEST["v1"]["prefix"]
    run("convert", v1, tmp_path / "v1.npz", "-q")
    with np.load(tmp_path / "v1.npz") as got:
        for name, var in MANIFEST["v1"]["variables"].items():
            want = _manifest_value(var)
            if want.dtype == object:
                assert got[name].tolist() == want.tolist()
            else:
                assert got[name].dtype == want.dtype and got[name].tobytes() == want.tobytes()
    partitioned = FIXTURES / MANIFEST["partitioned"]["prefix"]
    run("convert", partitioned, tmp_path / "p_ckpt", "-q")
    assert {n: v[1].tobytes() for n, v in tf_values(tf, tmp_path / "p_ckpt").items()} == \
        {n: v[1].tobytes() for n, v in tf_values(tf, partitioned).items()}
