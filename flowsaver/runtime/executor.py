"""Plans and the executor loop: prune to what the fetches need, order, evaluate.

A ``Plan`` is made once per (fetches, feeds) pair and cached by the session: each step
holds a kernel already specialised to its node's attrs, the slots its inputs come from
and the slots its outputs go to. Running a plan is one loop over the steps.

Plans holding a ``Switch`` (a ``tf.cond``) run in a second loop that also tracks dead
tensors: an op with a dead data or control input is skipped and its outputs are dead,
except a ``Merge``, which forwards its live input. Other plans never pay for that.

A ``tf.while_loop`` is one step of its plan (``runtime/loops.py``): its inputs are the
values entering the loop, its outputs the loop's results; inside, it runs plans of its own.
"""
from __future__ import annotations

from flowsaver import errors
from flowsaver.graph.operation import Operation
from flowsaver.ops import registry
from flowsaver.ops.const_eval import foldable
from flowsaver.ops.control_flow import context
from flowsaver.ops.control_flow.kernels import DEAD


class Step:
    """One node of a plan: its kernel, where its inputs come from and its outputs go."""

    __slots__ = ("op", "kernel", "derefs", "run", "inputs", "outputs", "single", "controls",
                 "forwards_live", "never_dead", "unread", "fused")

    def __init__(self, op, kernel, derefs, run, inputs, outputs):
        self.op = op
        self.kernel = kernel   # the NumPy kernel, specialised to the node's attrs
        self.derefs = derefs   # per input: read the variable a ref tensor points to
        self.run = run         # the kernel with those reads (dead refs skipped) wrapped in
        self.inputs = inputs
        self.outputs = outputs
        self.single = registry.returns_single(op)
        self.controls = ()     # step indices of the control inputs (dead-aware plans only)
        self.forwards_live = False  # a Merge (dead-aware plans only)
        self.never_dead = False     # a ControlTrigger (dead-aware plans only)
        self.unread = False         # a pure op nothing reads: its kernel is never called
        self.fused = None           # the op whose step this one took over (runtime/fusion.py)


class Plan:
    """What one ``Session.run`` signature executes: feeds in, steps, fetches out."""

    def __init__(self, steps, feed_slots, fetch_slots, num_slots, dead_aware=False):
        self.steps = steps
        self.feed_slots = feed_slots    # [slot] in the order of the feed tensors
        self.fetch_slots = fetch_slots  # [slot, or None for an op target]
        self.num_slots = num_slots
        self.dead_aware = dead_aware    # holds a Switch or Merge: run with execute_dead_aware


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
        deps = [t.op for t in op.inputs if t not in fed] + \
            [c for c in op.control_inputs if not _fed_placeholder(c, fed)]
        for dep in reversed(deps):
            if not state.get(dep):
                stack.append((dep, False))
    return order


def _fed_placeholder(op: Operation, fed: set) -> bool:
    # As in TensorFlow, the feed stands in for a fed placeholder's control edges too.
    return registry.has_trait(op.type, registry.PLACEHOLDER) and op.outputs[0] in fed


def needed_ops(fetches, targets, fed: set) -> list[Operation]:
    roots = [t.op for t in fetches if t is not None and t not in fed] + list(targets)
    return prune(roots, fed)


def build_plan(fetch_tensors, target_ops, feed_tensors, ctx, ops=None, build_unit=None) -> Plan:
    """Compile the steps that compute ``fetch_tensors`` and run ``target_ops``.

    ``ops`` are the needed ops in order when the caller pruned already; ``units`` that are
    not Operations (a loop frame) get their kernel from ``build_unit(unit, ctx)``.
    """
    check_fetchable(fetch_tensors, target_ops)
    if ops is None:
        ops = needed_ops(fetch_tensors, target_ops, set(feed_tensors))
    return plan_units(ops, fetch_tensors, feed_tensors, ctx, build_unit,
                      unread_ops(ops, fetch_tensors, target_ops))


