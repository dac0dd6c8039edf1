"""What a ``StridedSlice`` selects: TensorFlow's mask rules, shared by shape inference and kernel.

A slice spec is "sparse": one entry per index item (``x[1, ..., ::2, None]``), with bit masks
telling which entries are an ellipsis, a new axis or a shrunk (integer) index, and which
begins/ends are open. It is expanded to one "dense" entry per input dimension, each entry
is clamped the way Python slicing clamps, and the output shape is gathered from the
per-dimension sizes, adding new axes and dropping shrunk ones.
"""
from __future__ import annotations

from dataclasses import dataclass, field

NEW_AXIS = -1
SHRINK_AXIS = -2


class SliceError(ValueError):
    """An invalid slice; shape functions raise it as ValueError, kernels as InvalidArgument."""


@dataclass
class DenseDim:
    begin: int
    end: int
    stride: int
    begin_masked: bool
    end_masked: bool
    shrink: bool


@dataclass
class SliceResult:
    """Per input dimension: canonical (begin, end, stride, shrink) and size (None unknown)."""
    dims: list = field(default_factory=list)
    sizes: list = field(default_factory=list)
    final_shape: list | None = None


def _bit(mask: int, i: int) -> bool:
    return bool(mask & (1 << i))


def expand(rank: int, begin, end, strides, begin_mask, end_mask, ellipsis_mask,
           new_axis_mask, shrink_axis_mask):
    """Dense entries (one per input dim) and the final-shape gather list.

    ``begin``/``end`` may be None (values unknown); entries then hold 0.
    """
    n = len(strides)
    if ellipsis_mask & (ellipsis_mask - 1):
        raise SliceError("Multiple ellipses in slice spec not allowed")
    begin = list(begin) if begin is not None else [0] * n
    end = list(end) if end is not None else [0] * n
    strides = list(strides)
    if not ellipsis_mask:  # an implicit ellipsis at the end keeps the remaining dims
        ellipsis_mask |= 1 << n
        begin, end, strides = begin + [0], end + [0], strides + [1]
        n += 1
    new_after_ellipsis, seen = 0, False
    for i in range(n):
        if seen and _bit(new_axis_mask, i):
            new_after_ellipsis += 1
        if _bit(ellipsis_mask, i):
            seen = True
    dense, gather, full = [], [], 0
    for i in range(n):
        if _bit(ellipsis_mask, i):
            stop = min(rank - (n - i) + 1 + new_after_ellipsis, rank)
            while full < stop:
                dense.append(DenseDim(0, 0, 1, True, True, False))
                gather.append(full)
                full += 1
        elif _bit(new_axis_mask, i):
            gather.append(NEW_AXIS)
        else:
            if full == rank:
                raise SliceError(f"Index out of range using input dim {full}; input has only "
                                 f"{rank} dims")
            shrink = _bit(shrink_axis_mask, i)
            dense.append(DenseDim(int(begin[i]), int(end[i]), int(strides[i]),
                                  _bit(begin_mask, i), _bit(end_mask, i), shrink))
            gather.append(SHRINK_AXIS if shrink else full)
            full += 1
    return dense, gather


def resolve(input_dims: list, begin, end, strides, begin_mask=0, end_mask=0, ellipsis_mask=0,
            new_axis_mask=0, shrink_axis_mask=0) -> SliceResult:
    """Canonicalize a slice against ``input_dims`` (ints or None); sizes None when unknown.

    Raises:
      SliceError: a zero stride, a shrunk index out of bounds, or too many indices.
    """
    known_values = begin is not None and end is not None
    dense, gather = expand(len(input_dims), begin, end, strides, begin_mask, end_mask,
                           ellipsis_mask, new_axis_mask, shrink_axis_mask)
    result = SliceResult()
    for i, (d, dim) in enumerate(zip(dense, input_dims)):
        if d.stride == 0:
            raise SliceError(f"strides[{i}] must be non-zero")
        result.dims.append(d)
        if dim is None:
            result.sizes.append(1 if d.shrink else None)
            continue
        if d.shrink and d.stride <= 0:
            raise SliceError("only stride 1 allowed on non-range indexing.")
        length = None
        if known_values:
            _canonicalize(d, dim, i)
            length = d.end - d.begin
        elif d.shrink:
            length = 1
        elif d.begin_masked and d.end_masked:
            length = -dim if d.stride < 0 else dim
        if length is None:
            result.sizes.append(None)
        elif length == 0 or (length < 0) != (d.stride < 0):
            result.sizes.append(0)
        else:
            result.sizes.append(length // d.stride + (1 if length % d.stride else 0))
    final = []
    for g in gather:
        if g == NEW_AXIS:
            final.append(1)
        elif g >= 0:
            final.append(result.sizes[g])
    result.final_shape = final
    return result


def _canonicalize(d: DenseDim, dim: int, i: int) -> None:
    """Clamp begin/end into the dimension as Python slicing does; bound-check shrunk indices."""
    if d.shrink:
        index = d.begin + dim if d.begin < 0 else d.begin
        d.begin, d.end = index, index + 1
        if index < 0 or index >= dim:
            raise SliceError(f"slice index {index} of dimension {i} out of bounds.")
        return
    lo, hi = (0, dim) if d.stride > 0 else (-1, dim - 1)

    def canonical(x: int, masked: bool, is_end: bool) -> int:
        if masked:
            return (hi if is_end else lo) if d.stride > 0 else (lo if is_end else hi)
        x = x + dim if x < 0 else x
        return max(lo, min(hi, x))

    d.begin = canonical(d.begin, d.begin_masked, False)
    d.end = canonical(d.end, d.end_masked, True)


def numpy_index(result: SliceResult) -> tuple:
    """A NumPy index selecting the slice (shrunk dims as ints); reshape to final_shape after."""
    index = []
    for d, size in zip(result.dims, result.sizes):
        if d.shrink:
            index.append(d.begin)
        elif size == 0:
            index.append(slice(0, 0))
        elif d.stride > 0:
            index.append(slice(d.begin, d.end, d.stride))
        else:
            index.append(slice(d.begin, d.end if d.end >= 0 else None, d.stride))
    return tuple(index)
