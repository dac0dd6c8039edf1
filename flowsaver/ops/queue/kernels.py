"""Queue ops (``FIFOQueueV2``, ``RandomShuffleQueueV2``, ``PaddingFIFOQueueV2``, enqueue,
dequeue, close, size) over the session's queue resources, and ``CountUpTo``, which input
producers use to count epochs."""
from __future__ import annotations

import threading

import numpy as np

from flowsaver import errors
from flowsaver.ops.queue.queues import PaddingQueue, Queue, ShuffleQueue
from flowsaver.ops.random.philox import WordStream
from flowsaver.ops.registry import NOT_FOLDABLE, OpTable

TABLE = OpTable(__name__)
define, kernel, shape_fn = TABLE.define, TABLE.kernel, TABLE.shape_fn

_QUEUE = 'component_types: list(type) >= 1; shapes: list(shape) >= 0 = []; capacity: int = -1'
_NAMES = 'container: string = ""; shared_name: string = ""; !stateful'
define(
    f'FIFOQueueV2() -> (handle: resource); {_QUEUE}; {_NAMES}',
    f'RandomShuffleQueueV2() -> (handle: resource); {_QUEUE}; min_after_dequeue: int = 0; seed: int = 0; seed2: int = 0; {_NAMES}',
    f'PaddingFIFOQueueV2() -> (handle: resource); {_QUEUE}; {_NAMES}',
    'QueueEnqueueV2(handle: resource, components: Tcomponents) -> (); Tcomponents: list(type) >= 1; timeout_ms: int = -1; !stateful',
    'QueueEnqueueManyV2(handle: resource, components: Tcomponents) -> (); Tcomponents: list(type) >= 1; timeout_ms: int = -1; !stateful',
    'QueueDequeueV2(handle: resource) -> (components: component_types); component_types: list(type) >= 1; timeout_ms: int = -1; !stateful',
    'QueueDequeueManyV2(handle: resource, n: int32) -> (components: component_types); component_types: list(type) >= 1; timeout_ms: int = -1; !stateful',
    'QueueDequeueUpToV2(handle: resource, n: int32) -> (components: component_types); component_types: list(type) >= 1; timeout_ms: int = -1; !stateful',
    'QueueCloseV2(handle: resource) -> (); cancel_pending_enqueues: bool = false; !stateful',
    'QueueSizeV2(handle: resource) -> (size: int32); !stateful',
    'CountUpTo(ref: Ref(T)) -> (output: T); limit: int; T: type {int32, int64}',
)
_OPS = sorted(TABLE.op_defs)
TABLE.not_differentiable(*_OPS)
TABLE.mark(NOT_FOLDABLE, *_OPS)
_COUNT_LOCK = threading.Lock()


@shape_fn("FIFOQueueV2", "RandomShuffleQueueV2", "PaddingFIFOQueueV2", "QueueSizeV2")
def _scalar(op):
    return [[]]


@shape_fn("QueueEnqueueV2", "QueueEnqueueManyV2", "QueueCloseV2")
def _nothing(op):
    return []


def _queue_shapes(op) -> list:
    """The element shapes of the queue ``op`` dequeues from, when it is in this graph."""
    source = op.inputs[0].op
    if source.type in ("FIFOQueueV2", "RandomShuffleQueueV2", "PaddingFIFOQueueV2"):
        shapes = source.get_attr("shapes")
        if len(shapes) == len(op.get_attr("component_types")):
            return list(shapes)
    return [None] * len(op.get_attr("component_types"))


@shape_fn("QueueDequeueV2")
def _dequeue_shape(op):
    return _queue_shapes(op)


@shape_fn("QueueDequeueManyV2", "QueueDequeueUpToV2")
def _dequeue_many_shape(op):
    from flowsaver.ops.const_eval import value_of
    n = value_of(op.inputs[1])
    batch = int(n) if n is not None and op.type == "QueueDequeueManyV2" else None
    out = []
    for shape in _queue_shapes(op):
        if shape is None or shape.ndims is None:
            out.append(None)
        else:
            out.append([batch] + shape.as_list())
    return out


@shape_fn("CountUpTo")
def _count_shape(op):
    return [op.inputs[0].shape]


def _queue_kernel(make):
    def build(op, ctx):
        shared = op.get_attr("shared_name")
        # Any bytes name a resource in TensorFlow; undecodable ones keep their bytes.
        shared = shared.decode("utf-8", "surrogateescape") if isinstance(shared, bytes) \
            else shared
        name = shared or op.name
        types, shapes = op.get_attr("component_types"), op.get_attr("shapes")
        shapes = list(shapes) if shapes else [None] * len(types)

        return lambda: ctx.resource(("queue", name),
                                    lambda: make(op, ctx, name, types, shapes))
    return build


TABLE.kernel("FIFOQueueV2")(_queue_kernel(
    lambda op, ctx, name, types, shapes: Queue(name, op.get_attr("capacity"), types, shapes)))
TABLE.kernel("PaddingFIFOQueueV2")(_queue_kernel(
    lambda op, ctx, name, types, shapes: PaddingQueue(name, op.get_attr("capacity"), types,
                                                      shapes)))
TABLE.kernel("RandomShuffleQueueV2")(_queue_kernel(
    lambda op, ctx, name, types, shapes: ShuffleQueue(
        name, op.get_attr("capacity"), types, shapes, op.get_attr("min_after_dequeue"),
        WordStream.from_seeds(op.get_attr("seed"), op.get_attr("seed2")))))


def _converted(values, types) -> list:
    return [np.asarray(v, object if t.name == "string" else t.as_numpy_dtype)
            for v, t in zip(values, types)]


@kernel("QueueEnqueueV2")
def _enqueue(op, ctx):
    types = op.get_attr("Tcomponents")
    return lambda queue, *components: queue.enqueue([tuple(_converted(components, types))], op)


@kernel("QueueEnqueueManyV2")
def _enqueue_many(op, ctx):
    types = op.get_attr("Tcomponents")

    def run(queue, *components):
        components = _converted(components, types)
        sizes = {c.shape[0] if c.ndim else None for c in components}
        if len(sizes) != 1 or None in sizes:
            raise errors.InvalidArgumentError(
                None, op, f"Shape mismatch in enqueue_many: the components' first dimensions "
                          f"differ ({[list(c.shape) for c in components]})")
        queue.enqueue([tuple(c[i] for c in components) for i in range(sizes.pop())], op)
    return run


@kernel("QueueDequeueV2")
def _dequeue(op, ctx):
    return lambda queue: queue.dequeue(None, op)


@kernel("QueueDequeueManyV2")
def _dequeue_many(op, ctx):
    return lambda queue, n: queue.dequeue(int(n), op)


@kernel("QueueDequeueUpToV2")
def _dequeue_up_to(op, ctx):
    return lambda queue, n: queue.dequeue(int(n), op, up_to=True)


@kernel("QueueCloseV2")
def _close(op, ctx):
    cancel = op.get_attr("cancel_pending_enqueues")
    return lambda queue: queue.close(cancel)


@kernel("QueueSizeV2")
def _size(op, ctx):
    return lambda queue: np.int32(queue.size())


@kernel("CountUpTo")
def _count_up_to(op, ctx):
    limit = op.get_attr("limit")

    def run(ref):
        with _COUNT_LOCK:
            value = ref.read()
            if value >= limit:
                raise errors.OutOfRangeError(None, op, f"Reached limit of {limit}")
            ref.write(np.asarray(value + 1, value.dtype))
            return np.asarray(value).copy()
    return run
