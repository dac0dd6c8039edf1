"""Ops that TensorFlow's training graphs hold besides gradients proper: the reduction
indices of broadcasting (``BroadcastGradientArgs``) and the optimizer updates
(``ApplyAdam``, ``ResourceApplyMomentum``, ...), each computing TensorFlow's formula.

Ref versions take ``Ref(T)`` variables and return the updated var; resource versions take
handles and return nothing. Both replace the stored arrays, except that a large stored
array that nothing but the store references (``_unshared``) is updated in place: then no
value fetched or read earlier can see the write. Large updates run block by block
(``_blockwise``), so that every temporary of the formula stays in cache.
"""
from __future__ import annotations

import sys

import numpy as np

from flowsaver import errors
from flowsaver.ops import blas_threads
from flowsaver.ops.registry import OpTable

TABLE = OpTable(__name__)
define, kernel, shape_fn = TABLE.define, TABLE.kernel, TABLE.shape_fn

define(
    'BroadcastGradientArgs(s0: T, s1: T) -> (r0: T, r1: T); T: type {int32, int64} = int32',
    'ApplyGradientDescent(var: Ref(T), alpha: T, delta: T) -> (out: Ref(T)); T: type {float, double, int32, uint8, int16, int8, complex64, int64, qint8, quint8, qint32, bfloat16, qint16, quint16, uint16, complex128, half, uint32, uint64}; use_locking: bool = false',
    'ResourceApplyGradientDescent(var: resource, alpha: T, delta: T) -> (); T: type {float, double, int32, uint8, int16, int8, complex64, int64, qint8, quint8, qint32, bfloat16, qint16, quint16, uint16, complex128, half, uint32, uint64}; use_locking: bool = false; !stateful',
    'ApplyMomentum(var: Ref(T), accum: Ref(T), lr: T, grad: T, momentum: T) -> (out: Ref(T)); T: type {float, double, int32, uint8, int16, int8, complex64, int64, qint8, quint8, qint32, bfloat16, qint16, quint16, uint16, complex128, half, uint32, uint64}; use_locking: bool = false; use_nesterov: bool = false',
    'ResourceApplyMomentum(var: resource, accum: resource, lr: T, grad: T, momentum: T) -> (); T: type {float, double, int32, uint8, int16, int8, complex64, int64, qint8, quint8, qint32, bfloat16, qint16, quint16, uint16, complex128, half, uint32, uint64}; use_locking: bool = false; use_nesterov: bool = false; !stateful',
    'ApplyAdam(var: Ref(T), m: Ref(T), v: Ref(T), beta1_power: T, beta2_power: T, lr: T, beta1: T, beta2: T, epsilon: T, grad: T) -> (out: Ref(T)); T: type {float, double, int32, uint8, int16, int8, complex64, int64, qint8, quint8, qint32, bfloat16, qint16, quint16, uint16, complex128, half, uint32, uint64}; use_locking: bool = false; use_nesterov: bool = false',
    'ResourceApplyAdam(var: resource, m: resource, v: resource, beta1_power: T, beta2_power: T, lr: T, beta1: T, beta2: T, epsilon: T, grad: T) -> (); T: type {float, double, int32, uint8, int16, int8, complex64, int64, qint8, quint8, qint32, bfloat16, qint16, quint16, uint16, complex128, half, uint32, uint64}; use_locking: bool = false; use_nesterov: bool = false; !stateful',
    'ApplyAdagrad(var: Ref(T), accum: Ref(T), lr: T, grad: T) -> (out: Ref(T)); T: type {float, double, int32, uint8, int16, int8, complex64, int64, qint8, quint8, qint32, bfloat16, qint16, quint16, uint16, complex128, half, uint32, uint64}; use_locking: bool = false; update_slots: bool = true',
    'ResourceApplyAdagrad(var: resource, accum: resource, lr: T, grad: T) -> (); T: type {float, double, int32, uint8, int16, int8, complex64, int64, qint8, quint8, qint32, bfloat16, qint16, quint16, uint16, complex128, half, uint32, uint64}; use_locking: bool = false; update_slots: bool = true; !stateful',
    'ApplyRMSProp(var: Ref(T), ms: Ref(T), mom: Ref(T), lr: T, rho: T, momentum: T, epsilon: T, grad: T) -> (out: Ref(T)); T: type {float, double, int32, uint8, int16, int8, complex64, int64, qint8, quint8, qint32, bfloat16, qint16, quint16, uint16, complex128, half, uint32, uint64}; use_locking: bool = false',
    'ResourceApplyRMSProp(var: resource, ms: resource, mom: resource, lr: T, rho: T, momentum: T, epsilon: T, grad: T) -> (); T: type {float, double, int32, uint8, int16, int8, complex64, int64, qint8, quint8, qint32, bfloat16, qint16, quint16, uint16, complex128, half, uint32, uint64}; use_locking: bool = false; !stateful',
)
TABLE.not_differentiable("ApplyAdagrad", "ApplyAdam", "ApplyGradientDescent", "ApplyMomentum",
                         "ApplyRMSProp", "ResourceApplyAdagrad", "ResourceApplyAdam",
                         "ResourceApplyGradientDescent", "ResourceApplyMomentum",
                         "ResourceApplyRMSProp")


