"""Gradients of Split, SplitV, ReverseV2, ReverseSequence, ScatterNd and GatherNd, built as
TensorFlow builds them."""
from __future__ import annotations

from flowsaver.ops.array import basic as array_ops
from flowsaver.ops.array import layout
from flowsaver.ops.array import sequence
from flowsaver.ops.autodiff.indexed_slices import IndexedSlices
from flowsaver.ops.registry import OpTable

TABLE = OpTable(__name__)
gradient = TABLE.gradient


@gradient("Split")
def _split_grad(op, *grads):
    return None, array_ops.concat(list(grads), op.inputs[0])


@gradient("SplitV")
def _split_v_grad(op, *grads):
    return [array_ops.concat(list(grads), op.inputs[2])] + [None] * (len(op.inputs) - 1)


@gradient("ReverseV2")
def _reverse_grad(op, grad):
    return sequence.reverse(grad, op.inputs[1]), None


@gradient("ReverseSequence")
def _reverse_sequence_grad(op, grad):
    return [sequence.reverse_sequence(grad, batch_axis=op.get_attr("batch_dim"),
                                      seq_axis=op.get_attr("seq_dim"),
                                      seq_lengths=op.inputs[1]), None]


@gradient("ScatterNd")
def _scatter_nd_grad(op, grad):
    return [None, sequence.gather_nd(grad, op.inputs[0]), None]


@gradient("GatherNd")
def _gather_nd_grad(op, grad):
    ref, indices = op.inputs
    ref_shape = array_ops.shape(ref, out_type=indices.dtype)
    if indices.shape.ndims == 2 and indices.shape.as_list()[-1] == 1:
        ref_grad = IndexedSlices(grad, layout.squeeze(indices, axis=-1), ref_shape)
    else:
        ref_grad = sequence.scatter_nd(indices, grad, ref_shape,
                                       bad_indices_policy=op.get_attr("bad_indices_policy"))
    return [ref_grad, None]
