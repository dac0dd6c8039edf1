"""CropAndResize (def, shape function, kernel): boxes of a batch of images resampled to one
size, the region-of-interest step of Faster R-CNN-style detection graphs.

Each box (y1, x1, y2, x2, normalized so that 0 and 1 are the first and last pixel centres)
of image ``box_ind[i]`` is sampled on a crop_height x crop_width grid: row y at
``y1 * (H - 1) + y * (y2 - y1) * (H - 1) / (crop_height - 1)`` (the box's centre for a crop
one pixel high), columns alike, in float32 as TensorFlow's kernel computes them, then
bilinearly interpolated (or the nearest pixel taken, halves rounded away from zero).
Samples outside the image take ``extrapolation_value``. The result is float32.
"""
from __future__ import annotations

import numpy as np

from flowsaver import errors
from flowsaver.graph.tensor_shape import TensorShape
from flowsaver.ops.const_eval import value_of
from flowsaver.ops.registry import NO_GRADIENT_YET, OpTable
from flowsaver.ops.shapes import fail, merge_shapes, with_rank

TABLE = OpTable(__name__)
define, kernel, shape_fn = TABLE.define, TABLE.kernel, TABLE.shape_fn

define(
    'CropAndResize(image: T, boxes: float, box_ind: int32, crop_size: int32) -> (crops: float); T: type {uint8, uint16, int8, int16, int32, int64, half, float, double}; method: string {"bilinear", "nearest"} = "bilinear"; extrapolation_value: float = 0.0',
)
# TensorFlow differentiates it (CropAndResizeGradImage/Boxes); flowsaver does not yet
TABLE.mark(NO_GRADIENT_YET, "CropAndResize")

F32 = np.float32


@shape_fn("CropAndResize")
def _crop_and_resize_shape(op):
    image = with_rank(op, op.inputs[0].shape, 4)
    boxes = with_rank(op, op.inputs[1].shape, 2)
    box_ind = with_rank(op, op.inputs[2].shape, 1)
    merge_shapes(op, TensorShape(boxes.as_list()[:1]), box_ind)
    if boxes.as_list()[1] not in (None, 4):
        raise fail(op, f"Dimension must be 4 but is {boxes.as_list()[1]}")
    with_rank(op, op.inputs[3].shape, 1)
    size = value_of(op.inputs[3])
    height, width = (None, None) if size is None else (int(v) for v in np.reshape(size, -1))
    return [[boxes.as_list()[0], height, width, image.as_list()[3]]]


def _positions(start: F32, end: F32, size: int, count: int) -> np.ndarray:
    """Sample coordinates along one axis, rounded as TensorFlow's float32 kernel rounds."""
    span = F32(size - 1)
    if count > 1:
        scale = F32(F32(end - start) * span) / F32(count - 1)
        steps = np.arange(count, dtype=F32) * scale
        return (F32(start * span) + steps).astype(F32)
    return np.array([0.5 * float(F32(start + end)) * (size - 1)], F32)


def _sample(image: np.ndarray, rows: np.ndarray, cols: np.ndarray, method: str):
    """(crop_height, crop_width, C) samples of one float32 image at in-range positions."""
    if method == "nearest":
        # roundf: halves away from zero (positions here are never negative)
        return image[np.floor(rows + F32(0.5)).astype(np.int64)][
            :, np.floor(cols + F32(0.5)).astype(np.int64)]
    top, left = np.floor(rows), np.floor(cols)
    bottom, right = np.ceil(rows).astype(np.int64), np.ceil(cols).astype(np.int64)
    dy = (rows - top)[:, None, None]
    dx = (cols - left)[None, :, None]
    top, left = top.astype(np.int64), left.astype(np.int64)
    upper, lower = image[top], image[bottom]
    upper = upper[:, left] + (upper[:, right] - upper[:, left]) * dx
    lower = lower[:, left] + (lower[:, right] - lower[:, left]) * dx
    return upper + (lower - upper) * dy


def _invalid(message: str) -> errors.InvalidArgumentError:
    """A bad input at run time; the runtime names the node (executor.kernel_error)."""
    return errors.InvalidArgumentError(message)


@kernel("CropAndResize")
def _crop_and_resize(op, ctx):
    method = op.get_attr("method")
    method = method.decode() if isinstance(method, bytes) else method
    fill = F32(op.get_attr("extrapolation_value"))

    def run(image, boxes, box_ind, crop_size):
        image, boxes, box_ind = np.asarray(image), np.asarray(boxes, F32), np.asarray(box_ind)
        if image.ndim != 4:
            raise _invalid(f"input image must be 4-D, got shape {list(image.shape)}")
        if boxes.ndim != 2 or boxes.shape[1] != 4 or box_ind.shape != boxes.shape[:1]:
            raise _invalid(f"boxes must be [num_boxes, 4] and box_ind [num_boxes], got "
                           f"{list(boxes.shape)} and {list(box_ind.shape)}")
        size = [int(v) for v in np.reshape(crop_size, -1)]
        if len(size) != 2:
            raise _invalid(f"crop_size must be a vector of 2 elements, got {len(size)}")
        height, width = size
        if height <= 0 or width <= 0:
            raise _invalid("crop dimensions must be positive")
        n, h, w, c = image.shape
        if box_ind.size and (box_ind.min() < 0 or box_ind.max() >= n):
            raise errors.OutOfRangeError(   # TensorFlow's class for this one
                f"box_index has values outside [0, batch_size): {box_ind.tolist()} with "
                f"batch size {n}")
        out = np.empty((boxes.shape[0], height, width, c), F32)
        for k, (y1, x1, y2, x2) in enumerate(boxes):
            rows = _positions(y1, y2, h, height)
            cols = _positions(x1, x2, w, width)
            row_in = (rows >= 0) & (rows <= h - 1)
            col_in = (cols >= 0) & (cols <= w - 1)
            crop = out[k]
            crop[...] = fill
            if row_in.any() and col_in.any():
                picked = _sample(image[box_ind[k]].astype(F32, copy=False), rows[row_in],
                                 cols[col_in], method)
                crop[np.ix_(row_in, col_in)] = picked
        return out
    return run
