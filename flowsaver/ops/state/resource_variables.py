"""Resource variables, as TensorFlow 2's graph mode builds them: ``VarHandleOp`` named
``v``, ``v/Assign`` (AssignVariableOp), ``v/Read/ReadVariableOp`` (the snapshot) and
``v/IsInitialized/VarIsInitializedOp``. They come from imported metagraphs, from
``use_resource=True``, or from every variable after ``tf.enable_resource_variables()``;
Sessions, Savers and optimizers treat them as TensorFlow does."""
from __future__ import annotations

from flowsaver.format.graph_protos import VariableDef
from flowsaver.graph.graph import get_default_graph
from flowsaver.ops.op_builder import build_op, create_op


class ResourceVariable:
    """A variable behind a resource handle; reads are ``ReadVariableOp`` values."""

    # tf.cast to its own dtype returns the variable: it is read where a consumer converts it
    reads_where_converted = True

    def __init__(self, variable_def: VariableDef, import_scope=None):
        graph = get_default_graph()
        scope = f"{import_scope}/" if import_scope else ""
        self._handle = graph.get_tensor_by_name(scope + variable_def.variable_name)
        if self._handle.dtype.name != "resource":  # reads and Savers need a handle
            raise ValueError(f"variable_name {variable_def.variable_name!r} is a "
                             f"{self._handle.dtype.name} output of a {self._handle.op.type} "
                             f"op, not a resource handle")
        self._initializer_op = graph.get_operation_by_name(scope + variable_def.initializer_name)
        self._snapshot = graph.get_tensor_by_name(scope + variable_def.snapshot_name) \
            if variable_def.snapshot_name else None
        self._initial_value = graph.get_tensor_by_name(
            scope + variable_def.initial_value_name) if variable_def.initial_value_name else None
        self._trainable = variable_def.trainable
        self._save_slice_info = None
        if variable_def.HasField("save_slice_info_def"):
            from flowsaver.ops.state.partitioned import SaveSliceInfo
            self._save_slice_info = SaveSliceInfo(
                save_slice_info_def=variable_def.save_slice_info_def, import_scope=import_scope)

    @property
    def name(self) -> str:
        return self._handle.name

    @property
    def handle(self):
        return self._handle

    @property
    def op(self):
        return self._handle.op

    @property
    def graph(self):
        return self._handle.graph

    @property
    def device(self) -> str:
        return self._handle.device

    @property
    def dtype(self):
        return self._handle.op.get_attr("dtype")

    @property
    def shape(self):
        return self._handle.op.get_attr("shape")

    def get_shape(self):
        return self.shape

    @property
    def trainable(self) -> bool:
        return self._trainable

    @property
    def initializer(self):
        return self._initializer_op

    @property
    def initial_value(self):
        return self._initial_value

    def value(self):
        """A new read of the variable (``ReadVariableOp``), as each use in TensorFlow 2's
        graph mode gets its own."""
        g = self.graph
        with g.as_default(), g.colocate_with(None):  # TensorFlow reads outside colocation
            return create_op("ReadVariableOp", [self._handle], {"dtype": self.dtype})

    def read_value(self):
        g = self.graph
        with g.as_default(), g.name_scope("Read"):
            return create_op("ReadVariableOp", [self._handle], {"dtype": self.dtype})

    def _as_graph_element(self):
        """What fetching the variable runs: its snapshot (``v/Read/ReadVariableOp``)."""
        return self._snapshot if self._snapshot is not None else self.value()

    def _ref(self):
        return self._handle

    def assign(self, value, use_locking=None, name=None, read_value=True):
        from flowsaver.ops.op_builder import convert_to_tensor
        g = self.graph
        with g.as_default():
            value = convert_to_tensor(value, dtype=self.dtype)
            if not self.shape.is_compatible_with(value.shape):
                raise ValueError(f"Shapes {self.shape} and {value.shape} are incompatible "
                                 f"(assigning to {self.name})")
            op = build_op("AssignVariableOp", [self._handle, value],
                          {"dtype": self.dtype, "validate_shape": True}, name=name)
            return UnreadVariable(self, op) if read_value else op

    def _update(self, op_type, delta, name, read_value):
        g = self.graph
        with g.as_default():
            op = build_op(op_type, [self._handle, delta], {"dtype": self.dtype}, name=name)
            if not read_value:
                return op
            with g.control_dependencies([op]):
                return self.value()

    def assign_add(self, delta, use_locking=None, name=None, read_value=True):
        return self._update("AssignAddVariableOp", delta, name, read_value)

    def assign_sub(self, delta, use_locking=None, name=None, read_value=True):
        return self._update("AssignSubVariableOp", delta, name, read_value)

    def eval(self, session=None):
        return self._as_graph_element().eval(session=session)

    def load(self, value, session=None):
        from flowsaver.graph.default_session import default_session_for
        session = default_session_for(self.graph, session, "Variable.load()")
        session.run(self._initializer_op, {self._initializer_op.inputs[1]: value})

    def _get_save_slice_info(self):
        return self._save_slice_info

    def _set_save_slice_info(self, info):
        self._save_slice_info = info

    def to_proto(self, export_scope=None) -> VariableDef | None:
        def strip(name):
            if export_scope and name.startswith(export_scope + "/"):
                return name[len(export_scope) + 1:]
            return name
        if export_scope and not self._handle.name.startswith(export_scope + "/"):
            return None
        proto = VariableDef(variable_name=strip(self._handle.name),
                            initializer_name=strip(self._initializer_op.name),
                            is_resource=True, trainable=self._trainable)
        if self._snapshot is not None:
            proto.snapshot_name = strip(self._snapshot.name)
        if self._initial_value is not None:
            proto.initial_value_name = strip(self._initial_value.name)
        if self._save_slice_info is not None:
            proto.save_slice_info_def.CopyFrom(self._save_slice_info.to_proto(export_scope))
        return proto

    def __hash__(self):
        return id(self)

    def __eq__(self, other):
        return self is other

    def __repr__(self):
        return f"<tf.Variable '{self.name}' shape={self.shape} dtype={self.dtype.name}>"


