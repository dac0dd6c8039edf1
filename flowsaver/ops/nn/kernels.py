"""Neural-network ops: activations, softmax, bias, losses. Defs, shape functions, kernels.

Convolution and pooling live in ``conv_kernels``. Half-precision inputs are computed in
float32 and rounded back, so every kernel returns exactly the op's output dtype.
"""
from __future__ import annotations

import functools

import numpy as np

from flowsaver import errors
from flowsaver.graph.tensor_shape import TensorShape
from flowsaver.ops import blas_threads, donation
from flowsaver.ops.registry import OpTable

TABLE = OpTable(__name__)
define, kernel, shape_fn, simple_kernel = (
    TABLE.define, TABLE.kernel, TABLE.shape_fn, TABLE.simple_kernel)

define(
    'Relu(features: T) -> (activations: T); T: type {float, double, int32, uint8, int16, int8, int64, bfloat16, uint16, half, uint32, uint64, qint8}',
    'Relu6(features: T) -> (activations: T); T: type {float, double, int32, uint8, int16, int8, int64, bfloat16, uint16, half, uint32, uint64}',
    'Elu(features: T) -> (activations: T); T: type {half, bfloat16, float, double}',
    'Selu(features: T) -> (activations: T); T: type {half, bfloat16, float, double}',
    'LeakyRelu(features: T) -> (activations: T); alpha: float = 0.20000000298023224; T: type {half, bfloat16, float, double} = float',
    'Softplus(features: T) -> (activations: T); T: type {half, bfloat16, float, double}',
    'Softsign(features: T) -> (activations: T); T: type {half, bfloat16, float, double}',
    'Softmax(logits: T) -> (softmax: T); T: type {half, bfloat16, float, double}',
    'LogSoftmax(logits: T) -> (logsoftmax: T); T: type {half, bfloat16, float, double}',
    'BiasAdd(value: T, bias: T) -> (output: T); T: type {float, double, int32, uint8, int16, int8, complex64, int64, qint8, quint8, qint32, bfloat16, qint16, quint16, uint16, complex128, half, uint32, uint64}; data_format: string {"NHWC", "NCHW"} = "NHWC"',
    'L2Loss(t: T) -> (output: T); T: type {half, bfloat16, float, double}',
    'SoftmaxCrossEntropyWithLogits(features: T, labels: T) -> (loss: T, backprop: T); T: type {half, bfloat16, float, double}',
    'SparseSoftmaxCrossEntropyWithLogits(features: T, labels: Tlabels) -> (loss: T, backprop: T); T: type {half, bfloat16, float, double}; Tlabels: type {int32, int64} = int64',
    'InTopKV2(predictions: float, targets: T, k: T) -> (precision: bool); T: type {int32, int64} = int32',
)
TABLE.not_differentiable("InTopKV2")

# The SELU constants (Klambauer et al., 2017).
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def rank_error(op, rank: int, shape, at_least: bool = False) -> ValueError:
    """TensorFlow's build-time message for an input of the wrong rank."""
    shapes = ", ".join(str(t.shape) for t in op.inputs)
    kind = "at least rank" if at_least else "rank"
    return ValueError(f"Shape must be {kind} {rank} but is rank {shape.ndims} for "
                      f"'{op.name}' (op: '{op.type}') with input shapes: {shapes}.")


def dims_error(op, a, b) -> ValueError:
    shapes = ", ".join(str(t.shape) for t in op.inputs)
    return ValueError(f"Dimensions must be equal, but are {a} and {b} for '{op.name}' "
                      f"(op: '{op.type}') with input shapes: {shapes}.")


def merge_dim(op, a, b):
    """Two dims that must agree: the known one, ValueError naming ``op`` if they differ."""
    if a is not None and b is not None and a != b:
        raise dims_error(op, a, b)
    return a if a is not None else b


def _rounded(fn):
    """Wrap ``fn`` so that half-precision inputs are computed in float32."""
    def run(x):
        if x.dtype == np.float16:
            return fn(x.astype(np.float32)).astype(np.float16)
        return fn(x)
    return run


# ---- elementwise activations ---------------------------------------------------------------
@shape_fn("Relu", "Relu6", "Elu", "Selu", "LeakyRelu", "Softplus", "Softsign")
def _same_shape(op):
    return [op.inputs[0].shape]


def _relu(x):
    if x.ndim == 0:
        return np.maximum(x, x.dtype.type(0))
    out = donation.output_like(x)
    zero = x.dtype.type(0)
    blas_threads.over_rows(lambda lo, hi: np.maximum(x[lo:hi], zero, out=out[lo:hi]),
                           x.shape[0], x.size)
    return out


def _relu6(x):
    return np.minimum(np.maximum(x, x.dtype.type(0)), x.dtype.type(6))


