"""`flowsaver inspect` on SavedModels and GraphDef files, `flowsaver freeze` and
`flowsaver run`, on models flowsaver writes (the TensorFlow-written ones are in
tests/interop/test_cli_saved_model_tf.py)."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

import flowsaver as tf
from flowsaver.cli.main import main
from flowsaver.format.graph_protos import GraphDef

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "interop"))
from saved_model_programs import X, builder_save, mlp, simple_save, write_asset  # noqa: E402


def cli(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    simple_save(tf, str(root / "simple"))
    builder_save(tf, str(root / "builder"), write_asset(root))
    with tf.Graph().as_default():
        x, _, logits, probs = mlp(tf)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            tf.train.Saver().save(sess, str(root / "ckpt" / "model"), global_step=7)
            expected = sess.run({"probs": probs, "logits": logits}, {x: X})
    np.save(root / "x.npy", X)
    np.savez(root / "batch.npz", x=X, other=np.zeros(2))
    return root, expected


def test_inspect_saved_model(capsys, models):
    root, _ = models
    code, out, _ = cli(capsys, "inspect", root / "builder")
    assert code == 0
    assert "MetaGraphDef with tag-set: 'serve' contains the following SignatureDefs:" in out
    assert "MetaGraphDef with tag-set: 'train, gpu' contains" in out
    assert "signature_def['features']:" in out and "Method name is: custom/features" in out
    assert "    inputs['x'] tensor_info:\n        dtype: DT_FLOAT\n        shape: (-1, 3)\n" \
           "        name: x:0" in out
    assert "contains the following ops: {'AddV2', 'Assign', 'Const', " in out
    assert "Variables (4, in " in out and "  w1  float32 [3, 4]" in out
    code, out, _ = cli(capsys, "inspect", root / "builder" / "saved_model.pb",
                       "--tag_set", "serve", "--signature_def", "features")
    assert out.startswith("The given SavedModel SignatureDef contains the following input")
    assert "scaled" in out and "serving_default" not in out


def test_inspect_saved_model_json(capsys, models):
    root, _ = models
    code, out, _ = cli(capsys, "inspect", "--json", root / "simple")
    doc = json.loads(out)
    (meta,) = doc["meta_graphs"]
    assert meta["tags"] == ["serve"] and meta["functions"] is None
    assert meta["signatures"]["serving_default"]["inputs"]["x"] == \
        {"dtype": "DT_FLOAT", "shape": [-1, 3], "name": "x:0"}
    assert {v["name"] for v in doc["variables"]} == {"w1", "b1", "w2"}


def test_inspect_saved_model_errors(capsys, models):
    root, _ = models
    code, _, err = cli(capsys, "inspect", root / "simple", "--tag_set", "train")
    assert code == 2 and "['serve'] (signatures: serving_default)" in err
    code, _, err = cli(capsys, "inspect", root / "simple", "--tag_set", "serve",
                       "--signature_def", "nope")
    assert code == 2 and "no SignatureDef 'nope'" in err


def test_freeze_metagraph_then_inspect_and_run(capsys, models, tmp_path):
    root, expected = models
    frozen = tmp_path / "frozen.pb"
    code, out, _ = cli(capsys, "freeze", root / "ckpt" / "model-7.meta",
                       "--output_node_names", "probs", "-o", frozen)
    assert code == 0 and "wrote" in out and "outputs probs" in out
    graph_def = GraphDef.FromString(frozen.read_bytes())
    assert not {n.op for n in graph_def.node} & {"VariableV2", "Assign", "SaveV2"}
    assert "logits" in {n.name for n in graph_def.node}
    code, out, _ = cli(capsys, "inspect", frozen)
    assert code == 0 and "GraphDef of" in out and "Likely outputs" in out
    assert "Constants: 4 (25 values)" in out and "  probs:0" in out
    code, out, _ = cli(capsys, "run", frozen, "--feed", f"x:0={root / 'x.npy'}",
                       "--fetch", "probs", "--json")
    assert code == 0
    value = json.loads(out)["outputs"]["probs"]
    np.testing.assert_allclose(np.array(value["value"]), expected["probs"], rtol=1e-6)


def test_freeze_saved_model_defaults_to_signature_outputs(capsys, models, tmp_path):
    root, expected = models
    frozen = tmp_path / "frozen.pbtxt"
    code, out, _ = cli(capsys, "freeze", root / "simple", "-o", frozen, "--json")
    doc = json.loads(out)
    assert code == 0 and doc["output_nodes"] == ["logits", "probs"]
    from google.protobuf import text_format
    graph_def = text_format.Parse(frozen.read_text(), GraphDef())
    with tf.Graph().as_default() as graph:
        tf.import_graph_def(graph_def, name="")
        with tf.Session() as sess:
            probs = sess.run("probs:0", {"x:0": X})
    np.testing.assert_allclose(probs, expected["probs"], rtol=1e-6)


@pytest.mark.parametrize("inputs", [["--inputs", "x={x}"], ["--inputs", "x={npz}[x]"],
                                    ["--input_exprs", "x=np.array({X})"]],
                         ids=["npy", "npz", "expr"])
def test_run_saved_model(capsys, models, tmp_path, inputs):
    root, expected = models
    args = [a.format(x=root / "x.npy", npz=root / "batch.npz", X=X.tolist()) for a in inputs]
    code, out, _ = cli(capsys, "run", root / "simple", *args, "--outdir", tmp_path / "o",
                       "--npz", tmp_path / "all.npz")
    assert code == 0
    assert out.index("Result for output key logits:") < out.index("Result for output key probs:")
    np.testing.assert_allclose(np.load(tmp_path / "o" / "probs.npy"), expected["probs"],
                               rtol=1e-6)
    with np.load(tmp_path / "all.npz") as saved:
        np.testing.assert_allclose(saved["logits"], expected["logits"], rtol=1e-6)
    code, _, err = cli(capsys, "run", root / "simple", *args, "--outdir", tmp_path / "o")
    assert code == 2 and "already exists" in err and "--overwrite" in err


def test_run_saved_model_strings_and_other_signatures(capsys, models, tmp_path):
    root, _ = models
    code, out, _ = cli(capsys, "run", root / "builder", "--input_exprs", f"x={X.tolist()}",
                       "--json", "--outdir", tmp_path)
    doc = json.loads(out)
    assert doc["outputs"]["vocab"]["dtype"] == "string"
    assert np.load(tmp_path / "vocab.npy") == b"alpha\nbeta\n"
    code, out, _ = cli(capsys, "run", root / "builder", "--tag_set", "train,gpu",
                       "--signature_def", "loss", "--input_exprs", f"x={X.tolist()}")
    assert code == 0 and "Result for output key loss:" in out


@pytest.mark.parametrize("args,message", [
    (["--inputs", "x=missing.npy"], "missing.npy does not exist"),
    (["--inputs", "x={npz}"], "holds 2 arrays"),
    (["--inputs", "x={npz}[nope]"], "has no array 'nope'"),
    (["--input_exprs", "x=np.ones((2,"], "cannot evaluate"),
    (["--input_exprs", "x"], "expected KEY=VALUE"),
    (["--input_exprs", "y=np.ones((2,3))"], "takes the inputs ['x']"),
    (["--signature_def", "nope", "--input_exprs", "x=1"], "no SignatureDef 'nope'"),
    (["--fetch", "probs"], "--fetch/--feed are for metagraphs"),
])
def test_run_errors(capsys, models, args, message):
    root, _ = models
    args = [a.format(npz=root / "batch.npz") for a in args]
    code, _, err = cli(capsys, "run", root / "simple", *args)
    assert code == 2 and message in err


def test_run_metagraph_restores_its_checkpoint(capsys, models):
    root, expected = models
    meta = root / "ckpt" / "model-7.meta"
    code, out, _ = cli(capsys, "run", meta, "--feed", f"x={X.tolist()}", "--fetch", "logits",
                       "--fetch", "hidden:0", "--json")
    doc = json.loads(out)
    np.testing.assert_allclose(np.array(doc["outputs"]["logits"]["value"]),
                               expected["logits"], rtol=1e-6)
    assert doc["outputs"]["hidden:0"]["shape"] == [2, 4]
    code, _, err = cli(capsys, "run", meta, "--fetch", "nope")
    assert code == 2 and "nope" in err and "model-7.meta" in err
    code, _, err = cli(capsys, "run", meta, "--fetch", "logits", "--checkpoint",
                       root / "ckpt" / "model-8", "--feed", "x=np.ones((1,3))")
    assert code == 2 and "model-8" in err
    code, _, err = cli(capsys, "freeze", meta, "-o", root / "f.pb")
    assert code == 2 and "output_node_names" in err


@pytest.mark.parametrize("command", [["inspect"], ["run", "--input_exprs", "x=1"],
                                     ["freeze", "-o", "f.pb"]])
def test_truncated_saved_model_pb(capsys, models, tmp_path, command):
    root, _ = models
    import shutil
    copy = tmp_path / "m"
    shutil.copytree(root / "simple", copy)
    data = (copy / "saved_model.pb").read_bytes()
    (copy / "saved_model.pb").write_bytes(data[:len(data) // 3])
    code, _, err = cli(capsys, command[0], copy, *command[1:])
    assert code == 2
    assert f"{copy / 'saved_model.pb'} is not a SavedModel (truncated or damaged?)" in err
