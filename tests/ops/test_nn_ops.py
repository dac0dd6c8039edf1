"""``tf.nn`` kernels against plain NumPy references, without TensorFlow.

The references are written the slow, obvious way (a loop over output positions) so that
they share nothing with the strided-view kernels they check.
"""
from __future__ import annotations

import numpy as np
import pytest

import flowsaver as tf
from flowsaver import errors
from flowsaver.ops.nn import kernels as nn_kernels

RNG = np.random.default_rng(3)


def run(build, feeds=None):
    """Build ``build()`` in a new graph; run it with ``feeds`` ({placeholder: value})."""
    g = tf.Graph()
    with g.as_default():
        fetches = build()
        with tf.Session(graph=g) as sess:
            return sess.run(fetches, feeds or {})


def arr(*shape, dtype=np.float32):
    return RNG.uniform(-2.0, 2.0, shape).astype(dtype)


# ---- references ----------------------------------------------------------------------------
def same_pads(size, k, s, d=1):
    ek = (k - 1) * d + 1
    out = -(-size // s)
    total = max((out - 1) * s + ek - size, 0)
    return total // 2, total - total // 2


def ref_conv2d(x, w, strides, padding, dilations=(1, 1)):
    n, h, wd, c = x.shape
    kh, kw, _, o = w.shape
    (sh, sw), (dh, dw) = strides, dilations
    pads = [same_pads(h, kh, sh, dh), same_pads(wd, kw, sw, dw)] if padding == "SAME" \
        else ([(0, 0), (0, 0)] if padding == "VALID" else padding)
    xp = np.pad(x.astype(np.float64), ((0, 0), pads[0], pads[1], (0, 0)))
    oh = (xp.shape[1] - (kh - 1) * dh - 1) // sh + 1
    ow = (xp.shape[2] - (kw - 1) * dw - 1) // sw + 1
    out = np.zeros((n, oh, ow, o))
    for i in range(oh):
        for j in range(ow):
            patch = xp[:, i * sh:i * sh + (kh - 1) * dh + 1:dh, j * sw:j * sw + (kw - 1) * dw + 1:dw]
            out[:, i, j] = np.einsum("nhwc,hwco->no", patch, w)
    return out


def ref_pool(x, k, s, padding, kind):
    n, h, w, c = x.shape
    pads = [same_pads(h, k[0], s[0]), same_pads(w, k[1], s[1])] if padding == "SAME" \
        else [(0, 0), (0, 0)]
    oh = -(-h // s[0]) if padding == "SAME" else (h - k[0]) // s[0] + 1
    ow = -(-w // s[1]) if padding == "SAME" else (w - k[1]) // s[1] + 1
    out = np.zeros((n, oh, ow, c))
    for i in range(oh):
        for j in range(ow):
            r0, c0 = i * s[0] - pads[0][0], j * s[1] - pads[1][0]
            window = x[:, max(r0, 0):r0 + k[0], max(c0, 0):c0 + k[1]]
            out[:, i, j] = window.max(axis=(1, 2)) if kind == "max" else window.mean(axis=(1, 2))
    return out


def ref_log_softmax(x, axis=-1):
    x = x.astype(np.float64)
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


# ---- convolution and pooling ----------------------------------------------------------------
CONVS = [  # input shape, filter shape, strides, padding, dilations
    ((2, 7, 7, 3), (3, 3, 3, 4), (1, 1), "SAME", (1, 1)),
    ((2, 7, 7, 3), (3, 3, 3, 4), (2, 2), "SAME", (1, 1)),
    ((1, 8, 5, 2), (5, 3, 2, 3), (2, 3), "VALID", (1, 1)),
    ((3, 6, 6, 1), (2, 2, 1, 2), (2, 2), "SAME", (1, 1)),
    ((1, 9, 9, 2), (3, 3, 2, 2), (1, 2), "SAME", (2, 3)),
    ((2, 5, 6, 3), (3, 3, 3, 2), (2, 1), [(1, 2), (0, 1)], (1, 1)),
]


@pytest.mark.parametrize("xs,ws,strides,padding,dilations", CONVS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv2d_matches_reference(xs, ws, strides, padding, dilations, dtype):
    x, w = arr(*xs, dtype=dtype), arr(*ws, dtype=dtype)
    pad = padding if isinstance(padding, str) else [[0, 0], *map(list, padding), [0, 0]]
    out = run(lambda: tf.nn.conv2d(x, w, strides=list(strides), padding=pad,
                                   dilations=list(dilations)))
    assert out.dtype == dtype
    np.testing.assert_allclose(out, ref_conv2d(x, w, strides, padding, dilations),
                               rtol=1e-5, atol=1e-5)


def test_conv2d_nchw_equals_nhwc():
    x, w = arr(2, 3, 7, 6), arr(3, 2, 3, 5)
    out = run(lambda: tf.nn.conv2d(x, w, [1, 1, 2, 1], "SAME", data_format="NCHW"))
    ref = ref_conv2d(x.transpose(0, 2, 3, 1), w, (2, 1), "SAME")
    np.testing.assert_allclose(out, ref.transpose(0, 3, 1, 2), rtol=1e-5, atol=1e-5)


def test_grouped_conv2d_convolves_each_group_alone():
    x, w = arr(1, 5, 5, 4), arr(3, 3, 2, 6)
    out = run(lambda: tf.nn.conv2d(x, w, 1, "SAME"))
    halves = [ref_conv2d(x[..., 2 * g:2 * g + 2], w[..., 3 * g:3 * g + 3], (1, 1), "SAME")
              for g in range(2)]
    np.testing.assert_allclose(out, np.concatenate(halves, axis=-1), rtol=1e-5, atol=1e-5)


def test_conv2d_half_precision_keeps_dtype():
    x, w = arr(1, 4, 4, 2, dtype=np.float16), arr(2, 2, 2, 1, dtype=np.float16)
    out = run(lambda: tf.nn.conv2d(x, w, 1, "VALID"))
    assert out.dtype == np.float16
    np.testing.assert_allclose(out, ref_conv2d(x, w, (1, 1), "VALID"), rtol=1e-2, atol=1e-2)


POOLS = [((2, 7, 7, 3), (2, 2), (2, 2), "VALID"), ((2, 7, 7, 3), (3, 3), (2, 2), "SAME"),
         ((1, 8, 5, 2), (3, 2), (1, 2), "SAME"), ((1, 5, 5, 1), (4, 4), (3, 3), "SAME"),
         ((2, 4, 6, 2), (1, 3), (1, 1), "VALID")]


@pytest.mark.parametrize("xs,k,s,padding", POOLS)
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pooling_matches_reference(xs, k, s, padding, kind):
    x = arr(*xs, dtype=np.float64)
    fn = tf.nn.max_pool if kind == "max" else tf.nn.avg_pool
    out = run(lambda: fn(tf.constant(x), ksize=list(k), strides=list(s), padding=padding))
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, ref_pool(x, k, s, padding, kind), rtol=1e-12)


def test_pooling_nchw_and_int_max_pool():
    x = arr(2, 3, 6, 5)
    out = run(lambda: tf.nn.avg_pool(x, [1, 1, 2, 2], [1, 1, 2, 2], "SAME", data_format="NCHW"))
    ref = ref_pool(x.transpose(0, 2, 3, 1), (2, 2), (2, 2), "SAME", "avg")
    np.testing.assert_allclose(out, ref.transpose(0, 3, 1, 2), rtol=1e-5)
    ints = np.array([[-5, -7], [-9, -1]], np.int32).reshape(1, 2, 2, 1)
    out = run(lambda: tf.nn.max_pool(tf.constant(ints), 3, 1, "SAME"))
    assert out.dtype == np.int32 and (out == -1).all()  # padding never wins a maximum


def test_kernels_leave_their_inputs_alone():
    x, w = arr(2, 5, 5, 2), arr(3, 3, 2, 2)
    x0, w0 = x.copy(), w.copy()
    g = tf.Graph()
    with g.as_default():
        px, pw = tf.placeholder(tf.float32, x.shape), tf.placeholder(tf.float32, w.shape)
        outs = [tf.nn.conv2d(px, pw, 1, "SAME"), tf.nn.max_pool(px, 2, 1, "SAME"),
                tf.nn.avg_pool(px, 3, 1, "SAME"), tf.nn.relu(px), tf.nn.softmax(px),
                tf.nn.bias_add(px, [1.0, 2.0]), tf.nn.dropout(px, keep_prob=0.5)]
        with tf.Session() as sess:
            sess.run(outs, {px: x, pw: w})
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(w, w0)


def test_conv2d_channel_mismatch_fails_at_build_time_naming_the_op():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [1, 5, 5, 3])
        w = tf.placeholder(tf.float32, [3, 3, 2, 4])
        with pytest.raises(ValueError, match=r"Depth of input \(3\).*'conv1'.*Conv2D"):
            tf.nn.conv2d(x, w, 1, "SAME", name="conv1")


def test_window_over_batch_fails_at_run_time():
    x = arr(2, 4, 4, 1)
    with pytest.raises(errors.UnimplementedError, match="MaxPool"):
        run(lambda: tf.nn.max_pool(x, [2, 2, 2, 1], 1, "VALID"))


# ---- activations, softmax, bias ------------------------------------------------------------
X = np.array([[-3.0, -0.5, 0.0], [0.25, 2.0, 8.0]], np.float32)
ACTIVATIONS = [
    (tf.nn.relu, np.maximum(X, 0)),
    (tf.nn.relu6, np.clip(X, 0, 6)),
    (tf.nn.elu, np.where(X > 0, X, np.exp(X) - 1)),
    (tf.nn.selu, 1.0507009873554805 * np.where(X > 0, X, 1.6732632423543772 * (np.exp(X) - 1))),
    (tf.nn.leaky_relu, np.where(X > 0, X, 0.2 * X)),
    (tf.nn.softplus, np.log1p(np.exp(X))),
    (tf.nn.softsign, X / (1 + np.abs(X))),
    (tf.nn.softmax, np.exp(ref_log_softmax(X))),
    (tf.nn.log_softmax, ref_log_softmax(X)),
    (tf.nn.l2_loss, np.sum(X.astype(np.float64) ** 2) / 2),
]


@pytest.mark.parametrize("fn,expected", ACTIVATIONS, ids=[f.__name__ for f, _ in ACTIVATIONS])
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_activation_matches_numpy(fn, expected, dtype):
    out = run(lambda: fn(tf.constant(X.astype(dtype))))
    assert out.dtype == dtype and np.shape(out) == np.shape(expected)
    tol = 2e-3 if dtype == np.float16 else 1e-6
    np.testing.assert_allclose(out, expected, rtol=tol, atol=tol)


def test_softmax_on_other_axes_and_extreme_logits():
    x = arr(2, 3, 4) * 50
    for axis in (0, 1, -2):
        out = run(lambda: tf.nn.softmax(x, axis=axis))
        np.testing.assert_allclose(out, np.exp(ref_log_softmax(x, axis)), rtol=1e-5, atol=1e-7)
    big = np.array([[1000.0, 0.0, -1000.0]], np.float32)
    np.testing.assert_allclose(run(lambda: tf.nn.softmax(big)), [[1, 0, 0]], atol=1e-7)
    assert np.isfinite(run(lambda: tf.nn.log_softmax(big))).all()


def test_bias_add_layouts():
    x, b = arr(2, 3, 4, 5), arr(3)
    np.testing.assert_allclose(run(lambda: tf.nn.bias_add(x, b, data_format="NCHW")),
                               x + b[None, :, None, None])
    np.testing.assert_allclose(run(lambda: tf.nn.bias_add(x, arr(5))).shape, x.shape)


# ---- losses --------------------------------------------------------------------------------
def test_softmax_cross_entropy_loss_and_backprop():
    logits, lab = arr(4, 5, dtype=np.float64), RNG.dirichlet(np.ones(5), 4)
    g = tf.Graph()
    with g.as_default():
        loss = tf.nn.softmax_cross_entropy_with_logits_v2(labels=lab, logits=logits)
        op = g.get_operation_by_name("softmax_cross_entropy_with_logits")
        with tf.Session() as sess:
            value, backprop = sess.run([loss, op.outputs[1]])
    np.testing.assert_allclose(value, -(lab * ref_log_softmax(logits)).sum(axis=1))
    np.testing.assert_allclose(backprop, np.exp(ref_log_softmax(logits)) - lab, atol=1e-12)
    assert loss.shape.as_list() == [4]


def test_v1_cross_entropy_stops_gradients_on_labels():
    g = tf.Graph()
    with g.as_default():
        tf.nn.softmax_cross_entropy_with_logits(labels=arr(2, 3), logits=arr(2, 3))
        stop = g.get_operation_by_name("softmax_cross_entropy_with_logits_sg/"
                                       "labels_stop_gradient")
    assert stop.type == "StopGradient"
    assert [c.type for c in stop.outputs[0].consumers()] == ["Reshape"]


def test_sparse_cross_entropy_outputs_and_label_errors():
    logits = arr(3, 4, dtype=np.float64)
    classes = np.array([3, 0, 2], np.int64)
    g = tf.Graph()
    with g.as_default():
        lab = tf.placeholder(tf.int64, [3])
        loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=lab, logits=logits)
        backprop = loss.op.outputs[1]
        with tf.Session() as sess:
            value, grad = sess.run([loss, backprop], {lab: classes})
            with pytest.raises(errors.InvalidArgumentError, match="label value of 4"):
                sess.run(loss, {lab: [0, 4, 1]})
    logp = ref_log_softmax(logits)
    np.testing.assert_allclose(value, -logp[np.arange(3), classes])
    np.testing.assert_allclose(grad, np.exp(logp) - np.eye(4)[classes], atol=1e-12)


def test_in_top_k_ties_nans_and_bad_targets():
    predictions = np.array([[0.1, 0.9, 0.9, 0.3], [1.0, np.nan, 0.5, 0.2],
                            [0.4, 0.3, 0.2, 0.1], [0.4, 0.3, 0.2, 0.1]], np.float32)
    targets = np.array([2, 1, 5, -1], np.int32)
    out = run(lambda: tf.nn.in_top_k(predictions, targets, 1))
    # a tie with the best counts as in the top 1; NaN scores and unknown classes never do
    np.testing.assert_array_equal(out, [True, False, False, False])
    out = run(lambda: tf.nn.in_top_k(predictions, np.array([3, 2, 1, 0], np.int32), 2))
    np.testing.assert_array_equal(out, [False, True, True, True])


# ---- dropout -------------------------------------------------------------------------------
def test_dropout_scales_kept_values_and_is_seeded():
    x = np.ones((100, 100), np.float32)

    def build():
        return tf.nn.dropout(tf.constant(x), rate=0.25, seed=9)
    first, second = run(build), run(build)
    np.testing.assert_array_equal(first, second)  # same seeds, same mask
    kept = first != 0
    np.testing.assert_allclose(first[kept], 1 / 0.75)
    assert abs(kept.mean() - 0.75) < 0.03


def test_dropout_keep_prob_one_is_the_identity():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [3])
        assert tf.nn.dropout(x, keep_prob=1.0) is x
        with pytest.raises(ValueError, match="keep_prob"):
            tf.nn.dropout(x, keep_prob=0.0)


