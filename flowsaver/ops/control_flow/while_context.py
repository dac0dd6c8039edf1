"""The context of a ``tf.while_loop``, building TensorFlow 1.x's loop node for node.

``build_loop`` makes, in the loop's name scope (``while/``): one ``Enter`` per loop
variable (frame ``while/while_context``), a ``Merge`` of each with itself (its second input
becomes the ``NextIteration`` once the body is built), the ``cond`` function's ops,
``LoopCond``, one ``Switch`` per variable colocated with its Merge, an ``Identity`` of each
Switch's true output (what the body sees), the body's ops, the ``NextIteration`` nodes and
one ``Exit`` per variable. While the loop is built, every new op goes through ``add_op``:
an input from outside becomes a constant ``Enter`` (``<op>/Enter``, made after the op and
reused), an op depending only on loop invariants gets a control input on the loop's pivot
(the first Merge while building ``cond``, the first Identity while building ``body``).
"""
from __future__ import annotations

from flowsaver.graph.operation import Operation, Tensor
from flowsaver.graph.tensor_shape import TensorShape
from flowsaver.ops import nest
from flowsaver.ops.array.basic import identity
from flowsaver.ops.control_flow import context
from flowsaver.ops.control_flow import loop_ops
from flowsaver.ops.control_flow.cond import as_flow, from_flow, merge, switch_ref_or_tensor
from flowsaver.ops.op_builder import convert_to_tensor

# ops whose result a gradient loop keeps instead of their input (smaller stacks)
_MOVED_TO_FORWARD = ("Shape", "Size", "Rank")