@shape_fn("BroadcastGradientArgs")
def _bga_shape(op):
    return [[None], [None]]


def broadcast_gradient_args(s0, s1):
    """The axes to sum each input's gradient over, for a broadcasting binary op."""
    a, b = [int(d) for d in np.reshape(s0, -1)], [int(d) for d in np.reshape(s1, -1)]
    dtype = np.asarray(s0).dtype
    if a == b:  # no broadcasting at all: nothing to reduce
        return np.zeros(0, dtype), np.zeros(0, dtype)
    rank = max(len(a), len(b))
    pa, pb = [1] * (rank - len(a)) + a, [1] * (rank - len(b)) + b
    for i, (x, y) in enumerate(zip(pa, pb)):
        if x != y and x != 1 and y != 1:
            raise errors.InvalidArgumentError(f"Incompatible shapes: {a} vs. {b}")
    r0 = [i for i, x in enumerate(pa) if x == 1]
    r1 = [i for i, y in enumerate(pb) if y == 1]
    return np.array(r0, dtype), np.array(r1, dtype)


kernel("BroadcastGradientArgs")(lambda op, ctx: broadcast_gradient_args)


def first_input_shape(op):
    return [op.inputs[0].shape] if op.outputs else []


for _name in ("ApplyGradientDescent", "ApplyMomentum", "ApplyAdam", "ApplyAdagrad",
              "ApplyRMSProp", "ResourceApplyGradientDescent", "ResourceApplyMomentum",
              "ResourceApplyAdam", "ResourceApplyAdagrad", "ResourceApplyRMSProp"):
    shape_fn(_name)(first_input_shape)


# Each rule maps (current slot values, scalar/grad inputs, attrs) to new slot values.
def _sgd(slots, alpha, delta, attrs):
    (var,) = slots
    return (var - alpha * delta,)


def _momentum(slots, lr, grad, momentum, attrs):
    var, accum = slots
    accum = accum * momentum       # fresh arrays, updated in place: two allocations, not four
    accum += grad
    if attrs["use_nesterov"]:
        return var - (grad * lr + accum * momentum * lr), accum
    step = lr * accum
    np.subtract(var, step, out=step)
    return step, accum


def _adam(slots, beta1_power, beta2_power, lr, beta1, beta2, epsilon, grad, attrs):
    var, m, v = slots
    one = attrs["one"]
    lr_t = lr * np.sqrt(one - beta2_power) / (one - beta1_power)
    # TensorFlow's order of operations; each result is a fresh array, updated in place.
    new_m = grad - m
    new_m *= one - beta1
    new_m += m
    new_v = np.square(grad)
    new_v -= v
    new_v *= one - beta2
    new_v += v
    denom = np.sqrt(new_v)
    denom += epsilon
    if attrs["use_nesterov"]:
        step = new_m * beta1 + (one - beta1) * grad
        step *= lr_t
    else:
        step = new_m * lr_t
    step /= denom
    return var - step, new_m, new_v


def _adagrad(slots, lr, grad, attrs):
    var, accum = slots
    if attrs["update_slots"]:
        accum = accum + np.square(grad)
    return var - lr * grad / np.sqrt(accum), accum


def _rmsprop(slots, lr, rho, momentum, epsilon, grad, attrs):
    var, ms, mom = slots
    one = attrs["one"]
    ms = ms + (np.square(grad) - ms) * (one - rho)
    mom = mom * momentum + lr * grad / np.sqrt(ms + epsilon)
    return var - mom, ms, mom


RULES = {"GradientDescent": (_sgd, 1), "Momentum": (_momentum, 2), "Adam": (_adam, 3),
         "Adagrad": (_adagrad, 2), "RMSProp": (_rmsprop, 3)}


