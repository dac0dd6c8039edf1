"""``tf.nn.rnn_cell`` cells through ``dynamic_rnn`` (with ``sequence_length``), stacked,
wrapped, bidirectional and static RNNs: TensorFlow's GraphDefs node for node, TensorFlow's
variable names, and TensorFlow's values and gradients from the same weights.

TensorFlow 2.21 with Keras 3 keeps the TF1 cells in its legacy Keras package; the programs
take the cell classes from there for TensorFlow and from ``flowsaver.nn.rnn_cell`` for us.
"""
from __future__ import annotations

import numpy as np
import pytest

import flowsaver
from parity import assert_close, assert_same_graph_def, build_both, tf1_mode

RNG = np.random.default_rng(12)
X = RNG.standard_normal((3, 5, 4)).astype(np.float32)  # batch 3, time 5, depth 4
LENGTHS = np.array([5, 2, 3], np.int32)


def cells(api):
    if api is flowsaver:
        return flowsaver.nn.rnn_cell
    from tensorflow.python.keras.layers.legacy_rnn import rnn_cell_impl
    return rnn_cell_impl


def _inputs(api):
    return (api.placeholder(np.float32, [3, 5, 4], name="x"),
            api.placeholder(np.int32, [3], name="lengths"))


def _dynamic(make_cell):
    def build(api):
        x, lengths = _inputs(api)
        out, state = api.nn.dynamic_rnn(make_cell(cells(api)), x, sequence_length=lengths,
                                        dtype=np.float32)
        return [out, state, api.gradients(api.reduce_sum(out * out), x)]
    build.__name__ = make_cell.__name__
    return build


def basic_rnn(c):
    return c.BasicRNNCell(6)


def basic_rnn_relu(c):
    return c.BasicRNNCell(6, activation="relu")


def gru(c):
    return c.GRUCell(6)


def basic_lstm(c):
    return c.BasicLSTMCell(6, forget_bias=0.5)


def basic_lstm_concat_state(c):
    return c.BasicLSTMCell(6, state_is_tuple=False)


def lstm(c):
    return c.LSTMCell(6)


def lstm_peepholes_clip_projection(c):
    return c.LSTMCell(6, use_peepholes=True, cell_clip=0.5, num_proj=3, proj_clip=0.4)


def multi(c):
    return c.MultiRNNCell([c.BasicLSTMCell(6), c.GRUCell(5), c.BasicRNNCell(4)])


def wrapped(c):
    return c.MultiRNNCell([c.ResidualWrapper(c.BasicRNNCell(4)),
                           c.DropoutWrapper(c.LSTMCell(4), input_keep_prob=1.0)])


def no_lengths(api):
    x, _ = _inputs(api)
    out, state = api.nn.dynamic_rnn(cells(api).LSTMCell(6), x, dtype=np.float32,
                                    scope="plain")
    return [out, state]


def time_major_with_initial_state(api):
    x, lengths = _inputs(api)
    c = cells(api)
    cell = c.BasicLSTMCell(4)
    start = c.LSTMStateTuple(api.ones([5, 4]) * 0.5, api.zeros([5, 4]))
    out, state = api.nn.dynamic_rnn(cell, x, sequence_length=[2, 3, 1, 3, 2],
                                    initial_state=start, time_major=True)
    return [out, state]


def bidirectional(api):
    x, lengths = _inputs(api)
    c = cells(api)
    (fw, bw), (sfw, sbw) = api.nn.bidirectional_dynamic_rnn(
        c.GRUCell(4), c.BasicLSTMCell(3), x, sequence_length=lengths, dtype=np.float32)
    (fw2, bw2), _ = api.nn.bidirectional_dynamic_rnn(
        c.BasicRNNCell(3), c.BasicRNNCell(3), x, dtype=np.float32, scope="plain_bi")
    loss = api.reduce_sum(fw * fw) + api.reduce_sum(bw) + api.reduce_sum(bw2 * fw2)
    return [fw, bw, sfw, sbw, fw2, bw2, api.gradients(loss, x)]


def static(api):
    x, lengths = _inputs(api)
    c = cells(api)
    steps = api.unstack(x, axis=1)
    outs, state = api.nn.static_rnn(c.BasicLSTMCell(4), steps, dtype=np.float32)
    outs2, state2 = api.nn.static_rnn(c.GRUCell(3), steps, sequence_length=lengths,
                                      dtype=np.float32, scope="with_lengths")
    loss = api.add_n([api.reduce_sum(o * o) for o in outs + outs2])
    return [outs, state, outs2, state2, api.gradients(loss, x)]


def static_bidirectional(api):
    x, lengths = _inputs(api)
    c = cells(api)
    steps = api.unstack(x, axis=1)
    outs, sfw, sbw = api.nn.static_bidirectional_rnn(c.BasicRNNCell(3), c.LSTMCell(2), steps,
                                                     sequence_length=lengths,
                                                     dtype=np.float32)
    return [outs, sfw, sbw]


CASES = [_dynamic(f) for f in (basic_rnn, basic_rnn_relu, gru, basic_lstm,
                               basic_lstm_concat_state, lstm, lstm_peepholes_clip_projection,
                               multi, wrapped)] + \
    [no_lengths, time_major_with_initial_state, bidirectional, static, static_bidirectional]


@pytest.mark.parametrize("build", CASES, ids=[c.__name__ for c in CASES])
def test_graph_def_matches_tensorflow(tf, build):
    (ours, _), (theirs, _) = build_both(tf, build)
    assert_same_graph_def(ours, theirs)


def _weights(variables) -> dict:
    rng = np.random.default_rng(3)
    return {v.name: (rng.uniform(-0.6, 0.6, v.shape.as_list())).astype(np.float32)
            for v in sorted(variables, key=lambda v: v.name)}


def _run(session_cls, graph, fetches, variables_fn, init_fn):
    with graph.as_default(), session_cls(graph=graph) as sess:
        sess.run(init_fn())
        variables = variables_fn()
        for v in variables:
            v.load(_weights(variables)[v.name], sess)
        return sess.run(fetches, {"x:0": X, "lengths:0": LENGTHS}), \
            sorted(v.name for v in variables)


# every case with compiled plans; a few again in the reference interpreter (slower)
VALUE_CASES = [(c, False) for c in CASES] + \
    [(c, True) for c in CASES if c.__name__ in ("basic_lstm", "multi", "bidirectional")]


@pytest.mark.parametrize("build,interpreter", VALUE_CASES,
                         ids=[c.__name__ + ("-interpreter" if i else "") for c, i in VALUE_CASES])
def test_values_match_tensorflow(tf, build, interpreter, monkeypatch):
    if interpreter:
        monkeypatch.setenv("FLOWSAVER_EXECUTOR", "interpreter")
    (ours, our_fetches), (theirs, their_fetches) = build_both(tf, build)
    got, our_names = _run(flowsaver.Session, ours, our_fetches, flowsaver.global_variables,
                          flowsaver.global_variables_initializer)
    with tf1_mode(tf) as v1:
        expected, their_names = _run(v1.Session, theirs, their_fetches, v1.global_variables,
                                     v1.global_variables_initializer)
    assert our_names == their_names
    assert_close(got, expected, rtol=1e-5, atol=1e-5)
