"""Plans compiled to straight-line Python: the fast path of ``Session.run``.

``executor.execute`` interprets a plan step by step; this module turns the same plan into
one generated function where every tensor is a local variable, e.g.::

    def run(feeds):
        s = -1
        try:
            v0 = feeds[0]
            s = 0; v3 = k0(v0, v1.read())
            s = 1; v4 = k1(v3, v2)
            return [v4]
        except Exception as e:
            fail(e, s)

Constants and variable refs are bound once, as globals of the function; reading a
variable through ``Identity`` becomes ``ref.read()``. Results are identical to the
interpreter's; only plans without dead-tensor control flow are compiled.
"""
from __future__ import annotations

from flowsaver import errors
from flowsaver.runtime.executor import Plan, _derefs, _located

# Op types whose output is fixed for a session: computed once when the plan is compiled.
SESSION_CONSTANT = {"Const", "VariableV2"}


def compile_plan(plan: Plan):
    """A function ``run(feed_values) -> fetched values`` equivalent to ``execute(plan, ...)``."""
    namespace: dict = {"fail": None}
    body = []
    for i, slot in enumerate(plan.feed_slots):
        body.append(f"v{slot} = feeds[{i}]")
    steps = []
    for step in plan.steps:
        op = step.op
        if op.type in SESSION_CONSTANT and len(step.outputs) == 1 and not op.control_inputs:
            namespace[f"v{step.outputs[0]}"] = step.run()
            continue
        derefs = _derefs(op) or [False] * len(step.inputs)
        args = [f"v{i}.read()" if d else f"v{i}" for i, d in zip(step.inputs, derefs)]
        index = len(steps)
        steps.append(step)
        if op.type in ("Identity", "StopGradient") and len(args) == 1:
            call = args[0]   # an identity: the value itself, no call
        else:
            namespace[f"k{index}"] = _unwrapped(step)
            call = f"k{index}({', '.join(args)})"
        if step.single:
            target = f"v{step.outputs[0]}"
        elif not step.outputs:
            target = "_"
        else:
            target = ", ".join(f"v{o}" for o in step.outputs) + ","
        body.append(f"s = {index}; {target} = {call}")
    fetched = ", ".join("None" if s is None else f"v{s}" for s in plan.fetch_slots)
    body.append(f"return [{fetched}]")
    source = "def run(feeds):\n    s = -1\n    try:\n" + \
        "".join(f"        {line}\n" for line in body) + \
        "    except Exception as e:\n        fail(e, s)\n        raise\n"

    def fail(error, index):
        if index < 0:
            return
        op = steps[index].op
        if isinstance(error, errors.OpError):
            raise _located(error, op) from None
        if isinstance(error, (ValueError, TypeError, IndexError, ArithmeticError, MemoryError)):
            raise errors.InvalidArgumentError(
                None, op, f"{error}\n\t [[node {op.name} ({op.type})]]") from error

    namespace["fail"] = fail
    exec(compile(source, f"<flowsaver plan {id(plan):x}>", "exec"), namespace)  # noqa: S102
    return namespace["run"]


def _unwrapped(step):
    """The kernel without the executor's deref wrapper (derefs are inlined as ``.read()``)."""
    return getattr(step.run, "kernel", step.run)
