"""Plans compiled to straight-line Python: the fast path of ``Session.run``.

``executor.execute`` interprets a plan step by step; this module turns the same plan into
one generated function where every tensor is a local variable, e.g.::

    def run(feeds):
        s = -1
        try:
            v0 = feeds[0]
            s = 0; v3 = k0(v0, v1.read())
            s = 1; v4 = k1(v3, v2)
            del v3
            return [v4]
        except Exception as e:
            fail(e, s)

Constants and variable refs are bound once, as globals of the function; reading a
variable through ``Identity`` becomes ``ref.read()``. Results are identical to the
interpreter's; only plans without dead-tensor control flow are compiled.
"""
from __future__ import annotations

import linecache

import numpy as np

from flowsaver.ops import registry
from flowsaver.ops.const_eval import foldable, static_shape_value
from flowsaver.runtime.executor import Plan, _cause, kernel_error


def compile_plan(plan: Plan, targets=()):
    """A function ``run(feed_values) -> fetched values`` equivalent to ``execute(plan, ...)``."""
    namespace: dict = {"fail": None}
    body = []
    for i, slot in enumerate(plan.feed_slots):
        body.append(f"v{slot} = feeds[{i}]")
    consts = fold_constants(plan)
    for slot, value in consts.items():
        namespace[f"v{slot}"] = value
    steps = []
    live = live_steps(plan, consts, targets)
    drops = _last_uses(live, plan, consts)
    for step in live:
        op = step.op
        index = len(steps)
        steps.append(step)
        if registry.has_trait(op.type, registry.NOTHING_TO_RUN) and not step.outputs:
            continue   # its control edges are the plan's order already
        if registry.has_trait(op.type, registry.IDENTITY) and len(step.inputs) == 1:
            call = _arguments(step, ())[0]   # an identity: the value itself, no call
        else:
            namespace[f"k{index}"] = step.kernel
            call = f"k{index}({', '.join(_arguments(step, drops[index]))})"
        if step.single:
            target = f"v{step.outputs[0]}"
        elif not step.outputs:
            target = "_"
        else:
            target = ", ".join(f"v{o}" for o in step.outputs) + ","
        body.append(f"s = {index}; {target} = {call}  # {op.name} ({op.type})")
        if drops[index]:   # values no later step reads: freed now, not when the run ends
            body.append("del " + ", ".join(f"v{slot}" for slot in drops[index]))
    fetched = ", ".join("None" if s is None else f"v{s}" for s in plan.fetch_slots)
    body.append(f"return [{fetched}]")
    source = "def run(feeds):\n    s = -1\n    try:\n" + \
        "".join(f"        {line}\n" for line in body) + \
        "    except Exception as e:\n        fail(e, s)\n        raise\n"

    def fail(error, index):
        if index < 0:
            return
        located = kernel_error(error, steps[index].op)
        if located is not error:
            # keep the failing step's generated line (and the kernel's frames) in the traceback
            raise located.with_traceback(error.__traceback__) from _cause(error)

    namespace["fail"] = fail
    filename = f"<flowsaver plan {id(plan):x}>"
    # tracebacks through the generated function show its lines, naming each step's node
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102
    return namespace["run"]


def _arguments(step, dropped) -> list:
    """The source of each argument of ``step``'s call. A value read here for the last
    time (in ``dropped``) and passed once is handed over: its variable is cleared inside
    the call expression, so the kernel holds the only reference and may write its result
    over the array (``ops/donation.py``)."""
    args = []
    for slot, deref in zip(step.inputs, step.derefs):
        if deref:
            args.append(f"v{slot}.read()")
        elif slot in dropped and step.inputs.count(slot) == 1:
            args.append(f"(v{slot}, v{slot} := None)[0]")
        else:
            args.append(f"v{slot}")
    return args


def _last_uses(steps: list, plan: Plan, consts: dict) -> list:
    """For each step, the local slots to delete after it: its inputs or outputs that no
    later step reads and that are not fetched. Without this every intermediate tensor of a
    training step stays alive until the step ends (a VGG step's peak memory was the sum of
    all its activations and gradients). Constants are globals and never deleted; feeds
    are deleted like any local (the caller keeps its own reference)."""
    keep = {s for s in plan.fetch_slots if s is not None} | set(consts)
    last = {}
    for index, step in enumerate(steps):
        for slot in list(step.inputs) + list(step.outputs):
            last[slot] = index
    drops = [[] for _ in steps]
    for slot, index in last.items():
        if slot not in keep:
            drops[index].append(slot)
    return [sorted(d) for d in drops]


def _pure(op) -> bool:
    """Whether ``op``'s outputs depend on its inputs alone (no state, no variables)."""
    return foldable(op)


def fold_constants(plan: Plan) -> dict:
    """``{slot: value}`` of every tensor the plan can compute once, at compile time.

    Consts and variable refs, pure ops of constants (TensorFlow's constant folding), and
    ``Shape``/``Size``/``Rank`` of tensors whose static shape is fully known: gradient
    graphs are full of those.
    """
    consts: dict = {}
    for step in plan.steps:
        op = step.op
        if step.unread:
            continue
        # (its control inputs, if any, still run: ``live_steps`` keeps them)
        if registry.has_trait(op.type, registry.SESSION_CONSTANT) and len(step.outputs) == 1:
            consts[step.outputs[0]] = step.run()
            continue
        value = static_shape_value(op.outputs[0]) if step.single else None
        if value is None and _pure(op) and step.inputs and \
                all(i in consts for i in step.inputs) and step.outputs:
            try:
                with np.errstate(all="ignore"):  # inf and nan come quietly, as at run time
                    value = step.kernel(*[consts[i] for i in step.inputs])
            except Exception:  # noqa: BLE001 - left to fail at run time, with its location
                continue
        if value is None:
            continue
        outputs = [value] if step.single else list(value)
        for slot, out in zip(step.outputs, outputs):
            if isinstance(out, np.ndarray):
                out.flags.writeable = False  # shared by every run
            consts[slot] = out
    return consts


def live_steps(plan: Plan, consts: dict, targets) -> list:
    """The steps still to run once ``consts`` are known, in order.

    A pure step whose outputs nothing needs is dropped (unread steps first of all);
    stateful ones always run, and the control inputs of folded ops are kept (what they
    wait for must still happen).
    """
    needed_slots = {s for s in plan.fetch_slots if s is not None}
    needed_ops = set(targets)
    keep = []
    for step in reversed(plan.steps):
        op = step.op
        if step.unread:   # what it waits for runs anyway when stateful, or is unread too
            continue
        folded = step.outputs and all(o in consts for o in step.outputs)
        if folded:
            needed_ops.update(op.control_inputs)
            continue
        if op in needed_ops or not _pure(op) or any(o in needed_slots for o in step.outputs):
            keep.append(step)
            needed_slots.update(i for i in step.inputs if i not in consts)
            needed_ops.update(op.control_inputs)
    return keep[::-1]
