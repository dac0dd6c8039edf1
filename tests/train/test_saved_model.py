"""SavedModels within flowsaver: round trips, what each reserved key and collection holds,
the builder's and loader's errors, and hostile directories (a truncated saved_model.pb, a
signature naming a missing tensor, a variables directory that does not match), each a
typed error naming the file and the item."""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

import flowsaver as tf
from flowsaver import errors
from flowsaver.format.saved_model_file import (MetaGraphNotFoundError, read_saved_model,
                                               write_saved_model)
from flowsaver.train.signature_runner import run_signature

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "interop"))
from saved_model_programs import (X, builder_save, load_and_run, mlp,  # noqa: E402
                                  simple_save, write_asset)


@pytest.fixture(scope="module")
def simple(tmp_path_factory) -> str:
    path = str(tmp_path_factory.mktemp("sm") / "model")
    simple_save(tf, path)
    return path


def _expected_probs():
    with tf.Graph().as_default():
        x, _, _, probs = mlp(tf)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            return sess.run(probs, {x: X})


def _copy(source: str, target) -> str:
    shutil.copytree(source, target)
    return str(target)


def test_simple_save_round_trip(simple):
    out = load_and_run(tf, simple, ["serve"], "serving_default", {"x": X})
    np.testing.assert_allclose(out["probs"], _expected_probs(), rtol=1e-6)
    model = read_saved_model(simple)
    assert model.saved_model_schema_version == 1
    meta = model.meta_graphs[0]
    assert list(meta.meta_info_def.tags) == ["serve"]
    assert meta.signature_def["serving_default"].method_name == "tensorflow/serving/predict"
    assert all(node.device == "" for node in meta.graph_def.node)   # clear_devices=True
    assert meta.saver_def.sharded
    assert tf.saved_model.loader.maybe_saved_model_directory(simple)
    assert not tf.saved_model.contains_saved_model(os.path.dirname(simple))


def test_builder_round_trip_with_assets_and_two_meta_graphs(tmp_path):
    source = write_asset(tmp_path)
    path = str(tmp_path / "model")
    builder_save(tf, path, source, True)
    os.remove(source)
    assert sorted(os.listdir(path)) == ["assets", "saved_model.pbtxt", "variables"]
    out = load_and_run(tf, path, ["serve"], "serving_default", {"x": X})
    assert out["vocab"] == b"alpha\nbeta\n"
    np.testing.assert_allclose(out["probs"], _expected_probs(), rtol=1e-6)
    loss = load_and_run(tf, path, ["train", "gpu"], "loss", {"x": X})["loss"]
    assert loss.shape == () and loss > 0
    model = read_saved_model(path)
    serve, train = model.meta_graphs
    assert serve.meta_info_def.stripped_default_attrs
    assert "saved_model_main_op" in serve.collection_def
    assert len(serve.collection_def["saved_model_assets"].any_list.value) == 1


def test_load_with_import_scope(simple):
    with tf.Graph().as_default() as graph, tf.Session() as sess:
        meta = tf.saved_model.loader.load(sess, ["serve"], simple, import_scope="imported")
        info = meta.signature_def["serving_default"]
        x = tf.saved_model.utils.get_tensor_from_tensor_info(info.inputs["x"],
                                                             import_scope="imported")
        probs = tf.saved_model.get_tensor_from_tensor_info(info.outputs["probs"], graph,
                                                           "imported")
        assert x.name == "imported/x:0"
        np.testing.assert_allclose(sess.run(probs, {x: X}), _expected_probs(), rtol=1e-6)


