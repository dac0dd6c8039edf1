"""The blocked convolution kernels (ops/nn/conv_gemm.py) against TensorFlow.

Real models' convolutions are split into cache-sized blocks of output rows; the small
tensors of the other interop rows fit in one block. Here the block size is shrunk so that
every split occurs (one row per block, bands of rows, several images per block), the
blocks run on one thread or two, and Conv2D, Conv2DBackpropInput and Conv2DBackpropFilter
are compared with TensorFlow's, for strides, dilations and SAME/VALID/explicit padding.
"""
from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest

import flowsaver
from flowsaver.format import cpu_load
from flowsaver.ops import blas_threads
from flowsaver.ops.nn import conv_gemm
from parity import assert_close, run_raw_op

RNG = np.random.default_rng(5)
X = RNG.standard_normal((3, 9, 11, 4)).astype(np.float32)
GEOMETRIES = [  # (filter HxW, strides, padding, dilations)
    ((3, 3), [1, 1, 1, 1], "SAME", [1, 1, 1, 1]),
    ((5, 3), [1, 1, 1, 1], "VALID", [1, 1, 1, 1]),
    ((3, 3), [1, 1, 1, 1], "SAME", [1, 2, 2, 1]),
    ((3, 2), [1, 1, 1, 1], "VALID", [1, 2, 3, 1]),
    ((3, 3), [1, 2, 2, 1], "SAME", [1, 1, 1, 1]),
    ((2, 2), [1, 2, 2, 1], "VALID", [1, 1, 1, 1]),
    ((3, 3), [1, 2, 1, 1], [[0, 0], [2, 1], [0, 3], [0, 0]], [1, 1, 1, 1]),
    ((3, 3), [1, 1, 1, 1], [[0, 0], [3, 0], [1, 1], [0, 0]], [1, 1, 1, 1]),
    ((1, 1), [1, 1, 1, 1], "VALID", [1, 1, 1, 1]),
]
BLOCK_BYTES = [16, 2000, 60000]   # a row per block, bands of rows, several images


def _attrs(strides, padding, dilations):
    attrs = {"strides": strides, "dilations": dilations}
    if isinstance(padding, list):
        attrs.update(padding="EXPLICIT", explicit_paddings=sum(padding, []))
    else:
        attrs["padding"] = padding
    return attrs


@pytest.mark.parametrize("gather", ["blocks", "slabs"])
@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("block", BLOCK_BYTES)
@pytest.mark.parametrize("k,strides,padding,dilations", GEOMETRIES)
def test_blocked_conv_kernels_match_tensorflow(tf, monkeypatch, block, k, strides, padding,
                                               dilations, workers, gather):
    monkeypatch.setattr(conv_gemm, "CHUNK_BYTES", block)
    monkeypatch.setattr(blas_threads.BlasThreads, "_kernel_workers", lambda self: workers)
    monkeypatch.setattr(cpu_load.METER, "free_cores", lambda: workers)   # an idle machine
    monkeypatch.setattr(blas_threads, "SPLIT_MIN_FLOPS", 1)   # split products too
    if gather == "blocks":   # 4 input channels would take the input gradient's slab path
        monkeypatch.setattr(conv_gemm, "SLAB_MAX_CHANNELS", 0)
        monkeypatch.setattr(conv_gemm, "SLAB_MAX_INPUT_GRAD_CHANNELS", 0)
    else:   # and the forward and filter gradient's with up to 4
        monkeypatch.setattr(conv_gemm, "SLAB_MAX_CHANNELS", 4)
    f = RNG.standard_normal(k + (4, 6)).astype(np.float32)
    attrs = _attrs(strides, padding, dilations)
    y, theirs = run_raw_op(tf, "Conv2D", {"input": X, "filter": f}, attrs)
    assert_close(y, theirs, rtol=1e-5, atol=1e-5, what="Conv2D")
    dy = RNG.standard_normal(y.shape).astype(np.float32)
    ours, theirs = run_raw_op(tf, "Conv2DBackpropInput", {
        "input_sizes": np.array(X.shape, np.int32), "filter": f, "out_backprop": dy}, attrs)
    assert_close(ours, theirs, rtol=1e-5, atol=1e-5, what="Conv2DBackpropInput")
    ours, theirs = run_raw_op(tf, "Conv2DBackpropFilter", {
        "input": X, "filter_sizes": np.array(f.shape, np.int32), "out_backprop": dy}, attrs)
    assert_close(ours, theirs, rtol=1e-4, atol=1e-4, what="Conv2DBackpropFilter")


