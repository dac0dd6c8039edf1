"""TensorArrays at run time: the ``TensorArrayV3`` family.

A TensorArray is an array of tensors that lives for one run: ``TensorArrayV3`` makes a new
one each time it runs, and its handle (a resource) is the Python ``TensorArrayState``.
Every op that changes or reads it also takes and gives a *flow* (a float scalar) that
orders the ops in the graph; its value means nothing. The rules are TensorFlow's: an
element is written once (gradient arrays add further writes up), read once unless
``clear_after_read`` is false, an unwritten element reads as zeros when its shape is
known; a gradient array (``TensorArrayGradV3``) is made once per forward array and
gradient ``source``, with the forward array's size and element shape.
"""
from __future__ import annotations

import numpy as np

from flowsaver import errors
from flowsaver.graph.tensor_shape import TensorShape
from flowsaver.ops.registry import ALIASING, OpTable

TABLE = OpTable(__name__)
define, kernel, shape_fn = TABLE.define, TABLE.kernel, TABLE.shape_fn

define(
    'TensorArrayV3(size: int32) -> (handle: resource, flow: float); dtype: type; '
    'element_shape: shape = ?; dynamic_size: bool = false; clear_after_read: bool = true; '
    'identical_element_shapes: bool = false; tensor_array_name: string = ""; !stateful',
    'TensorArrayGradV3(handle: resource, flow_in: float) -> (grad_handle: resource, '
    'flow_out: float); source: string; !stateful',
    'TensorArrayGradWithShape(handle: resource, flow_in: float, shape_to_prepend: int32) -> '
    '(grad_handle: resource, flow_out: float); source: string; !stateful',
    'TensorArrayWriteV3(handle: resource, index: int32, value: T, flow_in: float) -> '
    '(flow_out: float); T: type; !stateful',
    'TensorArrayReadV3(handle: resource, index: int32, flow_in: float) -> (value: dtype); '
    'dtype: type; !stateful',
    'TensorArrayGatherV3(handle: resource, indices: int32, flow_in: float) -> '
    '(value: dtype); dtype: type; element_shape: shape = ?; !stateful',
    'TensorArrayScatterV3(handle: resource, indices: int32, value: T, flow_in: float) -> '
    '(flow_out: float); T: type; !stateful',
    'TensorArrayConcatV3(handle: resource, flow_in: float) -> (value: dtype, lengths: int64); '
    'dtype: type; element_shape_except0: shape = ?; !stateful',
    'TensorArraySplitV3(handle: resource, value: T, lengths: int64, flow_in: float) -> '
    '(flow_out: float); T: type; !stateful',
    'TensorArraySizeV3(handle: resource, flow_in: float) -> (size: int32); !stateful',
    'TensorArrayCloseV3(handle: resource) -> (); !stateful',
)
TABLE.not_differentiable("TensorArrayV3", "TensorArrayGradV3", "TensorArrayGradWithShape",
                         "TensorArraySizeV3", "TensorArrayCloseV3")
# a read gives back the very array that was written (perhaps a feed's)
TABLE.mark(ALIASING, "TensorArrayReadV3")


def _fail(op, message: str) -> errors.InvalidArgumentError:
    return errors.InvalidArgumentError(None, op, message)


def _compatible(partial, shape) -> bool:
    if partial is None:
        return True
    return len(partial) == len(shape) and all(p is None or p == s for p, s in zip(partial, shape))


def _str(partial) -> str:
    if partial is None:
        return "<unknown>"
    return "[" + ",".join("?" if d is None else str(d) for d in partial) + "]"


