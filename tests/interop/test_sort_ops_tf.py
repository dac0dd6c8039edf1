"""``tf.nn.top_k``, ``tf.sort``, ``tf.argsort``, ``tf.reverse_sequence``, ``tf.split`` and
``tf.reverse``: TensorFlow's GraphDefs, values (ties included) and gradients."""
from __future__ import annotations

import numpy as np
import pytest

import flowsaver
from parity import assert_close, assert_same_graph_def, build_both, tf1_mode

X = np.array([[3.0, 1.0, 3.0, -2.0, 0.5], [0.0, 0.0, -1.0, 7.0, 7.0], [1.0, 2.0, 3.0, 4.0, 5.0]],
             np.float32)
I = np.array([[4, -2, 4, 0], [9, 9, -7, 1]], np.int32)
U = np.array([[4, 200, 4, 0], [9, 9, 255, 1]], np.uint8)


def top_ks(api):
    x = api.placeholder(np.float32, [3, 5], name="x")
    v1, i1 = api.nn.top_k(x, 1)
    v3, i3 = api.nn.top_k(x, k=3)
    vi, ii = api.nn.top_k(api.constant(I), 2)
    v64, i64 = api.nn.top_k(x, api.constant(2, api.int64), index_type=api.int64)
    return [v1, i1, v3, i3, vi, ii, v64, i64]


def sorts(api):
    x = api.placeholder(np.float32, [3, 5], name="x")
    return [api.sort(x), api.sort(x, direction="DESCENDING"), api.sort(x, axis=0),
            api.argsort(x), api.argsort(x, axis=0, direction="DESCENDING"),
            api.sort(api.constant(I)), api.argsort(api.constant(I)),
            api.sort(api.constant(U)), api.argsort(api.constant(U), direction="ASCENDING")]


def sequences(api):
    x = api.placeholder(np.float32, [3, 5], name="x")
    lengths = api.constant([2, 5, 0], api.int64)
    r1 = api.reverse_sequence(x, lengths, seq_axis=1, batch_axis=0)
    r2 = api.reverse_sequence(api.transpose(x), api.constant([3, 1, 5]), seq_dim=0,
                              batch_dim=1)
    a, b = api.split(x, [2, 3], axis=1)
    c, d, e = api.split(x, 3, 0)
    f, g = api.split(x, [-1, 1], 1, name="with_rest")
    return [r1, r2, a, b, c, d, e, f, g, api.reverse(x, [1]), api.reverse(x, [0, 1])]


def gradients(api):
    x = api.placeholder(np.float32, [3, 5], name="x")
    v, _ = api.nn.top_k(x * 2.0, 3)
    s = api.sort(x, axis=0)
    r = api.reverse_sequence(x, [3, 1, 4], 1)
    a, b = api.split(x, [4, 1], 1)
    c, d = api.split(x * 3.0, [3, 2], 1)
    loss = api.reduce_sum(v * v) + api.reduce_sum(s * X) + api.reduce_sum(r * X) + \
        api.reduce_sum(a * b) + api.reduce_sum(api.square(c)) + \
        api.reduce_sum(api.reverse(x, [0]) * X)
    return api.gradients(loss, x)


CASES = [top_ks, sorts, sequences, gradients]


@pytest.mark.parametrize("build", CASES, ids=[c.__name__ for c in CASES])
def test_graph_def_matches_tensorflow(tf, build):
    (ours, _), (theirs, _) = build_both(tf, build)
    assert_same_graph_def(ours, theirs)


@pytest.mark.parametrize("build", CASES, ids=[c.__name__ for c in CASES])
def test_values_match_tensorflow(tf, build):
    (ours, our_fetches), (theirs, their_fetches) = build_both(tf, build)
    with flowsaver.Session(graph=ours) as sess:
        got = sess.run(our_fetches, {"x:0": X})
    with tf1_mode(tf) as v1, v1.Session(graph=theirs) as sess:
        expected = sess.run(their_fetches, {"x:0": X})
    assert_close(got, expected)