PAIRED = [  # (filter HxW, strides, padding, dilations): each takes the paired product
    ((3, 3), [1, 1, 1, 1], "SAME", [1, 1, 1, 1]),
    ((5, 5), [1, 1, 1, 1], "SAME", [1, 1, 1, 1]),
    ((3, 3), [1, 2, 1, 1], "VALID", [1, 1, 1, 1]),
    ((3, 3), [1, 1, 1, 1], "SAME", [1, 2, 1, 1]),
    ((2, 3), [1, 1, 1, 1], [[0, 0], [1, 0], [1, 1], [0, 0]], [1, 1, 1, 1]),
]


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("k,strides,padding,dilations", PAIRED)
def test_paired_products_match_tensorflow(tf, monkeypatch, k, strides, padding, dilations,
                                          workers):
    """Correlations into few channels over an even output width multiply two neighbouring
    pixels per gathered row (``conv_gemm._paired``): Conv2D into 6 channels, and the
    input gradient into 5, against TensorFlow's, in blocks of a few rows."""
    monkeypatch.setattr(conv_gemm, "CHUNK_BYTES", 3000)
    monkeypatch.setattr(blas_threads.BlasThreads, "_kernel_workers", lambda self: workers)
    monkeypatch.setattr(cpu_load.METER, "free_cores", lambda: workers)
    monkeypatch.setattr(conv_gemm, "SLAB_MAX_CHANNELS", 0)
    monkeypatch.setattr(conv_gemm, "SLAB_MAX_INPUT_GRAD_CHANNELS", 0)
    taken = []
    pair_weights = conv_gemm._pair_weights
    monkeypatch.setattr(conv_gemm, "_pair_weights",
                        lambda *args: taken.append(args[1:]) or pair_weights(*args))
    x = RNG.standard_normal((2, 9, 12, 5)).astype(np.float32)
    f = RNG.standard_normal(k + (5, 6)).astype(np.float32)
    attrs = _attrs(strides, padding, dilations)
    y, theirs = run_raw_op(tf, "Conv2D", {"input": x, "filter": f}, attrs)
    assert_close(y, theirs, rtol=1e-5, atol=1e-5, what="Conv2D")
    assert taken and y.shape[2] % 2 == 0
    dy = RNG.standard_normal(y.shape).astype(np.float32)
    taken.clear()
    ours, theirs = run_raw_op(tf, "Conv2DBackpropInput", {
        "input_sizes": np.array(x.shape, np.int32), "filter": f, "out_backprop": dy}, attrs)
    assert_close(ours, theirs, rtol=1e-5, atol=1e-5, what="Conv2DBackpropInput")
    if strides == [1, 1, 1, 1]:   # strided input gradients take the col2im path
        assert taken


def test_scratch_is_reused_and_never_returned():
    """Two kernels in a row: the second reuses the first's scratch, and the first's output
    is not overwritten by it (outputs never alias scratch)."""
    conv_gemm.release_scratch()
    f = RNG.standard_normal((3, 3, 4, 6)).astype(np.float32)
    pads = ((1, 1), (1, 1))
    first = conv_gemm.conv_forward(X, f, pads, (9, 11), (1, 1), (1, 1))
    kept = first.copy()
    buffer = conv_gemm.scratch(conv_gemm.COLS, (1,), np.float32)
    second = conv_gemm.conv_forward(X[::-1].copy(), f, pads, (9, 11), (1, 1), (1, 1))
    assert conv_gemm.scratch(conv_gemm.COLS, (1,), np.float32).base is buffer.base
    np.testing.assert_array_equal(first, kept)
    # float32 rounding only: BLAS may round a row by its place in the block's product
    np.testing.assert_allclose(second, kept[::-1], rtol=1e-5, atol=1e-6)


