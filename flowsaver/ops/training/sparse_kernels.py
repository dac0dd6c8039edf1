"""The sparse optimizer updates (``SparseApplyMomentum``, ``SparseApplyAdagrad``,
``SparseApplyRMSProp``, ``SparseApplyCenteredRMSProp``, ``SparseApplyAdadelta``,
``SparseApplyFtrl``, ``SparseApplyFtrlV2``): the dense update's formula applied to the rows
``indices`` of the variable and its slots, with ``grad`` holding one row per index.

TensorFlow's kernels walk the indices in order; repeated indices (the optimizers remove
them first, raw ops may not) are replayed one at a time, the rest in one vectorized step.
"""
from __future__ import annotations

import numpy as np

from flowsaver import errors
from flowsaver.ops.registry import OpTable
from flowsaver.ops.training import kernels as dense
from flowsaver.ops.training import more_kernels as more

TABLE = OpTable(__name__)
define, kernel, shape_fn = TABLE.define, TABLE.kernel, TABLE.shape_fn

_T = ('T: type {float, double, int32, uint8, int16, int8, complex64, int64, qint8, quint8, '
      'qint32, bfloat16, qint16, quint16, uint16, complex128, half, uint32, uint64}; '
      'Tindices: type {int32, int64}; use_locking: bool = false')
define(
    f'SparseApplyMomentum(var: Ref(T), accum: Ref(T), lr: T, grad: T, indices: Tindices, momentum: T) -> (out: Ref(T)); {_T}; use_nesterov: bool = false',
    f'SparseApplyAdagrad(var: Ref(T), accum: Ref(T), lr: T, grad: T, indices: Tindices) -> (out: Ref(T)); {_T}; update_slots: bool = true',
    f'SparseApplyRMSProp(var: Ref(T), ms: Ref(T), mom: Ref(T), lr: T, rho: T, momentum: T, epsilon: T, grad: T, indices: Tindices) -> (out: Ref(T)); {_T}',
    f'SparseApplyCenteredRMSProp(var: Ref(T), mg: Ref(T), ms: Ref(T), mom: Ref(T), lr: T, rho: T, momentum: T, epsilon: T, grad: T, indices: Tindices) -> (out: Ref(T)); {_T}',
    f'SparseApplyAdadelta(var: Ref(T), accum: Ref(T), accum_update: Ref(T), lr: T, rho: T, epsilon: T, grad: T, indices: Tindices) -> (out: Ref(T)); {_T}',
    f'SparseApplyFtrl(var: Ref(T), accum: Ref(T), linear: Ref(T), grad: T, indices: Tindices, lr: T, l1: T, l2: T, lr_power: T) -> (out: Ref(T)); {_T}; multiply_linear_by_lr: bool = false',
    f'SparseApplyFtrlV2(var: Ref(T), accum: Ref(T), linear: Ref(T), grad: T, indices: Tindices, lr: T, l1: T, l2: T, l2_shrinkage: T, lr_power: T) -> (out: Ref(T)); {_T}; multiply_linear_by_lr: bool = false',
)
SPARSE_RULES = {"Momentum": (dense._momentum, 2), "Adagrad": (dense._adagrad, 2),
                "RMSProp": (dense._rmsprop, 3),
                "CenteredRMSProp": (more._centered_rmsprop, 4),
                "Adadelta": (more._adadelta, 3), "Ftrl": (more._ftrl, 3),
                "FtrlV2": (more._ftrl_v2, 3)}
TABLE.not_differentiable(*[f"SparseApply{name}" for name in SPARSE_RULES])
shape_fn(*[f"SparseApply{name}" for name in SPARSE_RULES])(dense.first_input_shape)


def sparse_update_kernel(rule, num_slots: int):
    """A kernel applying ``rule`` (a dense update) to the rows named by ``indices``."""
    def build(op, ctx):
        attr_names = {a.name for a in op.op_def.attrs}
        attrs = {k: op.get_attr(k) for k in ("use_nesterov", "update_slots",
                                             "multiply_linear_by_lr") if k in attr_names}
        dtype = np.dtype(op.get_attr("T").as_numpy_dtype)
        attrs["one"] = np.ones((), dtype=dtype)
        names = [a.name for a in op.op_def.inputs][num_slots:]
        at_indices = names.index("indices")
        at_grad = [n for n in names if n != "indices"].index("grad")

        def run(*args):
            refs, rest = args[:num_slots], list(args[num_slots:])
            indices = np.asarray(rest.pop(at_indices)).reshape(-1)
            olds = [ref.read() for ref in refs]
            rest = [np.asarray(r, dtype=dtype) for r in rest]
            grad, rows = rest[at_grad], olds[0].shape
            if grad.shape != (len(indices),) + rows[1:]:
                raise errors.InvalidArgumentError(
                    None, op, f"{op.type}: grad must have one row per index and the "
                              f"variable's row shape: grad {list(grad.shape)}, indices "
                              f"{list(indices.shape)}, var {list(rows)}")
            outside = np.flatnonzero((indices < 0) | (indices >= rows[0]))
            if outside.size:
                k = int(outside[0])
                raise errors.InvalidArgumentError(
                    None, op, f"Index {int(indices[k])} at offset {k} in indices is out of "
                              f"range (variable {refs[0].name}, {rows[0]} rows)")
            news = [old.copy() for old in olds]
            if len(np.unique(indices)) == len(indices):
                steps = [(indices, slice(None))]
            else:
                steps = [(indices[k:k + 1], slice(k, k + 1)) for k in range(len(indices))]
            for where, part in steps:
                inputs = [r[part] if i == at_grad else r for i, r in enumerate(rest)]
                updated = rule([new[where] for new in news], *inputs, attrs)
                for new, values in zip(news, updated):
                    new[where] = values
            for ref, new in zip(refs, news):
                ref.write(new)
            return refs[0]
        return run
    return build


for _name, (_rule, _slots) in SPARSE_RULES.items():
    kernel(f"SparseApply{_name}")(sparse_update_kernel(_rule, _slots))
