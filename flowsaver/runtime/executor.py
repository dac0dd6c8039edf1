"""Plans and the executor loop: prune to what the fetches need, order, evaluate.

A ``Plan`` is made once per (fetches, feeds) pair and cached by the session: each step
holds a kernel already specialised to its node's attrs, the slots its inputs come from
and the slots its outputs go to. Running a plan is one loop over the steps.
"""
from __future__ import annotations

from flowsaver import errors
from flowsaver.graph.operation import Operation, Tensor
from flowsaver.ops import registry


class Step:
    __slots__ = ("op", "run", "inputs", "outputs", "single")

    def __init__(self, op, run, inputs, outputs):
        self.op = op
        self.run = run
        self.inputs = inputs
        self.outputs = outputs
        self.single = len(outputs) == 1


class Plan:
    """What one ``Session.run`` signature executes: feeds in, steps, fetches out."""

    def __init__(self, steps, feed_slots, fetch_slots, num_slots):
        self.steps = steps
        self.feed_slots = feed_slots    # [slot] in the order of the feed tensors
        self.fetch_slots = fetch_slots  # [slot, or None for an op target]
        self.num_slots = num_slots


def prune(fetch_ops, fed: set) -> list[Operation]:
    """The ops needed for ``fetch_ops``, inputs before users; fed tensors cut the walk."""
    order, state = [], {}
    stack = [(op, False) for op in reversed(fetch_ops)]
    while stack:
        op, expanded = stack.pop()
        if expanded:
            state[op] = 2
            order.append(op)
            continue
        if state.get(op):
            continue
        state[op] = 1
        stack.append((op, True))
        deps = [t.op for t in op.inputs if t not in fed] + list(op.control_inputs)
        for dep in reversed(deps):
            if not state.get(dep):
                stack.append((dep, False))
    return order


def needed_ops(fetches, targets, fed: set) -> list[Operation]:
    roots = [t.op for t in fetches if t is not None and t not in fed] + list(targets)
    return prune(roots, fed)


def build_plan(fetch_tensors, target_ops, feed_tensors, ctx) -> Plan:
    """Compile the steps that compute ``fetch_tensors`` and run ``target_ops``."""
    fed = set(feed_tensors)
    slots: dict = {}

    def slot(tensor):
        if tensor not in slots:
            slots[tensor] = len(slots)
        return slots[tensor]

    feed_slots = [slot(t) for t in feed_tensors]
    steps = []
    for op in needed_ops(fetch_tensors, target_ops, fed):
        builder = registry.KERNELS.get(op.type)
        if builder is None:
            raise errors.UnimplementedError(
                None, op, f"flowsaver has no kernel for op type '{op.type}' (node {op.name})")
        run = builder(op, ctx)
        derefs = _derefs(op)
        if derefs:
            run = _with_derefs(run, derefs)
        steps.append(Step(op, run, [slot(t) for t in op.inputs],
                          [slot(t) for t in op.outputs]))
    fetch_slots = [None if t is None else slot(t) for t in fetch_tensors]
    return Plan(steps, feed_slots, fetch_slots, len(slots))


def _derefs(op: Operation) -> list[bool]:
    """Which inputs take a variable's value where the op reads a ref tensor by value."""
    if op.op_def is None:
        return []
    ref_args = registry.ref_arg_flags(op)
    flags = [t.dtype._is_ref_dtype and not is_ref for t, is_ref in zip(op.inputs, ref_args)]
    return flags if any(flags) else []


def _with_derefs(run, flags):
    def deref_run(*args):
        return run(*(a.read() if f else a for a, f in zip(args, flags)))
    deref_run.kernel = run  # compiled plans inline the reads and call the kernel directly
    return deref_run


def execute(plan: Plan, feed_values) -> list:
    """Run ``plan`` with ``feed_values`` (one per feed tensor); the fetched values."""
    values = [None] * plan.num_slots
    for s, v in zip(plan.feed_slots, feed_values):
        values[s] = v
    for step in plan.steps:
        try:
            result = step.run(*[values[i] for i in step.inputs])
        except errors.OpError as e:
            raise _located(e, step.op) from None
        except (ValueError, TypeError, IndexError, ArithmeticError, MemoryError) as e:
            raise errors.InvalidArgumentError(
                None, step.op, f"{e}\n\t [[node {step.op.name} ({step.op.type})]]") from e
        if step.single:
            values[step.outputs[0]] = result
        elif step.outputs:
            for s, v in zip(step.outputs, result):
                values[s] = v
    return [None if s is None else values[s] for s in plan.fetch_slots]


def _located(error: errors.OpError, op: Operation) -> errors.OpError:
    if error.op is not None:
        return error
    located = type(error)(op.node_def, op, f"{error.message}\n\t [[node {op.name} ({op.type})]]")
    return located
