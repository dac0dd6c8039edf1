"""``tf.random.stateless_uniform`` for floats, built as TensorFlow 2 builds it (a key and
counter from the seed, then ``StatelessRandomUniformV2`` with the auto-selected Philox)."""
from __future__ import annotations

from flowsaver.graph.attr_value import as_dtype
from flowsaver.ops.math import api as math_ops
from flowsaver.ops.op_builder import convert_to_tensor, create_op, graph_of
from flowsaver.ops.random.api import shape_tensor
from flowsaver.ops.random.stateless_kernels import ALG_AUTO_SELECT

__all__ = ["stateless_random_uniform"]


def stateless_random_uniform(shape, seed, minval=0, maxval=None, dtype="float32", name=None):
    """Uniform floats in [minval, maxval) that depend only on the [2] ``seed``."""
    dtype = as_dtype(dtype)
    if not dtype.is_floating:
        raise NotImplementedError(f"stateless_random_uniform of {dtype.name} is not built by "
                                  f"flowsaver yet (floats are)")
    maxval = 1 if maxval is None else maxval
    g = graph_of([shape, seed, minval, maxval])
    with g.as_default(), g.name_scope(name or "stateless_random_uniform") as scope:
        shape = shape_tensor(shape)
        minval = convert_to_tensor(minval, dtype=dtype, name="min")
        maxval = convert_to_tensor(maxval, dtype=dtype, name="max")
        key, counter = create_op("StatelessRandomGetKeyCounter", [seed])
        rnd = create_op("StatelessRandomUniformV2", [shape, key, counter, ALG_AUTO_SELECT],
                        {"dtype": dtype})
        return math_ops.add(rnd * (maxval - minval), minval, name=scope)