class UnreadVariable:
    """What ``assign`` returns (TensorFlow's ``_UnreadVariable``): its ``op`` is the assign,
    its value a read that runs after it. Grouping it waits for the assign."""

    def __init__(self, variable: ResourceVariable, assign_op):
        graph = variable.graph
        with graph.control_dependencies([assign_op]):
            self._read = create_op("ReadVariableOp", [variable.handle],
                                   {"dtype": variable.dtype})
        self._variable = variable
        self._op = assign_op

    @property
    def op(self):
        return self._op

    @property
    def name(self) -> str:
        return self._variable.name

    @property
    def dtype(self):
        return self._variable.dtype

    @property
    def shape(self):
        return self._read.shape

    @property
    def graph(self):
        return self._variable.graph

    @property
    def device(self) -> str:
        return self._op.device

    def _as_graph_element(self):
        return self._read

    def __repr__(self):
        return f"<UnreadVariable of {self._variable.name} after {self._op.name}>"


def to_tensor(v, dtype=None, name=None, as_ref=False):
    return v._handle if as_ref else v.value()


def unread_to_tensor(v, dtype=None, name=None, as_ref=False):
    return v._variable.handle if as_ref else v._read




def create_resource_variable(initial_value=None, trainable=None, collections=None,
                             validate_shape=True, caching_device=None, name=None,
                             variable_def=None, dtype=None, expected_shape=None,
                             import_scope=None, constraint=None, use_resource=None,
                             synchronization=None, aggregation=None, shape=None):
    """A new resource variable, built as TensorFlow 2's graph mode builds one:
    ``v/Initializer/...``, ``v`` (VarHandleOp), ``v/IsInitialized/VarIsInitializedOp``,
    ``v/Assign`` (AssignVariableOp) and ``v/Read/ReadVariableOp`` (the snapshot)."""
    from flowsaver.graph import attr_value
    from flowsaver.graph.graph import GraphKeys
    from flowsaver.graph.tensor_shape import TensorShape
    from flowsaver.ops.op_builder import convert_to_tensor
    if initial_value is None:
        raise ValueError("initial_value must be specified.")
    init_from_fn = callable(initial_value)
    if init_from_fn and dtype is None:
        raise ValueError("dtype must also be specified when initial_value is callable.")
    trainable = True if trainable is None else bool(trainable)
    collections = [GraphKeys.GLOBAL_VARIABLES] if collections is None else list(collections)
    if trainable and GraphKeys.TRAINABLE_VARIABLES not in collections:
        collections.append(GraphKeys.TRAINABLE_VARIABLES)
    graph = get_default_graph()
    self = ResourceVariable.__new__(ResourceVariable)
    with graph.control_dependencies(None), graph.name_scope(name or "Variable") as scope:
        handle_name = scope[:-1]
        loc = attr_value.encode([f"loc:@{handle_name}"], "list(string)")
        with graph._attr_scope({"_class": loc}):
            with graph.name_scope("Initializer"), graph.device(None):
                value = initial_value() if init_from_fn else initial_value
                initial = convert_to_tensor(value, name="initial_value", dtype=dtype)
            var_shape = TensorShape(shape) if shape is not None else (
                initial.shape if validate_shape else TensorShape(None))
            handle = create_op("VarHandleOp", [], {
                "shape": var_shape, "dtype": initial.dtype.base_dtype,
                "shared_name": handle_name, "debug_name": scope}, name=scope)
        with graph.name_scope("IsInitialized"):
            self._is_initialized_op = create_op("VarIsInitializedOp", [handle])
        with graph.name_scope("Assign") as assign_scope, graph.colocate_with(None), \
                graph.device(handle.device):
            self._initializer_op = build_op("AssignVariableOp", [handle, initial],
                                            name=assign_scope)
        with graph.name_scope("Read"), graph.device(handle.device):
            self._snapshot = create_op("ReadVariableOp", [handle],
                                       {"dtype": initial.dtype.base_dtype})
    self._handle = handle
    self._initial_value = initial
    self._trainable = trainable
    self._save_slice_info = None
    graph.add_to_collections(collections, self)
    return self
