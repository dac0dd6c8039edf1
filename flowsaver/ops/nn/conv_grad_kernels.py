"""Gradient ops of 2-D convolution and pooling: defs, shape functions and NumPy kernels.

``Conv2DBackpropFilter`` is one matrix product of the input's patches (im2col) with the
output gradient; ``Conv2DBackpropInput`` is, at stride 1, a correlation of the padded
output gradient with the flipped filter (im2col and one product), and otherwise one product
whose KH*KW patch planes are added back into place (col2im); see conv_gemm.py. Grouped
convolutions go group by group through the same kernels (grouped_conv.py).
``MaxPoolGrad`` routes each window's gradient to its first maximum, ``AvgPoolGrad``
spreads it over the window's in-bounds pixels. All loops run over window offsets (KH*KW),
never over pixels; NCHW is transposed to NHWC and back.
"""
from __future__ import annotations

import numpy as np

from flowsaver import errors
from flowsaver.graph.tensor_shape import TensorShape
from flowsaver.ops import blas_threads
from flowsaver.ops.shapes import partial_shape
from flowsaver.ops.nn import conv_gemm, grouped_conv
from flowsaver.ops.nn.conv_kernels import combined, widened
from flowsaver.ops.registry import NO_GRADIENT_YET, OpTable

TABLE = OpTable(__name__)
define, kernel, shape_fn = TABLE.define, TABLE.kernel, TABLE.shape_fn

define(
    'Conv2DBackpropInput(input_sizes: int32, filter: T, out_backprop: T) -> (output: T); T: type {half, bfloat16, float, double, int32}; strides: list(int); use_cudnn_on_gpu: bool = true; padding: string {"SAME", "VALID", "EXPLICIT"}; explicit_paddings: list(int) = []; data_format: string {"NHWC", "NCHW"} = "NHWC"; dilations: list(int) = [1, 1, 1, 1]',
    'Conv2DBackpropFilter(input: T, filter_sizes: int32, out_backprop: T) -> (output: T); T: type {half, bfloat16, float, double}; strides: list(int); use_cudnn_on_gpu: bool = true; padding: string {"SAME", "VALID", "EXPLICIT"}; explicit_paddings: list(int) = []; data_format: string {"NHWC", "NCHW"} = "NHWC"; dilations: list(int) = [1, 1, 1, 1]',
    'MaxPoolGrad(orig_input: T, orig_output: T, grad: T) -> (output: T); ksize: list(int) >= 4; strides: list(int) >= 4; padding: string {"SAME", "VALID", "EXPLICIT"}; explicit_paddings: list(int) = []; data_format: string {"NHWC", "NCHW"} = "NHWC"; T: type {float, double, int32, uint8, int16, int8, int64, bfloat16, uint16, half, uint32, uint64} = float',
    'AvgPoolGrad(orig_input_shape: int32, grad: T) -> (output: T); ksize: list(int) >= 4; strides: list(int) >= 4; padding: string {"SAME", "VALID"}; data_format: string {"NHWC", "NCHW"} = "NHWC"; T: type {half, bfloat16, float, double}',
)
# TensorFlow differentiates these; flowsaver does not yet (the walk says so if it meets one)
TABLE.mark(NO_GRADIENT_YET, "MaxPoolGrad")


