"""``tf.nn.embedding_lookup``: rows of a table, or of a table split into partitions.

One table is a ``GatherV2`` colocated with it. Several (a list, or a partitioned
variable) assign each id to a partition ("mod": ``id % n``; "div": contiguous ranges),
gather from each with ``DynamicPartition`` and put the rows back in order with
``ParallelDynamicStitch``, as TensorFlow does.
"""
from __future__ import annotations

from flowsaver.graph.tensor_shape import Dimension, TensorShape
from flowsaver.ops.array import api as array_ops
from flowsaver.ops.math import api as math_ops
from flowsaver.ops.op_builder import constant, convert_to_tensor, create_op, graph_of
from flowsaver.ops.state.partitioned import PartitionedVariable
from flowsaver.ops.state.resource_variables import ResourceVariable

__all__ = ["embedding_lookup"]


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
            params = [convert_to_tensor(p, name="params") for p in params]
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
        with g.colocate_with(params[0]):
            element_dims = array_ops.shape(params[0])[1:]
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