class TensorArrayState:
    """One run's TensorArray: its elements and TensorFlow's bookkeeping about them."""

    def __init__(self, name, dtype, size, element_shape, dynamic_size, clear_after_read,
                 identical_shapes, is_grad=False):
        self.name = name
        self.dtype = dtype
        self.elements: list = [None] * size   # written values
        self.read = [False] * size
        self.cleared = [False] * size
        self.element_shape = element_shape      # list with None for unknown dims, or None
        self.dynamic_size = dynamic_size
        self.clear_after_read = clear_after_read
        self.identical_shapes = identical_shapes
        self.is_grad = is_grad
        self.closed = False
        self.grads: dict = {}  # gradient source -> its gradient TensorArrayState

    def __repr__(self):
        return f"<TensorArray {self.name} of {len(self.elements)}>"

    def size(self) -> int:
        return len(self.elements)

    def _check_open(self, op):
        if self.closed:
            raise _fail(op, f"TensorArray {self.name} has already been closed.")

    def write(self, op, index: int, value: np.ndarray) -> None:
        self._check_open(op)
        if index < 0:
            raise _fail(op, f"Tried to write to index {index} but array size is: "
                            f"{self.size()}")
        if index >= self.size():
            if not self.dynamic_size:
                raise _fail(op, f"TensorArray {self.name}: Tried to write to index {index} "
                                f"but array is not resizeable and size is: {self.size()}")
            grow = index + 1 - self.size()
            self.elements += [None] * grow
            self.read += [False] * grow
            self.cleared += [False] * grow
        value = np.asarray(value)
        if not _compatible(self.element_shape, value.shape):
            raise _fail(op, f"TensorArray {self.name}: Could not write to TensorArray index "
                            f"{index} because the value shape is {_str(value.shape)} which is "
                            f"incompatible with the TensorArray's inferred element shape: "
                            f"{_str(self.element_shape)} (consider setting infer_shape=False).")
        if self.identical_shapes and (self.element_shape is None or None in
                                      self.element_shape):
            self.element_shape = list(value.shape)
        old = self.elements[index]
        if old is not None or self.read[index]:
            if not self.is_grad:
                raise _fail(op, f"TensorArray {self.name}: Could not write to TensorArray "
                                f"index {index} because it has already been written to.")
            if self.read[index]:
                raise _fail(op, f"TensorArray {self.name}: Could not write to TensorArray "
                                f"index {index} because it has already been read.")
            if old.shape != value.shape:
                raise _fail(op, f"TensorArray {self.name}: Could not aggregate to TensorArray "
                                f"index {index} because the existing shape is {_str(old.shape)} "
                                f"but the new input shape is {_str(value.shape)}.")
            value = old + value
        self.elements[index] = value

    def read_at(self, op, index: int, shape_hint=None) -> np.ndarray:
        self._check_open(op)
        if index < 0 or (not self.is_grad and index >= self.size()):
            raise _fail(op, f"Tried to read from index {index} but array size is: "
                            f"{self.size()}")
        if index >= self.size() or self.elements[index] is None:
            if index < self.size() and self.cleared[index]:
                raise _fail(op, f"TensorArray {self.name}: Could not read index {index} twice "
                                f"because it was cleared after a previous read (perhaps try "
                                f"setting clear_after_read = false?).")
            shape = self.element_shape if shape_hint is None else shape_hint
            if shape is None or None in shape:
                raise _fail(op, f"TensorArray {self.name}: Could not read from TensorArray "
                                f"index {index}.  Furthermore, the element shape is not fully "
                                f"defined: {_str(shape)}.  It is possible you are working "
                                f"with a resizeable TensorArray and stop_gradients is not "
                                f"allowing the gradients to be written.  If you set the full "
                                f"element_shape property on the forward TensorArray, the "
                                f"proper all-zeros tensor will be returned instead of "
                                f"incurring this error.")
            return np.zeros(shape, self.dtype)
        value = self.elements[index]
        self.read[index] = True
        if self.clear_after_read:
            self.elements[index] = None
            self.cleared[index] = True
        return value

    def gradient(self, source: str, shape_to_prepend=()) -> "TensorArrayState":
        """The gradient array for ``source``, made the first time it is asked for."""
        grad = self.grads.get(source)
        if grad is None:
            shape = None if self.element_shape is None else \
                list(shape_to_prepend) + list(self.element_shape)
            grad = TensorArrayState(f"{self.name}@{source}", self.dtype, self.size(), shape,
                                    False, True, False, is_grad=True)
            self.grads[source] = grad
        return grad


def _partial(shape: TensorShape):
    return None if shape.ndims is None else shape.as_list()


# ---- shapes -----------------------------------------------------------------------------------
@shape_fn("TensorArrayV3", "TensorArrayGradV3", "TensorArrayGradWithShape")
def _handle_and_flow(op):
    return [TensorShape([2]), TensorShape([])]


@shape_fn("TensorArrayWriteV3", "TensorArrayScatterV3", "TensorArraySplitV3",
          "TensorArraySizeV3")
def _scalar(op):
    return [TensorShape([])]


@shape_fn("TensorArrayReadV3")
def _read_shape(op):
    return [TensorShape(None)]


@shape_fn("TensorArrayGatherV3")
def _gather_shape(op):
    return [TensorShape([None]).concatenate(op.get_attr("element_shape"))]


@shape_fn("TensorArrayConcatV3")
def _concat_shape(op):
    return [TensorShape([None]).concatenate(op.get_attr("element_shape_except0")),
            TensorShape([None])]


@shape_fn("TensorArrayCloseV3")
def _no_outputs(op):
    return []


# ---- kernels ----------------------------------------------------------------------------------
_FLOW = np.float32(0.0)


