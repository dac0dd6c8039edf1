"""Gradients of splitting, reversing and N-d indexing, as TensorFlow builds them.

A split's gradient joins the pieces' gradients again (``concat``); a reversal's reverses
the gradient; ``gather_nd``'s scatters it back (``scatter_nd``, or an ``IndexedSlices`` when
the indices pick whole rows), and ``scatter_nd``'s gathers it.
"""
from __future__ import annotations

from flowsaver.ops.array import api as array_ops
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
    return array_ops.reverse_v2(grad, op.inputs[1]), None


@gradient("GatherNd")
def _gather_nd_grad(op, grad):
    ref, indices = op.inputs
    ref_shape = array_ops.shape(ref, out_type=indices.dtype.base_dtype)
    if indices.shape.ndims == 2 and indices.shape.as_list()[-1] == 1:
        return [IndexedSlices(grad, array_ops.squeeze(indices, axis=-1), ref_shape), None]
    return [array_ops.scatter_nd(indices, grad, ref_shape,
                                 bad_indices_policy=op.get_attr("bad_indices_policy")), None]


@gradient("ScatterNd")
def _scatter_nd_grad(op, grad):
    return [None, array_ops.gather_nd(grad, op.inputs[0]), None]
