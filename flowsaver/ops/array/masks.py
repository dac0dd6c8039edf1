"""Public functions that build masks and coordinate grids from simpler ops:
``tf.sequence_mask`` and ``tf.meshgrid`` (re-exported by array_ops).

Both are TensorFlow Python composites; the ops, their order and names follow TensorFlow's.
The comparison and product come from the tensors' operators.
"""
from __future__ import annotations

import numpy as np

from flowsaver.graph.attr_value import as_dtype
from flowsaver.graph.operation import Tensor
from flowsaver.ops.array import basic, layout
from flowsaver.ops.op_builder import constant, convert_to_tensor, create_op, graph_of


def _all_dimensions(x):
    """Every axis of ``x``: a Const when its rank is known, else ``Range(0, Rank(x), 1)``."""
    if isinstance(x, Tensor) and x.shape.ndims is not None:
        return constant(np.arange(x.shape.ndims), dtype="int32")
    return create_op("Range", [0, basic.rank(x), 1])


def sequence_mask(lengths, maxlen=None, dtype="bool", name=None) -> Tensor:
    """``mask[..., j] = j < lengths[...]`` for ``j`` below ``maxlen`` (default: the largest
    length).

    Raises:
      ValueError: ``maxlen`` is not a scalar.
    """
    g = graph_of([lengths, maxlen])
    with g.as_default(), g.name_scope(name or "SequenceMask"):
        lengths = convert_to_tensor(lengths)
        if maxlen is None:
            maxlen = create_op("Max", [lengths, _all_dimensions(lengths)])
            maxlen = create_op("Maximum", [constant(0, maxlen.dtype), maxlen])
        else:
            maxlen = convert_to_tensor(maxlen)
        if maxlen.shape.ndims is not None and maxlen.shape.ndims != 0:
            raise ValueError(f"Argument `maxlen` must be scalar for sequence_mask, received "
                             f"`maxlen` = {maxlen} with shape '{maxlen.shape}' instead")
        kind = maxlen.dtype.base_dtype
        row_vector = create_op("Range", [constant(0, kind), maxlen, constant(1, kind)])
        matrix = create_op("Cast", [layout.expand_dims(lengths, -1)], {"DstT": kind})
        result = row_vector < matrix
        if dtype is None or as_dtype(dtype).base_dtype == result.dtype.base_dtype:
            return result
        return create_op("Cast", [result], {"DstT": as_dtype(dtype).base_dtype})


def meshgrid(*args, **kwargs) -> list:
    """Coordinate grids of N 1-D tensors: ``indexing='xy'`` (Cartesian, the default) swaps
    the first two output axes, ``'ij'`` does not.

    Raises:
      TypeError: an unknown keyword argument.
      ValueError: ``indexing`` is neither 'xy' nor 'ij'.
    """
    indexing = kwargs.pop("indexing", "xy")
    name = kwargs.pop("name", "meshgrid")
    if kwargs:
        raise TypeError(f"'{next(iter(kwargs))}' is an invalid keyword argument for this "
                        f"function")
    if indexing not in ("xy", "ij"):
        raise ValueError(f"Argument `indexing` parameter must be either 'xy' or 'ij', got "
                         f"'{indexing}'")
    g = graph_of(list(args))
    with g.as_default(), g.name_scope(name or "meshgrid"):
        ndim = len(args)
        ones_shape = (1,) * ndim
        if not ndim:
            return []
        output = [basic.reshape(basic.stack(x), ones_shape[:i] + (-1,) + ones_shape[i + 1:])
                  for i, x in enumerate(args)]
        sizes = [basic.size(x) for x in args]
        dtype = convert_to_tensor(args[0]).dtype.base_dtype
        if indexing == "xy" and ndim > 1:
            output[0] = basic.reshape(output[0], (1, -1) + (1,) * (ndim - 2))
            output[1] = basic.reshape(output[1], (-1, 1) + (1,) * (ndim - 2))
            sizes[0], sizes[1] = sizes[1], sizes[0]
        factor = basic.ones(sizes, dtype)
        return [x * factor for x in output]
