"""Random number ops: TensorFlow's Philox streams, value for value.

Each node draws from its own stream in the session (``ctx.random_stream``), reserving the
span TensorFlow's kernel reserves per run, and turns it into values as TensorFlow's CPU
kernels do (``philox_fill``, ``philox_sampling``): the same seeds give TensorFlow's numbers,
run after run.
"""
from __future__ import annotations

import math

import numpy as np

from flowsaver import errors
from flowsaver.ops import shapes
from flowsaver.ops.random import philox_fill, philox_sampling
from flowsaver.ops.registry import OpTable

TABLE = OpTable(__name__)
define, kernel, shape_fn = TABLE.define, TABLE.kernel, TABLE.shape_fn

define(
    'RandomUniform(shape: T) -> (output: dtype); seed: int = 0; seed2: int = 0; dtype: type {half, bfloat16, float, double}; T: type {int32, int64}; !stateful',
    'RandomStandardNormal(shape: T) -> (output: dtype); seed: int = 0; seed2: int = 0; dtype: type {half, bfloat16, float, double}; T: type {int32, int64}; !stateful',
    'TruncatedNormal(shape: T) -> (output: dtype); seed: int = 0; seed2: int = 0; dtype: type {half, bfloat16, float, double}; T: type {int32, int64}; !stateful',
    'RandomUniformInt(shape: T, minval: Tout, maxval: Tout) -> (output: Tout); seed: int = 0; seed2: int = 0; Tout: type {int32, int64}; T: type {int32, int64}; !stateful',
    'RandomShuffle(value: T) -> (output: T); seed: int = 0; seed2: int = 0; T: type; !stateful',
)
TABLE.not_differentiable("RandomShuffle", "RandomStandardNormal", "RandomUniform",
                         "RandomUniformInt", "TruncatedNormal")


@shape_fn("RandomUniform", "RandomStandardNormal", "TruncatedNormal", "RandomUniformInt")
def _random_shape(op):
    return [shapes.shape_from_tensor(op.inputs[0])]


def output_dims(op, shape) -> tuple:
    """The dims a shape tensor asks for; negative ones are an error, as in TensorFlow."""
    dims = tuple(int(d) for d in np.reshape(shape, -1))
    negative = [d for d in dims if d < 0]
    if negative:
        raise errors.InvalidArgumentError(
            None, op, f"Dimension {negative[0]} must be >= 0 in the shape {list(dims)} "
                      f"requested by {op.name}")
    return dims


_FILLS = {"RandomUniform": philox_fill.uniform, "RandomStandardNormal": philox_fill.normal,
          "TruncatedNormal": philox_fill.truncated_normal}


@kernel("RandomUniform", "RandomStandardNormal", "TruncatedNormal")
def _draw(op, ctx):
    dtype = np.dtype(op.get_attr("dtype").as_numpy_dtype)
    fill = _FILLS[op.type]

    def run(shape):
        dims = output_dims(op, shape)
        size = math.prod(dims)
        stream = ctx.random_stream(op)
        counter = stream.reserve(philox_fill.reserved_blocks(size))
        return fill(stream.key, counter, size, dtype).reshape(dims)
    return run


@kernel("RandomUniformInt")
def _uniform_int(op, ctx):
    dtype = np.dtype(op.get_attr("Tout").as_numpy_dtype)

    def run(shape, minval, maxval):
        if np.ndim(minval) or np.ndim(maxval):
            raise errors.InvalidArgumentError(
                None, op, f"minval and maxval of {op.name} must be scalars, got shapes "
                          f"{np.shape(minval)} and {np.shape(maxval)}")
        if minval >= maxval:
            raise errors.InvalidArgumentError(
                None, op, f"Need minval < maxval: {minval} >= {maxval} (node {op.name})")
        dims = output_dims(op, shape)
        size = math.prod(dims)
        stream = ctx.random_stream(op)
        counter = stream.reserve(philox_fill.reserved_blocks(size))
        values = philox_fill.uniform_int(stream.key, counter, size, int(minval), int(maxval),
                                         dtype)
        return values.reshape(dims)
    return run


@shape_fn("RandomShuffle")
def _shuffle_shape(op):
    return [op.inputs[0].shape]


@kernel("RandomShuffle")
def _shuffle(op, ctx):
    def run(value):
        value = np.asarray(value)
        count = philox_sampling.shuffle_reserved_blocks(value.shape)
        if count == 0:
            return value
        stream = ctx.random_stream(op)
        counter = stream.reserve(count)
        # fancy indexing copies: the input (maybe a constant or a variable) stays untouched
        return value[philox_sampling.shuffle_order(stream.key, counter, value.shape[0])]
    return run
