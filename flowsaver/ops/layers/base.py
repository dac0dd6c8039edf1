"""The ``tf.layers.Layer`` base class: TensorFlow 1.x layer semantics (as TensorFlow 2.21's
legacy Keras layers give them) over flowsaver's variable scopes.

A layer owns a variable scope, opened the first time it is called (``dense``, ``dense_1``,
... or the name it was given) or, for the function forms given a name, when it is made.
Its weights are ``get_variable`` calls in that scope (``dense/kernel``), so ``reuse`` and
enclosing ``variable_scope``s work as in TensorFlow; its ops go in the scope's original
name scope (``dense/MatMul``). Regularization losses go to ``REGULARIZATION_LOSSES``,
update ops (batch-norm moving averages) to ``UPDATE_OPS``.
"""
from __future__ import annotations

import re

import numpy as np

from flowsaver.graph.attr_value import as_dtype
from flowsaver.graph.graph import GraphKeys, get_default_graph
from flowsaver.graph.tensor_shape import TensorShape
from flowsaver.ops.layers import initializers
from flowsaver.ops.op_builder import convert_to_tensor
from flowsaver.ops.layers.weights import WeightLists
from flowsaver.ops.state import variable_scope as vs
from flowsaver.ops.state.variables import global_variables


def _snake_case(name: str) -> str:
    """Keras' layer base names: ``Conv2DTranspose`` -> ``conv2d_transpose``."""
    words = re.sub(r"(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", words).lower()


def _unique_layer_name(base: str) -> str:
    """Keras' per-graph layer names: ``dense_1``, ``dense_2``, ... (not the scope names)."""
    graph = get_default_graph()
    counts = graph.__dict__.setdefault("_layer_name_counts", {})
    counts[base] = counts.get(base, 0) + 1
    return f"{base}_{counts[base]}"


class InputSpec:
    """What a layer accepts: a minimum rank and known sizes of some axes."""

    def __init__(self, min_ndim=None, ndim=None, axes=None):
        self.min_ndim, self.ndim, self.axes = min_ndim, ndim, dict(axes or {})

    def check(self, layer_name: str, shape: TensorShape) -> None:
        rank = shape.ndims
        if rank is None:
            return
        if self.ndim is not None and rank != self.ndim:
            raise ValueError(f'Input 0 of layer "{layer_name}" is incompatible with the '
                             f"layer: expected ndim={self.ndim}, found ndim={rank}. Full "
                             f"shape received: {tuple(shape.as_list())}")
        if self.min_ndim is not None and rank < self.min_ndim:
            raise ValueError(f'Input 0 of layer "{layer_name}" is incompatible with the '
                             f"layer: expected min_ndim={self.min_ndim}, found ndim={rank}. "
                             f"Full shape received: {tuple(shape.as_list())}")
        dims = shape.as_list()
        for axis, size in self.axes.items():
            have = dims[axis]
            if size is not None and have is not None and have != size:
                raise ValueError(f'Input 0 of layer "{layer_name}" is incompatible with the '
                                 f"layer: expected axis {axis} of input shape to have value "
                                 f"{size}, but received input with shape "
                                 f"{tuple(dims)}")


