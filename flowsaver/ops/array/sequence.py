"""``tf.split``, ``tf.reverse``, ``tf.reverse_sequence``, ``tf.scatter_nd``, ``tf.gather_nd``."""
from __future__ import annotations

from flowsaver.graph.operation import Tensor
from flowsaver.graph.tensor_shape import Dimension
from flowsaver.ops.op_builder import convert_to_tensor, create_op, graph_of

__all__ = ["split", "reverse", "reverse_sequence", "scatter_nd", "gather_nd"]


def split(value, num_or_size_splits, axis=0, num=None, name="split") -> list:
    """``value`` cut along ``axis`` into ``num_or_size_splits`` equal pieces (``Split``), or
    into pieces of the given sizes (``SplitV``; one size may be -1).

    Raises:
      ValueError: sizes given as a scalar tensor, or their number unknown without ``num``.
    """
    g = graph_of([value, axis])
    with g.as_default():
        if isinstance(num_or_size_splits, (int, Dimension)) and \
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


def reverse(tensor, axis, name=None) -> Tensor:
    """``tensor`` with the order along each of ``axis`` reversed (``ReverseV2``)."""
    with graph_of([tensor, axis]).as_default():
        return create_op("ReverseV2", [tensor, axis], name=name)


def reverse_sequence(input, seq_lengths, seq_axis=None, batch_axis=None,  # noqa: A002
                     name=None, seq_dim=None, batch_dim=None) -> Tensor:
    """For each batch entry ``b``, the first ``seq_lengths[b]`` steps along ``seq_axis``
    reversed (``ReverseSequence``); ``seq_dim``/``batch_dim`` are the old names."""
    if seq_axis is not None and seq_dim is not None:
        raise ValueError("Cannot specify both 'seq_axis' and 'seq_dim'")
    if batch_axis is not None and batch_dim is not None:
        raise ValueError("Cannot specify both 'batch_axis' and 'batch_dim'")
    seq_axis = seq_dim if seq_axis is None else seq_axis
    batch_axis = batch_dim if batch_axis is None else batch_axis
    if seq_axis is None:
        raise TypeError("reverse_sequence() missing the argument 'seq_axis'")
    with graph_of([input, seq_lengths]).as_default():
        return create_op("ReverseSequence", [input, seq_lengths],
                         {"seq_dim": seq_axis, "batch_dim": batch_axis or 0}, name=name)


def scatter_nd(indices, updates, shape, name=None, bad_indices_policy="") -> Tensor:
    """Zeros of ``shape`` with ``updates`` added at ``indices`` (``ScatterNd``)."""
    with graph_of([indices, updates, shape]).as_default():
        return create_op("ScatterNd", [indices, updates, shape],
                         {"bad_indices_policy": bad_indices_policy}, name=name)


def gather_nd(params, indices, name=None, batch_dims=0, bad_indices_policy="") -> Tensor:
    """The slices of ``params`` that the last dimension of ``indices`` points at."""
    if batch_dims:
        raise NotImplementedError("gather_nd with batch_dims is not supported by flowsaver")
    with graph_of([params, indices]).as_default():
        return create_op("GatherNd", [params, indices],
                         {"bad_indices_policy": bad_indices_policy}, name=name)
