"""What ``tf.gradients`` keeps while it differentiates TensorFlow 1.x while loops.

For each forward loop on the path it builds a gradient loop (``GradLoopState``): a counter
in the forward loop, a ``WhileContext`` for the gradient loop named after the forward one,
and, whenever the gradient needs a value the forward loop computed in some iteration, a
*history*: a stack the forward loop pushes the value onto each iteration
(``add_forward_accumulator``) and the gradient loop pops from in reverse
(``add_backprop_accumulated_value``). ``ControlFlowState`` maps forward loops to their
states and answers the walk's questions (which gradient loop to build an op's gradient in,
zeros for unused loop outputs). Everything is built as TensorFlow builds it.
"""
from __future__ import annotations

from flowsaver.graph.operation import Operation, Tensor
from flowsaver.ops.array import basic as array_ops
from flowsaver.ops.control_flow import context, grad_loops, loop_ops
from flowsaver.ops.control_flow.cond import switch, switch_ref_or_tensor
from flowsaver.ops.control_flow.while_context import WhileContext
from flowsaver.ops.const_eval import constant_value
from flowsaver.ops.op_builder import constant, create_op


def _loop_constant_enter(value: Tensor):
    """The constant Enter ``value`` comes from through Switches and Identities, or None."""
    op = value.op
    while op.type in ("Switch", "RefSwitch", "Identity", "RefIdentity"):
        op = op.inputs[0].op
    return op if context.is_loop_constant_enter(op) else None


