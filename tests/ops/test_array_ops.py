"""The array op family in flowsaver alone: kernels against NumPy, output dtypes, static
shapes, and the errors raised while building or running. (TensorFlow parity lives in
tests/interop/test_array_ops_tf.py.)"""
from __future__ import annotations

import random

import numpy as np
import pytest

import flowsaver as tf
from flowsaver.ops import registry

X = np.arange(6, dtype=np.float32).reshape(2, 3)
X3 = np.arange(60, dtype=np.int64).reshape(3, 4, 5)


def run(build, *values, shapes=None):
    """Build ``build(*placeholders)`` in a fresh graph and run it on ``values``."""
    g = tf.Graph()
    with g.as_default():
        shapes = shapes or [v.shape for v in values]
        phs = [tf.placeholder(v.dtype, s, name=f"in{i}") for i, (v, s) in
               enumerate(zip(values, shapes))]
        out = build(*phs)
    with tf.Session(graph=g) as sess:
        return sess.run(out, dict(zip(phs, values)))


def check(got, want):
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("fn,ref", [
    (lambda t: tf.reshape(t, [3, -1]), lambda a: a.reshape(3, -1)),
    (lambda t: tf.transpose(t), lambda a: a.T),
    (lambda t: tf.concat([t, t * 2], 1), lambda a: np.concatenate([a, a * 2], 1)),
    (lambda t: tf.stack([t, t], axis=-1), lambda a: np.stack([a, a], -1)),
    (lambda t: tf.tile(t, [2, 3]), lambda a: np.tile(a, [2, 3])),
    (lambda t: tf.pad(t, [[1, 2], [0, 1]], constant_values=-1),
     lambda a: np.pad(a, [[1, 2], [0, 1]], constant_values=-1)),
    (lambda t: tf.pad(t, [[1, 1], [2, 2]], "REFLECT"),
     lambda a: np.pad(a, [[1, 1], [2, 2]], "reflect")),
    (lambda t: tf.pad(t, [[2, 1], [3, 0]], "SYMMETRIC"),
     lambda a: np.pad(a, [[2, 1], [3, 0]], "symmetric")),
    (lambda t: tf.expand_dims(t, -2), lambda a: a[:, None, :]),
    (lambda t: tf.squeeze(tf.reshape(t, [1, 6, 1])), lambda a: a.reshape(6)),
    (lambda t: tf.slice(t, [1, 1], [-1, 2]), lambda a: a[1:, 1:3]),
    (lambda t: tf.gather(t, [[2, 0]], axis=1), lambda a: a[:, [[2, 0]]]),
    (lambda t: tf.boolean_mask(t, [[True, False, True], [False, True, False]]),
     lambda a: a[[[True, False, True], [False, True, False]]]),
    (lambda t: tf.where(t > 2.0, t, -t), lambda a: np.where(a > 2, a, -a)),
    (lambda t: tf.zeros_like(t), np.zeros_like),
    (lambda t: tf.ones_like(t, dtype=tf.int64), lambda a: np.ones(a.shape, np.int64)),
])
def test_kernels_match_numpy(fn, ref):
    check(run(fn, X), ref(X))


def test_output_dtypes_follow_tensorflow():
    shape, size, where, n = run(lambda t: [tf.shape(t), tf.size(t), tf.where(t > 1.0),
                                           tf.rank(t)], X, shapes=[None])
    check(shape, np.array([2, 3], np.int32))
    check(size, np.int32(6))
    check(where, np.argwhere(X > 1).astype(np.int64))
    check(n, np.int32(2))
    check(run(lambda t: tf.shape(t, out_type=tf.int64), X, shapes=[None]),
          np.array([2, 3], np.int64))


def test_unstack_and_shape_n():
    rows = run(lambda t: tf.unstack(t, axis=1), X)
    assert len(rows) == 3
    for i, row in enumerate(rows):
        check(row, X[:, i])
    shapes = run(lambda t: tf.shape_n([t, t[0]]), X, shapes=[None])
    check(shapes[0], np.array([2, 3], np.int32))
    check(shapes[1], np.array([3], np.int32))


