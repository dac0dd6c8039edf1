"""``tf.cond`` as TensorFlow 1.x builds it: ``Switch`` nodes in, ``Merge`` nodes out.

``cond(pred, true_fn, false_fn)`` makes, under scope ``cond/``: ``Switch`` (pred, pred),
the pivots ``switch_t``/``switch_f`` and ``pred_id``. Each branch function then runs in a
``CondContext`` (``context.py``): every op made while it is current is post-processed as
TensorFlow does right after creating it — an input from outside the branch is routed
through a new ``Switch``/``RefSwitch`` named ``<op>/Switch`` (made after the op, as in
TensorFlow's GraphDefs, and reused by later ops of the branch), and an op without inputs
gets a control input on the branch's pivot, so that it is dead when the branch is not
taken. Finally one ``Merge`` per output joins the branches (false input first).
"""
from __future__ import annotations

from flowsaver.graph.operation import Operation, Tensor
from flowsaver.ops import nest, registry
from flowsaver.ops.array.basic import identity
from flowsaver.ops.control_flow import context
from flowsaver.ops.control_flow.grouping import with_dependencies
from flowsaver.ops.op_builder import convert_to_tensor, create_op, graph_of

__all__ = ["cond"]


def as_flow(value):
    """A TensorArray's flow tensor stands for it in control flow; anything else as is."""
    return value.flow if getattr(value, "is_tensor_array", False) else value


def from_flow(original, value):
    """``value`` as a TensorArray again when ``original`` was one (TensorFlow's
    ``_convert_flow_to_tensorarray``)."""
    if getattr(original, "is_tensor_array", False):
        return original.with_flow(value)
    return value


class CondContext(context.ControlFlowContext):
    """One branch of one ``cond``: which tensors it has, and the Switches it made."""

    def __init__(self, pred: Tensor, pivot: Tensor, branch: int):
        super().__init__(pred.graph)
        pred.graph.unique_name("cond_text")  # TensorFlow names the context graph-uniquely
        self.pred = pred
        self.pivot = pivot
        self.branch = branch
        self.values.update((pred, pivot))
        self.external[pred] = pred
        context.set_context(pivot.op, self)

    def is_cond(self) -> bool:
        return True

    def control_pivot(self):
        return self.pivot

    def add_value(self, value: Tensor) -> Tensor:
        """The tensor the branch uses for ``value``: ``value``, or a Switch output of it."""
        if value in self.values:
            return self.external.get(value, value)
        self.values.add(value)
        result = value
        if self.outer is not None:
            result = self.outer.add_value(value)
            self.values.add(result)
            self.external[result] = result
        with value.graph.control_dependencies(None):  # also leaves every context
            result = switch_ref_or_tensor(result, self.pred)[self.branch]
            if self.outer is not None:
                self.outer.add_inner_op(result.op)
        context.prevent_fetching(result.op)
        context.set_context(result.op, self)
        self.mark([result])
        self.external[value] = result
        return result

    def add_op(self, op: Operation) -> None:
        """What TensorFlow does to each op made in the branch, right after making it."""
        if not op.inputs:
            self.remove_external_control_edges(op)
            if not any(context.op_in_context(c, self) for c in op.control_inputs):
                op._add_control_input(self.pivot.op)
        else:
            for index, tensor in enumerate(op.inputs):
                if context.is_merge(op) and \
                        registry.has_trait(tensor.op.type, registry.NEXT_ITERATION):
                    continue  # a loop imported into the branch: closed by its own Merge
                real = self.add_value(tensor)
                if real is not tensor:
                    op.replace_input(index, real)
            self.remove_external_control_edges(op)
        self.mark(op.outputs)
        if self.outer is not None or not context.is_loop_exit(op):
            context.prevent_fetching(op)
        if self.outer is not None:
            self.outer.add_inner_op(op)

    def output(self, value) -> Tensor:
        """A branch result as a tensor the Merge can take (an outside one via a Switch)."""
        if isinstance(value, Operation):  # the pivot stands for an op, run first
            return with_dependencies([value], self.pivot)
        value = convert_to_tensor(as_flow(value))
        if value not in self.values:
            self.values.add(value)
            real = value
            if self.outer is not None:
                real = self.outer.add_value(value)
                self.values.add(real)
                self.external[real] = real
            real = switch_ref_or_tensor(real, self.pred)[self.branch]
            self.external[value] = real
            return real
        return self.external.get(value, value)

    def build_branch(self, fn):
        """``(what fn returned, its results as tensors the Merges take)``."""
        original = fn()
        if original is None:
            return None, None
        results = nest.map_structure(self.output, original)
        if not isinstance(results, (list, tuple)):
            results = [results]
        return original, results


