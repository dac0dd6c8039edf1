"""Segment means, maxima, minima and products: defs, shapes, kernels.

``SegmentMean``/``Max``/``Min``/``Prod`` reduce the rows of ``data`` that share a segment
id; the ids are sorted, the output has ``ids[-1] + 1`` rows and a row no id names holds 0
(1 for ``SegmentProd``). ``UnsortedSegmentMax``/``Min``/``Prod`` take ids of any shape
(a prefix of ``data``'s) in any order and a segment count; negative ids are dropped and an
empty segment holds the reduction's starting value: the type's lowest value for Max, its
highest for Min, 1 for Prod. (``SegmentSum``/``UnsortedSegmentSum`` live in scan_kernels.)
"""
from __future__ import annotations

import numpy as np

from flowsaver import errors
from flowsaver.graph.tensor_shape import TensorShape
from flowsaver.ops.const_eval import value_of
from flowsaver.ops.registry import OpTable
from flowsaver.ops.shapes import fail

TABLE = OpTable(__name__)
define, kernel, shape_fn = TABLE.define, TABLE.kernel, TABLE.shape_fn

# every dtype the segment and scan ops take
NUMBER_TYPES = ('float, double, int32, uint8, int16, int8, complex64, int64, qint8, quint8, '
            'qint32, bfloat16, qint16, quint16, uint16, complex128, half, uint32, uint64')
_REALS = ('float, double, int32, uint8, int16, int8, int64, bfloat16, uint16, half, uint32, '
          'uint64')
_SORTED_TYPES = {"SegmentMean": NUMBER_TYPES, "SegmentMax": _REALS, "SegmentMin": _REALS,
                 "SegmentProd": NUMBER_TYPES}
_UNSORTED_TYPES = {"UnsortedSegmentMax": _REALS, "UnsortedSegmentMin": _REALS,
                   "UnsortedSegmentProd": NUMBER_TYPES}
define(
    *[f'{name}(data: T, segment_ids: Tindices) -> (output: T); T: type {{{types}}}; '
      f'Tindices: type {{int32, int64}}' for name, types in _SORTED_TYPES.items()],
    *[f'{name}(data: T, segment_ids: Tindices, num_segments: Tnumsegments) -> (output: T); '
      f'T: type {{{types}}}; Tindices: type {{int32, int64}}; '
      f'Tnumsegments: type {{int32, int64}} = int32' for name, types in _UNSORTED_TYPES.items()],
)


def invalid(op, message: str) -> errors.InvalidArgumentError:
    """The InvalidArgumentError a segment kernel raises, naming its node."""
    return errors.InvalidArgumentError(op.node_def, op, message)


def _dims(shape) -> str:
    return f"[{','.join(map(str, shape))}]"


# ---- shapes -------------------------------------------------------------------------------------
@shape_fn(*_SORTED_TYPES)
def _sorted_shape(op):
    data, ids = op.inputs[0].shape, op.inputs[1].shape
    if data.ndims is not None and data.ndims < 1:
        raise fail(op, f"Shape must be at least rank 1 but is rank {data.ndims}")
    if ids.ndims is not None and ids.ndims != 1:
        raise fail(op, f"Shape must be rank 1 but is rank {ids.ndims}")
    # the row count is the last id plus one: never known before running
    return [TensorShape(None if data.ndims is None else [None] + data.as_list()[1:])]


@shape_fn(*_UNSORTED_TYPES)
def unsorted_segment_shape(op):
    """TensorFlow's one shape function of every unsorted segment reduction (``Sum`` too)."""
    data, ids = op.inputs[0].shape, op.inputs[1].shape
    if op.inputs[2].shape.ndims not in (None, 0):
        raise fail(op, f"Shape must be rank 0 but is rank {op.inputs[2].shape.ndims}")
    if ids.ndims is None or data.ndims is None:
        return [TensorShape(None)]
    if data.ndims < ids.ndims:
        raise fail(op, f"Shape must be at least rank {ids.ndims} but is rank {data.ndims}")
    for d, i in zip(data.as_list(), ids.as_list()):
        if d is not None and i is not None and d != i:
            raise fail(op, f"Dimensions must be equal, but are {d} and {i}")
    count = value_of(op.inputs[2])
    if count is not None and int(count) < 0:
        raise fail(op, f"Dimension size, given by scalar input 2, must be non-negative but is "
                       f"{int(count)}")
    first = None if count is None else int(count)
    return [TensorShape([first] + data.as_list()[ids.ndims:])]


# ---- the shared reduction -----------------------------------------------------------------------
_UFUNCS = {"Max": np.maximum, "Min": np.minimum, "Prod": np.multiply, "Mean": np.add}


def _reduction(op_type: str) -> str:
    return op_type.removeprefix("Unsorted").removeprefix("Segment")


def _scatter(ufunc, out: np.ndarray, ids: np.ndarray, rows: np.ndarray, floating: bool) -> None:
    """Reduce ``rows[k]`` into ``out[ids[k]]``, in order."""
    if ufunc in (np.maximum, np.minimum) and floating and np.isnan(rows).any():
        _scatter_extreme_with_nans(ufunc, out, ids, rows)
    else:
        ufunc.at(out, ids, rows)


