"""Sparse segment reductions and their gradient ops: defs, shapes, kernels.

``SparseSegmentSum``/``Mean``/``SqrtN`` reduce the rows ``data[indices[k]]`` that share a
(sorted) ``segment_ids[k]``: a sum, the sum over the row count, or the sum over its square
root. The output has ``segment_ids[-1] + 1`` rows, or ``num_segments`` in the
``...WithNumSegments`` forms, and a segment no id names holds 0.

The gradient ops run the other way: ``SparseSegment*Grad`` adds ``grad[segment_ids[k]]``
(scaled as the forward op scaled it) into row ``indices[k]`` of a dense
``output_dim0``-row result; ``SparseSegment*GradV2`` returns only the rows of the sorted
distinct ``indices`` beside those indices, the two halves of an ``IndexedSlices``.
The checks, their order and their wording follow TensorFlow 2.21's CPU kernels, as
measured: the forward ops walk runs of equal segment ids, the gradient ops walk elements.
"""
from __future__ import annotations

import numpy as np

from flowsaver.graph.tensor_shape import TensorShape
from flowsaver.ops.math.segment_kernels import invalid
from flowsaver.ops.registry import NO_GRADIENT, OpTable
from flowsaver.ops.shapes import fail, merge_shapes, scalar_value, with_rank

TABLE = OpTable(__name__)
define, kernel, shape_fn = TABLE.define, TABLE.kernel, TABLE.shape_fn

_SUM_TYPES = ('float, double, int32, uint8, int16, int8, int64, bfloat16, uint16, half, '
              'uint32, uint64')
_FLOATS = 'bfloat16, half, float, double'
_INDEX_ATTRS = 'Tidx: type {int32, int64} = int32; Tsegmentids: type {int32, int64} = int32'
_REDUCTIONS = {"Sum": _SUM_TYPES, "Mean": _FLOATS, "SqrtN": _FLOATS}
FORWARD = [f"SparseSegment{r}" for r in _REDUCTIONS]
WITH_NUM_SEGMENTS = [f"SparseSegment{r}WithNumSegments" for r in _REDUCTIONS]
GRADS = [f"SparseSegment{r}Grad" for r in _REDUCTIONS]
GRADS_V2 = [f"SparseSegment{r}GradV2" for r in _REDUCTIONS]
define(
    *[f'SparseSegment{r}(data: T, indices: Tidx, segment_ids: Tsegmentids) -> (output: T); '
      f'T: type {{{types}}}; {_INDEX_ATTRS}; sparse_gradient: bool = false'
      for r, types in _REDUCTIONS.items()],
    *[f'SparseSegment{r}WithNumSegments(data: T, indices: Tidx, segment_ids: Tsegmentids, '
      f'num_segments: Tnumsegments) -> (output: T); T: type {{{types}}}; '
      f'Tidx: type {{int32, int64}} = int32; Tnumsegments: type {{int32, int64}} = int32; '
      f'Tsegmentids: type {{int32, int64}} = int32; sparse_gradient: bool = false'
      for r, types in _REDUCTIONS.items()],
    *[f'SparseSegment{r}Grad(grad: T, indices: Tidx, segment_ids: Tsegmentids, '
      f'output_dim0: int32) -> (output: T); T: type {{{_FLOATS}}}; {_INDEX_ATTRS}'
      for r in _REDUCTIONS],
    *[f'SparseSegment{r}GradV2(grad: T, indices: Tidx, segment_ids: Tsegmentids, '
      f'dense_output_dim0: int32) -> (output: T, sorted_unique_indices: Tidx); '
      f'T: type {{{_FLOATS}}}; {_INDEX_ATTRS}' for r in _REDUCTIONS],
)
# TensorFlow registers no gradient for the gradient ops: differentiating them is an error
TABLE.mark(NO_GRADIENT, *GRADS, *GRADS_V2)


def _reduction(op_type: str) -> str:
    """"Sum", "Mean" or "SqrtN" from any of the op types above."""
    name = op_type.removeprefix("SparseSegment")
    return next(r for r in _REDUCTIONS if name.startswith(r))


# ---- shapes -------------------------------------------------------------------------------------
def _row_shape(op) -> TensorShape:
    """Everything but the first dimension of input 0 (rank checked to be at least 1)."""
    data = op.inputs[0].shape
    if data.ndims is None:
        return TensorShape(None)
    if data.ndims < 1:
        raise fail(op, f"Shape must be at least rank 1 but is rank {data.ndims}")
    return TensorShape(data.as_list()[1:])


def _with_first(first, rows: TensorShape) -> TensorShape:
    return TensorShape(None) if rows.ndims is None else TensorShape([first] + rows.as_list())


