"""``tf.gradients``: the backward walk that adds gradient ops to the graph.

The walk does what TensorFlow 1.x's does, so that the ops it adds, their names and their
order equal TensorFlow's: open ``gradients/`` (``gradients_1/``, ...), seed each ``y``
with ``Fill(Shape(y), 1)`` named ``grad_ys_<i>``, keep only the ops on a path from the
``xs`` to the ``ys`` (along float, complex, resource or variant tensors), and visit them
when all their consumers are done. A tensor that received several gradients gets one
``AddN`` (``gradients/AddN``); a missing gradient of a used op's other output is a
``ZerosLike``. Each op's gradient function runs in ``gradients/<op name>_grad`` and
returns one entry per input; ``registry.GRADIENTS[type] is None`` marks an op with no
gradient. The gradient functions live in each family's ``grad.py``.
"""
from __future__ import annotations

import collections
import contextlib

from flowsaver.graph.operation import Operation, Tensor
from flowsaver.ops import registry
from flowsaver.ops.array import api as array_ops
from flowsaver.ops.math import api as math_ops
from flowsaver.ops.control_flow.api import group, with_dependencies
from flowsaver.ops.autodiff import loop_walk
from flowsaver.ops.autodiff.indexed_slices import IndexedSlices, mark_zeros
from flowsaver.ops.control_flow.grad_state import zeros_like_output
from flowsaver.ops.op_builder import convert_to_tensor, create_op, graph_of

__all__ = ['gradients', 'IndexedSlices', 'AggregationMethod']

# Only changes of these dtypes can be propagated (TensorFlow's backprop_util.IsTrainable).
_TRAINABLE = {"float16", "bfloat16", "float32", "float64", "complex64", "complex128",
              "resource", "variant"}


class AggregationMethod:
    """How gradients reaching one tensor are summed: all at once, or pairwise."""

    ADD_N = 0
    DEFAULT = ADD_N
    EXPERIMENTAL_TREE = 1
    EXPERIMENTAL_ACCUMULATE_N = 2


def is_trainable(tensor: Tensor) -> bool:
    """Whether a small change of ``tensor`` means anything (float, complex, resource)."""
    return tensor.dtype.base_dtype.name in _TRAINABLE


def _as_list(value) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]


# ---- the walk -----------------------------------------------------------------------------------
def gradients(ys, xs, grad_ys=None, name="gradients", colocate_gradients_with_ops=False,
              gate_gradients=False, aggregation_method=None, stop_gradients=None) -> list:
    """The symbolic derivatives of ``sum(ys)`` with respect to each of ``xs``.

    Returns one entry per ``x``: a Tensor, an IndexedSlices (through a gather), or None
    when ``x`` does not reach any ``y``. Gradients do not flow through ``stop_gradients``
    nor through ``tf.stop_gradient``.

    Raises:
      LookupError: an op on the path has no registered gradient.
      ValueError: ``grad_ys`` does not have one entry per ``y``.
    """
    ys, xs = _as_list(ys), _as_list(xs)
    stops = [] if stop_gradients is None else _as_list(stop_gradients)
    grad_ys = [None] * len(ys) if grad_ys is None else _as_list(grad_ys)
    if aggregation_method is None:
        aggregation_method = AggregationMethod.DEFAULT
    if aggregation_method not in (0, 1, 2):
        raise ValueError(f"Invalid `aggregation_method` specified {aggregation_method}. "
                         f"Accepted values are [0, 1, 2].")
    g = graph_of([v for v in ys + xs + stops + grad_ys if v is not None])
    with g.as_default(), g.name_scope(name or "gradients"):
        g.unique_name("uid")  # TensorFlow reserves a per-call id name in the scope
        ys = [convert_to_tensor(y, name="y") for y in ys]
        xs = [convert_to_tensor(x, name="x", as_ref=True) for x in xs]
        grad_ys = _default_grad_ys(grad_ys, ys, colocate_gradients_with_ops)
        walk = _Walk(g, ys, xs, [t.op for t in stops], colocate_gradients_with_ops,
                     gate_gradients, aggregation_method)
        for y, grad_y in zip(ys, grad_ys):
            walk.add(y, grad_y)
        walk.run()
        return [walk.result(x) for x in xs]


def _colocated(g, op, enabled: bool):
    return g.colocate_with(op) if enabled else contextlib.nullcontext()


