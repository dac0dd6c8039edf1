"""Check a restore against the checkpoint before any variable changes.

TensorFlow stops at the first missing key with ``Key w3 not found in checkpoint``. Here
every ``RestoreV2`` feeding the restore op is read from the graph, every key it needs is
looked up in the checkpoint's index, and one error reports all that is wrong: every
missing key with the nearest names the checkpoint holds, or every variable whose dtype or
shape differs, with both sides.
"""
from __future__ import annotations

import difflib

from flowsaver import errors
from flowsaver.format.reader import CheckpointReader
from flowsaver.format.slices import parse_shape_and_slice
from flowsaver.ops.const_eval import value_of as constant_value


class Need:
    """One tensor a restore reads: its key, slice spec, dtype and destination variable."""

    __slots__ = ("key", "spec", "dtype", "variable", "shape", "validate")

    def __init__(self, key, spec, dtype, variable, shape, validate):
        self.key, self.spec, self.dtype = key, spec, dtype
        self.variable, self.shape, self.validate = variable, shape, validate


def _text(value) -> str:
    # Checkpoint keys are bytes; the readers name undecodable ones the same way.
    return value.decode("utf-8", "surrogateescape") if isinstance(value, bytes) else str(value)


def needs(restore_op) -> list[Need]:
    """The tensors that running ``restore_op`` reads, from the RestoreV2 ops it depends on."""
    out, seen, stack = [], set(), [restore_op]
    while stack:
        op = stack.pop()
        if op in seen:
            continue
        seen.add(op)
        stack.extend(op.control_inputs)
        stack.extend(t.op for t in op.inputs)
        if op.type != "RestoreV2":
            continue
        names, specs = constant_value(op.inputs[1]), constant_value(op.inputs[2])
        if names is None or specs is None:
            continue  # computed at run time: only the op itself can check them
        dtypes = op.get_attr("dtypes")
        names, specs = names.reshape(-1), specs.reshape(-1)
        if len(names) != len(op.outputs) or len(specs) != len(op.outputs):
            # What the RestoreV2 kernel would refuse at run time, refused before it runs.
            raise errors.InvalidArgumentError(
                None, op, f"{op.name}: tensor_names ({len(names)} entries) and "
                          f"shape_and_slices ({len(specs)} entries) must have one entry for "
                          f"each of the {len(op.outputs)} tensors it restores")
        for i, tensor in enumerate(op.outputs):
            variable, shape, validate = _destination(tensor)
            out.append(Need(_text(names[i]), _text(specs[i]), dtypes[i], variable, shape,
                            validate))
    return out


def _destination(tensor):
    """(variable name, its static shape, whether shapes must match) of what ``tensor`` sets."""
    for consumer in tensor.consumers():
        if consumer.type == "Assign":
            ref = consumer.inputs[0]
            return ref.op.name, ref.shape, consumer.get_attr("validate_shape")
        if consumer.type == "Identity":
            for user in consumer.outputs[0].consumers():
                if user.type == "AssignVariableOp":
                    return user.inputs[0].op.name, None, False
    return None, None, False


def check(restore_op, save_path: str) -> None:
    """Raise before restoring when the checkpoint at ``save_path`` cannot satisfy the graph.

    Raises:
      NotFoundError: keys missing from the checkpoint; all are listed.
      InvalidArgumentError: dtypes or shapes that differ; every variable is named.
    """
    wanted = needs(restore_op)
    if not wanted:
        return
    with CheckpointReader(save_path) as reader:
        held = reader.names()
        held_set = set(held)
        missing = [n for n in wanted if n.key not in held_set]
        if missing:
            raise errors.NotFoundError(None, restore_op, _missing_message(missing, held,
                                                                          save_path))
        problems = []
        for need in wanted:
            stored_dtype = reader.dtype(need.key)
            if stored_dtype != need.dtype:
                problems.append(f"  {need.key!r} (variable {need.variable}): the graph expects "
                                f"dtype {need.dtype.name}, the checkpoint holds "
                                f"{stored_dtype.name}")
                continue
            stored = tuple(reader.shape(need.key))
            if need.spec:
                try:
                    full, tslice = parse_shape_and_slice(need.spec)
                except errors.InvalidArgumentError as exc:
                    problems.append(f"  {need.key!r} (variable {need.variable}): {exc}")
                    continue
                if tuple(full) != stored:
                    problems.append(f"  {need.key!r} (variable {need.variable}): the graph's "
                                    f"partitioning is of shape {list(full)}, the checkpoint "
                                    f"holds shape {list(stored)}")
                continue
            shape = need.shape
            if need.validate and shape is not None and shape.is_fully_defined() and \
                    tuple(shape.as_list()) != stored:
                problems.append(f"  {need.key!r} (variable {need.variable}): the graph's "
                                f"variable has shape {shape.as_list()}, the checkpoint holds "
                                f"shape {list(stored)}")
        if problems:
            raise errors.InvalidArgumentError(
                None, restore_op,
                f"Restoring from checkpoint {save_path} failed: {len(problems)} tensor(s) do "
                f"not match the graph, so nothing was restored:\n" + "\n".join(problems))


def _missing_message(missing, held, save_path) -> str:
    lines = []
    for need in missing:
        near = difflib.get_close_matches(need.key, held, n=3, cutoff=0.5)
        hint = f"; nearest in the checkpoint: {', '.join(repr(n) for n in near)}" if near else ""
        lines.append(f"  {need.key!r} (for variable {need.variable}){hint}")
    return (f"Restoring from checkpoint {save_path} failed: {len(missing)} key(s) the graph "
            f"needs are not in the checkpoint, so nothing was restored:\n" + "\n".join(lines) +
            f"\nThe checkpoint holds {len(held)} keys (list them with `flowsaver inspect "
            f"{save_path}`). A Saver built with a dict var_list can map graph variables to "
            f"other checkpoint keys.")


def object_graph_keys(save_path: str) -> dict | None:
    """``{graph variable name: checkpoint key}`` of a TF2 object-based checkpoint, else None."""
    with CheckpointReader(save_path) as reader:
        graph = reader.object_graph()
    if graph is None:
        return None
    return {attr.full_name: attr.checkpoint_key
            for node in graph.nodes for attr in node.attributes if attr.full_name}