POOLS = [  # (input shape, window, strides, padding): tiling, padded, overlapping windows
    ((6, 8, 10, 3), 2, 2, "VALID"),
    ((5, 7, 9, 3), 2, 2, "SAME"),
    ((4, 9, 9, 2), 3, 2, "SAME"),
]


@pytest.mark.parametrize("shape,k,s,padding", POOLS)
def test_image_pieces_on_two_threads_match_tensorflow(tf, monkeypatch, shape, k, s, padding):
    """Elementwise kernels cut into pieces of images run on two threads (forced for these
    small tensors): MaxPool, AvgPool, MaxPoolGrad (with ties and NaNs: pieces with them and
    pieces without), Relu, ReluGrad and BiasAdd."""
    monkeypatch.setattr(blas_threads.BlasThreads, "_kernel_workers", lambda self: 2)
    monkeypatch.setattr(cpu_load.METER, "free_cores", lambda: 2)   # an idle machine
    monkeypatch.setattr(blas_threads, "SPLIT_MIN_ELEMENTS", 1)
    x = RNG.standard_normal(shape).astype(np.float32)
    x[0, :2, :2] = 1.5   # ties: the first maximum of a window takes the gradient
    x[-1, 2:4, 2:4, 0] = np.nan   # a window of NaNs gives no gradient; NaN never wins
    x[-1, 4, 5, 1] = np.nan
    attrs = {"ksize": [1, k, k, 1], "strides": [1, s, s, 1], "padding": padding}
    y, theirs = run_raw_op(tf, "MaxPool", {"input": x}, attrs)
    assert_close(y, theirs, what="MaxPool")
    dy = RNG.standard_normal(y.shape).astype(np.float32)
    ours, theirs = run_raw_op(tf, "MaxPoolGrad", {"orig_input": x, "orig_output": y, "grad": dy},
                        attrs)
    assert_close(ours, theirs, what="MaxPoolGrad")
    ours, theirs = run_raw_op(tf, "AvgPool", {"value": x}, attrs)
    assert_close(ours, theirs, rtol=1e-6, atol=1e-6, what="AvgPool")
    g = RNG.standard_normal(shape).astype(np.float32)
    for op_type, inputs in (("Relu", {"features": x}),
                            ("ReluGrad", {"gradients": g, "features": x}),
                            ("BiasAdd", {"value": x, "bias": g[0, 0, 0]})):
        ours, theirs = run_raw_op(tf, op_type, inputs, {})
        assert_close(ours, theirs, what=op_type)


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_in_parts_on_two_threads_matches_tensorflow(tf, monkeypatch, training):
    """Batch norm's passes cut into parts of rows run on two threads (forced for this small
    tensor), the per-channel sums added part by part: FusedBatchNormV3 and its gradient."""
    from flowsaver.ops.nn import norm_math
    monkeypatch.setattr(blas_threads.BlasThreads, "_kernel_workers", lambda self: 2)
    monkeypatch.setattr(cpu_load.METER, "free_cores", lambda: 2)
    monkeypatch.setattr(blas_threads, "SPLIT_MIN_ELEMENTS", 1)
    monkeypatch.setattr(norm_math, "PART_ELEMENTS", 500)
    cuts = []
    each = norm_math._each
    monkeypatch.setattr(norm_math, "_each",
                        lambda fn, parts, size: cuts.append(len(parts)) or each(fn, parts, size))
    x = (RNG.standard_normal((4, 9, 11, 6)) * 3 + 1).astype(np.float32)
    scale = RNG.random(6).astype(np.float32) + 0.5
    offset = RNG.standard_normal(6).astype(np.float32)
    mean = RNG.standard_normal(6).astype(np.float32)
    var = RNG.random(6).astype(np.float32) + 0.5
    attrs = {"epsilon": 0.001, "is_training": training}
    inputs = {"x": x, "scale": scale, "offset": offset, "mean": mean, "variance": var}
    if training:
        ours, theirs = run_raw_op(tf, "FusedBatchNormV3", inputs, attrs)
        for name, a, b in zip(("y", "batch_mean", "batch_variance"), ours, theirs):
            assert_close(a, b, rtol=1e-5, atol=1e-5, what=f"FusedBatchNormV3 {name}")
    else:   # TensorFlow's grappler folds this all-constant op away; the formula instead
        from flowsaver.ops.op_builder import create_op
        with flowsaver.Graph().as_default():
            op = create_op("FusedBatchNormV3", list(inputs.values()), attrs)
            with flowsaver.Session() as sess:
                ours = sess.run(op)
        want = (x - mean) / np.sqrt(var.astype(np.float64) + 0.001) * scale + offset
        np.testing.assert_allclose(ours[0], want, rtol=1e-5, atol=1e-5)
    dy = RNG.standard_normal(x.shape).astype(np.float32)
    saved_mean, saved_var = (ours[3], ours[4]) if training else (mean, var)
    ours, theirs = run_raw_op(tf, "FusedBatchNormGradV3", {
        "y_backprop": dy, "x": x, "scale": scale, "reserve_space_1": saved_mean,
        "reserve_space_2": saved_var, "reserve_space_3": np.zeros(0, np.float32)}, attrs)
    for name, a, b in zip(("x_backprop", "scale_backprop", "offset_backprop"), ours, theirs):
        assert_close(a, b, rtol=1e-4, atol=1e-4, what=f"FusedBatchNormGradV3 {name}")
    assert cuts and min(cuts) > 1