def _default_grad_ys(grad_ys: list, ys: list, colocate: bool) -> list:
    """Ones shaped like each ``y`` where no gradient is given; the given ones as Identity."""
    if len(grad_ys) != len(ys):
        raise ValueError(f"Length mismatch. Passed {len(grad_ys)} grad_ys for {len(ys)} ys")
    grad_ys = [None if v is None else convert_to_tensor(v, name="grad_y") for v in grad_ys]
    out = []
    for i, (y, grad_y) in enumerate(zip(ys, grad_ys)):
        with _colocated(y.graph, y.op, colocate):
            dtype = y.dtype.base_dtype
            if grad_y is None:
                if dtype.is_complex:
                    raise TypeError(f"Gradients of complex tensors ({y}) must set grad_ys "
                                    f"(y.dtype = {dtype.name})")
                out.append(array_ops.ones(array_ops.shape(y), dtype=dtype,
                                          name=f"grad_ys_{i}"))
                continue
            given = grad_y.dtype.base_dtype
            numeric = dtype.is_floating or dtype.is_integer
            if numeric and not (given.is_floating or given.is_integer):
                raise TypeError(f"Gradient type {given.name} generated for real or "
                                f"integer-valued tensor {y} with type {dtype.name} must be "
                                f"real or integer")
            if dtype.is_complex and not given.is_complex:
                raise TypeError(f"Gradient type {given.name} generated for complex-valued "
                                f"tensor {y} with type {dtype.name} must be real")
            out.append(array_ops.identity(grad_y, name=f"grad_ys_{i}"))
    return out


class _Walk:
    """The state of one backward pass: which ops matter, and the gradients received so far."""

    def __init__(self, g, ys, xs, stop_ops, colocate, gate, aggregation):
        self.g, self.colocate, self.gate, self.aggregation = g, colocate, gate, aggregation
        self.to_ops = [t.op for t in ys]
        self.from_ops = [t.op for t in xs]
        self.grads: dict = {}
        reached = _reached(self.from_ops)
        self.reachable_to_ops = {op for op in self.to_ops if op in reached}
        self.pending, self.loop_state = loop_walk.pending_counts(self.to_ops, reached,
                                                                 colocate)
        self.stop_gradient_ops = stop_ops
        self.stop_ops: set = set()

    @staticmethod
    def trainable(tensor: Tensor) -> bool:
        return is_trainable(tensor)

    def add(self, tensor: Tensor, grad) -> None:
        """Record one more gradient reaching ``tensor``."""
        per_output = self.grads.setdefault(tensor.op, [[] for _ in tensor.op.outputs])
        received = per_output[tensor.value_index]
        if isinstance(received, list):
            received.append(grad)
        else:  # a loop Switch, visited again from its body's side
            per_output[tensor.value_index] = grad

    def result(self, x: Tensor):
        per_output = self.grads.get(x.op)
        if not per_output:
            return None
        grad = per_output[x.value_index]
        return self._sum(x.op, x.value_index, grad) if isinstance(grad, list) else grad

    def run(self) -> None:
        queue, seen = collections.deque(), set()
        for op in self.to_ops:
            if self.pending[op] == 0 and op not in seen and op in self.reachable_to_ops:
                seen.add(op)
                queue.append(op)
        loop_state = self.loop_state
        if loop_state is not None:
            for y in loop_state.process_unused_loop_exits(self.pending, seen):
                if is_trainable(y):
                    self.add(y, loop_state.zeros_like_for_exit(y))
                    queue.append(y.op)
        self.stop_ops = {op for op in self.from_ops
                         if all(self.pending[t.op] <= 0 for t in op.inputs)}
        self.stop_ops.update(self.stop_gradient_ops)
        while queue:
            op = queue.popleft()
            with _colocated(self.g, op, self.colocate):
                self._visit(op)
            if loop_state is None:
                for t in op.inputs:
                    self.pending[t.op] -= 1
                    if self.pending[t.op] == 0:
                        queue.append(t.op)
            else:
                loop_walk.enqueue_ready(self, op, queue)
        if loop_state is not None:
            loop_state.post_processing()

    def _visit(self, op: Operation) -> None:
        loop_state = self.loop_state
        if loop_state is not None:
            loop_state.enter_grad_while_context(op, before=True)
        out_grads = self._aggregated(op)
        if loop_state is not None:
            loop_state.exit_grad_while_context(op, before=True)
        has_grads = any(g is not None for g in out_grads)
        grad_fn = None
        if has_grads and op not in self.stop_ops and op.inputs:
            if registry.has_trait(op.type, registry.NO_GRADIENT_YET):
                raise LookupError(
                    f"No gradient defined for operation'{op.name}' (op type: {op.type}) in "
                    f"flowsaver yet (TensorFlow has one). If you want to pretend this "
                    f"operation is a constant in your program, you may insert "
                    f"`tf.stop_gradient`.")
            if op.type not in registry.GRADIENTS:
                raise LookupError(
                    f"No gradient defined for operation'{op.name}' (op type: {op.type}). In "
                    f"general every operation must have an associated gradient function. If "
                    f"you want to pretend this operation is a constant in your program, you "
                    f"may insert `tf.stop_gradient`.")
            grad_fn = registry.GRADIENTS[op.type]
        if loop_state is not None:
            loop_state.enter_grad_while_context(op, before=False)
        try:
            loop_walk.check_not_initial_loop_value(op, self.from_ops)
            if grad_fn is not None and has_grads:
                self._differentiate(op, grad_fn, out_grads)
        finally:
            if loop_state is not None:
                loop_state.exit_grad_while_context(op, before=False)

    def _differentiate(self, op: Operation, grad_fn, out_grads: list) -> None:
        for i, grad in enumerate(out_grads):
            output = op.outputs[i]
            if grad is None and is_trainable(output) and \
                    output.dtype.base_dtype.name != "resource":
                # The loss does not depend on this output: its gradient is zero.
                if self.loop_state is not None:
                    out_grads[i] = self.loop_state.zeros_like_in_loop(op, i)
                else:
                    out_grads[i] = zeros_like_output(op, i)
                    mark_zeros(out_grads[i])
        with self.g.name_scope(op.name + "_grad"):
            in_grads = _as_list(grad_fn(op, *out_grads))
            if len(in_grads) != len(op.inputs):
                raise ValueError(f"Num gradients {len(in_grads)} generated for op "
                                 f"{op.node_def} do not match num inputs {len(op.inputs)}")
            if self.gate and len([g for g in in_grads if g is not None]) > 1:
                with self.g.device(None), self.g.colocate_with(None, ignore_existing=True):
                    in_grads = _gated(in_grads)
        for i, (t_in, grad) in enumerate(zip(op.inputs, in_grads)):
            if grad is None:
                continue
            if isinstance(grad, Tensor) and t_in.dtype.base_dtype.name != "resource":
                try:
                    grad.set_shape(t_in.shape)
                except ValueError:
                    raise ValueError(
                        f"Incompatible shapes between op input and calculated input gradient. "
                        f"Forward operation: {op.name}. Input index: {i}. Original input "
                        f"shape: {t_in.shape}. Calculated input gradient shape: "
                        f"{grad.shape}") from None
            self.add(t_in, grad)

    def _aggregated(self, op: Operation) -> list:
        """The gradient of each output of ``op``, several received ones summed; None if none."""
        per_output = self.grads.get(op) or [[] for _ in op.outputs]
        for i, received in enumerate(per_output):
            per_output[i] = self._sum(op, i, received)
        return per_output

    def _sum(self, op: Operation, index: int, received):
        if not isinstance(received, list):
            return received
        received = [r for r in received if r is not None]
        if not received:
            return None
        if len(received) == 1:
            return received[0]
        for r in received:
            if not isinstance(r, (Tensor, IndexedSlices)):
                raise TypeError(f"Invalid gradient {received} [index = {index}]. Gradients "
                                f"have to be either all Tensors or all IndexedSlices")
        if not all(isinstance(r, Tensor) for r in received):
            return _sum_indexed_slices(received)
        if self.aggregation in (AggregationMethod.EXPERIMENTAL_TREE,
                                AggregationMethod.EXPERIMENTAL_ACCUMULATE_N):
            with self.g.name_scope(op.name + "_gradient_sum"):
                total = received[0]
                for r in received[1:]:
                    total = math_ops.add_n([total, r])
                return total
        return _multi_device_add_n(self.g, received)


