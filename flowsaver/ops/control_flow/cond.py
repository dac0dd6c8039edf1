"""``tf.cond`` as TensorFlow 1.x builds it: ``Switch`` nodes in, ``Merge`` nodes out.

``cond(pred, true_fn, false_fn)`` makes, under scope ``cond/``: ``Switch`` (pred, pred),
the pivots ``switch_t``/``switch_f`` and ``pred_id``. Each branch function then runs in a
*context*: every op made while it is active is post-processed as TensorFlow does right
after creating it — an input from outside the branch is routed through a new
``Switch``/``RefSwitch`` named ``<op>/Switch`` (made after the op, as in TensorFlow's
GraphDefs, and reused by later ops of the branch), and an op without inputs gets a
control input on the branch's pivot, so that it is dead when the branch is not taken.
Finally one ``Merge`` per output joins the branches (false input first).

While a branch is built, a hook on the graph (``Graph.add_op_hook``) hands each new op
to the branch's context, and a marker control scope tells whether
``control_dependencies(None)`` (which in TensorFlow also leaves the branch) is in force.
"""
from __future__ import annotations

import contextlib
import weakref

from flowsaver.graph.graph import Graph
from flowsaver.graph.graph_keys import ControlScope
from flowsaver.graph.operation import Operation, Tensor
from flowsaver.ops.array.basic import identity
from flowsaver.ops.control_flow.grouping import with_dependencies
from flowsaver.ops.op_builder import convert_to_tensor, create_op, graph_of

__all__ = ["cond"]

# op -> the branch context it was made in (absent: made outside any conditional)
_OP_CONTEXT: "weakref.WeakKeyDictionary[Operation, _CondContext]" = weakref.WeakKeyDictionary()
# graph -> [(context, marker scope)], innermost last, while branches are being built
_ACTIVE: "weakref.WeakKeyDictionary[Graph, list]" = weakref.WeakKeyDictionary()
# Ops inside a conditional (and its Switches): TensorFlow refuses to fetch them, as their
# values exist only in some runs; only the Merge results are fetchable.
_UNFETCHABLE: "weakref.WeakSet[Operation]" = weakref.WeakSet()


def check_fetchable(op: Operation) -> None:
    """ValueError naming ``op`` when it is inside a conditional."""
    if op in _UNFETCHABLE:
        raise ValueError(f"Operation {op.name} has been marked as not fetchable: it is part "
                         f"of a tf.cond, whose inside has a value only in some runs. Fetch "
                         f"the cond's result instead.")


class _CondContext:
    """One branch of one ``cond``: which tensors it has, and the Switches it made."""

    def __init__(self, pred: Tensor, pivot: Tensor, branch: int, outer):
        self.pred = pred
        self.pivot = pivot
        self.branch = branch
        self.outer = outer
        self.values: set = {pred, pivot}   # tensors usable in the branch as they are
        self.external: dict = {pred: pred}  # outside tensor -> the Switch output standing for it
        _OP_CONTEXT[pivot.op] = self

    def contains(self, op: Operation) -> bool:
        ctx = _OP_CONTEXT.get(op)
        while ctx is not None:
            if ctx is self:
                return True
            ctx = ctx.outer
        return False

    def _mark(self, tensors) -> None:
        ctx = self
        while ctx is not None:
            ctx.values.update(tensors)
            ctx = ctx.outer

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
        graph = value.graph
        with graph.control_dependencies(None):  # also leaves every branch, as in TensorFlow
            result = switch_ref_or_tensor(result, self.pred)[self.branch]
        _OP_CONTEXT[result.op] = self
        _UNFETCHABLE.add(result.op)
        self._mark([result])
        self.external[value] = result
        return result

    def add_op(self, op: Operation) -> None:
        """What TensorFlow does to each op made in the branch, right after making it."""
        _OP_CONTEXT[op] = self
        _UNFETCHABLE.add(op)
        if not op.inputs:
            if not any(self.contains(c) for c in op.control_inputs):
                op._add_control_input(self.pivot.op)
        else:
            for index, tensor in enumerate(op.inputs):
                real = self.add_value(tensor)
                if real is not tensor:
                    op.replace_input(index, real)
        self._mark(op.outputs)

    def output(self, value) -> Tensor:
        """A branch result as a tensor the Merge can take (an outside one via a Switch)."""
        if isinstance(value, Operation):  # the pivot stands for an op, run first
            return with_dependencies([value], self.pivot)
        value = convert_to_tensor(value)
        if value in self.values:
            return self.external.get(value, value)
        self.values.add(value)
        real = value
        if self.outer is not None:
            real = self.outer.add_value(value)
            self.values.add(real)
            self.external[real] = real
        real = switch_ref_or_tensor(real, self.pred)[self.branch]
        self.external[value] = real
        return real


