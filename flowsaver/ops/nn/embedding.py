"""``tf.nn.embedding_lookup``: rows of a table, or of a table split into partitions.

One table is a ``GatherV2`` colocated with it. Several (a list, or a partitioned
variable) assign each id to a partition ("mod": ``id % n``; "div": contiguous ranges),
gather from each with ``DynamicPartition`` and put the rows back in order with
``ParallelDynamicStitch``, as TensorFlow does.

``tf.nn.embedding_lookup_sparse`` combines the rows each row of a ``SparseTensor`` of ids
names. Without weights and with one table (not a resource variable) that is one sparse
segment reduction straight over the table, with a sparse gradient; otherwise the distinct
ids are looked up once (``Unique``), and weighted rows are summed with ``SegmentSum`` and
divided by the summed weights ("mean") or by the root of their summed squares ("sqrtn").
"""
from __future__ import annotations

from flowsaver.graph.operation import Tensor
from flowsaver.graph.tensor_shape import Dimension, TensorShape
from flowsaver.ops.array import api as array_ops
from flowsaver.ops.math import api as math_ops
from flowsaver.ops.op_builder import constant, convert_to_tensor, create_op, graph_of
from flowsaver.ops.sparse.sparse_tensor import SparseTensor
from flowsaver.ops.state.partitioned import PartitionedVariable
from flowsaver.ops.state.resource_variables import ResourceVariable

__all__ = ["embedding_lookup", "embedding_lookup_sparse"]


def _is_resource(value) -> bool:
    return isinstance(value, ResourceVariable)


def embedding_lookup(params, ids, partition_strategy="mod", name=None,
                     validate_indices=True, max_norm=None):
    """The rows of ``params`` at ``ids``; ``params`` may be a list of partitions."""
    if params is None:
        raise ValueError("params must be specified")
    if isinstance(params, (list, tuple)) and not params:
        raise ValueError("Length of params is currently 0. Need at least one param.")
    if max_norm is not None:
        raise NotImplementedError("embedding_lookup with max_norm (clip_by_norm) is not "
                                  "built by flowsaver yet")
    if isinstance(params, PartitionedVariable):
        params = list(params)
    if not isinstance(params, (list, tuple)):
        params = [params]
    params = list(params)
    g = graph_of(params + [ids])
    with g.as_default(), g.name_scope(name or "embedding_lookup") as scope:
        count = len(params)
        if not any(_is_resource(p) for p in params):
            # each converted value is named params_<i>, even when there is only one
            params = [convert_to_tensor(p, name=f"params_{i}") for i, p in enumerate(params)]
        ids = convert_to_tensor(ids, name="ids")
        if count == 1:
            with g.colocate_with(params[0]):
                result = array_ops.gather(params[0], ids, name=scope)
            return array_ops.identity(result)
        return _partitioned(g, scope, params, ids, partition_strategy)


def _partitioned(g, scope, params, ids, strategy):
    count = len(params)
    flat_ids = array_ops.reshape(ids, [-1])
    original = math_ops.range(array_ops.size(flat_ids))
    if strategy == "mod":
        assignments = flat_ids % count
        new_ids = flat_ids // count
    elif strategy == "div":
        assignments, new_ids = _div_assignments(g, params, flat_ids)
    else:
        raise ValueError(f"Unrecognized partition strategy: {strategy}. Must be one of "
                         f"either `mod` or `div`.")
    assignments = math_ops.cast(assignments, "int32")
    gather_ids = create_op("DynamicPartition", [new_ids, assignments],
                           {"num_partitions": count})
    positions = create_op("DynamicPartition", [original, assignments],
                          {"num_partitions": count})
    rows = []
    for p in range(count):
        with g.device(None), g.colocate_with(params[p]):
            rows.append(array_ops.gather(params[p], gather_ids[p]))
    out = create_op("ParallelDynamicStitch", [positions, rows], name=scope)
    element = params[0].shape[1:] if params[0].shape.ndims is not None else TensorShape(None)
    for p in params[1:]:
        element = element.merge_with(p.shape[1:] if p.shape.ndims is not None
                                     else TensorShape(None))
    if element.is_fully_defined():
        element_dims = element.as_list()
    else:
        with g.colocate_with(params[0]):  # only the shape is read beside the table
            params_shape = array_ops.shape(params[0])
        element_dims = params_shape[1:]
    out = array_ops.reshape(out, array_ops.concat([array_ops.shape(ids), element_dims], 0))
    out.set_shape(ids.shape.concatenate(element))
    return out


