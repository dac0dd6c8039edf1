"""The array family's public functions (``tf.reshape``, ``tf.concat``, ``t[...]``, ...): re-exports."""
from flowsaver.ops.array.basic import (concat, fill, identity, newaxis, ones,  # noqa: F401
                                       ones_like, placeholder, placeholder_with_default, rank, reshape,
                                       shape, shape_n, size, stack, stop_gradient, unstack,
                                       zeros, zeros_like)
from flowsaver.ops.array.layout import expand_dims, pad, squeeze, tile, transpose  # noqa: F401
from flowsaver.ops.array.sequence import (gather_nd, reverse, reverse_sequence,  # noqa: F401
                                          scatter_nd, split)
from flowsaver.ops.array.slicing import (boolean_mask, gather, getitem,  # noqa: F401
                                         one_hot, slice, strided_slice, where,  # noqa: A004
                                         where_v2)

__all__ = ['placeholder', 'placeholder_with_default', 'identity', 'stop_gradient', 'fill',
           'zeros', 'ones', 'zeros_like', 'ones_like', 'stack', 'unstack', 'reshape', 'shape',
           'shape_n', 'size', 'rank', 'concat', 'transpose', 'expand_dims', 'squeeze', 'tile',
           'pad', 'newaxis', 'slice', 'strided_slice', 'gather', 'boolean_mask', 'where',
           'where_v2', 'one_hot', 'split', 'reverse', 'reverse_sequence', 'scatter_nd',
           'gather_nd']
