"""Resource variables (TensorFlow 2's graph mode): ``VarHandleOp`` and the ops that read,
assign and ask about the variable a handle names."""
from __future__ import annotations

import numpy as np

from flowsaver import errors
from flowsaver.ops import donation
from flowsaver.ops.registry import ALIASING, SESSION_CONSTANT, OpTable

TABLE = OpTable(__name__)
define, kernel, shape_fn = TABLE.define, TABLE.kernel, TABLE.shape_fn

define(
    'VarHandleOp() -> (resource: resource); container: string = ""; shared_name: string = ""; debug_name: string = ""; dtype: type; shape: shape; allowed_devices: list(string) = []; !stateful',
    'ReadVariableOp(resource: resource) -> (value: dtype); dtype: type; !stateful',
    'AssignVariableOp(resource: resource, value: dtype) -> (); dtype: type; validate_shape: bool = false; !stateful',
    'VarIsInitializedOp(resource: resource) -> (is_initialized: bool); !stateful',
    'AssignAddVariableOp(resource: resource, value: dtype) -> (); dtype: type; !stateful',
    'AssignSubVariableOp(resource: resource, value: dtype) -> (); dtype: type; !stateful',
    'DestroyResourceOp(resource: resource) -> (); ignore_lookup_error: bool = true; !stateful',
    # TF2's save functions call it before reading a variable: no copy-on-read to switch off
    # here, since flowsaver never copies a variable's buffer on read.
    'DisableCopyOnRead(resource: resource) -> (); !stateful',
    'VariableShape(input: resource) -> (output: out_type); out_type: type {int32, int64} = int32; !stateful',
)
TABLE.not_differentiable("AssignAddVariableOp", "AssignSubVariableOp", "AssignVariableOp",
                         "DestroyResourceOp", "DisableCopyOnRead", "VarHandleOp",
                         "VarIsInitializedOp", "VariableShape")
TABLE.mark(ALIASING, "ReadVariableOp")
TABLE.mark(SESSION_CONSTANT, "VarHandleOp")


@shape_fn("VarHandleOp", "VarIsInitializedOp")
def _scalar(op):
    return [[]]


@shape_fn("AssignVariableOp", "AssignAddVariableOp", "AssignSubVariableOp", "DestroyResourceOp",
          "DisableCopyOnRead")
def _none(op):
    return []


@shape_fn("ReadVariableOp")
def _read_shape(op):
    handle = op.inputs[0].op
    return [handle.get_attr("shape") if handle.type == "VarHandleOp" else None]


@kernel("VarHandleOp")
def _handle(op, ctx):
    ref = ctx.variable(op)
    return lambda: ref


def _read_error(op, ref) -> errors.FailedPreconditionError:
    return errors.FailedPreconditionError(
        None, op, f"Error while reading resource variable {ref.name}: it is uninitialized. "
                  f"Run its initializer (tf.global_variables_initializer()) or restore it "
                  f"from a checkpoint first")


@kernel("ReadVariableOp")
def _read(op, ctx):
    def read(ref):
        if not ref.is_initialized():
            raise _read_error(op, ref)
        return ref.store[ref.name]
    return read


@kernel("AssignVariableOp")
def _assign(op, ctx):
    dtype = op.get_attr("dtype").as_numpy_dtype
    validate = op.get_attr("validate_shape")

    def assign(ref, value):
        value = donation.kept_or_copied(value, dtype)
        old = ref.store.get(ref.name)
        if validate and old is not None and old.shape != value.shape:
            raise errors.InvalidArgumentError(
                None, op, f"Trying to assign to variable {ref.name} with shape "
                          f"{list(old.shape)} a value of shape {list(value.shape)}")
        ref.write(value)
    return assign


def _updater(sign):
    def build(op, ctx):
        def update(ref, value):
            if not ref.is_initialized():
                raise _read_error(op, ref)
            old = ref.store[ref.name]
            if old.shape != np.shape(value):
                raise errors.InvalidArgumentError(
                    None, op, f"Cannot update variable {ref.name} of shape {list(old.shape)} "
                              f"using a Tensor of shape {list(np.shape(value))}, shapes must "
                              f"be equal.")
            ref.write((old + value if sign > 0 else old - value).astype(old.dtype, copy=False))
        return update
    return build


kernel("AssignAddVariableOp")(_updater(+1))
kernel("AssignSubVariableOp")(_updater(-1))


@kernel("VarIsInitializedOp")
def _is_initialized(op, ctx):
    return lambda ref: np.bool_(ref.is_initialized())


@kernel("DisableCopyOnRead")
def _disable_copy_on_read(op, ctx):
    return lambda ref: None


@kernel("DestroyResourceOp")
def _destroy(op, ctx):
    def destroy(ref):
        ref.store.pop(ref.name, None)
    return destroy


@shape_fn("VariableShape")
def _variable_shape_shape(op):
    handle = op.inputs[0].op
    rank = handle.get_attr("shape").ndims if handle.type == "VarHandleOp" else None
    return [[rank]]


@kernel("VariableShape")
def _variable_shape(op, ctx):
    dtype = op.get_attr("out_type").as_numpy_dtype

    def variable_shape(ref):
        if not ref.is_initialized():
            raise _read_error(op, ref)
        return np.array(np.shape(ref.store[ref.name]), dtype)
    return variable_shape
