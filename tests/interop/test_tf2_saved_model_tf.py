"""SavedModels written by TensorFlow 2 (``tf.saved_model.save``, Keras ``model.save``):
each graph handle's checkpoint key is found from the object graphs as TensorFlow's own
restore function finds it, the MetaGraph loads into a flowsaver session with its
variables, and its ``serving_default`` signature gives TensorFlow's outputs."""
from __future__ import annotations

import numpy as np
import pytest

from flowsaver.format.reader import CheckpointReader
from flowsaver.format.saved_model_file import read_saved_model
from flowsaver.format.saved_object_graph import handle_checkpoint_keys
from parity import tf1_mode
from saved_model_programs import (KERAS_INPUT, X, keras_saved_model, module_saved_model,
                                  twin_names_saved_model)

WRITERS = {"keras": keras_saved_model, "module": module_saved_model,
           "twins": twin_names_saved_model}


@pytest.fixture(scope="module")
def tf2_models(tf, tmp_path_factory):
    root = tmp_path_factory.mktemp("tf2_models")
    for name, write in WRITERS.items():
        write(tf, str(root / name))
    return root


def _values_tensorflow_restores(tf, export_dir) -> dict:
    """``{handle name: value}`` after TensorFlow's TF1 loader ran the restore function."""
    with tf1_mode(tf) as v1, v1.Graph().as_default() as graph, v1.Session() as sess:
        meta = v1.saved_model.loader.load(sess, ["serve"], str(export_dir))
        handles = [n.name for n in meta.graph_def.node if n.op == "VarHandleOp"]
        return dict(zip(handles, sess.run([f"{h}/Read/ReadVariableOp:0" for h in handles])))


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_handles_map_to_the_keys_tensorflow_restores_from(tf, tf2_models, name):
    export_dir = tf2_models / name
    meta = read_saved_model(export_dir).meta_graphs[0]
    reader = CheckpointReader(str(export_dir / "variables" / "variables"))
    keys = handle_checkpoint_keys(meta, reader.object_graph(), str(export_dir))
    expected = _values_tensorflow_restores(tf, export_dir)
    assert sorted(keys) == sorted(expected)
    for handle, key in keys.items():
        np.testing.assert_array_equal(reader.get_tensor(key), expected[handle])
    if name == "twins":   # the graph's names run the other way round from the objects'
        assert keys["w_1"] == "a/.ATTRIBUTES/VARIABLE_VALUE"
        assert keys["w"] == "b/.ATTRIBUTES/VARIABLE_VALUE"


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_variables_restore_from_the_object_based_checkpoint(tf, tf2_models, name):
    """The handles (and their reads) of the serve MetaGraph, imported alone, get the values
    TensorFlow's restore function gives them."""
    import flowsaver
    from flowsaver.graph.graph_util import extract_sub_graph
    from flowsaver.train.object_based_restore import restore_saved_model_variables
    export_dir = tf2_models / name
    meta = read_saved_model(export_dir).meta_graphs[0]
    handles = [n.name for n in meta.graph_def.node if n.op == "VarHandleOp"]
    reads = [f"{h}/Read/ReadVariableOp" for h in handles]
    with flowsaver.Graph().as_default() as graph, flowsaver.Session() as sess:
        flowsaver.import_graph_def(extract_sub_graph(meta.graph_def, reads), name="m")
        keys = restore_saved_model_variables(sess, meta, str(export_dir / "variables" /
                                                             "variables"), "m")
        values = dict(zip(handles, sess.run([f"m/{r}:0" for r in reads])))
    assert sorted(keys) == sorted(handles)
    expected = _values_tensorflow_restores(tf, export_dir)
    for handle in handles:
        np.testing.assert_array_equal(values[handle], expected[handle])