@pytest.mark.parametrize("k,s,padding,hw", [(2, 2, "VALID", (7, 9)), (3, 2, "SAME", (7, 9)),
                                            (2, 1, "SAME", (7, 9)), (3, 3, "VALID", (7, 9)),
                                            (2, 2, "VALID", (8, 10))])   # windows tile
@pytest.mark.parametrize("dtype", [np.float32, np.float16, "bfloat16"])
def test_max_pool_nan_and_infinity_windows_match_tensorflow(tf, k, s, padding, hw, dtype):
    """TensorFlow's max pool starts at the lowest value and takes only greater elements
    (NaN never wins; NaN or -inf windows give the lowest finite value); its gradient runs a
    maximum from each window's first element inside the input, so a NaN there keeps the
    gradient, and ties go to the first. Windows of every such kind, at borders too; the
    last geometry's windows tile the input (the gradient's own path for that case)."""
    x = np.arange(2 * hw[0] * hw[1] * 2, dtype=np.float32).reshape(2, *hw, 2) % 11
    x[0, 0:2, 0:2, 0] = np.nan                  # all NaN (a border window's first element)
    x[0, 0:3, 2:4, 1] = -np.inf
    dtype = np.dtype(dtype) if dtype != "bfloat16" else np.dtype(ml_dtypes.bfloat16)
    x[0, 2:4, 4:6, 0] = ml_dtypes.finfo(dtype).min
    x[0, 3, 0, 1] = np.nan                       # NaN first inside a border window
    x[1, 1, 1, :] = np.nan                       # NaN after the first element
    x[1, 4:6, 4:6, 1] = [[np.nan, 3], [5, np.nan]]
    x[1, 5, 7, 0] = -0.0                         # a tie of 0.0 and -0.0
    x[1, 5, 8, 0] = 0.0
    x = x.astype(dtype)
    attrs = {"ksize": [1, k, k, 1], "strides": [1, s, s, 1], "padding": padding}
    y, theirs = run_raw_op(tf, "MaxPool", {"input": x}, attrs)
    assert_close(y, theirs, rtol=0, atol=0, what="MaxPool")
    dy = (np.arange(y.size).reshape(y.shape) % 7 + 1).astype(dtype)
    ours, theirs = run_raw_op(tf, "MaxPoolGrad", {"orig_input": x, "orig_output": y,
                                                  "grad": dy}, attrs)
    assert_close(ours, theirs, rtol=0, atol=0, what="MaxPoolGrad")


