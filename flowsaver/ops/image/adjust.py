"""``tf.image`` colour adjustments (brightness, contrast, gamma, hue, saturation), their
random versions, colour-space conversions and ``total_variation``, built as TensorFlow
1.x builds them.

An adjustment works in float: float16 and float32 images as they are, other types through
``convert_image_dtype`` to float32 and back (saturating where TensorFlow saturates). The
random versions draw their factor with one ``random_uniform`` from the op's Philox stream,
so TensorFlow's seeds give TensorFlow's factors.
"""
from __future__ import annotations

from flowsaver.graph.operation import Tensor
from flowsaver.ops.array import api as array_ops
from flowsaver.ops.control_flow.grouping import with_dependencies
from flowsaver.ops.image.convert import convert_image_dtype
from flowsaver.ops.image.geometry import _assert
from flowsaver.ops.logging.checks import assert_equal, assert_greater_equal
from flowsaver.ops.math import api as math_ops
from flowsaver.ops.op_builder import convert_to_tensor, create_op
from flowsaver.ops.random.api import random_uniform
from flowsaver.ops.scope_api import name_scope

__all__ = ["adjust_brightness", "adjust_contrast", "adjust_gamma", "adjust_hue",
           "adjust_saturation", "grayscale_to_rgb", "hsv_to_rgb", "random_brightness",
           "random_contrast", "random_hue", "random_saturation", "rgb_to_grayscale",
           "rgb_to_hsv", "total_variation"]

GRAY_WEIGHTS = [0.2989, 0.5870, 0.1140]  # TensorFlow's luma weights for R, G, B
_FLOAT_AS_IS = ("float16", "float32")


def _as_float(image):
    """The image itself if float16/float32, else converted to float32 in [0, 1]."""
    if image.dtype.base_dtype.name in _FLOAT_AS_IS:
        return image
    return convert_image_dtype(image, "float32")


def adjust_brightness(image, delta):
    """``image + delta`` (in float, saturated back into the image's type)."""
    with name_scope(None, "adjust_brightness", [image, delta]) as name:
        image = convert_to_tensor(image, name="image")
        flt = _as_float(image)
        adjusted = math_ops.add(flt, math_ops.cast(delta, flt.dtype), name=name)
        return convert_image_dtype(adjusted, image.dtype, saturate=True)


def adjust_contrast(images, contrast_factor):
    """Each channel of each image moved towards (factor < 1) or away from its mean."""
    with name_scope(None, "adjust_contrast", [images, contrast_factor]) as name:
        images = convert_to_tensor(images, name="images")
        adjusted = create_op("AdjustContrastv2", [_as_float(images), contrast_factor],
                             name=name)
        return convert_image_dtype(adjusted, images.dtype, saturate=True)


def adjust_gamma(image, gamma=1, gain=1):
    """``gain * image ** gamma`` (in float).

    Raises:
      ValueError: a Python ``gamma`` below 0 (a tensor one is checked at run time).
    """
    with name_scope(None, "adjust_gamma", [image, gamma, gain]):
        image = convert_to_tensor(image, name="image")
        flt = _as_float(image)
        checks = _assert(gamma >= 0, "Gamma should be a non-negative real number.")
        if checks:
            gamma = with_dependencies(checks, gamma)
        adjusted = gain * flt ** gamma
        return convert_image_dtype(adjusted, image.dtype, saturate=True)


def adjust_hue(image, delta, name=None):
    """Hue rotated by ``delta`` (a fraction of the colour wheel) in an RGB image."""
    with name_scope(name, "adjust_hue", [image]):
        image = convert_to_tensor(image, name="image")
        rotated = create_op("AdjustHue", [_as_float(image), delta])
        return convert_image_dtype(rotated, image.dtype)


def adjust_saturation(image, saturation_factor, name=None):
    """Saturation scaled by ``saturation_factor`` (clipped to [0, 1]) in an RGB image."""
    with name_scope(name, "adjust_saturation", [image]):
        image = convert_to_tensor(image, name="image")
        adjusted = create_op("AdjustSaturation", [_as_float(image), saturation_factor])
        return convert_image_dtype(adjusted, image.dtype)


def random_brightness(image, max_delta, seed=None):
    """``adjust_brightness`` by a delta drawn from [-max_delta, max_delta)."""
    if max_delta < 0:
        raise ValueError("max_delta must be non-negative.")
    delta = random_uniform([], -max_delta, max_delta, seed=seed)
    return adjust_brightness(image, delta)