@pytest.mark.parametrize("shape", [(3, 1), (5, 2), (4, 8), (2, 3, 9), (6, 64), (2, 4096),
                                   (2, 4097)])
def test_softmax_row_reductions_agree_with_numpy(shape):
    """The row max (columns, reduceat) and row sum (a product) paths give NumPy's max
    exactly and its sum to rounding, NaN included, for contiguous and strided input."""
    rng = np.random.default_rng(sum(shape))
    x = rng.normal(0, 4, shape).astype(np.float32)
    x.flat[len(x.flat) // 2] = np.nan
    for value in (x, np.swapaxes(np.swapaxes(x, -1, 0).copy(), -1, 0)):  # strided view too
        np.testing.assert_array_equal(nn_kernels.row_max(value),
                                      np.max(value, axis=-1, keepdims=True))
        finite = np.nan_to_num(value)
        np.testing.assert_allclose(nn_kernels.row_sum(np.ascontiguousarray(finite)),
                                   np.sum(finite, axis=-1, keepdims=True), rtol=1e-5, atol=1e-4)
    probs = nn_kernels.softmax(np.nan_to_num(x))
    np.testing.assert_allclose(probs.sum(axis=-1), 1.0, rtol=1e-5)


def test_softmax_of_empty_rows_is_empty():
    for shape in [(3, 0), (0, 4), (2, 0, 5)]:
        x = np.zeros(shape, np.float32)
        assert nn_kernels.softmax(x).shape == shape
        assert nn_kernels.log_softmax(x).shape == shape
