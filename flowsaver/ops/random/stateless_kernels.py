"""Stateless random ops: values that are a function of a [2] seed (or a key and counter).

The V1 ops (``StatelessRandomNormal``, ...) take the seed; TensorFlow 2's
``tf.random.stateless_*`` first turn the seed into a Philox key and counter
(``StatelessRandomGetKeyCounter``) and pass them to the V2 ops with an algorithm id
(1 Philox, 3 "auto", which is Philox on CPUs; ThreeFry, 2, has no CPU kernel). Both give the
stateful ops' transforms applied to the stream at that key and counter, with nothing
reserved: the same inputs give the same values in every run.
"""
from __future__ import annotations

import math

import numpy as np

from flowsaver import errors
from flowsaver.graph.tensor_shape import TensorShape
from flowsaver.ops.random import philox
from flowsaver.ops.random import philox_fill
from flowsaver.ops import shapes
from flowsaver.ops.math.kernels import no_kernel
from flowsaver.ops.random.kernels import output_dims
from flowsaver.ops.registry import OpTable

TABLE = OpTable(__name__)
define, kernel, shape_fn = TABLE.define, TABLE.kernel, TABLE.shape_fn

define(
    'StatelessRandomNormal(shape: T, seed: Tseed) -> (output: dtype); dtype: type {half, bfloat16, float, double} = float; T: type {int32, int64} = int32; Tseed: type {int32, int64} = int64',
    'StatelessRandomUniform(shape: T, seed: Tseed) -> (output: dtype); dtype: type {half, bfloat16, float, double} = float; T: type {int32, int64} = int32; Tseed: type {int32, int64} = int64',
    'StatelessTruncatedNormal(shape: T, seed: Tseed) -> (output: dtype); dtype: type {half, bfloat16, float, double} = float; T: type {int32, int64} = int32; Tseed: type {int32, int64} = int64',
    'StatelessRandomUniformInt(shape: T, seed: Tseed, minval: dtype, maxval: dtype) -> (output: dtype); dtype: type {int32, int64}; T: type {int32, int64}; Tseed: type {int32, int64} = int64',
    'StatelessRandomUniformFullInt(shape: T, seed: Tseed) -> (output: dtype); dtype: type {int32, int64, uint32, uint64} = uint64; T: type {int32, int64} = int32; Tseed: type {int32, int64, uint32, uint64} = int64',
    'StatelessRandomGetKeyCounter(seed: Tseed) -> (key: uint64, counter: uint64); Tseed: type {int32, int64} = int64',
    'StatelessRandomGetKeyCounterAlg(seed: Tseed) -> (key: uint64, counter: uint64, alg: int32); Tseed: type {int32, int64} = int64',
    'StatelessRandomGetAlg() -> (alg: int32); !stateful',
    'StatelessRandomNormalV2(shape: Tshape, key: uint64, counter: uint64, alg: int32) -> (output: dtype); dtype: type {half, bfloat16, float, double} = float; Tshape: type {int32, int64} = int32',
    'StatelessRandomUniformV2(shape: Tshape, key: uint64, counter: uint64, alg: int32) -> (output: dtype); dtype: type {half, bfloat16, float, double} = float; Tshape: type {int32, int64} = int32',
    'StatelessTruncatedNormalV2(shape: Tshape, key: uint64, counter: uint64, alg: int32) -> (output: dtype); dtype: type {half, bfloat16, float, double} = float; Tshape: type {int32, int64} = int32',
    'StatelessRandomUniformIntV2(shape: Tshape, key: uint64, counter: uint64, alg: int32, minval: dtype, maxval: dtype) -> (output: dtype); dtype: type {int32, int64, uint32, uint64}; Tshape: type {int32, int64} = int32',
    'StatelessRandomUniformFullIntV2(shape: Tshape, key: uint64, counter: uint64, alg: int32) -> (output: dtype); dtype: type {int32, int64, uint32, uint64} = uint64; Tshape: type {int32, int64} = int32',
)
TABLE.not_differentiable("StatelessRandomGetAlg", "StatelessRandomGetKeyCounter",
                         "StatelessRandomGetKeyCounterAlg")

ALG_PHILOX, ALG_THREEFRY, ALG_AUTO_SELECT = 1, 2, 3
_V1_FILLS = {"StatelessRandomNormal": philox_fill.normal,
             "StatelessRandomUniform": philox_fill.uniform,
             "StatelessTruncatedNormal": philox_fill.truncated_normal}
_V2_FILLS = {"StatelessRandomNormalV2": philox_fill.normal,
             "StatelessRandomUniformV2": philox_fill.uniform,
             "StatelessTruncatedNormalV2": philox_fill.truncated_normal}
_WITH_SHAPE = (*_V1_FILLS, *_V2_FILLS, "StatelessRandomUniformInt",
               "StatelessRandomUniformFullInt", "StatelessRandomUniformIntV2",
               "StatelessRandomUniformFullIntV2")


@shape_fn(*_WITH_SHAPE)
def _shape(op):
    return [shapes.shape_from_tensor(op.inputs[0])]


