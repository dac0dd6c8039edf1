"""``tf.clip_by_value``: ``Minimum`` then ``Maximum``, as TensorFlow builds it."""
from __future__ import annotations

from flowsaver.ops.autodiff.indexed_slices import IndexedSlices
from flowsaver.ops.math.basic import maximum, minimum
from flowsaver.ops.op_builder import convert_to_tensor, graph_of

__all__ = ["clip_by_value"]


def clip_by_value(t, clip_value_min, clip_value_max, name=None):
    """``t`` with values below ``clip_value_min`` raised to it and those above
    ``clip_value_max`` lowered to it (an IndexedSlices keeps its indices).

    Raises:
      ValueError: the bounds would broadcast ``t`` to another shape.
    """
    values = t.values if isinstance(t, IndexedSlices) else t
    g = graph_of([values, clip_value_min, clip_value_max])
    with g.as_default(), g.name_scope(name or "clip_by_value") as scope:
        values = convert_to_tensor(values, name="t")
        t_min = minimum(values, clip_value_max)
        values.shape.assert_is_compatible_with(t_min.shape)
        t_max = maximum(t_min, clip_value_min, name=scope)
        values.shape.assert_is_compatible_with(t_max.shape)
        if isinstance(t, IndexedSlices):
            return IndexedSlices(t_max, t.indices, t.dense_shape)
        return t_max
