"""From a ``Session.run`` signature to the function that runs it.

Prune to the ops the fetches and targets need; a graph without loop frames becomes one
flat plan (``executor.build_plan``), a graph with ``tf.while_loop`` frames is analysed
first (``frames.analyse``: every loop becomes one step, ``loops.LoopRunner``). Either plan
runs compiled or interpreted (``runners.runner_for``).
"""
from __future__ import annotations

from flowsaver.runtime import executor, frames, loops, runners


def make_runner(fetch_tensors, target_ops, feed_tensors, ctx, ops=None):
    """``run(feed_values) -> fetched values`` for one (fetches, targets, feeds) signature.

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
    return runners.runner_for(plan, target_ops)
