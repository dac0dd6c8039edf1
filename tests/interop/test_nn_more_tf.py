"""More of ``tf.nn`` against real TensorFlow: normalization, depthwise/1-D/transposed
convolution, the logistic loss, embedding lookups (one table and partitioned), and the
gradients of each. Every row must give TensorFlow's values and its exact GraphDef; the
gradient rows compare the gradient subgraph node for node too.
"""
from __future__ import annotations

import numpy as np
import pytest

import flowsaver
from parity import (assert_close, assert_same_graph_def, build_both, check_row,
                    run_built, tf1_mode)

RNG = np.random.default_rng(23)


def arr(*shape, low=-2.0, high=2.0, dtype=np.float32):
    return RNG.uniform(low, high, shape).astype(dtype)


def pos(*shape):
    return arr(*shape, low=0.5, high=2.0)


IMG, C3 = arr(2, 5, 5, 3), pos(3)
SEQ, K1D = arr(2, 7, 3), arr(3, 3, 4)
DW = arr(3, 3, 3, 2)
TABLE, TABLE2 = arr(10, 3), arr(5, 3)
LAB = np.array([[1], [5], [2]], np.int64)  # class 5 is also sampled: an accidental hit


def _sampled(api, num_true=1):
    """Fixed sampled classes and expected counts: no sampler, so values compare exactly."""
    return (api.constant([5, 7, 0], api.int64),
            api.constant(np.full((3, num_true), 0.3, np.float32)),
            api.constant([0.2, 0.1, 0.4]))

