"""2-D convolution and pooling: defs, shape functions and NumPy kernels.

Kernels work in NHWC (NCHW inputs are transposed in and out). Conv2D gathers the output
positions' receptive fields block by block (im2col) and multiplies each block while it is
in cache (conv_gemm.py; groups through grouped_conv.py); pooling reduces strided row
views, then column views (KH + KW array operations), so no Python loop runs over pixels.
"""
from __future__ import annotations

import math

import ml_dtypes
import numpy as np

from flowsaver import errors
from flowsaver.ops import blas_threads
from flowsaver.ops.nn import conv_gemm, grouped_conv
from flowsaver.ops.nn.kernels import rank_error
from flowsaver.ops.registry import OpTable

TABLE = OpTable(__name__)
define, kernel, shape_fn = TABLE.define, TABLE.kernel, TABLE.shape_fn

define(
    'Conv2D(input: T, filter: T) -> (output: T); T: type {half, bfloat16, float, double, int32}; strides: list(int); use_cudnn_on_gpu: bool = true; padding: string {"SAME", "VALID", "EXPLICIT"}; explicit_paddings: list(int) = []; data_format: string {"NHWC", "NCHW"} = "NHWC"; dilations: list(int) = [1, 1, 1, 1]',
    'MaxPool(input: T) -> (output: T); T: type {half, bfloat16, float, double, int32, int64, uint8, int16, int8, uint16, qint8} = float; ksize: list(int) >= 4; strides: list(int) >= 4; padding: string {"SAME", "VALID", "EXPLICIT"}; explicit_paddings: list(int) = []; data_format: string {"NHWC", "NCHW", "NCHW_VECT_C"} = "NHWC"',
    'AvgPool(value: T) -> (output: T); ksize: list(int) >= 4; strides: list(int) >= 4; padding: string {"SAME", "VALID"}; data_format: string {"NHWC", "NCHW"} = "NHWC"; T: type {half, bfloat16, float, double}',
)