# Elements per block of a blockwise update: the block's slices and the formula's
# temporaries stay in a core's L2 cache: a sixteenth of it in float32 values, between
# 32768 (a 512 KiB L2) and 131072 (2 MiB). Measured on a 3.2M element Momentum update
# (AMD, 512 KiB L2): 6.7 ms in place by blocks, 14.2 ms as whole-array operations on fresh
# arrays (their pages faulted in on every step); on the Intel host (2 MiB L2), a Momentum
# step through a session 3.6 ms with blocks of 32768, 3.1 ms of 65536, 2.2-2.5 ms of
# 131072, 3.0 ms of 524288; Adam 9.4, 7.6, 5.9 and (262144) 6.0 ms.
BLOCK = min(131072, max(32768, blas_threads.l2_cache_bytes() // 16))


def _reference_counts(olds: list) -> list:
    return [sys.getrefcount(old) for old in olds]


def _own_references() -> int:
    """The count ``_reference_counts`` shows for an array that only a store and the
    kernel's list of old values hold (measured, not assumed: interpreters differ in the
    references their frames hold)."""
    store = {"v": np.empty(1)}
    olds = [store["v"]]
    return _reference_counts(olds)[0]


_OWN_REFERENCES = _own_references()


def _unshared(olds: list, dtype) -> list:
    """Which old values may be overwritten: arrays owning their memory, of the variable's
    dtype, that no fetched value, view or pending input references."""
    counts = _reference_counts(olds)
    return [type(old) is np.ndarray and old.base is None and old.dtype == dtype
            and old.flags.c_contiguous and old.flags.writeable and count <= _OWN_REFERENCES
            for old, count in zip(olds, counts)]


def _blockwise(rule, olds: list, rest: list, attrs, dtype) -> list:
    """``rule`` applied block by block of the flattened arrays; results written into the
    old arrays where ``_unshared`` allows, else into fresh ones. Elementwise rules only:
    every output element depends on the same element of each full-size input."""
    size = olds[0].size
    outs = [old if free else np.empty(old.shape, dtype)
            for old, free in zip(olds, _unshared(olds, dtype))]
    flat_olds = [old.reshape(-1) for old in olds]
    flat_outs = [out.reshape(-1) for out in outs]
    flat_rest = [r.reshape(-1) if r.size == size and r.ndim else r for r in rest]

    def blocks(first: int, stop: int) -> None:
        for start in range(first * BLOCK, min(stop * BLOCK, size), BLOCK):
            block = slice(start, start + BLOCK)
            news = rule([old[block] for old in flat_olds],
                        *[r[block] if r.ndim else r for r in flat_rest], attrs)
            for out, new in zip(flat_outs, news):
                out[block] = new

    blas_threads.over_rows(blocks, -(-size // BLOCK), size)
    return outs


def _check_slots(op, refs, olds) -> None:
    """Every slot has the variable's shape. (A function of its own: a loop variable left
    in the kernel's frame would count as one more reference for ``_unshared``.)"""
    shape = olds[0].shape
    for ref, old in zip(refs[1:], olds[1:]):
        if old.shape != shape:
            raise errors.InvalidArgumentError(
                None, op, f"{op.type}: {ref.name} has shape {list(old.shape)}, the "
                          f"variable {refs[0].name} {list(shape)}")


def update_kernel(rule, num_slots, resource):
    def build(op, ctx):
        attrs = {k: op.get_attr(k) for k in ("use_nesterov", "update_slots",
                                             "multiply_linear_by_lr")
                 if k in {a.name for a in op.op_def.attrs}}
        dtype = np.dtype(op.get_attr("T").as_numpy_dtype)
        names = [a.name for a in op.op_def.inputs][num_slots:]
        grad_index = names.index("grad") if "grad" in names else names.index("delta")

        attrs["one"] = np.ones((), dtype=dtype)

        def run(*args):
            refs, rest = args[:num_slots], args[num_slots:]
            try:
                olds = [ref.store[ref.name] for ref in refs]
            except KeyError:
                missing = next(r.name for r in refs if not r.is_initialized())
                raise errors.FailedPreconditionError(
                    None, op, f"Attempting to use uninitialized value {missing} "
                              f"(in {op.type} {op.name})") from None
            shape = olds[0].shape
            _check_slots(op, refs, olds)
            rest = [r if type(r) is np.ndarray and r.dtype == dtype else
                    np.asarray(r, dtype=dtype) for r in rest]
            if rest[grad_index].shape != shape:
                raise errors.InvalidArgumentError(
                    None, op, f"{op.type}: var {refs[0].name} and grad do not have the same "
                              f"shape: {list(shape)} vs {list(rest[grad_index].shape)}")
            if shape and olds[0].size >= 2 * BLOCK and all(r.ndim == 0 or r.shape == shape
                                                             for r in rest):
                news = _blockwise(rule, olds, rest, attrs, dtype)
            else:
                news = rule(olds, *rest, attrs)
            del olds
            for ref, new in zip(refs, news):
                ref.store[ref.name] = new if new.dtype == dtype else new.astype(dtype)
            return None if resource else refs[0]
        return run
    return build


for _family, (_rule, _slots) in RULES.items():
    kernel(f"Apply{_family}")(update_kernel(_rule, _slots, resource=False))
    kernel(f"ResourceApply{_family}")(update_kernel(_rule, _slots, resource=True))
