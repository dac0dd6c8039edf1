"""Resize ops with TensorFlow's arithmetic: ``ResizeBilinear``, ``ResizeNearestNeighbor``,
``ResizeBicubic`` (Keys' kernel, a = -0.75, looked up in a 1024-step table as TensorFlow
does) and ``ResizeArea``. Images are [batch, height, width, channels]; scales and
coordinates are float32, as in TensorFlow's kernels, so results match bit for bit where
the summation order allows.
"""
from __future__ import annotations

import numpy as np

from flowsaver import errors
from flowsaver.ops import shapes
from flowsaver.ops.registry import NO_GRADIENT_YET, OpTable

TABLE = OpTable(__name__)
define, kernel, shape_fn = TABLE.define, TABLE.kernel, TABLE.shape_fn

_TYPES = "{int8, uint8, int16, uint16, int32, int64, half, float, double, bfloat16}"
define(
    'ResizeBilinear(images: T, size: int32) -> (resized_images: float); T: type {int8, uint8, int16, uint16, int32, int64, bfloat16, half, float, double, bfloat16}; align_corners: bool = false; half_pixel_centers: bool = false',
    f'ResizeNearestNeighbor(images: T, size: int32) -> (resized_images: T); T: type {_TYPES}; align_corners: bool = false; half_pixel_centers: bool = false',
    f'ResizeBicubic(images: T, size: int32) -> (resized_images: float); T: type {_TYPES}; align_corners: bool = false; half_pixel_centers: bool = false',
    f'ResizeArea(images: T, size: int32) -> (resized_images: float); T: type {_TYPES}; align_corners: bool = false',
)
TABLE.mark(NO_GRADIENT_YET, "ResizeBilinear", "ResizeNearestNeighbor", "ResizeBicubic")
TABLE.not_differentiable("ResizeArea")
F32 = np.float32
TABLE_SIZE = 1 << 10


@shape_fn("ResizeBilinear", "ResizeNearestNeighbor", "ResizeBicubic", "ResizeArea")
def _resized_shape(op):
    images = op.inputs[0].shape
    size = shapes.shape_from_tensor(op.inputs[1])
    dims = size.as_list() if size.ndims == 1 else [None, None]
    if images.ndims is None:
        return [[None, dims[0], dims[1], None]]
    if images.ndims != 4:
        raise shapes.fail(op, f"input must be 4-dimensional, got {images}")
    batch, _, _, channels = images.as_list()
    return [[batch, dims[0], dims[1], channels]]


def _scale(size_in: int, size_out: int, align: bool) -> np.float32:
    if align and size_out > 1:
        return F32(size_in - 1) / F32(size_out - 1)
    return F32(size_in) / F32(size_out)


def _source(out: int, scale, half: bool) -> np.ndarray:
    i = np.arange(out, dtype=F32)
    return (i + F32(0.5)) * scale - F32(0.5) if half else i * scale


def _checked(op, images, size):
    images = np.asarray(images)
    size = [int(v) for v in np.reshape(size, -1)]
    if images.ndim != 4:
        raise errors.InvalidArgumentError(None, op, f"input must be 4-dimensional "
                                                    f"{list(images.shape)}")
    if len(size) != 2 or min(size) <= 0:
        raise errors.InvalidArgumentError(None, op, f"output dimensions must be positive, "
                                                    f"got {size}")
    return images, size


@kernel("ResizeBilinear")
def _bilinear(op, ctx):
    align, half = op.get_attr("align_corners"), op.get_attr("half_pixel_centers")

    def weights(size_in, size_out):
        pos = _source(size_out, _scale(size_in, size_out, align), half)
        floor = np.floor(pos)
        lower = np.maximum(floor, 0).astype(np.int64)
        upper = np.minimum(np.ceil(pos), size_in - 1).astype(np.int64)
        return lower, upper, (pos - floor).astype(F32)

    def run(images, size):
        images, (height, width) = _checked(op, images, size)
        data = images.astype(F32)
        y0, y1, dy = weights(images.shape[1], height)
        x0, x1, dx = weights(images.shape[2], width)
        dx = dx[None, None, :, None]
        top = data[:, y0][:, :, x0] + (data[:, y0][:, :, x1] - data[:, y0][:, :, x0]) * dx
        bottom = data[:, y1][:, :, x0] + (data[:, y1][:, :, x1] - data[:, y1][:, :, x0]) * dx
        return (top + (bottom - top) * dy[None, :, None, None]).astype(F32)
    return run


