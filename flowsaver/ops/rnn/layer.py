"""The legacy ``tf.layers`` layer that TensorFlow 1.x RNN cells are: scopes and weights.

What makes cell variables and ops get TensorFlow's names:

- the first call (or ``add_weight``) captures a variable scope named after the class in
  snake case (``basic_lstm_cell``, made unique among its siblings: ``basic_lstm_cell_1``),
  together with the name scope open at that moment (``rnn/while/basic_lstm_cell/``);
- every call re-enters that variable scope without opening a new name scope, and builds
  its ops in the captured name scope, so later calls give ``.../MatMul_1``;
- weights come from ``get_variable`` in the captured scope: ``rnn/basic_lstm_cell/kernel``;
  a built layer reuses them. The first input's dtype is the layer's dtype when none is given.
"""
from __future__ import annotations

import re

from flowsaver.graph.attr_value import as_dtype
from flowsaver.graph.graph import get_default_graph
from flowsaver.graph.tensor_shape import TensorShape
from flowsaver.ops import nest
from flowsaver.ops.op_builder import convert_to_tensor
from flowsaver.ops.layers.weights import WeightLists
from flowsaver.ops.state import variable_scope as vs

__all__ = ["Layer", "snake_case"]


def snake_case(name: str) -> str:
    """``BasicLSTMCell`` -> ``basic_lstm_cell`` (Keras' ``to_snake_case``)."""
    intermediate = re.sub("(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    insecure = re.sub("([a-z])([A-Z])", r"\1_\2", intermediate).lower()
    return insecure if insecure[0] != "_" else "private" + insecure


class Layer(WeightLists):
    """A layer with TensorFlow 1.x's variable scoping (``tf.compat.v1.layers.Layer``)."""

    def __init__(self, trainable=True, name=None, dtype=None, _reuse=None, _scope=None):
        self.trainable = trainable
        self._reuse = _reuse
        self._dtype = None if dtype is None else as_dtype(dtype).base_dtype
        self._base_name = snake_case(type(self).__name__)
        self._name = name or self._base_name
        if name:
            self._base_name = name
        self.built = False
        self._trainable_weights: list = []
        self._non_trainable_weights: list = []
        self._current_scope = None
        self._scope = None
        if _scope:
            with vs.variable_scope(_scope) as captured:
                self._scope = captured

    # ---- properties --------------------------------------------------------------------------
    @property
    def dtype(self):
        return self._dtype


    # ---- scopes ------------------------------------------------------------------------------
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

    # ---- weights -----------------------------------------------------------------------------
    def add_weight(self, name, shape, dtype=None, initializer=None, regularizer=None,
                   trainable=None, constraint=None, use_resource=None, partitioner=None,
                   **kwargs):
        """A variable ``scope/name`` of this layer (made, or reused once built)."""
        trainable = True if trainable is None else trainable
        dtype = as_dtype(dtype or self._dtype or "float32")
        self._set_scope(None)
        reuse = self.built or self._reuse
        graph = get_default_graph()
        with vs.variable_scope(self._scope, reuse=reuse, auxiliary_name_scope=False) as scope:
            self._current_scope = scope
            with graph.name_scope(self._name_scope()):
                variable = vs.get_variable(
                    name, shape=shape, dtype=dtype,
                    initializer=initializer if initializer is not None else scope.initializer,
                    regularizer=regularizer, trainable=trainable and self.trainable,
                    constraint=constraint, partitioner=partitioner,
                    use_resource=use_resource)
        weights = self._trainable_weights if trainable and self.trainable else \
            self._non_trainable_weights
        if all(variable is not w for w in weights):
            weights.append(variable)
        return variable

    add_variable = add_weight

    def build(self, input_shape) -> None:
        self.built = True

    def call(self, inputs, *args, **kwargs):
        raise NotImplementedError

    # ---- calling -----------------------------------------------------------------------------
    def __call__(self, inputs, *args, scope=None, **kwargs):
        self._set_scope(scope)
        reuse = True if self.built else self._reuse
        graph = get_default_graph()
        with vs.variable_scope(self._scope, reuse=reuse, auxiliary_name_scope=False) as found:
            self._current_scope = found
            with graph.name_scope(self._name_scope()):
                if not self.built:
                    first = nest.flatten(inputs)[0]
                    first = convert_to_tensor(first)
                    if self._dtype is None:
                        self._dtype = first.dtype.base_dtype
                    self.build(_input_shapes(inputs))
                    self.built = True
                return self.call(inputs, *args, **kwargs)


def _input_shapes(inputs):
    """The static shapes of ``inputs`` as tuples (``None`` for unknown dimensions)."""
    def shape_of(value):
        shape = getattr(value, "shape", None)
        if isinstance(shape, TensorShape):
            return None if shape.ndims is None else tuple(shape.as_list())
        return shape
    if nest.is_nested(inputs):
        shapes = [shape_of(v) for v in nest.flatten(inputs)]
        return nest.pack_sequence_as(inputs, shapes)
    return shape_of(inputs)
