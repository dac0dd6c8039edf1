"""TensorFlow 1.x's Adadelta and FTRL optimizers, with TensorFlow's slots and nodes.

Adadelta keeps ``accum`` and ``accum_update`` slots (``<var>/Adadelta``,
``<var>/Adadelta_1``); FTRL keeps ``accum`` (initialized to ``initial_accumulator_value``)
and ``linear``, and folds ``beta`` into its L2 strength as TensorFlow does.
"""
from __future__ import annotations

from flowsaver.ops.array import api as array_ops
from flowsaver.ops.math import api as math_ops
from flowsaver.ops.op_builder import convert_to_tensor
from flowsaver.train.optimizer import Optimizer
from flowsaver.train.optimizers import apply_sparse_update, apply_update, as_dtype_of

__all__ = ["AdadeltaOptimizer", "FtrlOptimizer"]


class AdadeltaOptimizer(Optimizer):
    """Adadelta (Zeiler, 2012): steps scaled by running averages of updates and gradients."""

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-8, use_locking=False,
                 name="Adadelta"):
        super().__init__(use_locking, name)
        self._lr, self._rho, self._epsilon = learning_rate, rho, epsilon

    def _create_slots(self, var_list):
        for v in var_list:
            self._zeros_slot(v, "accum", self._name)
            self._zeros_slot(v, "accum_update", self._name)

    def _prepare(self):
        call = self._call_if_callable
        self._lr_t = convert_to_tensor(call(self._lr), name="lr")
        self._rho_t = convert_to_tensor(call(self._rho), name="rho")
        self._epsilon_t = convert_to_tensor(call(self._epsilon), name="epsilon")

    def _apply_dense(self, grad, var):
        slots = [self.get_slot(var, "accum"), self.get_slot(var, "accum_update")]
        return apply_update("ApplyAdadelta", var, slots,
                            [as_dtype_of(self._lr_t, var), as_dtype_of(self._rho_t, var),
                             as_dtype_of(self._epsilon_t, var), grad],
                            {"use_locking": self._use_locking})

    def _apply_sparse(self, grad, var):
        slots = [self.get_slot(var, "accum"), self.get_slot(var, "accum_update")]
        return apply_sparse_update("ApplyAdadelta", var, slots,
                                   [as_dtype_of(self._lr_t, var), as_dtype_of(self._rho_t, var),
                                    as_dtype_of(self._epsilon_t, var), grad.values,
                                    grad.indices], {"use_locking": self._use_locking})


class FtrlOptimizer(Optimizer):
    """FTRL-proximal (McMahan et al., 2013), with L1, L2 and L2-shrinkage regularization."""

    def __init__(self, learning_rate, learning_rate_power=-0.5, initial_accumulator_value=0.1,
                 l1_regularization_strength=0.0, l2_regularization_strength=0.0,
                 use_locking=False, name="Ftrl", accum_name=None, linear_name=None,
                 l2_shrinkage_regularization_strength=0.0, beta=None):
        super().__init__(use_locking, name)
        checks = ((initial_accumulator_value < 0.0, "initial_accumulator_value",
                   initial_accumulator_value, "positive"),
                  (learning_rate_power > 0.0, "learning_rate_power", learning_rate_power,
                   "less than or equal to 0.0"),
                  (l1_regularization_strength < 0.0, "l1_regularization_strength",
                   l1_regularization_strength, "non-negative"),
                  (l2_regularization_strength < 0.0, "l2_regularization_strength",
                   l2_regularization_strength, "non-negative"),
                  (l2_shrinkage_regularization_strength < 0.0,
                   "l2_shrinkage_regularization_strength",
                   l2_shrinkage_regularization_strength, "non-negative"))
        for bad, what, value, rule in checks:
            if bad:
                raise ValueError(f"{what} {value} must be {rule}")
        self._learning_rate = learning_rate
        self._learning_rate_power = learning_rate_power
        self._initial_accumulator_value = initial_accumulator_value
        self._l1 = l1_regularization_strength
        self._l2 = l2_regularization_strength
        self._beta = 0.0 if beta is None else beta
        self._l2_shrinkage = l2_shrinkage_regularization_strength
        self._accum_name, self._linear_name = accum_name, linear_name

    def _create_slots(self, var_list):
        value = self._initial_accumulator_value

        def accum_initializer(shape, dtype="float32", partition_info=None):
            return array_ops.ones(shape, dtype=dtype) * value
        for v in var_list:
            self._slot_with_initializer(v, accum_initializer, "accum",
                                        self._accum_name or self._name)
            self._zeros_slot(v, "linear", self._linear_name or self._name)

    def _prepare(self):
        self._lr_t = convert_to_tensor(self._learning_rate, name="learning_rate")
        self._l1_t = convert_to_tensor(self._l1, name="l1_regularization_strength")
        # beta joins the L2 strength here, so that the update op needs no beta of its own
        self._l2_t = convert_to_tensor(
            self._l2 + self._beta / (2. * math_ops.maximum(self._learning_rate, 1e-36)),
            name="adjusted_l2_regularization_strength")
        self._beta_t = convert_to_tensor(self._beta, name="beta")
        self._l2_shrinkage_t = convert_to_tensor(self._l2_shrinkage,
                                                 name="l2_shrinkage_regularization_strength")
        self._lr_power_t = convert_to_tensor(self._learning_rate_power,
                                             name="learning_rate_power")

    def _apply_dense(self, grad, var):
        slots = [self.get_slot(var, "accum"), self.get_slot(var, "linear")]
        head = [grad, as_dtype_of(self._lr_t, var), as_dtype_of(self._l1_t, var),
                as_dtype_of(self._l2_t, var)]
        if self._l2_shrinkage <= 0.0:
            return apply_update("ApplyFtrl", var, slots,
                                head + [as_dtype_of(self._lr_power_t, var)],
                                {"use_locking": self._use_locking})
        return apply_update("ApplyFtrlV2", var, slots,
                            head + [as_dtype_of(self._l2_shrinkage_t, var),
                                    as_dtype_of(self._lr_power_t, var)],
                            {"use_locking": self._use_locking})

    def _apply_sparse(self, grad, var):
        slots = [self.get_slot(var, "accum"), self.get_slot(var, "linear")]
        head = [grad.values, grad.indices, as_dtype_of(self._lr_t, var),
                as_dtype_of(self._l1_t, var), as_dtype_of(self._l2_t, var)]
        if self._l2_shrinkage <= 0.0:
            return apply_sparse_update("ApplyFtrl", var, slots,
                                       head + [as_dtype_of(self._lr_power_t, var)],
                                       {"use_locking": self._use_locking})
        return apply_sparse_update("ApplyFtrlV2", var, slots,
                                   head + [as_dtype_of(self._l2_shrinkage_t, grad.values),
                                           as_dtype_of(self._lr_power_t, var)],
                                   {"use_locking": self._use_locking})
