"""``RandomGamma`` (TensorFlow's draws, ``philox_gamma``) and ``BroadcastArgs``, which
``tf.random.gamma`` uses to broadcast alpha against beta.

TensorFlow differentiates ``RandomGamma`` with respect to alpha (``RandomGammaGrad``);
flowsaver has no such gradient yet, so ``tf.gradients`` through it raises LookupError.
"""
from __future__ import annotations

import math

import numpy as np

from flowsaver import errors
from flowsaver.graph.tensor_shape import TensorShape
from flowsaver.ops import philox_gamma, shape_util
from flowsaver.ops.random_kernels import output_dims
from flowsaver.ops.registry import define, kernel, shape_fn

define(
    'RandomGamma(shape: S, alpha: T) -> (output: T); seed: int = 0; seed2: int = 0; S: type {int32, int64}; T: type {half, float, double}; !stateful',
    'BroadcastArgs(s0: T, s1: T) -> (r0: T); T: type {int32, int64} = int32',
)


@shape_fn("RandomGamma")
def _gamma_shape(op):
    samples = shape_util.shape_from_tensor(op.inputs[0])
    return [samples.concatenate(op.inputs[1].shape)]


@kernel("RandomGamma")
def _gamma(op, ctx):
    dtype = np.dtype(op.get_attr("T").as_numpy_dtype)

    def run(shape, alpha):
        if np.ndim(shape) != 1:
            raise errors.InvalidArgumentError(
                None, op, f"shape must be a vector of {{int32,int64}}, got shape: "
                          f"{list(np.shape(shape))} (node {op.name})")
        samples = output_dims(op, shape)
        alpha = np.asarray(alpha)
        out_shape = samples + alpha.shape
        count = math.prod(out_shape)
        if count == 0:  # TensorFlow returns before reserving anything
            return np.empty(out_shape, dtype)
        stream = ctx.random_stream(op)
        counter = stream.reserve(count * philox_gamma.RESERVED_BLOCKS_PER_OUTPUT)
        values = philox_gamma.gamma(stream.key, counter, math.prod(samples), alpha, dtype)
        return values.reshape(out_shape)
    return run


@shape_fn("BroadcastArgs")
def _broadcast_args_shape(op):
    a, b = (t.shape.as_list()[0] if t.shape.ndims == 1 else None for t in op.inputs)
    return [TensorShape([None if a is None or b is None else max(a, b)])]


@kernel("BroadcastArgs")
def _broadcast_args(op, ctx):
    def run(s0, s1):
        try:
            shape = np.broadcast_shapes(tuple(np.reshape(s0, -1)), tuple(np.reshape(s1, -1)))
        except ValueError:
            raise errors.InvalidArgumentError(
                None, op, f"Incompatible shapes: {list(np.reshape(s0, -1))} vs. "
                          f"{list(np.reshape(s1, -1))}") from None
        return np.array(shape, dtype=np.asarray(s0).dtype)
    return run
