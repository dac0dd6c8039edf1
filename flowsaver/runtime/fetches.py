"""Fetch structures and feed keys: what ``Session.run`` accepts, flattened and rebuilt."""
from __future__ import annotations

import collections

from flowsaver.graph.operation import Operation


def _element(graph, fetch):
    """The Tensor or Operation a fetch names, checked to be in ``graph``."""
    if fetch is None:
        raise TypeError(f"Fetch argument {fetch!r} has invalid type {type(fetch)!r}")
    try:
        return graph.as_graph_element(fetch, allow_tensor=True, allow_operation=True)
    except TypeError as e:
        raise TypeError(f"Fetch argument {fetch!r} has invalid type {type(fetch)!r}, must be "
                        f"a string or Tensor. ({e})") from None
    except ValueError as e:
        raise ValueError(f"Fetch argument {fetch!r} cannot be interpreted as a Tensor. "
                         f"({e})") from None
    except KeyError as e:
        raise ValueError(f"Fetch argument {fetch!r} cannot be interpreted as a Tensor. "
                         f"({e.args[0]})") from None


# What fetching an IndexedSlices (a sparse gradient) gives, as in TensorFlow.
IndexedSlicesValue = collections.namedtuple("IndexedSlicesValue",
                                            ["values", "indices", "dense_shape"])


class FetchMapper:
    """Flattens a nested fetch structure; ``build`` puts fetched values back in it."""

    def __init__(self, graph, fetches):
        self.tensors: list = []    # one per leaf; None for an Operation leaf
        self.targets: list = []
        self._builder = self._flatten(graph, fetches)
        self.key = tuple(id(t) if t is not None else None for t in self.tensors) + \
            tuple(id(t) for t in self.targets) + (self._shape_key,)

    _shape_key = None

    def _flatten(self, graph, fetches):
        if isinstance(fetches, dict):
            keys = list(fetches)
            builders = [self._flatten(graph, fetches[k]) for k in keys]
            kind = type(fetches)

            def build_dict(values):
                out = {k: b(values) for k, b in zip(keys, builders)}
                return out if kind is dict else kind(out)
            return build_dict
        if isinstance(fetches, (list, tuple)):
            builders = [self._flatten(graph, f) for f in fetches]
            if isinstance(fetches, tuple) and hasattr(fetches, "_fields"):
                return lambda values: type(fetches)(*[b(values) for b in builders])
            kind = type(fetches)
            return lambda values: kind(b(values) for b in builders)
        from flowsaver.ops.autodiff.indexed_slices import IndexedSlices
        if isinstance(fetches, IndexedSlices):
            parts = [self._flatten(graph, t) for t in (fetches.values, fetches.indices)]
            shape = None if fetches.dense_shape is None else \
                self._flatten(graph, fetches.dense_shape)
            return lambda values: IndexedSlicesValue(
                parts[0](values), parts[1](values), None if shape is None else shape(values))
        from flowsaver.ops.sparse.sparse_tensor import SparseTensor, SparseTensorValue
        if isinstance(fetches, SparseTensor):
            parts = [self._flatten(graph, t) for t in fetches.components()]
            return lambda values: SparseTensorValue(*[b(values) for b in parts])
        element = _element(graph, fetches)
        index = len(self.tensors)
        if isinstance(element, Operation):
            self.targets.append(element)
            self.tensors.append(None)
        else:
            self.tensors.append(element)
        return lambda values: values[index]

    def build(self, values):
        return self._builder(values)


def feed_pairs(graph, key, value):
    """(tensor, value) pairs for one feed_dict entry; a tuple key feeds several tensors."""
    if isinstance(key, (list, tuple)):
        if not isinstance(value, (list, tuple)) or len(value) != len(key):
            raise ValueError(f"A feed key that is a list ({key!r}) needs a value list of the "
                             f"same length")
        for k, v in zip(key, value):
            yield from feed_pairs(graph, k, v)
        return
    from flowsaver.ops.sparse.sparse_tensor import SparseTensor
    if isinstance(key, SparseTensor):   # fed with a SparseTensorValue or a 3-tuple
        yield from feed_pairs(graph, list(key.components()), list(value))
        return
    try:
        tensor = graph.as_graph_element(key, allow_tensor=True, allow_operation=False)
    except (TypeError, ValueError, KeyError) as e:
        message = e.args[0] if e.args else e
        raise TypeError(f"Cannot interpret feed_dict key as Tensor: {message}") from None
    yield tensor, value
