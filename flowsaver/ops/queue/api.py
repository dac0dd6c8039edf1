"""``tf.FIFOQueue``, ``tf.RandomShuffleQueue``, ``tf.PaddingFIFOQueue``: graph handles on
session queues, with TensorFlow's op names (``fifo_queue_enqueue``, ``fifo_queue_Dequeue``)."""
from __future__ import annotations

from flowsaver.graph.attr_value import as_dtype
from flowsaver.graph.tensor_shape import TensorShape
from flowsaver.ops.op_builder import convert_to_tensor, create_op
from flowsaver.ops.random.api import get_seed
from flowsaver.ops.scope_api import name_scope

__all__ = ["FIFOQueue", "PaddingFIFOQueue", "QueueBase", "RandomShuffleQueue"]


class QueueBase:
    """Operations shared by every queue: enqueue, dequeue (one, many, up to), close, size."""

    def __init__(self, dtypes, shapes, names, queue_ref):
        self._dtypes = dtypes
        self._shapes = shapes
        self._names = names
        self._queue_ref = queue_ref
        self._name = queue_ref.op.name.split("/")[-1]

    dtypes = property(lambda self: self._dtypes)
    shapes = property(lambda self: self._shapes)
    names = property(lambda self: self._names)
    queue_ref = property(lambda self: self._queue_ref)
    name = property(lambda self: self._queue_ref.op.name)

    def _flat(self, vals) -> list:
        if isinstance(vals, dict):
            if not self._names:
                raise ValueError("Queue must have names to enqueue a dictionary")
            vals = [vals[n] for n in self._names]
        elif not isinstance(vals, (list, tuple)):
            vals = [vals]
        if len(vals) != len(self._dtypes):
            raise ValueError(f"Expected {len(self._dtypes)} components, got {len(vals)}")
        return [convert_to_tensor(v, dtype=t, name=f"component_{i}")
                for i, (v, t) in enumerate(zip(vals, self._dtypes))]

    def _result(self, tensors):
        tensors = tensors if isinstance(tensors, list) else [tensors]
        if self._names:
            return dict(zip(self._names, tensors))
        return tensors[0] if len(tensors) == 1 else tensors

    def enqueue(self, vals, name=None):
        with name_scope(name, f"{self._name}_enqueue") as scope:
            return create_op("QueueEnqueueV2", [self._queue_ref, self._flat(vals)], name=scope)

    def enqueue_many(self, vals, name=None):
        with name_scope(name, f"{self._name}_EnqueueMany") as scope:
            return create_op("QueueEnqueueManyV2", [self._queue_ref, self._flat(vals)],
                             name=scope)

    def _dequeue(self, op_type, default, n=None, name=None):
        attrs = {"component_types": self._dtypes}
        with name_scope(name, f"{self._name}_{default}") as scope:
            inputs = [self._queue_ref] if n is None else \
                [self._queue_ref, convert_to_tensor(n, dtype="int32", name="n")]
            return self._result(create_op(op_type, inputs, attrs, name=scope))

    def dequeue(self, name=None):
        return self._dequeue("QueueDequeueV2", "Dequeue", name=name)

    def dequeue_many(self, n, name=None):
        return self._dequeue("QueueDequeueManyV2", "DequeueMany", n, name)

    def dequeue_up_to(self, n, name=None):
        return self._dequeue("QueueDequeueUpToV2", "DequeueUpTo", n, name)

    def close(self, cancel_pending_enqueues=False, name=None):
        with name_scope(name, f"{self._name}_Close") as scope:
            return create_op("QueueCloseV2", [self._queue_ref],
                             {"cancel_pending_enqueues": cancel_pending_enqueues}, name=scope)

    def size(self, name=None):
        with name_scope(name, f"{self._name}_Size") as scope:
            return create_op("QueueSizeV2", [self._queue_ref], name=scope)


def _normalized(dtypes, shapes, names):
    dtypes = [as_dtype(t) for t in (dtypes if isinstance(dtypes, (list, tuple)) else [dtypes])]
    if shapes is not None:
        if isinstance(shapes, TensorShape) or (isinstance(shapes, (list, tuple)) and shapes and
                                               not isinstance(shapes[0], (list, tuple,
                                                                          TensorShape))):
            shapes = [shapes]
        shapes = [TensorShape(s) for s in shapes]
    names = list(names) if isinstance(names, (list, tuple)) else ([names] if names else None)
    return dtypes, shapes or [], names


class FIFOQueue(QueueBase):
    """A queue handing out elements in the order they were enqueued."""

    def __init__(self, capacity, dtypes, shapes=None, names=None, shared_name=None,
                 name="fifo_queue"):
        dtypes, shapes, names = _normalized(dtypes, shapes, names)
        ref = create_op("FIFOQueueV2", [], {
            "component_types": dtypes, "shapes": shapes, "capacity": capacity,
            "shared_name": shared_name or ""}, name=name or "FIFOQueueV2")
        super().__init__(dtypes, shapes, names, ref)


class PaddingFIFOQueue(QueueBase):
    """A FIFO queue whose ``dequeue_many`` pads components to the longest element."""

    def __init__(self, capacity, dtypes, shapes, names=None, shared_name=None,
                 name="padding_fifo_queue"):
        dtypes, shapes, names = _normalized(dtypes, shapes, names)
        ref = create_op("PaddingFIFOQueueV2", [], {
            "component_types": dtypes, "shapes": shapes, "capacity": capacity,
            "shared_name": shared_name or ""}, name=name)
        super().__init__(dtypes, shapes, names, ref)


class RandomShuffleQueue(QueueBase):
    """A queue handing out a random element, keeping ``min_after_dequeue`` to choose from."""

    def __init__(self, capacity, min_after_dequeue, dtypes, shapes=None, names=None,
                 seed=None, shared_name=None, name="random_shuffle_queue"):
        dtypes, shapes, names = _normalized(dtypes, shapes, names)
        seed1, seed2 = get_seed(seed)
        ref = create_op("RandomShuffleQueueV2", [], {
            "component_types": dtypes, "shapes": shapes, "capacity": capacity,
            "min_after_dequeue": min_after_dequeue, "seed": seed1 or 0, "seed2": seed2 or 0,
            "shared_name": shared_name or ""}, name=name)
        super().__init__(dtypes, shapes, names, ref)
