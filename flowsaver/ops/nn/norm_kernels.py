"""Batch normalization and local response normalization: defs, shape functions, kernels.

``FusedBatchNormV3`` normalizes over every axis but the channel axis (last for ``N...C``
layouts, 1 for ``NC...``). Training mode uses the batch's statistics and reports the
unbiased (n / (n - 1)) variance for the moving averages while keeping the biased one in
``reserve_space_2`` for the gradient, as TensorFlow's CPU kernel does; ``reserve_space_3``
is empty on CPUs. ``LRN`` divides each channel by a power of the sum of squares over its
``2 * depth_radius + 1`` neighbouring channels. Half precision runs in float32.
"""
from __future__ import annotations

import numpy as np

from flowsaver import errors
from flowsaver.graph.tensor_shape import TensorShape
from flowsaver.ops.nn import norm_math
from flowsaver.ops.nn.kernels import merge_dim, rank_error
from flowsaver.ops.registry import NO_GRADIENT_YET, OpTable

TABLE = OpTable(__name__)
define, kernel, shape_fn = TABLE.define, TABLE.kernel, TABLE.shape_fn

define(
    'FusedBatchNormV3(x: T, scale: U, offset: U, mean: U, variance: U) -> (y: T, batch_mean: U, batch_variance: U, reserve_space_1: U, reserve_space_2: U, reserve_space_3: U); T: type {half, bfloat16, float}; U: type {bfloat16, float}; epsilon: float = 9.999999747378752e-05; exponential_avg_factor: float = 1.0; data_format: string {"NHWC", "NCHW", "NDHWC", "NCDHW"} = "NHWC"; is_training: bool = true',
    'FusedBatchNorm(x: T, scale: T, offset: T, mean: T, variance: T) -> (y: T, batch_mean: T, batch_variance: T, reserve_space_1: T, reserve_space_2: T); T: type {float}; epsilon: float = 9.999999747378752e-05; exponential_avg_factor: float = 1.0; data_format: string {"NHWC", "NCHW"} = "NHWC"; is_training: bool = true',
    'FusedBatchNormV2(x: T, scale: U, offset: U, mean: U, variance: U) -> (y: T, batch_mean: U, batch_variance: U, reserve_space_1: U, reserve_space_2: U); T: type {half, bfloat16, float}; U: type {float}; epsilon: float = 9.999999747378752e-05; exponential_avg_factor: float = 1.0; data_format: string {"NHWC", "NCHW"} = "NHWC"; is_training: bool = true',
    'FusedBatchNormGrad(y_backprop: T, x: T, scale: T, reserve_space_1: T, reserve_space_2: T) -> (x_backprop: T, scale_backprop: T, offset_backprop: T, reserve_space_3: T, reserve_space_4: T); T: type {float}; epsilon: float = 9.999999747378752e-05; data_format: string {"NHWC", "NCHW"} = "NHWC"; is_training: bool = true',
    'FusedBatchNormGradV2(y_backprop: T, x: T, scale: float, reserve_space_1: U, reserve_space_2: U) -> (x_backprop: T, scale_backprop: U, offset_backprop: U, reserve_space_3: U, reserve_space_4: U); T: type {half, bfloat16, float}; U: type {float}; epsilon: float = 9.999999747378752e-05; data_format: string {"NHWC", "NCHW"} = "NHWC"; is_training: bool = true',
    'FusedBatchNormGradV3(y_backprop: T, x: T, scale: float, reserve_space_1: U, reserve_space_2: U, reserve_space_3: U) -> (x_backprop: T, scale_backprop: U, offset_backprop: U, reserve_space_4: U, reserve_space_5: U); T: type {half, bfloat16, float}; U: type {float}; epsilon: float = 9.999999747378752e-05; data_format: string {"NHWC", "NCHW", "NDHWC", "NCDHW"} = "NHWC"; is_training: bool = true',
    'LRN(input: T) -> (output: T); depth_radius: int = 5; bias: float = 1.0; alpha: float = 1.0; beta: float = 0.5; T: type {half, bfloat16, float} = float',
    'LRNGrad(input_grads: T, input_image: T, output_image: T) -> (output: T); depth_radius: int = 5; bias: float = 1.0; alpha: float = 1.0; beta: float = 0.5; T: type {half, bfloat16, float} = float',
)
TABLE.not_differentiable("LRNGrad")  # TensorFlow registers no gradient for it either
# TensorFlow differentiates this one (second derivatives of batch norm); flowsaver not yet
TABLE.mark(NO_GRADIENT_YET, "FusedBatchNormGradV3", "FusedBatchNormGrad",
           "FusedBatchNormGradV2")


