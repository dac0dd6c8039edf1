"""Depthwise 2-D convolution and its two gradient ops: defs, shape functions, kernels.

``DepthwiseConv2dNative`` convolves each input channel ``c`` with its own ``M`` filters
(filter shape ``[KH, KW, C, M]``); output channel ``c * M + m`` is channel ``c`` under
filter ``m``. Every kernel loops over the KH * KW window offsets and does one strided
multiply-add per offset, never a loop over pixels; NCHW is transposed to NHWC and back.
"""
from __future__ import annotations

import numpy as np

from flowsaver import errors
from flowsaver.graph.tensor_shape import TensorShape
from flowsaver.ops.nn.conv_grad_kernels import Window
from flowsaver.ops.nn.conv_kernels import pad_spatial
from flowsaver.ops.nn.kernels import merge_dim, rank_error
from flowsaver.ops.registry import OpTable
from flowsaver.ops.shapes import partial_shape

TABLE = OpTable(__name__)
define, kernel, shape_fn = TABLE.define, TABLE.kernel, TABLE.shape_fn

define(
    'DepthwiseConv2dNative(input: T, filter: T) -> (output: T); T: type {half, bfloat16, float, double}; strides: list(int); padding: string {"SAME", "VALID", "EXPLICIT"}; explicit_paddings: list(int) = []; data_format: string {"NHWC", "NCHW"} = "NHWC"; dilations: list(int) = [1, 1, 1, 1]',
    'DepthwiseConv2dNativeBackpropInput(input_sizes: int32, filter: T, out_backprop: T) -> (output: T); T: type {half, bfloat16, float, double}; strides: list(int); padding: string {"SAME", "VALID", "EXPLICIT"}; explicit_paddings: list(int) = []; data_format: string {"NHWC", "NCHW"} = "NHWC"; dilations: list(int) = [1, 1, 1, 1]',
    'DepthwiseConv2dNativeBackpropFilter(input: T, filter_sizes: int32, out_backprop: T) -> (output: T); T: type {half, bfloat16, float, double}; strides: list(int); padding: string {"SAME", "VALID", "EXPLICIT"}; explicit_paddings: list(int) = []; data_format: string {"NHWC", "NCHW"} = "NHWC"; dilations: list(int) = [1, 1, 1, 1]',
)


def _out_size(win: Window, axis: int, size, k):
    if size is None or k is None:
        return None
    before, after, out = win.plan(axis, size, k)
    if win.padding != "SAME" and size + before + after < (k - 1) * win.dilations[axis] + 1:
        op = win.op
        shapes = ", ".join(str(t.shape) for t in op.inputs)
        raise ValueError(f"Negative dimension size caused by subtracting "
                         f"{(k - 1) * win.dilations[axis] + 1} from {size + before + after} "
                         f"for '{op.name}' (op: '{op.type}') with input shapes: {shapes}.")
    return out


@shape_fn("DepthwiseConv2dNative")
def _depthwise_shape(op):
    x, f = op.inputs[0].shape, op.inputs[1].shape
    for shape in (x, f):
        if shape.ndims is not None and shape.ndims != 4:
            raise rank_error(op, 4, shape)
    win = Window(op)
    n, h, w, c = win.dims(x.as_list()) if x.ndims is not None else [None] * 4
    kh, kw, fc, m = f.as_list() if f.ndims is not None else [None] * 4
    c = merge_dim(op, c, fc)
    out_c = c * m if c is not None and m is not None else None
    return [win.layout(n, _out_size(win, 0, h, kh), _out_size(win, 1, w, kw), out_c)]


@shape_fn("DepthwiseConv2dNativeBackpropInput")
def _depthwise_input_grad_shape(op):
    return [partial_shape(op.inputs[0])]


@shape_fn("DepthwiseConv2dNativeBackpropFilter")
def _depthwise_filter_grad_shape(op):
    return [partial_shape(op.inputs[1])]


def _float(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float32) if x.dtype == np.float16 else x