def switch(data, pred, name=None):
    """``(output_false, output_true)``: ``data`` on the side ``pred`` selects (``Switch``)."""
    g = graph_of([data, pred])
    with g.as_default(), g.name_scope(name or "Switch") as scope:
        data = convert_to_tensor(data, name="data", as_ref=True)
        pred = convert_to_tensor(pred, name="pred")
        return create_op("Switch", [data, pred], name=scope)


def switch_ref_or_tensor(data: Tensor, pred: Tensor, name: str = "Switch"):
    """A Switch of ``data`` colocated with it; a ``RefSwitch`` when ``data`` is a ref."""
    with data.graph.colocate_with(data.op, ignore_existing=True):
        if data.dtype._is_ref_dtype:
            return create_op("RefSwitch", [data, pred], name=name)
        return switch(data, pred, name=name)


def merge(inputs, name=None):
    """``(output, value_index)``: whichever input is live (``Merge``, ``RefMerge`` for refs)."""
    g = graph_of(inputs)
    with g.as_default(), g.name_scope(name or "Merge") as scope:
        tensors = [convert_to_tensor(t, as_ref=True) for t in inputs]
        op_type = "RefMerge" if all(t.dtype._is_ref_dtype for t in tensors) else "Merge"
        return create_op(op_type, [tensors], name=scope)


def _unpack_if_singleton(value):
    if isinstance(value, (list, tuple)) and len(value) == 1:
        return value[0]
    return value


def _branch(ctx: CondContext, fn, which: str):
    ctx.enter()
    try:
        original, results = ctx.build_branch(fn)
        if original is None:
            raise ValueError(f"'{which}' must have a return value.")
        ctx.exit_result(nest.flatten(results))
    finally:
        ctx.exit()
    return original, results


def cond(pred, true_fn=None, false_fn=None, strict=False, name=None, fn1=None, fn2=None):
    """``true_fn()`` if ``pred`` else ``false_fn()``, as one graph with both branches.

    Only the taken branch runs; the other's ops are dead. Returns the branches' results
    (which must have the same structure and dtypes), merged.

    Raises:
      TypeError: ``pred`` is a Python bool, or a branch is not callable.
      ValueError: a branch returns nothing, or the two return different structures/dtypes.
    """
    true_fn = true_fn if true_fn is not None else fn1
    false_fn = false_fn if false_fn is not None else fn2
    if not callable(true_fn):
        raise TypeError("'true_fn' must be callable.")
    if not callable(false_fn):
        raise TypeError("'false_fn' must be callable.")
    if isinstance(pred, bool):
        raise TypeError("'pred' must not be a Python bool.")
    g = graph_of([pred])
    with g.as_default(), g.name_scope(name or "cond"):
        p_false, p_true = switch(pred, pred)
        pivot_t = identity(p_true, name="switch_t")
        pivot_f = identity(p_false, name="switch_f")
        pred_id = identity(pred, name="pred_id")
        for op in (p_true.op, pivot_t.op, pivot_f.op, pred_id.op):
            context.prevent_fetching(op)
        ctx_t = CondContext(pred_id, pivot_t, 1)
        orig_t, res_t = _branch(ctx_t, true_fn, "true_fn")
        ctx_f = CondContext(pred_id, pivot_f, 0)
        orig_f, res_f = _branch(ctx_f, false_fn, "false_fn")
        if not strict:
            orig_t, orig_f = _unpack_if_singleton(orig_t), _unpack_if_singleton(orig_f)
        nest.assert_same_structure(orig_t, orig_f)
        if not res_t:
            raise ValueError("'true_fn' and 'false_fn' must return at least one result.")
        flat_t, flat_f = nest.flatten(res_t), nest.flatten(res_f)
        for t, f in zip(flat_t, flat_f):
            if t.dtype.base_dtype != f.dtype.base_dtype:
                raise ValueError(f"Outputs of 'true_fn' and 'false_fn' must have the same "
                                 f"type(s). Received {t.dtype.base_dtype.name} from 'true_fn' "
                                 f"and {f.dtype.base_dtype.name} from 'false_fn'.")
        merged = [merge([f, t])[0] for f, t in zip(flat_f, flat_t)]
        merged = [from_flow(o, m) for o, m in zip(nest.flatten(orig_t), merged)]
        result = nest.pack_sequence_as(orig_t, merged)
        if not strict:
            result = _unpack_if_singleton(result)
        return result
