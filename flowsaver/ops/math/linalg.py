"""Public contractions: ``tf.einsum`` and ``tf.tensordot``, built as TensorFlow builds them.

``einsum`` of one or two operands is one ``Einsum`` op (named ``einsum/Einsum``) holding
the equation TensorFlow resolves: spaces removed and, in implicit form, ``->`` and the
labels seen once, sorted. ``tensordot`` transposes and reshapes both operands to matrices,
multiplies them (``MatMul``) and reshapes the product; with fully known shapes every shape
is a constant and no-op transposes and reshapes are left out, otherwise shapes are computed
with ``Shape``/``GatherV2``/``Prod`` ops.
"""
from __future__ import annotations

import collections
import numbers
import re

import numpy as np

from flowsaver.graph.operation import Tensor
from flowsaver.ops.array import api as array_ops
from flowsaver.ops.math.basic import matmul
from flowsaver.ops.math.reductions import range as range_, reduce_prod
from flowsaver.ops.op_builder import convert_to_tensor, create_op, graph_of

__all__ = ['einsum', 'tensordot']

_ELLIPSIS_LABEL = "0"  # stands for "..." while the equation is checked, as in TensorFlow


def einsum(equation, *inputs, **kwargs):
    """A contraction written in Einstein notation, e.g. ``einsum('bij,bjk->bik', a, b)``.

    Raises:
      ValueError: a malformed equation, or one that does not fit the operands.
      NotImplementedError: three or more operands (TensorFlow orders their pairwise
        contractions with the opt_einsum package, which flowsaver does not have).
    """
    name = kwargs.pop("name", None)
    kwargs.pop("optimize", None)
    if kwargs:
        raise TypeError(f"Invalid keyword arguments for einsum: {', '.join(kwargs)}. Valid "
                        f"arguments: name, optimize, greedy.")
    g = graph_of(list(inputs))
    with g.as_default(), g.name_scope(name or "einsum"):
        resolved = resolve_equation(equation, len(inputs))
        if len(inputs) > 2:
            raise NotImplementedError(
                f"einsum of {len(inputs)} operands ('{equation}'): TensorFlow splits it into "
                f"pairwise Einsum ops in the order opt_einsum chooses; flowsaver builds one "
                f"or two operands only")
        return create_op("Einsum", [list(inputs)], {"equation": resolved})


def resolve_equation(equation: str, count: int) -> str:
    """The equation as TensorFlow stores it in the ``Einsum`` op, after its checks."""
    resolved = equation.replace(" ", "")
    if "..." in equation:
        if _ELLIPSIS_LABEL in resolved:
            raise ValueError(f'Invalid character "{_ELLIPSIS_LABEL}" in equation: '
                             f'{equation}.')
        resolved = resolved.replace("...", _ELLIPSIS_LABEL)
        allowed = "a-zA-Z" + _ELLIPSIS_LABEL
    else:
        allowed = "a-zA-Z"
    match = re.match(f"^([{allowed},]*)(->[{allowed}]*)?$", resolved)
    if not match:
        raise ValueError(f"Subscripts have incorrect format: {resolved}")
    input_labels = match.group(1).split(",")
    output_labels = match.group(2)[2:] if match.group(2) else None
    if count != len(input_labels):
        raise ValueError(f'Got {count} inputs for equation "{equation}", expecting '
                         f'{len(input_labels)}')
    if "->" not in resolved:
        counts = collections.Counter(match.group(1))
        output_labels = "".join(x for x in sorted(counts) if x != "," and counts[x] == 1)
        resolved += "->" + output_labels
    if output_labels and len(set(output_labels)) != len(output_labels):
        raise ValueError(f"Output subscripts contain a label appearing more than once: "
                         f"{equation}")
    seen = set(match.group(1))
    for label in output_labels:
        if label != _ELLIPSIS_LABEL and label not in seen:
            raise ValueError(f"Output subscripts contain the label {label} not present in the "
                             f"input subscripts.")
    if "..." in equation and output_labels.count(_ELLIPSIS_LABEL) > 1:
        raise ValueError(f"Output subscripts contain multiple ellipsis: {equation}")
    return resolved.replace(_ELLIPSIS_LABEL, "...") if "..." in equation else resolved


