"""``tf.train.Optimizer``: gradients in, update ops out, slots named as TensorFlow names them.

``minimize`` = ``compute_gradients`` (``tf.gradients`` w.r.t. each variable's ref) +
``apply_gradients``, which makes the slots (``w/Adam``, ``w/Adam_1``, ...) outside any
control block, then one ``update_<var>/Apply*`` op per variable under the optimizer's
name scope, a ``_finish`` group, and the global step's ``AssignAdd`` named after the scope.

A gradient that is an ``IndexedSlices`` (an embedding's) updates only its rows, as in
TensorFlow: repeated indices are summed first (``Unique`` + ``UnsortedSegmentSum``), then
the optimizer's ``_apply_sparse`` runs (``SparseApply*`` ops, Adam's scatter updates).
Resource variables and optimizers without a sparse rule take the gradient densified.
"""
from __future__ import annotations

from flowsaver.graph.graph import GraphKeys, get_default_graph
from flowsaver.graph.operation import Tensor
from flowsaver.ops.array import api as array_ops
from flowsaver.ops.array.slicing import unsorted_segment_sum
from flowsaver.ops.autodiff.indexed_slices import IndexedSlices
from flowsaver.ops.control_flow import api as control_flow_ops
from flowsaver.ops.state import init_ops
from flowsaver.ops.state import api as state_ops
from flowsaver.ops.state import variable_scope
from flowsaver.ops.op_builder import convert_to_tensor
from flowsaver.ops.state.resource_variables import ResourceVariable
from flowsaver.ops.state.variables import Variable, trainable_variables

GATE_NONE, GATE_OP, GATE_GRAPH = 0, 1, 2


def _var_key(var):
    return var.op.name


