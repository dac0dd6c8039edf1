"""Training additions against real TensorFlow: ``init_from_checkpoint`` (scope maps, single
variables, partitioned ones) from a checkpoint TensorFlow wrote, the learning-rate decays,
Adadelta, FTRL and centered RMSProp (GraphDefs node for node, 20 steps of losses), and
``tf.train.Scaffold``."""
from __future__ import annotations

import numpy as np
import pytest

import flowsaver
from parity import assert_close, assert_same_graph_def, build_both, run_built, tf1_mode

OLD = {"old/a": np.arange(2, dtype=np.float32), "old/b": np.arange(8, dtype=np.float32)
       .reshape(4, 2), "old/inner/c": np.float32(7.0), "top": np.ones(3, np.float32)}


@pytest.fixture(scope="module")
def checkpoint(tf, tmp_path_factory):
    """A checkpoint TensorFlow wrote: old/a, old/b, old/inner/c, top."""
    path = str(tmp_path_factory.mktemp("ckpt") / "model")
    with tf1_mode(tf) as v1, v1.Graph().as_default():
        for name, value in OLD.items():
            v1.get_variable(name, initializer=value)
        with v1.Session() as sess:
            sess.run(v1.global_variables_initializer())
            v1.train.Saver().save(sess, path)
    return path


def _program(ckpt, mapping):
    def build(api):
        with api.variable_scope("new"):
            api.get_variable("a", [2], initializer=api.constant_initializer(-1.0))
            api.get_variable("b", [4, 2], partitioner=api.fixed_size_partitioner(2))
            with api.variable_scope("inner"):
                api.get_variable("c", [], initializer=api.zeros_initializer())
        single = api.get_variable("single", [3], initializer=api.zeros_initializer())
        kept = api.get_variable("kept", [2], initializer=api.ones_initializer())
        api.train.init_from_checkpoint(ckpt, mapping(api, single))
        api.group(api.global_variables_initializer(), name="init_all")
        return [v for v in api.global_variables()]
    return build


MAPPINGS = [
    ("scope_to_scope", lambda api, single: {"old/": "new/"}),
    ("variables_and_names", lambda api, single: {"top": single, "old/a": "new/a",
                                                 "old/b": "new/b"}),
    ("inner_scope_and_partitioned_list", lambda api, single: {
        "old/inner/": "new/inner/", "old/b": api.get_default_graph().get_collection(
            "variables", "new/b")}),
]


@pytest.mark.parametrize("name,mapping", MAPPINGS, ids=[m[0] for m in MAPPINGS])
def test_init_from_checkpoint_matches_tensorflow(tf, checkpoint, name, mapping):
    for ckpt in (checkpoint, checkpoint.rsplit("/", 1)[0]):  # a prefix, then a directory
        built = build_both(tf, _program(ckpt, mapping))
        assert_same_graph_def(built[0][0], built[1][0])
        ours, theirs = run_built(tf, built, init=True)
        assert_close(ours, theirs)
    values = {v.op.name: value for v, value in zip(built[0][1], ours)}
    if name == "scope_to_scope":
        np.testing.assert_array_equal(values["new/b/part_1"], OLD["old/b"][2:])
        assert values["new/inner/c"] == 7.0 and list(values["kept"]) == [1.0, 1.0]


INIT_ERRORS = [
    ("missing_tensor", lambda api, single: {"nothing": single}),
    ("missing_scope_tensor", lambda api, single: {"old/inner/": "new/"}),
    ("scope_to_name", lambda api, single: {"old/a": "new/"}),
    ("shape", lambda api, single: {"old/a": single}),
]


@pytest.mark.parametrize("name,mapping", INIT_ERRORS, ids=[m[0] for m in INIT_ERRORS])
def test_init_from_checkpoint_errors_match_tensorflow(tf, checkpoint, name, mapping):
    build = _program(checkpoint, mapping)
    with flowsaver.Graph().as_default(), pytest.raises(ValueError):
        build(flowsaver)
    with tf1_mode(tf) as v1, v1.Graph().as_default(), pytest.raises(ValueError):
        build(v1)