@kernel("ResizeNearestNeighbor")
def _nearest(op, ctx):
    align, half = op.get_attr("align_corners"), op.get_attr("half_pixel_centers")

    def index(size_in, size_out):
        scale = _scale(size_in, size_out, align)
        i = np.arange(size_out, dtype=F32)
        pos = (i + F32(0.5)) * scale if half else i * scale
        # roundf (half away from zero) with align_corners, floorf otherwise; pos >= 0
        pos = np.floor(pos + F32(0.5)) if align else np.floor(pos)
        return np.clip(pos.astype(np.int64), 0, size_in - 1)

    def run(images, size):
        images, (height, width) = _checked(op, images, size)
        return images[:, index(images.shape[1], height)][:, :, index(images.shape[2], width)]
    return run


def _keys_table(a: float = -0.75) -> np.ndarray:
    table = np.zeros((TABLE_SIZE + 1, 2), F32)
    for i in range(TABLE_SIZE + 1):
        x = i * 1.0 / TABLE_SIZE
        table[i, 0] = ((a + 2) * x - (a + 3)) * x * x + 1
        x += 1.0
        table[i, 1] = ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return table


_KEYS = _keys_table()


def _cubic_weights(size_in: int, size_out: int, align: bool):
    pos = _source(size_out, _scale(size_in, size_out, align), False)
    base = np.floor(pos).astype(np.int64)
    offset = np.rint((pos - base.astype(F32)) * F32(TABLE_SIZE)).astype(np.int64)
    weights = np.stack([_KEYS[offset, 1], _KEYS[offset, 0], _KEYS[TABLE_SIZE - offset, 0],
                        _KEYS[TABLE_SIZE - offset, 1]], axis=1)
    index = np.clip(base[:, None] + np.arange(-1, 3)[None, :], 0, size_in - 1)
    return weights.astype(F32), index


@kernel("ResizeBicubic")
def _bicubic(op, ctx):
    align, half = op.get_attr("align_corners"), op.get_attr("half_pixel_centers")
    if half:
        raise errors.UnimplementedError(None, op, f"{op.name}: half_pixel_centers bicubic "
                                                  f"resizing is not implemented in flowsaver")

    def run(images, size):
        images, (height, width) = _checked(op, images, size)
        data = images.astype(F32)
        wy, iy = _cubic_weights(images.shape[1], height, align)
        wx, ix = _cubic_weights(images.shape[2], width, align)
        rows = data[:, iy]                          # [b, out_h, 4, in_w, c]
        cols = rows[:, :, :, ix]                    # [b, out_h, 4, out_w, 4, c]
        along_x = cols[..., 0, :] * wx[None, None, None, :, 0, None]
        for k in range(1, 4):
            along_x = along_x + cols[..., k, :] * wx[None, None, None, :, k, None]
        out = along_x[:, :, 0] * wy[None, :, 0, None, None]
        for k in range(1, 4):
            out = out + along_x[:, :, k] * wy[None, :, k, None, None]
        return out.astype(F32)
    return run


def _area_cells(size_in: int, size_out: int, scale):
    cells = []
    for o in range(size_out):
        start, end = F32(o) * scale, F32(o + 1) * scale
        parts = []
        for i in range(int(np.floor(start)), int(np.ceil(end))):
            weight = min(F32(i + 1), end) - max(F32(i), start)
            parts.append((min(i, size_in - 1), F32(weight)))
        cells.append(parts)
    return cells


@kernel("ResizeArea")
def _area(op, ctx):
    align = op.get_attr("align_corners")

    def run(images, size):
        images, (height, width) = _checked(op, images, size)
        data = images.astype(F32)
        sy = _scale(images.shape[1], height, align)
        sx = _scale(images.shape[2], width, align)
        ys, xs = _area_cells(images.shape[1], height, sy), _area_cells(images.shape[2], width, sx)
        norm = F32(1.0) / (sy * sx)
        out = np.zeros((images.shape[0], height, width, images.shape[3]), F32)
        for y, ycells in enumerate(ys):
            for x, xcells in enumerate(xs):
                total = np.zeros((images.shape[0], images.shape[3]), F32)
                for iy, wy in ycells:
                    row = np.zeros_like(total)
                    for ix, wx in xcells:
                        row = row + data[:, iy, ix] * wx
                    total = total + row * wy
                out[:, y, x] = total * norm
        return out
    return run
