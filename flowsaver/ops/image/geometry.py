"""``tf.image`` flips, rotations, transposes, bounding-box crops and pads, and random crops,
built node for node as TensorFlow 1.x builds them.

Every function first passes the image through ``control_dependency`` (an Identity after
the shape checks TensorFlow adds when the static shape cannot settle them). A 3-D image is
one image, a 4-D one a batch; an image of unknown rank is dispatched at run time with a
``tf.cond`` on its rank. The random flips draw one ``random_uniform`` value per image from
the op's Philox stream: a 3-D image flips through a ``tf.cond`` when the draw is < 0.5, a
batch mixes flipped and unflipped images with ``round(draw)`` as weights.
"""
from __future__ import annotations

from flowsaver.graph.operation import Tensor
from flowsaver.ops.array import api as array_ops
from flowsaver.ops.array.reorder import reverse
from flowsaver.ops.control_flow.case import case
from flowsaver.ops.control_flow.cond import cond
from flowsaver.ops.control_flow.grouping import with_dependencies
from flowsaver.ops.logging.checks import Assert, assert_greater_equal, assert_positive
from flowsaver.ops.math import api as math_ops
from flowsaver.ops.op_builder import convert_to_tensor
from flowsaver.ops.random.api import random_uniform
from flowsaver.ops.scope_api import name_scope

__all__ = ["crop_to_bounding_box", "flip_left_right", "flip_up_down", "pad_to_bounding_box",
           "random_crop", "random_flip_left_right", "random_flip_up_down", "rot90",
           "transpose", "transpose_image"]

_RANKS = "must have either 3 or 4 dimensions."


# ---- shape checks ----------------------------------------------------------------------------
def check_at_least_3d(image) -> list:
    """Static checks of an image's inner three dims; the run-time asserts they still need."""
    shape = image.shape
    try:
        shape = shape.with_rank(3) if shape.ndims is None else shape.with_rank_at_least(3)
    except ValueError:
        raise ValueError(f"'image' (shape {image.shape}) must be at least "
                         f"three-dimensional.") from None
    if any(d == 0 for d in shape[-3:]):
        raise ValueError(f"inner 3 dims of 'image.shape' must be > 0: {shape}")
    if shape[-3:].is_fully_defined():
        return []
    return [assert_positive(array_ops.shape(image)[-3:],
                            ["inner 3 dims of 'image.shape' must be > 0."]),
            assert_greater_equal(array_ops.rank(image), 3,
                                 message="'image' must be at least three-dimensional.")]


def assert_at_least_3d(image) -> Tensor:
    return with_dependencies(check_at_least_3d(image), image)


def _fix_flip_shape(image, result):
    if image.shape.ndims is None:
        result.set_shape([None, None, None])
    else:
        result.set_shape(image.shape)
    return result


def _by_rank(image, f_rank3, f_rank4):
    """``f_rank3()`` or ``f_rank4()`` by the image's static rank, else by a run-time cond."""
    ndims = image.shape.ndims
    if ndims is None:
        return cond(math_ops.equal(array_ops.rank(image), 3), f_rank3, f_rank4)
    if ndims == 3:
        return f_rank3()
    if ndims == 4:
        return f_rank4()
    raise ValueError(f"'image' (shape {image.shape}) {_RANKS}")


# ---- flips -----------------------------------------------------------------------------------
def _flip(image, axis: int, scope_name: str):
    with name_scope(None, scope_name, [image]):
        image = assert_at_least_3d(convert_to_tensor(image, name="image"))
        return _by_rank(image, lambda: _fix_flip_shape(image, reverse(image, [axis])),
                        lambda: reverse(image, [axis + 1]))


def flip_left_right(image):
    """``image`` (or each image of a batch) mirrored left to right."""
    return _flip(image, 1, "flip_left_right")


def flip_up_down(image):
    """``image`` (or each image of a batch) upside down."""
    return _flip(image, 0, "flip_up_down")


