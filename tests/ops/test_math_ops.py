"""The math op family in flowsaver alone: kernels against NumPy, output dtypes, static shapes,
and the errors raised while building a graph or running it. (TensorFlow parity lives in
tests/interop/test_math_ops_tf.py.)"""
from __future__ import annotations

import numpy as np
import pytest

import flowsaver as tf

X = np.array([[-3.0, -1.5, 0.0], [0.5, 2.0, 5.0]], np.float32)
Y = np.array([[2.0, -3.0, 1.0], [4.0, 0.25, -2.0]], np.float32)
I = np.array([[-7, -1, 0], [3, 6, 7]], np.int32)
J = np.array([[2, -3, 1], [-4, 4, 3]], np.int32)


def run(build, *values):
    """Build ``build(*placeholders)`` in a fresh graph and run it on ``values``."""
    g = tf.Graph()
    with g.as_default():
        phs = [tf.placeholder(v.dtype, v.shape, name=f"in{i}") for i, v in enumerate(values)]
        out = build(*phs)
    with tf.Session(graph=g) as sess:
        return sess.run(out, dict(zip(phs, values)))


def check(got, want, dtype=None):
    got = np.asarray(got)
    assert got.dtype == np.dtype(dtype or np.asarray(want).dtype), (got.dtype, dtype)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("fn,ref", [
    (tf.add, np.add), (tf.subtract, np.subtract), (tf.multiply, np.multiply),
    (tf.maximum, np.maximum), (tf.minimum, np.minimum),
    (tf.floordiv, lambda x, y: np.floor(x / y)),  # TensorFlow floors x / y: 1 // 0.1 is 10
    (tf.floormod, np.mod), (tf.truediv, np.true_divide), (tf.div, np.true_divide),
    (tf.squared_difference, lambda x, y: (x - y) ** 2)])
def test_float_binary_matches_numpy(fn, ref):
    check(run(fn, X, Y), ref(X, Y))


@pytest.mark.parametrize("fn,ref", [
    (tf.add, np.add), (tf.multiply, np.multiply), (tf.floordiv, np.floor_divide),
    (tf.floormod, np.mod), (tf.div, np.floor_divide), (tf.maximum, np.maximum)])
def test_int_binary_keeps_int32_and_floors(fn, ref):
    check(run(fn, I, J), ref(I, J), np.int32)


def test_int_truediv_is_float64():
    check(run(lambda i, j: i / j, I, J), I / J, np.float64)
    check(run(lambda i: i / 2, I.astype(np.int16)), I / 2, np.float32)


def test_operators_and_reflections():
    out = run(lambda x: [x + 1, 1 - x, 2 * x, x / 4, 1 / (x + 10), x // 2, 7 % (x + 10),
                         x ** 2, 2 ** x, -x, abs(x), x < 0, 0 < x, x >= 0.5], X)
    want = [X + 1, 1 - X, 2 * X, X / 4, 1 / (X + 10), X // 2, 7 % (X + 10), X ** 2,
            2 ** X, -X, abs(X), X < 0, 0 < X, X >= 0.5]
    for got, w in zip(out, want):
        check(got, w.astype(w.dtype if w.dtype == bool else np.float32))


def test_bool_operators():
    b = np.array([True, False, True, False])
    c = np.array([True, True, False, False])
    out = run(lambda p, q: [p & q, p | q, p ^ q, ~p, True & p, tf.logical_xor(p, q)], b, c)
    for got, w in zip(out, [b & c, b | c, b ^ c, ~b, b, b ^ c]):
        check(got, w)