class Window:
    """A window op's attrs, read once: layout, spatial strides/dilations/window, padding."""

    def __init__(self, op, ksize=None):
        attrs = {a.name for a in op.op_def.attrs}
        self.op = op
        self.nchw = op.get_attr("data_format") == b"NCHW"
        self.padding = op.get_attr("padding").decode()
        axes = (2, 3) if self.nchw else (1, 2)
        self.strides = tuple(op.get_attr("strides")[i] for i in axes)
        dilations = op.get_attr("dilations") if "dilations" in attrs else [1, 1, 1, 1]
        self.dilations = tuple(dilations[i] for i in axes)
        self.ksize = None if ksize is None else tuple(ksize[i] for i in axes)
        explicit = op.get_attr("explicit_paddings") if "explicit_paddings" in attrs else []
        self.explicit = [tuple(explicit[2 * i:2 * i + 2]) for i in axes] \
            if self.padding == "EXPLICIT" else [(0, 0), (0, 0)]
        outer = (0, 1) if self.nchw else (0, 3)
        values = [op.get_attr("strides")[i] for i in outer] + [dilations[i] for i in outer]
        values += [ksize[i] for i in outer] if ksize is not None else []
        if any(v != 1 for v in values):
            raise errors.UnimplementedError(
                None, op, f"{op.type} ({op.name}) does not support strides, dilations or "
                          f"windows over the batch and depth dimensions: got {values}")

    def nhwc(self, x: np.ndarray) -> np.ndarray:
        return x.transpose(0, 2, 3, 1) if self.nchw else x

    def from_nhwc(self, y: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(y.transpose(0, 3, 1, 2)) if self.nchw else y

    def dims(self, shape) -> list:
        """(N, H, W, C) of a shape in this op's layout."""
        shape = list(shape)
        return [shape[0], shape[2], shape[3], shape[1]] if self.nchw else shape

    def layout(self, n, h, w, c) -> list:
        return [n, c, h, w] if self.nchw else [n, h, w, c]

    def plan(self, axis: int, size: int, k: int):
        """(pad before, pad after, output size) along spatial ``axis``."""
        s, ek = self.strides[axis], (k - 1) * self.dilations[axis] + 1
        if self.padding == "SAME":
            out = -(-size // s)
            total = max((out - 1) * s + ek - size, 0)
            return total // 2, total - total // 2, out
        before, after = self.explicit[axis]
        return before, after, max((size + before + after - ek) // s + 1, 0)


def _offsets(win: Window, k_hw, out_hw):
    """For each window offset (kh, kw): the strided (rows, cols) slices it touches."""
    (sh, sw), (dh, dw) = win.strides, win.dilations
    for i in range(k_hw[0]):
        rows = slice(i * dh, i * dh + (out_hw[0] - 1) * sh + 1, sh)
        for j in range(k_hw[1]):
            yield i, j, rows, slice(j * dw, j * dw + (out_hw[1] - 1) * sw + 1, sw)


def _check_out(win: Window, grad: np.ndarray, n, out_hw, c) -> None:
    if list(grad.shape) != [n, out_hw[0], out_hw[1], c]:
        raise errors.InvalidArgumentError(
            None, win.op, f"{win.op.type} ({win.op.name}): out_backprop has shape "
                          f"{win.layout(*grad.shape)} but the forward op's output has "
                          f"{win.layout(n, out_hw[0], out_hw[1], c)}")


def _setup(win: Window, in_shape, k_hw):
    """Padding per side and output size of the forward op, for an NHWC input shape."""
    _, h, w, _ = in_shape
    top, bottom, oh = win.plan(0, h, k_hw[0])
    left, right, ow = win.plan(1, w, k_hw[1])
    return ((top, bottom), (left, right)), (oh, ow)


def _crop(xp: np.ndarray, pads, h: int, w: int) -> np.ndarray:
    if xp.shape[1:3] == (h, w):
        return xp
    return np.ascontiguousarray(xp[:, pads[0][0]:pads[0][0] + h, pads[1][0]:pads[1][0] + w])


# ---- convolution --------------------------------------------------------------------------------
@shape_fn("Conv2DBackpropInput")
def _input_grad_shape(op):
    return [partial_shape(op.inputs[0]) if op.inputs[0].shape.as_list() != [2] else
            TensorShape([None] * 4)]


@shape_fn("Conv2DBackpropFilter")
def _filter_grad_shape(op):
    return [partial_shape(op.inputs[1])]


@kernel("Conv2DBackpropFilter")
def _conv_filter_grad(op, ctx):
    win = Window(op)

    def run(x, filter_sizes, grad):
        dtype = x.dtype
        x, grad = widened(win.nhwc(x)), widened(win.nhwc(grad))
        kh, kw, fc, out_c = [int(d) for d in filter_sizes]
        n, _, _, c = x.shape
        pads, out_hw = _setup(win, x.shape, (kh, kw))
        _check_out(win, grad, n, out_hw, out_c)
        if c == fc:
            out = conv_gemm.conv_filter_grad(x, grad, (kh, kw), pads, win.strides,
                                             win.dilations)
        else:  # each group of filters sees only its slice of the input channels
            out = grouped_conv.filter_grad(x, grad, (kh, kw), fc, pads, win.strides,
                                           win.dilations)
        return out.reshape(kh, kw, fc, out_c).astype(dtype, copy=False)
    return run


@kernel("Conv2DBackpropInput")
def _conv_input_grad(op, ctx):
    win = Window(op)

    def run(input_sizes, f, grad):
        dtype = f.dtype
        grad, f = widened(win.nhwc(grad)), widened(f)
        kh, kw, fc, out_c = f.shape
        sizes = [int(d) for d in input_sizes]
        if len(sizes) == 2:  # only H and W given: batch and depth follow the gradient
            sizes = win.layout(grad.shape[0], sizes[0], sizes[1], fc)
        n, h, w, c = win.dims(sizes)
        pads, out_hw = _setup(win, (n, h, w, c), (kh, kw))
        _check_out(win, grad, n, out_hw, out_c)
        if c == fc:
            out = conv_gemm.conv_input_grad(grad, f, (h, w), pads, win.strides, win.dilations)
        else:  # each group of filters sees only its slice of the input channels
            out = grouped_conv.input_grad(grad, f, (h, w), c, pads, win.strides,
                                          win.dilations)
        return win.from_nhwc(out).astype(dtype, copy=False)
    return run


# ---- pooling ------------------------------------------------------------------------------------
shape_fn("MaxPoolGrad")(lambda op: [op.inputs[0].shape])
shape_fn("AvgPoolGrad")(lambda op: [partial_shape(op.inputs[0])])


@kernel("MaxPoolGrad")
def _max_pool_grad(op, ctx):
    win = Window(op, op.get_attr("ksize"))
    may_be_nan = op.get_attr("T").is_floating
    pad_value = -np.inf if may_be_nan else op.get_attr("T").min

    def run(x, y, grad):
        dtype = x.dtype
        x, grad = win.nhwc(x), widened(win.nhwc(grad))
        n, h, w, c = x.shape
        pads, out_hw = _setup(win, x.shape, win.ksize)
        _check_out(win, grad, n, out_hw, c)
        xp = conv_gemm.padded(x, pads, pad_value)
        # TensorFlow's rule: a running maximum that starts at each window's first element
        # inside the input (row-major window order) and moves to every later element
        # greater than it; that element takes the window's gradient. So ties go to the
        # first, a NaN never takes over, but a NaN first element keeps the gradient.
        offsets = list(_offsets(win, win.ksize, out_hw))
        views = [xp[:, rows, columns] for _, _, rows, columns in offsets]
        overlap = any(k > s for k, s in zip(win.ksize, win.strides))
        tiled = not overlap and xp is x and all(
            k * o == size for k, o, size in zip(win.ksize, out_hw, (h, w)))
        # A window's gradient goes to one element and the others get zero, whatever the
        # gradient is: multiplying by a mask would turn an infinite gradient into NaN
        # beside its maximum.
        finite = not may_be_nan or bool(np.isfinite(grad).all())
        out = (np.empty if tiled else np.zeros)(xp.shape, grad.dtype)
        if tiled:
            targets = [out[:, rows, columns] for _, _, rows, columns in offsets]
            step = max(1, TILED_BLOCK_ELEMENTS // max(1, h * w * c))

            def images(lo: int, hi: int) -> None:
                for b0 in range(lo, hi, step):
                    b1 = min(hi, b0 + step)
                    _route_tiled([view[b0:b1] for view in views], grad[b0:b1],
                                 [target[b0:b1] for target in targets], may_be_nan, finite)
        else:
            inside = _inside(win, offsets, pads, (h, w), out_hw)

            def images(lo: int, hi: int) -> None:
                part = [view[lo:hi] for view in views]
                _route(offsets, _winners(part, inside, may_be_nan), grad[lo:hi], out[lo:hi],
                       overlap, finite)

        blas_threads.over_rows(images, n, x.size, short_calls=tiled)
        return win.from_nhwc(_crop(out, pads, h, w)).astype(dtype, copy=False)
    return run


def _inside(win: Window, offsets, pads, in_hw, out_hw) -> list:
    """Per window offset: None when every window's element there lies inside the input,
    else a (1, OH, OW, 1) mask of the windows whose element does (the rest is padding)."""
    (sh, sw), (dh, dw) = win.strides, win.dilations
    starts = np.arange(out_hw[0]) * sh - pads[0][0], np.arange(out_hw[1]) * sw - pads[1][0]
    masks = []
    for i, j, _, _ in offsets:
        rows = (starts[0] + i * dh >= 0) & (starts[0] + i * dh < in_hw[0])
        cols = (starts[1] + j * dw >= 0) & (starts[1] + j * dw < in_hw[1])
        masks.append(None if rows.all() and cols.all() else
                     (rows[:, None] & cols[None, :])[None, :, :, None])
    return masks


def _winners(views, inside, may_be_nan: bool):
    """Per window offset, in order: where that offset takes its window's gradient under
    TensorFlow's rule (see MaxPoolGrad). That is the first element inside the input equal
    to the window's largest number (``fmax`` over the offsets: padding cannot beat an
    element inside, and where it ties one the inside element is taken), except in windows
    whose first element inside is NaN: that element keeps the gradient."""
    best = combined(views, np.fmax, None)
    firsts = _first_inside(inside, views[0].shape[1:3])
    nan_first = None
    if may_be_nan:
        for view, first in zip(views, firsts):
            if first is not None:
                nan = np.isnan(view)
                nan &= first
                nan_first = nan if nan_first is None else np.logical_or(nan_first, nan,
                                                                        out=nan_first)
        if nan_first is not None and not nan_first.any():
            nan_first = None
    taken = None
    for view, ins, first in zip(views, inside, firsts):
        hit = view == best
        if nan_first is not None and first is not None:
            hit |= nan_first & first
        if ins is not None:
            hit &= ins
        if taken is None:
            taken = hit.copy()
        else:
            hit &= ~taken
            taken |= hit
        yield hit


def _first_inside(inside, out_hw) -> list:
    """Per window offset: a (1, OH, OW, 1) mask of the windows whose first element inside
    the input is at that offset, or None for no window."""
    seen = np.zeros((1,) + tuple(out_hw) + (1,), bool)
    firsts = []
    for ins in inside:
        first = ~seen if ins is None else ins & ~seen
        seen |= first
        firsts.append(first if first.any() else None)
    return firsts


# Images per block of a tiled max-pool gradient: about this many input values (2 MiB of
# float32), so that a block's views, its maxima and masks are read back from cache.
TILED_BLOCK_ELEMENTS = 1 << 19


def _route_tiled(views, grad, targets, may_be_nan: bool, finite: bool) -> None:
    """Windows that tile the input exactly (stride = window, no padding): ``views`` holds,
    per window offset in row-major order, the (N, OH, OW, C) view of the input at that
    offset, ``targets`` the same views of the gradient being written, each written once.

    The windows' maxima come first (``fmax``: a NaN loses to any number); then, offset by
    offset, the windows whose element there equals the maximum and that no earlier offset
    took take the gradient. A NaN first element keeps it (TensorFlow's running maximum
    never leaves it), and the last offset takes what is left: with a number first, every
    window holds its maximum somewhere. Each pass reads a quarter of the input (2x2
    windows) and blocks of images stay in cache; measured on the MNIST CNN's first pool
    gradient (64 x 28 x 28 x 32 after a ReLU, ties in 15% of windows, one core): 2.8 ms
    for the earlier whole-window masks, 2.1 ms."""
    best = combined(views, np.fmax, None)
    taken = views[0] == best
    if may_be_nan:
        taken |= np.isnan(views[0])
    _give(grad, taken, targets[0], finite)
    hit = np.empty_like(taken)
    last = len(views) - 1
    for k in range(1, last):
        np.equal(views[k], best, out=hit)
        hit &= ~taken
        taken |= hit
        _give(grad, hit, targets[k], finite)
    if last:
        _give(grad, np.logical_not(taken, out=taken), targets[last], finite)


def _give(grad, hit, target, finite: bool) -> None:
    """``target`` = ``grad`` where ``hit``, else 0 (a product when ``grad`` is finite)."""
    if finite:
        np.multiply(grad, hit, out=target)
    else:
        target[...] = 0
        np.copyto(target, grad, where=hit)


def _route(offsets, hits, grad, out, overlap, finite: bool) -> None:
    """Each window's gradient to the offset that takes it (``hits``, per offset), added
    (windows overlap) or written (they do not) into the strided view that offset read."""
    for (_, _, rows, columns), hit in zip(offsets, hits):
        if overlap:
            out[:, rows, columns] += grad * hit if finite else np.where(hit, grad, 0)
        else:  # windows do not overlap: each position is written once
            _give(grad, hit, out[:, rows, columns], finite)


def _counts(size: int, out: int, k: int, s: int, before: int) -> np.ndarray:
    """How many of each window's ``k`` positions along one axis lie inside the input."""
    start = np.arange(out) * s - before
    return np.minimum(start + k, size) - np.maximum(start, 0)


@kernel("AvgPoolGrad")
def _avg_pool_grad(op, ctx):
    win = Window(op, op.get_attr("ksize"))

    def run(shape, grad):
        dtype = grad.dtype
        n, h, w, c = win.dims([int(d) for d in shape])
        grad = widened(win.nhwc(grad))
        pads, out_hw = _setup(win, (n, h, w, c), win.ksize)
        _check_out(win, grad, n, out_hw, c)
        (kh, kw), (sh, sw) = win.ksize, win.strides
        area = np.outer(_counts(h, out_hw[0], kh, sh, pads[0][0]),
                        _counts(w, out_hw[1], kw, sw, pads[1][0])).astype(grad.dtype)
        share = grad / area[None, :, :, None]
        out = np.zeros((n, h + sum(pads[0]), w + sum(pads[1]), c), grad.dtype)
        for _, _, rows, columns in _offsets(win, win.ksize, out_hw):
            out[:, rows, columns] += share
        return win.from_nhwc(_crop(out, pads, h, w)).astype(dtype, copy=False)
    return run

