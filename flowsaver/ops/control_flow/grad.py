"""Gradients of the control-flow ops, built as TensorFlow 1.x builds them.

In a ``tf.cond``: a Switch's gradient is a Merge of its outputs' gradients, a Merge's is a
Switch of its gradient on the cond's predicate. In a ``tf.while_loop`` the gradient loop
runs the forward loop backwards: an Exit's gradient enters the gradient loop, a loop
Switch's gradient is a Merge (its second input, the next iteration's gradient, is added
when the Switch is visited again), a loop Merge's gradient is a Switch on the gradient
loop's predicate, an Enter's gradient leaves it (through an accumulator for an invariant).
The walk (``autodiff/gradients.py``) enters the gradient loop's context around each call.
"""
from __future__ import annotations

from flowsaver.graph.operation import Tensor
from flowsaver.ops.autodiff.indexed_slices import IndexedSlices
from flowsaver.ops.control_flow import context, grad_loops, loop_ops
from flowsaver.ops.control_flow.cond import merge, switch, switch_ref_or_tensor
from flowsaver.ops.math import api as math_ops
from flowsaver.ops.registry import OpTable

TABLE = OpTable(__name__)
gradient = TABLE.gradient


def _switch_grad(op, *grads):
    graph = op.graph
    op_ctx = context.context_of(op)
    grad_ctx = context.current(graph)
    if op_ctx is not None and op_ctx.is_while():
        state = grad_ctx.grad_state
        merge_grad = state.switch_map.get(op)
        if merge_grad is not None:
            # the second visit, from the body's side: close the gradient loop
            if grads[1] is not None:
                loop_ops.add_next_and_back_edge(merge_grad, grads[1],
                                                enforce_shape_invariant=False)
            return None, None
        if grads[0] is not None:
            # the first visit, from the Exit's side: a Merge to complete later
            merge_grad = merge([grads[0], grads[0]], name="b_switch")[0]
            state.switch_map[op] = merge_grad
            return merge_grad, None
        return None, None
    if op_ctx is not None and op_ctx.is_cond():
        if grads[1 - op_ctx.branch] is None:
            if op.inputs[0].dtype.base_dtype.name == "resource":
                return merge([grads[op_ctx.branch]] * 2, name="cond_resource_grad")[0], None
            return None, None
        return merge(list(grads), name="cond_grad")[0], None
    false_grad = switch(grads[0], op.inputs[1])[0]
    true_grad = switch(grads[1], op.inputs[1])[1]
    return merge([false_grad, true_grad])[0], None


gradient("Switch")(_switch_grad)
gradient("RefSwitch")(_switch_grad)


def _merge_grad(op, grad, _):
    graph = op.graph
    op_ctx = context.output_context(op.inputs[0].op)
    grad_ctx = context.current(graph)
    if op_ctx is not None and op_ctx.is_while():
        return list(switch_ref_or_tensor(grad, grad_ctx.pivot))
    if op_ctx is not None and op_ctx.is_cond():
        pred = op_ctx.pred
        if grad_ctx is not None and grad_ctx.grad_state is not None:
            # a cond inside a loop: the predicate of each iteration, from its history
            state = grad_ctx.grad_state
            real_pred = state.history_map.get(pred)
            if real_pred is None:
                grad_loop = state.grad_context
                grad_loop.exit()
                history = state.add_forward_accumulator(pred)
                grad_loop.enter()
                real_pred = state.add_backprop_accumulated_value(history, pred)
                state.history_map[pred] = real_pred
            pred = real_pred
        return list(switch_ref_or_tensor(grad, pred, name="cond_grad"))
    conds = [math_ops.equal(op.outputs[1], i) for i in range(len(op.inputs))]
    return [switch_ref_or_tensor(grad, c)[1] for c in conds]


gradient("Merge")(_merge_grad)
gradient("RefMerge")(_merge_grad)


def _exit_grad(op, grad):
    grad_ctx = context.current(op.graph)
    if not grad_ctx.back_prop:  # tf.while_loop(back_prop=False)
        return None
    if context.context_of(op).grad_state is not None:
        raise TypeError("Second-order gradient for while loops not supported.")
    if isinstance(grad, Tensor):
        grad_ctx.add_name(grad)
    elif isinstance(grad, IndexedSlices):
        grad_ctx.add_name(grad.values)
        grad_ctx.add_name(grad.indices)
        if grad.dense_shape is not None:
            grad_ctx.add_name(grad.dense_shape)
    else:
        raise TypeError(f"Type {type(grad)} not supported, must be either"
                        f"`indexed_slices.IndexedSlices` or `SparseTensor`.")
    grad_ctx.enter()
    try:
        result = loop_ops.enter(grad, grad_ctx.name, is_constant=False,
                                parallel_iterations=grad_ctx.parallel_iterations,
                                name="b_exit")
    finally:
        grad_ctx.exit()
    grad_ctx.loop_enters.append(result)
    return result


gradient("Exit")(_exit_grad)
gradient("RefExit")(_exit_grad)


def _enter_grad(op, grad):
    grad_ctx = context.current(op.graph)
    if grad_ctx is None or not grad_ctx.back_prop or grad_ctx.grad_state is None:
        return grad
    if op.get_attr("is_constant"):
        # a loop invariant: the sum of its gradients over the iterations
        if isinstance(grad, Tensor):
            return grad_loops.add_backprop_accumulator(grad_ctx, op, grad)
        if isinstance(grad, IndexedSlices):
            return grad_loops.add_backprop_indexed_slices_accumulator(grad_ctx, op, grad)
        raise TypeError(f"Type {type(grad)} not supported,must be Tensor or Indexed Slices")
    result = loop_ops.exit_frame(grad)
    grad_ctx.loop_exits.append(result)
    grad_ctx.exit_result([result])
    return result


gradient("Enter")(_enter_grad)
gradient("RefEnter")(_enter_grad)

for _type in ("NextIteration", "RefNextIteration", "RefIdentity"):
    gradient(_type)(lambda op, grad: grad)  # the gradient loop's NextIteration: _switch_grad
gradient("LoopCond")(lambda op, grad: None)  # the predicate stops backprop