CASES = [
    ("moments", lambda api, x: api.nn.moments(x, axes=[0]), [arr(4, 3)]),
    ("moments_keepdims_named", lambda api, x: api.nn.moments(
        x, [0, 1, 2], keep_dims=True, name="stats"), [IMG]),
    ("moments_f64", lambda api, x: api.nn.moments(x, [1]), [arr(3, 4, dtype=np.float64)]),
    ("batch_normalization", lambda api, x, m, v, o, s: api.nn.batch_normalization(
        x, m, v, o, s, 1e-3), [IMG, C3, C3, arr(3), C3]),
    ("batch_normalization_no_affine", lambda api, x, m, v: api.nn.batch_normalization(
        x, m, v, None, None, 1e-3, name="bn"), [IMG, C3, C3]),
    ("fused_batch_norm_training", lambda api, x, s, o: api.nn.fused_batch_norm(x, s, o),
     [IMG, C3, arr(3)]),
    ("fused_batch_norm_inference", lambda api, x, s, o, m, v: api.nn.fused_batch_norm(
        x, s, o, m, v, epsilon=1e-2, is_training=False, name="fbn"), [IMG, C3, arr(3), arr(3),
                                                                      C3]),
    ("fused_batch_norm_avg_factor", lambda api, x, s, o, m, v: api.nn.fused_batch_norm(
        x, s, o, m, v, exponential_avg_factor=0.3), [IMG, C3, arr(3), arr(3), C3]),
    ("fused_batch_norm_tiny_epsilon", lambda api, x, s, o: api.nn.fused_batch_norm(
        x, s, o, epsilon=1e-7), [IMG, C3, arr(3)]),
    ("l2_normalize", lambda api, x: api.nn.l2_normalize(x, axis=1), [arr(2, 3)]),
    ("l2_normalize_dim_named", lambda api, x: api.nn.l2_normalize(x, dim=[0, 1], name="n"),
     [arr(2, 3, 2)]),
    ("lrn", lambda api, x: api.nn.lrn(x), [IMG]),
    ("lrn_args", lambda api, x: api.nn.local_response_normalization(
        x, depth_radius=2, bias=2.0, alpha=0.1, beta=0.6), [arr(1, 3, 3, 7)]),
    ("depthwise_same", lambda api, x, w: api.nn.depthwise_conv2d(x, w, [1, 1, 1, 1], "SAME"),
     [IMG, DW]),
    ("depthwise_valid_s2", lambda api, x, w: api.nn.depthwise_conv2d(
        x, w, [1, 2, 2, 1], "VALID", rate=[1, 1], name="dw"), [IMG, DW]),
    ("depthwise_native", lambda api, x, w: api.nn.depthwise_conv2d_native(
        x, w, [1, 1, 1, 1], "VALID"), [IMG, arr(2, 2, 3, 1)]),
    ("conv2d_backprop_input", lambda api, w, dy: api.nn.conv2d_backprop_input(
        [2, 5, 5, 3], w, dy, [1, 2, 2, 1], "SAME"), [arr(3, 3, 3, 4), arr(2, 3, 3, 4)]),
    ("conv2d_backprop_filter_named", lambda api, x, dy: api.nn.conv2d_backprop_filter(
        x, [2, 2, 3, 4], dy, [1, 1, 1, 1], "VALID", name="dw"), [IMG, arr(2, 4, 4, 4)]),
    ("conv2d_backprop_input_explicit", lambda api, w, dy: api.nn.conv2d_backprop_input(
        [2, 5, 5, 3], filters=w, out_backprop=dy, strides=[1, 1, 1, 1],
        padding=[[0, 0], [1, 0], [0, 1], [0, 0]]), [arr(2, 2, 3, 4), arr(2, 5, 5, 4)]),
    ("depthwise_backprop_input", lambda api, w, dy: api.nn.depthwise_conv2d_backprop_input(
        [2, 5, 5, 3], w, dy, [1, 2, 2, 1], "SAME"), [DW, arr(2, 3, 3, 6)]),
    ("depthwise_native_backprop_filter_named",
     lambda api, x, dy: api.nn.depthwise_conv2d_native_backprop_filter(
         x, [3, 3, 3, 2], dy, [1, 1, 1, 1], "SAME", name="dwf"), [IMG, arr(2, 5, 5, 6)]),
    ("depthwise_rate_same", lambda api, x, w: api.nn.depthwise_conv2d(
        x, w, [1, 1, 1, 1], "SAME", rate=[2, 2]), [arr(2, 7, 6, 3), DW]),
    ("depthwise_dilations_valid_named", lambda api, x, w: api.nn.depthwise_conv2d(
        x, w, [1, 1, 1, 1], "VALID", dilations=[2, 3], name="atrous"), [arr(2, 9, 10, 3), DW]),
    ("separable_rate", lambda api, x, d, p: api.nn.separable_conv2d(
        x, d, p, [1, 1, 1, 1], "SAME", rate=[3, 3]), [arr(1, 8, 8, 3), DW, arr(1, 1, 6, 4)]),
    ("with_space_to_batch_pool", lambda api, x: api.nn.with_space_to_batch(
        x, [2, 2], "VALID", lambda t, n, pad: api.nn.max_pool(t, [1, 2, 2, 1], [1, 1, 1, 1],
                                                              pad)), [arr(2, 7, 7, 3)]),
    ("convolution_plain_strided", lambda api, x, w: api.nn.convolution(
        x, w, "SAME", strides=[2, 1]), [arr(2, 7, 6, 3), arr(3, 3, 3, 4)]),
    ("convolution_dilated_same", lambda api, x, w: api.nn.convolution(
        x, w, "SAME", dilation_rate=[2, 3]), [arr(2, 9, 8, 3), arr(3, 3, 3, 4)]),
    ("convolution_dilated_valid_named", lambda api, x: api.nn.convolution(
        x, np.ones((2, 2, 3, 2), np.float32), "VALID", dilations=2, name="dil"),
     [arr(1, 7, 7, 3)]),
    ("convolution_1d_dilated", lambda api, x, k: api.nn.convolution(
        x, k, "SAME", dilation_rate=[2]), [SEQ, K1D]),
    ("atrous_conv2d", lambda api, x, w: api.nn.atrous_conv2d(x, w, 2, "SAME"),
     [arr(2, 8, 8, 3), arr(3, 3, 3, 2)]),
    ("conv1d_same", lambda api, x, k: api.nn.conv1d(x, k, 1, "SAME"), [SEQ, K1D]),
    ("conv1d_valid_s2_named", lambda api, x, k: api.nn.conv1d(
        x, k, stride=2, padding="VALID", name="c1"), [SEQ, K1D]),
    ("conv2d_transpose", lambda api, x, k: api.nn.conv2d_transpose(
        x, k, [2, 10, 10, 4], [1, 2, 2, 1]), [IMG, arr(3, 3, 4, 3)]),
    ("conv2d_transpose_valid_named", lambda api, x, k: api.nn.conv2d_transpose(
        x, k, [2, 7, 7, 4], 1, padding="VALID", name="ct"), [IMG, arr(3, 3, 4, 3)]),
    ("separable_conv2d", lambda api, x, d, p: api.nn.separable_conv2d(
        x, d, p, [1, 1, 1, 1], "SAME"), [IMG, DW, arr(1, 1, 6, 4)]),
    ("sigmoid_xent", lambda api, z, x: api.nn.sigmoid_cross_entropy_with_logits(
        labels=z, logits=x), [arr(2, 3, low=0.0, high=1.0), arr(2, 3, low=-30, high=30)]),
    ("sigmoid_xent_named_f64", lambda api, z, x: api.nn.sigmoid_cross_entropy_with_logits(
        labels=z, logits=x, name="bce"), [arr(4, dtype=np.float64), arr(4, dtype=np.float64)]),
    ("log1p_erf", lambda api, x: [api.log1p(x), api.math.log1p(x), api.erf(x),
                                  api.math.erf(x)], [arr(2, 3, low=-0.5, high=3.0)]),
    ("embedding_lookup", lambda api, p, i: api.nn.embedding_lookup(p, i),
     [TABLE, np.array([1, 2, 9, 2], np.int32)]),
    ("embedding_lookup_list_named", lambda api, p, i: api.nn.embedding_lookup([p], i,
                                                                              name="one"),
     [TABLE, np.array([[0, 3], [4, 4]], np.int64)]),
    ("embedding_lookup_mod", lambda api, p, q, i: api.nn.embedding_lookup([p, q], i),
     [TABLE, TABLE2, np.array([1, 2, 9, 2, 0], np.int32)]),
    ("nce_loss", lambda api, w, b, x, l: api.nn.nce_loss(
        w, b, l, x, 3, 10, sampled_values=_sampled(api)), [TABLE, arr(10), arr(3, 3), LAB]),
    ("nce_loss_partitioned_two_true", lambda api, w, v, b, x, l: api.nn.nce_loss(
        [w, v], b, l, x, 3, 15, num_true=2, sampled_values=_sampled(api, 2),
        remove_accidental_hits=True, name="nce"),
     [TABLE, TABLE2, arr(15), arr(3, 3), np.array([[1, 5], [0, 2], [7, 3]], np.int64)]),
    ("sampled_softmax_loss", lambda api, w, b, x, l: api.nn.sampled_softmax_loss(
        w, b, l, x, 3, 10, sampled_values=_sampled(api)), [TABLE, arr(10), arr(3, 3), LAB]),
    ("embedding_lookup_div", lambda api, p, q, i: api.nn.embedding_lookup(
        [p, q], i, partition_strategy="div"), [arr(8, 3), arr(7, 3),
                                               np.array([[14, 2], [9, 7]], np.int32)]),
]