# ---- tensordot ----------------------------------------------------------------------------------
def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _contraction_axes(a: Tensor, axes):
    """The axes of ``a`` and of ``b`` to contract, as lists when known, else tensors."""
    if _is_int(axes):
        if axes < 0:
            raise ValueError(f"`axes` must be at least 0. Received: {axes}.")
        rank = a.shape.ndims
        if rank is not None:
            if axes > rank:
                raise ValueError(f"`axes` must not be larger than the number of dimensions of "
                                 f"tensor {a}.  Received {axes}, vs tensor dimensions {rank}.")
            return list(range(rank - axes, rank)), list(range(axes))
        rank_t = array_ops.rank(a)
        return (range_(rank_t - axes, rank_t, dtype="int32"), range_(axes, dtype="int32"))
    if isinstance(axes, (list, tuple)):
        if len(axes) != 2:
            raise ValueError(f"`axes` must be an integer or have length 2. Received {axes}.")
        a_axes, b_axes = axes
        if _is_int(a_axes) and _is_int(b_axes):
            a_axes, b_axes = [a_axes], [b_axes]
        if len(a_axes) != len(b_axes):
            raise ValueError(f"Different number of contraction axes `a` and `b`, "
                             f"{len(a_axes)} != {len(b_axes)}.")
        return a_axes, b_axes
    axes = convert_to_tensor(axes, name="axes", dtype="int32")
    return axes[0], axes[1]


def _as_matrix(a: Tensor, axes, flipped: bool = False):
    """``a`` transposed and reshaped so that ``axes`` form one matrix dimension.

    Returns ``(matrix, free dims, static free dims)``: free dims as a list when ``a``'s shape
    is fully known, else as a tensor.
    """
    if a.shape.is_fully_defined() and isinstance(axes, (list, tuple)):
        shape = a.shape.as_list()
        axes = [i if i >= 0 else i + len(shape) for i in axes]
        free = [i for i in range(len(shape)) if i not in axes]
        free_dims = [shape[i] for i in free]
        prod_free = int(np.prod([shape[i] for i in free]))
        prod_axes = int(np.prod([shape[i] for i in axes]))
        perm = list(axes) + free if flipped else free + list(axes)
        new_shape = [prod_axes, prod_free] if flipped else [prod_free, prod_axes]
        moved = array_ops.transpose(a, perm) if perm != list(range(len(shape))) else a
        if moved.shape.as_list() != new_shape:
            moved = array_ops.reshape(moved, new_shape)
        return moved, free_dims, free_dims
    if a.shape.ndims is not None and isinstance(axes, (list, tuple)):
        shape = a.shape.as_list()
        axes = [i if i >= 0 else i + len(shape) for i in axes]
        free = [i for i in range(len(shape)) if i not in axes]
        free_static = [shape[i] for i in free]
        axes = convert_to_tensor(axes, dtype="int32", name="axes")
        free = convert_to_tensor(free, dtype="int32", name="free")
        shape_a = array_ops.shape(a)
    else:
        free_static = None
        shape_a = array_ops.shape(a)
        rank_a = array_ops.rank(a)
        axes = convert_to_tensor(axes, dtype="int32", name="axes")
        axes = array_ops.where(axes >= 0, axes, axes + rank_a)
        free, _ = create_op("ListDiff", [range_(rank_a), axes], {"out_idx": "int32"})
    free_dims = array_ops.gather(shape_a, free)
    axes_dims = array_ops.gather(shape_a, axes)
    prod_free = reduce_prod(free_dims)
    prod_axes = reduce_prod(axes_dims)
    if flipped:
        perm = array_ops.concat([axes, free], 0)
        new_shape = array_ops.stack([prod_axes, prod_free])
    else:
        perm = array_ops.concat([free, axes], 0)
        new_shape = array_ops.stack([prod_free, prod_axes])
    return array_ops.reshape(array_ops.transpose(a, perm), new_shape), free_dims, free_static


def tensordot(a, b, axes, name=None):
    """The sum of products of ``a`` and ``b`` over ``axes`` (an int N: the last N axes of a
    with the first N of b; or a pair of axis lists), as one ``MatMul`` of reshaped operands.

    Raises:
      ValueError: ``axes`` is negative, too large, or its two lists differ in length.
    """
    g = graph_of([a, b, axes])
    with g.as_default(), g.name_scope(name or "Tensordot") as scope:
        a = convert_to_tensor(a, name="a")
        b = convert_to_tensor(b, name="b")
        a_axes, b_axes = _contraction_axes(a, axes)
        a_matrix, a_free, a_static = _as_matrix(a, a_axes)
        b_matrix, b_free, b_static = _as_matrix(b, b_axes, True)
        product = matmul(a_matrix, b_matrix)
        if isinstance(a_free, list) and isinstance(b_free, list):
            if product.shape.is_fully_defined() and \
                    product.shape.as_list() == a_free + b_free:
                return product
            return array_ops.reshape(product, a_free + b_free, name=scope)
        a_free = convert_to_tensor(a_free, dtype="int32")
        b_free = convert_to_tensor(b_free, dtype="int32")
        out = array_ops.reshape(product, array_ops.concat([a_free, b_free], 0), name=scope)
        if a_static is not None and b_static is not None:
            out.set_shape(a_static + b_static)
        return out