@kernel("TensorArrayV3")
def _tensor_array(op, ctx):
    dtype = op.get_attr("dtype").as_numpy_dtype
    shape = _partial(op.get_attr("element_shape"))
    dynamic = op.get_attr("dynamic_size")
    clear = op.get_attr("clear_after_read")
    identical = op.get_attr("identical_element_shapes")
    name = op.get_attr("tensor_array_name") or op.name
    if isinstance(name, bytes):
        name = name.decode()

    def make(size):
        if size < 0:
            raise _fail(op, f"Size should be >= 0, got: {int(size)}")
        return TensorArrayState(name, dtype, int(size), shape, dynamic, clear, identical), _FLOW
    return make


@kernel("TensorArrayGradV3")
def _grad(op, ctx):
    source = op.get_attr("source")
    source = source.decode() if isinstance(source, bytes) else source
    return lambda handle, flow: (handle.gradient(source), flow)


@kernel("TensorArrayGradWithShape")
def _grad_with_shape(op, ctx):
    source = op.get_attr("source")
    source = source.decode() if isinstance(source, bytes) else source
    return lambda handle, flow, prepend: (handle.gradient(source, prepend.tolist()), flow)


@kernel("TensorArrayWriteV3")
def _write(op, ctx):
    def write(handle, index, value, flow):
        handle.write(op, int(index), value)
        return flow
    return write


@kernel("TensorArrayReadV3")
def _read(op, ctx):
    return lambda handle, index, flow: handle.read_at(op, int(index))


def _stacked(op, handle, indices, hint):
    values = [handle.read_at(op, int(i), hint) for i in indices]
    if not values:
        shape = handle.element_shape if hint is None else hint
        if shape is None or None in shape:
            raise _fail(op, f"TensorArray {handle.name}: Could not read from an empty "
                            f"TensorArray whose element shape is not fully defined: "
                            f"{_str(shape)}")
        return np.zeros([0] + list(shape), handle.dtype)
    first = values[0].shape
    for i, v in enumerate(values[1:], 1):
        if v.shape != first:
            raise _fail(op, f"TensorArray has inconsistent shapes.  Index 0 has shape: "
                            f"{_str(first)} but index {i} has shape: {_str(v.shape)}")
    return np.stack(values)


@kernel("TensorArrayGatherV3")
def _gather(op, ctx):
    hint = _partial(op.get_attr("element_shape"))
    hint = hint if hint is not None and None not in hint else None
    return lambda handle, indices, flow: _stacked(op, handle, np.reshape(indices, -1), hint)


@kernel("TensorArrayScatterV3")
def _scatter(op, ctx):
    def scatter(handle, indices, value, flow):
        indices = np.reshape(indices, -1)
        if value.ndim == 0 or len(indices) != value.shape[0]:
            raise _fail(op, f"Expected len(indices) == values.shape[0], but saw: "
                            f"{len(indices)} vs. {value.shape[0] if value.ndim else 0}")
        for i, index in enumerate(indices):
            handle.write(op, int(index), value[i])
        return flow
    return scatter


@kernel("TensorArrayConcatV3")
def _concat(op, ctx):
    rest = _partial(op.get_attr("element_shape_except0"))

    def concat(handle, flow):
        values = []
        for i in range(handle.size()):
            hint = None if rest is None or None in rest else [0] + rest
            value = handle.read_at(op, i, hint if handle.elements[i] is None else None)
            if value.ndim == 0:
                raise _fail(op, f"Concat saw a scalar shape at index {i} but requires at "
                                f"least vectors.  Did you mean to call .stack() instead?")
            values.append(value)
        lengths = np.array([v.shape[0] for v in values], np.int64)
        if not values:
            return np.zeros([0] + (rest or []), handle.dtype), lengths
        return np.concatenate(values), lengths
    return concat


@kernel("TensorArraySplitV3")
def _split(op, ctx):
    def split(handle, value, lengths, flow):
        lengths = np.reshape(lengths, -1)
        if value.ndim == 0 or int(lengths.sum()) != value.shape[0]:
            raise _fail(op, f"Expected sum of lengths to be equal to values.shape[0], but sum "
                            f"of lengths is {int(lengths.sum())} and value's shape is: "
                            f"{_str(value.shape)}")
        if not handle.dynamic_size and len(lengths) != handle.size():
            raise _fail(op, f"TensorArray's size is not equal to the size of lengths "
                            f"({handle.size()} vs. {len(lengths)}), and the TensorArray is "
                            f"not marked as dynamically resizeable")
        start = 0
        for i, n in enumerate(lengths):
            handle.write(op, i, value[start:start + int(n)])
            start += int(n)
        return flow
    return split


@kernel("TensorArraySizeV3")
def _size(op, ctx):
    return lambda handle, flow: np.int32(handle.size())


@kernel("TensorArrayCloseV3")
def _close(op, ctx):
    def close(handle):
        handle.closed = True
    return close