class Optimizer:
    """Base class of the TF1 optimizers; subclasses define slots and the update op."""

    GATE_NONE, GATE_OP, GATE_GRAPH = GATE_NONE, GATE_OP, GATE_GRAPH

    def __init__(self, use_locking: bool, name: str):
        if not name:
            raise ValueError("Must specify the optimizer name")
        self._use_locking = use_locking
        self._name = name
        self._slots: dict = {}
        self._non_slot_dict: dict = {}

    def get_name(self) -> str:
        return self._name

    # ---- the public three -----------------------------------------------------------------
    def minimize(self, loss, global_step=None, var_list=None, gate_gradients=GATE_OP,
                 aggregation_method=None, colocate_gradients_with_ops=False, name=None,
                 grad_loss=None):
        """Add ops that update ``var_list`` (default: trainable variables) to lower ``loss``.

        Raises:
          ValueError: no variable gets a gradient from ``loss``.
        """
        grads_and_vars = self.compute_gradients(
            loss, var_list=var_list, gate_gradients=gate_gradients,
            aggregation_method=aggregation_method,
            colocate_gradients_with_ops=colocate_gradients_with_ops, grad_loss=grad_loss)
        if not [v for g, v in grads_and_vars if g is not None]:
            raise ValueError(f"No gradients provided for any variable, check your graph for "
                             f"ops that do not support gradients, between variables "
                             f"{[str(v) for _, v in grads_and_vars]} and loss {loss}.")
        return self.apply_gradients(grads_and_vars, global_step=global_step, name=name)

    def compute_gradients(self, loss, var_list=None, gate_gradients=GATE_OP,
                          aggregation_method=None, colocate_gradients_with_ops=False,
                          grad_loss=None) -> list:
        """``[(gradient or None, variable)]`` of ``loss`` for each variable."""
        from flowsaver.ops.autodiff.gradients import gradients
        if gate_gradients not in (GATE_NONE, GATE_OP, GATE_GRAPH):
            raise ValueError(f"gate_gradients must be one of: Optimizer.GATE_NONE, "
                             f"Optimizer.GATE_OP, Optimizer.GATE_GRAPH. Not {gate_gradients}")
        if var_list is None:
            var_list = trainable_variables() + get_default_graph().get_collection(
                GraphKeys.TRAINABLE_RESOURCE_VARIABLES)
        else:
            var_list = list(var_list)
        if not var_list:
            raise ValueError("No variables to optimize.")
        targets = [v._ref() if isinstance(v, (Variable, ResourceVariable)) else v
                   for v in var_list]
        grads = gradients(loss, targets, grad_ys=grad_loss,
                          gate_gradients=gate_gradients == GATE_OP,
                          aggregation_method=aggregation_method,
                          colocate_gradients_with_ops=colocate_gradients_with_ops)
        if gate_gradients == GATE_GRAPH:
            grads = control_flow_ops.tuple(grads)
        return list(zip(grads, var_list))

    def apply_gradients(self, grads_and_vars, global_step=None, name=None):
        """Update each variable with its gradient; returns the train op."""
        pairs = [(g, v) for g, v in grads_and_vars]
        if not pairs:
            raise ValueError("No variables provided.")
        var_list = [v for g, v in pairs if g is not None]
        if not var_list:
            raise ValueError(f"No gradients provided for any variable: "
                             f"{[str(v) for _, v in pairs]}.")
        graph = get_default_graph()
        with graph.control_dependencies(None):
            self._create_slots(var_list)
        update_ops = []
        with graph.name_scope(name or self._name) as scope:
            self._prepare()
            for grad, var in pairs:
                if grad is None:
                    continue
                sparse = isinstance(grad, IndexedSlices) and self._updates_rows(var)
                if not sparse and not isinstance(grad, Tensor):
                    grad = convert_to_tensor(grad)
                with graph.name_scope("update_" + var.op.name), graph.colocate_with(var):
                    update_ops.append(self._apply_sparse_duplicate_indices(grad, var)
                                      if sparse else self._apply_dense(grad, var))
            if global_step is None:
                train = self._finish(update_ops, scope)
            else:
                with graph.control_dependencies([self._finish(update_ops, "update")]):
                    with graph.colocate_with(global_step):
                        train = self._increment(global_step, scope)
            train = train.op if isinstance(train, Tensor) else train
        train_ops = graph.get_collection_ref(GraphKeys.TRAIN_OP)
        if train not in train_ops:
            train_ops.append(train)
        return train

    @staticmethod
    def _increment(global_step, name):
        if isinstance(global_step, ResourceVariable):
            from flowsaver.ops.op_builder import build_op
            return build_op("AssignAddVariableOp", [global_step.handle, convert_to_tensor(
                1, dtype=global_step.dtype)], name=name)
        return state_ops.assign_add(global_step, 1, name=name)

    # ---- what subclasses define -----------------------------------------------------------
    def _create_slots(self, var_list) -> None:
        pass

    def _prepare(self) -> None:
        pass

    def _apply_dense(self, grad, var):
        raise NotImplementedError

    def _apply_sparse(self, grad, var):
        """The update of the rows of ``grad`` (an IndexedSlices without repeated indices)."""
        raise NotImplementedError

    def _updates_rows(self, var) -> bool:
        """Whether an IndexedSlices gradient of ``var`` takes the sparse path."""
        overridden = (type(self)._apply_sparse is not Optimizer._apply_sparse or
                      type(self)._apply_sparse_duplicate_indices is not
                      Optimizer._apply_sparse_duplicate_indices)
        return overridden and not isinstance(var, ResourceVariable)

    def _apply_sparse_duplicate_indices(self, grad, var):
        """Sum the rows of repeated indices, then ``_apply_sparse``."""
        unique, positions = array_ops.unique(grad.indices)
        summed = unsorted_segment_sum(grad.values, positions, array_ops.shape(unique)[0])
        return self._apply_sparse(IndexedSlices(summed, unique, grad.dense_shape), var)

    def _finish(self, update_ops, name_scope):
        return control_flow_ops.group(*update_ops, name=name_scope)

    # ---- slots -----------------------------------------------------------------------------
    def get_slot(self, var, name):
        return self._slots.get(name, {}).get(_var_key(var))

    def get_slot_names(self) -> list:
        return sorted(self._slots)

    def variables(self) -> list:
        out = [v for slots in self._slots.values() for v in slots.values()]
        out += list(self._non_slot_dict.values())
        return sorted(out, key=lambda v: v.name)

    def _slot_with_initializer(self, var, initializer, slot_name: str, op_name: str):
        """The slot ``slot_name`` of ``var``: a non-trainable ``var/<op_name>`` variable."""
        slots = self._slots.setdefault(slot_name, {})
        if _var_key(var) not in slots:
            graph = var.graph
            with graph.as_default(), \
                    variable_scope.variable_scope(None, default_name=f"{var.op.name}/{op_name}"), \
                    graph.colocate_with(var):
                slot = variable_scope.get_variable(
                    "", shape=var.shape, dtype=var.dtype.base_dtype,
                    initializer=initializer, trainable=False,
                    use_resource=isinstance(var, ResourceVariable))
            info = var._get_save_slice_info() if hasattr(var, "_get_save_slice_info") else None
            if info is not None:
                from flowsaver.ops.state.partitioned import SaveSliceInfo
                slot._set_save_slice_info(SaveSliceInfo(
                    f"{info.full_name}/{op_name}", info.full_shape, info.var_offset,
                    info.var_shape))
            slots[_var_key(var)] = slot
        return slots[_var_key(var)]

    def _zeros_slot(self, var, slot_name: str, op_name: str):
        return self._slot_with_initializer(var, init_ops.Zeros(), slot_name, op_name)

    def _non_slot_variable(self, initial_value, name: str, colocate_with):
        """A non-trainable variable of the optimizer (Adam's ``beta1_power``)."""
        graph = colocate_with.graph
        key = (name, graph)
        if key not in self._non_slot_dict:
            with graph.as_default(), graph.colocate_with(colocate_with):
                self._non_slot_dict[key] = Variable(
                    initial_value, name=name, trainable=False,
                    use_resource=isinstance(colocate_with, ResourceVariable))
        return self._non_slot_dict[key]

    def _get_non_slot_variable(self, name: str, graph):
        return self._non_slot_dict.get((name, graph))

    def _call_if_callable(self, value):
        return value() if callable(value) else value
