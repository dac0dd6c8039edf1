"""``Graph``: named operations in creation order, scopes, collections, the default graph.

Naming follows TensorFlow exactly: a name in use (compared case-insensitively) gets
``_1``, ``_2``, ... appended; ``name_scope("s")`` prefixes ``s/`` and is itself made
unique; a scope given with a trailing ``/`` is re-entered as is.
"""
from __future__ import annotations

import contextlib
import re
import threading

from flowsaver.format.graph_protos import GraphDef
from flowsaver.format.protos import VersionDef
from flowsaver.graph import devices
from flowsaver.graph.attr_value import encode
from flowsaver.graph.default_session import (default_session_for,  # noqa: F401 - re-exports
                                              get_default_session, session_as_default)
from flowsaver.graph.graph_keys import (ControlScope, GraphKeys,  # noqa: F401 - re-export
                                         GraphSnapshot)
from flowsaver.graph.operation import Operation, Tensor

# The GraphDef version TensorFlow 2.21 stamps on graphs its Python API builds; flowsaver
# writes the same, so its GraphDefs equal TensorFlow's and TensorFlow accepts them.
GRAPH_DEF_VERSION = 2474
GRAPH_DEF_VERSION_MIN_CONSUMER = 0
GRAPH_DEF_VERSION_MIN_PRODUCER = 0

VALID_OP_NAME = re.compile(r"^[A-Za-z0-9.][A-Za-z0-9_.\\/>-]*$")
VALID_SCOPE_NAME = re.compile(r"^[A-Za-z0-9_.\\/>-]*$")