class _Layout:
    """Where a batch-norm op's channels are, read from its data_format once."""

    def __init__(self, op):
        fmt = op.get_attr("data_format").decode()
        self.rank = 5 if "D" in fmt else 4
        self.channel = 1 if fmt.startswith("NC") else self.rank - 1
        self.axes = tuple(a for a in range(self.rank) if a != self.channel)

    def per_channel(self, v: np.ndarray) -> np.ndarray:
        """A [C] vector shaped to broadcast against the op's input."""
        shape = [1] * self.rank
        shape[self.channel] = -1
        return v.reshape(shape)


def _channels(op, layout: _Layout, x: TensorShape, vectors) -> object:
    if x.ndims is not None and x.ndims != layout.rank:
        raise rank_error(op, layout.rank, x)
    c = x.as_list()[layout.channel] if x.ndims is not None else None
    for v in vectors:
        if v.ndims is not None and v.ndims != 1:
            raise rank_error(op, 1, v)
        if v.ndims == 1:
            c = merge_dim(op, c, v.as_list()[0])
    return c


@shape_fn("FusedBatchNormV3")
def _fused_batch_norm_shape(op):
    layout = _Layout(op)
    x = op.inputs[0].shape
    checked = [op.inputs[1].shape, op.inputs[2].shape]
    if not op.get_attr("is_training") or op.get_attr("exponential_avg_factor") != 1.0:
        checked += [op.inputs[3].shape, op.inputs[4].shape]
    c = _channels(op, layout, x, checked)
    y = x.as_list() if x.ndims is not None else [None] * layout.rank
    if y[layout.channel] is None:
        y[layout.channel] = c
    return [TensorShape(y)] + [TensorShape([c])] * 4 + [TensorShape(None)]


@shape_fn("FusedBatchNorm", "FusedBatchNormV2")
def _fused_batch_norm_v1_shape(op):
    return _fused_batch_norm_shape(op)[:5]   # V3's outputs less reserve_space_3


@shape_fn("FusedBatchNormGradV3", "FusedBatchNormGrad", "FusedBatchNormGradV2")
def _fused_batch_norm_grad_shape(op):
    layout = _Layout(op)
    dy, x = op.inputs[0].shape, op.inputs[1].shape
    shape = dy.merge_with(x) if dy.ndims is not None or x.ndims is not None else dy
    c = _channels(op, layout, shape, [op.inputs[2].shape, op.inputs[3].shape,
                                      op.inputs[4].shape])
    dims = shape.as_list() if shape.ndims is not None else [None] * layout.rank
    if dims[layout.channel] is None:
        dims[layout.channel] = c
    return [TensorShape(dims), TensorShape([c]), TensorShape([c]), TensorShape([0]),
            TensorShape([0])]


def _work(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float32) if x.dtype != np.float32 else x


@kernel("FusedBatchNormV3")
def _fused_batch_norm(op, ctx):
    layout = _Layout(op)
    eps = np.float32(op.get_attr("epsilon"))
    factor = np.float32(op.get_attr("exponential_avg_factor"))
    training = op.get_attr("is_training")

    def run(x, scale, offset, est_mean, est_var):
        if x.ndim != layout.rank:
            raise errors.InvalidArgumentError(
                None, op, f"input must be {layout.rank}-dimensional{list(x.shape)}")
        dtype, work = x.dtype, _work(x)
        c = x.shape[layout.channel]
        last = layout.channel == layout.rank - 1
        if training:
            count = work.size // c if c else 0
            if last:
                y, mean, var = norm_math.train_forward(work.reshape(-1, c), scale, offset, eps)
                y = y.reshape(work.shape)
            else:
                mean = work.mean(axis=layout.axes)
                var = np.square(work - layout.per_channel(mean)).mean(axis=layout.axes)
            unbiased = var * np.float32(count / max(count - 1, 1))
            if factor != 1.0:
                batch_mean = (1 - factor) * est_mean + factor * mean
                batch_var = (1 - factor) * est_var + factor * unbiased
            else:
                batch_mean, batch_var = mean, unbiased
            saved_mean, saved_var = mean, var
        else:
            mean, var = est_mean, est_var
            batch_mean = saved_mean = est_mean
            batch_var = saved_var = est_var
        if not last:
            inv = (1 / np.sqrt(var + eps)).astype(np.float32) * scale
            y = (work - layout.per_channel(mean)) * layout.per_channel(inv) + \
                layout.per_channel(offset)
        elif not training:
            y = norm_math.infer_forward(work.reshape(-1, c), scale, offset, mean, var,
                                        eps).reshape(work.shape)
        f32 = np.float32
        return (y.astype(dtype, copy=False), batch_mean.astype(f32), batch_var.astype(f32),
                saved_mean.astype(f32), saved_var.astype(f32), np.zeros(0, f32))
    return run


