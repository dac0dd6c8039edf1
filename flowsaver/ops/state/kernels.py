"""Ref variables: ``VariableV2`` and the ops that assign to it or ask about it.

A ``VariableV2`` node's output is a ref (``float32_ref``): the session's storage for the
variable. Assigning replaces the stored array; arrays are never written in place, so a
value fetched or read earlier in a run keeps its contents.
"""
from __future__ import annotations

import numpy as np

from flowsaver import errors
from flowsaver.ops import donation
from flowsaver.ops.registry import NOT_FOLDABLE, SESSION_CONSTANT, OpTable

TABLE = OpTable(__name__)
define, kernel, shape_fn = TABLE.define, TABLE.kernel, TABLE.shape_fn

define(
    'VariableV2() -> (ref: Ref(dtype)); shape: shape; dtype: type; container: string = ""; shared_name: string = ""; !stateful',
    'Assign(ref: Ref(T), value: T) -> (output_ref: Ref(T)); T: type; validate_shape: bool = true; use_locking: bool = true; !allows_uninitialized_input',
    'AssignAdd(ref: Ref(T), value: T) -> (output_ref: Ref(T)); T: type {float, double, int32, uint8, int16, int8, complex64, int64, qint8, quint8, qint32, bfloat16, qint16, quint16, uint16, complex128, half, uint32, uint64}; use_locking: bool = false',
    'AssignSub(ref: Ref(T), value: T) -> (output_ref: Ref(T)); T: type {float, double, int32, uint8, int16, int8, complex64, int64, qint8, quint8, qint32, bfloat16, qint16, quint16, uint16, complex128, half, uint32, uint64}; use_locking: bool = false',
    'IsVariableInitialized(ref: Ref(dtype)) -> (is_initialized: bool); dtype: type; !allows_uninitialized_input',
)
TABLE.not_differentiable("Assign", "AssignAdd", "AssignSub", "IsVariableInitialized",
                         "VariableV2")
TABLE.mark(SESSION_CONSTANT, "VariableV2")
TABLE.mark(NOT_FOLDABLE, "VariableV2")


@shape_fn("VariableV2")
def _variable_shape(op):
    return [op.get_attr("shape")]


@shape_fn("Assign")
def _assign_shape(op):
    if op.get_attr("validate_shape"):
        return [op.inputs[0].shape.merge_with(op.inputs[1].shape)]
    return [op.inputs[1].shape]


@shape_fn("AssignAdd", "AssignSub")
def _update_shape(op):
    return [op.inputs[0].shape]


@shape_fn("IsVariableInitialized")
def _scalar_shape(op):
    return [[]]


@kernel("VariableV2")
def _variable(op, ctx):
    ref = ctx.variable(op)
    return lambda: ref


@kernel("Assign")
def _assign(op, ctx):
    validate = op.get_attr("validate_shape")
    declared = op.inputs[0].op.get_attr("shape") if op.inputs[0].op.type == "VariableV2" \
        else None
    dtype = op.get_attr("T").as_numpy_dtype

    def assign(ref, value):
        value = donation.kept_or_copied(value, dtype)
        if validate:
            old = ref.store.get(ref.name)
            expected = old.shape if old is not None else None
            if expected is None and declared is not None and declared.is_fully_defined():
                expected = tuple(declared.as_list())
            if expected is not None and expected != value.shape:
                raise errors.InvalidArgumentError(
                    None, op, f"Assign requires shapes of both tensors to match. lhs shape= "
                              f"{list(expected)} rhs shape= {list(value.shape)} (variable "
                              f"{ref.name})")
        ref.write(value)
        return ref
    return assign


def _updater(sign):
    def build(op, ctx):
        def update(ref, value):
            old = ref.read()
            if old.shape != np.shape(value):
                raise errors.InvalidArgumentError(
                    None, op, f"{op.type} requires shapes of both tensors to match. lhs "
                              f"shape= {list(old.shape)} rhs shape= {list(np.shape(value))} "
                              f"(variable {ref.name})")
            ref.write((old + value if sign > 0 else old - value).astype(old.dtype, copy=False))
            return ref
        return update
    return build


kernel("AssignAdd")(_updater(+1))
kernel("AssignSub")(_updater(-1))


@kernel("IsVariableInitialized")
def _is_initialized(op, ctx):
    return lambda ref: np.bool_(ref.is_initialized())
