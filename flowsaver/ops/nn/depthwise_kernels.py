"""Depthwise 2-D convolution and its two gradient ops: defs, shape functions, kernels.

``DepthwiseConv2dNative`` convolves each input channel ``c`` with its own ``M`` filters
(filter shape ``[KH, KW, C, M]``); output channel ``c * M + m`` is channel ``c`` under
filter ``m``. The arithmetic is in ``depthwise_math`` (blocks of output rows, one einsum
each, over the kernel threads); the input gradient is the forward correlation of the
output gradient, spread back to input positions, with the flipped filter. NCHW is
transposed to NHWC and back.
"""
from __future__ import annotations

from flowsaver import errors
from flowsaver.ops.nn import depthwise_math
from flowsaver.ops.nn.conv_grad_kernels import Window
from flowsaver.ops.nn.conv_kernels import widened
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
        x, f = widened(win.nhwc(x)), widened(f)
        n, h, w, c = x.shape
        kh, kw, fc, m = f.shape
        if fc != c:
            raise errors.InvalidArgumentError(
                None, op, f"input and filter must have the same depth: {c} vs {fc}")
        pads, (oh, ow) = _plan(win, (h, w), (kh, kw))
        out = depthwise_math.correlate(x, f, pads, (oh, ow), win.strides, win.dilations)
        return win.from_nhwc(out.reshape(n, oh, ow, c * m)).astype(dtype, copy=False)
    return run


@kernel("DepthwiseConv2dNativeBackpropInput")
def _depthwise_input_grad(op, ctx):
    win = Window(op)

    def run(sizes, f, grad):
        dtype = f.dtype
        f, grad = widened(f), widened(win.nhwc(grad))
        n, h, w, c = win.dims([int(d) for d in sizes])
        kh, kw, _, m = f.shape
        pads, (oh, ow) = _plan(win, (h, w), (kh, kw))
        _check_grad(win, grad, (n, oh, ow, c * m))
        out = depthwise_math.input_grad(grad.reshape(n, oh, ow, c, m), f, (h, w), pads,
                                        win.strides, win.dilations)
        return win.from_nhwc(out).astype(dtype, copy=False)
    return run


@kernel("DepthwiseConv2dNativeBackpropFilter")
def _depthwise_filter_grad(op, ctx):
    win = Window(op)

    def run(x, sizes, grad):
        dtype = x.dtype
        x, grad = widened(win.nhwc(x)), widened(win.nhwc(grad))
        kh, kw, c, m = [int(d) for d in sizes]
        n, h, w, _ = x.shape
        pads, (oh, ow) = _plan(win, (h, w), (kh, kw))
        _check_grad(win, grad, (n, oh, ow, c * m))
        out = depthwise_math.filter_sums(x, grad.reshape(n, oh, ow, c, m), pads, (kh, kw),
                                         win.strides, win.dilations)
        return out.astype(dtype, copy=False)
    return run
