"""What a dataset *is* at run time: a recipe whose ``elements()`` is a fresh Python
iterator of elements, each a tuple of NumPy arrays (the flat components).

The dataset ops' kernels build these objects from their inputs; ``MakeIterator`` calls
``elements()``, and each ``IteratorGetNext`` takes one element. A recipe never holds an
iterator's position, so one dataset can feed several iterators (and re-initialization
starts over), as in TensorFlow. Errors are TensorFlow's: ``InvalidArgumentError`` for
elements that do not fit together, ``OutOfRangeError`` only from the iterator op.
"""
from __future__ import annotations

import itertools
import os
import threading

import numpy as np

from flowsaver import errors
from flowsaver.format.record_files import iter_record_file
from flowsaver.ops.random import philox


def as_component(value, dtype=None) -> np.ndarray:
    if dtype is not None and (dtype == object or dtype.kind in "SUO"):
        array = np.asarray(value, object)
        return array.copy() if array.ndim else np.array(array.item(), object)
    return np.asarray(value, dtype)


class Dataset:
    """Base recipe: ``elements()`` yields tuples of arrays."""

    def elements(self):
        raise NotImplementedError


class Slices(Dataset):
    def __init__(self, components):
        self.components = [np.asarray(c) for c in components]
        sizes = {c.shape[0] if c.ndim else None for c in self.components}
        if None in sizes or len(sizes) != 1:
            raise errors.InvalidArgumentError(
                f"All components of from_tensor_slices must have the same size in dimension "
                f"0, got shapes {[list(c.shape) for c in self.components]}")
        self.count = sizes.pop()

    def elements(self):
        for i in range(self.count):
            yield tuple(c[i] for c in self.components)


class Tensors(Dataset):
    def __init__(self, components):
        self.components = tuple(components)

    def elements(self):
        yield self.components


class Range(Dataset):
    def __init__(self, start, stop, step):
        self.start, self.stop, self.step = int(start), int(stop), int(step)
        if self.step == 0:
            raise errors.InvalidArgumentError("step must be a non-zero integer.")

    def elements(self):
        for v in range(self.start, self.stop, self.step):
            yield (np.int64(v),)


class Zip(Dataset):
    def __init__(self, inputs):
        self.inputs = list(inputs)

    def elements(self):
        for parts in zip(*[d.elements() for d in self.inputs]):
            yield tuple(c for part in parts for c in part)


class Concatenate(Dataset):
    def __init__(self, first, second):
        self.first, self.second = first, second

    def elements(self):
        yield from self.first.elements()
        yield from self.second.elements()


class Map(Dataset):
    def __init__(self, source, fn):
        self.source, self.fn = source, fn

    def elements(self):
        for element in self.source.elements():
            yield tuple(self.fn(*element))


class Filter(Dataset):
    def __init__(self, source, predicate):
        self.source, self.predicate = source, predicate

    def elements(self):
        for element in self.source.elements():
            keep = np.asarray(self.predicate(*element)[0])
            if keep.shape != ():
                raise errors.InvalidArgumentError(f"Filter predicate `f` must return a scalar "
                                                  f"bool, got shape {list(keep.shape)}")
            if bool(keep):
                yield element


class FlatMap(Dataset):
    def __init__(self, source, fn):
        self.source, self.fn = source, fn

    def elements(self):
        for element in self.source.elements():
            yield from self.fn(*element)[0].elements()


class Interleave(Dataset):
    """``cycle_length`` inner datasets open at once, ``block_length`` elements from each in
    turn; an exhausted one is replaced by the next input element's dataset in its slot."""

    def __init__(self, source, fn, cycle_length, block_length):
        self.source, self.fn = source, fn
        self.cycle_length = int(cycle_length) if int(cycle_length) > 0 else (os.cpu_count() or 1)
        self.block_length = int(block_length)
        if self.block_length <= 0:
            raise errors.InvalidArgumentError("block_length must be greater than zero.")

    def elements(self):
        inputs = self.source.elements()
        slots = [None] * self.cycle_length
        index = block = is_open = 0
        exhausted = False
        while not exhausted or is_open:
            current = slots[index]
            if current is not None:
                try:
                    element = next(current)
                except StopIteration:
                    slots[index] = None
                    is_open -= 1
                    index, block = (index + 1) % self.cycle_length, 0
                    continue
                block += 1
                if block == self.block_length:
                    index, block = (index + 1) % self.cycle_length, 0
                yield element
            elif not exhausted:
                try:
                    element = next(inputs)
                except StopIteration:
                    exhausted = True
                    continue
                slots[index] = self.fn(*element)[0].elements()
                is_open += 1
            else:
                index, block = (index + 1) % self.cycle_length, 0


