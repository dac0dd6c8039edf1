"""Public sparse functions: ``tf.SparseTensor``, ``tf.sparse.to_dense``."""
from __future__ import annotations

from flowsaver.ops.op_builder import convert_to_tensor, create_op, graph_of
from flowsaver.ops.sparse.sparse_tensor import SparseTensor, SparseTensorValue

__all__ = ["SparseTensor", "SparseTensorValue", "to_dense", "sparse_tensor_to_dense"]


def to_dense(sp_input, default_value=None, validate_indices: bool = True, name=None):
    """The dense tensor ``sp_input`` stands for, ``default_value`` (0, "") elsewhere."""
    if not isinstance(sp_input, SparseTensor):
        raise TypeError(f"Input must be a SparseTensor, got {type(sp_input).__name__}")
    dtype = sp_input.dtype.base_dtype
    with graph_of([sp_input.values]).as_default():
        if default_value is None:
            default_value = b"" if dtype.name == "string" else \
                (False if dtype.name == "bool" else 0)
            default = convert_to_tensor(default_value, dtype=dtype, name="zeros")
        else:
            default = convert_to_tensor(default_value, dtype=dtype, name="default_value")
        return create_op("SparseToDense", [sp_input.indices, sp_input.dense_shape,
                                           sp_input.values, default],
                         {"validate_indices": validate_indices}, name=name or "SparseToDense")


sparse_tensor_to_dense = to_dense