def _reached(from_ops: list) -> set:
    """Every op reachable from ``from_ops`` through trainable tensors."""
    reached, queue = set(), collections.deque(from_ops)
    while queue:
        op = queue.popleft()
        if op in reached:
            continue
        reached.add(op)
        for t in op.outputs:
            if is_trainable(t):
                queue.extend(t.consumers())
    return reached


def _multi_device_add_n(g, tensors: list) -> Tensor:
    """One ``AddN`` per device (colocated with its first input), then their sum."""
    per_device: dict = {}
    for t in tensors:
        per_device.setdefault(t.device or "", []).append(t)
    partial = []
    for device in sorted(per_device):
        group_ = per_device[device]
        with g.colocate_with(group_[0].op, ignore_existing=True):
            partial.append(math_ops.add_n(group_))
    return math_ops.add_n(partial)


def _sum_indexed_slices(grads: list):
    """Several sparse gradients as one: values and indices concatenated; dense if any is."""
    if any(isinstance(g, Tensor) for g in grads):
        # TensorFlow makes the sparse ones dense inside AddN's scope (AddN/inputs_0)
        return create_op("AddN", [grads])
    index_types = {g.indices.dtype.base_dtype for g in grads}
    if len(index_types) > 1:
        grads = [IndexedSlices(g.values, math_ops.cast(g.indices, "int64"), g.dense_shape)
                 for g in grads]
    return IndexedSlices(array_ops.concat([g.values for g in grads], axis=0),
                         array_ops.concat([g.indices for g in grads], axis=0),
                         grads[0].dense_shape)


def _gated(in_grads: list) -> list:
    """Each gradient passed on only once all of the op's gradients exist (TF's tuple)."""
    g = graph_of([t.values if isinstance(t, IndexedSlices) else t
                  for t in in_grads if t is not None])
    with g.name_scope("tuple"):
        gating = sorted({t.op for t in in_grads if t is not None}, key=lambda op: op._id)
        gate = group(*gating)
        out = []
        for t in in_grads:
            if isinstance(t, IndexedSlices):
                out.append(IndexedSlices(with_dependencies([gate], t.values), t.indices,
                                         t.dense_shape))
            elif t is not None:
                out.append(with_dependencies([gate], t))
            else:
                out.append(None)
        return out

