"""Public functions that rearrange a tensor's dimensions: ``tf.transpose``,
``tf.expand_dims``, ``tf.squeeze``, ``tf.tile`` and ``tf.pad`` (re-exported by array_ops)."""
from __future__ import annotations

import numpy as np

from flowsaver.graph.operation import Operation, Tensor
from flowsaver.ops.const_eval import value_of
from flowsaver.ops.op_builder import convert_to_tensor, create_op, graph_of


def _tensor_like(value) -> bool:
    return isinstance(value, Tensor) or (hasattr(value, "_as_graph_element") and
                                         not isinstance(value, Operation))


def transpose(a, perm=None, name="transpose", conjugate=False) -> Tensor:
    """``a`` with its dimensions permuted by ``perm`` (default: reversed) (``Transpose``)."""
    g = graph_of([a, perm])
    with g.as_default(), g.name_scope(name or "transpose") as scope:
        if not _tensor_like(a):
            a = convert_to_tensor(a, name="a")
        op_type = "ConjugateTranspose" if conjugate and a.dtype.is_complex else "Transpose"
        if perm is None:
            ndims = a.shape.ndims
            if ndims is None:
                last = create_op("Rank", [a], name="Rank") - 1
                perm = create_op("Range", [last, -1, -1], name="Range")
            else:
                perm = np.arange(ndims - 1, -1, -1, dtype=np.int32)
        return create_op(op_type, [a, perm], name=scope)


def _one_of(new_name: str, new, old_name: str, old):
    if old is not None:
        if new is not None:
            raise ValueError(f"Cannot specify both '{new_name}' and '{old_name}'.")
        return old
    return new


def expand_dims(input, axis=None, name=None, dim=None) -> Tensor:  # noqa: A002
    """``input`` with a dimension of size 1 inserted at ``axis`` (``ExpandDims``)."""
    axis = _one_of("axis", axis, "dim", dim)
    if axis is None:
        raise ValueError("Must specify an axis argument to tf.expand_dims()")
    with graph_of([input, axis]).as_default():
        return create_op("ExpandDims", [input, axis], name=name)


def squeeze(input, axis=None, name=None, squeeze_dims=None) -> Tensor:  # noqa: A002
    """``input`` without its size-1 dimensions (those in ``axis`` only) (``Squeeze``)."""
    axis = _one_of("axis", axis, "squeeze_dims", squeeze_dims)
    if np.isscalar(axis):
        axis = [axis]
    with graph_of([input]).as_default():
        return create_op("Squeeze", [input], {"squeeze_dims": [int(a) for a in axis or []]},
                         name=name)


def tile(input, multiples, name=None) -> Tensor:  # noqa: A002
    """``input`` repeated ``multiples[i]`` times along each dimension (``Tile``)."""
    with graph_of([input, multiples]).as_default():
        return create_op("Tile", [input, multiples], name=name)


def _paddings_value(paddings):
    """Paddings known while building, with None for the unknown parts (TF's partial value)."""
    if isinstance(paddings, Tensor):
        if paddings.op.type == "Pack":
            return [_paddings_value(t) for t in paddings.op.inputs]
        v = value_of(paddings)
        return None if v is None else v.tolist()
    if isinstance(paddings, (list, tuple)):
        return [_paddings_value(p) for p in paddings]
    return paddings


def pad(tensor, paddings, mode="CONSTANT", name=None, constant_values=0) -> Tensor:
    """``tensor`` padded with ``paddings[i] = [before, after]`` per dimension.

    ``Pad`` for zeros, ``PadV2`` for another constant, ``MirrorPad`` for "REFLECT" and
    "SYMMETRIC".
    """
    mode = mode.upper()
    with graph_of([tensor, paddings, constant_values]).as_default():
        if mode == "CONSTANT":
            if (not _tensor_like(constant_values) and np.ndim(constant_values) == 0 and
                    constant_values == np.zeros_like(constant_values)):
                result = create_op("Pad", [tensor, paddings], name=name)
            else:
                result = create_op("PadV2", [tensor, paddings, constant_values], name=name)
        elif mode in ("REFLECT", "SYMMETRIC"):
            result = create_op("MirrorPad", [tensor, paddings], {"mode": mode}, name=name)
        else:
            raise ValueError(f'Value of argument `mode` expected to be one of "CONSTANT", '
                             f'"REFLECT", or "SYMMETRIC". Received `mode` = {mode}')
    known = _paddings_value(paddings)
    given = tensor.shape if isinstance(tensor, Tensor) else result.op.inputs[0].shape
    if given.ndims is not None and not result.shape.is_fully_defined() and known is not None:
        dims = []
        for padding, dim in zip(known, given.as_list()):
            if padding is None or dim is None or any(p is None for p in padding):
                dims.append(None)
            else:
                dims.append(sum(padding) + dim)
        result.set_shape(dims)
    return result


def invert_permutation(x, name=None) -> Tensor:
    """The permutation that undoes ``x`` (``InvertPermutation``)."""
    return create_op("InvertPermutation", [x], name=name)


def matrix_band_part(input, num_lower, num_upper, name=None) -> Tensor:  # noqa: A002
    """The central band of each innermost matrix: ``num_lower`` subdiagonals and
    ``num_upper`` superdiagonals kept (a negative count keeps that whole triangle), the rest
    zero (``MatrixBandPart``; ``tf.linalg.band_part``)."""
    with graph_of([input, num_lower, num_upper]).as_default():
        return create_op("MatrixBandPart", [input, num_lower, num_upper], name=name)
