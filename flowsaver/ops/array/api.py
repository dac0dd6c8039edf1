"""The array family's public functions (``tf.reshape``, ``tf.concat``, ``t[...]``, ...): re-exports."""
from flowsaver.ops.array.basic import (concat, fill, identity, newaxis, ones,  # noqa: F401
                                       ones_like, placeholder, placeholder_with_default, rank, reshape,
                                       shape, shape_n, size, stack, stop_gradient, unstack,
                                       zeros, zeros_like)
from flowsaver.ops.array.blocks import (batch_to_space, batch_to_space_nd,  # noqa: F401
                                        depth_to_space, space_to_batch, space_to_batch_nd,
                                        space_to_depth)
from flowsaver.ops.array.layout import (expand_dims, matrix_band_part, pad,  # noqa: F401
                                        squeeze, tile, transpose)
from flowsaver.ops.array.masks import meshgrid, sequence_mask  # noqa: F401
from flowsaver.ops.array.reorder import (broadcast_to, gather_nd, reverse,  # noqa: F401
                                         reverse_v2, scatter_nd, split)
from flowsaver.ops.array.sequence import reverse_sequence  # noqa: F401
from flowsaver.ops.array.slicing import (boolean_mask, gather, getitem,  # noqa: F401
                                         one_hot, slice, strided_slice, unique,
                                         where, where_v2)  # noqa: A004

__all__ = ['placeholder', 'placeholder_with_default', 'identity', 'stop_gradient', 'fill',
           'zeros', 'ones', 'zeros_like', 'ones_like', 'stack', 'unstack', 'reshape', 'shape',
           'shape_n', 'size', 'rank', 'concat', 'transpose', 'expand_dims', 'squeeze', 'tile',
           'pad', 'newaxis', 'slice', 'strided_slice', 'gather', 'boolean_mask', 'where',
           'where_v2', 'one_hot', 'broadcast_to', 'split', 'reverse', 'reverse_v2', 'gather_nd',
           'scatter_nd', 'sequence_mask', 'meshgrid', 'reverse_sequence', 'unique',
           'space_to_batch_nd', 'batch_to_space_nd', 'space_to_batch', 'batch_to_space',
           'space_to_depth', 'depth_to_space', 'matrix_band_part']
