"""The command line on TensorFlow-written models: `flowsaver inspect` prints what
``saved_model_cli show --all`` prints (TF1 and TF2 SavedModels), `flowsaver freeze` output
runs in TensorFlow with the original's outputs, `flowsaver run` prints TensorFlow's
numbers."""
from __future__ import annotations

import contextlib
import io
import json
import re

import numpy as np
import pytest
from google.protobuf import text_format

from flowsaver.cli.main import main
from parity import tf1_mode
from saved_model_programs import (KERAS_INPUT, X, builder_save, keras_saved_model, load_and_run,
                                  mlp, module_saved_model, simple_save, write_asset)

OPS_LINE = re.compile(r"^(The MetaGraph with tag set .* contains the following ops: )(\{.*\})$",
                      re.MULTILINE)


def cli(*args) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main([str(a) for a in args])
    assert code == 0
    return out.getvalue()


def show_all(directory) -> str:
    from tensorflow.python.tools import saved_model_cli
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        saved_model_cli._show_all(str(directory))
    return out.getvalue()


def _comparable(text: str):
    """The text with each op-type set parsed (saved_model_cli prints a Python set in hash
    order), and each function's options as a set (TensorFlow orders them by names it
    makes up while loading)."""
    ops = [set(eval(m.group(2))) for m in OPS_LINE.finditer(text)]  # noqa: S307
    text = OPS_LINE.sub(r"\1{...}", text)
    head, _, functions = text.partition("\nConcrete Functions:")
    blocks = []
    for block in functions.split("\n\n  Function Name: "):
        name, _, body = block.partition("\n")
        options = frozenset(re.split(r"    Option #\d+\n", body))
        blocks.append((name, options))
    return head, ops, blocks


@pytest.fixture(scope="module")
def tf_models(tf, tmp_path_factory):
    root = tmp_path_factory.mktemp("tf_models")
    with tf1_mode(tf) as v1:
        simple_save(v1, str(root / "simple"))
        builder_save(v1, str(root / "builder"), write_asset(root))
        with v1.Graph().as_default():
            x, _, logits, probs = mlp(v1)
            with v1.Session() as sess:
                sess.run(v1.global_variables_initializer())
                v1.train.Saver().save(sess, str(root / "ckpt" / "model"), global_step=2)
    keras_saved_model(tf, str(root / "keras"))
    module_saved_model(tf, str(root / "module"))
    return root


@pytest.mark.parametrize("name", ["simple", "builder", "keras", "module"])
def test_inspect_prints_what_saved_model_cli_shows(tf, tf_models, name):
    ours = cli("inspect", tf_models / name)
    shown, _, variables = ours.partition("\n\nVariables (")
    assert _comparable(shown) == _comparable(show_all(tf_models / name))
    listed = {line.split()[0] for line in variables.splitlines()[1:]}
    stored = {n for n, _ in tf.train.list_variables(str(tf_models / name / "variables"
                                                        / "variables"))}
    assert listed == stored and variables.startswith(f"{len(stored)}, in ")


def _tf_outputs(tf, export_dir, key, feeds, tags=("serve",)):
    with tf1_mode(tf) as v1:
        return load_and_run(v1, str(export_dir), list(tags), key, feeds)


def test_run_prints_tensorflows_numbers(tf, tf_models, tmp_path):
    expected = _tf_outputs(tf, tf_models / "builder", "serving_default", {"x": X})
    np.save(tmp_path / "x.npy", X)
    doc = json.loads(cli("run", tf_models / "builder", "--inputs", f"x={tmp_path / 'x.npy'}",
                         "--json"))
    np.testing.assert_allclose(np.array(doc["outputs"]["probs"]["value"]), expected["probs"],
                               rtol=1e-6)
    assert doc["outputs"]["vocab"]["value"] == repr(b"alpha\nbeta\n")
    text = cli("run", tf_models / "simple", "--input_exprs", f"x={X.tolist()}")
    theirs = _tf_outputs(tf, tf_models / "simple", "serving_default", {"x": X})
    printed = re.findall(r"Result for output key (\w+):\n(.*?)(?=\nResult|\Z)", text, re.S)
    assert [k for k, _ in printed] == ["logits", "probs"]
    for key, value in printed:
        numbers = np.array(re.sub(r"[\[\]]", " ", value).split(), np.float64)
        np.testing.assert_allclose(numbers.reshape(theirs[key].shape), theirs[key], rtol=1e-5)


def _run_frozen_in_tensorflow(tf, path, fetch, feeds):
    with tf1_mode(tf) as v1:
        graph_def = v1.GraphDef()
        data = open(path, "rb").read()
        if str(path).endswith(".pbtxt"):
            text_format.Parse(data.decode(), graph_def)
        else:
            graph_def.ParseFromString(data)
        assert not {n.op for n in graph_def.node} & {"VariableV2", "VarHandleOp", "Assign"}
        with v1.Graph().as_default() as graph:
            v1.import_graph_def(graph_def, name="")
            with v1.Session(graph=graph) as sess:
                return sess.run(fetch, feeds)


@pytest.mark.parametrize("suffix", [".pb", ".pbtxt"])
def test_frozen_metagraph_runs_in_tensorflow(tf, tf_models, tmp_path, suffix):
    out = tmp_path / f"frozen{suffix}"
    cli("freeze", tf_models / "ckpt" / "model-2.meta", "--output_node_names", "probs,logits",
        "-o", out)
    with tf1_mode(tf) as v1:
        with v1.Graph().as_default() as graph, v1.Session() as sess:
            v1.train.import_meta_graph(str(tf_models / "ckpt" / "model-2.meta")).restore(
                sess, str(tf_models / "ckpt" / "model-2"))
            expected = sess.run(["probs:0", "logits:0"], {"x:0": X})
    got = _run_frozen_in_tensorflow(tf, out, ["probs:0", "logits:0"], {"x:0": X})
    for a, b in zip(got, expected):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_frozen_saved_model_runs_in_tensorflow(tf, tf_models, tmp_path):
    out = tmp_path / "frozen.pb"
    cli("freeze", tf_models / "builder", "--signature_def", "features", "-o", out)
    expected = _tf_outputs(tf, tf_models / "builder", "features", {"inputs": X})
    got = _run_frozen_in_tensorflow(tf, out, {"hidden": "hidden:0", "scaled": "scaled:0"},
                                    {"x:0": X})
    for key in ("hidden", "scaled"):
        np.testing.assert_allclose(got[key], expected[key], rtol=1e-6)


def test_keras_model_output_is_recorded(tf, tf_models):
    """The Keras fixture itself: TensorFlow's loader serves what the model computed."""
    loaded = tf.saved_model.load(str(tf_models / "keras"))
    out = loaded.signatures["serving_default"](image=tf.constant(KERAS_INPUT))
    assert list(out) == ["probs"] and out["probs"].shape == (2, 3)