@pytest.mark.parametrize("change,error,message", [
    ("drop", "NotFoundError", "has no key 'b/.ATTRIBUTES/VARIABLE_VALUE'"),
    ("reshape", "InvalidArgumentError", "has shape [3], but variable 'w' has shape (2,)"),
    ("retype", "InvalidArgumentError", "holds float64, but variable 'w' is float32"),
])
def test_variables_that_do_not_match_change_nothing(tf, tf2_models, tmp_path, change, error,
                                                    message):
    import shutil

    import flowsaver
    from flowsaver import errors
    from flowsaver.format.bundle_write import save_tensors
    from flowsaver.graph.graph_util import extract_sub_graph
    from flowsaver.train.object_based_restore import restore_saved_model_variables
    export_dir = tmp_path / "twins"
    shutil.copytree(tf2_models / "twins", export_dir)
    prefix = str(export_dir / "variables" / "variables")
    reader = CheckpointReader(prefix)
    tensors = {n: reader.get_tensor(n) for n in reader.names()}
    reader.close()
    key = "b/.ATTRIBUTES/VARIABLE_VALUE"
    if change == "drop":
        del tensors[key]
    else:
        tensors[key] = np.zeros(3, np.float32) if change == "reshape" else \
            tensors[key].astype(np.float64)
    for name in (export_dir / "variables").iterdir():
        name.unlink()
    save_tensors(prefix, tensors)
    meta = read_saved_model(export_dir).meta_graphs[0]
    with flowsaver.Graph().as_default(), flowsaver.Session() as sess:
        flowsaver.import_graph_def(extract_sub_graph(meta.graph_def, ["w", "w_1", "unused"]),
                                   name="")
        with pytest.raises(getattr(errors, error)) as caught:
            restore_saved_model_variables(sess, meta, prefix)
        assert not [op for op in sess.graph.get_operations() if op.type == "RestoreV2"]
    assert prefix in str(caught.value) and message in str(caught.value)


SIGNATURE_INPUTS = {"keras": lambda: {"image": KERAS_INPUT}, "module": lambda: {"x": X},
                    "twins": lambda: {"x": np.float32(2.0)}}


def _serving_outputs(tf, export_dir, inputs) -> dict:
    loaded = tf.saved_model.load(str(export_dir))
    out = loaded.signatures["serving_default"](**{k: tf.constant(v) for k, v in inputs.items()})
    return {k: v.numpy() for k, v in out.items()}


