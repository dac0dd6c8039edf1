"""A GPT-2-style decoder written the way its authors wrote TF1 code, in flowsaver and in real
TensorFlow: same GraphDef node for node (Adam's sparse updates of the embeddings
included), same forward outputs, the same 20 training losses (rtol 1e-4) from the same
initial values, and each system's trained checkpoint read by the other with the same
outputs.

The model (our own code, in the shape of GPT-2's): token and position embeddings from
``get_variable`` under ``model/``; per layer ``h<i>/``: layer norm (``ln_1``), a 1x1
"conv1d" projecting to ``q|k|v`` (``attn/c_attn``) cut with ``tf.split``, heads made by
reshape and transpose, rank-4 ``matmul(q, k, transpose_b=True)`` scaled by ``rsqrt``, a
causal mask built from ``tf.range`` comparisons, ``softmax``, ``matmul`` with ``v``,
heads merged, ``attn/c_proj``; layer norm ``ln_2`` and a GELU MLP (``mlp/c_fc``,
``mlp/c_proj``); a final ``ln_f``; logits against the token embedding
(``transpose_b``); sparse softmax cross entropy; Adam.
"""
from __future__ import annotations

import numpy as np
import pytest

import flowsaver
from parity import assert_close, assert_same_graph_def, build_both, run_both, tf1_mode

VOCAB, CTX, EMBED, HEADS, LAYERS, BATCH, SEQ = 11, 8, 8, 2, 2, 2, 6
STEPS = 20


def _initial_values() -> dict:
    """Every variable's starting value, drawn once: both systems start from these."""
    rng = np.random.default_rng(7)
    values = {"model/wte": rng.normal(0, 0.2, (VOCAB, EMBED)),
              "model/wpe": rng.normal(0, 0.05, (CTX, EMBED))}
    for layer in range(LAYERS):
        p = f"model/h{layer}/"
        for name, n_in, n_out in (("attn/c_attn", EMBED, 3 * EMBED),
                                  ("attn/c_proj", EMBED, EMBED),
                                  ("mlp/c_fc", EMBED, 4 * EMBED),
                                  ("mlp/c_proj", 4 * EMBED, EMBED)):
            values[p + name + "/w"] = rng.normal(0, 0.1, (1, n_in, n_out))
            values[p + name + "/b"] = rng.normal(0, 0.01, (n_out,))
    return {k: v.astype(np.float32) for k, v in values.items()}


INITIAL = _initial_values()


def _known(api, name):
    return api.constant_initializer(INITIAL[api.get_variable_scope().name + "/" + name])


def shape_list(api, x):
    """Static dims where known, dynamic ones (``tf.shape(x)[i]``) elsewhere."""
    static = x.shape.as_list()
    dynamic = api.shape(x)
    return [dynamic[i] if s is None else s for i, s in enumerate(static)]


def gelu(api, x):
    return 0.5 * x * (1 + api.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * api.pow(x, 3))))


def layer_norm(api, x, scope, epsilon=1e-5):
    with api.variable_scope(scope):
        n_state = x.shape.as_list()[-1]
        g = api.get_variable("g", [n_state], initializer=api.constant_initializer(1))
        b = api.get_variable("b", [n_state], initializer=api.constant_initializer(0))
        u = api.reduce_mean(x, axis=-1, keepdims=True)
        s = api.reduce_mean(api.square(x - u), axis=-1, keepdims=True)
        return (x - u) * api.rsqrt(s + epsilon) * g + b


def conv1d(api, x, scope, nf):
    with api.variable_scope(scope):
        *start, nx = shape_list(api, x)
        w = api.get_variable("w", [1, nx, nf], initializer=_known(api, "w"))
        b = api.get_variable("b", [nf], initializer=_known(api, "b"))
        flat = api.matmul(api.reshape(x, [-1, nx]), api.reshape(w, [-1, nf])) + b
        return api.reshape(flat, start + [nf])


def causal_mask(api, nd, ns, dtype):
    """1 where query ``i`` may see key ``j`` (``j <= i`` counted from the end)."""
    i = api.range(nd)[:, None]
    j = api.range(ns)
    return api.cast(i >= j - ns + nd, dtype)


