"""Numeric gradient checks: one row per registered gradient, in float64.

Each row builds a small program around its op over placeholders; the test compares
``tf.gradients`` of ``sum(w * y)`` (``w`` a fixed random weight per output) with central
differences of the same loss, element by element. A registered op type without a row
fails the test, so every new gradient comes with its check.
"""
from __future__ import annotations

import numpy as np
import pytest

import flowsaver as tf
from flowsaver.ops import registry
from flowsaver.ops.op_builder import create_op

RNG = np.random.default_rng(5)
F64 = tf.float64


def arr(*shape, low=-2.0, high=2.0):
    return RNG.uniform(low, high, shape)


def pos(*shape):
    return arr(*shape, low=0.5, high=2.0)


def const(value, dtype="int32"):
    return tf.constant(value, dtype=dtype)


CONV = {"strides": [1, 2, 2, 1], "padding": "SAME"}
POOL = {"ksize": [1, 3, 3, 1], "strides": [1, 2, 2, 1], "padding": "SAME"}
SLICE_MASKS = {"begin_mask": 1, "end_mask": 2, "shrink_axis_mask": 0}


def _read_variable(tf_, x):
    """A resource variable read: the check perturbs the value the read returns."""
    handle = create_op("VarHandleOp", [], {"dtype": F64, "shape": [2, 3], "shared_name": "v"})
    value = create_op("ReadVariableOp", [handle], {"dtype": F64})
    return value * x, [handle], [value]


def _loop(tf, x, y):
    """A while loop: ``x`` a loop variable, ``y`` an invariant (Enter, Merge, LoopCond,
    Switch, NextIteration, Exit; the gradient loop pops the forward values)."""
    return tf.while_loop(lambda i, a: i < 3, lambda i, a: (i + 1, tf.tanh(a) * y), [0, x])[1]


def _cond(pred):
    return lambda tf, x, y: tf.cond(tf.constant(pred), lambda: x * y, lambda: tf.tanh(x) - y)


def _ref_loop(tf, x):
    """A loop over a variable's ref (RefEnter, RefMerge, RefSwitch, RefIdentity,
    RefNextIteration, RefExit) beside the checked program; never run (the variable is not
    initialized), these nodes share their gradient functions with the plain ones."""
    v = tf.Variable(np.zeros([2, 3]), name="v")
    tf.while_loop(lambda r: tf.constant(False), lambda r: r, [v._variable])
    return _loop(tf, x, x)


def _ta_write_read(tf, x, y):
    ta = tf.TensorArray(F64, size=2).write(0, x).write(1, y * 2.0)
    return ta.read(1) * ta.read(0)


def _ta_scatter_gather(tf, x):
    return tf.TensorArray(F64, size=3).scatter([2, 0, 1], x).gather([1, 2]) * x[:2]


def _ta_split_concat(tf, x):
    joined = tf.TensorArray(F64, size=2, infer_shape=False).split(x, [1, 2]).concat()
    return tf.reshape(joined, [3, 2]) * x


