"""Control-flow contexts while a graph is built: the ``tf.cond`` branch or ``tf.while_loop``
body each new op is made in, and TensorFlow's rules about them.

TensorFlow keeps one *current context* per graph (``Enter()``/``Exit()`` of a context set
it; ``control_dependencies(None)`` clears it for its block) and gives every new op the
current context, which then post-processes the op (``add_op``: inputs from outside routed
through a ``Switch`` or an ``Enter``). Here, entering a context pushes it on a per-graph
stack together with a marker control scope that adds no dependency: when
``control_dependencies(None)`` hides the marker, the context is not current. A hook on the
graph (``Graph.add_op_hook``) hands each new op to the current context; a graph that ever
held a loop keeps the hook, so that using a loop's inside from outside is refused as
TensorFlow refuses it (``check_input``).

Also here: TensorFlow's ``control_flow_util`` questions (``output_context``,
``while_context_of``, ``is_loop_exit``, ...), asked by the gradient code.
"""
from __future__ import annotations

import weakref

from flowsaver.graph.graph import Graph
from flowsaver.graph.graph_keys import ControlScope
from flowsaver.graph.operation import Operation
from flowsaver.ops import registry

# op -> the context it was made in (absent: made outside any)
_OP_CONTEXT: "weakref.WeakKeyDictionary[Operation, ControlFlowContext]" = \
    weakref.WeakKeyDictionary()
# graph -> [(context, marker scope)], innermost last
_ACTIVE: "weakref.WeakKeyDictionary[Graph, list]" = weakref.WeakKeyDictionary()
# graphs whose new ops are always checked (they hold a loop)
_HOOKED: "weakref.WeakSet[Graph]" = weakref.WeakSet()
# Ops inside a conditional or loop: TensorFlow refuses to fetch them, as their values
# exist only in some runs or iterations.
_UNFETCHABLE: "weakref.WeakSet[Operation]" = weakref.WeakSet()


def check_fetchable(op: Operation) -> None:
    """ValueError naming ``op`` when it is inside a conditional or a loop."""
    if op in _UNFETCHABLE:
        raise ValueError(f"Operation {op.name} has been marked as not fetchable: it is part "
                         f"of a tf.cond or tf.while_loop, whose inside has a value only in "
                         f"some runs or iterations. Fetch the results instead.")


def prevent_fetching(op: Operation) -> None:
    _UNFETCHABLE.add(op)


def context_of(op: Operation):
    """The context ``op`` was made in, or None."""
    return _OP_CONTEXT.get(op)


def set_context(op: Operation, ctx) -> None:
    if ctx is None:
        _OP_CONTEXT.pop(op, None)
    else:
        _OP_CONTEXT[op] = ctx


def current(graph: Graph):
    """The innermost context entered in ``graph``, unless control deps were cleared."""
    stack = _ACTIVE.get(graph)
    if not stack:
        return None
    ctx, marker = stack[-1]
    return ctx if graph.in_control_scope(marker) else None


def _on_new_op(op: Operation) -> None:
    ctx = current(op.graph)
    if ctx is not None:
        _OP_CONTEXT[op] = ctx
    for tensor in op.inputs:
        check_input(op, tensor.op)
    if ctx is not None:
        ctx.add_op(op)


def _hook(graph: Graph) -> None:
    if graph not in _HOOKED and not _ACTIVE.get(graph):
        graph.add_op_hook(_on_new_op)


def _unhook(graph: Graph) -> None:
    if graph not in _HOOKED and not _ACTIVE.get(graph):
        graph.remove_op_hook(_on_new_op)


def keep_checking(graph: Graph) -> None:
    """Check every op ``graph`` gets from now on (it holds a loop now)."""
    if graph in _HOOKED:
        return
    if not _ACTIVE.get(graph):
        graph.add_op_hook(_on_new_op)
    _HOOKED.add(graph)


