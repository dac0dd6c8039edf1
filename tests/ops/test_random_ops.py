"""Random ops without TensorFlow: seed rules, reproducibility, ranges and distributions."""
from __future__ import annotations

import numpy as np
import pytest

import flowsaver as tf
from flowsaver import errors
from flowsaver.ops.random.api import DEFAULT_GRAPH_SEED, get_seed, random_shuffle

MAXINT32 = 2**31 - 1


def values(build, runs=1, graph_seed=None):
    """Fetch ``build()``'s tensors ``runs`` times in one new session of a new graph."""
    g = tf.Graph()
    with g.as_default():
        if graph_seed is not None:
            tf.set_random_seed(graph_seed)
        fetches = build()
        with tf.Session() as sess:
            return [sess.run(fetches) for _ in range(runs)]


def seeds_of(g):
    return [(op.get_attr("seed"), op.get_attr("seed2")) for op in g.get_operations()
            if op.type.startswith(("Random", "Truncated"))]


# ---- seed rules ----------------------------------------------------------------------------
@pytest.mark.parametrize("graph_seed,op_seeds,expected", [
    (None, [None, None], [(0, 0), (0, 0)]),
    (None, [5, 6], [(DEFAULT_GRAPH_SEED, 5), (DEFAULT_GRAPH_SEED, 6)]),
    (7, [None, None, 3, None], [(7, 0), (7, 1), (7, 3), (7, 2)]),
    (0, [0, None, None], [(0, MAXINT32), (0, MAXINT32), (0, 1)]),
    (2**40, [-5], [(512, MAXINT32 - 5)]),
])
def test_seed_attrs_follow_tf1_rules(graph_seed, op_seeds, expected):
    g = tf.Graph()
    with g.as_default():
        if graph_seed is not None:
            tf.set_random_seed(graph_seed)
        tf.placeholder(tf.float32, name="unrelated")  # other ops do not move the count
        for seed in op_seeds:
            tf.random_normal([2], seed=seed)
    assert seeds_of(g) == expected


def test_seed_count_is_per_graph_and_survives_reseeding():
    first, second = tf.Graph(), tf.Graph()
    with first.as_default():
        tf.set_random_seed(1)
        assert get_seed(None) == (1, 0)
        tf.set_random_seed(2)
        assert get_seed(None) == (2, 1)
    with second.as_default():
        tf.set_random_seed(1)
        assert get_seed(None) == (1, 0)
        tf.set_random_seed(None)
        assert get_seed(None) == (None, None)


# ---- reproducibility ---------------------------------------------------------------------------
ALL_KINDS = [
    ("normal", lambda seed: tf.random_normal([50], seed=seed)),
    ("truncated", lambda seed: tf.truncated_normal([50], seed=seed)),
    ("uniform", lambda seed: tf.random_uniform([50], seed=seed)),
    ("uniform_int", lambda seed: tf.random_uniform([50], 0, 1000, dtype=tf.int64, seed=seed)),
    ("shuffle", lambda seed: random_shuffle(tf.constant(np.arange(50)), seed=seed)),
]


@pytest.mark.parametrize("kind,fn", ALL_KINDS, ids=[k for k, _ in ALL_KINDS])
@pytest.mark.parametrize("graph_seed,op_seed", [(None, 4), (3, None), (3, 4)])
def test_same_seeds_give_same_values_in_every_session(kind, fn, graph_seed, op_seed):
    first = values(lambda: fn(op_seed), runs=2, graph_seed=graph_seed)
    second = values(lambda: fn(op_seed), runs=2, graph_seed=graph_seed)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    assert not np.array_equal(first[0], first[1])  # each run continues the stream
    other = values(lambda: fn(op_seed + 1 if op_seed else 99), graph_seed=graph_seed)
    assert not np.array_equal(first[0], other[0])


@pytest.mark.parametrize("kind,fn", ALL_KINDS, ids=[k for k, _ in ALL_KINDS])
def test_unseeded_ops_differ_between_sessions(kind, fn):
    assert not np.array_equal(values(lambda: fn(None))[0], values(lambda: fn(None))[0])


def test_ops_with_graph_seed_alone_draw_different_streams():
    a, b = values(lambda: [tf.random_normal([20]), tf.random_normal([20])], graph_seed=5)[0]
    assert not np.array_equal(a, b)


# ---- ranges and distributions -------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [tf.float16, tf.float32, tf.float64])
def test_float_ops_have_the_requested_dtype_and_moments(dtype):
    normal, trunc, uniform = values(lambda: [
        tf.random_normal([20000], mean=1.0, stddev=2.0, dtype=dtype, seed=1),
        tf.truncated_normal([20000], mean=-1.0, stddev=0.5, dtype=dtype, seed=2),
        tf.random_uniform([20000], minval=-3.0, maxval=5.0, dtype=dtype, seed=3)])[0]
    for v in (normal, trunc, uniform):
        assert v.dtype == dtype.as_numpy_dtype and v.shape == (20000,)
    normal, trunc, uniform = (v.astype(np.float64) for v in (normal, trunc, uniform))
    assert abs(normal.mean() - 1.0) < 0.1 and abs(normal.std() - 2.0) < 0.1
    assert trunc.min() >= -2.0 and trunc.max() <= 0.0  # within two standard deviations
    assert abs(trunc.std() - 0.5 * 0.8796) < 0.02  # a normal truncated at 2 sigma
    assert uniform.min() >= -3.0 and uniform.max() <= 5.0 and abs(uniform.mean() - 1.0) < 0.1
    unit = values(lambda: tf.random_uniform([100000], dtype=dtype, seed=4))[0]
    assert unit.min() >= 0 and unit.max() < 1  # even where rounding to half would reach 1


def test_integer_uniform_covers_its_half_open_range():
    out = values(lambda: tf.random_uniform([5000], minval=-2, maxval=3, dtype=tf.int32))[0]
    assert out.dtype == np.int32
    assert set(np.unique(out)) == {-2, -1, 0, 1, 2}


def test_integer_uniform_checks_its_bounds():
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="maxval"):
            tf.random_uniform([2], dtype=tf.int64)
        bad = tf.random_uniform([2], minval=4, maxval=4, dtype=tf.int32)
        with tf.Session() as sess, pytest.raises(errors.InvalidArgumentError, match="4 >= 4"):
            sess.run(bad)


def test_shape_from_a_tensor_and_static_shapes():
    g = tf.Graph()
    with g.as_default():
        dims = tf.placeholder(tf.int32, [2])
        r = tf.random_uniform(dims)
        assert r.shape.as_list() == [None, None]
        assert tf.random_normal([3, 4]).shape.as_list() == [3, 4]
        with tf.Session() as sess:
            assert sess.run(r, {dims: [2, 5]}).shape == (2, 5)


def test_shuffle_permutes_rows_and_leaves_its_input_alone():
    data = np.arange(40).reshape(20, 2)
    before = data.copy()
    g = tf.Graph()
    with g.as_default():
        ph = tf.placeholder(tf.int64, [20, 2])
        out = random_shuffle(ph, seed=1)
        assert out.shape.as_list() == [20, 2]
        with tf.Session() as sess:
            shuffled = sess.run(out, {ph: data})
            scalar = sess.run(random_shuffle(tf.constant(7)))
    np.testing.assert_array_equal(data, before)
    assert sorted(map(tuple, shuffled)) == sorted(map(tuple, data))
    assert not np.array_equal(shuffled, data)
    assert scalar == 7