class GradLoopState:
    """The gradient loop of one forward loop, and the histories it pops."""

    def __init__(self, forward_ctx: WhileContext, outer_grad_state):
        self.outer_grad_state = outer_grad_state
        self.forward_context = forward_ctx
        self._forward_sync = None
        self._grad_sync = None
        self.history_map: dict = {}    # forward tensor -> its value in the gradient loop
        self.switch_map: dict = {}     # forward loop Switch -> the gradient's Merge
        self.unused_exits: list = []
        self.deferred_exits: list = []
        self.forward_loop_exits = list(forward_ctx.loop_exits)
        self.pending_exits_count = len(forward_ctx.loop_exits)
        outer_forward = outer_grad_state.forward_context if outer_grad_state is not None \
            else forward_ctx.outer
        graph = forward_ctx.graph
        with graph.as_default():
            if outer_forward is not None:
                outer_forward.enter()
            count, self.forward_index = grad_loops.add_forward_loop_counter(
                forward_ctx, outer_grad_state)
            if outer_forward is not None:
                outer_forward.exit()
            if outer_grad_state is not None:
                # a nested loop: remember the count of each of its runs
                outer_forward.add_name(count)
                history_count = outer_grad_state.add_forward_accumulator(count)
                outer_grad = outer_grad_state.grad_context
                outer_grad.enter()
                self.grad_context = self._new_grad_context(graph, forward_ctx)
                real_count = outer_grad_state.add_backprop_accumulated_value(history_count,
                                                                             count)
                self.grad_index = grad_loops.add_backprop_loop_counter(
                    self.grad_context, real_count, outer_grad_state)
                outer_grad.exit()
            else:
                if outer_forward is not None:
                    outer_forward.enter()
                self.grad_context = self._new_grad_context(graph, forward_ctx)
                self.grad_index = grad_loops.add_backprop_loop_counter(
                    self.grad_context, count, outer_grad_state)
                if outer_forward is not None:
                    outer_forward.exit()

    def _new_grad_context(self, graph, forward_ctx) -> WhileContext:
        return WhileContext(graph, maximum_iterations=forward_ctx.maximum_iterations,
                            parallel_iterations=forward_ctx.parallel_iterations,
                            back_prop=forward_ctx.back_prop,
                            swap_memory=forward_ctx.swap_memory, name=forward_ctx.name,
                            grad_state=self)

    @property
    def forward_sync(self) -> Operation:
        """A ControlTrigger the forward counter waits for: pushes inside conds order here."""
        if self._forward_sync is None:
            graph = self.forward_context.graph
            with graph.control_dependencies(None):
                self._forward_sync = loop_ops.control_trigger(name="f_sync")
            context.set_context(self._forward_sync, self.forward_context)
            self.forward_index.op._add_control_input(self._forward_sync)
        return self._forward_sync

    @property
    def grad_sync(self) -> Operation:
        """A ControlTrigger the gradient counter waits for: the pops order before it."""
        if self._grad_sync is None:
            graph = self.grad_context.graph
            with graph.control_dependencies(None):
                self._grad_sync = loop_ops.control_trigger(name="b_sync")
            context.set_context(self._grad_sync, self.grad_context)
            self.grad_index.op._add_control_input(self._grad_sync)
            if self.grad_context.outer is not None:
                self.grad_context.outer.add_inner_op(self._grad_sync)
        return self._grad_sync

    # ---- histories -----------------------------------------------------------------------
    def add_forward_accumulator(self, value: Tensor, dead_branch: bool = False) -> Tensor:
        """A stack the forward loop pushes ``value`` onto each iteration; returns it.

        Called in the context ``tf.gradients`` runs in.
        """
        graph = self.forward_index.graph
        with graph.as_default():
            current = context.current(graph)
            with graph.control_dependencies(None):
                if current is not None:
                    current.enter()
                with graph.colocate_with(value.op):
                    max_size = constant(-1, dtype="int32")
                    acc = create_op("StackV2", [max_size],
                                    {"elem_type": value.dtype.base_dtype}, name="f_acc")
                if current is not None:
                    current.exit()
                entered_acc = self.forward_context.add_value(acc)
                swap = self.forward_context.swap_memory
                value_ctx = context.output_context(value.op)
                if value_ctx is self.forward_context:
                    self.forward_context.enter()
                    push = _push(entered_acc, value, swap)
                    self.forward_context.exit()
                    self.forward_index.op._add_control_input(push.op)
                else:
                    if value_ctx is None or not value_ctx.is_cond():
                        raise TypeError(f"value_ctxt is not a CondContext: {value_ctx}")
                    if dead_branch:
                        value_ctx.outer.enter()
                        push = _push(entered_acc, value, swap)
                        value_ctx.outer.exit()
                        context.set_context(push.op, value_ctx)
                    else:
                        value_ctx.enter()
                        push = _push(entered_acc, value, swap)
                        value_ctx.exit()
                    self.forward_sync._add_control_input(push.op)
                push.op._add_control_input(self.forward_index.op.inputs[0].op)
                return acc

    def add_backprop_accumulated_value(self, history: Tensor, value: Tensor,
                                       dead_branch: bool = False) -> Tensor:
        """``value`` in the gradient loop: popped from ``history`` (guarded by a Switch on
        the forward cond's predicate when ``value`` was made in a branch)."""
        history_ctx = context.context_of(history.op)
        cond_ctx = None
        value_ctx = context.context_of(value.op)
        while value_ctx is not None and value_ctx is not history_ctx:
            if value_ctx.is_cond():
                cond_ctx = value_ctx
                break
            value_ctx = value_ctx.outer
        graph = self.grad_context.graph
        with graph.control_dependencies(None):
            self.grad_context.enter()
            if cond_ctx is not None:
                grad_state, pred = self, None
                while pred is None and grad_state is not None:
                    pred = grad_state.history_map.get(cond_ctx.pred)
                    grad_state = grad_state.outer_grad_state
                if pred is None:
                    pred = cond_ctx.pred
                branch = (1 - cond_ctx.branch) if dead_branch else cond_ctx.branch
                history = switch_ref_or_tensor(history, pred)[branch]
            pop = create_op("StackPopV2", [history],
                            {"elem_type": value.dtype.base_dtype})
            pop.set_shape(value.shape)
            self.grad_context.exit()
        if self.grad_context.parallel_iterations > 1:
            self.grad_sync._add_control_input(pop.op)
        return pop

    def get_real_value(self, value: Tensor) -> Tensor:
        """The value of forward tensor ``value`` in the gradient loop's iteration (called
        in the gradient loop's context)."""
        real = self.history_map.get(value)
        if real is not None:
            return real
        current, grad_state = value, self
        history = None
        while True:
            enter_op = _loop_constant_enter(current)
            if enter_op is not None:
                current = enter_op.inputs[0]
                grad_state = grad_state.outer_grad_state
                if grad_state is None:
                    # outside every loop of this gradient: a plain invariant
                    real = self.grad_context.add_value(current)
                    break
            elif current.op.type == "Const":
                real = constant(constant_value(current), dtype=current.dtype)
                break
            else:
                self.grad_context.exit()
                history = grad_state.add_forward_accumulator(current)
                self.grad_context.enter()
                break
        if real is None:
            real = grad_state.add_backprop_accumulated_value(history, current)
            if grad_state is not self:
                real = self.grad_context.add_value(real)
        self.history_map[value] = real
        return real