def test_one_hot_and_batched_gather():
    hot = np.array([[1, 0, 0, 0], [0, 0, 0, 0], [0, 1, 0, 0]], np.float32)  # -1, 5: no hot
    check(run(lambda i: tf.one_hot(i, 3, axis=0), np.array([0, 2, -1, 5], np.int32)), hot)
    params = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    indices = np.array([[2, 0], [1, 1]], np.int32)
    want = np.stack([params[b][:, indices[b]] for b in range(2)])
    check(run(lambda p, i: tf.gather(p, i, axis=2, batch_dims=1), params, indices), want)


def _random_spec(rng, rank):
    """A random ``t[...]`` index: ints, stepped slices either way, Ellipsis and newaxis."""
    items, used, ellipsis = [], 0, False
    for _ in range(rng.randint(0, rank + 2)):
        kind = rng.choice(["int", "slice", "slice", "none", "ellipsis"])
        if kind == "ellipsis" and not ellipsis:
            items.append(Ellipsis)
            ellipsis = True
        elif kind == "none":
            items.append(None)
        elif used < rank and kind == "int":
            items.append(rng.randint(-2, 2))
            used += 1
        elif used < rank:
            bound = [None, -7, -2, -1, 0, 1, 2, 6]
            step = rng.choice([None, 1, 2, -1, -3])
            items.append(slice(rng.choice(bound), rng.choice(bound), step))
            used += 1
    return tuple(items)


def test_getitem_matches_numpy_on_random_specs():
    rng = random.Random(7)
    specs = [_random_spec(rng, 3) for _ in range(150)]
    g = tf.Graph()
    with g.as_default():
        known = tf.placeholder(tf.int64, [3, 4, 5])
        unknown = tf.placeholder(tf.int64, None)
        outs = [(known[s], unknown[s]) for s in specs]
    with tf.Session(graph=g) as sess:
        values = sess.run(outs, {known: X3, unknown: X3})
    for spec, (static, _), (a, b) in zip(specs, outs, values):
        want = X3[spec]
        check(a, want)
        check(b, want)
        assert static.shape.as_list() == list(want.shape), spec


def test_strided_slice_masks_match_numpy():
    got = run(lambda t: tf.strided_slice(t, [0, 3, 0], [0, 0, 5], [1, -1, 2], begin_mask=1,
                                         end_mask=1, shrink_axis_mask=0), X3)
    check(got, X3[:, 3:0:-1, 0:5:2])
    got = run(lambda t: tf.strided_slice(t, [1, 0], [2, 0], [1, 1], ellipsis_mask=2,
                                         shrink_axis_mask=1), X3)
    check(got, X3[1, ...])


def test_reshape_incompatible_static_shape_fails_at_build():
    with tf.Graph().as_default():
        t = tf.placeholder(tf.float32, [2, 3])
        with pytest.raises(ValueError, match="Cannot reshape a tensor with 6 elements"):
            tf.reshape(t, [4, 2])
        with pytest.raises(ValueError, match="evenly divisible by 4"):
            tf.reshape(t, [4, -1])


def test_reshape_incompatible_dynamic_shape_fails_at_run():
    with pytest.raises(tf.errors.InvalidArgumentError, match="(?s)Input to reshape is a tensor "
                       "with 6 values, but the requested shape has 8.*Reshape"):
        run(lambda t: tf.reshape(t, [4, 2]), X, shapes=[None])
    with pytest.raises(tf.errors.InvalidArgumentError, match="requires a multiple of 4"):
        run(lambda t: tf.reshape(t, [-1, 4]), X, shapes=[None])


def test_gather_out_of_range_names_the_op():
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        run(lambda t: tf.gather(t, [0, 5], name="pick"), X)
    assert "indices[1] = 5 is not in [0, 2)" in str(info.value)
    assert "pick" in str(info.value)
    assert info.value.op is not None and info.value.op.name == "pick"


