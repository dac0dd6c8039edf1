"""``tensordot`` over explicit axes of tensors of known rank, laid out as TensorFlow's
``tf.tensordot`` (what ``Dense`` applies to inputs of rank above 2).

A minimal copy for the layers: the math family's issue brings ``tf.tensordot`` in full
(integer ``axes``, unknown ranks) and this module then uses it.
"""
from __future__ import annotations

import numpy as np

from flowsaver.ops.array import api as array_ops
from flowsaver.ops.math import api as math_ops
from flowsaver.ops.op_builder import convert_to_tensor, graph_of


def _flattened(a, axes, flipped=False):
    """``a`` transposed and reshaped to a matrix: (free, contracted), or flipped."""
    dims = a.shape.as_list()
    axes = [i if i >= 0 else i + len(dims) for i in axes]
    free = [i for i in range(len(dims)) if i not in axes]
    free_dims = [dims[i] for i in free]
    if a.shape.is_fully_defined():
        prod_free = int(np.prod([dims[i] for i in free]))
        prod_axes = int(np.prod([dims[i] for i in axes]))
        perm = axes + free if flipped else free + axes
        shape = [prod_axes, prod_free] if flipped else [prod_free, prod_axes]
        moved = array_ops.transpose(a, perm) if perm != list(range(len(dims))) else a
        if moved.shape.as_list() != shape:
            moved = array_ops.reshape(moved, shape)
        return moved, free_dims, free_dims
    axes_t = convert_to_tensor(axes, dtype="int32", name="axes")
    free_t = convert_to_tensor(free, dtype="int32", name="free")
    shape_a = array_ops.shape(a)
    free_sizes = array_ops.gather(shape_a, free_t)
    axes_sizes = array_ops.gather(shape_a, axes_t)
    prod_free = math_ops.reduce_prod(free_sizes)
    prod_axes = math_ops.reduce_prod(axes_sizes)
    if flipped:
        perm = array_ops.concat([axes_t, free_t], 0)
        shape = array_ops.stack([prod_axes, prod_free])
    else:
        perm = array_ops.concat([free_t, axes_t], 0)
        shape = array_ops.stack([prod_free, prod_axes])
    return array_ops.reshape(array_ops.transpose(a, perm), shape), free_sizes, free_dims


def tensordot(a, b, axes, name=None):
    """Sum of ``a * b`` over ``axes = [a_axes, b_axes]`` (both of known rank)."""
    g = graph_of([a, b])
    with g.as_default(), g.name_scope(name or "Tensordot") as scope:
        a = convert_to_tensor(a, name="a")
        b = convert_to_tensor(b, name="b")
        a_axes, b_axes = axes
        if isinstance(a_axes, int):
            a_axes, b_axes = [a_axes], [b_axes]
        if a.shape.ndims is None or b.shape.ndims is None:
            raise NotImplementedError("tensordot of a tensor of unknown rank is not built "
                                      "by flowsaver's layers")
        a_mat, a_free, a_static = _flattened(a, list(a_axes))
        b_mat, b_free, b_static = _flattened(b, list(b_axes), flipped=True)
        product = math_ops.matmul(a_mat, b_mat)
        if isinstance(a_free, list) and isinstance(b_free, list):
            if product.shape.is_fully_defined() and \
                    product.shape.as_list() == a_free + b_free:
                return product
            return array_ops.reshape(product, a_free + b_free, name=scope)
        a_free = convert_to_tensor(a_free, dtype="int32")
        b_free = convert_to_tensor(b_free, dtype="int32")
        out = array_ops.reshape(product, array_ops.concat([a_free, b_free], 0), name=scope)
        out.set_shape(a_static + b_static)
        return out