class ControlFlowContext:
    """What ``CondContext`` and ``WhileContext`` share: outer context, values seen, and the
    outside values' stand-ins (a Switch output in a branch, an Enter output in a loop)."""

    def __init__(self, graph: Graph):
        self.graph = graph
        self.outer = current(graph)
        self.nested: list = []
        if self.outer is not None:
            self.outer.nested.append(self)
        self.values: set = set()      # tensors usable here as they are
        self.external: dict = {}      # outside tensor -> the tensor standing for it here
        self._entries: list = []

    # ---- entering and leaving (TensorFlow's Enter/Exit) -----------------------------------
    def enter(self) -> None:
        """Make this the current context of its graph (until ``exit``)."""
        marker = ControlScope([])  # adds no dependency; control_dependencies(None) hides it
        _hook(self.graph)
        _ACTIVE.setdefault(self.graph, []).append((self, marker))
        self.graph.push_control_scope(marker)
        self._entries.append(marker)

    def exit(self) -> None:
        """Leave this context: the one current before the matching ``enter`` is again."""
        marker = self._entries.pop()
        stack = _ACTIVE[self.graph]
        for i in range(len(stack) - 1, -1, -1):
            if stack[i][1] is marker:
                del stack[i]
                break
        self.graph.pop_control_scope(marker)
        if not stack:
            del _ACTIVE[self.graph]
        _unhook(self.graph)

    def __enter__(self):
        self.enter()
        return self

    def __exit__(self, *exc):
        self.exit()

    # ---- TensorFlow's ControlFlowContext methods ---------------------------------------------
    @property
    def grad_state(self):
        """The gradient loop state of the enclosing while loop, if it is a gradient loop."""
        while_ctx = self.while_context()
        return while_ctx.grad_state if while_ctx is not None else None

    @property
    def back_prop(self) -> bool:
        while_ctx = self.while_context()
        return while_ctx.back_prop if while_ctx is not None else False

    def add_name(self, tensor) -> None:
        self.values.add(tensor)

    def exit_result(self, tensors) -> None:
        """Make ``tensors`` known to the outer context."""
        if self.outer is not None:
            for t in tensors:
                self.outer.add_name(t)

    def mark(self, tensors) -> None:
        """Mark ``tensors`` as seen by this context and every outer one."""
        ctx = self
        while ctx is not None:
            ctx.values.update(tensors)
            ctx = ctx.outer

    def while_context(self):
        """The innermost while context containing this one (itself if it is one)."""
        return self.outer.while_context() if self.outer is not None else None

    def add_inner_op(self, op: Operation) -> None:
        if self.outer is not None:
            self.outer.add_inner_op(op)

    def control_pivot(self):
        return None

    def is_while(self) -> bool:
        return False

    def is_cond(self) -> bool:
        return False

    def remove_external_control_edges(self, op: Operation):
        """Drop ``op``'s control inputs from outside the enclosing while loop; returns
        ``(kept, dropped)``."""
        while_ctx = self.while_context()
        if while_ctx is None:
            return op.control_inputs, []
        internal, external = [], []
        for c in op.control_inputs:
            ctx = output_context(c)
            if ctx is not None and ctx.while_context() is while_ctx:
                internal.append(c)
            else:
                external.append(c)
        if external:
            op._remove_all_control_inputs()
            op._add_control_inputs(internal)
        return internal, external


# ---- TensorFlow's control_flow_util ----------------------------------------------------------
def is_loop_exit(op: Operation) -> bool:
    return registry.has_trait(op.type, registry.EXITS_FRAME)


def is_loop_enter(op: Operation) -> bool:
    return registry.has_trait(op.type, registry.ENTERS_FRAME)


def is_loop_constant_enter(op: Operation) -> bool:
    return is_loop_enter(op) and op.get_attr("is_constant")


def is_switch(op: Operation) -> bool:
    return registry.has_trait(op.type, registry.MAKES_DEAD)


def is_merge(op: Operation) -> bool:
    return registry.has_trait(op.type, registry.FORWARDS_LIVE)


def is_cond_switch(op: Operation) -> bool:
    """Whether ``op`` is the Switch of a conditional (every consumer in a cond context)."""
    if not is_switch(op) or not op.outputs:
        return False
    for out in op.outputs:
        for c in out.consumers():
            ctx = context_of(c)
            if is_loop_enter(c):
                ctx = ctx.outer if ctx is not None else None
            if ctx is None or not ctx.is_cond():
                return False
    return True


def is_loop_switch(op: Operation) -> bool:
    ctx = context_of(op)
    return is_switch(op) and ctx is not None and ctx.is_while() and not is_cond_switch(op)


def output_context(op: Operation):
    """The context of ``op``'s outputs: an Exit's are in its loop's outer context."""
    ctx = context_of(op)
    if ctx is not None and is_loop_exit(op):
        ctx = ctx.outer
    return ctx


def while_context_of(op: Operation):
    """The innermost while context ``op`` is in, or None."""
    ctx = context_of(op)
    return ctx.while_context() if ctx is not None else None


def containing_while(ctx, stop=None):
    """``ctx`` itself if a while context (or ``stop``), else its innermost enclosing one."""
    while ctx is not None:
        if ctx.is_while() or ctx is stop:
            return ctx
        ctx = ctx.outer
    return None


def is_containing(ctx, maybe_containing) -> bool:
    """Whether ``maybe_containing`` is ``ctx`` or one of its outer contexts."""
    while ctx is not maybe_containing:
        if ctx is None:
            return False
        ctx = ctx.outer
    return True


def op_in_context(op: Operation, ctx) -> bool:
    return is_containing(context_of(op), ctx)


def check_input(op: Operation, input_op: Operation) -> None:
    """ValueError when ``op`` may not use ``input_op``'s output: it is inside a loop
    ``op`` is not in (TensorFlow's CheckInputFromValidContext)."""
    op_ctx, input_ctx = context_of(op), output_context(input_op)
    if input_ctx is None or op_ctx is input_ctx:
        return
    while_ctx = containing_while(op_ctx)
    input_while = containing_while(input_ctx)
    if while_ctx is None:
        if input_while is None or is_loop_enter(op) or is_switch(op):
            return
    elif is_containing(while_ctx, input_while):
        return
    else:
        grad = while_ctx.grad_state
        input_grad = input_while.grad_state if input_while is not None else None
        if grad is not None and (is_containing(grad.forward_context, input_while) or
                                 grad.forward_context is input_while.outer):
            return
        if input_grad is not None and input_grad.forward_context is while_ctx:
            return
        if input_grad is not None and input_ctx.grad_state.forward_context.grad_state \
                is not None and \
                input_ctx.grad_state.forward_context.grad_state.forward_context is while_ctx:
            return
    if while_ctx is not None:
        raise ValueError(f"Cannot use '{input_op.name}' as input to '{op.name}' because they "
                         f"are in different while loops. See info log for more details.")
    raise ValueError(f"Cannot use '{input_op.name}' as input to '{op.name}' because "
                     f"'{input_op.name}' is in a while loop. See info log for more details.")
