"""Two steps of a plan computed by one kernel, where the registry has one for the pair.

TensorFlow's graph optimizer rewrites a convolution followed by the addition of a bias
into one fused node; flowsaver leaves the graph alone and joins the two *steps* of a plan
instead, with a kernel of ``registry.FUSIONS`` (e.g. ``Conv2D`` then ``BiasAdd``: the
bias rides in the convolution's matrix product, so no pass over the output adds it).

A producer step A and a consumer step B are joined when:

- the plan tracks no dead tensors (no conditional) and neither step is left unread;
- B's first input is A's only output, and nothing else reads that tensor: no other step,
  no fetch, no second argument of B;
- A waits for no control input and no op waits for A through one (the joined step runs
  where B ran, later than A did);
- A's inputs are values computed before it, which nothing changes; where A reads a
  variable itself (a ref input), every step between them is pure or a session constant,
  so none can write the variable before the joined step reads it.

The joined step is B's (its node, outputs and place) and takes A's inputs, then B's
others. Its kernel may return ``NotImplemented`` for values it does not handle (another
dtype, a bias of the wrong length); then, and whenever it raises, A's and B's own kernels
run one after the other, so that an error names the node whose kernel raised it and the
values are what the two ops give.
"""
from __future__ import annotations

from flowsaver.graph.operation import Operation
from flowsaver.ops import registry
from flowsaver.ops.const_eval import foldable
from flowsaver.runtime.executor import Plan, Step, _cause, _with_derefs, kernel_error


def fuse(plan: Plan, ctx) -> Plan:
    """``plan`` with every pair of steps the registry can join joined (in place)."""
    if plan.dead_aware or not registry.FUSIONS:
        return plan
    steps = plan.steps
    fetched = {s for s in plan.fetch_slots if s is not None}
    readers: dict = {}
    for index, step in enumerate(steps):
        for slot in step.inputs:
            readers.setdefault(slot, []).append(index)
    waited_on = {c for step in steps for c in step.op.control_inputs}
    producer_of = {}
    for index, step in enumerate(steps):
        if len(step.outputs) == 1:
            producer_of[step.outputs[0]] = index
    joined = {}
    for b, consumer in enumerate(steps):
        if not consumer.inputs or not isinstance(consumer.op, Operation):
            continue
        a = producer_of.get(consumer.inputs[0])
        if a is None or a in joined or a in joined.values():
            continue
        producer = steps[a]
        builder = registry.FUSIONS.get((producer.op.type, consumer.op.type))
        if builder is None or not _joinable(steps, a, b, fetched, readers, waited_on):
            continue
        kernel = builder(producer.op, consumer.op, ctx)
        if kernel is not None:
            steps[b] = _joined_step(producer, consumer, kernel)
            joined[b] = a
    if joined:
        taken_over = set(joined.values())
        plan.steps = [step for index, step in enumerate(steps) if index not in taken_over]
    return plan


def _joinable(steps: list, a: int, b: int, fetched: set, readers: dict, waited_on: set) -> bool:
    producer, consumer = steps[a], steps[b]
    slot = producer.outputs[0]
    if not isinstance(producer.op, Operation) or producer.unread or consumer.unread:
        return False
    if slot in fetched or readers.get(slot) != [b] or consumer.inputs.count(slot) != 1:
        return False
    if producer.op.control_inputs or producer.op in waited_on:
        return False
    if any(producer.derefs):   # A reads a variable when it runs: nothing may write it first
        for between in steps[a + 1:b]:
            op = between.op
            if not isinstance(op, Operation) or not (
                    foldable(op) or registry.has_trait(op.type, registry.SESSION_CONSTANT)):
                return False
    return True


def _joined_step(producer: Step, consumer: Step, fused) -> Step:
    """B's step computing A too: A's inputs, then B's others."""
    count = len(producer.inputs)

    def one_after_the_other(*args):
        try:
            middle = producer.kernel(*args[:count])
        except Exception as e:  # noqa: BLE001 - re-raised naming A's node
            raise kernel_error(e, producer.op) from _cause(e)
        return consumer.kernel(middle, *args[count:])

    def run(*args):
        try:
            out = fused(*args)
        except Exception:  # noqa: BLE001 - the two kernels raise it, each naming its node
            return one_after_the_other(*args)
        if out is NotImplemented:
            return one_after_the_other(*args)
        return out

    derefs = tuple(producer.derefs) + tuple(consumer.derefs[1:])
    step = Step(consumer.op, run, derefs, _with_derefs(run, derefs) if any(derefs) else run,
                list(producer.inputs) + list(consumer.inputs[1:]), list(consumer.outputs))
    step.fused = producer.op
    return step
