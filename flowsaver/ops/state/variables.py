"""``tf.Variable`` (TensorFlow 1.x ref variables) and the variable collections' helpers.

A Variable adds four nodes, as TensorFlow does: ``name/initial_value`` (or the
initializer subgraph), ``name`` (``VariableV2``), ``name/Assign`` (its initializer) and
``name/read`` (an ``Identity`` snapshot that ops read by value).
"""
from __future__ import annotations

from flowsaver.format.graph_protos import VariableDef
from flowsaver.graph import attr_value
from flowsaver.graph.graph import GraphKeys, get_default_graph
from flowsaver.graph.tensor_shape import TensorShape
from flowsaver.ops.array import api as array_ops
from flowsaver.ops.state import api as state_ops
from flowsaver.ops.op_builder import convert_to_tensor, create_op


# Whether tf.Variable makes resource variables when use_resource is not given
# (tf.enable_resource_variables() sets it; TensorFlow 1.x's default is ref variables).
_DEFAULT_USE_RESOURCE = [False]


def set_default_use_resource(enabled: bool) -> None:
    _DEFAULT_USE_RESOURCE[0] = bool(enabled)


class Variable:
    """A TensorFlow 1.x variable: its value lives in each session that initializes it.

    With ``use_resource=True`` (or after ``tf.enable_resource_variables()``) a resource
    variable is made instead, as TensorFlow's ``tf.compat.v1.Variable`` does.
    """

    _ARGS = ("initial_value", "trainable", "collections", "validate_shape", "caching_device",
             "name", "variable_def", "dtype", "expected_shape", "import_scope")

    def __new__(cls, *args, **kwargs):
        named = dict(zip(cls._ARGS, args), **kwargs)
        use_resource = named.get("use_resource")
        if use_resource is None:
            use_resource = _DEFAULT_USE_RESOURCE[0]
        if cls is Variable and use_resource and named.get("variable_def") is None:
            from flowsaver.ops.state.resource_variables import create_resource_variable
            return create_resource_variable(**named)
        return super().__new__(cls)

    def __init__(self, initial_value=None, trainable=None, collections=None,
                 validate_shape=True, caching_device=None, name=None, variable_def=None,
                 dtype=None, expected_shape=None, import_scope=None, constraint=None,
                 use_resource=None, synchronization=None, aggregation=None, shape=None):
        if variable_def is not None:
            self._init_from_proto(variable_def, import_scope)
            return
        if initial_value is None:
            raise ValueError("initial_value must be specified.")
        trainable = True if trainable is None else bool(trainable)
        init_from_fn = callable(initial_value)
        if init_from_fn and dtype is None:
            raise ValueError("dtype must also be specified when initial_value is callable.")
        collections = [GraphKeys.GLOBAL_VARIABLES] if collections is None else list(collections)
        if trainable and GraphKeys.TRAINABLE_VARIABLES not in collections:
            collections.append(GraphKeys.TRAINABLE_VARIABLES)
        self._trainable = trainable
        self._save_slice_info = None
        self._constraint = constraint
        self._caching_device = caching_device
        graph = get_default_graph()
        # Variables are made outside any control_dependencies block (TensorFlow's init_scope).
        with graph.control_dependencies(None), graph.name_scope(name or "Variable") as scope:
            true_name = scope[:-1]
            if init_from_fn:
                loc = attr_value.encode([f"loc:@{true_name}"], "list(string)")
                with graph._attr_scope({"_class": loc}):
                    with graph.name_scope("Initializer"), graph.device(None):
                        self._initial_value = convert_to_tensor(
                            initial_value(), name="initial_value", dtype=dtype)
                    self._variable = _variable_op(self._initial_value, validate_shape,
                                                  shape, scope)
            else:
                self._initial_value = convert_to_tensor(initial_value, name="initial_value",
                                                        dtype=dtype)
                self._variable = _variable_op(self._initial_value, validate_shape, shape, scope)
            if validate_shape and not self._initial_value.shape.is_fully_defined():
                raise ValueError(f"initial_value must have a shape specified: "
                                 f"{self._initial_value!r}")
            self._initializer_op = state_ops.assign(
                self._variable, _guard_uninitialized_dependencies(scope, self._initial_value),
                validate_shape=validate_shape).op
            if caching_device is not None:  # the read goes there, not beside the variable
                with graph.device(caching_device):
                    self._snapshot = array_ops.identity(self._variable, name="read")
            else:
                with graph.colocate_with(self._variable.op):
                    self._snapshot = array_ops.identity(self._variable, name="read")
        graph.add_to_collections(collections, self)

    def _init_from_proto(self, variable_def, import_scope=None):
        graph = get_default_graph()
        scope = f"{import_scope}/" if import_scope else ""
        self._variable = graph.get_tensor_by_name(scope + variable_def.variable_name)
        if not self._variable.dtype._is_ref_dtype:  # a Saver would treat it as a variable
            raise ValueError(f"variable_name {variable_def.variable_name!r} is a "
                             f"{self._variable.dtype.name} output of a {self._variable.op.type} "
                             f"op, not a variable's reference")
        self._initializer_op = graph.get_operation_by_name(scope + variable_def.initializer_name)
        self._snapshot = graph.get_tensor_by_name(scope + variable_def.snapshot_name)
        self._initial_value = graph.get_tensor_by_name(
            scope + variable_def.initial_value_name) if variable_def.initial_value_name else None
        self._trainable = variable_def.trainable
        self._save_slice_info = None
        if variable_def.HasField("save_slice_info_def"):
            from flowsaver.ops.state.partitioned import SaveSliceInfo
            self._save_slice_info = SaveSliceInfo(
                save_slice_info_def=variable_def.save_slice_info_def, import_scope=import_scope)
        self._constraint = None
        self._caching_device = None

    # ---- what TensorFlow's RefVariable exposes ------------------------------------------------
    @property
    def name(self) -> str:
        return self._variable.name

    @property
    def op(self):
        return self._variable.op

    @property
    def graph(self):
        return self._variable.graph

    @property
    def device(self) -> str:
        return self._variable.device

    @property
    def dtype(self):
        return self._variable.dtype

    @property
    def shape(self) -> TensorShape:
        return self._variable.shape

    def get_shape(self) -> TensorShape:
        return self._variable.shape

    @property
    def trainable(self) -> bool:
        return self._trainable

    @property
    def initializer(self):
        return self._initializer_op

    @property
    def initial_value(self):
        return self._initial_value

    @property
    def constraint(self):
        return self._constraint

    def _ref(self):
        return self._variable

    def _as_graph_element(self):
        return self._variable

    def value(self):
        """The ``name/read`` snapshot: the variable's value in a run."""
        return self._snapshot

    def read_value(self):
        """A new read of the variable (an ``Identity`` named ``read``)."""
        return array_ops.identity(self._variable, name="read")

    def initialized_value(self):
        """The variable's value if initialized, else its initial value (a ``tf.cond``)."""
        from flowsaver.ops.control_flow.cond import cond
        with self.graph.as_default(), self.graph.control_dependencies(None):
            return cond(state_ops.is_variable_initialized(self), self.read_value,
                        lambda: self.initial_value)

    def assign(self, value, use_locking=False, name=None, read_value=True):
        out = state_ops.assign(self._variable, value, use_locking=use_locking, name=name)
        return out if read_value else out.op

    def assign_add(self, delta, use_locking=False, name=None, read_value=True):
        out = state_ops.assign_add(self._variable, delta, use_locking=use_locking, name=name)
        return out if read_value else out.op

    def assign_sub(self, delta, use_locking=False, name=None, read_value=True):
        out = state_ops.assign_sub(self._variable, delta, use_locking=use_locking, name=name)
        return out if read_value else out.op

    def eval(self, session=None):
        """The variable's value in ``session`` (or the default session)."""
        return self._variable.eval(session=session)

    def load(self, value, session=None):
        """Set the value in ``session`` by feeding the initializer's input."""
        from flowsaver.graph.default_session import default_session_for
        session = default_session_for(self.graph, session, "Variable.load()")
        session.run(self._initializer_op, {self._initializer_op.inputs[1]: value})

    def set_shape(self, shape):
        self._variable.set_shape(shape)
        self._snapshot.set_shape(shape)

    def _get_save_slice_info(self):
        return self._save_slice_info

    def _set_save_slice_info(self, info):
        self._save_slice_info = info

    def to_proto(self, export_scope=None) -> VariableDef | None:
        """The ``VariableDef`` a metagraph's variables collection holds."""
        if export_scope and not self._variable.name.startswith(export_scope):
            return None
        strip = (lambda n: _strip_scope(n, export_scope))
        proto = VariableDef(variable_name=strip(self._variable.name),
                            initializer_name=strip(self._initializer_op.name),
                            snapshot_name=strip(self._snapshot.name),
                            is_resource=False, trainable=self._trainable)
        if self._initial_value is not None:
            proto.initial_value_name = strip(self._initial_value.name)
        if self._save_slice_info is not None:
            proto.save_slice_info_def.CopyFrom(self._save_slice_info.to_proto(export_scope))
        return proto

    @staticmethod
    def from_proto(variable_def, import_scope=None):
        return Variable(variable_def=variable_def, import_scope=import_scope)

    def __getitem__(self, key):
        return self.value()[key]

    def __hash__(self):
        return id(self)

    def __eq__(self, other):
        return self is other

    def __iter__(self):
        raise TypeError("'Variable' object is not iterable.")

    def __repr__(self):
        return f"<tf.Variable '{self.name}' shape={self.shape} dtype={self.dtype.name}>"


