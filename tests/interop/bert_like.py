"""A BERT-style encoder and classifier written the way BERT's TF1 code builds one (our own
code, in its shape), for ``test_bert_encoder_tf.py``.

Under ``bert/``: ``embeddings/`` (word embeddings gathered from a flattened id list,
token types as ``one_hot`` times a table, position embeddings sliced from a larger table,
layer norm, dropout); ``encoder/layer_<i>/``: self-attention with ``tf.layers.dense``
query/key/value on [batch * seq, hidden] matrices, heads made by reshape and transpose,
rank-4 ``matmul(q, k, transpose_b=True)``, an additive mask of -10000 where the input mask
is 0, softmax, dropout, ``matmul`` with the values, the heads merged, ``attention/output``
dense, dropout, residual, layer norm; then ``intermediate`` dense with GELU through
``tf.erf`` and ``output`` dense, dropout, residual, layer norm; ``pooler/`` (tanh dense
on the first token). Layer norm is BERT's ``LayerNorm/{beta,gamma}`` over the last axis
through ``tf.nn.moments`` and ``tf.nn.batch_normalization``. The classifier adds
``output_weights``/``output_bias``, log-softmax and the mean one-hot cross entropy.
"""
from __future__ import annotations

import math

VOCAB, TYPES, MAX_POSITIONS = 23, 2, 16
HIDDEN, HEADS, LAYERS, INTERMEDIATE = 16, 2, 2, 32
BATCH, SEQ, LABELS = 3, 7, 3
INIT_RANGE = 0.02


def _initializer(api):
    return api.truncated_normal_initializer(stddev=INIT_RANGE)


def layer_norm(api, x, name="LayerNorm"):
    with api.variable_scope(name):
        size = x.shape.as_list()[-1]
        beta = api.get_variable("beta", [size], initializer=api.zeros_initializer())
        gamma = api.get_variable("gamma", [size], initializer=api.ones_initializer())
        mean, variance = api.nn.moments(x, [x.shape.ndims - 1], keep_dims=True)
        return api.nn.batch_normalization(x, mean, variance, offset=beta, scale=gamma,
                                          variance_epsilon=1e-12)


def dropout(api, x, prob):
    return x if prob == 0.0 else api.nn.dropout(x, 1.0 - prob)


def gelu(api, x):
    return x * 0.5 * (1.0 + api.erf(x / math.sqrt(2.0)))


def embeddings(api, ids, token_types, drop):
    with api.variable_scope("embeddings"):
        table = api.get_variable("word_embeddings", [VOCAB, HIDDEN],
                                 initializer=_initializer(api))
        flat = api.reshape(ids, [-1])
        out = api.reshape(api.gather(table, flat), [BATCH, SEQ, HIDDEN])
        type_table = api.get_variable("token_type_embeddings", [TYPES, HIDDEN],
                                      initializer=_initializer(api))
        one_hot = api.one_hot(api.reshape(token_types, [-1]), depth=TYPES)
        out += api.reshape(api.matmul(one_hot, type_table), [BATCH, SEQ, HIDDEN])
        positions = api.get_variable("position_embeddings", [MAX_POSITIONS, HIDDEN],
                                     initializer=_initializer(api))
        with api.control_dependencies([api.assert_less_equal(SEQ, MAX_POSITIONS)]):
            used = api.slice(positions, [0, 0], [SEQ, -1])
            out += api.reshape(used, [1, SEQ, HIDDEN])
        return dropout(api, layer_norm(api, out), drop)


def attention(api, x2d, mask, drop):
    """Self-attention over [batch * seq, hidden] rows; returns the same layout."""
    size = HIDDEN // HEADS

    def heads(t):
        t = api.reshape(t, [BATCH, SEQ, HEADS, size])
        return api.transpose(t, [0, 2, 1, 3])
    q = api.layers.dense(x2d, HIDDEN, name="query", kernel_initializer=_initializer(api))
    k = api.layers.dense(x2d, HIDDEN, name="key", kernel_initializer=_initializer(api))
    v = api.layers.dense(x2d, HIDDEN, name="value", kernel_initializer=_initializer(api))
    scores = api.matmul(heads(q), heads(k), transpose_b=True)
    scores = api.multiply(scores, 1.0 / math.sqrt(float(size)))
    adder = (1.0 - api.cast(api.expand_dims(mask, axis=[1]), api.float32)) * -10000.0
    probs = dropout(api, api.nn.softmax(scores + adder), drop)
    context = api.transpose(api.matmul(probs, heads(v)), [0, 2, 1, 3])
    return api.reshape(context, [BATCH * SEQ, HIDDEN])


def encoder(api, x, input_mask, drop):
    mask = api.cast(api.reshape(input_mask, [BATCH, 1, SEQ]), api.float32)
    mask = api.ones(shape=[BATCH, SEQ, 1], dtype=api.float32) * mask
    h = api.reshape(x, [-1, HIDDEN])
    for i in range(LAYERS):
        with api.variable_scope(f"layer_{i}"):
            with api.variable_scope("attention"):
                with api.variable_scope("self"):
                    a = attention(api, h, mask, drop)
                with api.variable_scope("output"):
                    a = api.layers.dense(a, HIDDEN, kernel_initializer=_initializer(api))
                    a = layer_norm(api, dropout(api, a, drop) + h)
            with api.variable_scope("intermediate"):
                mid = api.layers.dense(a, INTERMEDIATE, activation=lambda t: gelu(api, t),
                                       kernel_initializer=_initializer(api))
            with api.variable_scope("output"):
                out = api.layers.dense(mid, HIDDEN, kernel_initializer=_initializer(api))
                h = layer_norm(api, dropout(api, out, drop) + a)
    return api.reshape(h, [BATCH, SEQ, HIDDEN])


def bert(api, ids, token_types, input_mask, drop):
    with api.variable_scope("bert"):
        x = embeddings(api, ids, token_types, drop)
        with api.variable_scope("encoder"):
            seq = encoder(api, x, input_mask, drop)
        with api.variable_scope("pooler"):
            first = api.squeeze(seq[:, 0:1, :], axis=1)
            return api.layers.dense(first, HIDDEN, activation=api.tanh,
                                    kernel_initializer=_initializer(api))


def inputs(api):
    return (api.placeholder(api.int32, [BATCH, SEQ], name="input_ids"),
            api.placeholder(api.int32, [BATCH, SEQ], name="token_type_ids"),
            api.placeholder(api.int32, [BATCH, SEQ], name="input_mask"),
            api.placeholder(api.int32, [BATCH], name="labels"))


def classifier(api, drop):
    """(logits, loss) of the classifier over the encoder's pooled output."""
    ids, types, mask, labels = inputs(api)
    pooled = bert(api, ids, types, mask, drop)
    weights = api.get_variable("output_weights", [LABELS, HIDDEN],
                               initializer=api.truncated_normal_initializer(stddev=0.02))
    bias = api.get_variable("output_bias", [LABELS], initializer=api.zeros_initializer())
    with api.variable_scope("loss"):
        pooled = dropout(api, pooled, drop)
        logits = api.nn.bias_add(api.matmul(pooled, weights, transpose_b=True), bias,
                                 name="logits")
        log_probs = api.nn.log_softmax(logits, axis=-1)
        one_hot = api.one_hot(labels, depth=LABELS, dtype=api.float32)
        per_example = -api.reduce_sum(one_hot * log_probs, axis=-1)
        loss = api.reduce_mean(per_example, name="loss")
    return logits, loss