class Graph:
    """A TensorFlow 1.x graph: build it under ``as_default()``, run it in a Session."""

    def __init__(self):
        self._ops_by_name: dict[str, Operation] = {}
        self._ops: list[Operation] = []
        self._names_in_use: dict[str, int] = {}
        self._name_stack = ""
        self._control_scopes: list[ControlScope] = []
        self._device_stack: list = []
        self._colocation_stack: list[Operation] = []
        self._collections: dict[str, list] = {}
        self._op_hooks: list = []
        self._finalized = False
        self._lock = threading.RLock()
        self.seed = None
        self._version = 0
        self._variable_scope_store = None  # owned by ops.variable_scope
        self._attr_scope_map: dict = {}

    # ---- default graph ------------------------------------------------------------------
    @contextlib.contextmanager
    def as_default(self):
        """Make this the default graph inside the ``with`` block."""
        _default.graphs.append(self)
        try:
            yield self
        finally:
            _default.graphs.pop()

    # ---- lookup ---------------------------------------------------------------------------
    def get_operations(self) -> list:
        return list(self._ops)

    def get_operation_by_name(self, name: str) -> Operation:
        if not isinstance(name, str):
            raise TypeError(f"Operation names are strings (or similar), not {type(name).__name__}.")
        return self.as_graph_element(name, allow_tensor=False, allow_operation=True)

    def get_tensor_by_name(self, name: str) -> Tensor:
        if not isinstance(name, str):
            raise TypeError(f"Tensor names are strings (or similar), not {type(name).__name__}.")
        return self.as_graph_element(name, allow_tensor=True, allow_operation=False)

    def as_graph_element(self, obj, allow_tensor=True, allow_operation=True):
        """The Tensor or Operation ``obj`` names (or is), checked to belong to this graph."""
        if hasattr(obj, "_as_graph_element") and not isinstance(obj, (Tensor, Operation)):
            obj = obj._as_graph_element()
        if isinstance(obj, str):
            return self._element_by_name(obj, allow_tensor, allow_operation)
        if isinstance(obj, Tensor) and allow_tensor or isinstance(obj, Operation) and allow_operation:
            if obj.graph is not self:
                raise ValueError(f"{type(obj).__name__} {obj.name} is not an element of this "
                                 f"graph.")
            return obj
        allowed = " or ".join(k for k, ok in (("Tensor", allow_tensor),
                                                ("Operation", allow_operation)) if ok)
        raise TypeError(f"Can not convert a {type(obj).__name__} into a {allowed}.")

    def _element_by_name(self, name: str, allow_tensor: bool, allow_operation: bool):
        if ":" in name and allow_tensor:
            op_name, _, index = name.rpartition(":")
            if not index.isdigit():
                raise ValueError(f"The name {name!r} looks like a Tensor name, but is not a "
                                 f"valid one. Tensor names must be of the form "
                                 f"\"<op_name>:<output_index>\".")
            op = self._ops_by_name.get(op_name)
            if op is None:
                raise KeyError(f"The name {name!r} refers to a Tensor which does not exist. "
                               f"The operation, {op_name!r}, does not exist in the graph."
                               + _nearest(op_name, self._ops_by_name))
            if int(index) >= len(op.outputs):
                raise KeyError(f"The name {name!r} refers to a Tensor which does not exist. "
                               f"The operation, {op_name!r}, exists but only has "
                               f"{len(op.outputs)} outputs.")
            return op.outputs[int(index)]
        if ":" in name:
            raise ValueError(f"Name {name!r} appears to refer to a Tensor, not an Operation.")
        if allow_tensor and not allow_operation and name not in self._ops_by_name:
            raise ValueError(f"The name {name!r} looks like an (invalid) Operation name, not a "
                             f"Tensor. Tensor names must be of the form "
                             f"\"<op_name>:<output_index>\".")
        op = self._ops_by_name.get(name)
        if op is None:
            raise KeyError(f"The name {name!r} refers to an Operation not in the graph."
                           + _nearest(name, self._ops_by_name))
        if not allow_operation:
            raise ValueError(f"The name {name!r} refers to an Operation, not a Tensor. Tensor "
                             f"names must be of the form \"<op_name>:<output_index>\".")
        return op

    # ---- names ------------------------------------------------------------------------------
    def get_name_scope(self) -> str:
        return self._name_stack

    def unique_name(self, name: str, mark_as_used: bool = True) -> str:
        """``name`` under the current scope, with ``_N`` appended when already in use."""
        if self._name_stack:
            name = self._name_stack + "/" + name
        key = name.lower()
        count = self._names_in_use.get(key, 0)
        if mark_as_used:
            self._names_in_use[key] = count + 1
        if count > 0:
            base = key
            while key in self._names_in_use:
                key = f"{base}_{count}"
                count += 1
            if mark_as_used:
                self._names_in_use[key] = 1
            name = f"{name}_{count - 1}"
        return name

    @contextlib.contextmanager
    def name_scope(self, name):
        """Enter scope ``name`` (made unique); ``"s/"`` re-enters, ``""``/None resets."""
        if name:
            name = name.decode() if isinstance(name, bytes) else str(name)
            pattern = VALID_SCOPE_NAME if self._name_stack else VALID_OP_NAME
            if not pattern.match(name):
                raise ValueError(f"'{name}' is not a valid scope name. A scope name has to "
                                 f"match the following pattern: {pattern.pattern}")
        old = self._name_stack
        if not name:
            new = ""
        elif name.endswith("/"):
            new = name[:-1]
        else:
            new = self.unique_name(name)
        self._name_stack = new
        try:
            yield new + "/" if new else ""
        finally:
            self._name_stack = old

    def _mark_name_used(self, name: str) -> None:
        key = name.lower()
        self._names_in_use[key] = max(self._names_in_use.get(key, 0), 1)

    # ---- op creation (used by flowsaver.ops.registry) ----------------------------------------
    def _check_not_finalized(self) -> None:
        if self._finalized:
            raise RuntimeError("Graph is finalized and cannot be modified.")

    def _add_op(self, op: Operation) -> None:
        """Register a new op: name, id, control dependencies, device and colocation."""
        self._check_not_finalized()
        with self._lock:
            if op.name in self._ops_by_name:
                raise ValueError(f"Duplicate node name in graph: '{op.name}'")
            self._version += 1
            op._id = self._version
            self._ops_by_name[op.name] = op
            self._ops.append(op)
            self._mark_name_used(op.name)
            input_ops = {t.op for t in op.inputs}
            op._add_control_inputs(self._control_dependencies_for(input_ops))
            for scope in self._control_scopes:
                scope.seen.add(op)
            self._apply_device_and_colocation(op)
        for hook in list(self._op_hooks):
            hook(op)

    def add_op_hook(self, fn) -> None:
        """Call ``fn(op)`` for every op added from now on (``tf.cond`` routes a branch's
        ops through its context this way), until ``remove_op_hook(fn)``."""
        self._op_hooks.append(fn)

    def remove_op_hook(self, fn) -> None:
        self._op_hooks.remove(fn)

    def add_imported_op(self, op: Operation) -> None:
        """Add ``op`` exactly as a GraphDef node describes it: no control dependencies,
        device or colocation from the scopes open around the import. If adding fails, ``op``
        is unhooked from the ops it named as inputs."""
        saved = self._control_scopes, self._device_stack, self._colocation_stack
        self._control_scopes, self._device_stack, self._colocation_stack = [], [], []
        try:
            self._add_op(op)
        except BaseException:  # not in the graph, so a rollback could not see it
            op.detach()
            raise
        finally:
            self._control_scopes, self._device_stack, self._colocation_stack = saved

    def snapshot(self) -> "GraphSnapshot":
        """What ``restore`` brings the graph back to: its ops, used names, collections."""
        return GraphSnapshot(len(self._ops), dict(self._names_in_use),
                             {key: list(items) for key, items in self._collections.items()})

    def restore(self, snapshot: "GraphSnapshot") -> None:
        """Remove every op added since ``snapshot`` and put names and collections back."""
        added = self._ops[snapshot.num_ops:]
        del self._ops[snapshot.num_ops:]
        gone = set(added)
        for op in added:
            if self._ops_by_name.get(op.name) is op:
                del self._ops_by_name[op.name]
            op.detach(keep=gone)
        self._names_in_use.clear()
        self._names_in_use.update(snapshot.names)
        for key in [k for k in self._collections if k not in snapshot.collections]:
            del self._collections[key]
        for key, items in snapshot.collections.items():  # in place: callers may hold lists
            self._collections.setdefault(key, [])[:] = items

    def push_control_scope(self, scope: "ControlScope") -> None:
        """Open ``scope`` (as ``control_dependencies`` does); ``pop_control_scope`` closes it."""
        self._control_scopes.append(scope)

    def pop_control_scope(self, scope: "ControlScope") -> None:
        if scope in self._control_scopes:  # control_dependencies(None) may have hidden it
            self._control_scopes.remove(scope)

    def record_op_seen_by_control_dependencies(self, op: Operation) -> None:
        """Mark ``op`` as made inside the open ``control_dependencies`` blocks (ops using it
        then get no control inputs from them), as if it had been made there."""
        for scope in self._control_scopes:
            scope.seen.add(op)

    def in_control_scope(self, scope: "ControlScope") -> bool:
        """Whether ``scope`` is open and not hidden by ``control_dependencies(None)``."""
        return any(s is scope for s in self._control_scopes)

    def _apply_device_and_colocation(self, op: Operation) -> None:
        if self._colocation_stack:
            groups = []
            for other in self._colocation_stack:
                for group in other.colocation_groups():
                    if group not in groups:
                        groups.append(group)
            op._set_attr("_class", encode(sorted(groups), "list(string)"))
            if self._colocation_stack[-1].device:
                op._set_device(self._colocation_stack[-1].device)
                return
        device, raw = "", False
        for spec in self._device_stack:
            if callable(spec):  # a device function's answer is recorded as it is given
                device, raw = spec(op) or "", True
            else:
                device, raw = devices.merge(device, spec), False
        if device:
            op._set_device(device if raw else devices.canonical(device))

    def _control_dependencies_for(self, input_ops) -> list:
        out = []
        for scope in self._control_scopes:
            if any(op in scope.seen for op in input_ops):
                continue
            out.extend(c for c in scope.control_ops if c not in input_ops and c not in out)
        return out

    @property
    def version(self) -> int:
        return self._version

    @contextlib.contextmanager
    def control_dependencies(self, control_inputs):
        """Ops made inside the block run only after ``control_inputs``; None clears."""
        if control_inputs is None:
            saved, self._control_scopes = self._control_scopes, []
            try:
                yield
            finally:
                self._control_scopes = saved
            return
        ops = []
        for c in control_inputs:
            c = op_of(c)
            if not isinstance(c, Operation):
                raise TypeError(f"Control input must be an Operation, a Tensor or "
                                f"IndexedSlices: {c!r}")
            self.as_graph_element(c)
            # TensorFlow marks ops used as control inputs; the attr reaches the GraphDef.
            c._set_attr("_has_manual_control_dependencies", encode(True, "bool"))
            if c not in ops:
                ops.append(c)
        scope = ControlScope(ops)
        self._control_scopes.append(scope)
        try:
            yield
        finally:
            self._control_scopes.remove(scope)

    @contextlib.contextmanager
    def device(self, device_name_or_function):
        """Record a device for ops made in the block (flowsaver runs all on the CPU)."""
        self._device_stack.append(device_name_or_function)
        try:
            yield
        finally:
            self._device_stack.pop()

    @contextlib.contextmanager
    def colocate_with(self, op, ignore_existing=False):
        """Ops made in the block get a ``_class: loc:@op`` attr, as in TensorFlow."""
        if op is None:
            saved, self._colocation_stack = self._colocation_stack, []
            try:
                yield
            finally:
                self._colocation_stack = saved
            return
        op = op_of(op)
        saved = self._colocation_stack
        self._colocation_stack = ([] if ignore_existing else list(saved)) + [op]
        saved_devices, self._device_stack = self._device_stack, []
        try:
            yield
        finally:
            self._colocation_stack = saved
            self._device_stack = saved_devices

    @contextlib.contextmanager
    def _attr_scope(self, attrs: dict):
        """Ops made in the block get these AttrValues (how TensorFlow colocates initializers)."""
        saved = self._attr_scope_map
        self._attr_scope_map = {**saved, **attrs}
        try:
            yield
        finally:
            self._attr_scope_map = saved

    # ---- collections -------------------------------------------------------------------------
    def add_to_collection(self, name, value) -> None:
        self._check_not_finalized()
        self._collections.setdefault(name, []).append(value)

    def add_to_collections(self, names, value) -> None:
        names = (names,) if isinstance(names, str) else set(names)
        for name in names:
            self.add_to_collection(name, value)

    def get_collection_ref(self, name) -> list:
        return self._collections.setdefault(name, [])

    def get_collection(self, name, scope=None) -> list:
        items = self._collections.get(name, [])
        if scope is None:
            return list(items)
        pattern = re.compile(scope)
        return [item for item in items
                if getattr(item, "name", None) is not None and pattern.match(item.name)]

    def get_all_collection_keys(self) -> list:
        return [k for k in self._collections if isinstance(k, str)]

    def clear_collection(self, name) -> None:
        self._check_not_finalized()
        self._collections.pop(name, None)

    # ---- state ---------------------------------------------------------------------------------
    def finalize(self) -> None:
        """Forbid further changes: adding an op raises RuntimeError."""
        self._finalized = True

    @property
    def finalized(self) -> bool:
        return self._finalized

    def _unsafe_unfinalize(self) -> None:
        self._finalized = False

    @property
    def graph_def_versions(self) -> VersionDef:
        return VersionDef(producer=GRAPH_DEF_VERSION,
                          min_consumer=GRAPH_DEF_VERSION_MIN_CONSUMER)

    def as_graph_def(self, from_version=None, add_shapes=False) -> GraphDef:
        """The GraphDef of this graph: every node in creation order, and the versions."""
        graph_def = GraphDef()
        graph_def.versions.CopyFrom(self.graph_def_versions)
        for op in self._ops:
            if from_version is not None and op._id <= from_version:
                continue
            node = graph_def.node.add()
            node.CopyFrom(op.node_def)
            if add_shapes and op.outputs:  # TensorFlow adds them only where there are outputs
                node.attr["_output_shapes"].CopyFrom(
                    encode([t.shape for t in op.outputs], "list(shape)"))
        library = getattr(self, "function_library", None)   # FunctionDefs of traced functions
        if library is not None and from_version is None:
            graph_def.library.CopyFrom(library)
        return graph_def

    def is_feedable(self, tensor) -> bool:
        return tensor not in getattr(self, "_unfeedable", ())

    def is_fetchable(self, tensor_or_op) -> bool:
        return True

    def prevent_feeding(self, tensor) -> None:
        if not hasattr(self, "_unfeedable"):
            self._unfeedable = set()
        self._unfeedable.add(tensor)

    def __contains__(self, name) -> bool:
        return name in self._ops_by_name


