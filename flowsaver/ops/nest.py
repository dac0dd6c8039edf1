"""Nested structures as TensorFlow's ``nest`` sees them: lists, tuples, namedtuples and dicts
(in sorted key order) are structure; anything else (a tensor, a TensorArray) is a leaf.

``tf.cond`` and ``tf.while_loop`` flatten what their functions return and pack the results
back into the same shape; RNN cells keep their state in such structures (``LSTMStateTuple``).
"""
from __future__ import annotations


def is_nested(value) -> bool:
    return isinstance(value, (list, tuple, dict))


def _children(value) -> list:
    if isinstance(value, dict):
        return [value[k] for k in sorted(value)]
    return list(value)


def flatten(structure) -> list:
    """The leaves of ``structure``, depth first."""
    if not is_nested(structure):
        return [structure]
    return [leaf for child in _children(structure) for leaf in flatten(child)]


def _rebuild(value, packed: list):
    if isinstance(value, dict):
        return type(value)(zip(sorted(value), packed))
    if hasattr(value, "_fields"):  # a namedtuple
        return type(value)(*packed)
    return type(value)(packed)


def pack_sequence_as(structure, flat_sequence):
    """``flat_sequence`` in the shape of ``structure``.

    Raises:
      ValueError: the number of leaves differs.
    """
    flat = list(flat_sequence)
    if len(flat) != len(flatten(structure)):
        raise ValueError(f"Could not pack sequence. Structure had {len(flatten(structure))} "
                         f"atoms, but flat_sequence had {len(flat)} items. Structure: "
                         f"{structure}, flat_sequence: {flat}.")
    leaves = iter(flat)

    def pack(value):
        if not is_nested(value):
            return next(leaves)
        return _rebuild(value, [pack(child) for child in _children(value)])
    return pack(structure)


def map_structure(fn, *structures):
    """``fn`` applied leaf by leaf to ``structures`` (all of one shape), in that shape."""
    first = structures[0]
    for other in structures[1:]:
        assert_same_structure(first, other)
    columns = zip(*[flatten(s) for s in structures])
    return pack_sequence_as(first, [fn(*leaves) for leaves in columns])


def assert_same_structure(a, b, check_types: bool = True) -> None:
    """ValueError (TypeError for a list against a tuple) when ``a`` and ``b`` nest
    differently."""
    if is_nested(a) != is_nested(b) or \
            (is_nested(a) and len(_children(a)) != len(_children(b))):
        raise ValueError(f"The two structures don't have the same nested structure.\n\n"
                         f"First structure: {a!r}\n\nSecond structure: {b!r}")
    if not is_nested(a):
        return
    if check_types and type(a) is not type(b):
        raise TypeError(f"The two structures don't have the same nested structure.\n\n"
                        f"First structure: {a!r}\n\nSecond structure: {b!r}\n\nMore "
                        f"specifically: The two namedtuples don't have the same sequence "
                        f"type. First structure type={type(a).__name__} while second "
                        f"structure type={type(b).__name__}")
    if isinstance(a, dict) and sorted(a) != sorted(b):
        raise ValueError(f"The two dictionaries don't have the same set of keys: "
                         f"{sorted(a)} and {sorted(b)}")
    for x, y in zip(_children(a), _children(b)):
        assert_same_structure(x, y, check_types)
