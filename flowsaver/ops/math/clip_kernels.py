"""``ClipByValue``: every element clamped to [clip_value_min, clip_value_max] (the bounds
scalars or of the input's shape). TensorFlow builds it for ``tf.saturate_cast``; its own
``tf.clip_by_value`` in graph mode is ``Minimum`` then ``Maximum`` instead."""
from __future__ import annotations

import numpy as np

from flowsaver import errors
from flowsaver.ops.registry import NO_GRADIENT_YET, OpTable

TABLE = OpTable(__name__)
define, kernel, shape_fn = TABLE.define, TABLE.kernel, TABLE.shape_fn

define(
    'ClipByValue(t: T, clip_value_min: T, clip_value_max: T) -> (output: T); T: type {float, double, int32, uint8, int16, int8, complex64, int64, qint8, quint8, qint32, bfloat16, qint16, quint16, uint16, complex128, half, uint32, uint64}',
)
TABLE.mark(NO_GRADIENT_YET, "ClipByValue")


@shape_fn("ClipByValue")
def _clip_shape(op):
    return [op.inputs[0].shape]


@kernel("ClipByValue")
def _clip(op, ctx):
    def run(t, low, high):
        t, low, high = np.asarray(t), np.asarray(low), np.asarray(high)
        for name, bound in (("clip_value_min", low), ("clip_value_max", high)):
            if bound.ndim and bound.shape != t.shape:
                raise errors.InvalidArgumentError(
                    None, op, f"{name} must be either a scalar or have the same shape as "
                              f"the input. input: {list(t.shape)}, {name}: "
                              f"{list(bound.shape)}")
        return np.maximum(np.minimum(t, high), low).astype(t.dtype)
    return run