def _div_assignments(g, params, flat_ids):
    """Partition and in-partition index of each id for contiguous ("div") partitions."""
    count = len(params)
    total = Dimension(params[0].shape.as_list()[0] if params[0].shape.ndims else None)
    for p in params[1:]:
        total += Dimension(p.shape.as_list()[0] if p.shape.ndims else None)
    if total.value:
        total_ids = constant(total.value, dtype=flat_ids.dtype.base_dtype)
    else:
        sizes = []
        for p in params:
            dim = p.shape.as_list()[0] if p.shape.ndims else None
            if dim is not None:
                sizes.append(dim)
            else:
                with g.colocate_with(p):
                    sizes.append(array_ops.shape(p)[0])
        total_ids = math_ops.reduce_sum(math_ops.cast(array_ops.stack(sizes),
                                                      flat_ids.dtype.base_dtype))
    per_partition = total_ids // count
    extras = total_ids % count
    assignments = math_ops.maximum(flat_ids // (per_partition + 1),
                                   (flat_ids - extras) // per_partition)
    new_ids = array_ops.where(assignments < extras, flat_ids % (per_partition + 1),
                              (flat_ids - extras) % per_partition)
    return assignments, new_ids


_COMBINERS = ("mean", "sqrtn", "sum")
_SPARSE_SEGMENT = {"mean": math_ops.sparse_segment_mean, "sqrtn": math_ops.sparse_segment_sqrt_n,
                   "sum": math_ops.sparse_segment_sum}


def embedding_lookup_sparse(params, sp_ids, sp_weights, partition_strategy="mod", name=None,
                            combiner=None, max_norm=None, allow_fast_lookup=False):
    """Per row of the ``SparseTensor`` ``sp_ids``, the rows of ``params`` its ids name,
    combined by ``combiner`` ("mean" by default, "sqrtn" or "sum") and weighted by the
    values of ``sp_weights`` (a ``SparseTensor`` with the same indices) when given.

    ``params`` is one table or a list of partitions (see ``embedding_lookup``); every row
    of ``sp_ids`` should have an id and its indices be in row-major order.
    Raises:
        ValueError: an unknown combiner, or ids and weights of incompatible shapes.
        TypeError: ``sp_ids`` or ``sp_weights`` is not a ``SparseTensor``.
    """
    if combiner is None:
        combiner = "mean"
    if combiner not in _COMBINERS:
        raise ValueError(f"combiner must be one of 'mean', 'sqrtn' or 'sum', got {combiner}")
    if isinstance(params, PartitionedVariable):
        params = list(params)
    if not isinstance(params, list):
        params = [params]
    if not isinstance(sp_ids, SparseTensor):
        raise TypeError(f"sp_ids must be SparseTensor, got {type(sp_ids)}")
    if sp_weights is not None:
        if not isinstance(sp_weights, SparseTensor):
            raise TypeError(f"sp_weights must be either None or SparseTensor,"
                            f"got {type(sp_weights)}")
        sp_ids.values.shape.assert_is_compatible_with(sp_weights.values.shape)
        sp_ids.indices.shape.assert_is_compatible_with(sp_weights.indices.shape)
        sp_ids.dense_shape.shape.assert_is_compatible_with(sp_weights.dense_shape.shape)
    g = graph_of(params + [sp_ids.indices, sp_ids.values])
    with g.as_default(), g.name_scope(name or "embedding_lookup_sparse") as scope:
        segment_ids = sp_ids.indices[:, 0]
        return _lookup_sparse(g, scope, params, segment_ids, sp_ids.values, sp_weights,
                              combiner, partition_strategy, max_norm, allow_fast_lookup)


def _lookup_sparse(g, scope, params, segment_ids, ids, sp_weights, combiner, strategy,
                   max_norm, allow_fast_lookup):
    if len(params) == 1 and not isinstance(params[0], Tensor) and not _is_resource(params[0]):
        params = [convert_to_tensor(params[0], name="params")]
    # one plain table on the ids' device: reduce straight over it, no Unique and no gather
    fast = (len(params) == 1 and not _is_resource(params[0])
            and params[0].device == segment_ids.device and max_norm is None
            and (allow_fast_lookup or sp_weights is None))
    if fast:
        indices, embeddings = ids, params[0]
    else:
        ids, indices = array_ops.unique(ids)
        embeddings = embedding_lookup(params, ids, partition_strategy=strategy,
                                      max_norm=max_norm)
    if sp_weights is None:
        return _SPARSE_SEGMENT[combiner](embeddings, indices, segment_ids, name=scope,
                                         sparse_gradient=fast and not allow_fast_lookup)
    return _weighted(embeddings, indices, segment_ids, sp_weights.values, combiner, scope)


def _weighted(embeddings, indices, segment_ids, weights, combiner, scope):
    """Rows times their weights, summed per segment and normalised by the weights."""
    segment_ids = math_ops.cast(segment_ids, "int32")
    embeddings = array_ops.gather(embeddings, indices)
    original_dtype = embeddings.dtype.base_dtype
    if original_dtype.name in ("float16", "bfloat16"):  # summed in float32, as TensorFlow
        embeddings = math_ops.cast(embeddings, "float32")
    weights = math_ops.cast(weights, embeddings.dtype.base_dtype)
    # weights of shape [n, 1, ..., 1], to scale whole rows
    ones_shape = array_ops.expand_dims(array_ops.rank(embeddings) - 1, 0)
    weights_shape = array_ops.shape(weights)
    ones = array_ops.ones(ones_shape, dtype=weights_shape.dtype)
    static_weights_shape = weights.shape
    weights = array_ops.reshape(weights, array_ops.concat([weights_shape, ones], 0))
    if embeddings.shape.ndims is not None:
        weights.set_shape(static_weights_shape.concatenate([1] * (embeddings.shape.ndims - 1)))
    embeddings = embeddings * weights
    if combiner == "sum":
        embeddings = math_ops.segment_sum(embeddings, segment_ids, name=scope)
    else:
        summed = math_ops.segment_sum(embeddings, segment_ids)
        if combiner == "mean":
            norm = math_ops.segment_sum(weights, segment_ids)
        else:
            squares = math_ops.segment_sum(math_ops.pow(weights, 2), segment_ids)
            norm = math_ops.sqrt(squares)
        embeddings = math_ops.div_no_nan(summed, norm, name=scope)
    return math_ops.cast(embeddings, original_dtype)
