"""``tf.image.convert_image_dtype``: an image in another type, rescaled (floats in [0, 1],
integers over their whole range), built as TensorFlow 1.x builds it.

Integer to wider integer: cast, then multiply by the ratio of the ranges; to narrower:
floor-divide, then cast. Integer to float: cast, then multiply by 1 / max. Float to
integer: multiply by max + 0.5, then cast. With ``saturate`` the casts are
``saturate_cast`` (clamped into the target's range first).
"""
from __future__ import annotations

from flowsaver.graph.attr_value import as_dtype
from flowsaver.ops.array import api as array_ops
from flowsaver.ops.math import api as math_ops
from flowsaver.ops.op_builder import convert_to_tensor
from flowsaver.ops.scope_api import name_scope

__all__ = ["convert_image_dtype"]


def convert_image_dtype(image, dtype, saturate=False, name=None):
    """``image`` in ``dtype``, rescaled: [0, 1] for floats, the full range for integers.

    Raises:
      AttributeError: either type is neither floating point nor integer (as TensorFlow).
    """
    image = convert_to_tensor(image, name="image")
    dtype = as_dtype(dtype).base_dtype
    source = image.dtype.base_dtype
    if not (dtype.is_floating or dtype.is_integer):
        raise AttributeError("dtype must be either floating point or integer")
    if not (source.is_floating or source.is_integer):
        raise AttributeError("image dtype must be either floating point or integer")
    if source == dtype:
        return array_ops.identity(image, name=name)
    to_type = math_ops.saturate_cast if saturate else math_ops.cast
    with name_scope(name, "convert_image", [image]) as name:
        if source.is_integer and dtype.is_integer:
            in_max, out_max = int(source.max), int(dtype.max)
            if in_max > out_max:
                scaled = math_ops.floordiv(image, (in_max + 1) // (out_max + 1))
                return to_type(scaled, dtype, name=name)
            return math_ops.multiply(to_type(image, dtype), (out_max + 1) // (in_max + 1),
                                     name=name)
        if source.is_floating and dtype.is_floating:
            return math_ops.cast(image, dtype, name=name)
        if source.is_integer:
            return math_ops.multiply(math_ops.cast(image, dtype), 1. / source.max, name=name)
        scaled = math_ops.multiply(image, dtype.max + 0.5)
        return to_type(scaled, dtype, name=name)