@pytest.mark.parametrize("name,fn,inputs", CASES, ids=[c[0] for c in CASES])
def test_op_matches_tensorflow(tf, name, fn, inputs):
    check_row(tf, fn, inputs, rtol=1e-5, atol=1e-5)


def test_dilated_depthwise_with_unknown_spatial_shape_matches_tensorflow(tf):
    """With H and W unknown, the paddings come from the fed input's shape: the Shape,
    slices and arithmetic of TensorFlow's graph, node for node, and its values."""
    x, w = arr(2, 7, 6, 3), DW

    def build(api):
        t = api.placeholder(np.float32, [None, None, None, 3], name="in0")
        return api.nn.depthwise_conv2d(t, w, [1, 1, 1, 1], "SAME", rate=[2, 2])
    built = build_both(tf, build)
    assert_same_graph_def(built[0][0], built[1][0])
    ours, theirs = run_built(tf, built, {"in0": x})
    assert_close(ours, theirs, rtol=1e-5, atol=1e-5)


def test_depthwise_and_lrn_kernels_match_raw_ops(tf):
    """NCHW and dilations are checked on our side through the NHWC result TensorFlow's CPU
    kernel gives (it has no NCHW depthwise kernel)."""
    x, w = arr(1, 6, 6, 2), arr(2, 2, 2, 3)
    want = tf.raw_ops.DepthwiseConv2dNative(input=x, filter=w, strides=[1, 1, 1, 1],
                                            padding="SAME", dilations=[1, 2, 2, 1]).numpy()
    g = flowsaver.Graph()
    with g.as_default():
        xs = flowsaver.placeholder(flowsaver.float32, [1, 2, 6, 6])
        y = flowsaver.nn.depthwise_conv2d_native(xs, w, [1, 1, 1, 1], "SAME",
                                                 data_format="NCHW", dilations=[1, 1, 2, 2])
        got = flowsaver.Session().run(y, {xs: x.transpose(0, 3, 1, 2)})
    np.testing.assert_allclose(got.transpose(0, 2, 3, 1), want, rtol=1e-5, atol=1e-5)


