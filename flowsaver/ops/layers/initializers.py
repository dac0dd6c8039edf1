"""The initializers ``tf.layers`` gives its weights by default, as TensorFlow 2.21's Keras
(which implements ``tf.compat.v1.layers``) builds them.

A layer's default kernel initializer is Keras' ``GlorotUniform``: stateless uniform draws
(``StatelessRandomUniformV2``) under a seed ``[s, 0]`` where ``s`` comes from Python's
``random.randint(1, 10**9)`` the first time the initializer is called, exactly as Keras
picks it. Seeding Python's ``random`` the same way before building therefore gives the
same graph and the same initial values as TensorFlow. Biases and batch-norm statistics
use TensorFlow 1.x's constant initializers (``tf.zeros_initializer()``, ...).
"""
from __future__ import annotations

import math
import random

from flowsaver.graph.attr_value import as_dtype
from flowsaver.ops.random.stateless import stateless_random_uniform
from flowsaver.ops.state import init_ops

# Keras draws seeds in this range when none is given
_SEED_LOW, _SEED_HIGH = 1, int(1e9)


class VarianceScalingUniform:
    """Keras' variance-scaling initializer with the uniform distribution (stateless draws)."""

    def __init__(self, scale=1.0, mode="fan_in", seed=None):
        self.scale, self.mode, self.seed = scale, mode, seed
        self._seed = None

    def _stateless_seed(self) -> list:
        if self._seed is None:
            self._seed = self.seed if self.seed is not None else \
                random.randint(_SEED_LOW, _SEED_HIGH)
        return [self._seed, 0]

    def __call__(self, shape, dtype=None, partition_info=None, **kwargs):
        dtype = as_dtype(dtype or "float32")
        if not dtype.is_floating:
            raise ValueError(f"Expected floating point type, got {dtype!r}.")
        shape = list(shape.as_list() if hasattr(shape, "as_list") else shape)
        fan_in, fan_out = init_ops.fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}
        limit = math.sqrt(3.0 * self.scale / max(1.0, n[self.mode]))
        return stateless_random_uniform(shape, self._stateless_seed(), -limit, limit, dtype)


class GlorotUniform(VarianceScalingUniform):
    def __init__(self, seed=None):
        super().__init__(1.0, "fan_avg", seed)


class HeUniform(VarianceScalingUniform):
    def __init__(self, seed=None):
        super().__init__(2.0, "fan_in", seed)


class LecunUniform(VarianceScalingUniform):
    def __init__(self, seed=None):
        super().__init__(1.0, "fan_in", seed)


_BY_NAME = {
    "glorot_uniform": GlorotUniform, "he_uniform": HeUniform, "lecun_uniform": LecunUniform,
    "zeros": init_ops.Zeros, "ones": init_ops.Ones,
}


def get(identifier):
    """An initializer from a name (``"glorot_uniform"``), a class or an initializer."""
    if identifier is None or callable(identifier) and not isinstance(identifier, type):
        return identifier
    if isinstance(identifier, type):
        return identifier()
    name = str(identifier)
    if name not in _BY_NAME:
        raise NotImplementedError(f"The initializer {name!r} is not built by flowsaver's "
                                  f"layers yet (known: {', '.join(sorted(_BY_NAME))})")
    return _BY_NAME[name]()


def default_for(dtype):
    """The initializer a layer weight gets when nobody gave one (Keras' rule)."""
    dtype = as_dtype(dtype)
    if dtype.is_floating:
        return GlorotUniform()
    if dtype.is_integer or dtype.is_bool:
        return init_ops.Zeros()
    raise ValueError(f"An initializer for a weight of {dtype.name} is required")