# (op type, fn(tf, *placeholders) -> y | [y...] | (y, wrt, fed), float64 inputs, options)
ROWS = [
    ("Split", lambda tf, x: tf.split(x, 3, axis=1), [arr(2, 3)], {}),
    ("SplitV", lambda tf, x: tf.split(x, [1, -1], axis=1), [arr(2, 3)], {}),
    ("ReverseV2", lambda tf, x: tf.reverse(x, [1]) * x, [arr(2, 3)], {}),
    ("ReverseSequence", lambda tf, x: tf.reverse_sequence(x, [2, 3], 1) * x, [arr(2, 3)], {}),
    ("ScatterNd", lambda tf, u: tf.scatter_nd([[1, 0], [0, 2], [1, 0]], u, [2, 3]), [arr(3)],
     {}),
    ("GatherNd", lambda tf, x: tf.gather_nd(x, [[1, 0], [0, 2], [1, 0]]), [arr(2, 3)], {}),
    ("TopKV2", lambda tf, x: tf.nn.top_k(x, 2)[0], [arr(3, 4)], {}),
    ("TensorArrayReadV3", _ta_write_read, [arr(2, 3), arr(2, 3)], {}),
    ("TensorArrayWriteV3", _ta_write_read, [arr(2, 3), arr(2, 3)], {}),
    ("TensorArrayGatherV3", _ta_scatter_gather, [arr(3, 2)], {}),
    ("TensorArrayScatterV3", _ta_scatter_gather, [arr(3, 2)], {}),
    ("TensorArrayConcatV3", _ta_split_concat, [arr(3, 2)], {}),
    ("TensorArraySplitV3", _ta_split_concat, [arr(3, 2)], {}),
    ("Enter", _loop, [arr(2, 3), arr(2, 3)], {}),
    ("Exit", _loop, [arr(2, 3), arr(2, 3)], {}),
    ("NextIteration", _loop, [arr(2, 3), arr(2, 3)], {}),
    ("LoopCond", _loop, [arr(2, 3), arr(2, 3)], {}),
    ("Switch", _cond(True), [arr(2, 3), arr(2, 3)], {}),
    ("Merge", _cond(False), [arr(2, 3), arr(2, 3)], {}),
    ("RefEnter", _ref_loop, [arr(2, 3)], {}),
    ("RefExit", _ref_loop, [arr(2, 3)], {}),
    ("RefIdentity", _ref_loop, [arr(2, 3)], {}),
    ("RefMerge", _ref_loop, [arr(2, 3)], {}),
    ("RefNextIteration", _ref_loop, [arr(2, 3)], {}),
    ("RefSwitch", _ref_loop, [arr(2, 3)], {}),
    ("Abs", lambda tf, x: tf.abs(x), [arr(2, 3)], {}),
    ("Acos", lambda tf, x: tf.acos(x), [arr(2, 3, low=-0.9, high=0.9)], {}),
    ("Acosh", lambda tf, x: tf.acosh(x), [arr(2, 3, low=1.2, high=3.0)], {}),
    ("AddN", lambda tf, x, y: tf.add_n([x, y, x]), [arr(2, 3), arr(2, 3)], {}),
    ("AddV2", lambda tf, x, y: x + y, [arr(2, 3), arr(3)], {}),
    ("Asin", lambda tf, x: tf.asin(x), [arr(2, 3, low=-0.9, high=0.9)], {}),
    ("Asinh", lambda tf, x: tf.asinh(x), [arr(2, 3)], {}),
    ("Atan", lambda tf, x: tf.atan(x), [arr(2, 3)], {}),
    ("Atan2", lambda tf, y, x: tf.atan2(y, x), [arr(2, 3), pos(3)], {}),
    ("Atanh", lambda tf, x: tf.atanh(x), [arr(2, 3, low=-0.9, high=0.9)], {}),
    ("AvgPool", lambda tf, x: tf.nn.avg_pool(x, **POOL), [arr(1, 5, 5, 2)], {}),
    ("AvgPoolGrad", lambda tf, g: create_op("AvgPoolGrad", [const([1, 5, 5, 2]), g], POOL),
     [arr(1, 3, 3, 2)], {}),
    ("BatchMatMulV2", lambda tf, a, b: tf.matmul(a, b), [arr(2, 2, 3), arr(3, 4)], {}),
    ("BatchMatMulV2", lambda tf, a, b: tf.matmul(a, b, transpose_a=True, adjoint_b=True),
     [arr(2, 1, 3, 2), arr(3, 4, 3)], {"id": "BatchMatMulV2-broadcast-adjoint"}),
    ("BiasAdd", lambda tf, x, b: tf.nn.bias_add(x, b), [arr(2, 3), arr(3)], {}),
    ("BiasAddGrad", lambda tf, g: create_op("BiasAddGrad", [g]), [arr(2, 3, 4)], {}),
    ("BroadcastTo", lambda tf, x: create_op("BroadcastTo", [x, const([2, 3])]), [arr(1, 3)],
     {}),
    ("Cast", lambda tf, x: tf.cast(x, tf.float32), [arr(2, 3)], {"eps": 1e-2, "tol": 1e-5}),
    ("ConcatV2", lambda tf, x, y: tf.concat([x, y], 1), [arr(2, 3), arr(2, 1)], {}),
    ("ReverseV2", lambda tf, x: tf.reverse(x, [0, -1]), [arr(2, 3, 2)], {}),
    ("CheckNumerics", lambda tf, x: tf.check_numerics(x, "finite"), [arr(2, 3)], {}),
    ("Conj", lambda tf, x: create_op("Conj", [tf.cast(x, tf.complex128)]), [arr(2, 3)], {}),
    ("Conv2D", lambda tf, x, k: tf.nn.conv2d(x, k, **CONV), [arr(2, 5, 5, 2), arr(3, 3, 2, 3)],
     {}),
    ("Conv2D", lambda tf, x, k: tf.nn.conv2d(x, k, [1, 1, 1, 1], "VALID", dilations=[1, 2, 1, 1]),
     [arr(1, 6, 5, 2), arr(2, 2, 2, 2)], {"id": "Conv2D-valid-dilated"}),
    ("Conv2DBackpropFilter", lambda tf, x, g: create_op(
        "Conv2DBackpropFilter", [x, const([3, 3, 2, 3]), g], CONV),
     [arr(1, 5, 5, 2), arr(1, 3, 3, 3)], {}),
    ("Conv2DBackpropInput", lambda tf, k, g: create_op(
        "Conv2DBackpropInput", [const([1, 5, 5, 2]), k, g], CONV),
     [arr(3, 3, 2, 3), arr(1, 3, 3, 3)], {}),
    ("Cos", lambda tf, x: tf.cos(x), [arr(2, 3)], {}),
    ("Cosh", lambda tf, x: tf.cosh(x), [arr(2, 3)], {}),
    ("Einsum", lambda tf, a, b: tf.einsum("bij,jk->bik", a, b), [arr(2, 2, 3), arr(3, 4)], {}),
    ("Einsum", lambda tf, a, b: tf.einsum("...ij,...kj->...ik", a, b), [arr(2, 2, 3), arr(1, 4, 3)],
     {"id": "Einsum-ellipsis-broadcast"}),
    ("Einsum", lambda tf, a: [tf.einsum("ijk->ki", a), tf.einsum("ii->i", a[0, :, :3])],
     [arr(2, 3, 4)], {"id": "Einsum-unary"}),
    ("Cumprod", lambda tf, x: [tf.cumprod(x, 1), tf.cumprod(x, 0, exclusive=True, reverse=True)],
     [pos(2, 3)], {}),
    ("Cumsum", lambda tf, x: [tf.cumsum(x, 1), tf.cumsum(x, 0, exclusive=True, reverse=True)],
     [arr(2, 3)], {}),
    ("DivNoNan", lambda tf, x, y: tf.div_no_nan(x, y), [arr(2, 3), pos(3)], {}),
    ("Elu", lambda tf, x: tf.nn.elu(x), [arr(2, 3)], {}),
    ("EluGrad", lambda tf, g, y: create_op("EluGrad", [g, y]), [arr(2, 3), arr(2, 3)], {}),
    ("Erf", lambda tf, x: tf.erf(x), [arr(2, 3)], {}),
    ("Erfc", lambda tf, x: tf.erfc(x), [arr(2, 3)], {}),
    ("Exp", lambda tf, x: tf.exp(x), [arr(2, 3)], {}),
    ("Expm1", lambda tf, x: tf.expm1(x), [arr(2, 3)], {}),
    ("ExpandDims", lambda tf, x: tf.expand_dims(x, 1), [arr(2, 3)], {}),
    ("Fill", lambda tf, x: tf.fill([2, 2], x), [arr()], {}),
    ("FloorMod", lambda tf, x, y: tf.floormod(x, y), [arr(2, 3), pos(3)], {}),
    ("GatherNd", lambda tf, x: tf.gather_nd(x, [[1, 2], [0, 0], [1, 2]]), [arr(2, 3)], {}),
    ("GatherNd", lambda tf, x: tf.gather_nd(x, [[1], [1]]), [arr(2, 3)], {"id": "GatherNd-rows"}),
    ("GatherV2", lambda tf, x: tf.gather(x, [1, 0, 1]), [arr(2, 3)], {}),
    ("GatherV2", lambda tf, x: tf.gather(x, [2, 0], axis=1), [arr(2, 3)],
     {"id": "GatherV2-axis1"}),
    ("Identity", lambda tf, x: tf.identity(x), [arr(2, 3)], {}),
    ("L2Loss", lambda tf, x: tf.nn.l2_loss(x), [arr(2, 3)], {}),
    ("LeakyRelu", lambda tf, x: tf.nn.leaky_relu(x, 0.3), [arr(2, 3)], {}),
    ("LeakyReluGrad", lambda tf, g, x: create_op("LeakyReluGrad", [g, x], {"alpha": 0.3}),
     [arr(2, 3), arr(2, 3)], {}),
    ("Log", lambda tf, x: tf.log(x), [pos(2, 3)], {}),
    ("Log1p", lambda tf, x: tf.log1p(x), [pos(2, 3)], {}),
    ("LogSoftmax", lambda tf, x: tf.nn.log_softmax(x), [arr(2, 3)], {}),
    ("MatMul", lambda tf, a, b: tf.matmul(a, b), [arr(2, 3), arr(3, 4)], {}),
    ("MatMul", lambda tf, a, b: tf.matmul(a, b, transpose_a=True, transpose_b=True),
     [arr(3, 2), arr(4, 3)], {"id": "MatMul-transposed"}),
    ("Max", lambda tf, x: tf.reduce_max(x, 1), [arr(2, 3)], {}),
    ("MaxPool", lambda tf, x: tf.nn.max_pool(x, **POOL), [arr(2, 5, 5, 2)], {}),
    ("Maximum", lambda tf, x, y: tf.maximum(x, y), [arr(2, 3), arr(3)], {}),
    ("Mean", lambda tf, x: tf.reduce_mean(x, 0), [arr(2, 3)], {}),
    ("Min", lambda tf, x: tf.reduce_min(x), [arr(2, 3)], {}),
    ("Minimum", lambda tf, x, y: tf.minimum(x, y), [arr(2, 3), arr(2, 1)], {}),
    ("Mul", lambda tf, x, y: x * y, [arr(2, 3), arr(3)], {}),
    ("Neg", lambda tf, x: -x, [arr(2, 3)], {}),
    ("Pack", lambda tf, x, y: tf.stack([x, y], 1), [arr(2, 3), arr(2, 3)], {}),
    ("Pad", lambda tf, x: tf.pad(x, [[1, 0], [0, 2]]), [arr(2, 3)], {}),
    ("PadV2", lambda tf, x: tf.pad(x, [[1, 0], [0, 2]], constant_values=1.5), [arr(2, 3)], {}),
    ("PlaceholderWithDefault", lambda tf, x: tf.placeholder_with_default(x, [2, 3]),
     [arr(2, 3)], {}),
    ("Pow", lambda tf, x, y: tf.pow(x, y), [pos(2, 3), arr(3)], {}),
    ("Print", lambda tf, x: tf.Print(x * 2.0, [x], first_n=0), [arr(2, 3)], {}),
    ("Prod", lambda tf, x: tf.reduce_prod(x, 1), [arr(2, 3)], {}),
    ("Prod", lambda tf, x: tf.reduce_prod(x * tf.constant([[1.0, 0.0, 1.0], [1.0, 1.0, 1.0]],
                                                          dtype=tf.float64)),
     [arr(2, 3)], {"id": "Prod-with-zero"}),
    ("ReadVariableOp", _read_variable, [arr(2, 3)], {}),
    ("RealDiv", lambda tf, x, y: x / y, [arr(2, 3), pos(3)], {}),
    ("Reciprocal", lambda tf, x: tf.reciprocal(x), [pos(2, 3)], {}),
    ("ReciprocalGrad", lambda tf, y, g: create_op("ReciprocalGrad", [y, g]),
     [pos(2, 3), arr(2, 3)], {}),
    ("Relu", lambda tf, x: tf.nn.relu(x), [arr(2, 3)], {}),
    ("Relu6", lambda tf, x: tf.nn.relu6(x * 4.0), [arr(2, 3)], {}),
    ("Relu6Grad", lambda tf, g, x: create_op("Relu6Grad", [g, x * 4.0]), [arr(2, 3), arr(2, 3)],
     {}),
    ("ReluGrad", lambda tf, g, x: create_op("ReluGrad", [g, x]), [arr(2, 3), arr(2, 3)], {}),
    ("Reshape", lambda tf, x: tf.reshape(x, [3, 2]), [arr(2, 3)], {}),
    ("ReverseV2", lambda tf, x: tf.reverse(x, [0, -1]), [arr(2, 3)], {}),
    ("Rsqrt", lambda tf, x: tf.rsqrt(x), [pos(2, 3)], {}),
    ("RsqrtGrad", lambda tf, y, g: create_op("RsqrtGrad", [y, g]), [pos(2, 3), arr(2, 3)], {}),
    ("ScatterNd", lambda tf, u: tf.scatter_nd([[1], [0], [1]], u, [3, 2]), [arr(3, 2)], {}),
    ("SegmentSum", lambda tf, x: tf.reshape(tf.segment_sum(x, [0, 0, 2]), [3, 2]), [arr(3, 2)],
     {}),
    ("Select", lambda tf, x, y: tf.where(tf.constant([[True, False, True]] * 2), x, y),
     [arr(2, 3), arr(2, 3)], {}),
    ("SelectV2", lambda tf, x, y: tf.where_v2(tf.constant([True, False, True]), x, y),
     [arr(2, 3), arr(3)], {}),
    ("Selu", lambda tf, x: tf.nn.selu(x), [arr(2, 3)], {}),
    ("SeluGrad", lambda tf, g, y: create_op("SeluGrad", [g, y]), [arr(2, 3), arr(2, 3)], {}),
    ("Sigmoid", lambda tf, x: tf.sigmoid(x), [arr(2, 3)], {}),
    ("SigmoidGrad", lambda tf, y, g: create_op("SigmoidGrad", [y, g]), [arr(2, 3), arr(2, 3)],
     {}),
    ("Sign", lambda tf, x: tf.sign(x) * x, [arr(2, 3)], {}),
    ("Sin", lambda tf, x: tf.sin(x), [arr(2, 3)], {}),
    ("Sinh", lambda tf, x: tf.sinh(x), [arr(2, 3)], {}),
    ("Slice", lambda tf, x: tf.slice(x, [0, 1], [2, 2]), [arr(2, 3)], {}),
    ("Softmax", lambda tf, x: tf.nn.softmax(x), [arr(2, 3)], {}),
    ("SoftmaxCrossEntropyWithLogits", lambda tf, x, l: create_op(
        "SoftmaxCrossEntropyWithLogits", [x, tf.nn.softmax(l)])[0], [arr(2, 3), arr(2, 3)], {}),
    # TensorFlow's gradient ignores the labels' effect on the backprop output: logits only
    ("SoftmaxCrossEntropyWithLogits", lambda tf, x: create_op(
        "SoftmaxCrossEntropyWithLogits", [x, tf.nn.softmax(tf.constant(arr(2, 3)))]),
     [arr(2, 3)], {"id": "SoftmaxCrossEntropyWithLogits-backprop"}),
    ("Softplus", lambda tf, x: tf.nn.softplus(x), [arr(2, 3)], {}),
    ("SoftplusGrad", lambda tf, g, x: create_op("SoftplusGrad", [g, x]), [arr(2, 3), arr(2, 3)],
     {}),
    ("Softsign", lambda tf, x: tf.nn.softsign(x), [arr(2, 3)], {}),
    ("SparseSoftmaxCrossEntropyWithLogits", lambda tf, x: create_op(
        "SparseSoftmaxCrossEntropyWithLogits", [x, const([2, 0], "int64")]), [arr(2, 3)], {}),
    ("Split", lambda tf, x: tf.split(x, 3, 1), [arr(2, 3)], {}),
    ("SplitV", lambda tf, x: tf.split(x, [2, -1], 1), [arr(2, 3)], {}),
    ("Sqrt", lambda tf, x: tf.sqrt(x), [pos(2, 3)], {}),
    ("SqrtGrad", lambda tf, y, g: create_op("SqrtGrad", [y, g]), [pos(2, 3), arr(2, 3)], {}),
    ("Square", lambda tf, x: tf.square(x), [arr(2, 3)], {}),
    ("SquaredDifference", lambda tf, x, y: tf.squared_difference(x, y), [arr(2, 3), arr(3)],
     {}),
    ("Squeeze", lambda tf, x: tf.squeeze(x, [1]), [arr(2, 1, 3)], {}),
    ("StridedSlice", lambda tf, x: x[:, 1:] + x[1, ::2][0], [arr(2, 3)], {}),
    ("StridedSliceGrad", lambda tf, g: create_op(
        "StridedSliceGrad", [const([3, 4]), const([0, 1]), const([2, 3]), const([1, 1]), g],
        SLICE_MASKS), [arr(2, 3)], {}),
    ("Sub", lambda tf, x, y: x - y, [arr(2, 3), arr(2, 1)], {}),
    ("Sum", lambda tf, x: tf.reduce_sum(x, 1), [arr(2, 3)], {}),
    ("Tan", lambda tf, x: tf.tan(x), [arr(2, 3, low=-1.2, high=1.2)], {}),
    ("Tanh", lambda tf, x: tf.tanh(x), [arr(2, 3)], {}),
    ("TanhGrad", lambda tf, y, g: create_op("TanhGrad", [y, g]), [arr(2, 3), arr(2, 3)], {}),
    ("Tile", lambda tf, x: tf.tile(x, [2, 3]), [arr(2, 3)], {}),
    ("Transpose", lambda tf, x: tf.transpose(x, [2, 0, 1]), [arr(2, 3, 4)], {}),
    ("UnsortedSegmentSum", lambda tf, x: tf.unsorted_segment_sum(x, [1, -1, 1], 3),
     [arr(3, 2)], {}),
    ("SegmentMean", lambda tf, x: tf.reshape(tf.segment_mean(x, [0, 0, 2]), [3, 2]),
     [arr(3, 2)], {}),
    ("SegmentMax", lambda tf, x: tf.reshape(tf.segment_max(x, [0, 0, 0, 2]), [3, 2]),
     [arr(4, 2)], {}),
    ("SegmentMin", lambda tf, x: tf.reshape(tf.segment_min(x, [1, 1, 2, 2]), [3, 2]),
     [arr(4, 2)], {}),
    ("SegmentProd", lambda tf, x: tf.reshape(tf.segment_prod(x, [0, 0, 0, 2]), [3, 2]),
     [arr(4, 2)], {}),
    ("UnsortedSegmentMax", lambda tf, x: tf.unsorted_segment_max(x, [1, -1, 1, 0], 2),
     [arr(4, 2)], {}),
    ("UnsortedSegmentMin", lambda tf, x: tf.unsorted_segment_min(x, [[0, 1], [-1, 1]], 2),
     [arr(2, 2, 3)], {}),
    ("UnsortedSegmentProd", lambda tf, x: tf.unsorted_segment_prod(x, [1, -1, 1, 0, 1], 3),
     [arr(5, 2)], {}),
    ("SparseSegmentSum", lambda tf, x: tf.reshape(tf.sparse_segment_sum(
        x, [3, 0, 3, 1], [0, 0, 2, 2]), [3, 2]), [arr(4, 2)], {}),
    ("SparseSegmentMean", lambda tf, x: tf.reshape(tf.sparse_segment_mean(
        x, [2, 0, 2], [0, 1, 1]), [2, 2]), [arr(3, 2)], {}),
    ("SparseSegmentSqrtN", lambda tf, x: tf.reshape(tf.sparse_segment_sqrt_n(
        x, [1, 1, 0, 2], [0, 0, 0, 3]), [4, 2]), [arr(3, 2)], {}),
    ("SparseSegmentSumWithNumSegments", lambda tf, x: tf.sparse.segment_sum(
        x, [1, 2], [1, 1], num_segments=3), [arr(3, 2)], {}),
    ("SparseSegmentMeanWithNumSegments", lambda tf, x: tf.sparse.segment_mean(
        x, [0, 2, 0], [0, 2, 2], num_segments=4, sparse_gradient=True), [arr(3, 2)],
     {"id": "SparseSegmentMeanWithNumSegments-sparse"}),
    ("SparseSegmentMeanWithNumSegments", lambda tf, x: tf.sparse.segment_mean(
        x, [0, 2, 0], [0, 2, 2], num_segments=4), [arr(3, 2)], {}),
    ("SparseSegmentSqrtNWithNumSegments", lambda tf, x: tf.sparse.segment_sqrt_n(
        x, [2, 1, 2], [0, 0, 1], num_segments=3, sparse_gradient=True), [arr(3, 2, 2)],
     {"id": "SparseSegmentSqrtNWithNumSegments-sparse"}),
    ("SparseSegmentSqrtNWithNumSegments", lambda tf, x: tf.sparse.segment_sqrt_n(
        x, [2, 1, 2], [0, 0, 1], num_segments=3), [arr(3, 2, 2)], {}),
    ("SparseSegmentSum", lambda tf, x: tf.reshape(tf.sparse_segment_sum(
        x, [3, 0, 3], [0, 1, 1], sparse_gradient=True), [2, 2]), [arr(4, 2)],
     {"id": "SparseSegmentSum-sparse"}),
    ("Unpack", lambda tf, x: tf.unstack(x, axis=1), [arr(2, 3)], {}),
    ("Log1p", lambda tf, x: tf.log1p(x), [pos(2, 3)], {}),
    ("DivNoNan", lambda tf, x, y: tf.div_no_nan(x, y), [arr(2, 3), pos(3)], {}),
    ("Cos", lambda tf, x: tf.cos(x), [arr(2, 3)], {}),
    ("Sin", lambda tf, x: tf.sin(x), [arr(2, 3)], {}),
    ("Erf", lambda tf, x: tf.erf(x), [arr(2, 3)], {}),
    ("MatrixBandPart", lambda tf, x: tf.linalg.band_part(x, 1, 0), [arr(2, 3, 4)], {}),
    ("SpaceToBatchND", lambda tf, x: tf.space_to_batch_nd(x, [2, 2], [[0, 1], [1, 0]]),
     [arr(2, 3, 3, 2)], {}),
    ("BatchToSpaceND", lambda tf, x: tf.batch_to_space_nd(x, [2, 1], [[1, 0], [0, 0]]),
     [arr(4, 2, 3, 1)], {}),
    ("SpaceToBatch", lambda tf, x: create_op("SpaceToBatch", [x, const([[0, 1], [1, 0]])],
                                             {"block_size": 2}), [arr(1, 3, 3, 2)], {}),
    ("BatchToSpace", lambda tf, x: create_op("BatchToSpace", [x, const([[1, 0], [0, 1]])],
                                             {"block_size": 2}), [arr(4, 2, 2, 1)], {}),
    ("SpaceToDepth", lambda tf, x: tf.space_to_depth(x, 2), [arr(1, 4, 2, 3)], {}),
    ("DepthToSpace", lambda tf, x: tf.depth_to_space(x, 2), [arr(1, 2, 1, 8)], {}),
    ("DepthwiseConv2dNative", lambda tf, x, k: tf.nn.depthwise_conv2d(x, k, **CONV),
     [arr(1, 5, 5, 2), arr(3, 3, 2, 2)], {}),
    ("DepthwiseConv2dNativeBackpropInput", lambda tf, k, g: create_op(
        "DepthwiseConv2dNativeBackpropInput", [const([1, 5, 5, 2]), k, g], CONV),
     [arr(3, 3, 2, 2), arr(1, 3, 3, 4)], {}),
    ("DepthwiseConv2dNativeBackpropFilter", lambda tf, x, g: create_op(
        "DepthwiseConv2dNativeBackpropFilter", [x, const([3, 3, 2, 2]), g], CONV),
     [arr(1, 5, 5, 2), arr(1, 3, 3, 4)], {}),
    # float32-only kernels: checked through casts, with float32's precision
    ("FusedBatchNormV3", lambda tf, x, s, o: tf.cast(tf.nn.fused_batch_norm(
        tf.cast(x, tf.float32), tf.cast(s, tf.float32), tf.cast(o, tf.float32))[0], F64),
     [arr(2, 2, 2, 3), pos(3), arr(3)], {"eps": 1e-3, "tol": 3e-3}),
    ("FusedBatchNormV3", lambda tf, x, s, o: tf.cast(tf.nn.fused_batch_norm(
        tf.cast(x, tf.float32), tf.cast(s, tf.float32), tf.cast(o, tf.float32),
        tf.constant([0.5, -0.5, 0.0]), tf.constant([1.0, 2.0, 0.5]), is_training=False)[0],
        F64), [arr(2, 2, 2, 3), pos(3), arr(3)],
     {"eps": 1e-3, "tol": 3e-3, "id": "FusedBatchNormV3-inference"}),
    ("FusedBatchNorm", lambda tf, x, s, o: tf.cast(tf.raw_ops.FusedBatchNorm(
        x=tf.cast(x, tf.float32), scale=tf.cast(s, tf.float32), offset=tf.cast(o, tf.float32),
        mean=tf.zeros([0]), variance=tf.zeros([0]), epsilon=1e-3)[0], F64),
     [arr(2, 2, 2, 3), pos(3), arr(3)], {"eps": 1e-3, "tol": 3e-3}),
    ("FusedBatchNormV2", lambda tf, x, s, o: tf.cast(tf.raw_ops.FusedBatchNormV2(
        x=tf.cast(x, tf.float32), scale=tf.cast(s, tf.float32), offset=tf.cast(o, tf.float32),
        mean=tf.constant([0.5, -0.5, 0.0]), variance=tf.constant([1.0, 2.0, 0.5]),
        is_training=False)[0], F64), [arr(2, 2, 2, 3), pos(3), arr(3)],
     {"eps": 1e-3, "tol": 3e-3}),
    ("LRN", lambda tf, x: tf.cast(tf.nn.lrn(tf.cast(x, tf.float32), 2, 1.5, 0.3, 0.7), F64),
     [arr(1, 2, 2, 6)], {"eps": 1e-3, "tol": 3e-3}),
    ("DynamicPartition", lambda tf, x: [tf.reshape(part, shape) for part, shape in zip(
        create_op("DynamicPartition", [x, const([1, 0, 1])], {"num_partitions": 2}),
        ([1, 2], [2, 2]))], [arr(3, 2)], {}),
    ("ParallelDynamicStitch", lambda tf, x, y: create_op(
        "ParallelDynamicStitch", [[const([0, 2]), const([1])], [x, y]]),
     [arr(2, 3), arr(1, 3)], {}),
]

