"""Partitioned variables: one logical variable stored as slices ``name/part_0``, ``part_1``...

``tf.get_variable(..., partitioner=tf.fixed_size_partitioner(3))`` makes one ref variable
per slice, each with a ``SaveSliceInfo`` saying where it sits in the full tensor; a Saver
saves all slices under the full name with slice specs such as ``"10 4 4,3:0,4"``.
"""
from __future__ import annotations

import math

from flowsaver.format.graph_protos import SaveSliceInfoDef
from flowsaver.graph.tensor_shape import TensorShape


class SaveSliceInfo:
    """Where one slice variable sits in its full variable (TensorFlow's SaveSliceInfo)."""

    def __init__(self, full_name=None, full_shape=None, var_offset=None, var_shape=None,
                 save_slice_info_def=None, import_scope=None):
        if save_slice_info_def is not None:
            scope = f"{import_scope}/" if import_scope else ""
            full_name = scope + save_slice_info_def.full_name
            full_shape = list(save_slice_info_def.full_shape)
            var_offset = list(save_slice_info_def.var_offset)
            var_shape = list(save_slice_info_def.var_shape)
        self.full_name = full_name
        self.full_shape = [int(d) for d in full_shape]
        self.var_offset = [int(d) for d in var_offset]
        self.var_shape = [int(d) for d in var_shape]

    @property
    def spec(self) -> str:
        """The shape-and-slice string SaveV2 takes, e.g. ``"10 4 4,3:0,4"``."""
        full = " ".join(str(d) for d in self.full_shape)
        extents = ":".join(f"{o},{s}" for o, s in zip(self.var_offset, self.var_shape))
        return f"{full} {extents}"

    def to_proto(self, export_scope=None) -> SaveSliceInfoDef | None:
        name = self.full_name
        if export_scope:
            if not name.startswith(export_scope + "/"):
                return None
            name = name[len(export_scope) + 1:]
        return SaveSliceInfoDef(full_name=name, full_shape=self.full_shape,
                                var_offset=self.var_offset, var_shape=self.var_shape)


class PartitionInfo:
    """What an initializer learns about the slice it fills (for fan-in of the full shape)."""

    def __init__(self, full_shape, var_offset):
        self.full_shape = list(full_shape)
        self.var_offset = list(var_offset)


class PartitionedVariable:
    """The slices of one variable; iterates over them, converts to their concatenation."""

    def __init__(self, name, shape, dtype, variable_list, partitions):
        self._name = name
        self._shape = TensorShape(shape)
        self._dtype = dtype
        self._variable_list = sorted(variable_list,
                                     key=lambda v: v._get_save_slice_info().var_offset)
        self._partitions = list(partitions)

    def __iter__(self):
        return iter(self._variable_list)

    def __len__(self):
        return len(self._variable_list)

    @property
    def name(self) -> str:
        return self._name

    @property
    def dtype(self):
        return self._dtype

    @property
    def shape(self) -> TensorShape:
        return self._shape

    def get_shape(self) -> TensorShape:
        return self._shape

    @property
    def graph(self):
        return self._variable_list[0].graph

    def _get_variable_list(self) -> list:
        return list(self._variable_list)

    def _get_partitions(self) -> list:
        return list(self._partitions)

    def _partition_axis(self) -> int:
        axes = [i for i, p in enumerate(self._partitions) if p > 1]
        return axes[0] if axes else 0

    def as_tensor(self):
        """The full value: the slices concatenated along the partitioned axis."""
        from flowsaver.ops.array import api as array_ops
        g = self.graph
        with g.as_default(), g.name_scope(None):
            if len(self._variable_list) == 1:
                return array_ops.identity(self._variable_list[0], name=self._name)
            return array_ops.concat(self._variable_list, self._partition_axis(),
                                    name=self._name)

    def __repr__(self):
        return f"<PartitionedVariable '{self._name}' shape={self._shape} " \
               f"parts={len(self._variable_list)}>"


def slice_layout(shape, partitions):
    """``[(offset, slice shape)]`` for each part: the first ``n % k`` slices get one more."""
    shape = list(shape)
    axes = [i for i, p in enumerate(partitions) if p > 1]
    if len(axes) > 1:
        raise ValueError(f"Can only slice a variable along one dimension: shape {shape}, "
                         f"partitions {list(partitions)}")
    axis = axes[0] if axes else 0
    count = partitions[axis] if axes else 1
    size = shape[axis]
    base, extra = divmod(size, count)
    out, offset = [], 0
    for i in range(count):
        length = base + (1 if i < extra else 0)
        var_offset = [0] * len(shape)
        var_offset[axis] = offset
        part_shape = list(shape)
        part_shape[axis] = length
        out.append((var_offset, part_shape))
        offset += length
    return out


# ---- partitioners: fn(shape, dtype) -> partitions per dimension ---------------------------
def fixed_size_partitioner(num_shards, axis=0):
    """Split along ``axis`` into ``num_shards`` slices."""
    def partitioner(shape, dtype):
        out = [1] * len(list(shape))
        out[axis] = min(num_shards, list(shape)[axis])
        return out
    return partitioner


def min_max_variable_partitioner(max_partitions=1, axis=0, min_slice_size=256 << 10,
                                 bytes_per_string_element=16):
    """As many slices along ``axis`` as keep each at least ``min_slice_size`` bytes."""
    def partitioner(shape, dtype):
        dims = list(TensorShape(shape).as_list())
        element = bytes_per_string_element if dtype.base_dtype.kind == "string" \
            else dtype.base_dtype.size
        total = element
        for d in dims:
            total *= d
        slices = int(math.ceil(total / min_slice_size))
        out = [1] * len(dims)
        out[axis] = max(1, min(dims[axis], max_partitions, slices))
        return out
    return partitioner


def variable_axis_size_partitioner(max_shard_bytes, axis=0, bytes_per_string_element=16,
                                   max_shards=None):
    """As few slices along ``axis`` as keep each at most ``max_shard_bytes`` bytes."""
    if max_shard_bytes < 1:
        raise ValueError(f"max_shard_bytes must be positive, got {max_shard_bytes}")

    def partitioner(shape, dtype):
        dims = list(TensorShape(shape).as_list())
        element = bytes_per_string_element if dtype.base_dtype.kind == "string" \
            else dtype.base_dtype.size
        slice_bytes = element
        for i, d in enumerate(dims):
            if i != axis:
                slice_bytes *= d
        per_shard = max(1, max_shard_bytes // max(slice_bytes, 1))
        shards = int(math.ceil(dims[axis] / per_shard))
        if max_shards:
            shards = min(shards, max_shards)
        out = [1] * len(dims)
        out[axis] = max(1, min(shards, dims[axis]))
        return out
    return partitioner


def to_tensor(value, dtype=None, name=None, as_ref=False):
    """The whole variable as one tensor (its parts concatenated), for ``convert_to_tensor``."""
    if as_ref:
        raise NotImplementedError("a PartitionedVariable has no single ref; use its parts")
    return value.as_tensor()