GRADS = [
    ("batch_normalization", lambda api, x, m, v, o, s: api.nn.batch_normalization(
        x, m, v, o, s, 1e-3), [IMG, C3, C3, arr(3), C3]),
    ("moments", lambda api, x: api.add_n(list(api.nn.moments(x, [0, 1, 2]))), [IMG]),
    ("fused_batch_norm_training", lambda api, x, s, o: api.nn.fused_batch_norm(x, s, o)[0],
     [IMG, C3, arr(3)]),
    ("fused_batch_norm_inference", lambda api, x, s, o, m, v: api.nn.fused_batch_norm(
        x, s, o, m, v, is_training=False)[0], [IMG, C3, arr(3), arr(3), C3]),
    ("l2_normalize", lambda api, x: api.nn.l2_normalize(x, 1), [arr(2, 3)]),
    ("lrn", lambda api, x: api.nn.lrn(x, 2, 1.5, 0.3, 0.7), [arr(1, 2, 2, 6)]),
    ("depthwise", lambda api, x, w: api.nn.depthwise_conv2d(x, w, [1, 2, 2, 1], "SAME"),
     [IMG, DW]),
    ("depthwise_rate", lambda api, x, w: api.nn.depthwise_conv2d(
        x, w, [1, 1, 1, 1], "SAME", rate=[2, 2]), [arr(2, 7, 6, 3), DW]),
    ("atrous_conv2d", lambda api, x, w: api.nn.atrous_conv2d(x, w, 2, "VALID"),
     [arr(2, 8, 8, 3), arr(3, 3, 3, 2)]),
    ("conv1d", lambda api, x, k: api.nn.conv1d(x, k, 2, "SAME"), [SEQ, K1D]),
    ("conv2d_transpose", lambda api, x, k: api.nn.conv2d_transpose(
        x, k, [2, 10, 10, 4], [1, 2, 2, 1]), [IMG, arr(3, 3, 4, 3)]),
    ("separable_conv2d", lambda api, x, d, p: api.nn.separable_conv2d(
        x, d, p, [1, 1, 1, 1], "VALID"), [IMG, DW, arr(1, 1, 6, 4)]),
    ("sigmoid_xent", lambda api, z, x: api.nn.sigmoid_cross_entropy_with_logits(
        labels=z, logits=x), [arr(2, 3, low=0.0, high=1.0), arr(2, 3)]),
    ("embedding_lookup", lambda api, p: api.nn.embedding_lookup(p, [1, 2, 1]), [TABLE]),
    ("embedding_lookup_partitioned", lambda api, p, q: api.nn.embedding_lookup(
        [p, q], [[1, 2], [1, 3]]), [TABLE, TABLE2]),
    ("log1p_erf", lambda api, x: api.log1p(x * x) + api.erf(x), [arr(2, 3)]),
    ("nce_loss", lambda api, w, b, x: api.nn.nce_loss(
        w, b, api.constant(LAB), x, 3, 10, sampled_values=_sampled(api)),
     [TABLE, arr(10), arr(3, 3)]),
    ("sampled_softmax_loss", lambda api, w, b, x: api.nn.sampled_softmax_loss(
        w, b, api.constant(LAB), x, 3, 10, sampled_values=_sampled(api)),
     [TABLE, arr(10), arr(3, 3)]),
]


@pytest.mark.parametrize("name,fn,inputs", GRADS, ids=[c[0] for c in GRADS])
def test_gradients_match_tensorflow(tf, name, fn, inputs):
    def build(api):
        phs = [api.placeholder(a.dtype, a.shape, name=f"in{i}") for i, a in enumerate(inputs)]
        grads = api.gradients(fn(api, *phs), phs)
        return [api.convert_to_tensor(g) if g is not None else api.constant("none")
                for g in grads]
    built = build_both(tf, build)
    assert_same_graph_def(built[0][0], built[1][0])
    ours, theirs = run_built(tf, built, {f"in{i}": a for i, a in enumerate(inputs)})
    assert_close(ours, theirs, rtol=1e-4, atol=1e-4)


