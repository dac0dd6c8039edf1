"""``tf.TensorArray`` as TensorFlow 1.x builds it (``TensorArrayV3`` and friends).

A TensorArray object is a handle and a *flow*: every write gives a new object with a new
flow (the write's output), so that later reads run after it. In a ``tf.while_loop`` the
flow is the loop variable and the handle enters as a loop invariant. Element shapes are
inferred as values are written (``infer_shape``), and the first write's value decides the
colocation of all writes (``colocate_with_first_write_call``), as in TensorFlow.
"""
from __future__ import annotations

import contextlib

from flowsaver.graph.attr_value import as_dtype
from flowsaver.graph.graph import get_default_graph
from flowsaver.graph.operation import Tensor
from flowsaver.graph.tensor_shape import TensorShape, as_shape
from flowsaver.ops.array import basic as array_ops
from flowsaver.ops.const_eval import constant_value
from flowsaver.ops.math import basic as math_ops
from flowsaver.ops.math.reductions import range as math_range
from flowsaver.ops.op_builder import convert_to_tensor, create_op, graph_of

__all__ = ["TensorArray", "build_ta_with_new_flow"]


class TensorArray:
    """An array of tensors for one run; see TensorFlow's ``tf.TensorArray``.

    Example::

        ta = tf.TensorArray(tf.float32, size=3)
        ta = ta.write(0, x).write(1, y).write(2, z)
        stacked = ta.stack()
    """

    is_tensor_array = True

    def __init__(self, dtype, size=None, dynamic_size=None, clear_after_read=None,
                 tensor_array_name=None, handle=None, flow=None, infer_shape=True,
                 element_shape=None, colocate_with_first_write_call=True, name=None):
        if handle is not None and tensor_array_name:
            raise ValueError("Cannot provide both `handle` and `tensor_array_name` arguments "
                             "at the same time.")
        if handle is not None and not isinstance(handle, Tensor):
            raise TypeError(f"Expected `handle` to be a Tensor, but got `{handle}` of type "
                            f"`{type(handle)}` instead.")
        if handle is None and size is None:
            raise ValueError("Argument `size` must be provided if handle is not provided.")
        for given, what in ((size, "size"), (element_shape, "element_shape"),
                            (dynamic_size, "dynamic_size"),
                            (clear_after_read, "clear_after_read")):
            if handle is not None and given is not None:
                raise ValueError(f"Cannot provide both a `handle` and `{what}` arguments at "
                                 f"the same time.")
        clear_after_read = True if clear_after_read is None else clear_after_read
        self._dynamic_size = dynamic_size or False
        self._dtype = as_dtype(dtype).base_dtype
        self._colocate_with_first_write_call = colocate_with_first_write_call
        self._colocate_with = [] if colocate_with_first_write_call else None
        self._element_shape = [as_shape(element_shape)]
        self._infer_shape = infer_shape
        self._size = size
        g = graph_of([handle, size, flow] if handle is not None or flow is not None
                     else [size], get_default_graph())
        with g.as_default(), g.name_scope(name or "TensorArray") as scope:
            if handle is not None:
                if flow is None:
                    raise ValueError("flow must not be None if handle is not None.")
                self._handle, self._flow = handle, flow
                return
            attrs = {"dtype": self._dtype, "element_shape": as_shape(element_shape),
                     "identical_element_shapes": infer_shape,
                     "dynamic_size": self._dynamic_size, "clear_after_read": clear_after_read,
                     "tensor_array_name": tensor_array_name or ""}
            if colocate_with_first_write_call:
                with g.device(None), g.colocate_with(None, ignore_existing=True):
                    self._handle, self._flow = create_op("TensorArrayV3", [size], attrs,
                                                         name=scope)
            else:
                self._handle, self._flow = create_op("TensorArrayV3", [size], attrs,
                                                     name=scope)

    # ---- properties --------------------------------------------------------------------------
    @property
    def flow(self) -> Tensor:
        return self._flow

    @property
    def dtype(self):
        return self._dtype

    @property
    def handle(self) -> Tensor:
        return self._handle

    @property
    def element_shape(self) -> TensorShape:
        return self._element_shape[0]

    @property
    def dynamic_size(self) -> bool:
        return self._dynamic_size

    def with_flow(self, flow: Tensor) -> "TensorArray":
        """This array with a new flow (TensorFlow's ``build_ta_with_new_flow``)."""
        return build_ta_with_new_flow(self, flow)

    def _check_element_shape(self, shape: TensorShape) -> None:
        if not shape.is_compatible_with(self.element_shape):
            raise ValueError(f"Inconsistent shapes: saw {shape} but expected "
                             f"{self.element_shape} ")
        if self._infer_shape:
            self._element_shape[0] = self.element_shape.merge_with(shape)

    @contextlib.contextmanager
    def _maybe_colocate_with(self, value):
        if not self._colocate_with_first_write_call:
            yield
            return
        if not self._colocate_with:
            self._colocate_with.append(value)
        with self._handle.graph.colocate_with(self._colocate_with[0]):
            yield

    # ---- operations --------------------------------------------------------------------------
    def identity(self) -> "TensorArray":
        return build_ta_with_new_flow(self, array_ops.identity(self._flow))

    def grad(self, source: str, flow=None, name=None) -> "TensorArray":
        """The gradient array of this one for gradient computation ``source``."""
        flow = self.flow if flow is None else flow
        g = self._handle.graph
        with g.as_default(), g.name_scope(name or "TensorArrayGrad"):
            with g.colocate_with(self._handle):
                g_handle, _ = create_op("TensorArrayGradV3", [self._handle, flow],
                                        {"source": source}, name=name)
                with g.control_dependencies([g_handle]):
                    flow = array_ops.identity(flow, name="gradient_flow")
                grad = TensorArray(dtype=self._dtype, handle=g_handle, flow=flow,
                                   infer_shape=self._infer_shape,
                                   colocate_with_first_write_call=False)
                grad._element_shape = self._element_shape
                return grad

    def read(self, index, name=None) -> Tensor:
        """The element at ``index``."""
        with self._handle.graph.as_default():
            value = create_op("TensorArrayReadV3", [self._handle, index, self._flow],
                              {"dtype": self._dtype}, name=name)
        if self._element_shape:
            value.set_shape(self._element_shape[0])
        return value

    def write(self, index, value, name=None) -> "TensorArray":
        """A new array object whose flow follows writing ``value`` at ``index``."""
        g = self._handle.graph
        with g.as_default(), g.name_scope(name or "TensorArrayWrite"):
            value = convert_to_tensor(value, preferred_dtype=self._dtype, name="value")
            self._check_element_shape(value.shape)
            with self._maybe_colocate_with(value):
                flow = create_op("TensorArrayWriteV3", [self._handle, index, value, self._flow],
                                 name=name)
            return build_ta_with_new_flow(self, flow)

    def stack(self, name=None) -> Tensor:
        """Every element, stacked along a new first dimension."""
        g = self._handle.graph
        with g.as_default(), g.colocate_with(self._handle), \
                g.name_scope(name or "TensorArrayStack"):
            value = self.gather(math_range(0, self.size()), name=name)
            if self.element_shape and not self._dynamic_size and self._size is not None:
                value.set_shape(TensorShape([_static(self._size)]).concatenate(
                    self.element_shape))
            return value

    def gather(self, indices, name=None) -> Tensor:
        """The elements at ``indices``, stacked."""
        element_shape = self._element_shape[0] if self._element_shape else TensorShape(None)
        with self._handle.graph.as_default():
            value = create_op("TensorArrayGatherV3", [self._handle, indices, self._flow],
                              {"dtype": self._dtype, "element_shape": element_shape},
                              name=name)
        if self.element_shape:
            value.set_shape(TensorShape([None]).concatenate(self.element_shape))
        return value

    def concat(self, name=None) -> Tensor:
        """Every element, concatenated along their first dimension."""
        rest = self.element_shape[1:] if self.element_shape.ndims is not None \
            else TensorShape(None)
        with self._handle.graph.as_default():
            value, _ = create_op("TensorArrayConcatV3", [self._handle, self._flow],
                                 {"dtype": self._dtype, "element_shape_except0": rest},
                                 name=name)
        if self.element_shape:
            dim0 = None
            if self._infer_shape:
                size = constant_value(self.size())
                first = self.element_shape.as_list()[0]
                if size is not None and first is not None:
                    dim0 = int(size) * first
            value.set_shape(TensorShape([dim0]).concatenate(self.element_shape[1:]))
        return value

    def unstack(self, value, name=None) -> "TensorArray":
        """Write the slices of ``value`` along its first dimension."""
        g = self._handle.graph
        with g.as_default(), g.name_scope(name or "TensorArrayUnstack"):
            num = array_ops.shape(value)[0]
            return self.scatter(indices=math_range(0, num), value=value, name=name)

    def scatter(self, indices, value, name=None) -> "TensorArray":
        """Write the slices of ``value`` at ``indices``."""
        g = self._handle.graph
        with g.as_default(), g.name_scope(name or "TensorArrayScatter"):
            value = convert_to_tensor(value, preferred_dtype=self._dtype, name="value")
            self._check_element_shape(value.shape[1:] if value.shape.ndims is not None
                                      else TensorShape(None))
            with self._maybe_colocate_with(value):
                flow = create_op("TensorArrayScatterV3",
                                 [self._handle, indices, value, self._flow], name=name)
            return build_ta_with_new_flow(self, flow)

    def split(self, value, lengths, name=None) -> "TensorArray":
        """Write pieces of ``value`` of ``lengths`` along its first dimension."""
        g = self._handle.graph
        with g.as_default(), g.name_scope(name or "TensorArraySplit"):
            value = convert_to_tensor(value, dtype=self._dtype, name="value")
            with self._maybe_colocate_with(value):
                lengths_64 = math_ops.cast(lengths, "int64")
                known = constant_value(lengths_64)
                if value.shape.ndims is not None and known is not None:
                    if known.shape and known.max() == known.min():
                        self._check_element_shape(
                            TensorShape([int(known[0])]).concatenate(value.shape[1:]))
                flow = create_op("TensorArraySplitV3",
                                 [self._handle, value, lengths_64, self._flow], name=name)
            return build_ta_with_new_flow(self, flow)

    def size(self, name=None) -> Tensor:
        """The number of elements."""
        if not self._dynamic_size and self._size is not None:
            return convert_to_tensor(self._size, dtype="int32")
        with self._handle.graph.as_default():
            return create_op("TensorArraySizeV3", [self._handle, self.flow], name=name)

    def close(self, name=None):
        with self._handle.graph.as_default():
            return create_op("TensorArrayCloseV3", [self._handle], name=name)


def _static(size):
    value = constant_value(size) if isinstance(size, Tensor) else size
    return None if value is None else int(value)


def build_ta_with_new_flow(old: TensorArray, flow: Tensor) -> TensorArray:
    """``old``'s array with ``flow``: sizes, colocation and element shape shared."""
    new = TensorArray(dtype=old.dtype, handle=old.handle, flow=flow,
                      infer_shape=old._infer_shape,
                      colocate_with_first_write_call=old._colocate_with_first_write_call)
    new._dynamic_size = old._dynamic_size
    new._size = old._size
    new._colocate_with = old._colocate_with
    new._element_shape = old._element_shape
    return new
