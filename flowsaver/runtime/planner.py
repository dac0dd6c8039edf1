"""From a ``Session.run`` signature to the function that runs it.

Prune to the ops the fetches and targets need; a graph without loop frames becomes one
flat plan (``executor.build_plan``), a graph with ``tf.while_loop`` frames is analysed
first (``frames.analyse``: every loop becomes one step, ``loops.LoopRunner``). Pairs of
steps the registry has one kernel for are joined (``fusion.fuse``). Either plan runs
compiled or interpreted (``runners.runner_for``).
"""
from __future__ import annotations

from flowsaver.graph.operation import Operation
from flowsaver.runtime import executor, frames, fusion, loops, runners


def make_plan(fetch_tensors, target_ops, feed_tensors, ctx, ops=None) -> executor.Plan:
    """The plan for one (fetches, targets, feeds) signature.

    ``ops`` are the needed ops when the caller pruned already.

    Raises:
      UnimplementedError, InvalidArgumentError: a loop frame that cannot run (naming its
        node), before anything runs.
    """
    fed = set(feed_tensors)
    executor.check_fetchable(fetch_tensors, target_ops)
    if ops is None:
        ops = executor.needed_ops(fetch_tensors, target_ops, fed)
    if frames.has_frames(ops):
        fetch_ops = [t.op for t in fetch_tensors if t is not None] + list(target_ops)
        ops = frames.analyse(ops, fed, fetch_ops, target_ops).units
    plan = executor.build_plan(fetch_tensors, target_ops, feed_tensors, ctx, ops=ops,
                               build_unit=loops.build_loop)
    return fusion.fuse(plan, ctx)


def make_runner(fetch_tensors, target_ops, feed_tensors, ctx, ops=None):
    """``run(feed_values) -> fetched values`` for one (fetches, targets, feeds) signature."""
    plan = make_plan(fetch_tensors, target_ops, feed_tensors, ctx, ops)
    return runners.runner_for(plan, target_ops)


def plan_ops(plan: executor.Plan) -> list:
    """Every op ``plan`` runs, those inside its loop frames included."""
    ops = []

    def add(unit):
        if isinstance(unit, Operation):
            ops.append(unit)
        else:
            for inner in list(unit.ops) + list(unit.children.values()):
                add(inner)
    for step in plan.steps:
        add(step.op)
    return ops