def _elu(x):
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0)))


def _selu(x):
    neg = np.expm1(np.minimum(x, 0)) * x.dtype.type(SELU_ALPHA)
    return (np.where(x > 0, x, neg) * x.dtype.type(SELU_SCALE)).astype(x.dtype, copy=False)


def _softplus(x):
    return np.logaddexp(x.dtype.type(0), x)


def _softsign(x):
    return x / (1 + np.abs(x))


simple_kernel("Relu", _relu)
simple_kernel("Relu6", _relu6)
simple_kernel("Elu", _rounded(_elu))
simple_kernel("Selu", _rounded(_selu))
simple_kernel("Softplus", _rounded(_softplus))
simple_kernel("Softsign", _rounded(_softsign))


@kernel("LeakyRelu")
def _leaky_relu(op, ctx):
    alpha = op.get_attr("alpha")

    def run(x):
        return np.where(x > 0, x, x * x.dtype.type(alpha))
    return run


# ---- softmax ----------------------------------------------------------------------------------
@shape_fn("Softmax", "LogSoftmax")
def _softmax_shape(op):
    shape = op.inputs[0].shape
    if shape.ndims is not None and shape.ndims < 1:
        raise rank_error(op, 1, shape, at_least=True)
    return [shape]


# Softmax rows are often short (attention scores: 64-512 values), and NumPy's reductions
# along the last axis pay about 100 ns per row: for the 8x4x64 rows of 64 scores of a
# transformer layer the max took 218 us and the sum 64 us, against 117 us (``reduceat``)
# and 9 us (a product with a vector of ones) below; 4-value rows 1.6 ms for the max.
SHORT_ROW = 8              # up to this many values per row: one elementwise max per column
BLAS_SUM_MAX_ROW = 4096    # the sum as a product only for rows this long (accuracy as NumPy's)


def row_max(x: np.ndarray) -> np.ndarray:
    """The maximum over the last axis, kept as an axis of length 1 (NaN wins, as in
    ``np.max``); an empty row is an error, as there."""
    n = x.shape[-1]
    if n == 0 or x.size == 0:
        return np.max(x, axis=-1, keepdims=True)
    if n <= SHORT_ROW:
        top = x[..., :1].copy()
        for j in range(1, n):
            np.maximum(top, x[..., j:j + 1], out=top)
        return top
    flat = np.ascontiguousarray(x).reshape(-1)
    return np.maximum.reduceat(flat, np.arange(0, flat.size, n)).reshape(x.shape[:-1] + (1,))


@functools.lru_cache(maxsize=32)
def _ones(n: int, dtype: np.dtype) -> np.ndarray:
    ones = np.ones(n, dtype)
    ones.flags.writeable = False
    return ones


def row_sum(x: np.ndarray) -> np.ndarray:
    """The sum over the last axis of a C-contiguous array, kept as an axis of length 1."""
    n = x.shape[-1]
    if x.dtype not in (np.float32, np.float64) or not 0 < n <= BLAS_SUM_MAX_ROW \
            or not x.flags.c_contiguous:
        return np.sum(x, axis=-1, keepdims=True)
    return (x.reshape(-1, n) @ _ones(n, x.dtype)).reshape(x.shape[:-1] + (1,))


