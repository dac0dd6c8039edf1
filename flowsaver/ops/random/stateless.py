"""``tf.random.stateless_*``: random values that are a function of a [2] seed.

Built as TensorFlow 2's functions build them: ``StatelessRandomGetKeyCounter`` turns the
seed into a Philox key and counter, and the V2 ops draw with algorithm 3 ("auto_select",
Philox on CPUs). The categorical draws use the V1 ``StatelessMultinomial`` with the seed.
"""
from __future__ import annotations

from flowsaver.graph.attr_value import as_dtype
from flowsaver.graph.graph import get_default_graph
from flowsaver.ops.math import api as math_ops
from flowsaver.ops.op_builder import convert_to_tensor, create_op, graph_of
from flowsaver.ops.random.api import shape_tensor

ALG_AUTO_SELECT = 3
_UNIFORM_TYPES = ("float16", "bfloat16", "float32", "float64", "int32", "int64", "uint32",
                  "uint64")


def _key_counter_alg(seed):
    key, counter = create_op("StatelessRandomGetKeyCounter", [seed])
    return key, counter, ALG_AUTO_SELECT


def _scope(name, default, values):
    g = graph_of(values, get_default_graph())
    return g, g.name_scope(name or default)


def stateless_random_uniform(shape, seed, minval=0, maxval=None, dtype="float32", name=None,
                             alg="auto_select"):
    """Uniform values in [minval, maxval) determined by ``seed`` (full range for integers
    when both bounds are None)."""
    _check_alg(alg)
    dtype = as_dtype(dtype)
    if dtype.name not in _UNIFORM_TYPES:
        raise ValueError(f"Argument `dtype` got invalid value {dtype!r}. Accepted dtypes are "
                         f"{_UNIFORM_TYPES}.")
    if dtype.is_integer:
        if (minval is None) != (maxval is None):
            raise ValueError(f"For integer `dtype` argument {dtype!r}, argument `minval` and "
                             f"`maxval` must be both None or not None. Got `minval`={minval} "
                             f"and `maxval`={maxval}.")
        if minval is not None and dtype.name in ("uint32", "uint64"):
            raise ValueError(f"Argument `dtype` got invalid value {dtype!r} when argument "
                             f"`minval` is not None. Please don't use unsigned integers in "
                             f"this case.")
    elif maxval is None:
        maxval = 1
    g, scope = _scope(name, "stateless_random_uniform", [shape, seed, minval, maxval])
    with g.as_default(), scope as name:
        shape = shape_tensor(shape)
        if dtype.is_integer and minval is None:
            key, counter, alg = _key_counter_alg(seed)
            return create_op("StatelessRandomUniformFullIntV2", [shape, key, counter, alg],
                             {"dtype": dtype}, name=name)
        minval = convert_to_tensor(minval, dtype=dtype, name="min")
        maxval = convert_to_tensor(maxval, dtype=dtype, name="max")
        key, counter, alg = _key_counter_alg(seed)
        if dtype.is_integer:
            return create_op("StatelessRandomUniformIntV2",
                             [shape, key, counter, alg, minval, maxval], name=name)
        rnd = create_op("StatelessRandomUniformV2", [shape, key, counter, alg],
                        {"dtype": dtype})
        return math_ops.add(rnd * (maxval - minval), minval, name=name)


def _scaled(op_type, default_name, shape, seed, mean, stddev, dtype, name):
    dtype = as_dtype(dtype)
    g, scope = _scope(name, default_name, [shape, seed, mean, stddev])
    with g.as_default(), scope as name:
        shape = shape_tensor(shape)
        mean = convert_to_tensor(mean, dtype=dtype, name="mean")
        stddev = convert_to_tensor(stddev, dtype=dtype, name="stddev")
        key, counter, alg = _key_counter_alg(seed)
        rnd = create_op(op_type, [shape, key, counter, alg], {"dtype": dtype})
        return math_ops.add(rnd * stddev, mean, name=name)


def stateless_random_normal(shape, seed, mean=0.0, stddev=1.0, dtype="float32", name=None,
                            alg="auto_select"):
    """Normal values determined by ``seed`` (``StatelessRandomNormalV2``)."""
    _check_alg(alg)
    return _scaled("StatelessRandomNormalV2", "stateless_random_normal", shape, seed, mean,
                   stddev, dtype, name)


def stateless_truncated_normal(shape, seed, mean=0.0, stddev=1.0, dtype="float32", name=None,
                               alg="auto_select"):
    """Normal values within two standard deviations, determined by ``seed``."""
    _check_alg(alg)
    return _scaled("StatelessTruncatedNormalV2", "stateless_truncated_normal", shape, seed,
                   mean, stddev, dtype, name)


def _stateless_categorical(logits, num_samples, dtype, seed):
    logits = convert_to_tensor(logits, name="logits")
    dtype = as_dtype(dtype) if dtype else as_dtype("int64")
    if dtype.name not in ("int32", "int64"):
        raise ValueError(f"Argument `dtype` got invalid value {dtype!r}. Accepted dtypes are "
                         f"(tf.int32, tf.int64).")
    return create_op("StatelessMultinomial", [logits, num_samples, seed],
                     {"output_dtype": dtype})


def stateless_multinomial(logits, num_samples, seed, output_dtype="int64", name=None):
    """Class indices drawn from each row of ``logits``, determined by ``seed``."""
    g, scope = _scope(name, "stateless_multinomial", [logits, seed])
    with g.as_default(), scope:
        return _stateless_categorical(logits, num_samples, output_dtype, seed)


def stateless_categorical(logits, num_samples, seed, dtype="int64", name=None):
    """``tf.random.stateless_categorical``: ``stateless_multinomial`` under its TF2 name."""
    g, scope = _scope(name, "stateless_categorical", [logits, seed])
    with g.as_default(), scope:
        return _stateless_categorical(logits, num_samples, dtype, seed)


def _check_alg(alg) -> None:
    canonical = str(alg).strip().lower().replace("-", "").replace("_", "")
    if alg is not None and canonical not in ("autoselect", "3"):
        raise ValueError(f"flowsaver builds stateless random ops with alg='auto_select' "
                         f"(Philox on CPUs) only; got alg={alg!r}")