class Layer(WeightLists):
    """Base of the ``tf.layers`` classes: scope, weights, losses and updates."""

    def __init__(self, trainable=True, name=None, dtype=None, _scope=None, _reuse=None,
                 **kwargs):
        unknown = set(kwargs) - {"input_shape", "batch_input_shape", "batch_size"}
        if unknown:
            raise TypeError(f"Keyword argument not understood: {sorted(unknown)[0]}")
        self.trainable = trainable
        self._dtype = None if dtype is None else as_dtype(dtype)
        self._reuse = _reuse
        self.built = False
        self.input_spec = None
        self._trainable_weights: list = []
        self._non_trainable_weights: list = []
        self._losses: list = []
        self._updates: list = []
        base = _snake_case(type(self).__name__)
        if name:
            self._name, self._base_name = name, name
        else:
            self._name, self._base_name = _unique_layer_name(base), base
        self._scope = None
        if _scope:
            with vs.variable_scope(_scope) as captured:
                self._scope = captured
        self._current_scope = None

    # ---- what TensorFlow's layers expose ------------------------------------------------
    @property
    def dtype(self):
        return None if self._dtype is None else self._dtype.name


    @property
    def losses(self) -> list:
        return list(self._losses)

    @property
    def updates(self) -> list:
        return list(self._updates)

    def add_update(self, updates) -> None:
        for update in updates if isinstance(updates, (list, tuple)) else [updates]:
            self._updates.append(update)

    def get_weights(self, session=None):
        """The weights' values in ``session`` (the default session when None)."""
        from flowsaver.graph.default_session import default_session_for
        weights = self.weights
        if not weights:
            return []
        session = default_session_for(weights[0].graph, session, "Layer.get_weights()")
        return session.run(weights)

    def build(self, input_shape) -> None:
        self.built = True

    def call(self, inputs, **kwargs):
        return inputs

    def apply(self, inputs, *args, **kwargs):
        return self(inputs, *args, **kwargs)

    # ---- scope and weights ----------------------------------------------------------------
    def _set_scope(self, scope=None) -> None:
        if self._scope is not None:
            return
        if self._reuse:
            with vs.variable_scope(scope if scope is not None else self._base_name) as captured:
                self._scope = captured
        else:
            with vs.variable_scope(scope, default_name=self._base_name) as captured:
                self._scope = captured

    def _name_scope(self) -> str:
        return self._current_scope.original_name_scope

    def add_weight(self, name, shape, dtype=None, initializer=None, regularizer=None,
                   trainable=None, constraint=None, partitioner=None, use_resource=None,
                   **kwargs):
        """A ``get_variable`` in the layer's scope, tracked by the layer."""
        graph = get_default_graph()
        trainable = True if trainable is None else trainable
        existing = set(id(v) for v in global_variables())
        dtype = as_dtype(dtype or self._dtype or "float32")
        self._set_scope(None)
        reuse = self.built or self._reuse
        with vs.variable_scope(self._scope, reuse=reuse, auxiliary_name_scope=False) as scope:
            self._current_scope = scope
            with graph.name_scope(self._name_scope()):
                if initializer is None:
                    initializer = scope.initializer
                initializer = initializers.get(initializer)
                if initializer is None:
                    initializer = initializers.default_for(dtype)
                variable = vs.get_variable(
                    name, shape, dtype=dtype, initializer=initializer,
                    trainable=trainable and self.trainable, constraint=constraint,
                    partitioner=partitioner, use_resource=use_resource)
                if regularizer is not None and id(variable) not in existing:
                    with graph.name_scope(name + "/Regularizer"):
                        loss = regularizer(variable)
                    if loss is not None:
                        self._losses.append(loss)
                        _add_to_collection(graph, GraphKeys.REGULARIZATION_LOSSES, [loss])
        if trainable and self.trainable:
            self._trainable_weights.append(variable)
        else:
            self._non_trainable_weights.append(variable)
        return variable

    # ---- calling ------------------------------------------------------------------------
    def __call__(self, inputs, *args, **kwargs):
        scope = kwargs.pop("scope", None)
        graph = get_default_graph()
        self._set_scope(scope)
        reuse = True if self.built else self._reuse
        with vs.variable_scope(self._scope, reuse=reuse, auxiliary_name_scope=False) as scope:
            self._current_scope = scope
            if isinstance(inputs, (np.ndarray, float, int)):
                inputs = convert_to_tensor(inputs)
            with graph.name_scope(self._name_scope()):
                if not self.built:
                    self._build_from(inputs)
                elif self.input_spec is not None:
                    self.input_spec.check(self._name, convert_to_tensor(inputs).shape)
                outputs = self.call(inputs, *args, **kwargs)
        _add_to_collection(graph, GraphKeys.UPDATE_OPS, self.updates)
        return outputs

    def _build_from(self, inputs) -> None:
        inputs = convert_to_tensor(inputs)
        if self.input_spec is not None:
            self.input_spec.check(self._name, inputs.shape)
        if self._dtype is None:
            self._dtype = inputs.dtype.base_dtype
        self.build(inputs.shape)
        self.built = True


def _add_to_collection(graph, key: str, elements) -> None:
    collection = graph.get_collection_ref(key)
    present = {id(e) for e in collection}
    for element in elements:
        if id(element) not in present:
            collection.append(element)
            present.add(id(element))
