"""What a Saver saves: ``var_list`` (None, list, set or dict) turned into checkpoint keys.

A list keys each variable by its op name (``w1``, never ``w1:0``); a dict uses its keys
verbatim; a partitioned variable's slices share their full name. Keys are processed in
sorted order, which fixes the SaveV2 argument order and so the data file's layout.
"""
from __future__ import annotations

from dataclasses import dataclass

from flowsaver.graph.graph import GraphKeys, get_default_graph
from flowsaver.graph.operation import Tensor
from flowsaver.ops.state import api as state_ops
from flowsaver.ops.op_builder import build_op
from flowsaver.ops.state.resource_variables import ResourceVariable
from flowsaver.ops.state.partitioned import PartitionedVariable
from flowsaver.ops.state.variables import Variable


@dataclass(frozen=True)
class SaveSpec:
    """One tensor in the checkpoint: its key, slice spec and where its value comes from."""

    name: str            # the checkpoint key
    slice_spec: str      # "" for a whole tensor, else "full shape + slice", e.g. "4 2 0,2:-"
    tensor: Tensor       # what SaveV2 reads (a ref variable's own output)
    dtype: object
    device: str


@dataclass(frozen=True)
class Saveable:
    """A variable (or a slice of one) and its specs; ``restore`` builds its assign."""

    name: str
    variable: object
    specs: tuple

    @property
    def op(self):
        return self.variable.op if hasattr(self.variable, "op") else self.variable

    def restore(self, tensors, shapes=None):
        value = tensors[0]
        if shapes is not None:
            from flowsaver.ops.array.api import reshape
            value = reshape(value, shapes[0])
        if isinstance(self.variable, ResourceVariable):
            g = get_default_graph()
            from flowsaver.ops.array.api import identity
            with g.device(self.variable.device):
                value = identity(value)
                return build_op("AssignVariableOp", [self.variable.handle, value])
        target = self.variable._ref() if isinstance(self.variable, Variable) else self.variable
        return state_ops.assign(target, value, validate_shape=shapes is None and
                                target.shape.is_fully_defined())


def all_saveable_objects() -> list:
    graph = get_default_graph()
    return graph.get_collection(GraphKeys.GLOBAL_VARIABLES) + \
        graph.get_collection(GraphKeys.SAVEABLE_OBJECTS)


def _op_name(variable) -> str:
    return variable.op.name


def _is_variable(value) -> bool:
    return isinstance(value, (Variable, ResourceVariable)) or (isinstance(value, Tensor) and
                                            value.op.type in ("VariableV2", "VarHandleOp"))


def names_to_variables(var_list) -> dict:
    """``{checkpoint key: variable or [slice variables]}`` for a var_list, as TensorFlow keys it.

    Raises:
      TypeError: an entry that is not a variable.
      ValueError: two entries with one key, or one variable under two keys.
    """
    if isinstance(var_list, dict):
        var_list = {k: (list(v) if isinstance(v, PartitionedVariable) else v)
                    for k, v in var_list.items()}
        seen = {}
        for key, value in var_list.items():
            for item in (value if isinstance(value, (list, tuple)) else [value]):
                if id(item) in seen:
                    raise ValueError(f"The same variable is saved under two keys: "
                                     f"{seen[id(item)]!r} and {key!r} ({item.name})")
                seen[id(item)] = key
        return dict(var_list)
    if isinstance(var_list, (set, frozenset)):
        var_list = sorted(var_list, key=lambda v: v.name)
    out: dict = {}
    flat = []
    for value in var_list:
        flat.extend(value if isinstance(value, PartitionedVariable) else [value])
    for value in flat:
        if not _is_variable(value):
            raise TypeError(f"Variable to save is not a Variable: {value!r}")
        info = value._get_save_slice_info() if hasattr(value, "_get_save_slice_info") else None
        if info is not None:
            out.setdefault(info.full_name, []).append(value)
            continue
        key = _op_name(value)
        if key in out:
            raise ValueError(f"At least two variables have the same name: {key}")
        out[key] = value
    return out


def saveables_for(var_list) -> list[Saveable]:
    """The Saveables of ``var_list`` in sorted key order."""
    out = []
    for key, value in sorted(names_to_variables(var_list).items(), key=lambda kv: kv[0]):
        for variable in (value if isinstance(value, list) else [value]):
            if not _is_variable(variable):
                raise TypeError(f"Variable to save is not a Variable: {variable!r} (key {key})")
            info = variable._get_save_slice_info() if hasattr(
                variable, "_get_save_slice_info") else None
            spec = info.spec if info is not None else ""
            # TensorFlow saves a whole ref variable from its ref, a slice from its snapshot.
            if isinstance(variable, ResourceVariable):
                ref = variable._as_graph_element()  # its snapshot, v/Read/ReadVariableOp
            elif isinstance(variable, Variable):
                ref = variable.value() if info is not None else variable._ref()
            else:
                ref = variable
            out.append(Saveable(key, variable, (SaveSpec(key, spec, ref, ref.dtype.base_dtype,
                                                         ref.device),)))
    return out