def test_operator_names():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [2])
        names = [t.op.name for t in (x + 1, 1 + x, x / 2, x // 2, x % 2, x ** 2, -x, x < 1)]
        assert names == ["add", "add_1", "truediv", "floordiv", "mod", "pow", "Neg", "Less"]
        assert (2 * x).op.inputs[0].op.name == "mul/x"
        assert tf.cast(x, tf.float32) is x


@pytest.mark.parametrize("fn,ref,values", [
    (tf.negative, np.negative, X), (tf.abs, np.abs, X), (tf.square, np.square, X),
    (tf.sign, np.sign, X), (tf.exp, np.exp, X), (tf.tanh, np.tanh, X),
    (tf.sqrt, np.sqrt, np.abs(X)), (tf.log, np.log, np.abs(X) + 1),
    (tf.rsqrt, lambda v: 1 / np.sqrt(v), np.abs(X) + 1),
    (tf.reciprocal, np.reciprocal, Y), (tf.sigmoid, lambda v: 1 / (1 + np.exp(-v)), X)])
def test_unary_matches_numpy(fn, ref, values):
    check(run(fn, values), ref(values.astype(np.float64)).astype(np.float32))


def test_sigmoid_is_stable_for_large_inputs():
    with np.errstate(over="raise"):  # an overflow inside the kernel would raise here
        got = run(tf.sigmoid, np.array([-1e4, -100.0, -20.0, 0.0, 20.0, 1e4], np.float32))
        got64 = run(tf.sigmoid, np.array([-1e5, -40.0, 40.0, 1e5]))
    assert got.dtype == np.float32 and np.all(np.isfinite(got))
    np.testing.assert_allclose(got, [0, 0, 2.0611537e-09, 0.5, 1, 1], rtol=1e-5, atol=1e-30)
    np.testing.assert_allclose(got64, [0, 4.248354255291589e-18, 1, 1], rtol=1e-12, atol=1e-300)


def test_floor_semantics_for_negative_operands():
    check(run(lambda i: [i // -3, i % -3], I), [I // -3, I % -3], np.int32)
    f = I.astype(np.float64)
    check(run(lambda x: [x // -3.0, x % -3.0], f), [f // -3.0, f % -3.0])
    check(run(lambda x: [x // 0.1, x % 0.1], np.array([1.0, -1.0])), [[10.0, -10.0],
                                                                       np.mod([1.0, -1.0], 0.1)])


@pytest.mark.parametrize("fn,ref", [
    (tf.reduce_sum, np.sum), (tf.reduce_max, np.max), (tf.reduce_min, np.min),
    (tf.reduce_prod, np.prod), (tf.reduce_mean, np.mean)])
@pytest.mark.parametrize("axis,keep", [(None, False), (1, False), (-1, True), ([0, 1], True),
                                       ((0,), False)])
def test_reductions_match_numpy(fn, ref, axis, keep):
    got = run(lambda x: fn(x, axis, keepdims=keep), X)
    want = ref(X, axis=tuple(axis) if isinstance(axis, list) else axis, keepdims=keep)
    check(got, np.asarray(want, np.float32))


def test_integer_reductions_keep_dtype_and_truncate_means():
    v = np.array([[-7, 0, 0], [7, 1, 0], [2**30, 2**30, 2**30]], np.int32)
    check(run(lambda x: tf.reduce_mean(x, 1), v), [-2, 2, 2**30], np.int32)
    check(run(lambda x: tf.reduce_sum(x, 0, keep_dims=True), I), I.sum(0, keepdims=True),
          np.int32)
    check(run(lambda x: tf.reduce_prod(x, reduction_indices=[1]), J), J.prod(1), np.int32)


def test_bool_reductions_and_empty_inputs():
    b = np.array([[True, False], [True, True]])
    check(run(lambda x: [tf.reduce_any(x, 1), tf.reduce_all(x, 1)], b), [[True, True],
                                                                           [False, True]])
    e = np.zeros((0, 2), np.float32)
    out = run(lambda x: [tf.reduce_sum(x, 0), tf.reduce_max(x, 0), tf.reduce_min(x, 0)], e)
    check(out, [[0, 0], [-np.inf, -np.inf], [np.inf, np.inf]], np.float32)


def test_reduction_shapes():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, 3, 4])
        assert tf.reduce_sum(x, 1).shape.as_list() == [None, 4]
        assert tf.reduce_sum(x, -1, keepdims=True).shape.as_list() == [None, 3, 1]
        assert tf.reduce_sum(x).shape.as_list() == []
        axis = tf.placeholder(tf.int32, [None])
        assert tf.reduce_sum(x, axis, keepdims=True).shape.as_list() == [None] * 3
        assert tf.reduce_sum(x, axis).shape.ndims is None
        u = tf.placeholder(tf.float32)
        assert tf.reduce_max(u).shape.as_list() == []
        assert tf.reduce_max(u, 0).shape.ndims is None
        assert tf.argmax(x, 2).shape.as_list() == [None, 3]
        assert tf.argmax(x, axis[0]).shape.as_list() == [None, None]


def test_argmax_argmin():
    v = np.array([[3.0, 1.0, 3.0], [-2.0, 5.0, 5.0], [np.nan, 1.0, 0.0]], np.float32)
    check(run(lambda x: tf.argmax(x, 1), v), [0, 1, 1], np.int64)
    check(run(lambda x: tf.argmin(x, dimension=1, output_type=tf.int32), v), [1, 0, 2], np.int32)
    check(run(lambda x: tf.argmax(x), I), I.argmax(0), np.int64)


def test_cast_add_n_and_range():
    check(run(lambda x: tf.cast(x, tf.int32), X), X.astype(np.int32))
    check(run(lambda x: tf.cast(x > 0, tf.float64), X), (X > 0).astype(np.float64))
    check(run(lambda x, y: tf.add_n([x, y, x]), X, Y), X + Y + X)
    ints, floats = run(lambda: [tf.range(5), tf.range(1, 2, 0.25)])
    check(ints, np.arange(5, dtype=np.int32))
    check(floats, np.arange(1, 2, 0.25, dtype=np.float32))


def test_matmul():
    check(run(lambda x, y: tf.matmul(x, y, transpose_b=True), X, Y), X @ Y.T)
    check(run(lambda x, y: tf.matmul(x, y, transpose_a=True), X, Y), X.T @ Y)
    check(run(lambda x: [[1.0, 2.0]] @ x, X), np.float32([[1.0, 2.0]]) @ X)


def build_error(build) -> Exception:
    with tf.Graph().as_default():
        with pytest.raises((ValueError, TypeError)) as info:
            build()
    return info.value


def test_incompatible_broadcast_names_the_op():
    err = build_error(lambda: tf.add(tf.placeholder(tf.float32, [2, 3]),
                                     tf.placeholder(tf.float32, [4]), name="my_add"))
    assert isinstance(err, ValueError) and "my_add" in str(err) and "AddV2" in str(err)
    err = build_error(lambda: tf.placeholder(tf.float32, [2, 3]) * tf.placeholder(tf.float32,
                                                                                  [2, 2]))
    assert isinstance(err, ValueError) and "'mul'" in str(err)


def test_build_errors():
    assert isinstance(build_error(lambda: tf.matmul(tf.placeholder(tf.bool, [2, 2]),
                                                    tf.placeholder(tf.bool, [2, 2]))), TypeError)
    err = build_error(lambda: tf.reduce_sum(tf.placeholder(tf.float32, [2, 3]), 2))
    assert isinstance(err, ValueError) and "Invalid reduction dimension 2" in str(err)
    err = build_error(lambda: tf.argmax(tf.placeholder(tf.float32, [2, 3]), 2))
    assert isinstance(err, ValueError) and "must be in the range [-2, 2)" in str(err)
    err = build_error(lambda: tf.add(tf.placeholder(tf.float32), tf.placeholder(tf.int32)))
    assert isinstance(err, TypeError) and "does not match" in str(err)
    assert isinstance(build_error(lambda: tf.placeholder(tf.int32) & 3), TypeError)
    assert isinstance(build_error(lambda: tf.reduce_sum(tf.placeholder(tf.float32), 0,
                                                        reduction_indices=0)), ValueError)


@pytest.mark.parametrize("build,value", [
    (lambda x: x // 0, I), (lambda x: tf.floormod(x, 0), I), (lambda x: x ** -1, I),
    (lambda x: tf.reduce_sum(x, [0, -2]), X),
    (lambda x: tf.reduce_sum(x, tf.placeholder_with_default(3, [])), X),
    (lambda x: tf.argmax(x, tf.placeholder_with_default(2, [])), X),
    (lambda x: tf.argmin(x, 0), np.zeros((0, 2), np.float32)),
    (lambda x: tf.realdiv(x, 2), I), (lambda x: tf.range(x, 0), np.int32(3)),
    (lambda x: tf.add(x, tf.placeholder_with_default(np.ones(4, np.float32), [None])),
     X[0])])
def test_run_errors_are_invalid_argument(build, value):
    with pytest.raises(tf.errors.InvalidArgumentError):
        run(build, value)
