"""TensorFlow 1.x's queue-based input functions: ``string_input_producer``,
``range_input_producer``, ``slice_input_producer``, ``input_producer``, ``limit_epochs``,
``batch`` and ``shuffle_batch``.

Each builds a queue, an enqueue op and a ``QueueRunner`` (added to the graph's
``queue_runners`` collection; ``start_queue_runners`` runs them) and a summary of how full
the queue is, as TensorFlow does. ``num_epochs`` counts epochs in a local variable:
initialize local variables before starting the runners.
"""
from __future__ import annotations

from flowsaver.graph.graph_keys import GraphKeys
from flowsaver.graph.tensor_shape import TensorShape
from flowsaver.ops.array import api as array_ops
from flowsaver.ops.control_flow.api import with_dependencies
from flowsaver.ops.math import api as math_ops
from flowsaver.ops.op_builder import convert_to_tensor, create_op
from flowsaver.ops.queue.api import FIFOQueue, PaddingFIFOQueue, RandomShuffleQueue
from flowsaver.ops.random.api import random_shuffle
from flowsaver.ops.scope_api import name_scope
from flowsaver.ops.state.variables import Variable
from flowsaver.ops.summary.api import scalar as summary_scalar
from flowsaver.train.queue_runner import QueueRunner, add_queue_runner


def limit_epochs(tensor, num_epochs=None, name=None):
    """``tensor``, until it has been produced ``num_epochs`` times (then OutOfRangeError)."""
    if num_epochs is None:
        return tensor
    if num_epochs <= 0:
        raise ValueError(f"num_epochs must be > 0 not {num_epochs}.")
    with name_scope(name, "limit_epochs", [tensor]) as scope:
        epochs = Variable(convert_to_tensor(0, dtype="int64"), name="epochs", trainable=False,
                          collections=[GraphKeys.LOCAL_VARIABLES])
        counter = create_op("CountUpTo", [epochs], {"limit": num_epochs})
        return with_dependencies([counter], tensor, name=scope)


def input_producer(input_tensor, element_shape=None, num_epochs=None, shuffle=True, seed=None,
                   capacity=32, shared_name=None, summary_name=None, name=None,
                   cancel_op=None):
    """A queue fed with the rows of ``input_tensor`` (shuffled per epoch if ``shuffle``)."""
    with name_scope(name, "input_producer", [input_tensor]):
        input_tensor = convert_to_tensor(input_tensor, name="input_tensor")
        element_shape = TensorShape(input_tensor.shape.as_list()[1:]
                                    if input_tensor.shape.ndims else None).merge_with(
            TensorShape(element_shape))
        if shuffle:
            input_tensor = random_shuffle(input_tensor, seed=seed)
        input_tensor = limit_epochs(input_tensor, num_epochs)
        queue = FIFOQueue(capacity, [input_tensor.dtype.base_dtype], [element_shape],
                          shared_name=shared_name, name=name)
        enqueue = queue.enqueue_many([input_tensor])
        add_queue_runner(QueueRunner(queue, [enqueue], cancel_op=cancel_op))
        if summary_name is not None:
            summary_scalar(summary_name,
                           math_ops.cast(queue.size(), "float32") * (1.0 / capacity))
        return queue


def string_input_producer(string_tensor, num_epochs=None, shuffle=True, seed=None, capacity=32,
                          shared_name=None, name=None, cancel_op=None):
    """A queue of the strings (usually file names) in ``string_tensor``."""
    if not hasattr(string_tensor, "dtype") and not len(string_tensor):
        raise ValueError("string_input_producer requires a non-null input tensor")
    with name_scope(name, "input_producer", [string_tensor]) as scope:
        tensor = convert_to_tensor(string_tensor, dtype="string")
        return input_producer(tensor, [], num_epochs, shuffle, seed, capacity, shared_name,
                              f"fraction_of_{capacity}_full", scope, cancel_op)


def range_input_producer(limit, num_epochs=None, shuffle=True, seed=None, capacity=32,
                         shared_name=None, name=None):
    """A queue of the integers 0 .. limit - 1."""
    with name_scope(name, "input_producer", [limit]) as scope:
        numbers = math_ops.range(limit)
        return input_producer(numbers, [], num_epochs, shuffle, seed, capacity, shared_name,
                              f"fraction_of_{capacity}_full", scope)