class Geometry:
    """A 2-D window op's attrs, read once: spatial strides, dilations, padding, layout."""

    def __init__(self, op, ksize=None):
        self.op = op
        self.nchw = op.get_attr("data_format") == b"NCHW"
        self.padding = op.get_attr("padding").decode()
        strides = op.get_attr("strides")
        dilations = op.get_attr("dilations") if op.type == "Conv2D" else [1, 1, 1, 1]
        explicit = op.get_attr("explicit_paddings") if op.type != "AvgPool" else []
        self.strides, self.dilations = self.spatial(strides), self.spatial(dilations)
        self.outer = [strides[i] for i in self.outer_axes()] + \
                     [dilations[i] for i in self.outer_axes()]
        self.ksize = self.spatial(ksize) if ksize is not None else None
        if ksize is not None:
            self.outer += [ksize[i] for i in self.outer_axes()]
        self.explicit = [tuple(explicit[2 * i:2 * i + 2]) for i in self.spatial_axes()] \
            if self.padding == "EXPLICIT" else [(0, 0), (0, 0)]
        if self.padding == "EXPLICIT" and \
                any(explicit[2 * i:2 * i + 2] != [0, 0] for i in self.outer_axes()):
            shapes = ", ".join(str(t.shape) for t in op.inputs)
            raise ValueError(f"Nonzero explicit padding in the batch or depth dimensions is "
                             f"not supported for '{op.name}' (op: '{op.type}') with input "
                             f"shapes: {shapes}.")

    def spatial_axes(self) -> tuple:
        return (2, 3) if self.nchw else (1, 2)

    def outer_axes(self) -> tuple:
        return (0, 1) if self.nchw else (0, 3)

    def spatial(self, values) -> tuple:
        return tuple(values[i] for i in self.spatial_axes())

    def dims(self, shape) -> tuple:
        """(batch, height, width, channels) of a shape given in this op's layout."""
        if self.nchw:
            return shape[0], shape[2], shape[3], shape[1]
        return tuple(shape)

    def layout(self, n, h, w, c) -> list:
        return [n, c, h, w] if self.nchw else [n, h, w, c]

    def out_size(self, axis: int, size, k):
        """Output size along spatial ``axis`` (0 or 1), None when ``size`` is unknown."""
        if size is None or k is None:
            return None
        s, d = self.strides[axis], self.dilations[axis]
        ek = (k - 1) * d + 1
        if self.padding == "SAME":
            return -(-size // s)
        size += sum(self.explicit[axis])
        if size < ek:
            shapes = ", ".join(str(t.shape) for t in self.op.inputs)
            raise ValueError(f"Negative dimension size caused by subtracting {ek} from {size} "
                             f"for '{self.op.name}' (op: '{self.op.type}') with input shapes: "
                             f"{shapes}.")
        return (size - ek) // s + 1

    def pads(self, axis: int, size: int, k: int) -> tuple:
        """(before, after) padding along spatial ``axis``; SAME puts the odd one after."""
        if self.padding == "EXPLICIT":
            return self.explicit[axis]
        if self.padding == "VALID":
            return 0, 0
        s, ek = self.strides[axis], (k - 1) * self.dilations[axis] + 1
        total = max((math.ceil(size / s) - 1) * s + ek - size, 0)
        return total // 2, total - total // 2


def _check_outer(geo: Geometry, what: str) -> None:
    """Windows, strides or dilations over batch/depth: TensorFlow's CPU kernels refuse them."""
    if any(v != 1 for v in geo.outer):
        raise errors.UnimplementedError(
            None, geo.op, f"{geo.op.type} ({geo.op.name}) does not support {what} in the "
                          f"batch and depth dimensions: got {geo.outer}")


def _nhwc(geo: Geometry, x: np.ndarray) -> np.ndarray:
    return x.transpose(0, 2, 3, 1) if geo.nchw else x


def _from_nhwc(geo: Geometry, y: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(y.transpose(0, 3, 1, 2)) if geo.nchw else y


def pad_spatial(x: np.ndarray, pads, value=0) -> np.ndarray:
    """``x`` (NHWC) padded on H and W; ``x`` itself when there is nothing to add."""
    if not any(pads[0]) and not any(pads[1]):
        return x
    return np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)), constant_values=value)


