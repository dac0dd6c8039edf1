"""A GPT-2-style sampler: a ``tf.while_loop`` that runs a small transformer over the tokens
so far (keys and values of earlier steps carried as a growing ``past``), keeps the top-k
logits (``tf.nn.top_k`` inside a ``tf.cond``, as GPT-2's ``top_k_logits``) and appends the
greedy choice (k = 1, so both systems must agree token for token)."""
from __future__ import annotations

import numpy as np

import flowsaver
from parity import assert_same_graph_def, build_both, tf1_mode

VOCAB, EMBED, CONTEXT, LENGTH = 13, 8, 24, 10
RNG = np.random.default_rng(7)
WEIGHTS = {"wte": RNG.standard_normal((VOCAB, EMBED)).astype(np.float32),
           "wpe": RNG.standard_normal((CONTEXT, EMBED)).astype(np.float32) * 0.1,
           "attn": RNG.standard_normal((EMBED, 3 * EMBED)).astype(np.float32) * 0.4,
           "mlp": RNG.standard_normal((EMBED, EMBED)).astype(np.float32) * 0.4}
START = np.array([[3, 1, 4], [1, 5, 9]], np.int32)


def _norm(api, x):
    mean = api.reduce_mean(x, axis=-1, keepdims=True)
    var = api.reduce_mean(api.square(x - mean), axis=-1, keepdims=True)
    return (x - mean) * api.rsqrt(var + 1e-5)


def _gelu(api, x):
    return 0.5 * x * (1 + api.tanh(float(np.sqrt(2 / np.pi)) * (x + 0.044715 * api.pow(x, 3))))


def _model(api, tokens, past):
    """Logits for each new token and this step's keys and values ``[batch, 2, t, embed]``."""
    w = {k: api.constant(v, name=k) for k, v in WEIGHTS.items()}
    past_len = api.shape(past)[2]
    steps = api.shape(tokens)[1]
    h = api.gather(w["wte"], tokens) + api.gather(w["wpe"], api.range(past_len,
                                                                       past_len + steps))
    qkv = api.reshape(api.matmul(api.reshape(_norm(api, h), [-1, EMBED]), w["attn"]),
                      [api.shape(h)[0], steps, 3 * EMBED])
    q, k, v = api.split(qkv, 3, axis=2)
    present = api.stack([k, v], axis=1)
    keys = api.concat([past[:, 0], k], axis=1)
    values = api.concat([past[:, 1], v], axis=1)
    scores = api.matmul(q, keys, transpose_b=True) / float(np.sqrt(EMBED))
    total = api.shape(keys)[1]
    i = api.range(steps)[:, None] + past_len
    j = api.range(total)[None, :]
    mask = api.cast(i >= j, api.float32)
    scores = scores * mask - 1e10 * (1 - mask)
    h = h + api.matmul(api.nn.softmax(scores), values)
    m = api.reshape(_gelu(api, api.matmul(api.reshape(_norm(api, h), [-1, EMBED]), w["mlp"])),
                    api.shape(h))
    h = _norm(api, h + m)
    logits = api.matmul(api.reshape(h, [-1, EMBED]), w["wte"], transpose_b=True)
    return api.reshape(logits, [api.shape(h)[0], steps, VOCAB]), present


def _top_k_logits(api, logits, k):
    def top_k():
        values, _ = api.nn.top_k(logits, k=k)
        min_values = values[:, -1, api.newaxis]
        return api.where(logits < min_values, api.ones_like(logits) * -1e10, logits)
    return api.cond(api.equal(k, 0), lambda: logits, top_k)


def sampler(api):
    context = api.placeholder(api.int32, [2, None], name="context")
    k = api.placeholder_with_default(1, [], name="k")
    empty = api.zeros([2, 2, 0, EMBED])
    _, past = _model(api, context[:, :-1], empty)

    def body(past, prev, output):
        logits, present = _model(api, prev[:, api.newaxis], past)
        logits = _top_k_logits(api, logits[:, -1, :], k)
        chosen = api.argmax(logits, axis=-1, output_type=api.int32)
        return [api.concat([past, present], axis=2), chosen,
                api.concat([output, chosen[:, api.newaxis]], axis=1)]
    _, _, tokens = api.while_loop(
        lambda *args: True, body,
        [past, context[:, -1], context], maximum_iterations=LENGTH,
        shape_invariants=[api.TensorShape([2, 2, None, EMBED]), api.TensorShape([2]),
                          api.TensorShape([2, None])], back_prop=False)
    return tokens


def test_sampler_graph_def_matches_tensorflow(tf):
    (ours, _), (theirs, _) = build_both(tf, sampler)
    assert_same_graph_def(ours, theirs)


def test_greedy_sampler_gives_tensorflows_tokens(tf):
    (ours, our_tokens), (theirs, their_tokens) = build_both(tf, sampler)
    with flowsaver.Session(graph=ours) as sess:
        got = sess.run(our_tokens, {"context:0": START})
    with tf1_mode(tf) as v1, v1.Session(graph=theirs) as sess:
        expected = sess.run(their_tokens, {"context:0": START})
    assert got.shape == (2, START.shape[1] + LENGTH)
    np.testing.assert_array_equal(got, expected)
    assert len(set(got[0, 3:].tolist())) > 1  # the tokens are not all one value
