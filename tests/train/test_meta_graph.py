"""MetaGraph export and import inside flowsaver: the seed tutorial, the Julia example,
import scopes, collections, text form, unsupported op types, unbound inputs."""
import os
import subprocess
import sys

import numpy as np
import pytest

import flowsaver as tf
from flowsaver.format.graph_protos import MetaGraphDef, NodeDef

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _python(code: str, cwd) -> str:
    """Run ``code`` in a fresh process (so nothing of this one's graphs is shared)."""
    result = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True,
                            text=True, env=dict(os.environ, PYTHONPATH=REPO), timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_seed_tutorial_in_fresh_processes(tmp_path):
    _python("""
import flowsaver as tf
w1 = tf.placeholder("float", name="w1")
w2 = tf.placeholder("float", name="w2")
b1 = tf.Variable(2.0, name="bias")
w4 = tf.multiply(tf.add(w1, w2), b1, name="op_to_restore")
sess = tf.Session()
sess.run(tf.global_variables_initializer())
print(sess.run(w4, {w1: 4, w2: 8}))
tf.train.Saver().save(sess, "my_test_model", global_step=1000)
""", tmp_path)
    assert sorted(os.listdir(tmp_path)) == [
        "checkpoint", "my_test_model-1000.data-00000-of-00001", "my_test_model-1000.index",
        "my_test_model-1000.meta"]
    out = _python("""
import flowsaver as tf
sess = tf.Session()
saver = tf.train.import_meta_graph("my_test_model-1000.meta")
saver.restore(sess, tf.train.latest_checkpoint("./"))
graph = tf.get_default_graph()
w1 = graph.get_tensor_by_name("w1:0")
w2 = graph.get_tensor_by_name("w2:0")
feed_dict = {w1: 13.0, w2: 17.0}
op_to_restore = graph.get_tensor_by_name("op_to_restore:0")
print(sess.run(op_to_restore, feed_dict))
add_on_op = tf.multiply(op_to_restore, 2)
print(sess.run(add_on_op, feed_dict))
""", tmp_path)
    assert out.split() == ["60.0", "120.0"]


def test_julia_example(tmp_path):
    _python("""
import flowsaver as tf
x = tf.constant(1)
y = tf.add(x, 1, name="y")
tf.train.export_meta_graph("my_model")
""", tmp_path)
    out = _python("""
import flowsaver as tf
tf.train.import_meta_graph("my_model")
sess = tf.Session()
print(sess.run(tf.get_default_graph().get_tensor_by_name("y:0")))
""", tmp_path)
    assert out.strip() == "2"


def _model():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [None, 2], name="x")
        w = tf.Variable(np.array([[1., 2.], [3., 4.]], np.float32), name="w")
        b = tf.Variable(np.array([0.5, -0.5], np.float32), name="b", trainable=False)
        y = tf.nn.relu(tf.matmul(x, w) + b, name="y")
        tf.add_to_collection("outputs", y)
        tf.add_to_collection("my_ints", 7)
        tf.add_to_collection("my_floats", 3.5)
        tf.add_to_collection("my_strs", b"hello")
        tf.add_to_collection("ops", tf.global_variables_initializer())
        saver = tf.train.Saver()
    return g, saver


def test_export_import_keeps_collections_and_variables(tmp_path):
    g, saver = _model()
    with g.as_default(), tf.Session(graph=g) as sess:
        sess.run(tf.global_variables_initializer())
        prefix = saver.save(sess, str(tmp_path / "m"))
    g2 = tf.Graph()
    with g2.as_default():
        restored = tf.train.import_meta_graph(prefix + ".meta")
        assert [v.name for v in tf.global_variables()] == ["w:0", "b:0"]
        assert [v.name for v in tf.trainable_variables()] == ["w:0"]
        assert tf.global_variables()[0] is tf.trainable_variables()[0]
        assert tf.get_collection("my_ints") == [7]
        assert tf.get_collection("my_floats") == [3.5]
        assert tf.get_collection("my_strs") == [b"hello"]
        assert tf.get_collection("outputs")[0] is g2.get_tensor_by_name("y:0")
        assert tf.get_collection("ops")[0].type == "NoOp"
        with tf.Session(graph=g2) as sess:
            restored.restore(sess, prefix)
            out = sess.run("y:0", {"x:0": [[1., 1.]]})
    np.testing.assert_allclose(out, [[4.5, 5.5]])