# Registered gradients that are None for every input (integer-valued or piecewise constant).
NO_GRADIENT_ROWS = [
    ("ArgMax", lambda tf, x: tf.argmax(x, 1), [arr(2, 3)]),
    ("ArgMin", lambda tf, x: tf.argmin(x, 1), [arr(2, 3)]),
    ("FloorDiv", lambda tf, x, y: tf.floordiv(x, y), [arr(2, 3), pos(3)]),
    ("Round", lambda tf, x: tf.round(x), [arr(2, 3)]),
    ("Floor", lambda tf, x: tf.floor(x), [arr(2, 3)]),
    ("Ceil", lambda tf, x: tf.ceil(x), [arr(2, 3)]),
]


def _ids(rows):
    return [r[3].get("id", r[0]) if len(r) > 3 else r[0] for r in rows]


def test_every_registered_gradient_has_a_row():
    covered = {r[0] for r in ROWS} | {r[0] for r in NO_GRADIENT_ROWS}
    registered = {k for k, fn in registry.GRADIENTS.items() if fn is not None}
    assert sorted(registered - covered) == []


def _build(fn, inputs):
    phs = [tf.placeholder(F64, a.shape, name=f"in{i}") for i, a in enumerate(inputs)]
    out = fn(tf, *phs)
    if isinstance(out, tuple):
        ys, wrt, fed = out
        fed = fed + phs
        wrt = wrt + phs
    else:
        ys, wrt, fed = out, phs, phs
    return (ys if isinstance(ys, list) else [ys]), wrt, fed


