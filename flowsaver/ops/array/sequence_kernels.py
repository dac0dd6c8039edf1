"""ReverseSequence: the first ``seq_lengths[b]`` steps of each batch entry reversed
(bidirectional RNNs run their backward direction on it). Split, SplitV, ReverseV2,
GatherNd and ScatterNd live in ``split_kernels.py``."""
from __future__ import annotations

import numpy as np

from flowsaver import errors
from flowsaver.ops.registry import OpTable
from flowsaver.ops.shapes import fail

TABLE = OpTable(__name__)
define, kernel, shape_fn = TABLE.define, TABLE.kernel, TABLE.shape_fn

define(
    'ReverseSequence(input: T, seq_lengths: Tlen) -> (output: T); seq_dim: int; '
    'batch_dim: int = 0; T: type; Tlen: type {int32, int64} = int64',
)


def _invalid(op, message: str) -> errors.InvalidArgumentError:
    return errors.InvalidArgumentError(None, op, message)


@shape_fn("ReverseSequence")
def _reverse_sequence_shape(op):
    shape, lengths = op.inputs[0].shape, op.inputs[1].shape
    batch_dim = op.get_attr("batch_dim")
    if lengths.ndims not in (None, 1):
        raise fail(op, f"Shape must be rank 1 but is rank {lengths.ndims}")
    if shape.ndims is not None and lengths.ndims == 1 and batch_dim < shape.ndims:
        a, b = shape.as_list()[batch_dim], lengths.as_list()[0]
        if a is not None and b is not None and a != b:
            raise fail(op, f"Dimensions must be equal, but are {a} and {b}")
    return [shape]


@kernel("ReverseSequence")
def _reverse_sequence(op, ctx):
    seq_dim, batch_dim = op.get_attr("seq_dim"), op.get_attr("batch_dim")

    def reverse_sequence(tensor, lengths):
        if seq_dim == batch_dim:
            raise _invalid(op, f"seq_dim == batch_dim == {seq_dim}")
        lengths = np.reshape(lengths, -1)
        if len(lengths) != tensor.shape[batch_dim]:
            raise _invalid(op, f"Length of seq_lengths != input.dims({batch_dim}), "
                               f"({len(lengths)} vs. {tensor.shape[batch_dim]})")
        out = np.array(tensor, copy=True)
        for b, n in enumerate(lengths):
            if n < 0 or n > tensor.shape[seq_dim]:
                raise _invalid(op, f"seq_lengths[{b}] > input.dims({seq_dim})" if n > 0
                               else f"seq_lengths[{b}] must be >= 0, got {n}")
            index = [slice(None)] * tensor.ndim
            index[batch_dim] = b
            index[seq_dim] = slice(0, int(n))
            view = tensor[tuple(index)]
            out[tuple(index)] = np.flip(view, axis=seq_dim - (batch_dim < seq_dim))
        return out
    return reverse_sequence
