"""Metagraphs and checkpoints TensorFlow saved while training import into flowsaver,
restore, give TensorFlow's inference outputs and, running the imported train op, the same
next losses as TensorFlow continuing from the same checkpoint. Both for TF1 ref-variable
graphs and for TensorFlow 2's graph mode (resource variables)."""
import os

import numpy as np
import pytest

import flowsaver
from parity import tf1_mode
from training_models import MODELS, data

STEPS = 3


def _tf_train_and_save(tf, model, directory, ref_variables):
    """Train 3 steps in TensorFlow, save, then continue 3 more steps: TF's own record."""
    v1 = tf.compat.v1
    feeds = data(model)
    evals = data(model, seed=1)

    def build_and_train():
        g = v1.Graph()
        with g.as_default():
            v1.set_random_seed(7)
            logits, loss, train = MODELS[model](v1)
            saver = v1.train.Saver()
            with v1.Session(graph=g) as sess:
                sess.run(v1.global_variables_initializer())
                for _ in range(STEPS):
                    sess.run(train, feeds)
                prefix = saver.save(sess, os.path.join(directory, "model"), global_step=STEPS)
        g2 = v1.Graph()
        with g2.as_default():
            imported = v1.train.import_meta_graph(prefix + ".meta")
            with v1.Session(graph=g2) as sess:
                imported.restore(sess, prefix)
                out = sess.run(logits, {"x:0": evals["x:0"]})
                losses = [sess.run([loss, train], feeds)[0] for _ in range(STEPS)]
        return prefix, out, losses

    if ref_variables:
        with tf1_mode(tf):
            return build_and_train()
    return build_and_train()


def _flowsaver_continue(prefix, model):
    feeds = data(model)
    evals = data(model, seed=1)
    g = flowsaver.Graph()
    with g.as_default():
        saver = flowsaver.train.import_meta_graph(prefix + ".meta")
        train = flowsaver.get_collection("train_op")[0]
        with flowsaver.Session(graph=g) as sess:
            saver.restore(sess, flowsaver.train.latest_checkpoint(os.path.dirname(prefix)))
            out = sess.run("logits:0", {"x:0": evals["x:0"]})
            losses = [sess.run(["loss:0", train], feeds)[0] for _ in range(STEPS)]
    return out, losses


@pytest.mark.parametrize("ref_variables", [True, False], ids=["ref", "resource"])
@pytest.mark.parametrize("model", sorted(MODELS))
def test_imported_training_graph_continues_like_tensorflow(tf, tmp_path, model, ref_variables):
    prefix, their_out, their_losses = _tf_train_and_save(tf, model, str(tmp_path),
                                                         ref_variables)
    our_out, our_losses = _flowsaver_continue(prefix, model)
    np.testing.assert_allclose(our_out, their_out, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(our_losses, their_losses, rtol=1e-4)