@pytest.mark.parametrize("k,s,padding,hw", [(2, 2, "VALID", (6, 8)), (3, 2, "SAME", (7, 9)),
                                            (2, 2, "VALID", (7, 9))])
def test_max_pool_grad_of_infinite_and_nan_gradients_matches_tensorflow(tf, k, s, padding,
                                                                        hw):
    """An infinite or NaN gradient goes to its window's maximum alone: the window's other
    elements get zero, as in TensorFlow (a product with a 0/1 mask would make them NaN)."""
    x = RNG.standard_normal((2, *hw, 3)).astype(np.float32)
    attrs = {"ksize": [1, k, k, 1], "strides": [1, s, s, 1], "padding": padding}
    y, _ = run_raw_op(tf, "MaxPool", {"input": x}, attrs)
    dy = RNG.standard_normal(y.shape).astype(np.float32)
    dy[0, 0, 0] = np.inf
    dy[1, 1, 1, 0] = -np.inf
    dy[1, 0, 1, 2] = np.nan
    ours, theirs = run_raw_op(tf, "MaxPoolGrad", {"orig_input": x, "orig_output": y,
                                                  "grad": dy}, attrs)
    assert np.isnan(theirs).sum() == 1
    assert_close(ours, theirs, rtol=0, atol=0, what="MaxPoolGrad")


DEPTHWISE = [  # (filter HxW, strides, padding, dilations)
    ((3, 3), [1, 1, 1, 1], "SAME", [1, 1, 1, 1]),
    ((3, 2), [1, 1, 1, 1], "VALID", [1, 1, 1, 1]),
    ((3, 3), [1, 2, 2, 1], "SAME", [1, 1, 1, 1]),
    ((2, 3), [1, 2, 1, 1], "VALID", [1, 1, 1, 1]),
    ((3, 3), [1, 1, 1, 1], "SAME", [1, 2, 2, 1]),
    ((5, 5), [1, 1, 1, 1], "SAME", [1, 1, 1, 1]),
    ((2, 2), [1, 3, 3, 1], "SAME", [1, 1, 1, 1]),    # phases no tap reaches: zero gradient
    ((1, 1), [1, 2, 2, 1], "VALID", [1, 1, 1, 1]),
    ((3, 3), [1, 2, 2, 1], [[0, 0], [2, 1], [0, 3], [0, 0]], [1, 1, 1, 1]),
]
DEPTHWISE_BLOCKS = [8, 150, 5000]   # a row per block, bands of rows, several images


