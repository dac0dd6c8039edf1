"""``tf.layers.BatchNormalization`` and ``tf.layers.batch_normalization``.

As TensorFlow's (Keras' v1) layer: weights ``gamma``, ``beta`` (trainable) and
``moving_mean``, ``moving_variance`` (global, not trainable). Inputs of rank 4 normalized
over channels take the fused path (one ``FusedBatchNormV3``); other ranks use
``tf.nn.moments`` and ``tf.nn.batch_normalization``. While training, each moving
statistic ``v`` is updated by an ``AssignSub`` of ``(v - batch_value) * (1 - momentum)``,
added to the layer's updates and to ``tf.GraphKeys.UPDATE_OPS`` (run them with the train
op). ``training`` may be a Python bool or a boolean tensor (then a ``tf.cond`` picks).
"""
from __future__ import annotations

from flowsaver.ops.array import api as array_ops
from flowsaver.ops.const_eval import constant_value
from flowsaver.ops.layers.base import InputSpec, Layer
from flowsaver.ops.layers.core import smart_cond
from flowsaver.ops.math import api as math_ops
from flowsaver.ops.nn import normalization as nn_norm
from flowsaver.ops.op_builder import constant, convert_to_tensor
from flowsaver.ops.state import api as state_ops
from flowsaver.ops.state.init_ops import ones_initializer, zeros_initializer

__all__ = ["BatchNormalization", "BatchNorm", "batch_normalization", "batch_norm"]


