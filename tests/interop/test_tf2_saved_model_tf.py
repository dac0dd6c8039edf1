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
from saved_model_programs import (keras_saved_model, module_saved_model,
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
