"""``Multinomial`` and ``StatelessMultinomial``: class indices drawn from rows of logits.

Draws follow TensorFlow's CPU kernel (``philox_sampling.multinomial``). The stateful op
reserves its span of the stream per run, only when the output is not empty.
"""
from __future__ import annotations

import numpy as np

from flowsaver import errors
from flowsaver.graph.tensor_shape import TensorShape
from flowsaver.ops.random import philox_sampling
from flowsaver.ops.math.kernels import no_kernel
from flowsaver.ops.registry import OpTable
from flowsaver.ops.const_eval import value_of as constant_value
from flowsaver.ops.random.stateless_kernels import seed_key_counter

TABLE = OpTable(__name__)
define, kernel, shape_fn = TABLE.define, TABLE.kernel, TABLE.shape_fn

define(
    'Multinomial(logits: T, num_samples: int32) -> (output: output_dtype); seed: int = 0; seed2: int = 0; T: type {float, double, int32, uint8, int16, int8, int64, bfloat16, uint16, half, uint32, uint64}; output_dtype: type {int32, int64} = int64; !stateful',
    'StatelessMultinomial(logits: T, num_samples: int32, seed: Tseed) -> (output: output_dtype); T: type {float, double, int32, uint8, int16, int8, int64, bfloat16, uint16, half, uint32, uint64}; Tseed: type {int32, int64} = int64; output_dtype: type {int32, int64} = int64',
)

_KERNEL_TYPES = {"float16", "bfloat16", "float32", "float64"}  # TensorFlow's CPU kernels


@shape_fn("Multinomial", "StatelessMultinomial")
def _shape(op):
    logits = op.inputs[0].shape
    batch = logits.as_list()[0] if logits.ndims == 2 else None
    samples = constant_value(op.inputs[1])
    return [TensorShape([batch, None if samples is None else int(samples)])]


def _checked(op, logits, num_samples) -> int:
    logits = np.asarray(logits)
    if logits.ndim != 2:
        raise errors.InvalidArgumentError(
            None, op, f"logits should be a matrix, got shape {list(logits.shape)} "
                      f"(node {op.name})")
    if np.ndim(num_samples) != 0:
        raise errors.InvalidArgumentError(
            None, op, f"num_samples should be a scalar, got shape "
                      f"{list(np.shape(num_samples))} (node {op.name})")
    if num_samples < 0:
        raise errors.InvalidArgumentError(
            None, op, f"num_samples should be non-negative, got {int(num_samples)} "
                      f"(node {op.name})")
    if logits.shape[1] == 0:
        raise errors.InvalidArgumentError(
            None, op, f"num_classes should be positive, got 0 (node {op.name})")
    return int(num_samples)


def _builder(stateless: bool):
    def build(op, ctx):
        if op.get_attr("T").name not in _KERNEL_TYPES:
            no_kernel(op, "T")
        out_dtype = np.dtype(op.get_attr("output_dtype").as_numpy_dtype)

        def run(logits, num_samples, *seed):
            samples = _checked(op, logits, num_samples)
            logits = np.asarray(logits)
            batch = logits.shape[0]
            if batch * samples == 0:
                return np.empty((batch, samples), out_dtype)
            blocks = philox_sampling.multinomial_reserved_blocks(batch, samples)
            if stateless:
                key, counter = seed_key_counter(op, seed[0])
            else:
                stream = ctx.random_stream(op)
                key, counter = stream.key, stream.reserve(blocks)
            threads = ctx.intra_op_threads() if ctx is not None else 0
            draws = philox_sampling.multinomial(key, counter, logits, samples, threads or None)
            return draws.astype(out_dtype)
        return run
    return build


kernel("Multinomial")(_builder(stateless=False))
kernel("StatelessMultinomial")(_builder(stateless=True))
