"""Iterator ops: ``IteratorV2``, ``OneShotIterator``, ``MakeIterator``, ``IteratorGetNext``
and the string handles of feedable iterators.

An iterator is a session resource (``ctx.resources``), keyed by its shared name or op
name: its kernel returns the ``IteratorResource``, which ``MakeIterator`` points at a
dataset's elements and ``IteratorGetNext`` advances. A string handle is a serialized
ResourceHandleProto naming the resource, as TensorFlow's is.
"""
from __future__ import annotations

import threading

import numpy as np

from flowsaver import errors
from flowsaver.format.protos import ResourceHandleProto
from flowsaver.ops.data import func_graph
from flowsaver.ops.functional import function_import
from flowsaver.ops.registry import NOT_FOLDABLE, OpTable

TABLE = OpTable(__name__)
define, kernel, shape_fn = TABLE.define, TABLE.kernel, TABLE.shape_fn

define(
    'IteratorV2() -> (handle: resource); shared_name: string; container: string; output_types: list(type) >= 1; output_shapes: list(shape) >= 1; !stateful',
    'OneShotIterator() -> (handle: resource); dataset_factory: func; output_types: list(type) >= 1; output_shapes: list(shape) >= 1; container: string = ""; shared_name: string = ""; !stateful',
    'MakeIterator(dataset: variant, iterator: resource) -> (); !stateful',
    'IteratorGetNext(iterator: resource) -> (components: output_types); output_types: list(type) >= 1; output_shapes: list(shape) >= 1; !stateful',
    'IteratorToStringHandle(resource_handle: resource) -> (string_handle: string); !stateful',
    'IteratorFromStringHandleV2(string_handle: string) -> (resource_handle: resource); output_types: list(type) >= 0 = []; output_shapes: list(shape) >= 0 = []; !stateful',
)
_OPS = sorted(TABLE.op_defs)
TABLE.not_differentiable(*_OPS)
TABLE.mark(NOT_FOLDABLE, *_OPS)
DEVICE = "/job:localhost/replica:0/task:0/device:CPU:0"
CONTAINER = "localhost"
TYPE_NAME = "tensorflow::data::IteratorResource"


class IteratorResource:
    """One iterator's position in one session."""

    def __init__(self, name: str, types, shapes):
        self.name, self.types, self.shapes = name, list(types), list(shapes)
        self._elements = None
        self._lock = threading.Lock()

    def initialize(self, dataset) -> None:
        with self._lock:
            self._elements = iter(dataset.elements())

    def get_next(self, op) -> list:
        with self._lock:
            if self._elements is None:
                raise errors.FailedPreconditionError(
                    None, op, "GetNext() failed because the iterator has not been initialized."
                              " Ensure that you have run the initializer operation for this "
                              f"iterator before getting the next element. (iterator {self.name})")
            try:
                element = next(self._elements)
            except StopIteration:
                self._elements = iter(())
                raise errors.OutOfRangeError(None, op, "End of sequence") from None
        return [np.asarray(c) if not isinstance(c, np.ndarray) else c for c in element]

    def handle(self) -> bytes:
        return ResourceHandleProto(device=DEVICE, container=CONTAINER, name=self.name,
                                   maybe_type_name=TYPE_NAME).SerializeToString()


def _resource(ctx, op, name: str) -> IteratorResource:
    return ctx.resource(("iterator", name), lambda: IteratorResource(
        name, op.get_attr("output_types"), op.get_attr("output_shapes")))


def _name(op) -> str:
    shared = op.get_attr("shared_name")
    shared = shared.decode() if isinstance(shared, bytes) else shared
    return shared or op.name


@shape_fn("IteratorV2", "OneShotIterator", "IteratorToStringHandle",
          "IteratorFromStringHandleV2")
def _scalar(op):
    return [[]]


@shape_fn("MakeIterator")
def _none(op):
    return []


@shape_fn("IteratorGetNext")
def _element_shapes(op):
    return list(op.get_attr("output_shapes"))


@kernel("IteratorV2")
def _iterator(op, ctx):
    name = _name(op)
    return lambda: _resource(ctx, op, name)


@kernel("OneShotIterator")
def _one_shot(op, ctx):
    name = _name(op)
    factory_name = op.get_attr("dataset_factory").name
    factory = func_graph.lookup(op.graph, factory_name)
    if factory is not None:
        make = ctx.run_function(factory.graph, [], [factory.dataset])
    else:   # a GraphDef's library function (a metagraph TensorFlow saved)
        function = function_import.load(op.graph, factory_name)
        if function is None:
            raise errors.UnimplementedError(
                None, op, f"{op.name}: its dataset_factory function {factory_name} is not in "
                          f"the graph's function library")
        make = ctx.run_function(function.graph, [], function.flat_outputs)

    def run():
        resource = _resource(ctx, op, name)
        with resource._lock:
            fresh = resource._elements is None
        if fresh:
            (dataset,) = make()
            resource.initialize(dataset)
        return resource
    return run


@kernel("MakeIterator")
def _make_iterator(op, ctx):
    def run(dataset, resource):
        _check_types(op, resource)
        resource.initialize(dataset)
    return run


def _check_types(op, resource) -> None:
    produced = op.inputs[0].op
    try:
        types = produced.get_attr("output_types")
    except ValueError:
        types = produced.get_attr("Toutput_types")
    if list(types) != list(resource.types):
        raise errors.InvalidArgumentError(
            None, op, f"The iterator {resource.name} produces "
                      f"{[t.name for t in resource.types]} but the dataset produces "
                      f"{[t.name for t in types]}")


@kernel("IteratorGetNext")
def _get_next(op, ctx):
    return lambda resource: resource.get_next(op)


@kernel("IteratorToStringHandle")
def _to_handle(op, ctx):
    return lambda resource: np.array(resource.handle(), dtype=object)


@kernel("IteratorFromStringHandleV2")
def _from_handle(op, ctx):
    want = list(op.get_attr("output_types"))

    def run(handle):
        data = np.asarray(handle, object).item()
        try:
            proto = ResourceHandleProto.FromString(data if isinstance(data, bytes)
                                                   else str(data).encode())
        except Exception:   # DecodeError: not a handle at all
            raise errors.InvalidArgumentError(None, op, f"{op.name}: the string is not an "
                                                        f"iterator handle") from None
        resource = ctx.resources.get(("iterator", proto.name))
        if resource is None:
            raise errors.NotFoundError(None, op, f"{op.name}: no iterator {proto.name!r} in "
                                                 f"this session")
        if want and want != resource.types:
            raise errors.InvalidArgumentError(
                None, op, f"Expected types {[t.name for t in want]} but the iterator "
                          f"{proto.name} produces {[t.name for t in resource.types]}")
        return resource
    return run