def unread_ops(units, fetches, targets) -> set:
    """The pure ops among ``units`` whose outputs nothing kept reads and nobody fetches:
    only control edges wait for them. TensorFlow's dependency optimizer turns those into
    NoOps: a training step's gradient ``tuple`` gates a first convolution's input
    gradient, nobody reads it, and TensorFlow never computes it (nor fails on it). Such
    an op still waits for its inputs, and passes their deadness on in a conditional; its
    kernel is never called. Stateful ops, and ops a stateful or fetched op reads, run."""
    read = {t.op for t in fetches if t is not None} | set(targets)
    unread = set()
    for unit in reversed(units):
        if unit not in read and isinstance(unit, Operation) and foldable(unit):
            unread.add(unit)
        else:
            read.update(t.op for t in unit.inputs)
    return unread


def check_fetchable(fetch_tensors, target_ops) -> None:
    """ValueError when a fetch or target is inside a conditional or loop (TensorFlow's
    graph refuses to fetch those)."""
    for op in [t.op for t in fetch_tensors if t is not None] + list(target_ops):
        context.check_fetchable(op)


def plan_units(units, fetch_tensors, feed_tensors, ctx, build_unit=None,
               unread=frozenset()) -> Plan:
    """The plan running ``units`` (ops, or loop frames, each after its inputs) on the feeds;
    the ops in ``unread`` (see ``unread_ops``) are steps that compute nothing."""
    fed = set(feed_tensors)
    slots: dict = {}

    def slot(tensor):
        if tensor not in slots:
            slots[tensor] = len(slots)
        return slots[tensor]

    feed_slots = [slot(t) for t in feed_tensors]
    steps = []
    dead_aware = any(registry.has_trait(u.type, registry.MAKES_DEAD) or
                     registry.has_trait(u.type, registry.FORWARDS_LIVE) for u in units)
    for unit in units:
        if unit in unread:
            kernel, derefs = _nothing(unit), ()
        elif isinstance(unit, Operation):
            builder = registry.KERNELS.get(unit.type)
            if builder is None:
                raise errors.UnimplementedError(
                    None, unit, f"flowsaver has no kernel for op type '{unit.type}' "
                                f"(node {unit.name})")
            kernel = builder(unit, ctx)
            derefs = _derefs(unit)
        else:
            kernel, derefs = build_unit(unit, ctx)
        run = kernel
        if derefs:
            run = _with_derefs(kernel, derefs, skip_dead=dead_aware)
        # an op that runs although an output is fed (a control input) must not
        # overwrite the feed: that output goes to a scratch slot
        outputs = [slot(t) if t not in fed else slot((t, "scratch")) for t in unit.outputs]
        steps.append(Step(unit, kernel, tuple(derefs) or (False,) * len(unit.inputs), run,
                          [slot(t) for t in unit.inputs], outputs))
        steps[-1].unread = unit in unread
    if dead_aware:
        index = {step.op: i for i, step in enumerate(steps)}
        for step in steps:
            step.controls = tuple(index[c] for c in step.op.control_inputs if c in index)
            step.forwards_live = registry.has_trait(step.op.type, registry.FORWARDS_LIVE)
            step.never_dead = registry.has_trait(step.op.type, registry.NEVER_DEAD)
    fetch_slots = [None if t is None else slot(t) for t in fetch_tensors]
    return Plan(steps, feed_slots, fetch_slots, len(slots), dead_aware)


def _nothing(op: Operation):
    """The kernel of an op nothing reads: no values (the interpreter still passes deadness
    on through its step; compiled plans leave the step out)."""
    outputs = None if registry.returns_single(op) else (None,) * len(op.outputs)

    def nothing(*_):
        return outputs
    return nothing


def _derefs(op: Operation) -> list[bool]:
    """Which inputs take a variable's value where the op reads a ref tensor by value."""
    if op.op_def is None:
        return []
    ref_args = registry.ref_arg_flags(op)
    flags = [t.dtype._is_ref_dtype and not is_ref for t, is_ref in zip(op.inputs, ref_args)]
    return flags if any(flags) else []