def _offsets(win: Window, k_hw, out_hw):
    """For each window offset (i, j): the strided (rows, cols) of the padded input it reads."""
    (sh, sw), (dh, dw) = win.strides, win.dilations
    for i in range(k_hw[0]):
        rows = slice(i * dh, i * dh + (out_hw[0] - 1) * sh + 1, sh)
        for j in range(k_hw[1]):
            yield i, j, rows, slice(j * dw, j * dw + (out_hw[1] - 1) * sw + 1, sw)


def _plan(win: Window, hw, k_hw):
    top, bottom, oh = win.plan(0, hw[0], k_hw[0])
    left, right, ow = win.plan(1, hw[1], k_hw[1])
    return ((top, bottom), (left, right)), (oh, ow)


def _check_grad(win: Window, grad, expected) -> None:
    if tuple(grad.shape) != tuple(expected):
        raise errors.InvalidArgumentError(
            None, win.op, f"{win.op.type} ({win.op.name}): out_backprop has shape "
                          f"{win.layout(*grad.shape)} but the forward op's output has "
                          f"{win.layout(*expected)}")


@kernel("DepthwiseConv2dNative")
def _depthwise(op, ctx):
    win = Window(op)

    def run(x, f):
        dtype = x.dtype
        x, f = _float(win.nhwc(x)), _float(f)
        n, h, w, c = x.shape
        kh, kw, fc, m = f.shape
        if fc != c:
            raise errors.InvalidArgumentError(
                None, op, f"input and filter must have the same depth: {c} vs {fc}")
        pads, (oh, ow) = _plan(win, (h, w), (kh, kw))
        xp = pad_spatial(x, pads)
        out = np.zeros((n, oh, ow, c, m), np.result_type(x, f))
        for i, j, rows, cols in _offsets(win, (kh, kw), (oh, ow)):
            out += xp[:, rows, cols, :, None] * f[i, j]
        return win.from_nhwc(out.reshape(n, oh, ow, c * m)).astype(dtype, copy=False)
    return run


@kernel("DepthwiseConv2dNativeBackpropInput")
def _depthwise_input_grad(op, ctx):
    win = Window(op)

    def run(sizes, f, grad):
        dtype = f.dtype
        f, grad = _float(f), _float(win.nhwc(grad))
        n, h, w, c = win.dims([int(d) for d in sizes])
        kh, kw, _, m = f.shape
        pads, (oh, ow) = _plan(win, (h, w), (kh, kw))
        _check_grad(win, grad, (n, oh, ow, c * m))
        g = grad.reshape(n, oh, ow, c, m)
        out = np.zeros((n, h + sum(pads[0]), w + sum(pads[1]), c), grad.dtype)
        for i, j, rows, cols in _offsets(win, (kh, kw), (oh, ow)):
            out[:, rows, cols] += np.einsum("nhwcm,cm->nhwc", g, f[i, j])
        out = out[:, pads[0][0]:pads[0][0] + h, pads[1][0]:pads[1][0] + w]
        return win.from_nhwc(np.ascontiguousarray(out)).astype(dtype, copy=False)
    return run


@kernel("DepthwiseConv2dNativeBackpropFilter")
def _depthwise_filter_grad(op, ctx):
    win = Window(op)

    def run(x, sizes, grad):
        dtype = x.dtype
        x, grad = _float(win.nhwc(x)), _float(win.nhwc(grad))
        kh, kw, c, m = [int(d) for d in sizes]
        n, h, w, _ = x.shape
        pads, (oh, ow) = _plan(win, (h, w), (kh, kw))
        _check_grad(win, grad, (n, oh, ow, c * m))
        g = grad.reshape(n, oh, ow, c, m)
        xp = pad_spatial(x, pads)
        out = np.zeros((kh, kw, c, m), grad.dtype)
        for i, j, rows, cols in _offsets(win, (kh, kw), (oh, ow)):
            out[i, j] = np.einsum("nhwc,nhwcm->cm", xp[:, rows, cols], g)
        return out.astype(dtype, copy=False)
    return run