class BatchNormalization(Layer):
    """Normalize by batch statistics while training, by moving averages otherwise."""

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer=zeros_initializer(), gamma_initializer=ones_initializer(),
                 moving_mean_initializer=zeros_initializer(),
                 moving_variance_initializer=ones_initializer(), beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 renorm=False, renorm_clipping=None, renorm_momentum=0.99, fused=None,
                 trainable=True, virtual_batch_size=None, adjustment=None, name=None,
                 **kwargs):
        super().__init__(trainable=trainable, name=name, **kwargs)
        if not isinstance(axis, (int, list, tuple)):
            raise TypeError(f"Expected an int or a list/tuple of ints for the argument "
                            f"'axis', but received: {axis!r}")
        if renorm or virtual_batch_size is not None or adjustment is not None:
            raise NotImplementedError("batch renormalization, virtual batches and "
                                      "adjustments are not built by flowsaver yet")
        self.axis = list(axis) if isinstance(axis, (list, tuple)) else axis
        self.momentum, self.epsilon = momentum, epsilon
        self.center, self.scale = center, scale
        self.beta_initializer, self.gamma_initializer = beta_initializer, gamma_initializer
        self.moving_mean_initializer = moving_mean_initializer
        self.moving_variance_initializer = moving_variance_initializer
        self.beta_regularizer, self.gamma_regularizer = beta_regularizer, gamma_regularizer
        self.beta_constraint, self.gamma_constraint = beta_constraint, gamma_constraint
        self.fused = True if fused is None else fused

    def _fusable(self) -> bool:
        axis = [self.axis] if isinstance(self.axis, int) else self.axis
        return len(axis) == 1 and axis[0] in (-4, -3, -1, 1, 3, 4) and \
            self._dtype.name in ("float16", "bfloat16", "float32")

    def build(self, input_shape):
        rank = input_shape.ndims
        if rank is None:
            raise ValueError(f"Input has undefined rank. Received: input_shape="
                             f"{input_shape}.")
        axes = [self.axis] if isinstance(self.axis, int) else list(self.axis)
        axes = [a + rank if a < 0 else a for a in axes]
        for a in axes:
            if not 0 <= a < rank:
                raise ValueError(f"Invalid value for `axis` argument. Expected 0 <= axis < "
                                 f"inputs.rank (with inputs.rank={rank}). Received: "
                                 f"axis={tuple(axes)}")
        self.axis = axes
        if self.fused:
            self.fused = rank in (4, 5) and self._fusable()
        if self.fused:
            formats = {(1, 4): "NCHW", (1, 5): "NCDHW", (3, 4): "NHWC", (4, 5): "NDHWC"}
            self._data_format = formats.get((axes[0], rank))
            if self._data_format is None:
                if rank == 5:
                    self.fused = False
                else:
                    raise ValueError(f"Unsupported axis. The use of `fused=True` is only "
                                     f"possible with `axis=1` or `axis=3` for 4D input "
                                     f"tensors. Received: axis={tuple(axes)}")
        dims = input_shape.as_list()
        sizes = {a: dims[a] for a in axes}
        if any(v is None for v in sizes.values()):
            raise ValueError(f"Input has undefined `axis` dimension. Received input with "
                             f"shape {tuple(dims)} and axis={tuple(axes)}")
        self.input_spec = InputSpec(ndim=rank, axes=sizes)
        shape = (sizes[axes[0]],) if len(axes) == 1 else \
            [sizes.get(i, 1) for i in range(rank)]
        self._param_shape = shape
        param_dtype = "float32" if self._dtype.name in ("float16", "bfloat16") else self._dtype
        self.gamma = self.add_weight("gamma", shape, dtype=param_dtype,
                                     initializer=self.gamma_initializer,
                                     regularizer=self.gamma_regularizer,
                                     constraint=self.gamma_constraint) if self.scale else None
        self.beta = self.add_weight("beta", shape, dtype=param_dtype,
                                    initializer=self.beta_initializer,
                                    regularizer=self.beta_regularizer,
                                    constraint=self.beta_constraint) if self.center else None
        self.moving_mean = self.add_weight("moving_mean", shape, dtype=param_dtype,
                                           initializer=self.moving_mean_initializer,
                                           trainable=False)
        self.moving_variance = self.add_weight("moving_variance", shape, dtype=param_dtype,
                                               initializer=self.moving_variance_initializer,
                                               trainable=False)

    # ---- the moving averages --------------------------------------------------------------
    def _assign_moving_average(self, variable, value, momentum):
        g = variable.graph
        with g.name_scope("AssignMovingAvg") as scope, g.colocate_with(variable.op):
            decay = convert_to_tensor(1.0 - momentum, name="decay")
            if decay.dtype.base_dtype != variable.dtype.base_dtype:
                decay = math_ops.cast(decay, variable.dtype.base_dtype)
            delta = (variable - math_ops.cast(value, variable.dtype.base_dtype)) * decay
            return state_ops.assign_sub(variable, delta, name=scope)

    def _add_update(self, fn) -> None:
        result = fn()
        self._updates.append(result if hasattr(result, "type") else result.op)

    # ---- calling ------------------------------------------------------------------------
    def call(self, inputs, training=False):
        inputs = convert_to_tensor(inputs)
        if self.fused:
            return self._fused(inputs, training)
        return self._plain(inputs, training)

    def _fused(self, inputs, training):
        beta = self.beta if self.center else \
            constant(0.0, dtype="float32", shape=self._param_shape)
        gamma = self.gamma if self.scale else \
            constant(1.0, dtype="float32", shape=self._param_shape)

        def train():
            return nn_norm.fused_batch_norm(inputs, gamma, beta, mean=self.moving_mean,
                                            variance=self.moving_variance,
                                            epsilon=self.epsilon, is_training=True,
                                            data_format=self._data_format)

        def infer():
            return nn_norm.fused_batch_norm(inputs, gamma, beta, mean=self.moving_mean,
                                            variance=self.moving_variance,
                                            epsilon=self.epsilon, is_training=False,
                                            data_format=self._data_format)
        output, mean, variance = smart_cond(training, train, infer)
        known = _known(training)
        if known or known is None:
            if known is None:
                momentum = smart_cond(training, lambda: self.momentum, lambda: 1.0)
            else:
                momentum = convert_to_tensor(self.momentum)
            self._add_update(lambda: self._assign_moving_average(self.moving_mean, mean,
                                                                 momentum))
            self._add_update(lambda: self._assign_moving_average(self.moving_variance,
                                                                 variance, momentum))
        return output

    def _plain(self, inputs, training):
        dtype = inputs.dtype.base_dtype
        if dtype.name in ("float16", "bfloat16"):
            inputs = math_ops.cast(inputs, "float32")
        shape = inputs.shape
        ndims = shape.ndims
        reduction_axes = [i for i in range(ndims) if i not in self.axis]
        broadcast_shape = [1] * ndims
        broadcast_shape[self.axis[0]] = shape.as_list()[self.axis[0]]

        def broadcast(v):
            if v is not None and len(v.shape) != ndims and \
                    reduction_axes != list(range(ndims - 1)):
                return array_ops.reshape(v, broadcast_shape)
            return v
        scale, offset = broadcast(self.gamma), broadcast(self.beta)
        if _known(training) is False:
            mean, variance = self.moving_mean, self.moving_variance
        else:
            param_dtype = self.moving_mean.dtype.base_dtype
            mean, variance = nn_norm.moments(math_ops.cast(inputs, param_dtype),
                                             reduction_axes, keep_dims=len(self.axis) > 1)
            moving_mean, moving_variance = self.moving_mean, self.moving_variance
            batch_mean, batch_variance = mean, variance
            mean = smart_cond(training, lambda: batch_mean,
                              lambda: convert_to_tensor(moving_mean))
            variance = smart_cond(training, lambda: batch_variance,
                                  lambda: convert_to_tensor(moving_variance))
            new_mean, new_variance = mean, variance
            self._add_update(lambda: smart_cond(
                training, lambda: self._assign_moving_average(self.moving_mean, new_mean,
                                                              self.momentum),
                lambda: self.moving_mean))
            self._add_update(lambda: smart_cond(
                training, lambda: self._assign_moving_average(self.moving_variance,
                                                              new_variance, self.momentum),
                lambda: self.moving_variance))
        mean = math_ops.cast(mean, inputs.dtype.base_dtype)
        variance = math_ops.cast(variance, inputs.dtype.base_dtype)
        if offset is not None:
            offset = math_ops.cast(offset, inputs.dtype.base_dtype)
        if scale is not None:
            scale = math_ops.cast(scale, inputs.dtype.base_dtype)
        outputs = nn_norm.batch_normalization(inputs, broadcast(mean), broadcast(variance),
                                              offset, scale, self.epsilon)
        if dtype.name in ("float16", "bfloat16"):
            outputs = math_ops.cast(outputs, dtype)
        outputs.set_shape(shape)
        return outputs

    @property
    def updates(self) -> list:
        return list(self._updates) if self.trainable else []