@shape_fn(*FORWARD, *WITH_NUM_SEGMENTS)
def _forward_shape(op):
    rows = _row_shape(op)
    indices = with_rank(op, op.inputs[1].shape, 1)
    ids = with_rank(op, op.inputs[2].shape, 1)
    merge_shapes(op, indices, ids)
    if op.type in FORWARD:  # the row count is the last id plus one: known only when run
        return [_with_first(None, rows)]
    with_rank(op, op.inputs[3].shape, 0)
    count = scalar_value(op.inputs[3])
    if count is not None and count < 0:
        raise fail(op, "Cannot specify a negative value for num_segments")
    return [_with_first(count, rows)]


@shape_fn(*GRADS, *GRADS_V2)
def _grad_shape(op):
    rows = _row_shape(op)
    indices = with_rank(op, op.inputs[1].shape, 1)
    # TensorFlow merges the ids into the indices, so a mismatch names them in that order
    merge_shapes(op, op.inputs[2].shape, indices)
    with_rank(op, op.inputs[3].shape, 0)
    if op.type in GRADS_V2:  # as many rows as distinct indices
        return [_with_first(None, rows), TensorShape([None])]
    count = scalar_value(op.inputs[3])
    if count is not None and count < 0:
        raise fail(op, "Cannot specify a negative value for output_dim0")
    return [_with_first(count, rows)]


# ---- SparseSegmentSum / Mean / SqrtN (and WithNumSegments) --------------------------------------
def _dims(shape) -> str:
    return f"[{','.join(map(str, shape))}]"


def _accumulator(dtype: np.dtype) -> np.dtype:
    """TensorFlow adds half and bfloat16 rows in float32, everything else in its own type."""
    return np.dtype(np.float32) if dtype.itemsize == 2 and dtype.kind not in "iu" else dtype


def _check_forward(op, data, indices, ids, count) -> tuple[int, np.ndarray]:
    """(output rows, start of each run of equal ids), after TensorFlow's checks in order."""
    if count is not None:
        if count.ndim != 0:
            raise invalid(op, f"num_segments should be a scalar, not shape "
                               f"{_dims(count.shape)}")
        if int(count) < 0:
            raise invalid(op, "segment ids must be >= 0")
    if indices.ndim != 1:
        raise invalid(op, "indices should be a vector.")
    if ids.ndim != 1:
        raise invalid(op, "segment_ids should be a vector.")
    if indices.size != ids.size:
        raise invalid(op, "segment_ids and indices should have same size.")
    if data.ndim < 1:
        raise invalid(op, "Shape must be at least rank 1")
    last = int(ids[-1]) if ids.size else -1
    if count is None:
        rows = last + 1
    else:
        rows = int(count)
        if rows <= last:
            raise invalid(op, "segment ids must be < num_segments")
    if rows < 0:
        raise invalid(op, "segment ids must be >= 0")
    if not ids.size:
        return rows, np.zeros(0, np.int64)
    if rows == 0:
        raise invalid(op, "segment ids must be >= 0")
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    _check_runs(op, data.shape[0], indices, ids[starts].astype(np.int64), starts, rows)
    return rows, starts


def _check_runs(op, dim0: int, indices, run_ids, starts, rows: int) -> None:
    """TensorFlow walks the runs of equal ids; for each it checks that the next run's id is
    larger, that this run's id is a row, then that each of its indices is a row of data.
    The first run failing any of them reports."""
    falls = np.r_[run_ids[1:] < run_ids[:-1], False]
    outside = (run_ids < 0) | (run_ids >= rows)
    bad_indices = np.flatnonzero((indices < 0) | (indices >= dim0))
    failing = np.flatnonzero(falls | outside)
    first_run = failing[0] if failing.size else len(starts)
    if bad_indices.size:
        first_run = min(first_run, int(np.searchsorted(starts, bad_indices[0], "right")) - 1)
    if first_run == len(starts):
        return
    if falls[first_run]:
        raise invalid(op, "segment ids are not increasing")
    if outside[first_run]:
        raise invalid(op, f"Segment id {run_ids[first_run]} out of range [0, {rows}), "
                           f"possibly because 'segment_ids' input is not sorted.")
    where = int(bad_indices[0])
    raise invalid(op, f"Bad: indices[{where}] == {int(indices[where])} out of range "
                       f"[0, {dim0})")


def _scale(reduction: str, counts: np.ndarray) -> np.ndarray:
    """What a segment's sum is divided by: 1, its row count, or that count's square root."""
    counts = np.maximum(counts, 1).astype(np.float64)
    return {"Sum": np.ones_like(counts), "Mean": counts, "SqrtN": np.sqrt(counts)}[reduction]