def slice_input_producer(tensor_list, num_epochs=None, shuffle=True, seed=None, capacity=32,
                         shared_name=None, name=None):
    """One slice (row) of every tensor in ``tensor_list`` at a time, rows in step."""
    with name_scope(name, "input_producer", tensor_list):
        tensors = [convert_to_tensor(t) for t in tensor_list]
        if not tensors:
            raise ValueError("Expected at least one tensor in slice_input_producer().")
        size = array_ops.shape(tensors[0])[0]
        queue = range_input_producer(size, num_epochs, shuffle, seed, capacity, shared_name)
        index = queue.dequeue()
        return [array_ops.gather(t, index) for t in tensors]


def _as_list(tensors) -> list:
    if isinstance(tensors, dict):
        return [tensors[k] for k in sorted(tensors)]
    return list(tensors) if isinstance(tensors, (list, tuple)) else [tensors]


def _as_original(tensors, dequeued):
    """The dequeued tensors in the caller's structure; a one-tensor list gives the bare
    tensor back, as TensorFlow's batch does."""
    if isinstance(tensors, dict):
        parts = dequeued if isinstance(dequeued, list) else [dequeued]
        return dict(zip(sorted(tensors), parts))
    return dequeued


def _shapes(tensors, shapes, enqueue_many, dynamic_pad) -> list:
    if shapes is not None:
        return [TensorShape(s) for s in shapes]
    out = []
    for t in tensors:
        shape = t.shape
        if enqueue_many:
            shape = TensorShape(shape.as_list()[1:] if shape.ndims else None)
        if not dynamic_pad and not shape.is_fully_defined():
            raise ValueError(f"All shapes must be fully defined: {shape} for {t.name}")
        out.append(shape)
    return out


def _batch(queue_kind, tensors, batch_size, num_threads, capacity, enqueue_many, shapes,
           dynamic_pad, allow_smaller_final_batch, shared_name, name, min_after_dequeue=0,
           seed=None):
    tensor_list = [convert_to_tensor(t) for t in _as_list(tensors)]
    convert_to_tensor(True, dtype="bool")   # TensorFlow's keep_input: every element kept
    shapes = _shapes(tensor_list, shapes, enqueue_many, dynamic_pad)
    types = [t.dtype.base_dtype for t in tensor_list]
    if queue_kind == "shuffle":
        queue = RandomShuffleQueue(capacity, min_after_dequeue, types, shapes, seed=seed,
                                   shared_name=shared_name)
    else:
        kind = PaddingFIFOQueue if dynamic_pad else FIFOQueue
        queue = kind(capacity, types, shapes, shared_name=shared_name)
    enqueue = queue.enqueue_many(tensor_list) if enqueue_many else queue.enqueue(tensor_list)
    add_queue_runner(QueueRunner(queue, [enqueue] * num_threads))
    if queue_kind == "shuffle":
        full = math_ops.maximum(0, queue.size() - min_after_dequeue)
        summary_scalar(f"fraction_over_{min_after_dequeue}_of_"
                       f"{capacity - min_after_dequeue}_full",
                       math_ops.cast(full, "float32") * (1.0 / (capacity - min_after_dequeue)))
    else:
        summary_scalar(f"fraction_of_{capacity}_full",
                       math_ops.cast(queue.size(), "float32") * (1.0 / capacity))
    dequeued = queue.dequeue_up_to(batch_size, name=name) if allow_smaller_final_batch \
        else queue.dequeue_many(batch_size, name=name)
    return _as_original(tensors, dequeued)


def batch(tensors, batch_size, num_threads=1, capacity=32, enqueue_many=False, shapes=None,
          dynamic_pad=False, allow_smaller_final_batch=False, shared_name=None, name=None):
    """Batches of ``tensors`` from a FIFO queue that a queue runner fills."""
    with name_scope(name, "batch", _as_list(tensors)) as scope:
        return _batch("fifo", tensors, batch_size, num_threads, capacity, enqueue_many, shapes,
                      dynamic_pad, allow_smaller_final_batch, shared_name, scope)


def shuffle_batch(tensors, batch_size, capacity, min_after_dequeue, num_threads=1, seed=None,
                  enqueue_many=False, shapes=None, allow_smaller_final_batch=False,
                  shared_name=None, name=None):
    """Batches of ``tensors`` drawn at random from a queue of at least
    ``min_after_dequeue`` elements."""
    with name_scope(name, "shuffle_batch", _as_list(tensors)) as scope:
        return _batch("shuffle", tensors, batch_size, num_threads, capacity, enqueue_many,
                      shapes, False, allow_smaller_final_batch, shared_name, scope,
                      min_after_dequeue, seed)