@pytest.mark.parametrize("multiplier", [1, 3])
@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("block", DEPTHWISE_BLOCKS)
@pytest.mark.parametrize("k,strides,padding,dilations", DEPTHWISE)
def test_blocked_depthwise_kernels_match_tensorflow(tf, monkeypatch, block, k, strides,
                                                    padding, dilations, workers, multiplier):
    """DepthwiseConv2dNative and both gradients in blocks of output rows (ops/nn/
    depthwise_math.py), shrunk here so that every split occurs, on one thread or two.

    TensorFlow's raw gradient ops are wrong with dilations (measured with 2.21: their
    values fail the adjoint identity below, while the gradient TensorFlow's own
    ``tf.nn.depthwise_conv2d`` takes, through space-to-batch, agrees with ours), so
    dilated gradients are checked by that identity: for the linear map y = conv(x, f),
    <y, dy> = <x, dx> = <f, df>."""
    from flowsaver.ops.nn import depthwise_math
    monkeypatch.setattr(depthwise_math, "BLOCK_ELEMENTS", block)
    monkeypatch.setattr(blas_threads.BlasThreads, "_kernel_workers", lambda self: workers)
    monkeypatch.setattr(cpu_load.METER, "free_cores", lambda: workers)
    monkeypatch.setattr(blas_threads, "SPLIT_MIN_ELEMENTS", 1)
    f = RNG.standard_normal(k + (4, multiplier)).astype(np.float32)
    attrs = _attrs(strides, padding, dilations)
    y, theirs = run_raw_op(tf, "DepthwiseConv2dNative", {"input": X, "filter": f}, attrs)
    assert_close(y, theirs, rtol=1e-5, atol=1e-5, what="DepthwiseConv2dNative")
    dy = RNG.standard_normal(y.shape).astype(np.float32)
    dx, theirs_dx = run_raw_op(tf, "DepthwiseConv2dNativeBackpropInput", {
        "input_sizes": np.array(X.shape, np.int32), "filter": f, "out_backprop": dy}, attrs)
    df, theirs_df = run_raw_op(tf, "DepthwiseConv2dNativeBackpropFilter", {
        "input": X, "filter_sizes": np.array(f.shape, np.int32), "out_backprop": dy}, attrs)
    if dilations == [1, 1, 1, 1]:
        assert_close(dx, theirs_dx, rtol=1e-5, atol=1e-5,
                     what="DepthwiseConv2dNativeBackpropInput")
        assert_close(df, theirs_df, rtol=1e-4, atol=1e-4,
                     what="DepthwiseConv2dNativeBackpropFilter")
    else:
        assert dx.shape == X.shape and df.shape == f.shape
        inner = np.vdot(y.astype(np.float64), dy)
        # float32 rounding, relative to the terms' size (the sum may cancel to near zero)
        scale = 1e-5 * np.abs(y.astype(np.float64) * dy).sum()
        np.testing.assert_allclose(np.vdot(X.astype(np.float64), dx), inner, atol=scale)
        np.testing.assert_allclose(np.vdot(f.astype(np.float64), df), inner, atol=scale)


GROUPED_FILTERS = [(2, 6), (1, 8), (1, 4)]   # (filter depth, outputs): 2 groups; 4 of one


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("depth,outputs", GROUPED_FILTERS)
@pytest.mark.parametrize("k,strides,padding,dilations", GEOMETRIES[:7])
def test_grouped_conv_kernels_match_tensorflow(tf, monkeypatch, k, strides, padding,
                                               dilations, depth, outputs, workers):
    """Conv2D whose filter sees a part of the input channels (grouped_conv.py): groups of
    two channels go through the blocked products, groups of one through the depthwise
    kernels; in small blocks, on one thread or two. TensorFlow has no grouped gradient
    kernels on the CPU ("not supported on CPU"), so the gradients are compared with its
    ungrouped gradients of each group's slices, side by side."""
    from flowsaver.ops.nn import depthwise_math
    monkeypatch.setattr(conv_gemm, "CHUNK_BYTES", 2000)
    monkeypatch.setattr(depthwise_math, "BLOCK_ELEMENTS", 150)
    monkeypatch.setattr(blas_threads.BlasThreads, "_kernel_workers", lambda self: workers)
    monkeypatch.setattr(cpu_load.METER, "free_cores", lambda: workers)
    monkeypatch.setattr(blas_threads, "SPLIT_MIN_FLOPS", 1)
    monkeypatch.setattr(blas_threads, "SPLIT_MIN_ELEMENTS", 1)
    f = RNG.standard_normal(k + (depth, outputs)).astype(np.float32)
    attrs = _attrs(strides, padding, dilations)
    y, theirs = run_raw_op(tf, "Conv2D", {"input": X, "filter": f}, attrs)
    assert_close(y, theirs, rtol=1e-5, atol=1e-5, what="Conv2D")
    dy = RNG.standard_normal(y.shape).astype(np.float32)
    dx, _ = run_raw_op(tf, "Conv2DBackpropInput", {
        "input_sizes": np.array(X.shape, np.int32), "filter": f, "out_backprop": dy}, attrs,
        ours_only=True)
    df, _ = run_raw_op(tf, "Conv2DBackpropFilter", {
        "input": X, "filter_sizes": np.array(f.shape, np.int32), "out_backprop": dy}, attrs,
        ours_only=True)
    groups = X.shape[3] // depth
    per = outputs // groups
    for g in range(groups):
        xg = np.ascontiguousarray(X[..., g * depth:(g + 1) * depth])
        fg = np.ascontiguousarray(f[..., g * per:(g + 1) * per])
        dyg = np.ascontiguousarray(dy[..., g * per:(g + 1) * per])
        _, theirs = run_raw_op(tf, "Conv2DBackpropInput", {
            "input_sizes": np.array(xg.shape, np.int32), "filter": fg, "out_backprop": dyg},
            attrs)
        assert_close(dx[..., g * depth:(g + 1) * depth], theirs, rtol=1e-5, atol=1e-5,
                     what=f"Conv2DBackpropInput, group {g}")
        _, theirs = run_raw_op(tf, "Conv2DBackpropFilter", {
            "input": xg, "filter_sizes": np.array(fg.shape, np.int32), "out_backprop": dyg},
            attrs)
        assert_close(df[..., g * per:(g + 1) * per], theirs, rtol=1e-4, atol=1e-4,
                     what=f"Conv2DBackpropFilter, group {g}")


