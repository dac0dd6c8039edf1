"""``tf.layers.Dense``, ``Dropout`` and ``Flatten`` and their function forms."""
from __future__ import annotations

import numbers

from flowsaver.graph.tensor_shape import TensorShape
from flowsaver.ops.array import api as array_ops
from flowsaver.ops.control_flow.cond import cond
from flowsaver.ops.const_eval import constant_value
from flowsaver.ops.layers.base import InputSpec, Layer
from flowsaver.ops.math import api as math_ops
from flowsaver.ops.nn import api as nn_ops
from flowsaver.ops.op_builder import constant, convert_to_tensor
from flowsaver.ops.state.init_ops import zeros_initializer

__all__ = ["Dense", "Dropout", "Flatten", "dense", "dropout", "flatten"]


class Dense(Layer):
    """``activation(inputs @ kernel + bias)``."""

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer=None,
                 bias_initializer=zeros_initializer(), kernel_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, trainable=True, name=None, **kwargs):
        super().__init__(trainable=trainable, name=name, **kwargs)
        units = int(units) if not isinstance(units, int) else units
        if units < 0:
            raise ValueError(f"Received an invalid value for `units`, expected a positive "
                             f"integer. Received: units={units}")
        if activity_regularizer is not None:
            raise NotImplementedError("activity_regularizer is not built by flowsaver yet")
        self.units, self.activation, self.use_bias = units, activation, use_bias
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.kernel_regularizer, self.bias_regularizer = kernel_regularizer, bias_regularizer
        self.kernel_constraint, self.bias_constraint = kernel_constraint, bias_constraint
        self.input_spec = InputSpec(min_ndim=2)

    def build(self, input_shape):
        dtype = self._dtype
        if not dtype.is_floating:
            raise TypeError(f"A Dense layer can only be built with a floating-point dtype. "
                            f"Received: dtype={dtype.name}")
        input_shape = TensorShape(input_shape)
        last = input_shape.as_list()[-1] if input_shape.ndims else None
        if last is None:
            raise ValueError(f"The last dimension of the inputs to a Dense layer should be "
                             f"defined. Found None. Full input shape received: "
                             f"{input_shape}")
        self.input_spec = InputSpec(min_ndim=2, axes={-1: last})
        self.kernel = self.add_weight("kernel", [last, self.units],
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, dtype=dtype)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight("bias", [self.units],
                                        initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint, dtype=dtype)

    def call(self, inputs):
        inputs = convert_to_tensor(inputs)
        if inputs.dtype.base_dtype != self._dtype:
            inputs = math_ops.cast(inputs, self._dtype)
        rank = inputs.shape.ndims
        if rank == 2 or rank is None:
            outputs = math_ops.matmul(inputs, self.kernel)
        else:
            outputs = _tensordot_last(inputs, self.kernel)
            outputs.set_shape(inputs.shape.as_list()[:-1] + [self.units])
        if self.use_bias:
            outputs = nn_ops.bias_add(outputs, self.bias)
        if self.activation is not None:
            outputs = self.activation(outputs)
        return outputs


def _tensordot_last(inputs, kernel):
    """``tf.tensordot(inputs, kernel, [[rank - 1], [0]])`` as TensorFlow lays it out."""
    rank = inputs.shape.ndims
    return math_ops.tensordot(inputs, kernel, [[rank - 1], [0]])


class Dropout(Layer):
    """Zero a ``rate`` fraction of the inputs while ``training``; identity otherwise."""

    def __init__(self, rate=0.5, noise_shape=None, seed=None, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        if isinstance(rate, (int, float)) and not 0 <= rate <= 1:
            raise ValueError(f"Invalid value {rate} received for `rate`, expected a value "
                             f"between 0 and 1.")
        self.rate, self.noise_shape, self.seed = rate, noise_shape, seed
        self._next_seed = seed

    def _legacy_seed(self):
        if self._next_seed is None:
            return None
        seed, self._next_seed = self._next_seed, self._next_seed + 1
        return seed

    def _noise(self, inputs):
        if self.noise_shape is None:
            return None
        dynamic = array_ops.shape(inputs)
        return [dynamic[axis] if size is None else size
                for axis, size in enumerate(self.noise_shape)]

    def call(self, inputs, training=False):
        if isinstance(self.rate, numbers.Real) and self.rate == 0:
            return array_ops.identity(inputs)

        def dropped():
            return nn_ops.dropout(inputs, rate=self.rate, noise_shape=self._noise(inputs),
                                  seed=self._legacy_seed())
        return smart_cond(training, dropped, lambda: array_ops.identity(inputs))


def smart_cond(pred, true_fn, false_fn, name=None):
    """``true_fn()`` or ``false_fn()`` when ``pred`` is known while building, else a cond."""
    if isinstance(pred, bool) or not hasattr(pred, "dtype"):
        return true_fn() if pred else false_fn()
    known = constant_value(pred)
    if known is not None:
        return true_fn() if bool(known) else false_fn()
    return cond(pred, true_fn, false_fn, name=name)


class Flatten(Layer):
    """Every axis but the first folded into one."""

    def __init__(self, data_format="channels_last", name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        if data_format not in ("channels_last", "channels_first", None):
            raise ValueError(f"The `data_format` argument must be one of 'channels_first', "
                             f"'channels_last'. Received: {data_format}")
        self.data_format = data_format or "channels_last"
        self.input_spec = InputSpec(min_ndim=1)

    def call(self, inputs):
        inputs = convert_to_tensor(inputs)
        if self.data_format == "channels_first" and inputs.shape.ndims not in (None, 1, 2):
            perm = [0] + list(range(2, inputs.shape.ndims)) + [1]
            inputs = array_ops.transpose(inputs, perm=perm)
        shape = inputs.shape
        if shape.ndims == 1:
            return array_ops.expand_dims(inputs, axis=1)
        batch = shape.as_list()[0] if shape.ndims is not None else None
        rest = TensorShape(shape.as_list()[1:]) if shape.ndims is not None else TensorShape(None)
        if rest.is_fully_defined():
            flat = constant([-1, int(rest.num_elements())])
        elif batch is not None:
            flat = constant([int(batch), -1])
        else:
            flat = [array_ops.shape(inputs)[0], -1]
        return array_ops.reshape(inputs, flat)


def dense(inputs, units, activation=None, use_bias=True, kernel_initializer=None,
          bias_initializer=zeros_initializer(), kernel_regularizer=None,
          bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
          bias_constraint=None, trainable=True, name=None, reuse=None):
    """The function form of ``Dense``: a new layer (scope ``name`` if given), applied."""
    layer = Dense(units, activation=activation, use_bias=use_bias,
                  kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                  kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                  activity_regularizer=activity_regularizer,
                  kernel_constraint=kernel_constraint, bias_constraint=bias_constraint,
                  trainable=trainable, name=name, _scope=name, _reuse=reuse)
    return layer(inputs)


def dropout(inputs, rate=0.5, noise_shape=None, seed=None, training=False, name=None):
    """The function form of ``Dropout``."""
    return Dropout(rate, noise_shape=noise_shape, seed=seed, name=name)(inputs,
                                                                          training=training)


def flatten(inputs, name=None, data_format="channels_last"):
    """The function form of ``Flatten``."""
    return Flatten(name=name, data_format=data_format)(inputs)
