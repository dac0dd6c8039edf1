"""Random number ops. Each node draws from its own stream in the session
(``ctx.generator``): seeded from its ``seed``/``seed2`` attrs when either is set, so the
same seeds give the same values in every session; TensorFlow's Philox stream itself is
not reproduced."""
from __future__ import annotations

import numpy as np

from flowsaver import errors
from flowsaver.ops import shapes
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
            out = out.astype(dtype, copy=False)
            if kind == "uniform" and dtype == np.float16:  # rounding may reach 1: keep [0, 1)
                np.minimum(out, _BELOW_ONE_HALF, out=out)
            return out
        return run
    return build


_BELOW_ONE_HALF = np.nextafter(np.float16(1), np.float16(0))


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
        dims = tuple(int(d) for d in np.reshape(shape, -1))
        return ctx.generator(op).integers(minval, maxval, dims, dtype=dtype)
    return run


@shape_fn("RandomShuffle")
def _shuffle_shape(op):
    return [op.inputs[0].shape]


@kernel("RandomShuffle")
def _shuffle(op, ctx):
    def run(value):
        if np.ndim(value) == 0 or len(value) < 2:
            return value
        # permutation() copies: the input (maybe a constant or a variable) stays untouched
        return ctx.generator(op).permutation(value, axis=0)
    return run