def split_heads(api, x):
    *start, m = shape_list(api, x)
    x = api.reshape(x, start + [HEADS, m // HEADS])
    return api.transpose(x, [0, 2, 1, 3])


def merge_heads(api, x):
    x = api.transpose(x, [0, 2, 1, 3])
    *start, a, b = shape_list(api, x)
    return api.reshape(x, start + [a * b])


def attention(api, x, scope):
    with api.variable_scope(scope):
        c = conv1d(api, x, "c_attn", 3 * EMBED)
        q, k, v = [split_heads(api, t) for t in api.split(c, 3, axis=2)]
        present = api.stack([k, v], axis=1)
        w = api.matmul(q, k, transpose_b=True)
        w = w * api.rsqrt(api.cast(v.shape.as_list()[-1], w.dtype))
        _, _, nd, ns = shape_list(api, w)
        b = api.reshape(causal_mask(api, nd, ns, w.dtype), [1, 1, nd, ns])
        w = w * b - api.cast(1e10, w.dtype) * (1 - b)
        w = api.nn.softmax(w)
        a = merge_heads(api, api.matmul(w, v))
        return conv1d(api, a, "c_proj", EMBED), present


def block(api, x, scope):
    with api.variable_scope(scope):
        a, present = attention(api, layer_norm(api, x, "ln_1"), "attn")
        x = x + a
        with api.variable_scope("mlp"):
            h = gelu(api, conv1d(api, layer_norm(api, x, "ln_2"), "c_fc", 4 * EMBED))
            x = x + conv1d(api, h, "c_proj", EMBED)
        return x, present


def model(api, train=True, batch_dim=BATCH):
    """The decoder, its loss and Adam; ``batch_dim=None`` leaves the batch size to the feed
    (then shapes are computed at run time and the cross entropy asserts them)."""
    tokens = api.placeholder(api.int32, [batch_dim, SEQ], name="tokens")
    targets = api.placeholder(api.int32, [batch_dim, SEQ], name="targets")
    with api.variable_scope("model"):
        wte = api.get_variable("wte", [VOCAB, EMBED], initializer=_known(api, "wte"))
        wpe = api.get_variable("wpe", [CTX, EMBED], initializer=_known(api, "wpe"))
        batch, steps = shape_list(api, tokens)
        positions = api.tile(api.range(steps)[None, :], [batch, 1])
        h = api.gather(wte, tokens) + api.gather(wpe, positions)
        presents = []
        for layer in range(LAYERS):
            h, present = block(api, h, f"h{layer}")
            presents.append(present)
        present = api.stack(presents, axis=1, name="present")
        h = layer_norm(api, h, "ln_f")
        flat = api.reshape(h, [batch * steps, EMBED])
        logits = api.reshape(api.matmul(flat, wte, transpose_b=True), [batch, steps, VOCAB],
                             name="logits")
    loss = api.reduce_mean(api.nn.sparse_softmax_cross_entropy_with_logits(
        labels=targets, logits=logits), name="loss")
    if not train:
        return logits, present, loss
    train = api.train.AdamOptimizer(0.01).minimize(loss, name="train")
    return logits, present, loss, train


def model_and_gradients(api, batch_dim=BATCH):
    """The forward graph and ``tf.gradients`` of the loss for every variable (IndexedSlices
    of the embeddings made dense)."""
    logits, present, loss = model(api, train=False, batch_dim=batch_dim)
    variables = api.trainable_variables()
    grads = api.gradients(loss, variables)
    return [logits, present, loss] + [api.convert_to_tensor(g) for g in grads]


def _data():
    rng = np.random.default_rng(3)
    tokens = rng.integers(0, VOCAB, (BATCH, SEQ + 1)).astype(np.int32)
    return {"tokens:0": tokens[:, :-1], "targets:0": tokens[:, 1:]}


def _train(session, graph, fetches, feeds, variables, saver, save_to):
    logits, present, loss, train = fetches
    session.run(variables)
    forward = session.run([logits, present, loss], feeds)
    losses = []
    for _ in range(STEPS):
        losses.append(session.run([loss, train], feeds)[0])
    names = sorted(v.op.name for v in graph.get_collection("trainable_variables"))
    saver.save(session, save_to)
    return forward, losses, names


def _restored_logits(api, checkpoint):
    """The forward outputs of a fresh inference graph restored from ``checkpoint``."""
    graph = api.Graph()
    with graph.as_default():
        outputs = model(api, train=False)
        saver = api.train.Saver()
        with api.Session(graph=graph) as sess:
            saver.restore(sess, checkpoint)
            return sess.run(list(outputs), _data())


@pytest.mark.parametrize("batch_dim", [BATCH, None], ids=["static-batch", "unknown-batch"])
def test_graph_def_and_gradients_match_tensorflow(tf, batch_dim):
    """Forward and backward graphs node for node (the Adam updates: the next test)."""
    (ours, _), (theirs, _) = build_both(tf, lambda api: model_and_gradients(api, batch_dim))
    assert_same_graph_def(ours, theirs)


def test_forward_outputs_with_unknown_batch_match_tensorflow(tf):
    """Shapes computed at run time (shape_list's tf.shape parts, the cross entropy's shape
    assertion) give TensorFlow's values."""
    got, want = run_both(tf, lambda api: model(api, train=False, batch_dim=None),
                         {k[:-2]: v for k, v in _data().items()}, init=True)
    assert_close(got, want, rtol=1e-4, atol=1e-5)


def test_forward_outputs_and_twenty_losses_match_tensorflow(tf, tmp_path):
    (ours, our_fetches), (theirs, their_fetches) = build_both(tf, model)
    assert_same_graph_def(ours, theirs)  # Adam included: sparse updates of wte and wpe
    feeds = _data()
    our_ckpt, their_ckpt = str(tmp_path / "ours" / "model"), str(tmp_path / "tf" / "model")
    with ours.as_default(), flowsaver.Session(graph=ours) as sess:
        got = _train(sess, ours, our_fetches, feeds, flowsaver.global_variables_initializer(),
                     flowsaver.train.Saver(), our_ckpt)
    with tf1_mode(tf) as v1, theirs.as_default(), v1.Session(graph=theirs) as sess:
        want = _train(sess, theirs, their_fetches, feeds, v1.global_variables_initializer(),
                      v1.train.Saver(), their_ckpt)
    assert got[2] == want[2]  # variable names, e.g. model/h0/attn/c_attn/w
    assert "model/h1/mlp/c_proj/w" in got[2] and "model/h0/ln_1/g" in got[2]
    assert_close(got[0][:2], want[0][:2], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-4)
    assert got[1][-1] < got[1][0] * 0.7  # it learns
    # the trained checkpoints, read across: the same outputs in both systems
    with tf1_mode(tf) as v1:
        ours_in_tf, theirs_in_tf = _restored_logits(v1, our_ckpt), _restored_logits(v1,
                                                                                  their_ckpt)
    ours_in_us, theirs_in_us = (_restored_logits(flowsaver, our_ckpt),
                                _restored_logits(flowsaver, their_ckpt))
    assert_close(ours_in_tf, ours_in_us, rtol=1e-5, atol=1e-5)
    assert_close(theirs_in_us, theirs_in_tf, rtol=1e-5, atol=1e-5)
    assert_close(ours_in_us, theirs_in_tf, rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("dtype", [np.float32])
def test_split_heads_round_trip(dtype):
    """merge_heads undoes split_heads (a check of the reshapes, flowsaver alone)."""
    g = flowsaver.Graph()
    with g.as_default():
        x = flowsaver.placeholder(dtype, [BATCH, SEQ, EMBED])
        back = merge_heads(flowsaver, split_heads(flowsaver, x))
        value = np.arange(BATCH * SEQ * EMBED, dtype=dtype).reshape(BATCH, SEQ, EMBED)
        with flowsaver.Session(graph=g) as sess:
            np.testing.assert_array_equal(sess.run(back, {x: value}), value)
