"""The TF1 optimizers: GradientDescent, Momentum, Adam, Adagrad, RMSProp (Adadelta and FTRL
are in ``more_optimizers``).

Each builds TensorFlow's nodes: ``<Name>/learning_rate`` and friends as Consts (or the
tensors given), slots ``<var>/<Name>[_1]``, and ``<Name>/update_<var>/Apply<Name>``.
"""
from __future__ import annotations

from flowsaver.ops.autodiff.indexed_slices import IndexedSlices
from flowsaver.ops.control_flow import api as control_flow_ops
from flowsaver.ops.state import api as state_ops
from flowsaver.ops.state import init_ops
from flowsaver.ops.math.api import cast, sqrt
from flowsaver.ops.op_builder import build_op, convert_to_tensor, create_op
from flowsaver.ops.state.resource_variables import ResourceVariable
from flowsaver.train.optimizer import Optimizer


def as_dtype_of(tensor, var):
    return cast(tensor, var.dtype.base_dtype)


def apply_update(op_type, var, slots, rest, attrs):
    """``Apply<op_type>`` on ref variables, ``ResourceApply<op_type>`` on resource ones."""
    if isinstance(var, ResourceVariable):
        return build_op("Resource" + op_type, [var.handle] + [s.handle for s in slots] + rest,
                        attrs)
    out = create_op(op_type, [var._ref()] + [s._ref() for s in slots] + rest, attrs)
    return out.op


def apply_sparse_update(op_type, var, slots, rest, attrs):
    """``SparseApply<op_type>`` on a ref variable and its slots: the update op."""
    return create_op("Sparse" + op_type, [var._ref()] + [s._ref() for s in slots] + rest,
                     attrs).op


class GradientDescentOptimizer(Optimizer):
    def __init__(self, learning_rate, use_locking=False, name="GradientDescent"):
        super().__init__(use_locking, name)
        self._learning_rate = learning_rate

    def _prepare(self):
        self._lr_t = convert_to_tensor(self._call_if_callable(self._learning_rate),
                                       name="learning_rate")

    def _apply_dense(self, grad, var):
        return apply_update("ApplyGradientDescent", var, [], [as_dtype_of(self._lr_t, var), grad],
                      {"use_locking": self._use_locking})

    def _apply_sparse_duplicate_indices(self, grad, var):
        # repeated rows need no summing: ScatterSub subtracts every one of them
        delta = IndexedSlices(grad.values * as_dtype_of(self._lr_t, var), grad.indices,
                              grad.dense_shape)
        return var.scatter_sub(delta, use_locking=self._use_locking)


class MomentumOptimizer(Optimizer):
    def __init__(self, learning_rate, momentum, use_locking=False, name="Momentum",
                 use_nesterov=False):
        super().__init__(use_locking, name)
        self._learning_rate = learning_rate
        self._momentum = momentum
        self._use_nesterov = use_nesterov

    def _create_slots(self, var_list):
        for v in var_list:
            self._zeros_slot(v, "momentum", self._name)

    def _prepare(self):
        self._lr_t = convert_to_tensor(self._call_if_callable(self._learning_rate),
                                       name="learning_rate")
        self._momentum_t = convert_to_tensor(self._call_if_callable(self._momentum),
                                             name="momentum")

    def _apply_dense(self, grad, var):
        mom = self.get_slot(var, "momentum")
        return apply_update("ApplyMomentum", var, [mom], [as_dtype_of(self._lr_t, var), grad,
                                                    as_dtype_of(self._momentum_t, var)],
                      {"use_locking": self._use_locking, "use_nesterov": self._use_nesterov})

    def _apply_sparse(self, grad, var):
        mom = self.get_slot(var, "momentum")
        return apply_sparse_update(
            "ApplyMomentum", var, [mom], [as_dtype_of(self._lr_t, var), grad.values,
                                          grad.indices, as_dtype_of(self._momentum_t, var)],
            {"use_locking": self._use_locking, "use_nesterov": self._use_nesterov})


