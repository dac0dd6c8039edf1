"""Optimizers build TensorFlow's training graph node for node (slots, update ops, global
step, learning-rate decay) and train to the same losses, step by step."""
import numpy as np
import pytest

import flowsaver
from parity import assert_same_graph_def, build_both, tf1_mode
from training_models import MODELS

OPTIMIZERS = {
    "sgd": lambda api: api.train.GradientDescentOptimizer(0.1),
    "momentum": lambda api: api.train.MomentumOptimizer(0.05, 0.9),
    "nesterov": lambda api: api.train.MomentumOptimizer(0.05, 0.9, use_nesterov=True),
    "adam": lambda api: api.train.AdamOptimizer(0.01),
    "adagrad": lambda api: api.train.AdagradOptimizer(0.1),
    "rmsprop": lambda api: api.train.RMSPropOptimizer(0.01, momentum=0.9),
    "decayed_sgd": lambda api: api.train.GradientDescentOptimizer(
        api.train.exponential_decay(0.1, api.train.get_or_create_global_step(), 3, 0.5,
                                    staircase=True)),
}
W0 = np.array([[0.5, -0.2], [0.1, 0.3], [-0.4, 0.2]], np.float32)
X = np.array([[1.0, 2.0, -1.0], [0.5, -0.5, 1.5], [2.0, 0.0, 0.5]], np.float32)
Y = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], np.float32)


def regression(make_optimizer):
    def build(api):
        x = api.placeholder(api.float32, [None, 3], name="x")
        y = api.placeholder(api.float32, [None, 2], name="y")
        w = api.Variable(W0, name="w")
        b = api.get_variable("b", [2], initializer=api.zeros_initializer())
        pred = api.nn.sigmoid(api.matmul(x, w) + b)
        loss = api.reduce_mean(api.square(pred - y), name="loss")
        step = api.train.get_or_create_global_step()
        train = make_optimizer(api).minimize(loss, global_step=step, name="train")
        return loss, train
    return build


def _losses(sess, loss, train, feeds, steps):
    out = []
    for _ in range(steps):
        out.append(sess.run(loss, feeds))
        sess.run(train, feeds)
    return out


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_graph_and_losses_match_tensorflow(tf, name):
    build = regression(OPTIMIZERS[name])
    (ours, (loss, train)), (theirs, (tloss, ttrain)) = build_both(tf, build)
    assert_same_graph_def(ours, theirs)
    feeds = {"x:0": X, "y:0": Y}
    with ours.as_default(), flowsaver.Session(graph=ours) as sess:
        sess.run(flowsaver.global_variables_initializer())
        our_losses = _losses(sess, loss, train, feeds, 20)
        our_vars = {v.op.name: sess.run(v) for v in flowsaver.global_variables()}
    with tf1_mode(tf) as v1, theirs.as_default(), v1.Session(graph=theirs) as sess:
        sess.run(v1.global_variables_initializer())
        their_losses = _losses(sess, tloss, ttrain, feeds, 20)
        their_vars = {v.op.name: sess.run(v) for v in v1.global_variables()}
    np.testing.assert_allclose(our_losses, their_losses, rtol=1e-4)
    assert sorted(our_vars) == sorted(their_vars)  # slots named alike: w/Adam, beta1_power...
    for key in their_vars:
        np.testing.assert_allclose(our_vars[key], their_vars[key], rtol=1e-4, atol=1e-6,
                                   err_msg=key)


@pytest.mark.parametrize("model", sorted(MODELS))
def test_training_models_build_tensorflows_graph(tf, model):
    (ours, _), (theirs, _) = build_both(tf, MODELS[model])
    assert_same_graph_def(ours, theirs)