@kernel("FusedBatchNormGradV3")
def _fused_batch_norm_grad(op, ctx):
    layout = _Layout(op)
    eps = np.float32(op.get_attr("epsilon"))
    training = op.get_attr("is_training")

    def run(dy, x, scale, mean, var, _reserved):
        dtype = x.dtype
        dy, x = _work(dy), _work(x)
        if layout.channel == layout.rank - 1:
            c = x.shape[-1]
            dx, scale_grad, offset_grad = norm_math.backward(
                dy.reshape(-1, c), x.reshape(-1, c), scale, mean, var, eps, training)
            zero = np.float32(0)
            return (dx.reshape(x.shape).astype(dtype, copy=False),
                    scale_grad.astype(np.float32), offset_grad.astype(np.float32),
                    np.array(zero), np.array(zero))
        inv = (1 / np.sqrt(var + eps)).astype(np.float32)
        x_hat = (x - layout.per_channel(mean)) * layout.per_channel(inv)
        offset_grad = dy.sum(axis=layout.axes)
        scale_grad = (dy * x_hat).sum(axis=layout.axes)
        if training:
            count = x.size // x.shape[layout.channel] if x.shape[layout.channel] else 1
            dx = (dy - layout.per_channel(offset_grad / count)
                  - x_hat * layout.per_channel(scale_grad / count)) * \
                layout.per_channel(scale * inv)
        else:
            dx = dy * layout.per_channel(scale * inv)
        zero = np.float32(0)
        return (dx.astype(dtype, copy=False), scale_grad.astype(np.float32),
                offset_grad.astype(np.float32), np.array(zero), np.array(zero))
    return run


# The first two versions (graphs frozen with TensorFlow before 1.13 hold them): the same
# arithmetic, without V3's reserve_space_3 output (forward) and input (gradient).
@kernel("FusedBatchNorm", "FusedBatchNormV2")
def _fused_batch_norm_v1(op, ctx):
    full = _fused_batch_norm(op, ctx)
    return lambda x, scale, offset, mean, var: full(x, scale, offset, mean, var)[:5]


@kernel("FusedBatchNormGrad", "FusedBatchNormGradV2")
def _fused_batch_norm_grad_v1(op, ctx):
    full = _fused_batch_norm_grad(op, ctx)
    return lambda dy, x, scale, mean, var: full(dy, x, scale, mean, var, None)


# ---- LRN --------------------------------------------------------------------------------------
@shape_fn("LRN")
def _lrn_shape(op):
    x = op.inputs[0].shape
    if x.ndims is not None and x.ndims != 4:
        raise rank_error(op, 4, x)
    return [x]


@shape_fn("LRNGrad")
def _lrn_grad_shape(op):
    shape = TensorShape(None)
    for t in op.inputs:
        if t.shape.ndims is not None and t.shape.ndims != 4:
            raise rank_error(op, 4, t.shape)
        shape = shape.merge_with(t.shape)
    return [shape]


def _window_sum(v: np.ndarray, radius: int) -> np.ndarray:
    """Sum over channels c - radius .. c + radius (clipped at the ends) of NHWC ``v``."""
    depth = v.shape[-1]
    padded = np.zeros(v.shape[:-1] + (depth + 1,), v.dtype)
    np.cumsum(v, axis=-1, out=padded[..., 1:])
    hi = np.minimum(np.arange(depth) + radius + 1, depth)
    lo = np.maximum(np.arange(depth) - radius, 0)
    return padded[..., hi] - padded[..., lo]


class _LrnAttrs:
    def __init__(self, op):
        self.radius = op.get_attr("depth_radius")
        self.bias, self.alpha = op.get_attr("bias"), op.get_attr("alpha")
        self.beta = op.get_attr("beta")

    def norm(self, x: np.ndarray) -> np.ndarray:
        return self.bias + self.alpha * _window_sum(np.square(x), self.radius)


@kernel("LRN")
def _lrn(op, ctx):
    attrs = _LrnAttrs(op)

    def run(x):
        work = _work(x)
        return (work * np.power(attrs.norm(work), -attrs.beta)).astype(x.dtype, copy=False)
    return run


@kernel("LRNGrad")
def _lrn_grad(op, ctx):
    attrs = _LrnAttrs(op)

    def run(grads, x, _y):
        dtype = x.dtype
        grads, x = _work(grads), _work(x)
        norm = attrs.norm(x)
        scaled = np.power(norm, -attrs.beta)
        # d out_j / d x_k = [j == k] norm_j^-beta - 2 alpha beta x_k out_j / norm_j, for
        # every j whose window holds k; the windows are symmetric, so one more window sum.
        spread = _window_sum(grads * x * scaled / norm, attrs.radius)
        out = grads * scaled - 2 * attrs.alpha * attrs.beta * x * spread
        return out.astype(dtype, copy=False)
    return run