ERRORS = [
    ("fused_inference_needs_stats", lambda api: api.nn.fused_batch_norm(
        api.placeholder(np.float32, [1, 2, 2, 3]), [1.0] * 3, [0.0] * 3, is_training=False),
     ValueError),
    ("fused_rank", lambda api: api.nn.fused_batch_norm(
        api.placeholder(np.float32, [2, 3]), [1.0] * 3, [0.0] * 3), ValueError),
    ("sigmoid_xent_shapes", lambda api: api.nn.sigmoid_cross_entropy_with_logits(
        labels=api.placeholder(np.float32, [2, 3]), logits=api.placeholder(np.float32, [3, 2])),
     ValueError),
    ("depthwise_depth", lambda api: api.nn.depthwise_conv2d(
        api.placeholder(np.float32, [1, 4, 4, 3]), api.placeholder(np.float32, [2, 2, 2, 1]),
        [1, 1, 1, 1], "SAME"), ValueError),
    ("embedding_empty", lambda api: api.nn.embedding_lookup([], [0]), ValueError),
    ("lrn_rank", lambda api: api.nn.lrn(api.placeholder(np.float32, [2, 3])), ValueError),
]


@pytest.mark.parametrize("name,fn,exc", ERRORS, ids=[e[0] for e in ERRORS])
def test_build_errors_match_tensorflow(tf, name, fn, exc):
    with flowsaver.Graph().as_default(), pytest.raises(exc):
        fn(flowsaver)
    with tf1_mode(tf) as v1, v1.Graph().as_default(), pytest.raises(exc):
        fn(v1)


def test_sampled_softmax_with_its_sampler_matches_tensorflow_graph(tf):
    """The sampler draws from other random streams: same GraphDef, valid samples."""
    def build(api):
        w = api.placeholder(api.float32, [10, 3], name="w")
        loss = api.nn.sampled_softmax_loss(w, api.zeros([10]), api.constant([[1], [4]], api.int64),
                                           api.ones([2, 3]),
                                           4, 10)
        sampler = api.get_default_graph().get_operation_by_name(
            "sampled_softmax_loss/LogUniformCandidateSampler")
        return [loss] + list(sampler.outputs)
    built = build_both(tf, build)
    assert_same_graph_def(built[0][0], built[1][0])
    ours, theirs = run_built(tf, built, {"w": TABLE})
    for out in (ours, theirs):
        assert out[0].shape == (2,) and np.all(np.isfinite(out[0]))
        assert len(set(out[1].tolist())) == 4 and out[1].min() >= 0 and out[1].max() < 10
        # unique sampling: expected count = 1 - (1 - p)^tries, for a whole number of tries;
        # when no draw was repeated (tries == num_sampled) it is p * num_sampled instead
        p = np.log(np.array([3 / 2, 6 / 5])) / np.log(11.0)
        if np.allclose(out[2][:, 0], p * 4, rtol=1e-5):
            continue
        tries = np.log1p(-out[2][:, 0].astype(np.float64)) / np.log1p(-p)
        assert tries[0] >= 4 and np.allclose(tries, np.round(tries[0]), rtol=1e-4)


@pytest.mark.parametrize("version", ["FusedBatchNorm", "FusedBatchNormV2"])
@pytest.mark.parametrize("training", [True, False])
def test_first_fused_batch_norm_versions_match_tensorflow(tf, version, training):
    """FusedBatchNorm and FusedBatchNormV2, which graphs frozen before TensorFlow 1.13 hold:
    the node TensorFlow's raw op builds, its five outputs, and its gradient subgraph
    (FusedBatchNormGrad / FusedBatchNormGradV2) node for node with its values."""
    x, scale, offset = arr(2, 4, 3, 3), pos(3), arr(3)
    mean, var = (np.zeros(0, np.float32),) * 2 if training else (arr(3), pos(3))

    def build(api):
        t = api.placeholder(np.float32, x.shape, name="in0")
        outs = getattr(api.raw_ops, version)(
            x=t, scale=scale, offset=offset, mean=mean, variance=var, epsilon=0.001,
            is_training=training, name="bn")
        # (TensorFlow rewrites an inference batch norm into arithmetic, which has no
        # second output to fetch; the reserve spaces are its scratch)
        fetched = list(outs[:3]) if training else [outs[0]]
        return fetched + api.gradients(outs[0] * outs[0], [t])
    built = build_both(tf, build)
    assert_same_graph_def(built[0][0], built[1][0])
    ours, theirs = run_built(tf, built, {"in0": x})
    assert_close(ours, theirs, rtol=1e-4, atol=1e-4)