def _scatter_extreme_with_nans(ufunc, out, ids, rows) -> None:
    """TensorFlow's CPU loop keeps its running value only while the next element is not
    beyond it; a NaN compares false, so it takes over, and the element after it takes over
    from it in turn. Per segment and column the result is thus the extreme of what follows
    the last NaN, or NaN when a NaN comes last (measured against TensorFlow 2.21)."""
    nan = np.isnan(rows)
    position = np.arange(len(ids)).reshape((-1,) + (1,) * (rows.ndim - 1))
    last_nan = np.full(out.shape, -1, np.int64)
    np.maximum.at(last_nan, ids, np.where(nan, position, -1))
    after = position > last_nan[ids]
    # elements up to the last NaN are replaced by the starting value, which changes nothing
    reduce = np.fmax if ufunc is np.maximum else np.fmin
    reduce.at(out, ids, np.where(after, rows, out[ids]))
    followers = np.zeros(out.shape, np.int64)
    np.add.at(followers, ids, after.astype(np.int64))
    out[(last_nan >= 0) & (followers == 0)] = np.nan


def _mean(sums: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``sums / counts`` per row; integers divide as C++ does, towards zero."""
    counts = np.maximum(counts, 1).reshape((-1,) + (1,) * (sums.ndim - 1))
    if sums.dtype.kind in "fc":
        return (sums / counts.astype(sums.dtype)).astype(sums.dtype)
    quotient = sums // counts.astype(sums.dtype)
    inexact_negative = (sums < 0) & (quotient * counts.astype(sums.dtype) != sums)
    return (quotient + inexact_negative).astype(sums.dtype)


# ---- SegmentMean / SegmentMax / SegmentMin / SegmentProd ----------------------------------------
def _check_sorted(op, data: np.ndarray, ids: np.ndarray) -> int:
    """The number of output rows, after TensorFlow's checks in TensorFlow's order."""
    if data.ndim < 1:
        raise invalid(op, "input must be at least rank 1")
    if ids.ndim != 1:
        raise invalid(op, "segment_ids should be a vector.")
    if ids.shape[0] != data.shape[0]:
        raise invalid(op, "segment_ids should be the same size as dimension 0 of input.")
    rows = int(ids[-1]) + 1 if ids.size else 0
    if rows < 0:
        raise invalid(op, "segment ids must be >= 0")
    # TensorFlow walks the runs of equal ids: first it checks that the next run's id is
    # larger, then that this run's id is in range; the first run failing either reports
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]]) if ids.size else np.zeros(0, int)
    run_ids = ids[starts].astype(np.int64)
    falls = np.r_[run_ids[1:] < run_ids[:-1], False]
    outside = (run_ids < 0) | (run_ids >= rows)
    bad = np.flatnonzero(falls | outside)
    if bad.size:
        first = bad[0]
        if falls[first]:
            raise invalid(op, "segment ids are not increasing")
        raise invalid(op, f"Segment id {run_ids[first]} out of range [0, {rows}), possibly "
                           f"because 'segment_ids' input is not sorted.")
    return rows


@kernel(*_SORTED_TYPES)
def _sorted_segment(op, ctx):
    reduction = _reduction(op.type)
    ufunc = _UFUNCS[reduction]
    dtype = op.get_attr("T")
    # the loop starts each segment from the reducer's identity: -inf for floating maxima
    start = {"Max": dtype.min, "Min": dtype.max, "Prod": 1, "Mean": 0}[reduction]
    if dtype.is_floating and reduction in ("Max", "Min"):
        start = -np.inf if reduction == "Max" else np.inf

    def run(data, ids):
        data, ids = np.asarray(data), np.asarray(ids)
        rows = _check_sorted(op, data, ids)
        out = np.full((rows,) + data.shape[1:], start, dtype=data.dtype)
        _scatter(ufunc, out, ids, data, dtype.is_floating)
        counts = np.bincount(ids, minlength=rows) if ids.size else np.zeros(rows, np.int64)
        if reduction == "Mean":
            return _mean(out, counts)
        if reduction != "Prod":  # a row no id names holds 0, not the starting value
            out[counts == 0] = 0
        return out
    return run


# ---- UnsortedSegmentMax / UnsortedSegmentMin / UnsortedSegmentProd ------------------------------
def _check_unsorted(op, data: np.ndarray, ids: np.ndarray, count: np.ndarray) -> int:
    if count.ndim != 0:
        raise invalid(op, f"num_segments should be a scalar, not shape {_dims(count.shape)}")
    if data.shape[:ids.ndim] != ids.shape:
        raise invalid(op, f"data.shape = {_dims(data.shape)} does not start with "
                           f"segment_ids.shape = {_dims(ids.shape)}")
    count = int(count)
    if count < 0:
        raise invalid(op, f"Input num_segments == {count} must not be negative.")
    outside = np.flatnonzero(ids.reshape(-1) >= count)
    if outside.size:
        where = np.unravel_index(outside[0], ids.shape)
        raise invalid(op, f"segment_ids[{','.join(str(int(i)) for i in where)}] = "
                           f"{int(ids.reshape(-1)[outside[0]])} is out of range [0, {count})")
    return count


@kernel(*_UNSORTED_TYPES)
def _unsorted_segment(op, ctx):
    reduction = _reduction(op.type)
    ufunc = _UFUNCS[reduction]
    dtype = op.get_attr("T")
    start = {"Max": dtype.min, "Min": dtype.max, "Prod": 1}[reduction]

    def run(data, ids, count):
        data, ids = np.asarray(data), np.asarray(ids)
        count = _check_unsorted(op, data, ids, np.asarray(count))
        inner = data.shape[ids.ndim:]
        out = np.full((count,) + inner, start, dtype=data.dtype)
        flat_ids = ids.reshape(-1)
        keep = flat_ids >= 0  # negative ids are dropped
        _scatter(ufunc, out, flat_ids[keep], data.reshape((-1,) + inner)[keep],
                 dtype.is_floating)
        return out
    return run
