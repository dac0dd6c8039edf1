"""Colour ops with TensorFlow's CPU arithmetic: ``AdjustContrastv2``, ``AdjustHue``,
``AdjustSaturation``, ``RGBToHSV`` and ``HSVToRGB``.

Images are [..., 3] (the adjust ops also want rank >= 3). Every step is a float32 step as
in TensorFlow's kernels, vectorized over pixels:

- ``AdjustContrastv2``: per image and channel, mean = float32 sum over height and width /
  (height * width), cast to the image's type; out = mean + (x - mean) * factor.
- ``AdjustHue``: RGB to (hue in [0, 6), min, max) by the order of the three components;
  hue += 6 delta, wrapped into [0, 6); back to RGB with the middle component
  min + ratio * (max - min).
- ``AdjustSaturation``: per-pixel HSV (hue offsets 2/6 and 4/6 added in double, as the C++
  source's double literals make them), s = clip(s * scale, 0, 1), back to RGB.
- ``RGBToHSV`` / ``HSVToRGB``: TensorFlow's Eigen expressions in the tensor's own type.
"""
from __future__ import annotations

import numpy as np

from flowsaver import errors
from flowsaver.graph.tensor_shape import TensorShape
from flowsaver.ops import shapes
from flowsaver.ops.registry import NO_GRADIENT, NO_GRADIENT_YET, OpTable

TABLE = OpTable(__name__)
define, kernel, shape_fn = TABLE.define, TABLE.kernel, TABLE.shape_fn

define(
    'AdjustContrastv2(images: T, contrast_factor: float) -> (output: T); T: type {half, float} = float',
    'AdjustHue(images: T, delta: float) -> (output: T); T: type {half, float} = float',
    'AdjustSaturation(images: T, scale: float) -> (output: T); T: type {half, float} = float',
    'RGBToHSV(images: T) -> (output: T); T: type {half, bfloat16, float, double} = float',
    'HSVToRGB(images: T) -> (output: T); T: type {half, bfloat16, float, double} = float',
)
TABLE.mark(NO_GRADIENT, "AdjustContrastv2", "AdjustHue", "AdjustSaturation")
TABLE.mark(NO_GRADIENT_YET, "RGBToHSV")
TABLE.not_differentiable("HSVToRGB")
F32 = np.float32
CHANNELS = 3
HUE_SECTORS = 6  # AdjustHue's hue runs over [0, 6): one unit per sector of the colour wheel


@shape_fn("AdjustContrastv2", "AdjustHue", "AdjustSaturation")
def _adjust_shape(op):
    images = op.inputs[0].shape
    if images.ndims is not None and images.ndims < 3:
        raise shapes.fail(op, f"Shape must be at least rank 3 but is rank {images.ndims}")
    return [images]


@shape_fn("RGBToHSV", "HSVToRGB")
def _colorspace_shape(op):
    images = op.inputs[0].shape
    if images.ndims is None:
        return [images]
    if images.ndims < 1:
        raise shapes.fail(op, "Shape must be at least rank 1 but is rank 0")
    last = images.as_list()[-1]
    if last not in (None, CHANNELS):
        raise shapes.fail(op, f"Dimension must be 3 but is {last}")
    return [TensorShape(images.as_list()[:-1] + [CHANNELS])]


def _checked(op, images, what: str, scalar, scalar_name: str) -> None:
    if images.ndim < 3:
        raise errors.InvalidArgumentError(
            None, op, f"input must be at least 3-D, got shape{list(images.shape)}")
    if np.ndim(scalar):
        raise errors.InvalidArgumentError(
            None, op, f"{scalar_name} must be scalar: {list(np.shape(scalar))}")
    if what != "contrast" and images.shape[-1] != CHANNELS:
        raise errors.InvalidArgumentError(
            None, op, f"input must have 3 channels but instead has {images.shape[-1]} "
                      f"channels.")