def _known(training):
    """True or False when ``training`` is known while building, else None."""
    if isinstance(training, bool) or not hasattr(training, "dtype"):
        return bool(training)
    value = constant_value(training)
    return None if value is None else bool(value)


def batch_normalization(inputs, axis=-1, momentum=0.99, epsilon=1e-3, center=True,
                        scale=True, beta_initializer=zeros_initializer(),
                        gamma_initializer=ones_initializer(),
                        moving_mean_initializer=zeros_initializer(),
                        moving_variance_initializer=ones_initializer(),
                        beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                        gamma_constraint=None, training=False, trainable=True, name=None,
                        reuse=None, renorm=False, renorm_clipping=None, renorm_momentum=0.99,
                        fused=None, virtual_batch_size=None, adjustment=None):
    """The function form of ``BatchNormalization``."""
    layer = BatchNormalization(
        axis=axis, momentum=momentum, epsilon=epsilon, center=center, scale=scale,
        beta_initializer=beta_initializer, gamma_initializer=gamma_initializer,
        moving_mean_initializer=moving_mean_initializer,
        moving_variance_initializer=moving_variance_initializer,
        beta_regularizer=beta_regularizer, gamma_regularizer=gamma_regularizer,
        beta_constraint=beta_constraint, gamma_constraint=gamma_constraint, renorm=renorm,
        renorm_clipping=renorm_clipping, renorm_momentum=renorm_momentum, fused=fused,
        trainable=trainable, virtual_batch_size=virtual_batch_size, adjustment=adjustment,
        name=name, _reuse=reuse, _scope=name)
    return layer(inputs, training=training)


BatchNorm, batch_norm = BatchNormalization, batch_normalization
