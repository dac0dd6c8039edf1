"""``Operation`` (a node of the graph) and ``Tensor`` (one output of an operation).

Attrs are held as ``AttrValue`` protos, the form GraphDef stores, so that ``node_def``
is a copy and ``get_attr`` a decode. Tensor operators (``+``, ``@``, ``[...]``) are
attached by ``flowsaver.ops.operators``: the graph layer knows no op but its own.
"""
from __future__ import annotations

from flowsaver.format.graph_protos import NodeDef
from flowsaver.graph import attr_value
from flowsaver.graph.default_session import default_session_for
from flowsaver.graph.tensor_shape import TensorShape, as_shape


class Tensor:
    """A symbolic handle to output ``value_index`` of an Operation."""

    __slots__ = ("_op", "_value_index", "_dtype", "_shape", "_consumers", "__weakref__")
    # NumPy defers ``ndarray + Tensor`` to Tensor.__radd__.
    __array_priority__ = 100

    def __init__(self, op: "Operation", value_index: int, dtype, shape=None):
        self._op = op
        self._value_index = value_index
        self._dtype = dtype
        self._shape = TensorShape(shape)
        self._consumers: list[Operation] = []

    @property
    def op(self) -> "Operation":
        return self._op

    @property
    def value_index(self) -> int:
        return self._value_index

    @property
    def dtype(self):
        return self._dtype

    @property
    def graph(self):
        return self._op.graph

    @property
    def name(self) -> str:
        return f"{self._op.name}:{self._value_index}"

    @property
    def device(self) -> str:
        return self._op.device

    @property
    def shape(self) -> TensorShape:
        return self._shape

    def get_shape(self) -> TensorShape:
        return self._shape

    def set_shape(self, shape) -> None:
        """Refine the static shape; ValueError when ``shape`` contradicts what is known."""
        shape = as_shape(shape)
        if not self._shape.is_compatible_with(shape):
            raise ValueError(f"Tensor {self.name} has shape {self._shape}, which is not "
                             f"compatible with the shape {shape} being set")
        self._shape = self._shape.merge_with(shape)

    def consumers(self) -> list:
        return list(self._consumers)

    def _as_node_def_input(self) -> str:
        return self._op.name if self._value_index == 0 else self.name

    def eval(self, feed_dict=None, session=None):
        """This tensor's value in ``session``, or the default session."""
        return default_session_for(self.graph, session, "Tensor.eval()").run(self, feed_dict)

    def __hash__(self):
        return id(self)

    def __eq__(self, other):  # TensorFlow 1.x: tensors compare by identity
        return self is other

    def __ne__(self, other):
        return self is not other

    def __bool__(self):
        raise TypeError("Using a `tf.Tensor` as a Python `bool` is not allowed. Use "
                        "`if t is not None:` to test for None, or `tf.cond` to branch on "
                        "a tensor's value.")

    def __iter__(self):
        raise TypeError(f"Tensor {self.name} is not iterable in a graph; use tf.unstack "
                        f"to split it along an axis.")

    def __len__(self):
        raise TypeError(f"len is not well defined for symbolic Tensor ({self.name}); "
                        f"use tf.shape or .shape")

    def __repr__(self):
        return f"<tf.Tensor '{self.name}' shape={self._shape} dtype={self._dtype.name}>"

    def __str__(self):  # as TensorFlow's graph tensors print in messages
        shape = "" if self._shape.ndims is None else f", shape={self._shape}"
        return f'Tensor("{self.name}"{shape}, dtype={self._dtype.name})'


