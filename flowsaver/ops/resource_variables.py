"""Resource variables, as TensorFlow 2's graph mode builds them: ``VarHandleOp`` named
``v``, ``v/Assign`` (AssignVariableOp), ``v/Read/ReadVariableOp`` (the snapshot) and
``v/IsInitialized/VarIsInitializedOp``. flowsaver creates ref variables itself; these come
from imported metagraphs, and behave for Sessions and Savers as TensorFlow's do."""
from __future__ import annotations

from flowsaver.format.graph_protos import VariableDef
from flowsaver.graph.graph import get_default_graph
from flowsaver.ops import operators
from flowsaver.ops.op_builder import build_op, create_op, register_tensor_conversion


class ResourceVariable:
    """A variable behind a resource handle; reads are ``ReadVariableOp`` values."""

    def __init__(self, variable_def: VariableDef, import_scope=None):
        graph = get_default_graph()
        scope = f"{import_scope}/" if import_scope else ""
        self._handle = graph.get_tensor_by_name(scope + variable_def.variable_name)
        self._initializer_op = graph.get_operation_by_name(scope + variable_def.initializer_name)
        self._snapshot = graph.get_tensor_by_name(scope + variable_def.snapshot_name) \
            if variable_def.snapshot_name else None
        self._initial_value = graph.get_tensor_by_name(
            scope + variable_def.initial_value_name) if variable_def.initial_value_name else None
        self._trainable = variable_def.trainable
        self._save_slice_info = None
        if variable_def.HasField("save_slice_info_def"):
            from flowsaver.ops.partitioned import SaveSliceInfo
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
        return self._snapshot if self._snapshot is not None else self.read_value()

    def read_value(self):
        g = self.graph
        with g.as_default(), g.name_scope("Read"):
            return create_op("ReadVariableOp", [self._handle], {"dtype": self.dtype})

    def _as_graph_element(self):
        return self.value()

    def _ref(self):
        return self._handle

    def assign(self, value, use_locking=None, name=None, read_value=True):
        g = self.graph
        with g.as_default():
            op = build_op("AssignVariableOp", [self._handle, value], {"dtype": self.dtype},
                          name=name)
            if not read_value:
                return op
            with g.control_dependencies([op]):
                return self.read_value()

    def _update(self, op_type, delta, name, read_value):
        g = self.graph
        with g.as_default():
            op = build_op(op_type, [self._handle, delta], {"dtype": self.dtype}, name=name)
            if not read_value:
                return op
            with g.control_dependencies([op]):
                return self.read_value()

    def assign_add(self, delta, use_locking=None, name=None, read_value=True):
        return self._update("AssignAddVariableOp", delta, name, read_value)

    def assign_sub(self, delta, use_locking=None, name=None, read_value=True):
        return self._update("AssignSubVariableOp", delta, name, read_value)

    def eval(self, session=None):
        return self.value().eval(session=session)

    def load(self, value, session=None):
        from flowsaver.graph.graph import default_session_for
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


def _convert(v, dtype=None, name=None, as_ref=False):
    return v._handle if as_ref else v.value()


register_tensor_conversion(ResourceVariable, _convert)
operators.overload(ResourceVariable)