class AdamOptimizer(Optimizer):
    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8,
                 use_locking=False, name="Adam"):
        super().__init__(use_locking, name)
        self._lr, self._beta1, self._beta2, self._epsilon = learning_rate, beta1, beta2, epsilon

    def _get_beta_accumulators(self):
        graph = self._first_graph
        return (self._get_non_slot_variable("beta1_power", graph),
                self._get_non_slot_variable("beta2_power", graph))

    def _create_slots(self, var_list):
        first = min(var_list, key=lambda v: v.name)
        self._first_graph = first.graph
        self._non_slot_variable(self._beta1, "beta1_power", first)
        self._non_slot_variable(self._beta2, "beta2_power", first)
        for v in var_list:
            self._zeros_slot(v, "m", self._name)
            self._zeros_slot(v, "v", self._name)

    def _prepare(self):
        call = self._call_if_callable
        self._lr_t = convert_to_tensor(call(self._lr), name="learning_rate")
        self._beta1_t = convert_to_tensor(call(self._beta1), name="beta1")
        self._beta2_t = convert_to_tensor(call(self._beta2), name="beta2")
        self._epsilon_t = convert_to_tensor(call(self._epsilon), name="epsilon")

    def _apply_dense(self, grad, var):
        m, v = self.get_slot(var, "m"), self.get_slot(var, "v")
        beta1_power, beta2_power = self._get_beta_accumulators()
        return apply_update("ApplyAdam", var, [m, v], [as_dtype_of(beta1_power, var),
                                                 as_dtype_of(beta2_power, var), as_dtype_of(self._lr_t, var),
                                                 as_dtype_of(self._beta1_t, var),
                                                 as_dtype_of(self._beta2_t, var),
                                                 as_dtype_of(self._epsilon_t, var), grad],
                      {"use_locking": self._use_locking, "use_nesterov": False})

    def _apply_sparse(self, grad, var):
        """Adam on the rows of ``grad``: both moments decay everywhere (an Assign), the
        scaled gradient is scattered into its rows, then every row of ``var`` steps."""
        beta1_power, beta2_power = self._get_beta_accumulators()
        beta1_power, beta2_power = as_dtype_of(beta1_power, var), as_dtype_of(beta2_power, var)
        lr_t, beta1_t = as_dtype_of(self._lr_t, var), as_dtype_of(self._beta1_t, var)
        beta2_t, epsilon_t = as_dtype_of(self._beta2_t, var), as_dtype_of(self._epsilon_t, var)
        lr = lr_t * sqrt(1 - beta2_power) / (1 - beta1_power)
        values, indices = grad.values, grad.indices
        graph = var.graph
        m = self.get_slot(var, "m")
        m_scaled = values * (1 - beta1_t)
        m_t = state_ops.assign(m, m * beta1_t, use_locking=self._use_locking)
        with graph.control_dependencies([m_t]):
            m_t = state_ops.scatter_add(m, indices, m_scaled, use_locking=self._use_locking)
        v = self.get_slot(var, "v")
        v_scaled = (values * values) * (1 - beta2_t)
        v_t = state_ops.assign(v, v * beta2_t, use_locking=self._use_locking)
        with graph.control_dependencies([v_t]):
            v_t = state_ops.scatter_add(v, indices, v_scaled, use_locking=self._use_locking)
        v_sqrt = sqrt(v_t)
        var_update = state_ops.assign_sub(var, lr * m_t / (v_sqrt + epsilon_t),
                                          use_locking=self._use_locking)
        return control_flow_ops.group(*[var_update, m_t, v_t])

    def _finish(self, update_ops, name_scope):
        graph = self._first_graph
        with graph.control_dependencies(update_ops):
            beta1_power, beta2_power = self._get_beta_accumulators()
            with graph.colocate_with(beta1_power):
                update_beta1 = beta1_power.assign(beta1_power * self._beta1_t,
                                                  use_locking=self._use_locking)
                update_beta2 = beta2_power.assign(beta2_power * self._beta2_t,
                                                  use_locking=self._use_locking)
        return control_flow_ops.group(*update_ops + [update_beta1, update_beta2],
                                      name=name_scope)