class Operation:
    """A node of a Graph: its name, op type, inputs, attrs and outputs."""

    __slots__ = ("_graph", "_name", "_type", "_inputs", "_control_inputs", "_attrs",
                 "_device", "_outputs", "_id", "_op_def", "_control_outputs", "__weakref__")

    def __init__(self, graph, name: str, op_type: str, inputs, attrs: dict, output_types,
                 control_inputs=(), device: str = "", op_def=None):
        self._graph = graph
        self._name = name
        self._type = op_type
        self._inputs = list(inputs)
        self._control_inputs: list[Operation] = []
        self._attrs = dict(attrs)
        self._device = device
        self._op_def = op_def
        self._control_outputs: list[Operation] = []
        self._id = 0
        self._outputs = [Tensor(self, i, dtype) for i, dtype in enumerate(output_types)]
        for tensor in self._inputs:
            tensor._consumers.append(self)
        for op in control_inputs:
            self._add_control_input(op)

    # ---- TensorFlow's accessors -------------------------------------------------------
    @property
    def name(self) -> str:
        return self._name

    @property
    def type(self) -> str:
        return self._type

    @property
    def graph(self):
        return self._graph

    @property
    def inputs(self) -> tuple:
        return tuple(self._inputs)

    @property
    def outputs(self) -> list:
        return list(self._outputs)

    @property
    def control_inputs(self) -> list:
        return list(self._control_inputs)

    @property
    def device(self) -> str:
        return self._device

    @property
    def op_def(self):
        return self._op_def

    @property
    def node_def(self) -> NodeDef:
        node = NodeDef(name=self._name, op=self._type, device=self._device)
        node.input.extend(t._as_node_def_input() for t in self._inputs)
        # TensorFlow's GraphDefs list control inputs sorted by name.
        node.input.extend(sorted("^" + op.name for op in self._control_inputs))
        for key, value in self._attrs.items():
            node.attr[key].CopyFrom(value)
        return node

    def get_attr(self, name: str):
        """The Python value of attr ``name``; ValueError naming the op when there is none."""
        try:
            return attr_value.decode(self._attrs[name])
        except KeyError:
            raise ValueError(f"Operation '{self._name}' has no attr named '{name}'.") from None

    def _get_attr_proto(self, name: str):
        return self._attrs.get(name)

    @property
    def attr_names(self) -> list:
        return sorted(self._attrs)

    def _set_attr(self, name: str, value) -> None:
        self._attrs[name] = value

    def _set_device(self, device: str) -> None:
        self._device = device

    def _add_control_input(self, op: "Operation") -> None:
        if not isinstance(op, Operation):
            raise TypeError(f"control input must be an Operation, got {op!r}")
        if op not in self._control_inputs:
            self._control_inputs.append(op)
            op._control_outputs.append(self)

    def _add_control_inputs(self, ops) -> None:
        for op in ops:
            self._add_control_input(op)

    def _remove_all_control_inputs(self) -> None:
        for op in self._control_inputs:
            op._control_outputs.remove(self)
        self._control_inputs = []

    def values(self) -> tuple:
        return tuple(self._outputs)

    def replace_input(self, index: int, tensor: Tensor) -> None:
        """Make ``tensor`` the ``index``-th input (TensorFlow's ``_update_input``)."""
        old = self._inputs[index]
        self._inputs[index] = tensor
        old._consumers.remove(self)
        tensor._consumers.append(self)

    def detach(self, keep=frozenset()) -> None:
        """Unhook this op from its inputs' consumer lists and its control inputs' control
        outputs, except those of ops in ``keep`` (ops removed along with it)."""
        for tensor in self._inputs:
            if tensor.op not in keep:
                tensor._consumers[:] = [c for c in tensor._consumers
                                        if c is not self and c not in keep]
        for control in self._control_inputs:
            if control not in keep:
                control._control_outputs[:] = [c for c in control._control_outputs
                                               if c is not self and c not in keep]

    def colocation_groups(self) -> list:
        groups = self._attrs.get("_class")
        names = [s.decode() for s in groups.list.s] if groups is not None else []
        return [n.encode() for n in names if n.startswith("loc:@")] or \
            [f"loc:@{self._name}".encode()]

    def run(self, feed_dict=None, session=None) -> None:
        """Run this operation in ``session``, or the default session."""
        default_session_for(self._graph, session, "Operation.run()").run(self, feed_dict)

    def __repr__(self):
        return f"<tf.Operation '{self._name}' type={self._type}>"

    def __str__(self):
        return str(self.node_def)