def _push(stack: Tensor, value: Tensor, swap: bool) -> Tensor:
    return create_op("StackPushV2", [stack, value], {"swap_memory": swap})


class ControlFlowState:
    """The gradient loop state of every forward loop one ``tf.gradients`` call meets."""

    def __init__(self):
        self._map: dict = {}  # forward WhileContext -> GradLoopState

    def grad_state(self, op: Operation, before: bool):
        """The state of the forward loop ``op`` is in (an Exit: the loop around it when
        ``before``), or None."""
        if before and context.is_loop_exit(op):
            forward = context.context_of(op).outer
            forward = forward.while_context() if forward is not None else None
        else:
            forward = context.while_context_of(op)
        return self._map.get(forward) if forward is not None else None

    def process_unused_loop_exits(self, pending_count, to_ops_set) -> list:
        """Exits no ``y`` depends on; once a loop's other exits are known, these get zero
        gradients (returned) so that they enter the gradient loop too."""
        loop_exits = []
        for state in self._map.values():
            for y in state.forward_loop_exits:
                if pending_count[y.op] == 0:
                    state.pending_exits_count -= 1
                    if y.op not in to_ops_set:
                        state.unused_exits.append(y)
                    if state.pending_exits_count == 0:
                        loop_exits.extend(state.unused_exits)
            for y in state.forward_context.loop_enters:
                if pending_count[y.op] == 0:
                    pending_count[y.op] = 1
        return loop_exits

    def enter_grad_while_context(self, op: Operation, before: bool) -> None:
        state = self.grad_state(op, before)
        if state is not None:
            state.grad_context.enter()

    def exit_grad_while_context(self, op: Operation, before: bool) -> None:
        state = self.grad_state(op, before)
        if state is not None:
            state.grad_context.exit()

    def add_while_context(self, op: Operation, between_op_list: list, between_ops: set):
        """Make the gradient loop state of ``op``'s loop (``op`` is an Exit); every exit of
        that loop joins the ops between xs and ys."""
        forward = context.while_context_of(op)
        if forward in self._map:
            return
        outer_forward = forward.outer
        outer_forward = outer_forward.while_context() if outer_forward is not None else None
        outer_state = self._map.get(outer_forward) if outer_forward is not None else None
        state = GradLoopState(forward, outer_state)
        self._map[forward] = state
        for loop_exit in state.forward_loop_exits:
            if loop_exit.op not in between_ops:
                between_ops.add(loop_exit.op)
                between_op_list.append(loop_exit.op)

    def zeros_like_for_exit(self, val: Tensor) -> Tensor:
        """The zero gradient of an unused loop output ``val`` (an Exit's)."""
        shape = val.shape
        forward = context.context_of(val.op)
        outer_forward = forward.outer
        outer_forward = outer_forward.while_context() if outer_forward is not None else None
        outer_state = self._map.get(outer_forward) if outer_forward is not None else None
        if outer_state is None:
            if shape.is_fully_defined():
                return array_ops.zeros(shape.as_list(), val.dtype)
            return array_ops.zeros_like(val, optimize=False)
        if shape.is_fully_defined():
            outer_state.grad_context.enter()
            result = array_ops.zeros(shape.as_list(), val.dtype)
            outer_state.grad_context.exit()
            return result
        forward.outer.enter()
        dims = array_ops._shape_internal(val, optimize=False)
        forward.outer.exit()
        history = outer_state.add_forward_accumulator(dims)
        outer_state.grad_context.enter()
        real = outer_state.add_backprop_accumulated_value(history, dims)
        result = array_ops.zeros(real, val.dtype)
        outer_state.grad_context.exit()
        return result

    def zeros_like_in_loop(self, op: Operation, index: int):
        """The zero gradient of ``op.outputs[index]`` in the gradient loop's context."""
        if context.is_loop_switch(op):
            return None
        dead_branch = context.is_switch(op)
        state = self._map.get(context.while_context_of(op))
        if state is None:
            return zeros_like_output(op, index)
        op_ctx = context.context_of(op)
        val = op.outputs[index]
        shape = val.shape
        if shape.is_fully_defined():
            result = constant(0, shape=shape.as_list(), dtype=val.dtype)
            if dead_branch:
                pred = state.history_map.get(op_ctx.pred)
                result = switch_ref_or_tensor(result, pred)[1 - op_ctx.branch]
            return result
        if dead_branch:
            op_ctx.outer.enter()
            val = switch_ref_or_tensor(op.inputs[0], op_ctx.pred)[1 - op_ctx.branch]
            zeros_shape = array_ops._shape_internal(val, optimize=False)
            op_ctx.outer.exit()
            context.set_context(val.op, op_ctx)
            context.set_context(zeros_shape.op, op_ctx)
        else:
            op_ctx.enter()
            zeros_shape = array_ops._shape_internal(val, optimize=False)
            op_ctx.exit()
        state.grad_context.exit()
        history = state.add_forward_accumulator(zeros_shape, dead_branch=dead_branch)
        state.grad_context.enter()
        real = state.add_backprop_accumulated_value(history, zeros_shape, dead_branch)
        return array_ops.zeros(real, val.dtype)

    def post_processing(self) -> None:
        """A loop variable whose next value does not depend on its value: its gradient is
        zero from the second iteration on."""
        for state in self._map.values():
            for b_merge in state.switch_map.values():
                first, second = b_merge.op.inputs[0], b_merge.op.inputs[1]
                if first is not second:
                    continue
                if first.shape.is_fully_defined():
                    state.grad_context.enter()
                    zero = constant(0, dtype=first.dtype, shape=first.shape)
                    next_zero = loop_ops.next_iteration(zero)
                    state.grad_context.exit()
                else:
                    outer = state.grad_context.outer
                    if outer is not None:
                        outer.enter()
                    entered = first.op.inputs[0]
                    zero = array_ops.zeros(array_ops._shape_internal(entered, optimize=False))
                    if outer is not None:
                        outer.exit()
                    state.grad_context.enter()
                    next_zero = loop_ops.next_iteration(zero)
                    state.grad_context.exit()
                b_merge.op.replace_input(1, next_zero)


def maybe_create_control_flow_state(between_op_list: list, between_ops: set, colocate: bool):
    """A ``ControlFlowState`` when loop exits lie between xs and ys, else None."""
    state = None
    for op in between_op_list:  # exits appended on the way are visited too
        if context.is_loop_exit(op):
            if state is None:
                state = ControlFlowState()
            if colocate:
                with op.graph.colocate_with(op):
                    state.add_while_context(op, between_op_list, between_ops)
            else:
                state.add_while_context(op, between_op_list, between_ops)
    return state


def zeros_like_output(op: Operation, index: int) -> Tensor:
    """Zeros like ``op.outputs[index]``; a cond Switch's only where its other branch runs."""
    val = op.outputs[index]
    op_ctx = context.context_of(op) if context.is_switch(op) else None
    if op_ctx is None:
        return array_ops.zeros_like(val, optimize=False)
    switch_val = switch(op.inputs[0], op_ctx.pred)[1 - op_ctx.branch]
    pivot = array_ops.identity(switch_val)
    zeros_shape = array_ops._shape_internal(switch_val, optimize=False)
    with op.graph.control_dependencies([pivot]):
        return array_ops.zeros(zeros_shape, dtype=val.dtype)
