"""``tf.variable_scope`` and ``tf.get_variable``: variables named by scope, shared on reuse.

Variable names depend only on variable scopes (``s/v``), not on name scopes; re-opening
a scope opens a fresh name scope (``s_1``) for the ops made inside, as in TensorFlow.
"""
from __future__ import annotations

import contextlib
import enum

from flowsaver.graph.attr_value import as_dtype
from flowsaver.graph.graph import GraphKeys, get_default_graph
from flowsaver.graph.tensor_shape import TensorShape
from flowsaver.ops.state import init_ops
from flowsaver.ops.state import partitioned
from flowsaver.ops.state.lazy_tensor import LazyEvalTensor
from flowsaver.ops.state.variables import Variable


class _ReuseMode(enum.Enum):
    AUTO_REUSE = 1


AUTO_REUSE = _ReuseMode.AUTO_REUSE


class VariableScope:
    """A variable scope's name and the defaults it gives ``get_variable``."""

    def __init__(self, reuse, name="", initializer=None, regularizer=None,
                 caching_device=None, partitioner=None, custom_getter=None,
                 name_scope="", dtype="float32", use_resource=None, constraint=None):
        self._reuse = reuse
        self._name = name
        self.initializer = initializer
        self.regularizer = regularizer
        self.caching_device = caching_device
        self.partitioner = partitioner
        self.custom_getter = custom_getter
        self.original_name_scope = name_scope
        self.dtype = as_dtype(dtype)
        self.use_resource = use_resource
        self.constraint = constraint

    @property
    def name(self) -> str:
        return self._name

    @property
    def reuse(self):
        return self._reuse

    def reuse_variables(self) -> None:
        self._reuse = True

    def set_initializer(self, initializer) -> None:
        self.initializer = initializer

    def set_regularizer(self, regularizer) -> None:
        self.regularizer = regularizer

    def get_variable(self, name, shape=None, dtype=None, initializer=None, regularizer=None,
                     reuse=None, trainable=None, collections=None, caching_device=None,
                     partitioner=None, validate_shape=True, use_resource=None,
                     custom_getter=None, constraint=None, **kwargs):
        # An empty name gives "scope/": the variable re-enters its scope's name, which is
        # how slot variables get plain names ("w/Adam") in a scope of that same name.
        full_name = f"{self._name}/{name}" if self._name else name
        reuse = self._reuse if reuse is None else reuse
        graph = get_default_graph()
        # Names come from the variable scope alone, so the name scope is reset here.
        with graph.name_scope(None):
            return _store(graph).get_variable(
                full_name, shape, as_dtype(dtype or self.dtype),
                initializer if initializer is not None else self.initializer,
                regularizer or self.regularizer, reuse, trainable, collections,
                validate_shape, constraint or self.constraint,
                partitioner if partitioner is not None else self.partitioner,
                use_resource if use_resource is not None else self.use_resource,
                caching_device or self.caching_device)

    def set_caching_device(self, caching_device) -> None:
        """Where variables made in this scope keep their read (a device or device function)."""
        self.caching_device = caching_device