@pytest.mark.parametrize("dtype", [np.float16, ml_dtypes.bfloat16])
def test_sixteen_bit_depthwise_and_grouped_kernels_match_tensorflow(tf, dtype):
    """Half and bfloat16 depthwise convolutions, both gradients, and a grouped Conv2D
    compute in float32 and round once (NumPy's einsum has no bfloat16 loop): within one
    unit in the last place of the float64 result of the same 16-bit inputs. TensorFlow's
    oneDNN kernels accumulate the filter gradient in 16 bits (measured: 0.049 off the
    float64 result in half, 1.18 in bfloat16, at magnitudes up to 50, against flowsaver's
    0.009 and 0.125), so against TensorFlow the check is loose (5% of the largest value)."""
    eps = float(ml_dtypes.finfo(dtype).eps)
    x = X.astype(dtype)
    f = RNG.standard_normal((3, 3, 4, 2)).astype(dtype)
    g = RNG.standard_normal((3, 3, 2, 6)).astype(dtype)
    attrs = _attrs([1, 1, 1, 1], "SAME", [1, 1, 1, 1])
    dy = RNG.standard_normal((3, 9, 11, 8)).astype(dtype)
    cases = [("DepthwiseConv2dNative", {"input": x, "filter": f}),
             ("DepthwiseConv2dNativeBackpropInput", {
                 "input_sizes": np.array(x.shape, np.int32), "filter": f, "out_backprop": dy}),
             ("DepthwiseConv2dNativeBackpropFilter", {
                 "input": x, "filter_sizes": np.array(f.shape, np.int32), "out_backprop": dy}),
             ("Conv2D", {"input": x, "filter": g})]
    for op_type, inputs in cases:
        ours, theirs = run_raw_op(tf, op_type, inputs, attrs)
        wide = {k: v.astype(np.float64) if v.dtype == dtype else v for k, v in inputs.items()}
        exact, _ = run_raw_op(tf, op_type, wide, attrs, ours_only=True)
        assert ours.dtype == dtype, op_type
        np.testing.assert_allclose(ours.astype(np.float64), exact, rtol=eps, atol=eps,
                                   err_msg=op_type)
        top = float(np.abs(exact).max())
        np.testing.assert_allclose(theirs.astype(np.float64), exact, rtol=0.05,
                                   atol=0.05 * top, err_msg=f"TensorFlow's {op_type}")