def random_contrast(image, lower, upper, seed=None):
    """``adjust_contrast`` by a factor drawn from [lower, upper)."""
    if upper <= lower:
        raise ValueError("upper must be > lower.")
    if lower < 0:
        raise ValueError("lower must be non-negative.")
    return adjust_contrast(image, random_uniform([], lower, upper, seed=seed))


def random_hue(image, max_delta, seed=None):
    """``adjust_hue`` by a delta drawn from [-max_delta, max_delta), max_delta <= 0.5."""
    if max_delta > 0.5:
        raise ValueError("max_delta must be <= 0.5.")
    if max_delta < 0:
        raise ValueError("max_delta must be non-negative.")
    return adjust_hue(image, random_uniform([], -max_delta, max_delta, seed=seed))


def random_saturation(image, lower, upper, seed=None):
    """``adjust_saturation`` by a factor drawn from [lower, upper)."""
    if upper <= lower:
        raise ValueError("upper must be > lower.")
    if lower < 0:
        raise ValueError("lower must be non-negative.")
    return adjust_saturation(image, random_uniform([], lower, upper, seed=seed))


def rgb_to_grayscale(images, name=None):
    """One grey channel: 0.2989 R + 0.5870 G + 0.1140 B (computed in float)."""
    with name_scope(name, "rgb_to_grayscale", [images]) as name:
        images = convert_to_tensor(images, name="images")
        flt = convert_image_dtype(images, "float32")
        gray = math_ops.tensordot(flt, GRAY_WEIGHTS, [-1, -1])
        gray = array_ops.expand_dims(gray, -1)
        return convert_image_dtype(gray, images.dtype, name=name)


def _check_grayscale(image) -> list:
    shape = image.shape
    try:
        shape = shape.with_rank(2) if shape.ndims is None else shape.with_rank_at_least(2)
    except ValueError:
        raise ValueError(f"A grayscale image (shape {image.shape}) must be at least "
                         f"two-dimensional.") from None
    if shape.is_fully_defined():
        if shape[-1] != 1:
            raise ValueError("Last dimension of a grayscale image should be size 1.")
        return []
    return [assert_equal(array_ops.shape(image)[-1], 1,
                         message="Last dimension of a grayscale image should be size 1."),
            assert_greater_equal(array_ops.rank(image), 3,
                                 message="A grayscale image must be at least "
                                         "two-dimensional.")]


def grayscale_to_rgb(images, name=None):
    """The grey channel repeated three times."""
    with name_scope(name, "grayscale_to_rgb", [images]) as name:
        images = with_dependencies(_check_grayscale(images), images)
        images = convert_to_tensor(images, name="images")
        rank_1 = array_ops.expand_dims(array_ops.rank(images) - 1, 0)
        multiples = array_ops.concat([array_ops.ones(rank_1, dtype="int32"),
                                      array_ops.expand_dims(3, 0)], 0)
        rgb = array_ops.tile(images, multiples, name=name)
        rgb.set_shape(images.shape[:-1].concatenate([3]))
        return rgb


def rgb_to_hsv(images, name=None):
    """Hue, saturation and value in [0, 1] of RGB images in [0, 1] (``RGBToHSV``)."""
    return create_op("RGBToHSV", [images], name=name)


def hsv_to_rgb(images, name=None):
    """RGB of HSV images (``HSVToRGB``)."""
    return create_op("HSVToRGB", [images], name=name)


def total_variation(images, name=None):
    """The sum of absolute differences between neighbouring pixels (per image of a batch).

    Raises:
      ValueError: ``images`` neither 3-D nor 4-D.
    """
    if not isinstance(images, Tensor):
        images = convert_to_tensor(images)
    with name_scope(name, "total_variation"):
        ndims = images.shape.ndims
        if ndims == 3:
            dif1 = images[1:, :, :] - images[:-1, :, :]
            dif2 = images[:, 1:, :] - images[:, :-1, :]
            axis = None
        elif ndims == 4:
            dif1 = images[:, 1:, :, :] - images[:, :-1, :, :]
            dif2 = images[:, :, 1:, :] - images[:, :, :-1, :]
            axis = [1, 2, 3]
        else:
            raise ValueError("'images' must be either 3 or 4-dimensional.")
        return (math_ops.reduce_sum(math_ops.abs(dif1), axis=axis) +
                math_ops.reduce_sum(math_ops.abs(dif2), axis=axis))
