"""Random number ops. Each node draws from its own stream in the session
(``ctx.generator``): seeded from its ``seed``/``seed2`` attrs when either is set, so the
same seeds give the same values in every session; TensorFlow's Philox stream itself is
not reproduced."""
from __future__ import annotations

import numpy as np

from flowsaver.ops import shape_util
from flowsaver.ops.registry import define, kernel, shape_fn

define(
    'RandomUniform(shape: T) -> (output: dtype); seed: int = 0; seed2: int = 0; dtype: type {half, bfloat16, float, double}; T: type {int32, int64}; !stateful',
    'RandomStandardNormal(shape: T) -> (output: dtype); seed: int = 0; seed2: int = 0; dtype: type {half, bfloat16, float, double}; T: type {int32, int64}; !stateful',
    'TruncatedNormal(shape: T) -> (output: dtype); seed: int = 0; seed2: int = 0; dtype: type {half, bfloat16, float, double}; T: type {int32, int64}; !stateful',
)


@shape_fn("RandomUniform", "RandomStandardNormal", "TruncatedNormal")
def _random_shape(op):
    return [shape_util.shape_from_tensor(op.inputs[0])]


def _draw(kind):
    def build(op, ctx):
        dtype = np.dtype(op.get_attr("dtype").as_numpy_dtype)
        work = np.float64 if dtype == np.float64 else np.float32

        def run(shape):
            gen = ctx.generator(op)
            dims = tuple(int(d) for d in np.reshape(shape, -1))
            if kind == "uniform":
                out = gen.random(dims, dtype=work)
            elif kind == "normal":
                out = gen.standard_normal(dims, dtype=work)
            else:
                out = _truncated(gen, dims, work)
            return out.astype(dtype, copy=False)
        return run
    return build


def _truncated(gen, dims, work):
    """Standard normal values, redrawn until all lie within two standard deviations."""
    out = gen.standard_normal(dims, dtype=work)
    bad = np.abs(out) > 2.0
    while bad.any():
        out[bad] = gen.standard_normal(int(bad.sum()), dtype=work)
        bad = np.abs(out) > 2.0
    return out


kernel("RandomUniform")(_draw("uniform"))
kernel("RandomStandardNormal")(_draw("normal"))
kernel("TruncatedNormal")(_draw("truncated"))
