"""The loops TensorFlow 1.x adds to differentiate a ``tf.while_loop``.

- a *forward counter* in the forward loop (``f_count``): ``n = 0; while pivot: n += 1``, so
  that the gradient loop knows how many iterations to run;
- the *backprop counter* that drives the gradient loop (``b_count``):
  ``n = count; while n >= 1: n -= 1``;
- an *accumulator* per loop invariant (``b_acc``): the gradient of a value used in every
  iteration is the sum over the iterations.

Each is built exactly where and as TensorFlow builds it (names, contexts, control inputs).
"""
from __future__ import annotations

from flowsaver.graph.operation import Tensor
from flowsaver.graph.tensor_shape import TensorShape
from flowsaver.ops.array import basic as array_ops
from flowsaver.ops.autodiff.indexed_slices import IndexedSlices
from flowsaver.ops.control_flow import loop_ops
from flowsaver.ops.control_flow.cond import merge, switch
from flowsaver.ops.math import basic as math_ops
from flowsaver.ops.op_builder import constant, create_op


def add_forward_loop_counter(ctx, outer_grad_state):
    """Count the iterations of forward loop ``ctx``; ``(count exit, next index)``.

    Called in ``ctx``'s outer context. The counter's ``f_count`` Const waits for the outer
    loop's counter, so that an inner loop's pushes of one outer iteration come first.
    """
    n = constant(0, name="f_count")
    if outer_grad_state is not None:
        n.op._add_control_input(outer_grad_state.forward_index.op.inputs[0].op)
    ctx.enter()
    try:
        ctx.add_name(n)
        entered = loop_ops.enter(n, ctx.name, is_constant=False,
                                 parallel_iterations=ctx.parallel_iterations, name="f_count")
        ctx.loop_enters.append(entered)
        merged = merge([entered, entered])[0]
        out_false, out_true = switch(merged, ctx.pivot)
        index = math_ops.add(out_true, 1)
        next_n = loop_ops.next_iteration(index)
        merged.op.replace_input(1, next_n)
        total = loop_ops.exit_frame(out_false, name="f_count")
        ctx.loop_exits.append(total)
        ctx.exit_result([total])
    finally:
        ctx.exit()
    return total, next_n


def add_backprop_loop_counter(ctx, count: Tensor, outer_grad_state) -> Tensor:
    """Drive gradient loop ``ctx`` for ``count`` iterations; returns its next index.

    Called in ``ctx``'s outer context; sets the loop's pivots.
    """
    one = constant(1, name="b_count")
    ctx.enter()
    try:
        ctx.add_name(count)
        entered = loop_ops.enter(count, ctx.name, is_constant=False,
                                 parallel_iterations=ctx.parallel_iterations, name="b_count")
        ctx.loop_enters.append(entered)
        merged = merge([entered, entered])[0]
        ctx.pivot_for_pred = merged
        pred = math_ops.greater_equal(merged, one)
        ctx.pivot = loop_ops.loop_cond(pred, name="b_count")
        out_false, out_true = switch(merged, ctx.pivot)
        index = math_ops.subtract(out_true, one)
        ctx.pivot_for_body = index
        next_count = loop_ops.next_iteration(index)
        merged.op.replace_input(1, next_count)
        final_zero = loop_ops.exit_frame(out_false, name="b_count")
        ctx.loop_exits.append(final_zero)
        if outer_grad_state is not None:
            # an inner loop's pops of one outer iteration come before the next one's
            outer_grad_state.grad_sync._add_control_input(final_zero.op)
        ctx.exit_result([final_zero])
    finally:
        ctx.exit()
    return next_count


def _in(context_or_none):
    """Enter ``context_or_none`` (if any); the function to leave it again."""
    if context_or_none is None:
        return lambda: None
    context_or_none.enter()
    return context_or_none.exit


