"""Nested element structures of ``tf.data``: tuples, dicts and namedtuples of components.

A dataset element is a nest of tensors; the graph ops see it flattened (``flatten``),
and the iterator puts ``get_next``'s flat outputs back into the same nest (``pack``).
Dicts flatten in sorted key order, and a list is one component (a tensor), not a nest,
as in TensorFlow's ``tf.data`` nest.
"""
from __future__ import annotations

from flowsaver.graph.attr_value import as_dtype
from flowsaver.graph.tensor_shape import TensorShape


def is_nested(value) -> bool:
    return isinstance(value, (tuple, dict))


def flatten(structure) -> list:
    """The leaves of ``structure`` in TensorFlow's order (dict keys sorted)."""
    if isinstance(structure, dict):
        return [leaf for key in sorted(structure) for leaf in flatten(structure[key])]
    if isinstance(structure, tuple):
        return [leaf for item in structure for leaf in flatten(item)]
    return [structure]


def pack(structure, flat) -> object:
    """``flat`` leaves arranged as ``structure`` (the inverse of ``flatten``)."""
    flat = list(flat)
    out, used = _pack(structure, flat, 0)
    if used != len(flat):
        raise ValueError(f"Structure had {used} leaves but {len(flat)} values were given")
    return out


def _pack(structure, flat, at):
    if isinstance(structure, dict):
        values = {}
        for key in sorted(structure):
            values[key], at = _pack(structure[key], flat, at)
        return type(structure)((k, values[k]) for k in structure), at
    if isinstance(structure, tuple):
        items = []
        for item in structure:
            value, at = _pack(item, flat, at)
            items.append(value)
        if hasattr(structure, "_fields"):
            return type(structure)(*items), at
        return type(structure)(items), at
    return flat[at], at + 1


def map_structure(fn, structure, *more):
    """``fn`` applied leaf by leaf to one or more structures of the same shape."""
    leaves = [flatten(s) for s in (structure,) + more]
    return pack(structure, [fn(*args) for args in zip(*leaves)])


def normalize_types(types, structure) -> object:
    """``types`` (one dtype or a nest) spread over ``structure``'s leaves as DTypes."""
    if not is_nested(types):
        return map_structure(lambda _: as_dtype(types), structure)
    return map_structure(as_dtype, types)


def normalize_shapes(shapes, structure) -> object:
    """``shapes`` spread over ``structure`` as TensorShapes (None: unknown rank)."""
    if shapes is None:
        return map_structure(lambda _: TensorShape(None), structure)
    if isinstance(shapes, TensorShape) or not is_nested(shapes) or \
            (isinstance(shapes, (list, tuple)) and all(
                s is None or isinstance(s, int) for s in shapes) and not is_nested(structure)):
        return map_structure(lambda _: TensorShape(shapes), structure)
    return pack(structure, [TensorShape(s) for s in _shape_leaves(shapes)])


def _shape_leaves(shapes) -> list:
    if isinstance(shapes, TensorShape) or shapes is None:
        return [shapes]
    if isinstance(shapes, dict):
        return [leaf for key in sorted(shapes) for leaf in _shape_leaves(shapes[key])]
    if isinstance(shapes, (list, tuple)) and all(s is None or isinstance(s, int)
                                                 for s in shapes):
        return [shapes]
    return [leaf for item in shapes for leaf in _shape_leaves(item)]


class ElementStructure:
    """``output_types``, ``output_shapes`` and ``output_classes`` of a dataset or iterator
    whose elements are described by ``_types`` and ``_shapes`` (the same nest)."""

    @property
    def output_types(self):
        return self._types

    @property
    def output_shapes(self):
        return self._shapes

    @property
    def output_classes(self):
        from flowsaver.graph.operation import Tensor
        return map_structure(lambda _: Tensor, self._types)