class WhileContext(context.ControlFlowContext):
    """One ``tf.while_loop`` (or the gradient loop of one: ``grad_state`` set)."""

    def __init__(self, graph, maximum_iterations=None, parallel_iterations=10, back_prop=True,
                 swap_memory=False, name="while_context", grad_state=None):
        super().__init__(graph)
        if not isinstance(parallel_iterations, int) or parallel_iterations <= 0:
            raise ValueError(f"'parallel_iterations' must be a positive integer: "
                             f"{parallel_iterations}")
        self.name = graph.unique_name(name)
        self.maximum_iterations = maximum_iterations
        self.parallel_iterations = parallel_iterations
        self._back_prop = back_prop
        self.swap_memory = swap_memory
        self.pivot_for_pred = None   # control input of constants made by ``cond``
        self.pivot_for_body = None   # control input of constants made by ``body``
        self.pivot = None            # the LoopCond output
        self.loop_exits: list = []
        self.loop_enters: list = []
        self._grad_state = grad_state
        context.keep_checking(graph)

    @property
    def grad_state(self):
        return self._grad_state

    @property
    def back_prop(self) -> bool:
        return self._back_prop

    def is_while(self) -> bool:
        return True

    def while_context(self):
        return self

    def control_pivot(self):
        return self.pivot_for_body if self.pivot_for_body is not None else self.pivot_for_pred

    # ---- values from outside: constant Enters ------------------------------------------------
    def add_value(self, value: Tensor) -> Tensor:
        """The tensor the loop uses for ``value``: an ``Enter`` of it when from outside."""
        if value in self.values or context.context_of(value.op) is self:
            return self.external.get(value, value)
        self.values.add(value)
        real = self._from_forward_loop(value)
        if real is not None:
            self.external[value] = real
            return real
        result = value
        if self.outer is not None:
            result = self.outer.add_value(value)
        with self.graph.control_dependencies(None):
            entered = loop_ops.enter(result, self.name, is_constant=True,
                                     parallel_iterations=self.parallel_iterations)
            self.graph.prevent_feeding(entered)
            if self.outer is not None:
                self.outer.add_inner_op(entered.op)
        self.fix_control_inputs_and_context([entered])
        self.values.add(entered)
        self.external[value] = entered
        return entered

    def _from_forward_loop(self, value: Tensor):
        """In a gradient loop, a value of the forward loop is popped from its history."""
        grad_ctx = context.current(self.graph)
        grad_ctx = grad_ctx.while_context() if grad_ctx is not None else None
        if grad_ctx is None or grad_ctx.grad_state is None:
            return None
        forward = context.while_context_of(value.op)
        if context.is_loop_exit(value.op):
            forward = forward.outer if forward is not None else None
            forward = forward.while_context() if forward is not None else None
        if forward is not grad_ctx.grad_state.forward_context:
            return None
        return grad_ctx.grad_state.get_real_value(value)

    # ---- ops made in the loop ----------------------------------------------------------------
    def add_op(self, op: Operation) -> None:
        """What TensorFlow does to each op made in the loop, right after making it."""
        if op.type in _MOVED_TO_FORWARD:
            grad_ctx = context.current(self.graph)
            grad_ctx = grad_ctx.while_context() if grad_ctx is not None else None
            if grad_ctx is not None and grad_ctx.grad_state is not None and \
                    context.while_context_of(op.inputs[0].op) is \
                    grad_ctx.grad_state.forward_context:
                input_ctx = context.context_of(op.inputs[0].op)
                context.set_context(op, input_ctx)
                input_ctx.add_op_internal(op)
                return
        self.add_op_internal(op)

    def add_op_internal(self, op: Operation) -> None:
        if not op.inputs:
            control_inputs, external = self.remove_external_control_edges(op)
            if not control_inputs:
                op._add_control_input(self.control_pivot().op)
        else:
            for index, tensor in enumerate(op.inputs):
                real = self.add_value(tensor)
                if real is not tensor:
                    op.replace_input(index, real)
            _, external = self.remove_external_control_edges(op)
            self._maybe_add_control_dependency(op)
        self.values.update(op.outputs)
        if external:
            # an identity inside the loop pulls each outside control input in as data
            with self.graph.control_dependencies(None):
                self.enter()
                try:
                    pulled = [identity(x.outputs[0]).op for x in external if x.outputs]
                finally:
                    self.exit()
            op._add_control_inputs(pulled)
        if self.outer is not None or not context.is_loop_exit(op):
            context.prevent_fetching(op)
            for t in op.outputs:
                self.graph.prevent_feeding(t)
        if self.outer is not None:
            self.outer.add_inner_op(op)

    def _maybe_add_control_dependency(self, op: Operation) -> None:
        """An op of loop invariants only runs once per iteration: a control input on the
        pivot keeps it from running when the loop does not."""
        if op.control_inputs:
            return
        if all(context.is_loop_constant_enter(t.op) for t in op.inputs):
            op._add_control_input(self.control_pivot().op)

    def fix_control_inputs_and_context(self, enters) -> None:
        """Enters are made outside every context; give them this one, and the control
        inputs of the open ``control_dependencies`` blocks of enclosing contexts."""
        graph = self.graph
        for entered in enters:
            source = entered.op.inputs[0].op
            keep = []
            for op in graph._control_dependencies_for({source}):
                op_ctx = context.output_context(op)
                outer = self.outer
                outer_while = outer.while_context() if outer is not None else None
                kept = True
                while outer is not op_ctx:
                    if outer is None or outer is outer_while:
                        kept = False
                        break
                    outer = outer.outer
                if kept:
                    keep.append(op)
            context.set_context(entered.op, self)
            entered.op._add_control_inputs(keep)
            graph.record_op_seen_by_control_dependencies(entered.op)

    # ---- the loop ----------------------------------------------------------------------------
    def build_loop(self, pred, body, loop_vars, shape_invariants, return_same_structure):
        """Add the loop to the graph; its results in the structure of ``body``'s."""
        flat_original = nest.flatten(loop_vars)
        loop_vars = nest.map_structure(_as_tensor_or_tensor_array, loop_vars)
        flat_vars = [as_flow(v) for v in nest.flatten(loop_vars)]
        if shape_invariants is not None:
            invariants = nest.map_structure(_shape_invariant, loop_vars, shape_invariants)
        else:
            invariants = nest.map_structure(_shape_invariant, loop_vars)
        self.enter()
        try:
            original_result, exits = self._build_loop(pred, body, flat_original, flat_vars,
                                                      loop_vars, invariants)
        finally:
            self.exit()
        flat_result = nest.flatten(original_result)
        packed = nest.pack_sequence_as(original_result,
                                       [from_flow(o, x) for o, x in zip(flat_result, exits)])
        if return_same_structure:
            return packed
        return packed[0] if len(exits) == 1 else packed

    def _build_loop(self, pred, body, flat_original, flat_vars, loop_vars, invariants):
        flat_invariants = nest.flatten(invariants)
        self.values = set(flat_vars)
        real_vars = flat_vars
        if self.outer is not None:
            real_vars = [self.outer.add_value(x) for x in flat_vars]
        enters = []
        with self.graph.control_dependencies(None):
            for real, invariant in zip(real_vars, flat_invariants):
                entered = loop_ops.enter(real, self.name, is_constant=False,
                                         parallel_iterations=self.parallel_iterations,
                                         use_input_shape=False)
                if not loop_ops.shape_less_than_or_equal(real.shape, invariant):
                    raise ValueError(
                        f"The shape invariant specified for {real.name} is not compatible "
                        f"with the initial shape of the loop variable. It enters the loop "
                        f"with shape {real.shape}, but the specified shape invariant is "
                        f"{invariant}.")
                entered.set_shape(invariant)
                self.graph.prevent_feeding(entered)
                if self.outer is not None:
                    self.outer.add_inner_op(entered.op)
                enters.append(entered)
        pivot = None
        outer = self.outer
        while outer is not None and pivot is None:
            pivot = outer.control_pivot()
            outer = outer.outer
        if pivot is not None:
            for entered in enters:
                if context.is_loop_constant_enter(entered.op.inputs[0].op):
                    entered.op._add_control_input(pivot.op)
        self.fix_control_inputs_and_context(enters)
        self.values = set(enters)
        self.loop_enters = enters
        merges = [merge([x, x])[0] for x in enters]
        self.pivot_for_pred = merges[0]
        packed = nest.pack_sequence_as(loop_vars, [from_flow(o, m)
                                                   for o, m in zip(flat_original, merges)])
        c = convert_to_tensor(pred(*packed))
        self.pivot = loop_ops.loop_cond(c, name="LoopCond")
        switches = [switch_ref_or_tensor(m, self.pivot) for m in merges]
        body_vars = [loop_ops.identity_ref_or_tensor(s[1]) for s in switches]
        self.pivot_for_body = body_vars[0]
        packed_body = nest.pack_sequence_as(loop_vars, [from_flow(o, v) for o, v
                                                        in zip(flat_original, body_vars)])
        result = body(*packed_body)
        if not nest.is_nested(result):
            result = [result]
        nest.assert_same_structure(list(packed_body), list(result))
        original_result = result
        flat = [convert_to_tensor(as_flow(v)) for v in nest.flatten(result)]
        if len(merges) != len(flat):
            raise ValueError(f"Number of inputs and outputs of 'body' must match 'loop_vars'. "
                             f"Got {len(merges)} for the number of inputs/outputs, and "
                             f"{len(flat)} for 'loop_vars'.")
        for m, v in zip(merges, flat):
            loop_ops.add_next_and_back_edge(m, v)
        exits = [loop_ops.exit_frame(s[0]) for s in switches]
        self.loop_exits = exits
        self.exit_result(exits)
        return original_result, exits


def _as_tensor_or_tensor_array(value):
    if getattr(value, "is_tensor_array", False):
        return value
    return convert_to_tensor(value)


def _shape_invariant(var, shape=None) -> TensorShape:
    """The shape a loop variable keeps across iterations: its own unless one is given."""
    var = as_flow(var)
    if shape is None:
        return var.shape
    if not isinstance(shape, TensorShape):
        raise TypeError(f"'shape' must be one of TypeSpec, TensorShape or None. Received: "
                        f"{type(shape)}")
    return shape
