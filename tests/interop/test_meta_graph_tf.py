"""MetaGraphs pass between flowsaver and real TensorFlow in both directions: identical
exports, imports that run alike, text and binary forms, import scopes."""
import numpy as np
import pytest

import flowsaver
from flowsaver.format.graph_protos import GraphDef, MetaGraphDef
from fixture_paths import SAMPLES
from parity import build_both, graph_def_diff, tf1_mode


def seed_tutorial(api):
    w1 = api.placeholder("float", name="w1")
    w2 = api.placeholder("float", name="w2")
    b1 = api.Variable(2.0, name="bias")
    api.multiply(api.add(w1, w2), b1, name="op_to_restore")
    return api.train.Saver()


def small_net(api):
    x = api.placeholder(api.float32, [None, 3], name="x")
    with api.variable_scope("layer"):
        w = api.get_variable("w", [3, 2], initializer=api.constant_initializer(0.5))
        b = api.get_variable("b", [2], initializer=api.zeros_initializer())
    y = api.nn.softmax(api.nn.relu(api.matmul(x, w) + b), name="y")
    api.add_to_collection("outputs", y)
    api.add_to_collection("my_ints", 3)
    api.add_to_collection("my_strs", b"s")
    return api.train.Saver(max_to_keep=2)


PROGRAMS = {"seed_tutorial": seed_tutorial, "small_net": small_net}


def _their_meta(tf, graph, saver, **kwargs):
    with tf1_mode(tf), graph.as_default():
        return MetaGraphDef.FromString(saver.export_meta_graph(**kwargs).SerializeToString())


@pytest.mark.parametrize("program", sorted(PROGRAMS))
@pytest.mark.parametrize("kwargs", [{}, {"clear_devices": True}, {"strip_default_attrs": True}],
                         ids=["plain", "clear_devices", "strip_defaults"])
def test_exported_metagraph_equals_tensorflows(tf, program, kwargs):
    (ours, our_saver), (theirs, their_saver) = build_both(tf, PROGRAMS[program])
    with ours.as_default():
        our_meta = our_saver.export_meta_graph(**kwargs)
    their_meta = _their_meta(tf, theirs, their_saver, **kwargs)
    assert not graph_def_diff(our_meta.graph_def, their_meta.graph_def)
    our_meta.meta_info_def.tensorflow_git_version = their_meta.meta_info_def.tensorflow_git_version
    assert our_meta.SerializeToString(deterministic=True) == \
        their_meta.SerializeToString(deterministic=True)


def test_flowsaver_save_imports_and_runs_in_tensorflow(tf, tmp_path):
    g = flowsaver.Graph()
    with g.as_default():
        saver = small_net(flowsaver)
        with flowsaver.Session() as sess:
            sess.run(flowsaver.global_variables_initializer())
            prefix = saver.save(sess, str(tmp_path / "net"), global_step=3)
            x = np.array([[1., -2., 3.], [0.5, 0.5, 0.5]], np.float32)
            ours = sess.run("y:0", {"x:0": x})
    with tf1_mode(tf) as v1:
        g2 = v1.Graph()
        with g2.as_default():
            imported = v1.train.import_meta_graph(prefix + ".meta")
            with v1.Session(graph=g2) as sess:
                imported.restore(sess, v1.train.latest_checkpoint(str(tmp_path)))
                theirs = sess.run("y:0", {"x:0": x})
                assert [v.name for v in v1.global_variables()] == ["layer/w:0", "layer/b:0"]
                assert v1.get_collection("my_ints") == [3]
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)


def test_text_metagraph_from_flowsaver_imports_in_tensorflow(tf, tmp_path):
    g = flowsaver.Graph()
    with g.as_default():
        seed_tutorial(flowsaver)
        flowsaver.train.export_meta_graph(str(tmp_path / "m.pbtxt"), as_text=True)
    with tf1_mode(tf) as v1:
        g2 = v1.Graph()
        with g2.as_default():
            v1.train.import_meta_graph(str(tmp_path / "m.pbtxt"))
            with v1.Session(graph=g2) as sess:
                sess.run(v1.global_variables_initializer())
                assert sess.run("op_to_restore:0", {"w1:0": 4.0, "w2:0": 8.0}) == 24.0


def test_tensorflow_text_metagraph_imports_restores_and_runs(tf):
    directory = SAMPLES / "s2_refvar_momentum"
    x = np.array([[1.0, 2.0]], np.float32)
    results = []
    for api, session in ((flowsaver, flowsaver.Session), (None, None)):
        if api is None:
            with tf1_mode(tf) as v1:
                g = v1.Graph()
                with g.as_default():
                    saver = v1.train.import_meta_graph(str(directory / "model.pbtxt"))
                    with v1.Session(graph=g) as sess:
                        saver.restore(sess, str(directory / "model-7"))
                        results.append(sess.run("loss:0", {"x:0": x}))
            continue
        g = api.Graph()
        with g.as_default():
            saver = api.train.import_meta_graph(str(directory / "model.pbtxt"))
            with session(graph=g) as sess:
                saver.restore(sess, str(directory / "model-7"))
                results.append(sess.run("loss:0", {"x:0": x}))
    np.testing.assert_allclose(results[0], results[1], rtol=1e-6)


def test_import_under_a_scope_builds_tensorflows_graph(tf, tmp_path):
    g = flowsaver.Graph()
    with g.as_default():
        small_net(flowsaver)
        flowsaver.train.export_meta_graph(str(tmp_path / "n.meta"))
    ours = flowsaver.Graph()
    with ours.as_default():
        flowsaver.constant(1, name="imp")
        flowsaver.train.import_meta_graph(str(tmp_path / "n.meta"), import_scope="imp")
    with tf1_mode(tf) as v1:
        theirs = v1.Graph()
        with theirs.as_default():
            v1.constant(1, name="imp")
            v1.train.import_meta_graph(str(tmp_path / "n.meta"), import_scope="imp")
            their_vars = [v.name for v in v1.global_variables()]
    with ours.as_default():
        assert [v.name for v in flowsaver.global_variables()] == their_vars
    their_def = GraphDef.FromString(theirs.as_graph_def().SerializeToString())
    assert not graph_def_diff(ours.as_graph_def(), their_def)


def test_tensorflow_metagraphs_of_every_sample_import(tf):
    """Every .meta TensorFlow wrote for the samples imports into flowsaver."""
    metas = sorted(p for p in SAMPLES.rglob("*.meta"))
    assert metas
    for path in metas:
        g = flowsaver.Graph()
        with g.as_default():
            flowsaver.train.import_meta_graph(str(path))
        assert g.get_operations(), path
