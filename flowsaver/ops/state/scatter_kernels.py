"""``ScatterUpdate``, ``ScatterAdd``, ``ScatterSub``, ``ScatterMul``, ``ScatterDiv``,
``ScatterMin`` and ``ScatterMax`` on ref variables: rows ``indices`` of the variable
(its first dimension) combined with ``updates`` (shaped indices.shape + the variable's row
shape). Repeated indices all contribute, in order; for an update the last one stays.
The stored array is replaced, never written in place (fetched values stay as they were).
"""
from __future__ import annotations

import numpy as np

from flowsaver import errors
from flowsaver.ops.registry import NO_GRADIENT, OpTable

TABLE = OpTable(__name__)
define, kernel, shape_fn = TABLE.define, TABLE.kernel, TABLE.shape_fn

_NUMBERS = ('{float, double, int32, uint8, int16, int8, complex64, int64, qint8, quint8, '
            'qint32, bfloat16, qint16, quint16, uint16, complex128, half, uint32, uint64}')
_REAL = '{half, bfloat16, float, double, int32, int64}'
_SIGNATURE = ('{op}(ref: Ref(T), indices: Tindices, updates: T) -> (output_ref: Ref(T)); '
              'T: type{types}; Tindices: type {{int32, int64}}; use_locking: bool = {lock}')
define(
    _SIGNATURE.format(op="ScatterUpdate", types="", lock="true"),
    *[_SIGNATURE.format(op=op, types=" " + _NUMBERS, lock="false")
      for op in ("ScatterAdd", "ScatterSub", "ScatterMul", "ScatterDiv")],
    *[_SIGNATURE.format(op=op, types=" " + _REAL, lock="false")
      for op in ("ScatterMin", "ScatterMax")],
)
TABLE.not_differentiable("ScatterAdd", "ScatterSub", "ScatterMul", "ScatterDiv")
TABLE.mark(NO_GRADIENT, "ScatterUpdate", "ScatterMin", "ScatterMax")


def _divide_in_order(values, rows, updates) -> None:
    if values.dtype.kind in "iu":  # C++ integer division truncates, one update at a time
        for row, update in zip(rows, updates):
            quotient = np.trunc(values[row] / update)
            values[row] = quotient.astype(values.dtype)
    else:
        np.divide.at(values, rows, updates)


def _overwrite(values, rows, updates) -> None:
    values[rows] = updates  # NumPy keeps the last of repeated rows, as TensorFlow's loop


_COMBINE = {"ScatterUpdate": _overwrite, "ScatterAdd": np.add.at,
            "ScatterSub": np.subtract.at, "ScatterMul": np.multiply.at,
            "ScatterDiv": _divide_in_order, "ScatterMin": np.minimum.at,
            "ScatterMax": np.maximum.at}


@shape_fn(*_COMBINE)
def _scatter_shape(op):
    ref, indices, updates = (t.shape for t in op.inputs)
    if None not in (ref.ndims, indices.ndims, updates.ndims):
        expected = indices.concatenate(ref[1:]) if ref.ndims else None
        if expected is None or not updates.is_compatible_with(expected):
            raise ValueError(f"Shapes must be equal rank, but are {updates.ndims} and "
                             f"{indices.ndims + max(ref.ndims - 1, 0)} for '{op.name}' "
                             f"(op: '{op.type}') with input shapes: {ref}, {indices}, "
                             f"{updates}.")
    return [ref]


def _scatter(op, ctx):
    combine = _COMBINE[op.type]

    def run(ref, indices, updates):
        old = ref.read()
        indices = np.asarray(indices)
        updates = np.asarray(updates, old.dtype)
        if updates.shape != indices.shape + old.shape[1:]:
            raise errors.InvalidArgumentError(
                None, op, f"Must have updates.shape = indices.shape + params.shape[1:], got "
                          f"updates.shape {list(updates.shape)}, indices.shape "
                          f"{list(indices.shape)}, params.shape {list(old.shape)} (variable "
                          f"{ref.name})")
        flat = indices.reshape(-1)
        bad = flat[(flat < 0) | (flat >= old.shape[0])]
        if bad.size:
            position = int(np.flatnonzero(flat == bad[0])[0])
            raise errors.InvalidArgumentError(
                None, op, f"indices[{position}] = {int(bad[0])} is not in "
                          f"[0, {old.shape[0]}) (variable {ref.name})")
        values = old.copy()
        combine(values, flat, updates.reshape((len(flat),) + old.shape[1:]))
        ref.write(values)
        return ref
    return run


for _op_type in _COMBINE:
    kernel(_op_type)(_scatter)