@pytest.mark.parametrize("op_type,fn,inputs,options", ROWS, ids=_ids(ROWS))
def test_gradient_matches_central_differences(op_type, fn, inputs, options):
    g = tf.Graph()
    with g.as_default():
        ys, wrt, fed = _build(fn, inputs)
        assert op_type in {op.type for op in g.get_operations()}, f"row builds no {op_type}"
        loss = tf.add_n([tf.reduce_sum(tf.cast(y, F64) * RNG.standard_normal(y.shape.as_list()))
                         for y in ys])
        grads = tf.gradients(loss, wrt)
        assert None not in grads, f"{op_type}: an input got no gradient: {grads}"
        grads = [tf.convert_to_tensor(g) for g in grads]  # IndexedSlices made dense
        values = [np.array(a) for a in inputs]
        if len(fed) > len(inputs):  # a row that feeds a tensor of its own first
            values = [arr(*fed[0].shape.as_list())] + values
        with tf.Session(graph=g) as sess:
            feed = dict(zip(fed, values))
            symbolic = sess.run(grads, feed)
            eps, tol = options.get("eps", 1e-6), options.get("tol", 1e-6)
            for i, (value, grad) in enumerate(zip(values, symbolic)):
                numeric = _central_differences(sess, loss, feed, fed[i], value, eps)
                np.testing.assert_allclose(grad, numeric, rtol=tol, atol=tol,
                                           err_msg=f"{op_type}: input {i}")


def _central_differences(sess, loss, feed, tensor, value, eps) -> np.ndarray:
    out = np.zeros(value.shape)
    for index in np.ndindex(value.shape):
        shifted = []
        for sign in (1.0, -1.0):
            moved = value.copy()
            moved[index] += sign * eps
            shifted.append(sess.run(loss, {**feed, tensor: moved}))
        out[index] = (shifted[0] - shifted[1]) / (2 * eps)
    return out


@pytest.mark.parametrize("op_type,fn,inputs", NO_GRADIENT_ROWS, ids=_ids(NO_GRADIENT_ROWS))
def test_gradient_is_none(op_type, fn, inputs):
    g = tf.Graph()
    with g.as_default():
        phs = [tf.placeholder(F64, a.shape) for a in inputs]
        y = fn(tf, *phs)
        grad = tf.ones_like(y, dtype=y.dtype)
        result = registry.GRADIENTS[op_type](y.op, grad)
        assert all(r is None for r in result)
        assert tf.gradients(tf.cast(y, F64), phs) == [None] * len(phs)
