"""A BERT-style encoder fine-tuned the way BERT's run_classifier drives it, in flowsaver and
in real TensorFlow (the model: ``bert_like.py``).

TensorFlow writes a "pre-trained" checkpoint of the encoder. Both systems then build the
classifier under ``tf.set_random_seed``, map every encoder variable to that checkpoint with
``tf.train.init_from_checkpoint`` (the assignment map built from ``tf.train.list_variables``
as BERT builds it), draw the new classifier weights and every dropout mask from their own
Philox streams, and train 20 Adam steps. Checked: the GraphDef node for node (gradients
and Adam included), the initial values (bit for bit), the forward logits and the 20 losses
(rtol 1e-4), and each system's trained checkpoint read by the other with the same
inference logits.
"""
from __future__ import annotations

import collections

import numpy as np
import pytest

import bert_like as model
import flowsaver
from parity import assert_close, assert_same_graph_def, build_both, tf1_mode

STEPS = 20
DROPOUT = 0.1


def _batch():
    rng = np.random.default_rng(12)
    mask = np.ones((model.BATCH, model.SEQ), np.int32)
    mask[0, 5:] = 0
    mask[2, 3:] = 0
    return {"input_ids:0": rng.integers(0, model.VOCAB, (model.BATCH, model.SEQ)).astype(
                np.int32) * mask,
            "token_type_ids:0": (np.arange(model.SEQ) >= 3).astype(np.int32)[None].repeat(
                model.BATCH, 0),
            "input_mask:0": mask,
            "labels:0": np.array([0, 2, 1], np.int32)}


@pytest.fixture(scope="module")
def pretrained(tf, tmp_path_factory):
    """The encoder's checkpoint, written by TensorFlow from its own seeded initializers."""
    path = str(tmp_path_factory.mktemp("bert") / "bert_model.ckpt")
    with tf1_mode(tf) as v1, v1.Graph().as_default():
        v1.set_random_seed(2019)
        ids, types, mask, _ = model.inputs(v1)
        model.bert(v1, ids, types, mask, 0.0)
        with v1.Session() as sess:
            sess.run(v1.global_variables_initializer())
            v1.train.Saver().save(sess, path)
    return path


def assignment_map(api, checkpoint):
    """BERT's rule: every trainable variable whose name is in the checkpoint, to itself."""
    stored = {name for name, _ in api.train.list_variables(checkpoint)}
    names = [v.op.name for v in api.trainable_variables()]
    return collections.OrderedDict((n, n) for n in names if n in stored)


def fine_tuning(checkpoint):
    def build(api):
        api.set_random_seed(7)
        logits, loss = model.classifier(api, DROPOUT)
        api.train.init_from_checkpoint(checkpoint, assignment_map(api, checkpoint))
        train = api.train.AdamOptimizer(5e-3).minimize(loss, name="train")
        api.group(api.global_variables_initializer(), name="init_all")
        return {"logits": logits, "loss": loss, "train": train}
    return build


def _train(api, graph, fetches, save_to):
    with graph.as_default(), api.Session(graph=graph) as sess:
        sess.run(graph.get_operation_by_name("init_all"))
        names = sorted(v.op.name for v in api.global_variables())
        initial = dict(zip(names, sess.run([n + ":0" for n in names])))
        logits = sess.run(fetches["logits"], _batch())
        losses = [sess.run([fetches["loss"], fetches["train"]], _batch())[0]
                  for _ in range(STEPS)]
        api.train.Saver().save(sess, save_to)
    return initial, logits, losses


def _inference(api, checkpoint):
    """Logits without dropout from the variables in ``checkpoint``."""
    graph = api.Graph()
    with graph.as_default():
        logits, _ = model.classifier(api, 0.0)
        saver = api.train.Saver()
        with api.Session(graph=graph) as sess:
            saver.restore(sess, checkpoint)
            return sess.run(logits, _batch())


def test_bert_encoder_fine_tunes_as_in_tensorflow(tf, pretrained, tmp_path):
    (ours, our_fetches), (theirs, their_fetches) = build_both(tf, fine_tuning(pretrained))
    assert_same_graph_def(ours, theirs)
    our_ckpt, their_ckpt = str(tmp_path / "ours" / "model"), str(tmp_path / "tf" / "model")
    our_run = _train(flowsaver, ours, our_fetches, our_ckpt)
    with tf1_mode(tf) as v1:
        their_run = _train(v1, theirs, their_fetches, their_ckpt)
    reader = flowsaver.train.load_checkpoint(pretrained)
    stored = reader.get_variable_to_shape_map()
    assert sorted(our_run[0]) == sorted(their_run[0])
    for name, value in their_run[0].items():  # the same starting point, bit for bit
        assert our_run[0][name].tobytes() == value.tobytes(), name
        if name in stored:  # the encoder, from the pre-trained checkpoint
            np.testing.assert_array_equal(value, reader.get_tensor(name))
    assert len([n for n in our_run[0] if n in stored]) == len(stored)
    assert our_run[0]["output_weights"].any()  # drawn, not zeros
    assert_close(our_run[1], their_run[1], rtol=1e-4, atol=1e-5, what="logits")
    np.testing.assert_allclose(our_run[2], their_run[2], rtol=1e-4, err_msg="losses")
    assert their_run[2][-1] < their_run[2][0] * 0.8  # it does learn
    # trained checkpoints, read across
    ours_by_us = _inference(flowsaver, our_ckpt)
    with tf1_mode(tf) as v1:
        ours_by_tf = _inference(v1, our_ckpt)
        theirs_by_tf = _inference(v1, their_ckpt)
    theirs_by_us = _inference(flowsaver, their_ckpt)
    np.testing.assert_allclose(ours_by_tf, ours_by_us, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(theirs_by_us, theirs_by_tf, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours_by_us, theirs_by_tf, rtol=1e-3, atol=1e-4)


def test_list_variables_and_assignment_map_match_tensorflow(tf, pretrained):
    ours = flowsaver.train.list_variables(pretrained)
    with tf1_mode(tf) as v1:
        theirs = v1.train.list_variables(pretrained)
    assert [(n, list(s)) for n, s in ours] == [(n, list(s)) for n, s in theirs]
    (g1, _), (g2, _) = build_both(tf, lambda api: model.classifier(api, 0.0))
    with g1.as_default():
        our_map = assignment_map(flowsaver, pretrained)
    with tf1_mode(tf) as v1, g2.as_default():
        their_map = assignment_map(v1, pretrained)
    assert our_map == their_map and len(our_map) == len(theirs)