def _strip_scope(name: str, scope) -> str:
    if scope and name.startswith(scope + "/"):
        return name[len(scope) + 1:]
    return name


# Ops the guard keeps as they are: they ask about a variable without needing its value.
_GUARD_KEEPS = frozenset({"IsVariableInitialized", "VarIsInitializedOp", "ReadVariableOp", "If"})
_VARIABLE_OPS = frozenset({"Variable", "VariableV2", "VarHandleOp"})


def _guard_uninitialized_dependencies(scope: str, initial_value):
    """``initial_value`` rebuilt to read other variables through ``initialized_value()``.

    As TensorFlow does, so that ``tf.Variable(w.initialized_value() * 2)`` can be
    initialized in the same run as ``w``: every op between ``initial_value`` and a
    variable it reads is copied as ``<op>_<scope>`` (a ``RefSwitch`` becomes a ``Switch``),
    taking that variable's ``initialized_value()`` in place of the variable. Ops that
    read no variable are shared, not copied.
    """
    cache: dict = {}  # op -> the op standing for it in the guarded value
    stack = [(initial_value.op, False)]
    while stack:
        op, inputs_done = stack.pop()
        if op in cache:
            continue
        if op.type in _GUARD_KEEPS:
            cache[op] = op
        elif op.type in _VARIABLE_OPS:
            cache[op] = _initialized_value_op(op)
        elif not inputs_done:
            stack.append((op, True))
            stack.extend((t.op, False) for t in reversed(op.inputs) if t.op not in cache)
        else:
            inputs = [cache[t.op].outputs[t.value_index] for t in op.inputs]
            changed = any(new is not old for new, old in zip(inputs, op.inputs))
            cache[op] = _copy_op(op, inputs, op.name + "_" + scope) if changed else op
    return cache[initial_value.op].outputs[initial_value.value_index]