def op_of(value):
    """The Operation ``value`` stands for: itself, a tensor's producer, a variable's node
    (VariableV2 / VarHandleOp), an assign result's assign op. Other values come back as
    they are, for the caller to refuse."""
    if isinstance(value, Operation):
        return value
    if isinstance(value, Tensor):
        return value.op
    if isinstance(getattr(value, "op", None), Operation):
        return value.op
    if hasattr(value, "_as_graph_element"):
        return op_of(value._as_graph_element())
    return value


def _nearest(name: str, names) -> str:
    import difflib
    close = difflib.get_close_matches(name, list(names), n=3, cutoff=0.6)
    return f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""


# ---- default graph and session stacks ---------------------------------------------------------
class _Defaults(threading.local):
    def __init__(self):
        self.graphs: list[Graph] = []


_default = _Defaults()
_global_graph: list[Graph] = [Graph()]


def get_default_graph() -> Graph:
    """The graph new ops go into: the innermost ``as_default()`` one, else the global one."""
    return _default.graphs[-1] if _default.graphs else _global_graph[0]


def reset_default_graph() -> None:
    """Replace the global default graph with a new, empty one.

    Raises:
      AssertionError: called inside a ``with graph.as_default()`` block, as TensorFlow.
    """
    if _default.graphs:
        raise AssertionError("Do not use tf.reset_default_graph() to clear nested graphs. "
                             "If you need a cleared graph, exit the nesting and create a "
                             "new graph.")
    _global_graph[0] = Graph()
