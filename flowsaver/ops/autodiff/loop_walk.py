"""The backward walk's bookkeeping for TensorFlow 1.x while loops.

Where ``tf.gradients`` meets loop exits between its xs and ys, it makes a
``ControlFlowState`` (``control_flow/grad_state.py``) and then follows TensorFlow's rules:
every exit of a loop joins the walk; an exit becomes ready only once all exits of its loop
are, and the exits nothing used get zero gradients when some other exit has a real one;
a loop Switch is visited twice (from its Exit side, then from its body side).
"""
from __future__ import annotations

import collections

from flowsaver.graph.operation import Tensor
from flowsaver.ops.autodiff.indexed_slices import IndexedSlices
from flowsaver.ops.control_flow import context
from flowsaver.ops.control_flow.grad_state import maybe_create_control_flow_state


def pending_counts(to_ops: list, reached: set, colocate: bool):
    """``(pending, loop_state)``: for each op between the xs and ys, how many of its
    consumers lie in between; the loop state when loops lie in between, else None."""
    reached = set(reached)
    between, order, queue = set(), [], collections.deque(to_ops)
    while queue:
        op = queue.popleft()
        if op in reached:
            between.add(op)
            order.append(op)
            reached.remove(op)
            queue.extend(t.op for t in op.inputs)
    for op in order:
        if context.is_loop_exit(op) and context.while_context_of(op) is None:
            raise LookupError(
                f"Cannot differentiate through while loop exit '{op.name}': its loop was "
                f"imported from a GraphDef, without the while-loop context TensorFlow's "
                f"Python builds gradients from.")
    loop_state = maybe_create_control_flow_state(order, between, colocate)
    pending = collections.defaultdict(int)
    for op in order:
        for t in op.inputs:
            if t.op in between:
                pending[t.op] += 1
    return pending, loop_state


def has_any_gradient(grads: dict, op) -> bool:
    """Whether some output of ``op`` received a gradient that is not None."""
    for out in grads.get(op) or []:
        if isinstance(out, (Tensor, IndexedSlices)):
            return True
        if isinstance(out, list) and any(g is not None for g in out):
            return True
    return False


def enqueue_ready(walk, op, queue) -> None:
    """One consumer of each input of ``op`` is done: enqueue the inputs now ready."""
    loop_state = walk.loop_state
    for x in op.inputs:
        walk.pending[x.op] -= 1
        ready = walk.pending[x.op] == 0
        if loop_state is not None and not ready:
            ready = walk.pending[x.op] > 0 and context.is_loop_switch(x.op)
        if not ready:
            continue
        if not context.is_loop_exit(x.op):
            queue.append(x.op)
            continue
        state = loop_state.grad_state(x.op, before=False)
        state.deferred_exits.append(x)
        state.pending_exits_count -= 1
        if state.pending_exits_count:
            continue
        used = False
        for y in state.deferred_exits:
            if has_any_gradient(walk.grads, y.op):
                used = True
                queue.append(y.op)
            else:
                state.unused_exits.append(y)
        for y in state.unused_exits:
            if used and walk.trainable(y):
                walk.add(y, loop_state.zeros_like_for_exit(y))
            queue.append(y.op)


def check_not_initial_loop_value(op, from_ops) -> None:
    """ValueError when the walk would go through a loop Switch inside its own loop: a
    gradient with respect to a loop variable's initial value taken inside the loop."""
    ctx = context.context_of(op)
    if not (context.is_switch(op) and ctx is not None and ctx.is_while() and
            ctx is context.current(op.graph)):
        return
    target, queue, seen = None, collections.deque([op]), set()
    while queue:
        current = queue.popleft()
        if current in seen:
            continue
        seen.add(current)
        if current in from_ops:
            target = current
            break
        queue.extend(t.op for t in current.inputs)
    raise ValueError(
        f"Cannot compute gradient inside while loop with respect to op "
        f"'{target.name if target else op.name}'. We do not support taking the gradient wrt "
        f"or through the initial value of a loop variable. Gradients can be computed through "
        f"loop invariants or wrt the input parameters to the loop body.")
