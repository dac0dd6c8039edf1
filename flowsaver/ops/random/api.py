"""``tf.random_normal``, ``tf.truncated_normal``, ``tf.random_uniform``,
``tf.random_shuffle``, ``tf.multinomial`` and TF1's graph- and op-level seeds."""
from __future__ import annotations

import weakref

import numpy as np

from flowsaver.graph.attr_value import as_dtype
from flowsaver.graph.graph import get_default_graph
from flowsaver.ops.array import api as array_ops
from flowsaver.ops.math import api as math_ops
from flowsaver.ops.op_builder import convert_to_tensor, create_op, graph_of

DEFAULT_GRAPH_SEED = 87654321
_MAXINT32 = 2**31 - 1
# Per graph: how many ops have taken their op seed from the graph seed (TensorFlow 2's
# graph-mode rule: the n-th op with a graph seed and no op seed of its own gets seed2 = n).
_SEED_COUNTERS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def get_seed(op_seed):
    """TensorFlow 1.x's (seed, seed2) for an op: from the graph seed and the op seed.

    With a graph seed and no op seed, the op seed counts the ops that took one this way
    in the default graph (0, 1, 2, ...), so a program built the same way gets the same
    seeds. Seeds are reduced modulo 2**31 - 1, and (0, 0), which means "unseeded" to the
    kernels, becomes (0, 2**31 - 1).
    """
    graph = get_default_graph()
    if graph.seed is not None:
        if op_seed is None:
            op_seed = _SEED_COUNTERS.get(graph, 0)
            _SEED_COUNTERS[graph] = op_seed + 1
        seeds = (int(graph.seed) % _MAXINT32, int(op_seed) % _MAXINT32)
    elif op_seed is not None:
        seeds = (DEFAULT_GRAPH_SEED, int(op_seed) % _MAXINT32)
    else:
        seeds = (None, None)
    if seeds == (0, 0):
        return 0, _MAXINT32
    return seeds


def set_random_seed(seed) -> None:
    """Set the default graph's seed (``tf.set_random_seed``)."""
    get_default_graph().seed = seed


def shape_tensor(shape):
    """A shape argument as an int32 tensor named ``shape`` (int64 if a dim needs it)."""
    if hasattr(shape, "as_list"):
        shape = shape.as_list()
    if isinstance(shape, (list, tuple)) and all(isinstance(d, int) for d in shape):
        big = any(d >= 2**31 for d in shape)
        return convert_to_tensor(shape, dtype="int64" if big else "int32", name="shape")
    return convert_to_tensor(shape, name="shape")


def _seed_attrs(seed):
    s1, s2 = get_seed(seed)
    return {"seed": s1 or 0, "seed2": s2 or 0}


def _normal(op_type, default_name, shape, mean, stddev, dtype, seed, name):
    dtype = as_dtype(dtype)
    g = get_default_graph()
    with g.name_scope(name or default_name) as scope:
        shape = shape_tensor(shape)
        mean = convert_to_tensor(mean, dtype=dtype, name="mean")
        stddev = convert_to_tensor(stddev, dtype=dtype, name="stddev")
        rnd = create_op(op_type, [shape], {"dtype": dtype, **_seed_attrs(seed)})
        mul = rnd * stddev
        return math_ops.add(mul, mean, name=scope)


def random_normal(shape, mean=0.0, stddev=1.0, dtype="float32", seed=None, name=None):
    """Values from a normal distribution (``RandomStandardNormal``, scaled and shifted)."""
    return _normal("RandomStandardNormal", "random_normal", shape, mean, stddev, dtype, seed,
                   name)


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype="float32", seed=None, name=None):
    """Normal values redrawn when more than two standard deviations from the mean."""
    return _normal("TruncatedNormal", "truncated_normal", shape, mean, stddev, dtype, seed,
                   name)