def test_signature_utils():
    with tf.Graph().as_default():
        x, hidden, logits, probs = mlp(tf)
        examples = tf.placeholder(tf.string, [None], name="examples")
        classes = tf.constant(["a", "b"], name="classes")
        info = tf.saved_model.build_tensor_info(x)
        assert info.name == "x:0" and info.dtype == 1
        assert [d.size for d in info.tensor_shape.dim] == [-1, 3]
        sparse = tf.SparseTensor([[0, 0]], [1.0], [2, 2])
        coo = tf.saved_model.utils.build_tensor_info(sparse).coo_sparse
        assert coo.values_tensor_name == sparse.values.name
        predict = tf.saved_model.predict_signature_def({"x": x}, {"y": probs})
        classify = tf.saved_model.classification_signature_def(examples, classes, logits)
        regress = tf.saved_model.regression_signature_def(examples, logits)
        assert [tf.saved_model.is_valid_signature(s) for s in (predict, classify, regress)] \
            == [True, True, True]
        assert not tf.saved_model.is_valid_signature(
            tf.saved_model.build_signature_def({"x": info}, {}, "tensorflow/serving/predict"))
        assert not tf.saved_model.is_valid_signature(None)
        with pytest.raises(ValueError, match="input tensors must be of type string"):
            tf.saved_model.regression_signature_def(x, logits)
        with pytest.raises(ValueError, match="cannot both be None"):
            tf.saved_model.classification_signature_def(examples, None, None)
        with pytest.raises(ValueError, match="cannot be None or empty"):
            tf.saved_model.predict_signature_def({}, {"y": probs})
        default = tf.constant(3.0, name="three")
        signature = tf.saved_model.build_signature_def(defaults={"k": default})
        assert signature.defaults["k"].float_val == [3.0]


def test_builder_refusals(tmp_path, simple):
    with pytest.raises(AssertionError, match="already exists, and isn't empty"):
        tf.saved_model.builder.SavedModelBuilder(simple)
    with tf.Graph().as_default():
        x, _, _, probs = mlp(tf)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            builder = tf.saved_model.Builder(str(tmp_path / "new"))
            with pytest.raises(AssertionError, match="has not been saved yet"):
                builder.add_meta_graph(["serve"])
            signature = tf.saved_model.predict_signature_def({"x": x}, {"y": probs})
            with pytest.raises(KeyError, match="reserved for initialization"):
                builder.add_meta_graph_and_variables(
                    sess, ["serve"], {"__saved_model_init_op": signature})
            bad = tf.saved_model.build_signature_def({"x": tf.TensorInfo(name="x:0")})
            with pytest.raises(AssertionError, match="must have the dtype field set"):
                builder.add_meta_graph_and_variables(sess, ["serve"], {"bad": bad})
            with pytest.raises(TypeError, match="must be of type constant"):
                builder.add_meta_graph_and_variables(sess, ["serve"], assets_collection=[x])
            with pytest.raises(TypeError, match="Python `bool`"):   # as TensorFlow
                builder.add_meta_graph_and_variables(sess, ["serve"], main_op=probs)
            builder.add_meta_graph_and_variables(sess, ["serve"], {"p": signature})
            with pytest.raises(AssertionError, match="already been saved"):
                builder.add_meta_graph_and_variables(sess, ["serve"])
            assert builder.save().endswith(b"saved_model.pb")


def test_missing_tag_set_lists_what_there_is(simple):
    with tf.Graph().as_default(), tf.Session() as sess:
        with pytest.raises(MetaGraphNotFoundError) as caught:
            tf.saved_model.loader.load(sess, ["serve", "gpu"], simple)
    message = str(caught.value)
    assert simple in message and "['gpu', 'serve']" in message
    assert "['serve'] (signatures: serving_default)" in message
    assert isinstance(caught.value, errors.NotFoundError)
    assert isinstance(caught.value, RuntimeError)   # what TensorFlow's loader raises


@pytest.mark.parametrize("cut", [0.5, 0.9, 0.01])
def test_truncated_saved_model_pb(simple, tmp_path, cut):
    path = _copy(simple, tmp_path / "m")
    pb = os.path.join(path, "saved_model.pb")
    data = open(pb, "rb").read()
    open(pb, "wb").write(data[:int(len(data) * cut)])
    with tf.Graph().as_default(), tf.Session() as sess:
        with pytest.raises(errors.DataLossError, match=f"{pb} is not a SavedModel"):
            tf.saved_model.loader.load(sess, ["serve"], path)


