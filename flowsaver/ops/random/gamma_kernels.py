"""``RandomGamma``, ``RandomPoisson`` and ``RandomPoissonV2`` (TensorFlow's draws,
``philox_gamma``). ``tf.random.gamma`` broadcasts alpha against beta with ``BroadcastArgs``
(array family).

TensorFlow differentiates ``RandomGamma`` with respect to alpha (``RandomGammaGrad``);
flowsaver has no such gradient yet, so ``tf.gradients`` through it raises LookupError.
"""
from __future__ import annotations

import math

import numpy as np

from flowsaver import errors
from flowsaver.ops.random import philox_gamma
from flowsaver.ops import shapes
from flowsaver.ops.random.kernels import output_dims
from flowsaver.ops.registry import NO_GRADIENT_YET, OpTable

TABLE = OpTable(__name__)
define, deprecate, kernel, shape_fn = TABLE.define, TABLE.deprecate, TABLE.kernel, TABLE.shape_fn

define(
    'RandomGamma(shape: S, alpha: T) -> (output: T); seed: int = 0; seed2: int = 0; S: type {int32, int64}; T: type {half, float, double}; !stateful',
    'RandomPoisson(shape: S, rate: dtype) -> (output: dtype); seed: int = 0; seed2: int = 0; S: type {int32, int64}; dtype: type {half, float, double}; !stateful',
    'RandomPoissonV2(shape: S, rate: R) -> (output: dtype); seed: int = 0; seed2: int = 0; S: type {int32, int64}; R: type {half, float, double, int32, int64} = double; dtype: type {half, float, double, int32, int64} = int64; !stateful',
)
# TensorFlow differentiates these; flowsaver does not yet (the walk says so if it meets one)
TABLE.mark(NO_GRADIENT_YET, "RandomGamma", "RandomPoisson", "RandomPoissonV2")
deprecate("RandomPoisson", 25, "Replaced by RandomPoissonV2")


@shape_fn("RandomGamma", "RandomPoisson", "RandomPoissonV2")
def _gamma_shape(op):
    samples = shapes.shape_from_tensor(op.inputs[0])
    return [samples.concatenate(op.inputs[1].shape)]


def _builder(draw, dtype_attr: str, empty_when):
    def build(op, ctx):
        dtype = np.dtype(op.get_attr(dtype_attr).as_numpy_dtype)

        def run(shape, params):
            if np.ndim(shape) != 1:
                raise errors.InvalidArgumentError(
                    None, op, f"shape must be a vector of {{int32,int64}}, got shape: "
                              f"{list(np.shape(shape))} (node {op.name})")
            samples = output_dims(op, shape)
            params = np.asarray(params)
            out_shape = samples + params.shape
            if empty_when(math.prod(samples), math.prod(out_shape)):
                return np.zeros(out_shape, dtype)  # returned before reserving anything
            stream = ctx.random_stream(op)
            count = math.prod(out_shape) * philox_gamma.RESERVED_BLOCKS_PER_OUTPUT
            values = draw(stream.key, stream.reserve(count), math.prod(samples), params, dtype)
            return values.reshape(out_shape)
        return run
    return build


# Gamma returns early when the output is empty, Poisson when the sample shape is.
kernel("RandomGamma")(_builder(philox_gamma.gamma, "T", lambda samples, total: total == 0))
kernel("RandomPoisson", "RandomPoissonV2")(_builder(
    philox_gamma.poisson, "dtype", lambda samples, total: samples == 0))