def _with_derefs(run, flags, skip_dead=False):
    if skip_dead:  # in a conditional, a Merge may get a dead ref: it has nothing to read
        def deref_live_run(*args):
            return run(*(a.read() if f and a is not DEAD else a for a, f in zip(args, flags)))
        return deref_live_run

    def deref_run(*args):
        return run(*(a.read() if f else a for a, f in zip(args, flags)))
    return deref_run


def execute(plan: Plan, feed_values) -> list:
    """Run ``plan`` with ``feed_values`` (one per feed tensor); the fetched values."""
    if plan.dead_aware:
        return execute_dead_aware(plan, feed_values)
    values = [None] * plan.num_slots
    for s, v in zip(plan.feed_slots, feed_values):
        values[s] = v
    for step in plan.steps:
        _run_step(step, [values[i] for i in step.inputs], values)
    return [None if s is None else values[s] for s in plan.fetch_slots]


def execute_dead_aware(plan: Plan, feed_values) -> list:
    """``execute`` for plans with conditionals: ops on an untaken branch are skipped.

    Raises:
      InvalidArgumentError: a fetched tensor is dead (it lies on an untaken branch).
    """
    values = [None] * plan.num_slots
    for s, v in zip(plan.feed_slots, feed_values):
        values[s] = v
    dead_steps = [False] * len(plan.steps)
    for i, step in enumerate(plan.steps):
        args = [values[j] for j in step.inputs]
        if step.forwards_live:  # a Merge is dead only when all its inputs are
            dead = all(a is DEAD for a in args)
        elif step.never_dead:
            dead = False
        else:
            dead = any(a is DEAD for a in args) or any(dead_steps[c] for c in step.controls)
        if dead:
            dead_steps[i] = True
            for s in step.outputs:
                values[s] = DEAD
            continue
        _run_step(step, args, values)
    out = []
    for s in plan.fetch_slots:
        value = None if s is None else values[s]
        if value is DEAD:
            tensor = next(t for t, slot in _slot_owners(plan) if slot == s)
            raise errors.InvalidArgumentError(
                None, tensor.op, f"Retval does not have value: the fetched tensor "
                                 f"{tensor.name} is on a branch of a conditional that was not "
                                 f"taken in this run")
        out.append(value)
    return out


def _slot_owners(plan: Plan):
    for step in plan.steps:
        for tensor, s in zip(step.op.outputs, step.outputs):
            yield tensor, s


def _run_step(step: Step, args: list, values: list) -> None:
    """Run one step on ``args`` and store its outputs in ``values``."""
    try:
        result = step.run(*args)
    except Exception as e:  # noqa: BLE001 - re-raised, located, by kernel_error
        raise kernel_error(e, step.op) from _cause(e)
    if step.single:
        values[step.outputs[0]] = result
    elif step.outputs:
        for s, v in zip(step.outputs, result):
            values[s] = v


# Errors a NumPy kernel raises on bad values; they reach the user as InvalidArgumentError.
KERNEL_VALUE_ERRORS = (ValueError, TypeError, IndexError, ArithmeticError, MemoryError)


def _cause(error: Exception):
    """What a located error chains to: nothing for an OpError (its message says it all)."""
    return None if isinstance(error, errors.OpError) else error


def kernel_error(error: Exception, op: Operation) -> Exception:
    """The exception to raise for ``error`` from ``op``'s kernel: OpErrors and value errors
    name the node; anything else passes through unchanged."""
    if isinstance(error, errors.OpError):
        if error.op is not None:
            return error
        return type(error)(op.node_def, op,
                           f"{error.message}\n\t [[node {op.name} ({op.type})]]")
    if isinstance(error, KERNEL_VALUE_ERRORS):
        return errors.InvalidArgumentError(
            None, op, f"{error}\n\t [[node {op.name} ({op.type})]]")
    return error