def _initialized_value_op(variable_op):
    """The op of ``initialized_value()`` of the collected Variable of ``variable_op``."""
    graph = variable_op.graph
    for key in (GraphKeys.GLOBAL_VARIABLES, GraphKeys.LOCAL_VARIABLES):
        for var in graph.get_collection(key):
            if getattr(var, "name", None) in (variable_op.name, variable_op.name + ":0") \
                    and hasattr(var, "initialized_value"):
                return var.initialized_value().op
    return variable_op


def _copy_op(op, inputs, name: str):
    """A copy of ``op`` named exactly ``name`` (with its attrs) taking ``inputs``."""
    from flowsaver.ops.op_builder import build_op
    from flowsaver.ops import registry
    op_type = "Switch" if op.type == "RefSwitch" else op.type
    op_def = registry.get(op_type)
    grouped, rest = [], list(inputs)
    for arg in op_def.inputs:
        if arg.number_attr:
            count = op.get_attr(arg.number_attr)
        elif arg.type_list_attr:
            count = len(op.get_attr(arg.type_list_attr))
        else:
            grouped.append(rest.pop(0))
            continue
        grouped.append(rest[:count])
        rest = rest[count:]
    attrs = {key: op._get_attr_proto(key) if key.startswith("_") else op.get_attr(key)
             for key in op.attr_names}
    name = name.replace(":", "_")
    return build_op(op_type, grouped, attrs, name if name.endswith("/") else name + "/",
                    graph=op.graph)


