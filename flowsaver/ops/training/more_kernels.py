"""The updates of Adadelta, FTRL (with and without L2 shrinkage) and centered RMSProp,
ref and resource versions, each computing TensorFlow's CPU formula (kernels.py holds the
shared kernel builder that reads the slots and writes the new values)."""
from __future__ import annotations

import numpy as np

from flowsaver.ops.registry import OpTable
from flowsaver.ops.training.kernels import first_input_shape, update_kernel

TABLE = OpTable(__name__)
define, kernel, shape_fn = TABLE.define, TABLE.kernel, TABLE.shape_fn

define(
    'ApplyAdadelta(var: Ref(T), accum: Ref(T), accum_update: Ref(T), lr: T, rho: T, epsilon: T, grad: T) -> (out: Ref(T)); T: type {float, double, int32, uint8, int16, int8, complex64, int64, qint8, quint8, qint32, bfloat16, qint16, quint16, uint16, complex128, half, uint32, uint64}; use_locking: bool = false',
    'ResourceApplyAdadelta(var: resource, accum: resource, accum_update: resource, lr: T, rho: T, epsilon: T, grad: T) -> (); T: type {float, double, int32, uint8, int16, int8, complex64, int64, qint8, quint8, qint32, bfloat16, qint16, quint16, uint16, complex128, half, uint32, uint64}; use_locking: bool = false; !stateful',
    'ApplyFtrl(var: Ref(T), accum: Ref(T), linear: Ref(T), grad: T, lr: T, l1: T, l2: T, lr_power: T) -> (out: Ref(T)); T: type {float, double, int32, uint8, int16, int8, complex64, int64, qint8, quint8, qint32, bfloat16, qint16, quint16, uint16, complex128, half, uint32, uint64}; use_locking: bool = false; multiply_linear_by_lr: bool = false',
    'ResourceApplyFtrl(var: resource, accum: resource, linear: resource, grad: T, lr: T, l1: T, l2: T, lr_power: T) -> (); T: type {float, double, int32, uint8, int16, int8, complex64, int64, qint8, quint8, qint32, bfloat16, qint16, quint16, uint16, complex128, half, uint32, uint64}; use_locking: bool = false; multiply_linear_by_lr: bool = false; !stateful',
    'ApplyFtrlV2(var: Ref(T), accum: Ref(T), linear: Ref(T), grad: T, lr: T, l1: T, l2: T, l2_shrinkage: T, lr_power: T) -> (out: Ref(T)); T: type {float, double, int32, uint8, int16, int8, complex64, int64, qint8, quint8, qint32, bfloat16, qint16, quint16, uint16, complex128, half, uint32, uint64}; use_locking: bool = false; multiply_linear_by_lr: bool = false',
    'ResourceApplyFtrlV2(var: resource, accum: resource, linear: resource, grad: T, lr: T, l1: T, l2: T, l2_shrinkage: T, lr_power: T) -> (); T: type {float, double, int32, uint8, int16, int8, complex64, int64, qint8, quint8, qint32, bfloat16, qint16, quint16, uint16, complex128, half, uint32, uint64}; use_locking: bool = false; multiply_linear_by_lr: bool = false; !stateful',
    'ApplyCenteredRMSProp(var: Ref(T), mg: Ref(T), ms: Ref(T), mom: Ref(T), lr: T, rho: T, momentum: T, epsilon: T, grad: T) -> (out: Ref(T)); T: type {float, double, int32, uint8, int16, int8, complex64, int64, qint8, quint8, qint32, bfloat16, qint16, quint16, uint16, complex128, half, uint32, uint64}; use_locking: bool = false',
    'ResourceApplyCenteredRMSProp(var: resource, mg: resource, ms: resource, mom: resource, lr: T, rho: T, momentum: T, epsilon: T, grad: T) -> (); T: type {float, double, int32, uint8, int16, int8, complex64, int64, qint8, quint8, qint32, bfloat16, qint16, quint16, uint16, complex128, half, uint32, uint64}; use_locking: bool = false; !stateful',
)
_OPS = ("Adadelta", "Ftrl", "FtrlV2", "CenteredRMSProp")
TABLE.not_differentiable(*[f"{p}Apply{o}" for o in _OPS for p in ("", "Resource")])
for _op in _OPS:
    shape_fn(f"Apply{_op}", f"ResourceApply{_op}")(first_input_shape)


def _adadelta(slots, lr, rho, epsilon, grad, attrs):
    var, accum, accum_update = slots
    one = attrs["one"]
    accum = accum * rho + np.square(grad) * (one - rho)
    update = np.sqrt(accum_update + epsilon) / np.sqrt(accum + epsilon) * grad
    accum_update = accum_update * rho + np.square(update) * (one - rho)
    return var - update * lr, accum, accum_update


def _ftrl_step(var, accum, linear, grad, shrunk, lr, l1, l2, lr_power, attrs):
    """FTRL-proximal: the new (var, accum, linear); ``shrunk`` is the gradient the linear
    term takes (with L2 shrinkage added in the V2 op)."""
    if attrs.get("multiply_linear_by_lr"):
        raise NotImplementedError("FTRL with multiply_linear_by_lr is not built by flowsaver")
    new_accum = accum + np.square(grad)
    if lr_power == -0.5:
        root_new, root_old = np.sqrt(new_accum), np.sqrt(accum)
    else:
        root_new, root_old = np.power(new_accum, -lr_power), np.power(accum, -lr_power)
    linear = linear + shrunk - (root_new - root_old) / lr * var
    numerator = l1 * np.sign(linear) - linear
    denominator = root_new / lr + 2 * l2
    var = np.where(np.abs(linear) > l1, numerator / denominator, np.zeros_like(var))
    return var, new_accum, linear


def _ftrl(slots, grad, lr, l1, l2, lr_power, attrs):
    var, accum, linear = slots
    return _ftrl_step(var, accum, linear, grad, grad, lr, l1, l2, lr_power, attrs)


def _ftrl_v2(slots, grad, lr, l1, l2, l2_shrinkage, lr_power, attrs):
    var, accum, linear = slots
    shrunk = grad + 2 * l2_shrinkage * var
    return _ftrl_step(var, accum, linear, grad, shrunk, lr, l1, l2, lr_power, attrs)


def _centered_rmsprop(slots, lr, rho, momentum, epsilon, grad, attrs):
    var, mg, ms, mom = slots
    one = attrs["one"]
    ms = ms + (np.square(grad) - ms) * (one - rho)
    mg = mg + (grad - mg) * (one - rho)
    denom = ms - np.square(mg) + epsilon
    mom = mom * momentum + grad * lr / np.sqrt(denom)
    return var - mom, mg, ms, mom


for _name, _rule, _slots in (("Adadelta", _adadelta, 3), ("Ftrl", _ftrl, 3),
                             ("FtrlV2", _ftrl_v2, 3),
                             ("CenteredRMSProp", _centered_rmsprop, 4)):
    kernel(f"Apply{_name}")(update_kernel(_rule, _slots, resource=False))
    kernel(f"ResourceApply{_name}")(update_kernel(_rule, _slots, resource=True))