class _VariableStore:
    """The variables ``get_variable`` made in one graph, by full name."""

    def __init__(self):
        self.variables: dict[str, Variable] = {}
        self.scope_counts: dict[str, int] = {}
        self.scope_stack: list[VariableScope] = [VariableScope(False)]

    def get_variable(self, name, shape, dtype, initializer, regularizer, reuse, trainable,
                     collections, validate_shape, constraint, partitioner=None,
                     use_resource=None, caching_device=None):
        if partitioner is not None and name not in self.variables:
            if reuse is True:
                raise ValueError(f"PartitionedVariable {name} does not exist, or was not "
                                 f"created with tf.get_variable(). Did you mean to set "
                                 f"reuse=None in VarScope?")
            variable = self._create_partitioned(name, shape, dtype, initializer, trainable,
                                                collections, validate_shape, constraint,
                                                partitioner, use_resource)
            self.variables[name] = variable
            return variable
        if name in self.variables:
            if reuse is False or reuse is None:
                raise ValueError(f"Variable {name} already exists, disallowed. Did you mean "
                                 f"to set reuse=True or reuse=tf.AUTO_REUSE in VarScope?")
            found = self.variables[name]
            if shape is not None and not found.shape.is_compatible_with(TensorShape(shape)):
                raise ValueError(f"Trying to share variable {name}, but specified shape "
                                 f"{TensorShape(shape)} and found shape {found.shape}.")
            if dtype != found.dtype.base_dtype:
                raise ValueError(f"Trying to share variable {name}, but specified dtype "
                                 f"{dtype.name} and found dtype {found.dtype.base_dtype.name}.")
            return found
        if reuse is True:
            raise ValueError(f"Variable {name} does not exist, or was not created with "
                             f"tf.get_variable(). Did you mean to set reuse=tf.AUTO_REUSE in "
                             f"VarScope?")
        variable = self._create(name, shape, dtype, initializer, trainable, collections,
                                validate_shape, constraint, use_resource=use_resource,
                                caching_device=caching_device)
        self.variables[name] = variable
        if regularizer is not None:
            graph = get_default_graph()

            def make_loss():
                with graph.colocate_with(variable.op), \
                        graph.name_scope(name + "/Regularizer/"):
                    return regularizer(variable)
            # As TensorFlow: one call to see whether there is a loss at all (its ops stay
            # in the graph), then a loss rebuilt at each use (see lazy_tensor).
            if regularizer(variable) is not None:
                graph.add_to_collection(GraphKeys.REGULARIZATION_LOSSES,
                                        LazyEvalTensor(make_loss))
        return variable

    def _create_partitioned(self, name, shape, dtype, initializer, trainable, collections,
                            validate_shape, constraint, partitioner, use_resource=None):
        """The slices ``name/part_i``, each a variable with its SaveSliceInfo."""
        if shape is None:
            raise ValueError(f"Shape of a new partitioned variable ({name}) must be fully "
                             f"defined, but instead was None.")
        shape = TensorShape(shape)
        if not shape.is_fully_defined():
            raise ValueError(f"Shape of a new partitioned variable ({name}) must be fully "
                             f"defined, but instead was {shape}.")
        dims = shape.as_list()
        partitions = list(partitioner(shape=shape, dtype=dtype))
        if len(partitions) != len(dims):
            raise ValueError(f"Partitioner returned {partitions} for variable {name} of "
                             f"rank {len(dims)}: one count per dimension is needed")
        graph = get_default_graph()
        parts = []
        for i, (offset, part_shape) in enumerate(partitioned.slice_layout(dims, partitions)):
            part_name = f"{name}/part_{i}"
            info = partitioned.PartitionInfo(dims, offset)
            # TensorFlow opens (and so reserves) this scope while preparing the initializer.
            with graph.name_scope(part_name + "/PartitionedInitializer"):
                init = initializer
            with graph.name_scope(None):
                part = self._create(part_name, part_shape, dtype, init, trainable,
                                    collections, validate_shape, constraint, info,
                                    use_resource)
            part._set_save_slice_info(partitioned.SaveSliceInfo(name, dims, offset, part_shape))
            parts.append(part)
        return partitioned.PartitionedVariable(name, dims, dtype, parts, partitions)

    @staticmethod
    def _create(name, shape, dtype, initializer, trainable, collections, validate_shape,
                constraint, partition_info=None, use_resource=None, caching_device=None):
        if initializer is not None and not callable(initializer) or hasattr(initializer, "op"):
            if shape is not None and validate_shape and hasattr(initializer, "shape") and \
                    not TensorShape(shape).is_compatible_with(initializer.shape):
                raise ValueError(f"Shape of a new variable ({name}) must match the shape of "
                                 f"its initializer {initializer.shape}; got {TensorShape(shape)}")
            return Variable(initializer, name=name, trainable=trainable,
                            collections=collections, validate_shape=validate_shape,
                            dtype=None if hasattr(initializer, "op") else dtype,
                            constraint=constraint, use_resource=use_resource,
                            caching_device=caching_device)
        if shape is None:
            raise ValueError(f"Shape of a new variable ({name}) must be fully defined, but "
                             f"instead was None.")
        shape = TensorShape(shape)
        if not shape.is_fully_defined() and validate_shape:
            raise ValueError(f"Shape of a new variable ({name}) must be fully defined, but "
                             f"instead was {shape}.")
        if initializer is None:
            if dtype.is_floating:
                initializer = init_ops.GlorotUniform()
            elif dtype.is_integer or dtype.is_bool or dtype.kind == "string":
                initializer = init_ops.Zeros()
            else:
                raise ValueError(f"An initializer for variable {name} of {dtype.name} is "
                                 f"required")
        if isinstance(initializer, type):
            initializer = initializer(dtype=dtype)
        dims = shape.as_list()
        return Variable(lambda: initializer(dims, dtype=dtype, partition_info=partition_info),
                        name=name,
                        trainable=trainable, collections=collections, dtype=dtype,
                        validate_shape=validate_shape, constraint=constraint,
                        use_resource=use_resource, caching_device=caching_device)