def test_import_scope_renames_everything_but_checkpoint_keys(tmp_path):
    g, saver = _model()
    with g.as_default(), tf.Session(graph=g) as sess:
        sess.run(tf.global_variables_initializer())
        prefix = saver.save(sess, str(tmp_path / "m"))
    g2 = tf.Graph()
    with g2.as_default():
        tf.constant(0, name="imp")  # the scope name is taken: the import goes to imp_1
        s1 = tf.train.import_meta_graph(prefix + ".meta", import_scope="imp")
        s2 = tf.train.import_meta_graph(prefix + ".meta", import_scope="other")
        assert s1.saver_def.restore_op_name == "imp_1/save/restore_all"
        assert s1.saver_def.filename_tensor_name == "imp_1/save/Const:0"
        read = g2.get_operation_by_name("imp_1/w/read")
        assert read.get_attr("_class") == [b"loc:@imp_1/w"]
        assert [v.name for v in tf.global_variables()] == ["imp_1/w:0", "imp_1/b:0",
                                                           "other/w:0", "other/b:0"]
        assert tf.get_collection("my_strs") == ["imp_1/hello", "other/hello"]
        with tf.Session(graph=g2) as sess:
            s1.restore(sess, prefix)  # keys stay "w" and "b"
            s2.restore(sess, prefix)
            a, b = sess.run(["imp_1/y:0", "other/y:0"], {"imp_1/x:0": [[1., 0.]],
                                                          "other/x:0": [[0., 1.]]})
    np.testing.assert_allclose(a, [[1.5, 1.5]])
    np.testing.assert_allclose(b, [[3.5, 3.5]])


def test_text_and_binary_forms_read_the_same(tmp_path):
    g, saver = _model()
    with g.as_default():
        binary = saver.export_meta_graph(str(tmp_path / "m.meta"))
        text = saver.export_meta_graph(str(tmp_path / "m.pbtxt"), as_text=True)
    assert binary == text
    assert (tmp_path / "m.pbtxt").read_text().startswith("meta_info_def {")
    for name in ("m.meta", "m.pbtxt"):
        with tf.Graph().as_default():
            assert tf.train.import_meta_graph(str(tmp_path / name)) is not None
            assert len(tf.global_variables()) == 2


def test_stripped_op_list_and_versions():
    g, saver = _model()
    with g.as_default():
        meta = saver.export_meta_graph()
    used = sorted({n.op for n in meta.graph_def.node})
    assert [op.name for op in meta.meta_info_def.stripped_op_list.op] == used
    assert meta.meta_info_def.tensorflow_version == "2.21.0"
    assert meta.graph_def.versions.producer > 0
    nodes = {n.name: n for n in meta.graph_def.node}
    assert nodes["x"].attr["_output_shapes"].list.shape[0].dim[1].size == 2
    assert "_output_shapes" not in nodes["save/restore_all"].attr  # no outputs, no shapes


def test_unsupported_op_types_are_reported_together_before_importing():
    meta = MetaGraphDef()
    meta.graph_def.node.add().CopyFrom(NodeDef(name="a", op="FancyOp"))
    meta.graph_def.node.add().CopyFrom(NodeDef(name="b", op="OtherOp", input=["a"]))
    meta.graph_def.node.add().CopyFrom(NodeDef(name="c", op="NoOp"))
    g = tf.Graph()
    with g.as_default(), pytest.raises(tf.errors.UnimplementedError) as info:
        tf.train.import_meta_graph(meta)
    assert "FancyOp" in str(info.value) and "OtherOp" in str(info.value)
    assert g.get_operations() == []


def test_export_scope_and_input_map(tmp_path):
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [2], name="x")
        with tf.name_scope("s"):
            y = tf.multiply(x, 3.0, name="y")
        meta = tf.train.export_meta_graph(str(tmp_path / "s.meta"), export_scope="s")
    assert y.name == "s/y:0"
    assert [n.name for n in meta.graph_def.node] == ["y/y", "y"]
    assert list(meta.graph_def.node[1].input) == ["$unbound_inputs_x", "y/y"]
    g2 = tf.Graph()
    with g2.as_default():
        with pytest.raises(ValueError, match="unbound inputs"):
            tf.train.import_meta_graph(str(tmp_path / "s.meta"))
        z = tf.constant([1.0, 2.0], name="z")
        tf.train.import_meta_graph(str(tmp_path / "s.meta"), import_scope="t",
                                   input_map={"$unbound_inputs_x": z})
        with tf.Session() as sess:
            np.testing.assert_allclose(sess.run("t/y:0"), [3.0, 6.0])


def test_import_graph_def_return_elements_and_input_map():
    g = tf.Graph()
    with g.as_default():
        a = tf.placeholder(tf.float32, [], name="a")
        tf.add(a, 1.0, name="b")
    graph_def = g.as_graph_def()
    g2 = tf.Graph()
    with g2.as_default():
        c = tf.constant(41.0)
        b, op = tf.import_graph_def(graph_def, input_map={"a:0": c},
                                    return_elements=["b:0", "b"])
        assert b.name == "import/b:0" and op.name == "import/b"
        with tf.Session() as sess:
            assert sess.run(b) == 42.0