# ---- Conv2D ----------------------------------------------------------------------------------
@shape_fn("Conv2D")
def _conv_shape(op):
    x, f = op.inputs[0].shape, op.inputs[1].shape
    for shape in (x, f):
        if shape.ndims is not None and shape.ndims != 4:
            raise rank_error(op, 4, shape)
    geo = Geometry(op)
    n, h, w, c = geo.dims(x.as_list()) if x.ndims is not None else [None] * 4
    kh, kw, fc, out_c = f.as_list() if f.ndims is not None else [None] * 4
    shapes = ", ".join(str(t.shape) for t in op.inputs)
    if c is not None and fc is not None:
        if c % fc:
            raise ValueError(f"Depth of input ({c}) is not a multiple of input depth of filter "
                             f"({fc}) for '{op.name}' (op: 'Conv2D') with input shapes: "
                             f"{shapes}.")
        if out_c is not None and out_c % (c // fc):
            raise ValueError(f"Depth of output ({out_c}) is not a multiple of the number of "
                             f"groups ({c // fc}) for '{op.name}' (op: 'Conv2D') with input "
                             f"shapes: {shapes}.")
    return [geo.layout(n, geo.out_size(0, h, kh), geo.out_size(1, w, kw), out_c)]


def conv2d_nhwc(x: np.ndarray, f: np.ndarray, geo: Geometry) -> np.ndarray:
    """The convolution of NHWC ``x`` with HWIO ``f``: blocked im2col products
    (``conv_gemm.conv_forward``), group by group when the filter sees a part of the input
    channels (``grouped_conv``)."""
    n, h, w, c = x.shape
    kh, kw, fc, out_c = f.shape
    if c % fc:
        raise errors.InvalidArgumentError(
            None, geo.op, f"input depth ({c}) must be a multiple of filter depth ({fc}) "
                          f"for {geo.op.name}")
    pads = (geo.pads(0, h, kh), geo.pads(1, w, kw))
    out_hw = (geo.out_size(0, h, kh), geo.out_size(1, w, kw))
    if c == fc:
        return conv_gemm.conv_forward(x, f, pads, out_hw, geo.strides, geo.dilations)
    return grouped_conv.forward(x, f, pads, out_hw, geo.strides, geo.dilations)


def widened(x: np.ndarray) -> np.ndarray:
    """``x`` in float32 when it is a 16-bit float (half, bfloat16): the convolution kernels
    compute in float32 and round their result once, as TensorFlow's CPU kernels accumulate
    in float32 (NumPy's einsum has no bfloat16 loop at all)."""
    return x.astype(np.float32) if x.dtype in _HALVES else x


_HALVES = (np.dtype(np.float16), np.dtype(ml_dtypes.bfloat16))


@kernel("Conv2D")
def _conv2d(op, ctx):
    geo = Geometry(op)

    def run(x, f):
        _check_outer(geo, "strides or dilations")
        dtype = x.dtype
        x, f = widened(x), widened(f)
        out = conv2d_nhwc(_nhwc(geo, x), f, geo)
        return _from_nhwc(geo, out).astype(dtype, copy=False)
    return run


@TABLE.fusion("Conv2D", "BiasAdd")
def _conv2d_bias_add(conv, bias_add, ctx):
    """``BiasAdd(Conv2D(x, f), bias)`` in one kernel, for NHWC float and double: the bias
    joins the filter as one more row of the product (``conv_gemm.correlate``), so no pass
    over the output adds it; a group-wise filter, another dtype or a bias that does not
    fit leaves the two kernels to run one after the other (NotImplemented)."""
    geo = Geometry(conv)
    if geo.nchw or bias_add.get_attr("data_format") != b"NHWC":
        return None

    def run(x, f, bias):
        if not (x.dtype == f.dtype == bias.dtype and x.dtype in _FUSED_DTYPES
                and x.ndim == 4 and f.ndim == 4 and bias.ndim == 1
                and x.shape[3] == f.shape[2] and bias.shape[0] == f.shape[3]):
            return NotImplemented
        _check_outer(geo, "strides or dilations")
        n, h, w, c = x.shape
        kh, kw = f.shape[:2]
        pads = (geo.pads(0, h, kh), geo.pads(1, w, kw))
        out_hw = (geo.out_size(0, h, kh), geo.out_size(1, w, kw))
        return conv_gemm.conv_forward(x, f, pads, out_hw, geo.strides, geo.dilations, bias)
    return run


_FUSED_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


# ---- pooling ---------------------------------------------------------------------------------
@shape_fn("MaxPool", "AvgPool")
def _pool_shape(op):
    x = op.inputs[0].shape
    if x.ndims is not None and x.ndims != 4:
        raise rank_error(op, 4, x)
    geo = Geometry(op, op.get_attr("ksize"))
    n, h, w, c = geo.dims(x.as_list()) if x.ndims is not None else [None] * 4
    return [geo.layout(n, geo.out_size(0, h, geo.ksize[0]), geo.out_size(1, w, geo.ksize[1]),
                       c)]


def pool_reduce(xp: np.ndarray, out_hw, geo: Geometry, combine) -> np.ndarray:
    """Reduce each pooling window of padded NHWC ``xp`` with ``combine`` (np.fmax,
    np.maximum or np.add): first along H over KH strided row views, then along W, into a
    fresh array.

    The first two views of each axis are combined into a new array, the rest into it, so a
    2x2 window takes two array operations and no copy (a max pool over the MNIST CNN's
    first activations: 0.65 ms against 0.91 ms copying the first view of each axis). A run
    of large images is cut into runs of images over the threads (``over_rows``)."""
    (oh, ow), (sh, sw), (kh, kw) = out_hw, geo.strides, geo.ksize
    n, c = xp.shape[0], xp.shape[3]
    out = np.empty((n, oh, ow, c), xp.dtype)

    def images(lo: int, hi: int) -> None:
        part = xp[lo:hi]
        rows = [part[:, i:i + (oh - 1) * sh + 1:sh] for i in range(kh)]
        if kh > 1:
            rows = [combined(rows, combine, None)]
        cols = [rows[0][:, :, j:j + (ow - 1) * sw + 1:sw] for j in range(kw)]
        combined(cols, combine, out[lo:hi])

    blas_threads.over_rows(images, n, xp.size)
    return out


def combined(views: list, combine, out):
    """``combine`` over ``views``, in order, into ``out`` (a fresh array when None)."""
    if len(views) == 1:
        if out is None:
            return views[0].copy()
        np.copyto(out, views[0])
        return out
    out = combine(views[0], views[1], out=out)
    for view in views[2:]:
        combine(out, view, out=out)
    return out


def _pool_setup(geo: Geometry, x: np.ndarray):
    _check_outer(geo, "pooling windows or strides")
    if geo.op.get_attr("data_format") == b"NCHW_VECT_C":
        raise errors.UnimplementedError(None, geo.op, "NCHW_VECT_C pooling is not supported")
    x = _nhwc(geo, x)
    _, h, w, _ = x.shape
    pads = (geo.pads(0, h, geo.ksize[0]), geo.pads(1, w, geo.ksize[1]))
    return x, pads, (geo.out_size(0, h, geo.ksize[0]), geo.out_size(1, w, geo.ksize[1]))


@kernel("MaxPool")
def _max_pool(op, ctx):
    """TensorFlow's maximum starts at the type's lowest value and is replaced only by
    greater elements: NaN never wins, and a window of NaNs (or of -inf) gives the lowest
    value, finite for float32 and float64 but -inf for the 16-bit floats (measured).
    ``np.fmax`` skips NaNs the same way; one more ``fmax`` with the lowest value floors
    the result."""
    geo = Geometry(op, op.get_attr("ksize"))
    dtype = op.get_attr("T")
    low, floating = dtype.min, dtype.is_floating
    if floating and dtype.size == 2:
        low = dtype.as_numpy_dtype(-np.inf)

    def run(x):
        x, pads, out_hw = _pool_setup(geo, x)
        if not floating:
            return _from_nhwc(geo, pool_reduce(pad_spatial(x, pads, low), out_hw, geo,
                                               np.maximum))
        out = pool_reduce(pad_spatial(x, pads, low), out_hw, geo, np.fmax)
        return _from_nhwc(geo, np.fmax(out, low, out=out))
    return run


def _valid_counts(size: int, out: int, k: int, s: int, before: int) -> np.ndarray:
    """How many of each window's k positions along one axis fall inside the input."""
    start = np.arange(out) * s - before
    return np.minimum(start + k, size) - np.maximum(start, 0)


@kernel("AvgPool")
def _avg_pool(op, ctx):
    geo = Geometry(op, op.get_attr("ksize"))

    def run(x):
        dtype = x.dtype
        x, pads, (oh, ow) = _pool_setup(geo, x)
        work = x.astype(np.float32) if dtype == np.float16 else x
        total = pool_reduce(pad_spatial(work, pads), (oh, ow), geo, np.add)
        _, h, w, _ = x.shape
        rows = _valid_counts(h, oh, geo.ksize[0], geo.strides[0], pads[0][0])
        cols = _valid_counts(w, ow, geo.ksize[1], geo.strides[1], pads[1][0])
        total /= np.outer(rows, cols).astype(total.dtype)[None, :, :, None]
        return _from_nhwc(geo, total.astype(dtype, copy=False))
    return run
