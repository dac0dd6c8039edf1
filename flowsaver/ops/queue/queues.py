"""The queues behind TensorFlow 1.x's input pipelines, as session resources.

A ``Queue`` holds elements (tuples of arrays) up to ``capacity``; enqueueing into a full
queue and dequeueing from an empty one wait, so that queue-runner threads and the
training loop can meet in the middle. Once closed, enqueues fail (``CancelledError``) and
dequeues take what is left, then fail with ``OutOfRangeError``: that is how an input
pipeline says that its epochs are over. A random-shuffle queue keeps at least
``min_after_dequeue`` elements (until closed) and hands out a uniformly chosen one, picked
as TensorFlow picks it: the next word w of ``PhiloxRandom(seed, seed2)`` chooses element
w % size, and the last element takes its place; a padding queue pads the components of a
batch to its longest element.
"""
from __future__ import annotations

import threading

import numpy as np

from flowsaver import errors


class Queue:
    """A FIFO queue of elements (tuples of NumPy arrays), safe across threads."""

    kind = "FIFOQueue"

    def __init__(self, name: str, capacity: int, dtypes, shapes):
        self.name = name
        self.capacity = capacity if capacity > 0 else None
        self.dtypes, self.shapes = list(dtypes), list(shapes)
        self._items: list = []
        self._closed = False
        self._cancelled = False
        self._cv = threading.Condition()

    # ---- what subclasses vary --------------------------------------------------------------
    def _available(self) -> int:
        """How many elements a dequeue may take now."""
        return len(self._items)

    def _take(self):
        return self._items.pop(0)

    def _give_back(self, taken: list) -> None:
        """Return the elements of a dequeue that could not complete."""
        self._items[:0] = taken

    def _stack(self, rows: list, op) -> list:
        out = []
        for c, dtype in enumerate(self.dtypes):
            kind = object if dtype.name == "string" else dtype.as_numpy_dtype
            out.append(np.stack([np.asarray(r[c], kind) for r in rows]))
        return out

    # ---- operations ------------------------------------------------------------------------
    def size(self) -> int:
        with self._cv:
            return len(self._items)

    def _check_element(self, element, op) -> None:
        for c, (value, shape) in enumerate(zip(element, self.shapes)):
            if shape is not None and shape.ndims is not None and \
                    not shape.is_compatible_with(np.shape(value)):
                raise errors.InvalidArgumentError(
                    None, op, f"Shape mismatch in tuple component {c}. Expected {shape}, got "
                              f"{list(np.shape(value))} (queue '{self.name}')")

    def enqueue(self, elements: list, op) -> None:
        """Add ``elements`` one at a time, waiting for room; fails once closed."""
        for element in elements:
            self._check_element(element, op)
        with self._cv:
            for element in elements:
                while True:
                    if self._closed:
                        raise errors.CancelledError(
                            None, op, f"{self.kind} '{self.name}' is closed.")
                    if self.capacity is None or len(self._items) < self.capacity:
                        break
                    self._cv.wait()
                self._items.append(tuple(element))
                self._cv.notify_all()

    def dequeue(self, count: int | None, op, up_to: bool = False):
        """One element (count None), or ``count`` stacked; waits for enough of them.

        As in TensorFlow, a dequeue that finds the queue closed with fewer elements than it
        still needs gives back what it took; ``up_to`` then takes all that is left.
        """
        want = 1 if count is None else int(count)
        taken = []
        with self._cv:
            while len(taken) < want:
                if self._cancelled:
                    raise errors.CancelledError(None, op, f"{self.kind} '{self.name}' was "
                                                          f"cancelled (session closed)")
                if self._closed and len(self._items) < want - len(taken):
                    size = len(self._items)
                    self._give_back(taken)
                    if not (up_to and self._items):
                        raise errors.OutOfRangeError(
                            None, op, f"{self.kind} '{self.name}' is closed and has "
                                      f"insufficient elements (requested {want - len(taken)}, "
                                      f"current size {size})")
                    taken, want = [], len(self._items)
                if self._available() > 0:
                    taken.append(self._take())
                    self._cv.notify_all()
                    continue
                self._cv.wait()
        if count is None:
            return [np.asarray(v, object) if t.name == "string" else v
                    for v, t in zip(taken[0], self.dtypes)]
        return self._stack(taken, op)

    def close(self, cancel_pending_enqueues: bool = False) -> None:
        with self._cv:
            self._closed = True
            self._cv.notify_all()

    def cancel(self) -> None:
        """Wake every waiting dequeue with CancelledError (its session is closing)."""
        with self._cv:
            self._closed = self._cancelled = True
            self._cv.notify_all()


class ShuffleQueue(Queue):
    """Dequeues a uniformly chosen element, keeping ``min_after_dequeue`` until closed."""

    kind = "RandomShuffleQueue"

    def __init__(self, name, capacity, dtypes, shapes, min_after_dequeue, words):
        super().__init__(name, capacity, dtypes, shapes)
        self.min_after_dequeue = int(min_after_dequeue)
        self._words = words  # a philox.WordStream

    def _available(self) -> int:
        if self._closed:
            return len(self._items)
        return max(0, len(self._items) - self.min_after_dequeue)

    def _take(self):
        i = self._words.next() % len(self._items)
        self._items[i], self._items[-1] = self._items[-1], self._items[i]
        return self._items.pop()

    def _give_back(self, taken: list) -> None:
        # TensorFlow appends them, the last taken first
        self._items.extend(reversed(taken))


class PaddingQueue(Queue):
    """A FIFO queue whose batches pad each component to the longest element's shape."""

    kind = "PaddingFIFOQueue"

    def _stack(self, rows: list, op) -> list:
        out = []
        for c, dtype in enumerate(self.dtypes):
            parts = [np.asarray(r[c]) for r in rows]
            target = np.max([p.shape for p in parts], axis=0) if parts[0].ndim else ()
            batch = np.zeros((len(parts),) + tuple(int(d) for d in target),
                             object if dtype.name == "string" else dtype.as_numpy_dtype)
            if dtype.name == "string":
                batch[...] = b""
            for i, p in enumerate(parts):
                batch[(i,) + tuple(slice(0, n) for n in p.shape)] = p
            out.append(batch)
        return out
