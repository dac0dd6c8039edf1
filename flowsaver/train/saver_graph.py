"""The save and restore ops a Saver adds to the graph, node for node as TensorFlow adds them.

Non-sharded (all under ``save/``)::

    filename/input -> filename -> Const        the prefix, fed by save() and restore()
    SaveV2(Const, tensor_names, shape_and_slices, vars...) -> control_dependency
    RestoreV2 (on CPU:0) -> Assign, Assign_1, ... -> restore_all

Sharded: one ShardedFilename + SaveV2 per device (forced to CPU:0) under a ``_temp/part``
prefix, then MergeV2Checkpoints into the prefix and an Identity of it; restore groups
each shard's assigns into ``restore_shard`` NoOps.
"""
from __future__ import annotations

from flowsaver.format.graph_protos import SaverDef
from flowsaver.graph import devices
from flowsaver.graph.graph import get_default_graph
from flowsaver.ops.array import api as array_ops
from flowsaver.ops.control_flow import api as control_flow_ops
from flowsaver.ops.op_builder import build_op, constant, create_op


def build(saveables, name=None, sharded=False, filename=None, reshape=False) -> SaverDef:
    """Add save/restore ops for ``saveables`` under scope ``name or "save"``."""
    g = get_default_graph()
    # Only None means the default: "" puts the ops at the top level, as in TensorFlow.
    with g.name_scope("save" if name is None else name) as scope:
        filename_tensor = array_ops.placeholder_with_default(filename or "model", shape=(),
                                                             name="filename")
        # "Const" is the name TensorFlow kept for compatibility with older graphs.
        filename_tensor = array_ops.placeholder_with_default(filename_tensor, shape=(),
                                                             name="Const")
        if sharded:
            per_device = group_by_device(saveables)
            save_tensor = _sharded_save(filename_tensor, per_device)
            restore_op = _sharded_restore(filename_tensor, per_device, reshape)
        else:
            save_tensor = _save(filename_tensor, saveables)
            restore_op = _restore(filename_tensor, saveables, reshape, "restore_all")
        del scope
    return SaverDef(filename_tensor_name=filename_tensor.name,
                    save_tensor_name=save_tensor.name, restore_op_name=restore_op.name,
                    sharded=sharded, version=SaverDef.V2)


def _specs(saveables):
    return [spec for s in saveables for spec in s.specs]


def _save(filename_tensor, saveables):
    specs = _specs(saveables)
    save = build_op("SaveV2", [filename_tensor, [s.name for s in specs],
                               [s.slice_spec for s in specs], [s.tensor for s in specs]],
                    {"dtypes": [s.dtype for s in specs]})
    return control_flow_ops.with_dependencies([save], filename_tensor)


def _restore(filename_tensor, saveables, reshape, name):
    specs = _specs(saveables)
    g = get_default_graph()
    with g.device("cpu:0"):
        restored = create_op("RestoreV2", [filename_tensor, [s.name for s in specs],
                                           [s.slice_spec for s in specs]],
                             {"dtypes": [s.dtype for s in specs]})
    assigns, index = [], 0
    for saveable in saveables:
        count = len(saveable.specs)
        shapes = None
        if reshape:  # the static shape when known, as TensorFlow builds it
            shape = saveable.specs[0].tensor.shape
            shapes = [shape if shape.is_fully_defined()
                      else array_ops.shape(saveable.specs[0].tensor)]
        assigns.append(saveable.restore(restored[index:index + count], shapes))
        index += count
    return control_flow_ops.group(*assigns, name=name)


def group_by_device(saveables) -> list:
    """``[(device, saveables)]`` sorted by canonical device name."""
    per_device: dict = {}
    for saveable in saveables:
        device = devices.canonical(saveable.specs[0].device)
        per_device.setdefault(device, []).append(saveable)
    return sorted(per_device.items(), key=lambda item: item[0])


def set_cpu0(device: str) -> str:
    parts = devices.parse(device)
    parts["device"] = "CPU:0"
    return devices.to_string(parts)


def _sharded_save(filename_tensor, per_device):
    g = get_default_graph()
    with g.device("CPU"):
        is_s3 = create_op("StaticRegexFullMatch", [filename_tensor], {"pattern": "^s3://.*"})
        suffix = create_op("Select", [is_s3, constant(".part"), constant("_temp/part")])
        temp_prefix = create_op("StringJoin", [[filename_tensor, suffix]])
    num_shards = constant(len(per_device), name="num_shards")
    saves, prefixes, last_device = [], [], None
    for shard, (device, saveables) in enumerate(per_device):
        last_device = device
        with g.device(set_cpu0(device)):
            sharded_name = create_op("ShardedFilename", [temp_prefix, shard, num_shards])
            prefixes.append(sharded_name)
            saves.append(_save(sharded_name, saveables))
    with g.control_dependencies([s.op for s in saves]):
        with g.device(set_cpu0(last_device)):
            merge = build_op("MergeV2Checkpoints", [prefixes, filename_tensor],
                             {"delete_old_dirs": True})
            with g.control_dependencies([merge]):
                return array_ops.identity(filename_tensor)


def _sharded_restore(filename_tensor, per_device, reshape):
    g = get_default_graph()
    shards = []
    for _, (device, saveables) in enumerate(per_device):
        with g.device(device):
            shards.append(_restore(filename_tensor, saveables, reshape, "restore_shard"))
    return control_flow_ops.group(*shards, name="restore_all")
