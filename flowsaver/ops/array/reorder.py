"""Public functions that split, reverse and broadcast tensors and index them by N-d
coordinates: ``tf.split``, ``tf.reverse``, ``tf.broadcast_to``, ``tf.gather_nd``,
``tf.scatter_nd`` (re-exported by array_ops)."""
from __future__ import annotations

import numbers

from flowsaver.graph.operation import Tensor
from flowsaver.graph.tensor_shape import Dimension
from flowsaver.ops.op_builder import convert_to_tensor, create_op, graph_of


def split(value, num_or_size_splits, axis=0, num=None, name="split") -> list:
    """``value`` cut along ``axis`` into equal pieces (an int: ``Split``) or pieces of the
    given sizes, one of which may be -1 (a list or tensor: ``SplitV``).

    Raises:
      ValueError: sizes given as a scalar tensor, or whose count cannot be inferred.
    """
    g = graph_of([value, num_or_size_splits, axis])
    with g.as_default():
        if isinstance(num_or_size_splits, (numbers.Integral, Dimension)) and \
                not isinstance(num_or_size_splits, bool):
            return create_op("Split", [axis, value], {"num_split": int(num_or_size_splits)},
                             name=name)
        size_splits = convert_to_tensor(num_or_size_splits)
        if size_splits.shape.ndims == 0:
            raise ValueError(f"Rank-0 tensors are not supported as the num_or_size_splits "
                             f"argument to split. Argument provided: {num_or_size_splits}")
        if num is None:
            dims = size_splits.shape.as_list() if size_splits.shape.ndims else None
            num = dims[0] if dims else None
            if num is None:
                raise ValueError(f"Cannot infer argument `num` from shape "
                                 f"{num_or_size_splits}")
        return create_op("SplitV", [value, size_splits, axis], {"num_split": num}, name=name)


def reverse_v2(tensor, axis, name=None) -> Tensor:
    """``tensor`` with the order of the dimensions in ``axis`` reversed (``ReverseV2``)."""
    with graph_of([tensor, axis]).as_default():
        return create_op("ReverseV2", [tensor, axis], name=name)


reverse = reverse_v2


def broadcast_to(input, shape, name=None) -> Tensor:  # noqa: A002 - TensorFlow's name
    """``input`` broadcast, NumPy style, to ``shape`` (``BroadcastTo``)."""
    with graph_of([input, shape]).as_default():
        return create_op("BroadcastTo", [input, shape], name=name)


def gather_nd(params, indices, name=None, batch_dims=0, bad_indices_policy="") -> Tensor:
    """Slices of ``params`` at the N-d coordinates in the last axis of ``indices``
    (``GatherNd``).

    Raises:
      NotImplementedError: ``batch_dims`` > 0 (TensorFlow builds a composite for it).
    """
    if isinstance(batch_dims, Tensor) or batch_dims != 0:
        raise NotImplementedError("gather_nd with batch_dims > 0 is not built by flowsaver")
    with graph_of([params, indices]).as_default():
        return create_op("GatherNd", [params, indices],
                         {"bad_indices_policy": bad_indices_policy}, name=name)


def scatter_nd(indices, updates, shape, name=None, bad_indices_policy="") -> Tensor:
    """A tensor of ``shape``, zero except ``updates`` added at ``indices`` (``ScatterNd``)."""
    with graph_of([indices, updates, shape]).as_default():
        return create_op("ScatterNd", [indices, updates, shape],
                         {"bad_indices_policy": bad_indices_policy}, name=name)