def _stack(rows: list, component: int) -> np.ndarray:
    first = np.shape(rows[0])
    for i, row in enumerate(rows[1:], 1):
        if np.shape(row) != first:
            raise errors.InvalidArgumentError(
                f"Cannot batch tensors with different shapes in component {component}. First "
                f"element had shape {list(first)} and element {i} had shape "
                f"{list(np.shape(row))}.")
    return np.stack([np.asarray(r) for r in rows])


class Batch(Dataset):
    def __init__(self, source, batch_size, drop_remainder):
        self.source, self.size, self.drop = source, int(batch_size), bool(drop_remainder)
        if self.size <= 0:
            raise errors.InvalidArgumentError("Batch size must be greater than zero.")

    def batches(self):
        it = self.source.elements()
        while True:
            rows = list(itertools.islice(it, self.size))
            if not rows or (self.drop and len(rows) < self.size):
                return
            yield rows

    def elements(self):
        for rows in self.batches():
            yield tuple(_stack([r[c] for r in rows], c) for c in range(len(rows[0])))


class PaddedBatch(Batch):
    def __init__(self, source, batch_size, padded_shapes, padding_values, drop_remainder):
        super().__init__(source, batch_size, drop_remainder)
        self.shapes = [[int(d) for d in np.reshape(s, -1)] for s in padded_shapes]
        self.values = list(padding_values)

    def elements(self):
        for rows in self.batches():
            out = []
            for c, (shape, pad) in enumerate(zip(self.shapes, self.values)):
                parts = [np.asarray(r[c]) for r in rows]
                ranks = {p.ndim for p in parts}
                if ranks != {len(shape)}:
                    raise errors.InvalidArgumentError(
                        f"All elements in a batch must have the same rank as the padded shape "
                        f"for component{c}: expected rank {len(shape)} but got element with "
                        f"rank {parts[0].ndim}")
                target = [max(p.shape[d] for p in parts) if n == -1 else n
                          for d, n in enumerate(shape)]
                batch = np.empty([len(parts)] + target, parts[0].dtype)
                batch[...] = np.asarray(pad).reshape(())
                for i, p in enumerate(parts):
                    if any(a > b for a, b in zip(p.shape, target)):
                        raise errors.InvalidArgumentError(
                            f"Attempted to pad to a smaller size than the input element: "
                            f"component {c} has shape {list(p.shape)}, padded shape {shape}")
                    batch[(i,) + tuple(slice(0, n) for n in p.shape)] = p
                out.append(batch)
            yield tuple(out)


class Shuffle(Dataset):
    """A buffer of ``buffer_size`` elements; each output is a uniformly chosen element of
    the buffer, whose slot is refilled from the input: TensorFlow's shuffle, pick for pick.

    Seeds, as TensorFlow's kernel takes them: (seed, seed2) both 0 become two random 64-bit
    seeds. Every iterator of this dataset (each pass under ``repeat``) asks the seed
    generator for its pair: with ``reshuffle_each_iteration`` the next two words of
    ``PhiloxRandom(seed, seed2)``, else (seed, seed2) itself. The iterator then reads words
    of ``PhiloxRandom(its pair)`` one at a time. The buffer is a ring of ``buffer_size``
    slots holding the live elements at positions [start, end): a pick takes slot
    (start + word % (end - start)), moves the slot at ``start`` into it and advances
    ``start``; the next element read from the input goes in at ``end``. A new run of the
    dataset op (re-initializing an iterator) makes a new seed generator, so it repeats the
    same orders, as TensorFlow does.
    """

    def __init__(self, source, buffer_size, seed, seed2, reshuffle_each_iteration):
        self.source, self.size = source, int(buffer_size)
        if self.size <= 0:
            raise errors.InvalidArgumentError("buffer_size must be greater than zero.")
        start = philox.PhiloxStream.from_seeds(int(seed), int(seed2))
        self.seeds = (start.key, start.counter >> 64)
        self.seed_words = philox.WordStream(start.key, start.counter) \
            if reshuffle_each_iteration else None
        self._lock = threading.Lock()

    def iterator_seeds(self) -> tuple[int, int]:
        """The (seed, seed2) of the next iterator (TensorFlow's seed generator)."""
        if self.seed_words is None:
            return self.seeds
        with self._lock:
            return self.seed_words.next(), self.seed_words.next()

    def elements(self):
        seed, seed2 = self.iterator_seeds()
        words = philox.WordStream(seed, seed2 << 64)
        it = self.source.elements()
        ring = list(itertools.islice(it, self.size))
        start, end = 0, len(ring)
        while start < end:
            pick = (start + words.next() % (end - start)) % self.size
            first = start % self.size
            element = ring[pick]
            ring[pick] = ring[first]
            start += 1
            for value in itertools.islice(it, 1):
                ring[end % self.size] = value
                end += 1
            yield element