def _float_only(op, images) -> None:
    if images.dtype != F32:  # TensorFlow registers these kernels for float on the CPU
        raise errors.NotFoundError(
            None, op, f"No registered '{op.type}' OpKernel for 'CPU' devices compatible with "
                      f"node {op.name}: T={images.dtype.name} (only float)")


@kernel("AdjustContrastv2")
def _adjust_contrast(op, ctx):
    def run(images, factor):
        images = np.asarray(images)
        _checked(op, images, "contrast", factor, "contrast_factor")
        if images.size == 0:
            return images.copy()
        shape = images.shape
        four = images.reshape((-1,) + shape[-3:])
        count = F32(shape[-3] * shape[-2])
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = (four.astype(F32).sum(axis=(1, 2), keepdims=True) / count).astype(
                images.dtype)
            scaled = ((four - mean).astype(F32) * F32(factor)).astype(images.dtype)
        return (mean + scaled).reshape(shape)
    return run


# ---- AdjustHue: hue as [0, 6) plus the min and max component ----------------------------------
def _rgb_to_hue_range(r, g, b):
    """(hue in [0, 6], v_min, v_max) per pixel, TensorFlow's case analysis."""
    r_below_g = r < g
    categories = np.where(r_below_g, np.where(b < r, 1, np.where(b > g, 3, 2)),
                          np.where(b < g, 0, np.where(b > r, 4, 5)))
    stacked = np.stack([r, g, b])
    # for each category: which component is the max, the middle and the min
    order = np.array([[0, 1, 2], [1, 0, 2], [1, 2, 0], [2, 1, 0], [2, 0, 1], [0, 2, 1]])
    picks = order[categories]  # (..., 3): indices of max, mid, min
    v_max, v_mid, v_min = (np.take_along_axis(stacked, picks[None, ..., j], 0)[0]
                           for j in range(3))
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = (v_mid - v_min) / (v_max - v_min)
    hue = categories.astype(F32) + np.where(categories % 2 == 0, ratio, F32(1) - ratio)
    hue = np.where(v_max == v_min, F32(0), hue)
    return hue.astype(F32), v_min, v_max


def _hue_range_to_rgb(hue, v_min, v_max):
    categories = hue.astype(np.int32)
    ratio = hue - categories.astype(F32)
    ratio = np.where(categories % 2 == 0, ratio, F32(1) - ratio)
    v_mid = v_min + ratio * (v_max - v_min)
    # which of (max, mid, min) each of r, g, b takes, per category (6 and up as 5)
    layout = np.array([[0, 1, 2], [1, 0, 2], [2, 0, 1], [2, 1, 0], [1, 2, 0], [0, 2, 1]])
    picks = layout[np.clip(categories, 0, 5)]
    values = np.stack([v_max, v_mid, v_min], axis=-1)
    return np.take_along_axis(values, picks, -1)


@kernel("AdjustHue")
def _adjust_hue(op, ctx):
    def run(images, delta):
        images = np.asarray(images)
        _checked(op, images, "hue", delta, "delta")
        _float_only(op, images)
        hue, v_min, v_max = _rgb_to_hue_range(images[..., 0], images[..., 1], images[..., 2])
        hue = hue + F32(delta) * F32(HUE_SECTORS)
        while (below := hue < 0).any():
            hue = np.where(below, hue + F32(HUE_SECTORS), hue)
        while (above := hue >= HUE_SECTORS).any():
            hue = np.where(above, hue - F32(HUE_SECTORS), hue)
        return _hue_range_to_rgb(hue, v_min, v_max).astype(F32)
    return run


# ---- AdjustSaturation: per-pixel HSV in float ----------------------------------------------------
def _pixel_rgb_to_hsv(r, g, b):
    v = np.maximum(r, np.maximum(g, b))
    span = v - np.minimum(r, np.minimum(g, b))
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.where(v > 0, span / v, F32(0))
        norm = F32(1) / (F32(6) * span)
        # the 2/6 and 4/6 offsets are double literals: those sums are made in double
        h = np.where(r == v, norm * (g - b),
                     np.where(g == v, (norm * (b - r)).astype(np.float64) + 2.0 / 6.0,
                              (norm * (r - g)).astype(np.float64) + 4.0 / 6.0)).astype(F32)
    h = np.where(span <= 0, F32(0), h)
    h = np.where(h < 0, h + F32(1), h)
    return h, s.astype(F32), v