def softmax(x: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, shifted by the maximum so that exp cannot overflow."""
    if x.size == 0:  # as TensorFlow's kernel: nothing to compute, empty rows included
        return np.empty_like(x)
    e = np.subtract(x, row_max(x))
    np.exp(e, out=e)
    e /= row_sum(e)
    return e


def log_softmax(x: np.ndarray) -> np.ndarray:
    """Log-softmax over the last axis."""
    if x.size == 0:
        return np.empty_like(x)
    shifted = np.subtract(x, row_max(x))
    return shifted - np.log(row_sum(np.exp(shifted)))


simple_kernel("Softmax", _rounded(softmax))
simple_kernel("LogSoftmax", _rounded(log_softmax))


# ---- bias and L2 loss -------------------------------------------------------------------------
@shape_fn("BiasAdd")
def _bias_add_shape(op):
    value, bias = op.inputs[0].shape, op.inputs[1].shape
    if bias.ndims is not None and bias.ndims != 1:
        raise rank_error(op, 1, bias)
    if value.ndims is None:
        return [value]
    if value.ndims < 2:
        raise rank_error(op, 2, value, at_least=True)
    dims = value.as_list()
    axis = 1 if op.get_attr("data_format") == b"NCHW" and len(dims) > 2 else -1
    if bias.ndims == 1:
        dims[axis] = merge_dim(op, dims[axis], bias.as_list()[0])
    return [dims]


@kernel("BiasAdd")
def _bias_add(op, ctx):
    channels_first = op.get_attr("data_format") == b"NCHW"

    def run(value, bias):
        if channels_first and value.ndim > 2:
            bias = bias.reshape((-1,) + (1,) * (value.ndim - 2))
        if value.ndim == 0 or np.result_type(value, bias) != value.dtype:
            return np.add(value, bias, dtype=value.dtype)
        out = donation.output_like(value)
        blas_threads.over_rows(lambda lo, hi: np.add(value[lo:hi], bias, out=out[lo:hi]),
                               value.shape[0], value.size)
        return out
    return run


@shape_fn("L2Loss")
def _scalar_shape(op):
    return [TensorShape([])]


def _l2_loss(t):
    work = t.astype(np.float32) if t.dtype == np.float16 else t
    return t.dtype.type(np.dot(work.ravel(), work.ravel()) / 2)


simple_kernel("L2Loss", _l2_loss)


# ---- cross entropy ----------------------------------------------------------------------------
@shape_fn("SoftmaxCrossEntropyWithLogits")
def _xent_shape(op):
    features, labels = op.inputs[0].shape, op.inputs[1].shape
    for shape in (features, labels):
        if shape.ndims is not None and shape.ndims != 2:
            raise rank_error(op, 2, shape)
    f = features.as_list() if features.ndims is not None else [None, None]
    lab = labels.as_list() if labels.ndims is not None else [None, None]
    batch = _broadcast_dim(op, f[0], lab[0])
    classes = _broadcast_dim(op, f[1], lab[1])
    return [[batch], [batch, classes]]


def _broadcast_dim(op, a, b):
    if a == 1 and b is not None:
        return b
    if b == 1 and a is not None:
        return a
    return merge_dim(op, a, b)


@kernel("SoftmaxCrossEntropyWithLogits")
def _xent(op, ctx):
    def run(features, labels):
        dtype = features.dtype
        work = np.float32 if dtype == np.float16 else dtype
        features, labels = np.broadcast_arrays(features.astype(work, copy=False),
                                               labels.astype(work, copy=False))
        logp = log_softmax(features)
        loss = -np.sum(labels * logp, axis=-1)
        backprop = np.exp(logp) - labels
        return loss.astype(dtype, copy=False), backprop.astype(dtype, copy=False)
    return run


@shape_fn("SparseSoftmaxCrossEntropyWithLogits")
def _sparse_xent_shape(op):
    features, labels = op.inputs[0].shape, op.inputs[1].shape
    if features.ndims is not None and features.ndims != 2:
        raise rank_error(op, 2, features)
    if labels.ndims is not None and labels.ndims != 1:
        raise rank_error(op, 1, labels)
    f = features.as_list() if features.ndims is not None else [None, None]
    batch = merge_dim(op, f[0], labels.as_list()[0] if labels.ndims is not None else None)
    return [[batch], [batch, f[1]]]


@kernel("SparseSoftmaxCrossEntropyWithLogits")
def _sparse_xent(op, ctx):
    def run(features, labels):
        dtype = features.dtype
        classes = features.shape[1]
        bad = (labels < 0) | (labels >= classes)
        if bad.any():
            raise errors.InvalidArgumentError(
                None, op, f"Received a label value of {labels[bad][0]} which is outside the "
                          f"valid range of [0, {classes}).  Label values: "
                          f"{' '.join(str(v) for v in labels)}")
        logp = log_softmax(features.astype(np.float32 if dtype == np.float16 else dtype))
        rows = np.arange(labels.shape[0])
        loss = -logp[rows, labels]
        backprop = np.exp(logp)
        backprop[rows, labels] -= 1
        return loss.astype(dtype, copy=False), backprop.astype(dtype, copy=False)
    return run


# ---- in_top_k -----------------------------------------------------------------------------
@shape_fn("InTopKV2")
def _in_top_k_shape(op):
    predictions, targets = op.inputs[0].shape, op.inputs[1].shape
    if predictions.ndims is not None and predictions.ndims != 2:
        raise rank_error(op, 2, predictions)
    if targets.ndims is not None and targets.ndims != 1:
        raise rank_error(op, 1, targets)
    batch = predictions.as_list()[0] if predictions.ndims is not None else None
    return [[merge_dim(op, batch, targets.as_list()[0] if targets.ndims is not None else None)]]


@kernel("InTopKV2")
def _in_top_k(op, ctx):
    def run(predictions, targets, k):
        classes = predictions.shape[1]
        valid = (targets >= 0) & (targets < classes)
        safe = np.where(valid, targets, 0)
        target_values = predictions[np.arange(len(targets)), safe]
        # A target is in the top k when fewer than k classes score strictly higher;
        # an unknown class or a non-finite score can never be.
        higher = np.sum(predictions > target_values[:, None], axis=1)
        return valid & np.isfinite(target_values) & (higher < k)
    return run