def add_backprop_accumulator(ctx, op, grad: Tensor) -> Tensor:
    """The sum over the iterations of ``grad``, the gradient of loop invariant ``op``
    (an Enter); called in gradient loop ``ctx``, which it leaves entered."""
    ctx.exit()
    shape = grad.shape
    if shape.is_fully_defined():
        leave = _in(ctx.outer)
        acc = constant(0, dtype=grad.dtype, shape=shape, name="b_acc")
        leave()
    else:
        value = op.inputs[0]
        outer = ctx.outer
        if outer is not None and outer.is_while() and outer.grad_state is not None:
            forward = ctx.grad_state.forward_context
            forward.outer.enter()
            zeros_shape = array_ops._shape_internal(value, optimize=False)
            forward.outer.exit()
            outer_grad_state = ctx.grad_state.outer_grad_state
            history = outer_grad_state.add_forward_accumulator(zeros_shape)
            outer.enter()
            real_shape = outer_grad_state.add_backprop_accumulated_value(history, zeros_shape)
            acc = array_ops.zeros(real_shape, grad.dtype)
            outer.exit()
        else:
            leave = _in(outer)
            zeros_shape = array_ops._shape_internal(value, optimize=False)
            acc = array_ops.zeros(zeros_shape, grad.dtype)
            leave()
    ctx.enter()
    ctx.add_name(acc)
    entered = loop_ops.enter(acc, ctx.name, is_constant=False,
                             parallel_iterations=ctx.parallel_iterations, name="b_acc")
    ctx.loop_enters.append(entered)
    merged = merge([entered, entered], name="b_acc")[0]
    out_false, out_true = switch(merged, ctx.pivot)
    merged.op.replace_input(1, loop_ops.next_iteration(math_ops.add(out_true, grad)))
    result = loop_ops.exit_frame(out_false, name="b_acc")
    ctx.loop_exits.append(result)
    ctx.exit_result([result])
    return result


def _resource_safe_shape(t: Tensor) -> Tensor:
    """The shape of ``t``, or of the variable a resource handle points to."""
    if t.dtype.base_dtype.name == "resource":
        while t.op.inputs:
            t = t.op.inputs[0]
        return constant(t.op.get_attr("shape").as_list(), name="Shape")
    return array_ops._shape_internal(t, optimize=False)


def add_backprop_indexed_slices_accumulator(ctx, op, grad: IndexedSlices) -> IndexedSlices:
    """``add_backprop_accumulator`` for a sparse gradient: indices and values concatenated
    over the iterations (the dense shape: the largest seen)."""
    values, indices, dense_shape = grad.values, grad.indices, grad.dense_shape
    ctx.exit()
    leave_outer = _in(ctx.outer)
    if values.shape.is_fully_defined():
        values_shape = TensorShape([1] + values.shape.as_list()[1:])
        leave = _in(ctx.outer)
        values_acc = constant(0, dtype=values.dtype, shape=values_shape, name="b_acc")
        leave()
    else:
        values_shape = _resource_safe_shape(op.inputs[0])[1:]
        values_shape = array_ops.concat([[1], values_shape], 0)
        values_acc = array_ops.zeros(values_shape, dtype=values.dtype)
    indices_acc = constant([0], dtype=indices.dtype)
    shape_acc = None
    if dense_shape is not None:
        if dense_shape.shape.is_fully_defined():
            leave = _in(ctx.outer)
            shape_acc = constant(0, dtype=dense_shape.dtype, shape=dense_shape.shape)
            leave()
        else:
            shape_acc = array_ops.zeros_like(
                create_op("Shape", [op.inputs[0]], {"out_type": dense_shape.dtype}),
                optimize=False)
    leave_outer()
    ctx.enter()
    ctx.add_name(values_acc)
    ctx.add_name(indices_acc)
    init = [indices_acc, values_acc]
    if shape_acc is not None:
        ctx.add_name(shape_acc)
        init.append(shape_acc)
    entered = [loop_ops.enter(x, ctx.name, is_constant=False,
                              parallel_iterations=ctx.parallel_iterations,
                              use_input_shape=False, name="b_acc") for x in init]
    entered[0].set_shape([None])
    if values_acc.shape.ndims is not None:
        entered[1].set_shape([None] + values_acc.shape.as_list()[1:])
    ctx.loop_enters.extend(entered)
    merged = [merge([x, x], name="b_acc")[0] for x in entered]
    switched = [switch(x, ctx.pivot) for x in merged]
    accumulated = [array_ops.concat([s[1], v], 0)
                   for s, v in zip(switched[:2], [indices, values])]
    if shape_acc is not None:
        accumulated.append(math_ops.maximum(dense_shape, switched[2][1]))
    for m, a in zip(merged, accumulated):
        m.op.replace_input(1, loop_ops.next_iteration(a))
    exits = [loop_ops.exit_frame(s[0], name="b_acc") for s in switched]
    ctx.loop_exits.extend(exits)
    ctx.exit_result(exits)
    return IndexedSlices(exits[1], exits[0], exits[2] if shape_acc is not None else None)