def _random_flip(image, axis: int, seed, scope_name: str):
    with name_scope(None, scope_name, [image]) as scope:
        image = assert_at_least_3d(convert_to_tensor(image, name="image"))

        def f_rank3():
            draw = random_uniform([], minval=0, maxval=1.0, seed=seed)
            flipped = cond(math_ops.less(draw, .5), lambda: reverse(image, [axis]),
                           lambda: image, name=scope)
            return _fix_flip_shape(image, flipped)

        def f_rank4():
            batch = array_ops.shape(image)[0]
            draws = random_uniform([batch], minval=0, maxval=1.0, seed=seed)
            flips = math_ops.round(array_ops.reshape(draws, [batch, 1, 1, 1]))
            flips = math_ops.cast(flips, image.dtype)
            flipped = reverse(image, [axis + 1])
            return flips * flipped + (1 - flips) * image
        return _by_rank(image, f_rank3, f_rank4)


def random_flip_left_right(image, seed=None):
    """``image`` mirrored left to right with probability 1/2 (each image of a batch)."""
    return _random_flip(image, 1, seed, "random_flip_left_right")


def random_flip_up_down(image, seed=None):
    """``image`` upside down with probability 1/2 (each image of a batch)."""
    return _random_flip(image, 0, seed, "random_flip_up_down")


# ---- rotations and transposes ----------------------------------------------------------------
def rot90(image, k=1, name=None):
    """``image`` rotated counter-clockwise by ``k`` quarter turns (k may be a tensor)."""
    with name_scope(name, "rot90", [image, k]) as scope:
        image = assert_at_least_3d(convert_to_tensor(image, name="image"))
        k = convert_to_tensor(k, dtype="int32", name="k")
        k.shape.assert_has_rank(0)
        k = k % 4  # TensorFlow's internal math_ops.mod: FloorMod named "mod"
        return _by_rank(image, lambda: _rot90(image, k, scope, 0),
                        lambda: _rot90(image, k, scope, 1))


def _rot90(image, k, scope: str, lead: int):
    """A quarter turn reverses the width axis then swaps height and width (three cases)."""
    h, w = lead, lead + 1
    perm = list(range(lead)) + [w, h, lead + 2]
    cases = [(math_ops.equal(k, 1),
              lambda: array_ops.transpose(array_ops.reverse_v2(image, [w]), perm)),
             (math_ops.equal(k, 2), lambda: array_ops.reverse_v2(image, [h, w])),
             (math_ops.equal(k, 3),
              lambda: array_ops.reverse_v2(array_ops.transpose(image, perm), [w]))]
    result = case(cases, default=lambda: image, exclusive=True, name=scope)
    if lead == 0:
        result.set_shape([None, None, image.shape[2]])
    else:
        shape = result.shape
        result.set_shape([shape[0], None, None, shape[3]])
    return result


def transpose(image, name=None):
    """Height and width swapped (of one image or of each image of a batch)."""
    with name_scope(name, "transpose", [image]):
        image = assert_at_least_3d(convert_to_tensor(image, name="image"))
        return _by_rank(image, lambda: array_ops.transpose(image, [1, 0, 2], name=name),
                        lambda: array_ops.transpose(image, [0, 2, 1, 3], name=name))


transpose_image = transpose


# ---- bounding boxes ----------------------------------------------------------------------------
def _image_dims(image, rank: int) -> list:
    """Static dims where known, the run-time ones (unstacked from ``shape``) elsewhere."""
    if image.shape.is_fully_defined():
        return image.shape.as_list()
    static = image.shape.with_rank(rank).as_list()
    dynamic = array_ops.unstack(array_ops.shape(image), rank)
    return [s if s is not None else d for s, d in zip(static, dynamic)]


def _assert(condition, message: str) -> list:
    """An Assert op for a tensor condition; for a Python one, ValueError when false."""
    if isinstance(condition, Tensor):
        return [Assert(condition, [message])]
    if not condition:
        raise ValueError(message)
    return []