def test_directory_without_saved_model(tmp_path):
    with tf.Graph().as_default(), tf.Session() as sess:
        with pytest.raises(errors.NotFoundError, match="SavedModel file does not exist at"):
            tf.saved_model.loader.load(sess, ["serve"], str(tmp_path))


def test_signature_naming_a_missing_tensor(simple, tmp_path):
    path = _copy(simple, tmp_path / "m")
    model = read_saved_model(path)
    model.meta_graphs[0].signature_def["serving_default"].outputs["probs"].name = "nope:0"
    write_saved_model(path, model)
    with tf.Graph().as_default(), tf.Session() as sess:
        meta = tf.saved_model.loader.load(sess, ["serve"], path)
        with pytest.raises(errors.NotFoundError) as caught:
            run_signature(sess, meta, "serving_default", {"x": X}, path)
        with pytest.raises(errors.NotFoundError, match="no SignatureDef 'other'.*serving_def"):
            run_signature(sess, meta, "other", {"x": X}, path)
    message = str(caught.value)
    assert path in message and "'serving_default' output 'probs'" in message
    assert "'nope:0'" in message


def test_signature_inputs_are_checked(simple):
    with tf.Graph().as_default(), tf.Session() as sess:
        meta = tf.saved_model.loader.load(sess, ["serve"], simple)
        with pytest.raises(errors.InvalidArgumentError, match=r"\['x'\]; \['y'\] is not"):
            run_signature(sess, meta, "serving_default", {"y": X}, simple)
        with pytest.raises(errors.InvalidArgumentError, match="must feed a value.*x"):
            run_signature(sess, meta, "serving_default", {}, simple)
        out = run_signature(sess, meta, "serving_default", {"x": X}, simple)
    np.testing.assert_allclose(out["probs"], _expected_probs(), rtol=1e-6)


def test_variables_that_do_not_match(simple, tmp_path):
    path = _copy(simple, tmp_path / "m")
    prefix = os.path.join(path, "variables", "variables")
    for name in os.listdir(os.path.join(path, "variables")):
        os.remove(os.path.join(path, "variables", name))
    with tf.Graph().as_default():
        tf.Variable(np.zeros((5, 4), np.float32), name="w1")
        tf.Variable(np.zeros(4, np.float32), name="b1")
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            tf.train.Saver().save(sess, prefix, write_meta_graph=False, write_state=False)
    with tf.Graph().as_default(), tf.Session() as sess:
        with pytest.raises(errors.NotFoundError, match=f"(?s){prefix}.*'w2'"):
            tf.saved_model.loader.load(sess, ["serve"], path)
    with tf.Graph().as_default():
        tf.Variable(np.zeros((5, 4), np.float32), name="w1")
        tf.Variable(np.zeros(4, np.float32), name="b1")
        tf.get_variable("w2", initializer=np.zeros((4, 2), np.float32))
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            tf.train.Saver().save(sess, prefix, write_meta_graph=False, write_state=False)
    with tf.Graph().as_default(), tf.Session() as sess:
        with pytest.raises(errors.InvalidArgumentError, match=f"(?s){prefix}.*w1"):
            tf.saved_model.loader.load(sess, ["serve"], path)


def test_graph_errors_name_the_saved_model(simple, tmp_path):
    path = _copy(simple, tmp_path / "m")
    model = read_saved_model(path)
    model.meta_graphs[0].graph_def.node[0].input.append("no_such_node")
    write_saved_model(path, model)
    with tf.Graph().as_default(), tf.Session() as sess:
        with pytest.raises((errors.OpError, ValueError)) as caught:
            tf.saved_model.loader.load(sess, ["serve"], path)
    assert os.path.join(path, "saved_model.pb") in str(caught.value)
    assert "no_such_node" in str(caught.value)