class AdagradOptimizer(Optimizer):
    def __init__(self, learning_rate, initial_accumulator_value=0.1, use_locking=False,
                 name="Adagrad"):
        if initial_accumulator_value <= 0.0:
            raise ValueError(f"initial_accumulator_value must be positive: "
                             f"{initial_accumulator_value}")
        super().__init__(use_locking, name)
        self._learning_rate = learning_rate
        self._initial_accumulator_value = initial_accumulator_value

    def _create_slots(self, var_list):
        for v in var_list:
            init = init_ops.Constant(self._initial_accumulator_value,
                                     dtype=v.dtype.base_dtype)
            self._slot_with_initializer(v, init, "accumulator", self._name)

    def _prepare(self):
        self._lr_t = convert_to_tensor(self._call_if_callable(self._learning_rate),
                                       name="learning_rate")

    def _apply_dense(self, grad, var):
        acc = self.get_slot(var, "accumulator")
        return apply_update("ApplyAdagrad", var, [acc], [as_dtype_of(self._lr_t, var), grad],
                      {"use_locking": self._use_locking})

    def _apply_sparse(self, grad, var):
        acc = self.get_slot(var, "accumulator")
        return apply_sparse_update("ApplyAdagrad", var, [acc], [
            as_dtype_of(self._lr_t, var), grad.values, grad.indices],
            {"use_locking": self._use_locking})


class RMSPropOptimizer(Optimizer):
    def __init__(self, learning_rate, decay=0.9, momentum=0.0, epsilon=1e-10,
                 use_locking=False, centered=False, name="RMSProp"):
        super().__init__(use_locking, name)
        self._learning_rate, self._decay = learning_rate, decay
        self._momentum, self._epsilon = momentum, epsilon
        self._centered = centered

    def _create_slots(self, var_list):
        for v in var_list:
            self._slot_with_initializer(v, init_ops.Ones(dtype=v.dtype.base_dtype), "rms",
                                        self._name)
            if self._centered:
                self._zeros_slot(v, "mg", self._name)
            self._zeros_slot(v, "momentum", self._name)

    def _prepare(self):
        call = self._call_if_callable
        self._lr_t = convert_to_tensor(call(self._learning_rate), name="learning_rate")
        self._decay_t = convert_to_tensor(call(self._decay), name="decay")
        self._momentum_t = convert_to_tensor(call(self._momentum), name="momentum")
        self._epsilon_t = convert_to_tensor(call(self._epsilon), name="epsilon")

    def _apply_dense(self, grad, var):
        rms, mom = self.get_slot(var, "rms"), self.get_slot(var, "momentum")
        if self._centered:  # also tracks the mean gradient, to divide by the variance
            return apply_update("ApplyCenteredRMSProp", var, [self.get_slot(var, "mg"), rms, mom],
                          [as_dtype_of(self._lr_t, var), as_dtype_of(self._decay_t, var),
                           as_dtype_of(self._momentum_t, var), as_dtype_of(self._epsilon_t, var), grad],
                          {"use_locking": self._use_locking})
        return apply_update("ApplyRMSProp", var, [rms, mom],
                      [as_dtype_of(self._lr_t, var), as_dtype_of(self._decay_t, var),
                       as_dtype_of(self._momentum_t, var), as_dtype_of(self._epsilon_t, var), grad],
                      {"use_locking": self._use_locking})

    def _apply_sparse(self, grad, var):
        rms, mom = self.get_slot(var, "rms"), self.get_slot(var, "momentum")
        scalars = [as_dtype_of(t, var) for t in (self._lr_t, self._decay_t, self._momentum_t,
                                                 self._epsilon_t)]
        if self._centered:
            return apply_sparse_update("ApplyCenteredRMSProp", var,
                                       [self.get_slot(var, "mg"), rms, mom],
                                       scalars + [grad.values, grad.indices],
                                       {"use_locking": self._use_locking})
        return apply_sparse_update("ApplyRMSProp", var, [rms, mom],
                                   scalars + [grad.values, grad.indices],
                                   {"use_locking": self._use_locking})
