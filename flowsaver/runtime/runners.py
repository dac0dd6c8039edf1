"""Which loop runs a plan: the compiled function, or the reference interpreter.

Plans that track dead tensors (a ``tf.cond``: ``Switch``/``Merge``) run in the interpreter;
every other plan is compiled to straight-line Python. ``FLOWSAVER_EXECUTOR=interpreter``
runs every plan in the interpreter loop instead; the test suite runs the op, session and
training tests both ways, and both must give identical results.
"""
from __future__ import annotations

import os

from flowsaver.runtime import compiled, executor

EXECUTOR_SWITCH = "FLOWSAVER_EXECUTOR"


def use_interpreter() -> bool:
    """Whether ``FLOWSAVER_EXECUTOR=interpreter`` asks for the reference loop everywhere."""
    return os.environ.get(EXECUTOR_SWITCH) == "interpreter"


def runner_for(plan: executor.Plan, targets=()):
    """``run(feed_values) -> fetched values`` for ``plan``."""
    if plan.dead_aware or use_interpreter():
        return lambda values: executor.execute(plan, values)
    return compiled.compile_plan(plan, targets)