def random_uniform(shape, minval=0, maxval=None, dtype="float32", seed=None, name=None):
    """Uniform values in ``[minval, maxval)`` (``RandomUniform``; ``RandomUniformInt``
    for integer dtypes, which need ``maxval``)."""
    dtype = as_dtype(dtype)
    if maxval is None:
        if dtype.is_integer:
            raise ValueError(f"Must specify maxval for integer dtype {dtype!r}")
        maxval = 1
    g = get_default_graph()
    with g.name_scope(name or "random_uniform") as scope:
        shape = shape_tensor(shape)
        min_is_zero = isinstance(minval, int) and minval == 0  # TF: Python ints only
        max_is_one = isinstance(maxval, int) and maxval == 1
        if not min_is_zero or not max_is_one or dtype.is_integer:
            minval = convert_to_tensor(minval, dtype=dtype, name="min")
            maxval = convert_to_tensor(maxval, dtype=dtype, name="max")
        if dtype.is_integer:
            return create_op("RandomUniformInt", [shape, minval, maxval], _seed_attrs(seed),
                             name=scope)
        result = create_op("RandomUniform", [shape], {"dtype": dtype, **_seed_attrs(seed)})
        if min_is_zero:
            if not max_is_one:
                result = math_ops.multiply(result, maxval)
            return result
        return math_ops.add(result * (maxval - minval), minval, name=scope)


def random_shuffle(value, seed=None, name=None):
    """``value`` with its first dimension randomly permuted (``RandomShuffle``)."""
    return create_op("RandomShuffle", [value], _seed_attrs(seed), name=name)


def _categorical(logits, num_samples, dtype, seed):
    logits = convert_to_tensor(logits, name="logits")
    dtype = as_dtype(dtype) if dtype else as_dtype("int64")
    if dtype.name not in ("int32", "int64"):
        raise ValueError(f"Argument `dtype` got invalid value {dtype!r}. Accepted dtypes are "
                         f"(tf.int32, tf.int64).")
    return create_op("Multinomial", [logits, num_samples],
                     {"output_dtype": dtype, **_seed_attrs(seed)})


def multinomial(logits, num_samples, seed=None, name=None, output_dtype=None):
    """Class indices drawn from each row of ``logits`` (``Multinomial``); int64 by default."""
    g = graph_of([logits], get_default_graph())
    with g.as_default(), g.name_scope(name or "multinomial"):
        return _categorical(logits, num_samples, output_dtype, seed)


def categorical(logits, num_samples, dtype=None, seed=None, name=None):
    """``tf.random.categorical``: ``multinomial`` under its TF2 name."""
    g = graph_of([logits], get_default_graph())
    with g.as_default(), g.name_scope(name or "categorical"):
        return _categorical(logits, num_samples, dtype, seed)


def random_gamma(shape, alpha, beta=None, dtype="float32", seed=None, name=None):
    """``shape`` samples from each Gamma(alpha, beta) (``RandomGamma``, divided by beta and
    kept above the dtype's smallest normal number, as in TensorFlow)."""
    dtype = as_dtype(dtype)
    g = graph_of([shape, alpha, beta], get_default_graph())
    with g.as_default(), g.name_scope(name or "random_gamma"):
        shape = convert_to_tensor(shape, name="shape", dtype="int32")
        alpha = convert_to_tensor(alpha, name="alpha", dtype=dtype)
        beta = convert_to_tensor(beta if beta is not None else 1, name="beta", dtype=dtype)
        both = create_op("BroadcastArgs", [array_ops.shape(alpha), array_ops.shape(beta)])
        alpha = create_op("BroadcastTo", [alpha, both])
        sample = create_op("RandomGamma", [shape, alpha], _seed_attrs(seed))
        return math_ops.maximum(np.finfo(dtype.as_numpy_dtype).tiny, sample / beta)


def random_poisson(lam, shape, dtype="float32", seed=None, name=None):
    """``shape`` samples from each Poisson(lam) (``RandomPoissonV2``)."""
    g = graph_of([lam, shape], get_default_graph())
    with g.as_default(), g.name_scope(name or "random_poisson"):
        shape = convert_to_tensor(shape, name="shape", dtype="int32")
        return create_op("RandomPoissonV2", [shape, lam],
                         {"dtype": as_dtype(dtype), **_seed_attrs(seed)})