class Repeat(Dataset):
    def __init__(self, source, count):
        self.source, self.count = source, int(count)

    def elements(self):
        done = 0
        while self.count < 0 or done < self.count:
            empty = True
            for element in self.source.elements():
                empty = False
                yield element
            done += 1
            if empty:   # an empty input repeated forever is still empty
                return


class Take(Dataset):
    def __init__(self, source, count):
        self.source, self.count = source, int(count)

    def elements(self):
        it = self.source.elements()
        yield from (it if self.count < 0 else itertools.islice(it, self.count))


class Skip(Dataset):
    def __init__(self, source, count):
        self.source, self.count = source, int(count)

    def elements(self):
        it = self.source.elements()
        if self.count < 0:
            for _ in it:
                pass
            return
        yield from itertools.islice(it, self.count, None)


class Cache(Dataset):
    """Elements of the first complete pass, kept in memory and replayed afterwards."""

    def __init__(self, source):
        self.source, self.cached = source, None

    def elements(self):
        if self.cached is not None:
            yield from self.cached
            return
        seen = []
        for element in self.source.elements():
            seen.append(element)
            yield element
        self.cached = seen


class Prefetch(Dataset):
    """Elements unchanged: without parallel kernels there is nothing to overlap."""

    def __init__(self, source):
        self.source = source

    def elements(self):
        return self.source.elements()


def _text(value) -> str:
    value = np.asarray(value, object).item()
    return value.decode() if isinstance(value, bytes) else str(value)


class TFRecords(Dataset):
    def __init__(self, filename, compression):
        self.filename, self.compression = _text(filename), _text(compression)

    def elements(self):
        for record in iter_record_file(self.filename, self.compression):
            yield (np.array(record, object),)


def _open_stream(filename: str, compression: str):
    import gzip
    import io
    import zlib
    try:
        raw = open(filename, "rb")
    except OSError as exc:
        raise errors.NotFoundError(f"{filename}; {exc.strerror}") from None
    if compression == "GZIP":
        return gzip.GzipFile(fileobj=raw)
    if compression == "ZLIB":
        with raw:
            return io.BytesIO(zlib.decompress(raw.read()))
    if compression:
        raw.close()
        raise errors.InvalidArgumentError(f"Unsupported compression_type: {compression}")
    return raw


class TextLines(Dataset):
    def __init__(self, filename, compression):
        self.filename, self.compression = _text(filename), _text(compression)

    def elements(self):
        with _open_stream(self.filename, self.compression) as f:
            for line in f:
                if line.endswith(b"\n"):
                    line = line[:-1]
                    if line.endswith(b"\r"):
                        line = line[:-1]
                yield (np.array(line, object),)


class FixedLengthRecords(Dataset):
    def __init__(self, filename, header, record, footer, compression):
        self.filename, self.compression = _text(filename), _text(compression)
        self.header, self.record, self.footer = int(header), int(record), int(footer)
        if self.record <= 0:
            raise errors.InvalidArgumentError("record_bytes must be greater than zero.")

    def elements(self):
        with _open_stream(self.filename, self.compression) as f:
            data = f.read()
        body = data[self.header:len(data) - self.footer]
        for at in range(0, len(body) - self.record + 1, self.record):
            yield (np.array(body[at:at + self.record], object),)


class Generator(Dataset):
    """Elements of a Python generator, converted to the declared dtypes and checked
    against the declared shapes."""

    def __init__(self, make, dtypes, shapes, flatten):
        self.make, self.dtypes, self.shapes, self.flatten = make, dtypes, shapes, flatten

    def elements(self):
        for value in self.make():
            flat = self.flatten(value)
            if len(flat) != len(self.dtypes):
                raise errors.InvalidArgumentError(
                    f"`generator` yielded an element that did not match the expected "
                    f"structure: {len(flat)} components for {len(self.dtypes)}")
            out = []
            for v, dtype, shape in zip(flat, self.dtypes, self.shapes):
                array = as_component(v, np.dtype(object) if dtype.name == "string" else
                                     np.dtype(dtype.as_numpy_dtype))
                if not shape.is_compatible_with(array.shape):
                    raise errors.InvalidArgumentError(
                        f"`generator` yielded an element of shape {array.shape} where an "
                        f"element of shape {shape} was expected.")
                out.append(array)
            yield tuple(out)