def _as_batch(image):
    """(4-D image, whether the input was already a batch)."""
    ndims = image.shape.ndims
    if ndims == 4:
        return image, True
    if ndims == 3:
        return array_ops.expand_dims(image, 0), False
    if ndims is None:
        batched = array_ops.expand_dims(image, 0)
        batched.set_shape([None] * 4)
        return batched, False
    raise ValueError(f"'image' (shape {image.shape}) {_RANKS}")


def _static_dims(dims) -> list:
    return [None if isinstance(d, Tensor) else d for d in dims]


def pad_to_bounding_box(image, offset_height, offset_width, target_height, target_width):
    """``image`` zero-padded to ``target_height`` x ``target_width``, placed at the offsets."""
    with name_scope(None, "pad_to_bounding_box", [image]):
        image, is_batch = _as_batch(convert_to_tensor(image, name="image"))
        batch, height, width, depth = _image_dims(image, 4)
        after_width = target_width - offset_width - width
        after_height = target_height - offset_height - height
        checks = check_at_least_3d(image)
        checks += _assert(offset_height >= 0, "offset_height must be >= 0")
        checks += _assert(offset_width >= 0, "offset_width must be >= 0")
        checks += _assert(after_width >= 0, "width must be <= target - offset")
        checks += _assert(after_height >= 0, "height must be <= target - offset")
        image = with_dependencies(checks, image)
        paddings = array_ops.reshape(array_ops.stack(
            [0, 0, offset_height, after_height, offset_width, after_width, 0, 0]), [4, 2])
        padded = array_ops.pad(image, paddings)
        padded.set_shape(_static_dims([batch, target_height, target_width, depth]))
        return padded if is_batch else array_ops.squeeze(padded, axis=[0])


def crop_to_bounding_box(image, offset_height, offset_width, target_height, target_width):
    """The ``target_height`` x ``target_width`` window of ``image`` at the offsets."""
    with name_scope(None, "crop_to_bounding_box", [image]):
        image, is_batch = _as_batch(convert_to_tensor(image, name="image"))
        checks = check_at_least_3d(image)
        batch, height, width, depth = _image_dims(image, 4)
        checks += _assert(offset_width >= 0, "offset_width must be >= 0.")
        checks += _assert(offset_height >= 0, "offset_height must be >= 0.")
        checks += _assert(target_width > 0, "target_width must be > 0.")
        checks += _assert(target_height > 0, "target_height must be > 0.")
        checks += _assert(width >= (target_width + offset_width),
                          "width must be >= target + offset.")
        checks += _assert(height >= (target_height + offset_height),
                          "height must be >= target + offset.")
        image = with_dependencies(checks, image)
        cropped = array_ops.slice(
            image, array_ops.stack([0, offset_height, offset_width, 0]),
            array_ops.stack([array_ops.shape(image)[0], target_height, target_width,
                             array_ops.shape(image)[3]]))
        cropped.set_shape(_static_dims([batch, target_height, target_width, depth]))
        return cropped if is_batch else array_ops.squeeze(cropped, axis=[0])


# ---- random crops --------------------------------------------------------------------------------
def random_crop(value, size, seed=None, name=None):
    """A ``size`` window of ``value`` at a uniformly drawn offset (``tf.random_crop``).

    The offset is ``random_uniform`` int32 values in [0, 2**31 - 1) modulo the room in
    each dimension, so TensorFlow's seeds give TensorFlow's windows.
    """
    with name_scope(name, "random_crop", [value, size]) as scope:
        value = convert_to_tensor(value, name="value")
        size = convert_to_tensor(size, dtype="int32", name="size")
        shape = array_ops.shape(value)
        check = Assert(math_ops.reduce_all(math_ops.greater_equal(shape, size)),
                       ["Need value.shape >= size, got ", shape, size], summarize=1000)
        shape = with_dependencies([check], shape)
        limit = shape - size + 1
        offset = random_uniform(array_ops.shape(shape), dtype=size.dtype,
                                maxval=size.dtype.max, seed=seed) % limit
        return array_ops.slice(value, offset, size, name=scope)
