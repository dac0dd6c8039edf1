"""A Saver's values taken into memory, for saves written outside the graph.

The Saver's graph holds one SaveV2 op per device (and, when sharded, a
MergeV2Checkpoints joining them). Saves that write elsewhere than through those ops take
the SaveV2 ops' arguments instead, in one ``Session.run``, and hand them to
format/checkpoint_write.py: saves to object stores (shards uploaded in parallel, no part
bundles to rename), background saves of a CheckpointManager (training goes on while the
files are written) and fsynced saves. The files are the same bytes the ops would write.
"""
from __future__ import annotations

import re

import numpy as np

from flowsaver.format.checkpoint_write import TensorToSave

# The tail of a sharded SaveV2's prefix: ``..._temp/part-KKKKK-of-NNNNN``.
_SHARD_TAIL = re.compile(r"-(\d{5})-of-(\d{5})$")


def save_ops(graph, save_tensor_name: str) -> list:
    """The SaveV2 ops that running ``save_tensor_name`` runs, in the order they are found."""
    start = graph.as_graph_element(save_tensor_name).op
    found, seen, stack = [], {start}, [start]
    while stack:
        op = stack.pop()
        if op.type == "SaveV2":
            found.append(op)
            continue   # what feeds a SaveV2 is variables, not more saves
        for nxt in list(op.control_inputs) + [t.op for t in op.inputs]:
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return found


def _text(value) -> str:
    value = value.item() if isinstance(value, np.ndarray) else value
    return value.decode("utf-8", "surrogateescape") if isinstance(value, bytes) else str(value)


def _copy(value):
    """A private copy: training may update a variable's array in place after the snapshot."""
    value = value.read() if hasattr(value, "read") else value
    return np.array(value, copy=True)


def take_snapshot(sess, saver_def, prefix: str) -> list[list[TensorToSave]]:
    """The tensors each data shard of a save to ``prefix`` holds, copied, shard order.

    Raises:
      ValueError: the save graph has no SaveV2 op.
    """
    ops = save_ops(sess.graph, saver_def.save_tensor_name)
    if not ops:
        raise ValueError(f"the save graph of {saver_def.save_tensor_name} holds no SaveV2 op")
    fetches = [list(op.inputs) for op in ops]
    values = sess.run(fetches, {saver_def.filename_tensor_name: prefix})
    shards = []
    for shard_prefix, names, specs, *tensors in values:
        m = _SHARD_TAIL.search(_text(shard_prefix))
        order = int(m.group(1)) if m and len(ops) > 1 else 0
        names = [_text(n) for n in np.reshape(np.asarray(names, dtype=object), -1)]
        specs = [_text(s) for s in np.reshape(np.asarray(specs, dtype=object), -1)]
        shards.append((order, [TensorToSave(n, s, _copy(v))
                               for n, s, v in zip(names, specs, tensors)]))
    shards.sort(key=lambda item: item[0])
    return [tensors for _, tensors in shards]