def decays(api):
    step = api.train.get_or_create_global_step()
    return [api.train.polynomial_decay(0.1, step, 100, 0.01, power=0.5),
            api.train.polynomial_decay(0.1, step, 10, cycle=True, name="cyc"),
            api.train.cosine_decay(0.1, step, 100, alpha=0.1),
            api.train.inverse_time_decay(0.1, step, 10, 0.5, staircase=True),
            api.train.inverse_time_decay(0.2, step, 3, 0.5),
            api.train.natural_exp_decay(0.1, step, 10, 0.5),
            api.train.exponential_decay(0.1, step, 7, 0.9, staircase=True)]


@pytest.mark.parametrize("step", [0, 5, 37, 150])
def test_decays_match_tensorflow(tf, step):
    built = build_both(tf, decays)
    assert_same_graph_def(built[0][0], built[1][0])
    ours, theirs = run_built(tf, built, {"global_step/read": np.int64(step)}, init=True)
    assert_close(ours, theirs)


def _model(optimizer):
    def build(api):
        x = api.placeholder(api.float32, [8, 3], name="x")
        w = api.Variable(np.linspace(-1, 1, 6).reshape(3, 2).astype(np.float32), name="w")
        b = api.get_variable("b", [2], initializer=api.zeros_initializer())
        loss = api.reduce_mean(api.square(api.matmul(x, w) + b - 1.0), name="loss")
        return loss, optimizer(api).minimize(loss, name="train")
    return build


OPTIMIZERS = [
    ("adadelta", lambda api: api.train.AdadeltaOptimizer(1.0)),
    ("adadelta_args", lambda api: api.train.AdadeltaOptimizer(0.5, rho=0.9, epsilon=1e-6,
                                                             name="ad")),
    ("ftrl", lambda api: api.train.FtrlOptimizer(0.1)),
    ("ftrl_l1_l2_power", lambda api: api.train.FtrlOptimizer(
        0.2, learning_rate_power=-0.7, initial_accumulator_value=0.5,
        l1_regularization_strength=0.01, l2_regularization_strength=0.02)),
    ("ftrl_shrinkage_beta", lambda api: api.train.FtrlOptimizer(
        0.1, l2_shrinkage_regularization_strength=0.05, beta=0.3, accum_name="acc")),
    ("rmsprop_centered", lambda api: api.train.RMSPropOptimizer(0.01, momentum=0.9,
                                                               centered=True)),
]


@pytest.mark.parametrize("name,optimizer", OPTIMIZERS, ids=[o[0] for o in OPTIMIZERS])
def test_optimizer_matches_tensorflow(tf, name, optimizer):
    x = np.random.default_rng(5).standard_normal((8, 3)).astype(np.float32)
    (g1, (l1, t1)), (g2, (l2, t2)) = build_both(tf, _model(optimizer))
    assert_same_graph_def(g1, g2)
    runs = []
    for graph, loss, train in ((g1, l1, t1), (g2, l2, t2)):
        with tf1_mode(tf) as v1, graph.as_default():
            api = flowsaver if graph is g1 else v1
            with (flowsaver.Session(graph=graph) if graph is g1 else v1.Session()) as sess:
                sess.run(api.global_variables_initializer())
                runs.append([sess.run([loss, train], {"x:0": x})[0] for _ in range(20)])
    np.testing.assert_allclose(runs[0], runs[1], rtol=1e-5)
    assert runs[1][-1] < runs[1][0]


def test_scaffold_builds_and_finalizes():
    g = flowsaver.Graph()
    with g.as_default():
        v = flowsaver.Variable(1.0, name="v")
        local = flowsaver.Variable(2.0, name="local",
                                   collections=[flowsaver.GraphKeys.LOCAL_VARIABLES])
        scaffold = flowsaver.train.Scaffold(init_feed_dict={}).finalize()
        assert g.finalized and scaffold.saver is not None
        with flowsaver.Session(graph=g) as sess:
            assert list(sess.run(scaffold.ready_op)) == [b"v", b"local"]
            sess.run([scaffold.init_op, scaffold.local_init_op])
            assert sess.run([v, local]) == [1.0, 2.0]
            assert list(sess.run(scaffold.ready_op)) == []
        copy = flowsaver.train.Scaffold(copy_from_scaffold=scaffold)
        assert copy.init_op is scaffold.init_op and copy.saver is scaffold.saver