def _store(graph) -> _VariableStore:
    if graph._variable_scope_store is None:
        graph._variable_scope_store = _VariableStore()
    return graph._variable_scope_store


def get_variable_scope() -> VariableScope:
    return _store(get_default_graph()).scope_stack[-1]


def get_variable(name, shape=None, dtype=None, initializer=None, regularizer=None,
                 trainable=None, collections=None, caching_device=None, partitioner=None,
                 validate_shape=True, use_resource=None, custom_getter=None,
                 constraint=None, **kwargs):
    """Get the variable ``scope/name``, or create it with ``initializer`` (Glorot uniform)."""
    return get_variable_scope().get_variable(
        name, shape=shape, dtype=dtype, initializer=initializer, regularizer=regularizer,
        trainable=trainable, collections=collections, partitioner=partitioner,
        validate_shape=validate_shape, use_resource=use_resource, constraint=constraint)


@contextlib.contextmanager
def variable_scope(name_or_scope=None, default_name=None, values=None, initializer=None,
                   regularizer=None, caching_device=None, partitioner=None,
                   custom_getter=None, reuse=None, dtype=None, use_resource=None,
                   constraint=None, auxiliary_name_scope=True):
    """Open a variable scope (and a name scope of the same name) for ``get_variable``."""
    if name_or_scope is None and default_name is None:
        raise TypeError("If default_name is None then name_or_scope is required")
    if reuse is False:
        reuse = None  # False means "inherit", as in TensorFlow
    graph = get_default_graph()
    store = _store(graph)
    parent = store.scope_stack[-1]
    if isinstance(name_or_scope, VariableScope):
        full_name = name_or_scope.name
        name_scope_arg = name_or_scope.name.split("/")[-1]  # TF: a fresh name scope
        template = name_or_scope
    else:
        if name_or_scope is None:
            name_or_scope = _unique_scope(store, parent, default_name)
        full_name = f"{parent.name}/{name_or_scope}" if parent.name else str(name_or_scope)
        name_scope_arg = str(name_or_scope)
        template = parent
    inherited = True if parent.reuse is True else parent.reuse
    new_reuse = reuse if reuse is not None else (
        template.reuse if isinstance(name_or_scope, VariableScope) and template.reuse
        else inherited)
    store.scope_counts[full_name] = store.scope_counts.get(full_name, 0) + 1
    # As TensorFlow: leaving a scope opened by name forgets the scopes opened inside it
    # (re-entering "net" names its first "dense" again); leaving one opened from a
    # VariableScope object restores the counts as they were on entering.
    saved_counts = dict(store.scope_counts) if isinstance(name_or_scope, VariableScope) \
        else None
    cm = graph.name_scope(name_scope_arg) if auxiliary_name_scope else _current_scope(graph)
    with cm as scope_name:
        scope = VariableScope(
            new_reuse, full_name,
            initializer=initializer if initializer is not None else template.initializer,
            regularizer=regularizer or template.regularizer,
            caching_device=caching_device or template.caching_device,
            partitioner=partitioner or template.partitioner,
            custom_getter=custom_getter or template.custom_getter,
            # A re-entered scope object keeps the name scope it was first opened with.
            name_scope=template.original_name_scope if isinstance(
                name_or_scope, VariableScope) else (
                scope_name if isinstance(scope_name, str) else ""),
            dtype=dtype or template.dtype,
            use_resource=use_resource if use_resource is not None else template.use_resource,
            constraint=constraint or template.constraint)
        store.scope_stack.append(scope)
        try:
            yield scope
        finally:
            store.scope_stack.pop()
            if saved_counts is not None:
                store.scope_counts = saved_counts
            else:
                inside = full_name + "/"
                for key in store.scope_counts:
                    if key.startswith(inside):
                        store.scope_counts[key] = 0


@contextlib.contextmanager
def _current_scope(graph):
    stack = graph.get_name_scope()
    yield stack + "/" if stack else ""


def _unique_scope(store: _VariableStore, parent: VariableScope, prefix: str) -> str:
    base = f"{parent.name}/{prefix}" if parent.name else prefix
    if store.scope_counts.get(base, 0) == 0:
        return prefix
    i = 1
    while store.scope_counts.get(f"{base}_{i}", 0) > 0:
        i += 1
    return f"{prefix}_{i}"