@shape_fn("StatelessRandomGetKeyCounter", "StatelessRandomGetKeyCounterAlg")
def _key_counter_shapes(op):
    return [TensorShape([1]), TensorShape([2]), TensorShape([])][:len(op.outputs)]


@shape_fn("StatelessRandomGetAlg")
def _alg_shape(op):
    return [TensorShape([])]


def seed_key_counter(op, seed) -> tuple[int, int]:
    """The Philox key and counter of a stateless op's ``seed`` input (shape [2])."""
    seed = np.asarray(seed)
    if seed.shape != (2,):
        raise errors.InvalidArgumentError(
            None, op, f"seed must have shape [2], not {list(seed.shape)} (node {op.name})")
    return philox.stateless_key_counter(int(seed[0]), int(seed[1]))


def _v2_key_counter(op, key, counter, alg) -> tuple[int, int]:
    if np.ndim(alg) != 0:
        raise errors.InvalidArgumentError(
            None, op, f"input 3 (0-based) must have shape [], not {list(np.shape(alg))}")
    if int(alg) not in (ALG_PHILOX, ALG_AUTO_SELECT):
        raise errors.InvalidArgumentError(None, op, f"Unsupported algorithm id: {int(alg)}")
    if np.shape(key) != (1,) or np.ndim(counter) != 1 or np.size(counter) < 2:
        raise errors.InvalidArgumentError(
            None, op, f"Philox needs a key of shape [1] and a counter of shape [2]; "
                      f"{op.name} got {list(np.shape(key))} and {list(np.shape(counter))}")
    return philox.key_counter_from_arrays(key, counter)


def _int_bounds(op, minval, maxval) -> tuple[int, int]:
    for name, value in (("minval", minval), ("maxval", maxval)):
        if np.ndim(value):
            raise errors.InvalidArgumentError(
                None, op, f"{name} must be 0-D, got shape {list(np.shape(value))} "
                          f"(node {op.name})")
    if minval >= maxval:
        raise errors.InvalidArgumentError(
            None, op, f"Need minval < maxval, got {minval} >= {maxval} (node {op.name})")
    return int(minval), int(maxval)


def _dtype(op):
    return np.dtype(op.get_attr("dtype").as_numpy_dtype)


@kernel(*_V1_FILLS)
def _v1(op, ctx):
    dtype, fill = _dtype(op), _V1_FILLS[op.type]

    def run(shape, seed):
        dims = output_dims(op, shape)
        key, counter = seed_key_counter(op, seed)
        return fill(key, counter, math.prod(dims), dtype).reshape(dims)
    return run


@kernel(*_V2_FILLS)
def _v2(op, ctx):
    dtype, fill = _dtype(op), _V2_FILLS[op.type]

    def run(shape, key, counter, alg):
        dims = output_dims(op, shape)
        key, counter = _v2_key_counter(op, key, counter, alg)
        return fill(key, counter, math.prod(dims), dtype).reshape(dims)
    return run


def _ints(op, dims, key, counter, minval, maxval):
    size = math.prod(dims)
    if size == 0:  # TensorFlow returns before looking at the bounds
        return np.empty(dims, _dtype(op))
    lo, hi = _int_bounds(op, minval, maxval)
    return philox_fill.uniform_int(key, counter, size, lo, hi, _dtype(op)).reshape(dims)


@kernel("StatelessRandomUniformInt")
def _uniform_int(op, ctx):
    def run(shape, seed, minval, maxval):
        dims = output_dims(op, shape)
        return _ints(op, dims, *seed_key_counter(op, seed), minval, maxval)
    return run


@kernel("StatelessRandomUniformIntV2")
def _uniform_int_v2(op, ctx):
    if _dtype(op).kind == "u":  # TensorFlow's CPU kernels: int32 and int64 only
        no_kernel(op, "dtype")

    def run(shape, key, counter, alg, minval, maxval):
        dims = output_dims(op, shape)
        return _ints(op, dims, *_v2_key_counter(op, key, counter, alg), minval, maxval)
    return run


@kernel("StatelessRandomUniformFullInt")
def _full_int(op, ctx):
    def run(shape, seed):
        dims = output_dims(op, shape)
        key, counter = seed_key_counter(op, seed)
        return philox_fill.full_int(key, counter, math.prod(dims), _dtype(op)).reshape(dims)
    return run


@kernel("StatelessRandomUniformFullIntV2")
def _full_int_v2(op, ctx):
    def run(shape, key, counter, alg):
        dims = output_dims(op, shape)
        key, counter = _v2_key_counter(op, key, counter, alg)
        return philox_fill.full_int(key, counter, math.prod(dims), _dtype(op)).reshape(dims)
    return run


@kernel("StatelessRandomGetKeyCounter")
def _get_key_counter(op, ctx):
    return lambda seed: philox.key_counter_arrays(*seed_key_counter(op, seed))


@kernel("StatelessRandomGetKeyCounterAlg")
def _get_key_counter_alg(op, ctx):
    def run(seed):
        key, counter = philox.key_counter_arrays(*seed_key_counter(op, seed))
        return key, counter, np.array(ALG_PHILOX, np.int32)
    return run


@kernel("StatelessRandomGetAlg")
def _get_alg(op, ctx):
    return lambda: np.array(ALG_PHILOX, np.int32)