@kernel(*FORWARD, *WITH_NUM_SEGMENTS)
def _sparse_segment(op, ctx):
    reduction = _reduction(op.type)

    def run(data, indices, ids, count=None):
        data, indices, ids = np.asarray(data), np.asarray(indices), np.asarray(ids)
        count = None if count is None else np.asarray(count)
        rows, starts = _check_forward(op, data, indices, ids, count)
        out = np.zeros((rows,) + data.shape[1:], data.dtype)
        if not starts.size:
            return out
        gathered = data[indices].astype(_accumulator(data.dtype), copy=False)
        sums = np.add.reduceat(gathered, starts, axis=0, dtype=gathered.dtype)
        if reduction != "Sum":
            counts = np.diff(np.r_[starts, ids.size])
            divisor = _scale(reduction, counts).astype(sums.dtype)
            sums = sums / divisor.reshape((-1,) + (1,) * (sums.ndim - 1))
        out[ids[starts]] = sums.astype(data.dtype)
        return out
    return run


# ---- SparseSegment*Grad and SparseSegment*GradV2 ------------------------------------------------
def _check_grad(op, grad, indices, ids, dim0, dim0_name: str) -> int:
    """The dense row count, after the checks both gradient kernels make first."""
    if indices.ndim != 1:
        raise invalid(op, "indices should be a vector.")
    if ids.ndim != 1:
        raise invalid(op, "segment_ids should be a vector.")
    if dim0.ndim != 0:
        raise invalid(op, f"{dim0_name} should be a scalar.")
    if indices.size != ids.size:
        raise invalid(op, "segment_ids and indices should have same size.")
    if grad.ndim < 1:  # the output shape is grad's with its first dimension replaced
        raise invalid(op, "Index must be less than 0, got 0")
    rows = int(dim0)
    if rows < 0:
        raise invalid(op, f"Expected a non-negative size, got {rows}")
    return rows


def _check_elements(op, grad, indices, ids, rows: int, reduction: str, v2: bool) -> None:
    """Checks of the ids and indices once there is work: the last id against grad's rows,
    for the V1 mean and square root every id (while counting), then element by element
    the index and the id; the first failure reports."""
    segments = grad.shape[0]
    if int(ids[-1]) + 1 > segments:
        raise invalid(op, "Invalid number of segments")
    bad_ids = (ids < 0) | (ids >= segments)
    if not v2 and reduction != "Sum" and bad_ids.any():
        raise invalid(op, f"Segment id {int(ids[np.argmax(bad_ids)])} out of range "
                           f"[0, {segments}).")
    bad_indices = (indices < 0) | (indices >= rows)
    first = np.flatnonzero(bad_ids | bad_indices)
    if not first.size:
        return
    k = int(first[0])
    if bad_indices[k]:
        raise invalid(op, f"Index {int(indices[k])} out of range [0, {rows}).")
    raise invalid(op, f"Segment id {int(ids[k])} out of range [0, {segments}).")


def _scaled_rows(grad, ids, reduction: str) -> np.ndarray:
    """``grad[ids[k]]`` scaled by its segment's factor, one row per element."""
    rows = grad[ids]
    if reduction == "Sum":
        return rows
    counts = np.bincount(ids, minlength=grad.shape[0])
    factor = (1.0 / _scale(reduction, counts)).astype(grad.dtype)
    return rows * factor[ids].reshape((-1,) + (1,) * (rows.ndim - 1))


@kernel(*GRADS)
def _sparse_segment_grad(op, ctx):
    reduction = _reduction(op.type)

    def run(grad, indices, ids, dim0):
        grad, indices, ids = np.asarray(grad), np.asarray(indices), np.asarray(ids)
        rows = _check_grad(op, grad, indices, ids, np.asarray(dim0), "output_dim0")
        # TensorFlow leaves the output unwritten when there are no indices; here it is 0
        out = np.zeros((rows,) + grad.shape[1:], grad.dtype)
        if rows == 0 or not ids.size:
            return out
        _check_elements(op, grad, indices, ids, rows, reduction, v2=False)
        np.add.at(out, indices, _scaled_rows(grad, ids, reduction))
        return out
    return run


@kernel(*GRADS_V2)
def _sparse_segment_grad_v2(op, ctx):
    reduction = _reduction(op.type)

    def run(grad, indices, ids, dim0):
        grad, indices, ids = np.asarray(grad), np.asarray(indices), np.asarray(ids)
        rows = _check_grad(op, grad, indices, ids, np.asarray(dim0), "dense_output_dim0")
        if rows == 0 or not ids.size:
            return [np.zeros((0,) + grad.shape[1:], grad.dtype), np.zeros(0, indices.dtype)]
        _check_elements(op, grad, indices, ids, rows, reduction, v2=True)
        unique, position = np.unique(indices, return_inverse=True)
        out = np.zeros((unique.size,) + grad.shape[1:], grad.dtype)
        np.add.at(out, position.reshape(-1), _scaled_rows(grad, ids, reduction))
        return [out, unique.astype(indices.dtype)]
    return run
