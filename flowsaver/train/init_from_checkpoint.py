"""``tf.train.init_from_checkpoint``: variables whose initializers restore from a checkpoint.

The assignment map is read as TensorFlow reads it, entries sorted by checkpoint name:

- ``{"ckpt/name": variable}`` or ``{"ckpt/name": "scope/var"}``: one variable, or the
  slices of a partitioned one (``scope/var/part_0``, ...), each from its slice;
- ``{"old/scope/": "new/scope/"}``: every ``get_variable`` variable under ``new/scope``
  from the tensor of the same relative name under ``old/scope``;
  ``{"/": "scope/"}`` and ``{"old/": "/"}`` stand for the checkpoint's or the graph's root.

Each variable's initializer becomes an assignment of a ``RestoreV2`` (on the CPU, named
``checkpoint_initializer``), so ``tf.global_variables_initializer()`` then loads it.
"""
from __future__ import annotations

import os

from flowsaver.format import storage
from flowsaver.format.state import latest_checkpoint
from flowsaver.graph.graph import get_default_graph
from flowsaver.ops.op_builder import create_op
from flowsaver.ops.state import variable_scope
from flowsaver.ops.state.partitioned import PartitionedVariable
from flowsaver.ops.state.resource_variables import ResourceVariable
from flowsaver.ops.state.variables import Variable
from flowsaver.train.checkpoint_utils import load_checkpoint
from flowsaver.train.saveables import Saveable, SaveSpec


def _is_variable(value) -> bool:
    return isinstance(value, (Variable, ResourceVariable))


def _store_variables() -> dict:
    """``get_variable``'s variables by name, partitioned ones as their ``/part_i`` slices."""
    store = variable_scope._store(get_default_graph())
    out = {}
    for name, value in store.variables.items():
        if isinstance(value, PartitionedVariable):
            for i, part in enumerate(value):
                out[f"{name}/part_{i}"] = part
        else:
            out[name] = value
    return out


def _partitioned(name: str, variables: dict):
    if name + "/part_0" not in variables:
        return None
    parts, i = [], 0
    while f"{name}/part_{i}" in variables:
        parts.append(variables[f"{name}/part_{i}"])
        i += 1
    return parts


def _checkpoint_file(ckpt_dir_or_file) -> str:
    path = os.fspath(ckpt_dir_or_file)
    if storage.isdir(path):
        return latest_checkpoint(path)
    return path


def _restore_into(variable, ckpt_file: str, tensor_name: str, slice_spec: str) -> None:
    """Make ``variable``'s initializer the restore of ``tensor_name`` from ``ckpt_file``."""
    graph = variable.graph
    dtype = variable.dtype.base_dtype
    # Not colocated with the variable: RestoreV2 runs on the CPU only, as in TensorFlow.
    with graph.device(variable.device), graph.device("/cpu:0"):
        restored = create_op("RestoreV2", [ckpt_file, [tensor_name], [slice_spec]],
                             {"dtypes": [dtype]}, name="checkpoint_initializer")[0]
    ref = variable._as_graph_element() if isinstance(variable, ResourceVariable) else \
        variable._ref()
    saveable = Saveable(tensor_name, variable, (SaveSpec(tensor_name, slice_spec, ref, dtype,
                                                         ref.device),))
    init_op = saveable.restore([restored])
    variable._initializer_op = init_op if hasattr(init_op, "type") else init_op.op
    restored.set_shape(variable.shape)
    variable._initial_value = restored


def _restore_variable_or_slices(value, ckpt_file: str, tensor_name: str) -> None:
    if isinstance(value, (list, tuple)):
        full_name = None
        for part in value:
            info = part._get_save_slice_info()
            if full_name is None:
                full_name = info.full_name
            elif full_name != info.full_name:
                raise ValueError(f"Slices must all be from the same tensor: {full_name} != "
                                 f"{info.full_name}")
            _restore_into(part, ckpt_file, tensor_name, info.spec)
    else:
        _restore_into(value, ckpt_file, tensor_name, "")


def init_from_checkpoint(ckpt_dir_or_file, assignment_map) -> None:
    """Initialize variables from the checkpoint tensors ``assignment_map`` names.

    Raises:
      ValueError: a named tensor is not in the checkpoint, shapes differ, or a scope is
        mapped to a single name.
    """
    ckpt_file = _checkpoint_file(ckpt_dir_or_file)
    reader = load_checkpoint(ckpt_dir_or_file)
    try:
        shapes = reader.get_variable_to_shape_map()
    finally:
        reader.close()
    pairs = assignment_map.items() if hasattr(assignment_map, "items") else assignment_map
    for tensor_name, target in sorted(pairs, key=lambda pair: pair[0]):
        variables = _store_variables()
        if isinstance(target, PartitionedVariable):
            target = list(target)
        if _is_variable(target) or (isinstance(target, list) and
                                    all(_is_variable(v) for v in target)):
            value = target
        else:
            value = variables.get(target)
            if value is None:
                value = _partitioned(target, variables)
        if value is not None:
            _map_one(ckpt_dir_or_file, ckpt_file, shapes, tensor_name, value)
        else:
            _map_scope(ckpt_dir_or_file, ckpt_file, shapes, tensor_name, target, variables)


def _map_one(ckpt, ckpt_file, shapes, tensor_name, value) -> None:
    if tensor_name not in shapes:
        raise ValueError(f"Tensor {tensor_name} is not found in {ckpt} checkpoint {shapes}")
    if _is_variable(value) and not value.shape.is_compatible_with(shapes[tensor_name]):
        raise ValueError(f"Shape of variable {value.name} ({value.shape}) doesn't match with "
                         f"shape of tensor {tensor_name} ({shapes[tensor_name]}) from "
                         f"checkpoint reader.")
    _restore_variable_or_slices(value, ckpt_file, tensor_name)


def _map_scope(ckpt, ckpt_file, shapes, tensor_name, target, variables) -> None:
    scopes = target[:target.rindex("/")] if "/" in target else ""
    if not tensor_name.endswith("/"):
        raise ValueError(f"Assignment map with scope only name {scopes} should map to scope "
                         f"only {tensor_name}. Should be 'scope/': 'other_scope/'.")
    in_scope = set()
    for name in variables:
        if not scopes or name.startswith(scopes + "/"):
            in_scope.add(name[:name.index("/part_")] if "/part_" in name else name)
    for name in sorted(in_scope):
        full = name[len(scopes):]
        if target != "/":
            full = full[1:]
        if tensor_name != "/":
            full = tensor_name + full
        if full.endswith("/"):
            full = full[:-1]
        if full not in shapes:
            raise ValueError(f"Tensor {full} ({name[len(scopes) + 1:]} in {tensor_name}) is "
                             f"not found in {ckpt} checkpoint")
        value = variables.get(name)
        if value is None:
            value = _partitioned(name, variables)
        _restore_variable_or_slices(value, ckpt_file, full)