def _variable_op(initial_value, validate_shape, shape, scope):
    if shape is None:
        shape = initial_value.shape if validate_shape else TensorShape(None)
    return create_op("VariableV2", [], {"shape": TensorShape(shape),
                                        "dtype": initial_value.dtype.base_dtype}, name=scope)


def to_tensor(v, dtype=None, name=None, as_ref=False):
    if dtype is not None and not dtype.is_compatible_with(v.dtype.base_dtype):
        raise ValueError(f"Incompatible type conversion requested to type '{dtype.name}' for "
                         f"variable of type '{v.dtype.name}'")
    return v._ref() if as_ref else v.value()


RefVariable = VariableV1 = Variable


# ---- collections ------------------------------------------------------------------------------
def global_variables(scope=None) -> list:
    return get_default_graph().get_collection(GraphKeys.GLOBAL_VARIABLES, scope)


def trainable_variables(scope=None) -> list:
    return get_default_graph().get_collection(GraphKeys.TRAINABLE_VARIABLES, scope)


def local_variables(scope=None) -> list:
    return get_default_graph().get_collection(GraphKeys.LOCAL_VARIABLES, scope)


def model_variables(scope=None) -> list:
    return get_default_graph().get_collection(GraphKeys.MODEL_VARIABLES, scope)


def variables_initializer(var_list, name="init"):
    """One op running the initializers of ``var_list`` (a ``NoOp`` when there are none)."""
    from flowsaver.ops.control_flow import grouping as control_flow_ops
    if var_list:
        return control_flow_ops.group(*[v.initializer for v in var_list], name=name)
    return control_flow_ops.no_op(name=name)


def global_variables_initializer():
    return variables_initializer(global_variables())


def local_variables_initializer():
    return variables_initializer(local_variables())


initialize_variables = variables_initializer
initialize_all_variables = global_variables_initializer
initialize_local_variables = local_variables_initializer
all_variables = global_variables


def variable_from_proto(serialized: bytes, import_scope=None):
    """The Variable a serialized VariableDef describes, in the default graph.

    Raises:
      DataLossError: ``serialized`` does not parse as a VariableDef.
      ValueError: it names tensors or ops the graph lacks or that cannot be a variable's,
        or a slice outside its full variable; the message names the variable.
    """
    from google.protobuf.message import DecodeError
    from flowsaver import errors
    try:
        proto = VariableDef.FromString(serialized)
    except DecodeError as e:
        raise errors.DataLossError(f"a serialized VariableDef ({len(serialized)} bytes) does "
                                   f"not parse: {e}") from None
    try:
        if proto.is_resource:
            from flowsaver.ops.state.resource_variables import ResourceVariable
            variable = ResourceVariable(variable_def=proto, import_scope=import_scope)
        else:
            variable = Variable(variable_def=proto, import_scope=import_scope)
        info = variable._get_save_slice_info()
        # A Saver writes slices where this says: it must lie inside the full variable.
        if info is not None and not (
                len(info.full_shape) == len(info.var_offset) == len(info.var_shape)
                and all(0 <= o and 0 <= n and o + n <= f for f, o, n in
                        zip(info.full_shape, info.var_offset, info.var_shape))):
            raise ValueError(f"its slice (offset {info.var_offset[:10]}, shape "
                             f"{info.var_shape[:10]}) is not inside its full shape "
                             f"{info.full_shape[:10]}")
    except (KeyError, ValueError, TypeError) as e:
        message = e.args[0] if isinstance(e, KeyError) and e.args else e
        raise ValueError(f"VariableDef of variable {proto.variable_name!r}: "
                         f"{message}") from None
    return variable
