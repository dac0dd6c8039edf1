"""Training parity with real TensorFlow: the same model, initial values and data give the
same losses for 20 steps; checkpoints saved mid-training (slots included) continue in the
other system with the losses the first would have produced; a flowsaver training
metagraph imports into TensorFlow and its train op runs there."""
import os

import numpy as np
import pytest

import flowsaver
from parity import tf1_mode
from training_models import MODELS, data

STEPS = 20


def _train(sess, loss, train, feeds, steps):
    out = []
    for _ in range(steps):
        out.append(sess.run(loss, feeds))
        sess.run(train, feeds)
    return out


def _flowsaver_model(model):
    g = flowsaver.Graph()
    with g.as_default():
        _, loss, train = MODELS[model](flowsaver)
        saver = flowsaver.train.Saver()
        sess = flowsaver.Session(graph=g)
        sess.run(flowsaver.global_variables_initializer())
    return g, sess, loss, train, saver


def _tf_model(v1, model, initial=None):
    g = v1.Graph()
    with g.as_default():
        _, loss, train = MODELS[model](v1)
        saver = v1.train.Saver()
        sess = v1.Session(graph=g)
        sess.run(v1.global_variables_initializer())
        for v in v1.global_variables():
            if initial is not None and v.op.name in initial:
                v.load(initial[v.op.name], sess)
    return g, sess, loss, train, saver


def _values(sess, graph, api):
    with graph.as_default():
        return {v.op.name: sess.run(v) for v in api.global_variables()}


@pytest.mark.parametrize("model", sorted(MODELS))
def test_same_losses_for_twenty_steps(tf, model):
    feeds = data(model)
    g, sess, loss, train, _ = _flowsaver_model(model)
    initial = _values(sess, g, flowsaver)
    ours = _train(sess, loss, train, feeds, STEPS)
    our_final = _values(sess, g, flowsaver)
    with tf1_mode(tf) as v1:
        tg, tsess, tloss, ttrain, _ = _tf_model(v1, model, initial)
        theirs = _train(tsess, tloss, ttrain, feeds, STEPS)
        their_final = _values(tsess, tg, v1)
    np.testing.assert_allclose(ours, theirs, rtol=1e-4)
    assert sorted(our_final) == sorted(their_final)  # the same slot and step variables
    for key in their_final:
        np.testing.assert_allclose(our_final[key], their_final[key], rtol=1e-3, atol=1e-5,
                                   err_msg=key)


@pytest.mark.parametrize("model", sorted(MODELS))
def test_flowsaver_checkpoint_continues_in_tensorflow(tf, tmp_path, model):
    feeds = data(model)
    g, sess, loss, train, saver = _flowsaver_model(model)
    _train(sess, loss, train, feeds, 5)
    prefix = saver.save(sess, str(tmp_path / "model"), global_step=5)
    ours = _train(sess, loss, train, feeds, 5)   # what flowsaver does next
    with tf1_mode(tf) as v1:
        # TensorFlow imports flowsaver's training metagraph and restores its checkpoint.
        tg = v1.Graph()
        with tg.as_default():
            imported = v1.train.import_meta_graph(prefix + ".meta")
            tsess = v1.Session(graph=tg)
            imported.restore(tsess, v1.train.latest_checkpoint(str(tmp_path)))
            train_op = v1.get_collection("train_op")[0]
            theirs = _train(tsess, "loss:0", train_op, feeds, 5)
    np.testing.assert_allclose(ours, theirs, rtol=1e-4)


@pytest.mark.parametrize("model", sorted(MODELS))
def test_tensorflow_checkpoint_continues_in_flowsaver(tf, tmp_path, model):
    feeds = data(model)
    with tf1_mode(tf) as v1:
        tg, tsess, tloss, ttrain, tsaver = _tf_model(v1, model)
        _train(tsess, tloss, ttrain, feeds, 5)
        with tg.as_default():  # outside its graph, TensorFlow 2 would save eagerly
            prefix = tsaver.save(tsess, os.path.join(str(tmp_path), "model"), global_step=5)
        theirs = _train(tsess, tloss, ttrain, feeds, 5)
    g, sess, loss, train, saver = _flowsaver_model(model)  # built by flowsaver, not imported
    saver.restore(sess, prefix)
    ours = _train(sess, loss, train, feeds, 5)
    np.testing.assert_allclose(ours, theirs, rtol=1e-4)