def _current(graph: Graph):
    """The innermost branch being built in ``graph``, unless control deps were cleared."""
    stack = _ACTIVE.get(graph)
    if not stack:
        return None
    ctx, marker = stack[-1]
    return ctx if graph.in_control_scope(marker) else None


def _on_new_op(op: Operation) -> None:
    ctx = _current(op.graph)
    if ctx is not None:
        ctx.add_op(op)


@contextlib.contextmanager
def _entered(graph: Graph, ctx: _CondContext):
    """Build ops in ``ctx``: route ``graph``'s new ops through ``ctx.add_op``."""
    marker = ControlScope([])  # adds no dependency; control_dependencies(None) hides it
    stack = _ACTIVE.setdefault(graph, [])
    stack.append((ctx, marker))
    graph.push_control_scope(marker)
    if len(stack) == 1:
        graph.add_op_hook(_on_new_op)
    try:
        yield ctx
    finally:
        graph.pop_control_scope(marker)
        stack.pop()
        if not stack:
            graph.remove_op_hook(_on_new_op)
            del _ACTIVE[graph]


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


def _build_branch(graph: Graph, ctx: _CondContext, fn, which: str):
    with _entered(graph, ctx):
        original = fn()
        if original is None:
            raise ValueError(f"'{which}' must have a return value.")
        results = [ctx.output(v) for v in _flatten(original)]
    if ctx.outer is not None:
        ctx.outer._mark(results)
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
            _UNFETCHABLE.add(op)
        outer = _current(g)
        ctx_t = _CondContext(pred_id, pivot_t, 1, outer)
        orig_t, res_t = _build_branch(g, ctx_t, true_fn, "true_fn")
        ctx_f = _CondContext(pred_id, pivot_f, 0, outer)
        orig_f, res_f = _build_branch(g, ctx_f, false_fn, "false_fn")
        _assert_same_structure(orig_t, orig_f)
        if not res_t:
            raise ValueError("'true_fn' and 'false_fn' must return at least one result.")
        for t, f in zip(res_t, res_f):
            if t.dtype.base_dtype != f.dtype.base_dtype:
                raise ValueError(f"Outputs of 'true_fn' and 'false_fn' must have the same "
                                 f"type(s). Received {t.dtype.base_dtype.name} from 'true_fn' "
                                 f"and {f.dtype.base_dtype.name} from 'false_fn'.")
        merged = [merge([f, t])[0] for f, t in zip(res_f, res_t)]
        if isinstance(orig_t, Operation):
            orig_t = merged[0]
        result = _pack_sequence_as(orig_t, merged)
        if not strict and isinstance(result, (list, tuple)) and len(result) == 1:
            return result[0]
        return result


# ---- nested results (TensorFlow's ``nest``: dicts flatten in sorted key order) -------------
def _is_sequence(value) -> bool:
    return isinstance(value, (list, tuple, dict))


def _children(value) -> list:
    if isinstance(value, dict):
        return [value[k] for k in sorted(value)]
    return list(value)


def _flatten(structure) -> list:
    if not _is_sequence(structure):
        return [structure]
    return [leaf for child in _children(structure) for leaf in _flatten(child)]


def _pack_sequence_as(structure, flat: list):
    leaves = iter(flat)

    def pack(value):
        if not _is_sequence(value):
            return next(leaves)
        packed = [pack(child) for child in _children(value)]
        if isinstance(value, dict):
            return type(value)(zip(sorted(value), packed))
        if hasattr(value, "_fields"):  # a namedtuple
            return type(value)(*packed)
        return type(value)(packed)
    return pack(structure)


def _assert_same_structure(a, b) -> None:
    """ValueError (TypeError for list vs tuple) when ``a`` and ``b`` nest differently."""
    if _is_sequence(a) != _is_sequence(b) or \
            (_is_sequence(a) and len(_children(a)) != len(_children(b))):
        raise ValueError(f"The two structures don't have the same nested structure.\n"
                         f"First structure: {a!r}\nSecond structure: {b!r}")
    if not _is_sequence(a):
        return
    if type(a) is not type(b):
        raise TypeError(f"The two structures don't have the same sequence type. Input "
                        f"structure has type {type(a)!r}, while shallow structure has type "
                        f"{type(b)!r}.")
    if isinstance(a, dict) and sorted(a) != sorted(b):
        raise ValueError(f"The two dictionaries don't have the same set of keys: "
                         f"{sorted(a)} and {sorted(b)}")
    for x, y in zip(_children(a), _children(b)):
        _assert_same_structure(x, y)