def _reachable_ops(graph_def) -> set:
    functions = {f.signature.name: f for f in graph_def.library.function}
    ops, pending, seen = set(), list(graph_def.node), set()
    while pending:
        node = pending.pop()
        ops.add(node.op)
        for value in node.attr.values():
            names = [value.func.name] if value.HasField("func") else \
                [f.name for f in value.list.func]
            for name in names:
                if name in functions and name not in seen:
                    seen.add(name)
                    pending.extend(functions[name].node_def)
    return ops


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_frozen_tf2_saved_model_runs_in_both(tf, tf2_models, tmp_path, name):
    import contextlib
    import io

    from flowsaver.cli.main import main
    from flowsaver.format.graph_protos import GraphDef
    out = tmp_path / "frozen.pb"
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["freeze", str(tf2_models / name), "-o", str(out)]) == 0
    frozen = GraphDef.FromString(out.read_bytes())
    assert not _reachable_ops(frozen) & {"VarHandleOp", "ReadVariableOp", "AssignVariableOp",
                                         "ResourceGather"}
    meta = read_saved_model(tf2_models / name).meta_graphs[0]
    signature = meta.signature_def["serving_default"]
    inputs = SIGNATURE_INPUTS[name]()
    expected = _serving_outputs(tf, tf2_models / name, inputs)
    with tf1_mode(tf) as v1, v1.Graph().as_default(), v1.Session() as sess:
        v1.import_graph_def(v1.GraphDef.FromString(out.read_bytes()), name="")
        got = sess.run({k: v.name for k, v in signature.outputs.items()},
                       {signature.inputs[k].name: v for k, v in inputs.items()})
    import flowsaver
    with flowsaver.Graph().as_default(), flowsaver.Session() as sess:
        flowsaver.import_graph_def(frozen, name="")
        ours = sess.run({k: v.name for k, v in signature.outputs.items()},
                        {signature.inputs[k].name: v for k, v in inputs.items()})
    assert sorted(got) == sorted(expected) == sorted(ours)
    for key in got:
        np.testing.assert_allclose(got[key], expected[key], rtol=1e-6)
        np.testing.assert_allclose(ours[key], expected[key], rtol=1e-5)


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_frozen_tf2_graph_def_is_tensorflows(tf, tf2_models, name):
    """The same GraphDef as TensorFlow's converter makes of the loaded MetaGraph, but for
    the numbers in the ``_frozen_<n>`` names of the converted functions."""
    import re

    from google.protobuf import text_format

    from flowsaver.train.freeze_graph import freeze_saved_model
    ours, outputs = freeze_saved_model(str(tf2_models / name))
    from tensorflow.python.framework import convert_to_constants
    with tf1_mode(tf) as v1, v1.Graph().as_default(), v1.Session() as sess:
        v1.saved_model.loader.load(sess, ["serve"], str(tf2_models / name))
        # as stored (the loader puts the stripped default attrs back into what it returns)
        graph_def = v1.GraphDef.FromString(
            read_saved_model(tf2_models / name).meta_graphs[0].graph_def.SerializeToString())
        for node in graph_def.node:
            node.device = ""
        theirs = convert_to_constants.convert_variables_to_constants_from_session_graph(
            sess, graph_def, outputs)

    def text(graph_def):
        return re.sub(r"_frozen_\d+", "_frozen", text_format.MessageToString(graph_def))
    assert text(ours) == text(theirs)


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_serving_default_gives_tensorflows_outputs(tf, tf2_models, name):
    """loader.load brings the serve MetaGraph into a flowsaver session, its variables come
    from the object-based checkpoint, and serving_default runs through the function
    library to TensorFlow's outputs (rtol 1e-5)."""
    import flowsaver
    from flowsaver.train.signature_runner import run_signature
    inputs = SIGNATURE_INPUTS[name]()
    expected = _serving_outputs(tf, tf2_models / name, inputs)
    with flowsaver.Graph().as_default() as graph, flowsaver.Session(graph=graph) as sess:
        meta = flowsaver.saved_model.loader.load(sess, ["serve"], str(tf2_models / name))
        got = run_signature(sess, meta, "serving_default", inputs, str(tf2_models / name))
        signature = meta.signature_def["serving_default"]
        by_name = sess.run({k: graph.get_tensor_by_name(v.name)
                            for k, v in signature.outputs.items()},
                           {graph.get_tensor_by_name(signature.inputs[k].name): v
                            for k, v in inputs.items()})
    assert sorted(got) == sorted(expected) == sorted(by_name)
    for key in got:
        np.testing.assert_allclose(got[key], expected[key], rtol=1e-5)
        np.testing.assert_allclose(by_name[key], expected[key], rtol=1e-5)


def test_flowsaver_run_on_a_keras_saved_model(tf, tf2_models, tmp_path):
    import contextlib
    import io
    import json

    from flowsaver.cli.main import main
    np.save(tmp_path / "image.npy", KERAS_INPUT)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["run", str(tf2_models / "keras"), "--inputs",
                     f"image={tmp_path / 'image.npy'}", "--json"]) == 0
    got = np.array(json.loads(out.getvalue())["outputs"]["probs"]["value"])
    expected = _serving_outputs(tf, tf2_models / "keras", {"image": KERAS_INPUT})["probs"]
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_objects_other_than_variables_are_refused(tf, tf2_models):
    import flowsaver
    from flowsaver import errors
    from flowsaver.train.object_based_restore import restore_saved_model_variables
    export_dir = tf2_models / "twins"
    meta = read_saved_model(export_dir).meta_graphs[0]
    meta.object_graph_def.nodes[0].saveable_objects["table"].save_function = 9
    with flowsaver.Graph().as_default(), flowsaver.Session() as sess:
        with pytest.raises(errors.UnimplementedError, match=r"\(0, \['table'\]\).*variables"):
            restore_saved_model_variables(sess, meta, str(export_dir / "variables" /
                                                          "variables"))
