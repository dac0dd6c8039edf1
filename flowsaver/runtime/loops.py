"""A ``tf.while_loop`` run as one step: its head and body plans, iteration after iteration.

``frames.analyse`` cut the loop's frame into a *head* (what computes ``LoopCond`` from the
loop variables) and a *body* (what computes the next values). Each part is an ordinary plan
with its own slots, compiled or interpreted like any plan (``runners.runner_for``); a loop
nested inside is one step of those plans in turn. One iteration is::

    head(merged values, invariants)           -> pred, the loop Switches' data, ...
    pred false:  the Exits' values are the Switches' data; the loop is done
    pred true:   body(Switch data, ...)       -> the NextIteration values

which is what TensorFlow's executor does with the same nodes, one iteration at a time
(``parallel_iterations`` changes only how many TensorFlow overlaps, not the values).
"""
from __future__ import annotations

import numpy as np

from flowsaver import errors
from flowsaver.ops.control_flow.kernels import DEAD
from flowsaver.runtime import executor, runners
from flowsaver.runtime.frames import Frame


def build_loop(frame: Frame, ctx):
    """``(kernel, derefs)`` of the plan step that runs ``frame``: the kernel takes the values
    entering the loop and returns the values its Exits give out."""
    flags = [bool(executor._derefs(enter)) for enter in frame.enters]
    return LoopRunner(frame, ctx), (flags if any(flags) else [])


def _produced_by(units) -> dict:
    """tensor -> the unit (op or nested loop) among ``units`` that computes it."""
    return {t: unit for unit in units for t in unit.outputs}


class LoopRunner:
    """Runs one loop frame; called with the entered values, returns the Exits' values."""

    def __init__(self, frame: Frame, ctx):
        self.frame = frame
        enters = frame.enters
        self.invariants = [i for i, e in enumerate(enters) if e.get_attr("is_constant")]
        position = {e: i for i, e in enumerate(enters)}
        self.first, self.later = [], []  # per Merge: (where its value comes from, its index)
        for merge in frame.merges:
            for k, t in enumerate(merge.inputs):
                if t.op in position:
                    self.first.append((position[t.op], np.int32(k)))
                else:
                    self.later.append((frame.nexts.index(t.op), np.int32(k)))
        merged = [t for m in frame.merges for t in m.outputs[:2]]
        invariants = [enters[i].outputs[0] for i in self.invariants]
        head_made = _produced_by(frame.head)
        body_units = set(frame.body)
        used = [t for u in frame.body for t in u.inputs] + [n.inputs[0] for n in frame.nexts]
        cross = list(dict.fromkeys(t for t in used if t in head_made))
        switched = [s.inputs[0] for s in frame.switches]
        self.num_switches = len(switched)
        head_fetches = [frame.loop_cond.outputs[0]] + switched + cross
        head = executor.plan_units(frame.head, head_fetches, merged + invariants, ctx,
                                   build_loop, executor.unread_ops(frame.head, head_fetches, ()))
        body_feeds = [s.outputs[1] for s in frame.switches] + cross + merged + invariants
        targets = [c for n in frame.nexts for c in n.control_inputs if c in body_units]
        body_fetches = [n.inputs[0] for n in frame.nexts]
        body = executor.plan_units(frame.body, body_fetches, body_feeds, ctx, build_loop,
                                   executor.unread_ops(frame.body, body_fetches, targets))
        self.head = runners.runner_for(head)
        self.body = runners.runner_for(body, targets)
        switch_of = {s: j for j, s in enumerate(frame.switches)}
        self.exit_from = [switch_of[x.inputs[0].op] for x in frame.exits]
        self.exit_reads = [bool(executor._derefs(x)) for x in frame.exits]

    def __call__(self, *entered):
        invariants = [entered[i] for i in self.invariants]
        state = [entered[i] for i, _ in self.first]
        chosen = [k for _, k in self.first]
        n = self.num_switches
        while True:
            merged = [v for pair in zip(state, chosen) for v in pair]
            out = self.head(merged + invariants)
            pred = out[0]
            if pred is DEAD or not pred:
                data = [DEAD] * n if pred is DEAD else out[1:1 + n]
                return tuple(_read(data[j]) if read else data[j]
                             for j, read in zip(self.exit_from, self.exit_reads))
            nexts = self.body(out[1:] + merged + invariants)
            if any(v is DEAD for v in nexts):
                raise errors.InternalError(
                    None, self.frame.nexts[0],
                    f"a NextIteration value of loop frame '{self.frame.name}' is dead while "
                    f"its LoopCond is true: flowsaver runs a loop's iterations in lockstep")
            state = [nexts[p] for p, _ in self.later]
            chosen = [k for _, k in self.later]


def _read(value):
    return value if value is DEAD else value.read()