def _pixel_hsv_to_rgb(h, s, v):
    c = s * v
    m = v - c
    dh = h * F32(6)
    categories = dh.astype(np.int32)
    wrapped = dh
    while (low := wrapped <= 0).any():
        wrapped = np.where(low, wrapped + F32(2), wrapped)
    while (high := wrapped >= F32(2)).any():
        wrapped = np.where(high, wrapped - F32(2), wrapped)
    x = c * (F32(1) - np.abs(wrapped - F32(1)))
    zero = np.zeros_like(c)
    # (r, g, b) per category as picks from (c, x, 0); other categories give black
    layout = np.array([[0, 1, 2], [1, 0, 2], [2, 0, 1], [2, 1, 0], [1, 2, 0], [0, 2, 1],
                       [2, 2, 2]])
    picks = layout[np.where((categories >= 0) & (categories <= 5), categories, 6)]
    rgb = np.take_along_axis(np.stack([c, x, zero], axis=-1), picks, -1)
    return rgb + m[..., None]


@kernel("AdjustSaturation")
def _adjust_saturation(op, ctx):
    def run(images, scale):
        images = np.asarray(images)
        _checked(op, images, "saturation", scale, "scale")
        _float_only(op, images)
        h, s, v = _pixel_rgb_to_hsv(images[..., 0], images[..., 1], images[..., 2])
        s = np.minimum(F32(1), np.maximum(F32(0), s * F32(scale)))
        return _pixel_hsv_to_rgb(h, s, v).astype(F32)
    return run


# ---- RGBToHSV / HSVToRGB: Eigen expressions in the tensor's type -------------------------------
def _last_dim_three(op, images) -> None:
    if images.ndim < 1 or images.shape[-1] != CHANNELS:
        raise errors.InvalidArgumentError(
            None, op, f"input must have 3 channels but input only has "
                      f"{images.shape[-1] if images.ndim else 0} channels.")


@kernel("RGBToHSV")
def _rgb_to_hsv(op, ctx):
    def run(images):
        images = np.asarray(images)
        _last_dim_three(op, images)
        t = images.dtype.type
        r, g, b = images[..., 0], images[..., 1], images[..., 2]
        v = images.max(axis=-1)
        span = v - images.min(axis=-1)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            s = np.where(v > t(0), span / v, t(0)).astype(images.dtype)
            norm = (t(1) / span) * (t(1) / t(6))
            h = np.where(r == v, norm * (g - b),
                         np.where(g == v, norm * (b - r) + t(2) / t(6),
                                  norm * (r - g) + t(4) / t(6))).astype(images.dtype)
        h = np.where(span > t(0), h, t(0)).astype(images.dtype)
        h = np.where(h < t(0), h + t(1), h).astype(images.dtype)
        return np.stack([h, s, v], axis=-1)
    return run


@kernel("HSVToRGB")
def _hsv_to_rgb(op, ctx):
    def run(images):
        images = np.asarray(images)
        _last_dim_three(op, images)
        t = images.dtype.type
        h, s, v = images[..., 0], images[..., 1], images[..., 2]
        dh = h * t(6)

        def clip01(x):
            return np.minimum(np.maximum(x, t(0)), t(1))
        dr = clip01(np.abs(dh - t(3)) - t(1))
        dg = clip01(-np.abs(dh - t(2)) + t(2))
        db = clip01(-np.abs(dh - t(4)) + t(2))
        one_s = -s + t(1)
        return np.stack([(one_s + s * d) * v for d in (dr, dg, db)], axis=-1).astype(
            images.dtype)
    return run