@pytest.mark.parametrize("build,value,message", [
    (lambda t: t[5], X, "slice index 5 of dimension 0 out of bounds"),
    (lambda t: tf.concat([t, t[0]], 0), X, "Ranks of all input tensors should match"),
    (lambda t: tf.squeeze(t, [0]), X, "Can not squeeze dim[0]"),
    (lambda t: tf.unstack(t, num=3), X, "Input shape axis 0 must equal 3"),
    (lambda t: tf.transpose(t, [1, 1]), X, "0 is missing from {1,1}"),
    (lambda t: tf.where(t), np.float32(1), "Unhandled input dimensions: 0"),
    (lambda t: tf.slice(t, [0, 1], [1, 3]), X, "Expected size[1] in [0, 2], but got 3"),
])
def test_run_errors(build, value, message):
    with pytest.raises(tf.errors.InvalidArgumentError, match=message.replace("[", r"\[")):
        run(build, value, shapes=[None])


def test_build_errors():
    with tf.Graph().as_default():
        t = tf.placeholder(tf.float32, [2, 3])
        with pytest.raises(ValueError, match="out of bounds"):
            t[2]
        with pytest.raises(TypeError, match="valid indices"):
            t[0.5]
        with pytest.raises(ValueError, match="Cannot infer argument `num`"):
            tf.unstack(tf.placeholder(tf.float32, [None]))
        with pytest.raises(ValueError, match="mask cannot be scalar"):
            tf.boolean_mask(t, True)


def test_static_shapes():
    with tf.Graph().as_default():
        t = tf.placeholder(tf.float32, [None, 6])
        assert tf.reshape(t, [-1, 2, 3]).shape.as_list() == [None, 2, 3]
        assert tf.reshape(t, [tf.shape(t)[0], 3, -1]).shape.as_list() == [None, 3, None]
        assert tf.reshape(t, [tf.shape(t)[1], -1]).shape.as_list() == [6, None]
        assert tf.zeros(tf.shape(t)).shape.as_list() == [None, 6]
        assert t[:, ::-2].shape.as_list() == [None, 3]
        assert tf.concat([t, t], 1).shape.as_list() == [None, 12]
        assert tf.where(t > 0).shape.as_list() == [None, 2]
        assert tf.boolean_mask(t, tf.placeholder(tf.bool, [None])).shape.as_list() == [None, 6]


def test_fetched_views_are_writable_copies():
    with tf.Graph().as_default():
        c = tf.constant(X)
        outs = [tf.reshape(c, [-1]), c[0], tf.transpose(c), tf.expand_dims(c, 0)]
        with tf.Session() as sess:
            values = sess.run(outs)
            for v in values:
                v[...] = 0
            again = sess.run(outs)
    check(again[0], X.reshape(-1))
    check(again[1], X[0])


def test_constant_results_use_no_ops():
    with tf.Graph().as_default() as g:
        t = tf.placeholder(tf.float32, [2, 3])
        for out in (tf.shape(t), tf.size(t), tf.rank(t), tf.zeros_like(t)):
            assert out.op.type == "Const"
        assert tf.ones_like(t).op.type == "Fill"
        assert tf.concat([t], 0).op.type == "Identity"
        assert [op.type for op in g.get_operations()].count("Shape") == 0


def test_broadcast_to_writes_a_row_major_array():
    """A broadcast materialized in NumPy's 'K' order comes out channel-major (the
    broadcast axes' strides are 0): the gradient of ``reduce_mean`` over H and W did, and
    every op downstream in the backward pass then ran over mismatched layouts (a ResNet
    block's ReluGrad 5x slower). The kernel gives a row-major array."""
    with tf.Graph().as_default():
        x = tf.constant(np.arange(6, dtype=np.float32))
        op = tf.broadcast_to(tf.reshape(x, [2, 1, 1, 3]), [2, 4, 5, 3]).op
        kernel = registry.KERNELS[op.type](op, None)
        with tf.Session() as sess:
            inputs = sess.run(list(op.inputs))
    got = kernel(*inputs)
    assert got.flags.c_contiguous
    want = np.broadcast_to(np.arange(6, dtype=np.float32).reshape(2, 1, 1, 3), (2, 4, 5, 3))
    np.testing.assert_array_equal(got, want)
