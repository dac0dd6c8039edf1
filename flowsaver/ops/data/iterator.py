"""Iterators over graph-mode datasets: one-shot, initializable, reinitializable
(``Iterator.from_structure``) and feedable (``Iterator.from_string_handle``).

Each builds TensorFlow's nodes: the iterator resource op, an ``IteratorToStringHandle``
right away, ``MakeIterator`` as the initializer and ``IteratorGetNext`` for ``get_next``,
which raises ``tf.errors.OutOfRangeError`` when the dataset is exhausted.
"""
from __future__ import annotations

import hashlib

from flowsaver.format.graph_protos import NameAttrList
from flowsaver.graph.attr_value import as_dtype
from flowsaver.graph.graph import get_default_graph
from flowsaver.graph.tensor_shape import TensorShape
from flowsaver.ops.data import func_graph, function_def, structure as nest
from flowsaver.ops.op_builder import convert_to_tensor, create_op, graph_of


class _DatasetFactory:
    """What a OneShotIterator's ``dataset_factory`` names: the dataset tensor to run."""

    def __init__(self, graph, dataset):
        self.graph, self.dataset = graph, dataset


class Iterator(nest.ElementStructure):
    """``tf.data.Iterator``: ``get_next()`` gives the next element of its dataset."""

    def __init__(self, resource, initializer, types, shapes):
        self._resource = resource
        self._initializer = initializer
        self._types, self._shapes = types, shapes
        self._string_handle = create_op("IteratorToStringHandle", [resource],
                                        name="IteratorToStringHandle")

    @property
    def initializer(self):
        if self._initializer is None:
            raise ValueError("Iterator does not have an initializer.")
        return self._initializer


    def get_next(self, name=None):
        """The next element (a nest of tensors); OutOfRangeError at the end when run."""
        with self._resource.graph.colocate_with(self._resource.op):
            outputs = create_op("IteratorGetNext", [self._resource], {
                "output_types": nest.flatten(self._types),
                "output_shapes": nest.flatten(self._shapes)}, name=name or "IteratorGetNext")
        return nest.pack(self._types, outputs)

    def string_handle(self, name=None):
        """A string naming this iterator, to feed ``Iterator.from_string_handle``."""
        if name is None:
            return self._string_handle
        with self._resource.graph.colocate_with(self._resource.op):
            return create_op("IteratorToStringHandle", [self._resource], name=name)

    def make_initializer(self, dataset, name=None):
        """An op pointing this iterator at ``dataset`` (same types; compatible shapes)."""
        if nest.flatten(dataset.output_types) != nest.flatten(self._types):
            raise TypeError(f"Expected output types {self._types} but got dataset with output "
                            f"types {dataset.output_types}.")
        for mine, theirs in zip(nest.flatten(self._shapes), nest.flatten(dataset.output_shapes)):
            if not mine.is_compatible_with(theirs):
                raise TypeError(f"Expected output shapes compatible with {self._shapes} but "
                                f"got dataset with output shapes {dataset.output_shapes}.")
        graph = graph_of([self._resource, dataset._variant_tensor])
        with graph.as_default(), graph.colocate_with(self._resource.op):
            return create_op("MakeIterator", [dataset._variant_tensor, self._resource],
                             name=name or "make_initializer")

    @staticmethod
    def from_structure(output_types, output_shapes=None, shared_name=None,
                       output_classes=None):
        """An iterator of this structure, with no dataset yet (``make_initializer``)."""
        types = nest.normalize_types(output_types, output_types)
        shapes = nest.normalize_shapes(output_shapes, types)
        resource = create_op("IteratorV2", [], {
            "shared_name": shared_name or "", "container": "",
            "output_types": nest.flatten(types), "output_shapes": nest.flatten(shapes)},
            name="IteratorV2")
        return Iterator(resource, None, types, shapes)

    @staticmethod
    def from_string_handle(string_handle, output_types, output_shapes=None,
                           output_classes=None):
        """An iterator that is whichever iterator the fed ``string_handle`` names."""
        types = nest.normalize_types(output_types, output_types)
        shapes = nest.normalize_shapes(output_shapes, types)
        handle = convert_to_tensor(string_handle, dtype="string")
        resource = create_op("IteratorFromStringHandleV2", [handle], {
            "output_types": nest.flatten(types), "output_shapes": nest.flatten(shapes)},
            name="IteratorFromStringHandleV2")
        return Iterator(resource, None, types, shapes)


def make_initializable_iterator(dataset, shared_name=None):
    """An iterator whose ``initializer`` (re-)starts it over ``dataset``."""
    variant = dataset._variant_tensor
    with variant.graph.colocate_with(variant.op):
        resource = create_op("IteratorV2", [], {
            "shared_name": shared_name or "", "container": "",
            "output_types": nest.flatten(dataset.output_types),
            "output_shapes": nest.flatten(dataset.output_shapes)}, name="IteratorV2")
        initializer = create_op("MakeIterator", [variant, resource], name="MakeIterator")
        return Iterator(resource, initializer, dataset.output_types, dataset.output_shapes)


def make_one_shot_iterator(dataset):
    """An iterator that starts over ``dataset`` on its first use, once."""
    graph = get_default_graph()
    variant = dataset._variant_tensor
    digest = hashlib.sha1(f"{variant.name}:{id(graph)}".encode()).hexdigest()[:11]
    name = f"_make_dataset_{digest}"
    func_graph.register(graph, name, _DatasetFactory(graph, variant))
    function_def.add_to_library(graph, function_def.build(
        name, function_def.ancestors(variant), [], [variant], is_data_function=False))
    with graph.colocate_with(variant.op):
        resource = create_op("OneShotIterator", [], {
            "dataset_factory": NameAttrList(name=name), "container": "", "shared_name": "",
            "output_types": nest.flatten(dataset.output_types),
            "output_shapes": nest.flatten(dataset.output_shapes)}, name="OneShotIterator")
        return Iterator(resource, None, dataset.output_types, dataset.output_shapes)


def get_output_types(dataset_or_iterator):
    return dataset_or_iterator.output_types


def get_output_shapes(dataset_or_iterator):
    return dataset_or_iterator.output_shapes


def get_output_classes(dataset_or_iterator):
    return dataset_or_iterator.output_classes


__all__ = ["Iterator", "TensorShape", "as_dtype", "get_output_classes", "get_output_shapes",
           "get_output_types", "make_initializable_iterator", "make_one_shot_iterator"]
