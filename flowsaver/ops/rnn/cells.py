"""``tf.nn.rnn_cell``: the basic RNN, GRU and LSTM cells of TensorFlow 1.x.

Each cell is a legacy layer (``layer.py``): its weights are ``<scope>/<cell>/kernel`` and
``bias`` (``gates/...`` and ``candidate/...`` for the GRU, ``w_*_diag`` and
``projection/kernel`` for a peephole or projecting LSTM), its ops are built as TensorFlow
builds them, and ``zero_state`` gives zeros under ``<Class>ZeroState``.
"""
from __future__ import annotations

import collections

from flowsaver.graph.attr_value import as_dtype
from flowsaver.graph.operation import Tensor
from flowsaver.graph.tensor_shape import TensorShape
from flowsaver.ops import nest
from flowsaver.ops.array import basic as array_ops
from flowsaver.ops.array import layout
from flowsaver.graph.graph import get_default_graph
from flowsaver.ops.array.reorder import split
from flowsaver.ops.array.slicing import slice as array_slice
from flowsaver.ops.const_eval import constant_value
from flowsaver.ops.math import api as math_ops
from flowsaver.ops.math.composites import clip_by_value
from flowsaver.ops.nn import api as nn_ops
from flowsaver.ops.op_builder import constant
from flowsaver.ops.rnn.layer import Layer
from flowsaver.ops.state import init_ops
from flowsaver.ops.state import partitioned
from flowsaver.ops.state import variable_scope as vs

WEIGHTS_NAME = "kernel"
BIAS_NAME = "bias"


def _concat(prefix, suffix, static=False):
    """``prefix`` and ``suffix`` (ints, TensorShapes or tensors) joined as a shape tensor,
    or as a static list (TensorFlow's ``rnn_cell_impl._concat``, Consts and all)."""
    if isinstance(prefix, Tensor):
        p, p_static = prefix, constant_value(prefix)
        if p.shape.ndims == 0:
            p = layout.expand_dims(p, 0)
        elif p.shape.ndims != 1:
            raise ValueError(f"prefix tensor must be either a scalar or vector, but saw "
                             f"tensor: {p}")
    else:
        p = TensorShape(prefix)
        p_static = p.as_list() if p.ndims is not None else None
        p = constant(p.as_list(), dtype="int32") if p.is_fully_defined() else None
    if isinstance(suffix, Tensor):
        s, s_static = suffix, constant_value(suffix)
        if s.shape.ndims == 0:
            s = layout.expand_dims(s, 0)
        elif s.shape.ndims != 1:
            raise ValueError(f"suffix tensor must be either a scalar or vector, but saw "
                             f"tensor: {s}")
    else:
        s = TensorShape(suffix)
        s_static = s.as_list() if s.ndims is not None else None
        s = constant(s.as_list(), dtype="int32") if s.is_fully_defined() else None
    if static:
        p_shape = TensorShape(None if p_static is None else
                              [None if d is None else int(d) for d in
                               (p_static if hasattr(p_static, "__len__") else [p_static])])
        shape = p_shape.concatenate(TensorShape(s_static if s_static is None else
                                                [int(d) if d is not None else None
                                                 for d in s_static]))
        return shape.as_list() if shape.ndims is not None else None
    if p is None or s is None:
        raise ValueError(f"Provided a prefix or suffix of None: {prefix} and {suffix}")
    return array_ops.concat((p, s), 0)


def zero_state_tensors(state_size, batch_size, dtype):
    """Zeros of shape ``[batch_size] + s`` for each ``s`` in ``state_size``."""
    def get_state_shape(s):
        c = _concat(batch_size, s)
        size = array_ops.zeros(c, dtype=dtype)
        size.set_shape(_concat(batch_size, s, static=True))
        return size
    return nest.map_structure(get_state_shape, state_size)


def _check_supported_dtypes(dtype) -> None:
    if dtype is None:
        return
    dtype = as_dtype(dtype)
    if not (dtype.is_floating or dtype.is_complex):
        raise ValueError(f"RNN cell only supports floating point inputs, but saw dtype: "
                         f"{dtype}")


def check_input_dtypes(values) -> None:
    for t in nest.flatten(values):
        _check_supported_dtypes(t.dtype)


class RNNCell(Layer):
    """An RNN cell: ``(output, next_state) = cell(inputs, state)``."""

    def __call__(self, inputs, state, scope=None):
        if scope is not None:
            with vs.variable_scope(scope) as scope:
                return Layer.__call__(self, inputs, state, scope=scope)
        # the variable scope of the first call, re-entered by every call (a fresh name
        # scope of its last name; the root scope opens none)
        captured = getattr(self, "rnncell_scope", None)
        if captured is None:
            captured = self.rnncell_scope = vs.get_variable_scope()
        if not captured.name:
            return Layer.__call__(self, inputs, state)
        with vs.variable_scope(captured):
            return Layer.__call__(self, inputs, state)

    @property
    def state_size(self):
        raise NotImplementedError("Abstract method")

    @property
    def output_size(self):
        raise NotImplementedError("Abstract method")

    def build(self, _):
        self.built = True

    def get_initial_state(self, inputs=None, batch_size=None, dtype=None):
        if inputs is not None:
            batch_size = inputs.shape.as_list()[0] or array_ops.shape(inputs)[0]
            dtype = inputs.dtype
        if batch_size is None or dtype is None:
            raise ValueError(f"batch_size and dtype cannot be None while constructing initial "
                             f"state: batch_size={batch_size}, dtype={dtype}")
        return self.zero_state(batch_size, dtype)

    def zero_state(self, batch_size, dtype):
        """Zero-filled state tensor(s): ``[batch_size, s]`` for each ``s`` in state_size."""
        with get_default_graph().name_scope(type(self).__name__ + "ZeroState"):
            return zero_state_tensors(self.state_size, batch_size, dtype)


class LayerRNNCell(RNNCell):
    """An RNN cell that builds its weights once, like any layer. The cells below keep
    ``num_units`` and emit outputs of that size unless they say otherwise."""

    def __call__(self, inputs, state, scope=None, *args, **kwargs):
        return Layer.__call__(self, inputs, state, *args, scope=scope, **kwargs)

    def _init_units(self, num_units, activation) -> None:
        _check_supported_dtypes(self.dtype)
        self._num_units = num_units
        self._activation = _activation(activation)

    @property
    def output_size(self):
        if not hasattr(self, "_num_units"):  # a user's cell that did not say
            raise NotImplementedError("Abstract method")
        return self._num_units

    def _zero_bias(self, size):
        """The bias variable (TensorFlow's name), zeros unless the cell says otherwise."""
        return self.add_variable(BIAS_NAME, shape=[size],
                                 initializer=init_ops.zeros_initializer(
                                     dtype=self.dtype or "float32"))


def _check_depth(inputs_shape) -> None:
    if inputs_shape[-1] is None:
        raise ValueError(f"Expected inputs.shape[-1] to be known, saw shape: {inputs_shape}")


def _activation(activation):
    """The activation function: a callable, a Keras name (``"relu"``), or tanh."""
    if not activation:
        return math_ops.tanh
    if callable(activation):
        return activation
    known = {"tanh": math_ops.tanh, "sigmoid": math_ops.sigmoid, "relu": nn_ops.relu,
             "linear": lambda x: x, "softplus": nn_ops.softplus, "elu": nn_ops.elu}
    if activation not in known:
        raise ValueError(f"Unknown activation function: {activation}")
    return known[activation]


class BasicRNNCell(LayerRNNCell):
    """``output = new_state = activation(W [inputs, state] + b)``."""

    def __init__(self, num_units, activation=None, reuse=None, name=None, dtype=None,
                 **kwargs):
        super().__init__(_reuse=reuse, name=name, dtype=dtype, **kwargs)
        self._init_units(num_units, activation)

    @property
    def state_size(self):
        return self._num_units

    def build(self, inputs_shape):
        _check_depth(inputs_shape)
        depth = inputs_shape[-1]
        self._kernel = self.add_variable(WEIGHTS_NAME, shape=[depth + self._num_units,
                                                              self._num_units])
        self._bias = self._zero_bias(self._num_units)
        self.built = True

    def call(self, inputs, state):
        check_input_dtypes([inputs, state])
        gates = math_ops.matmul(array_ops.concat([inputs, state], 1), self._kernel)
        output = self._activation(nn_ops.bias_add(gates, self._bias))
        return output, output


class GRUCell(LayerRNNCell):
    """Gated recurrent unit: reset and update gates, then a candidate state."""

    def __init__(self, num_units, activation=None, reuse=None, kernel_initializer=None,
                 bias_initializer=None, name=None, dtype=None, **kwargs):
        super().__init__(_reuse=reuse, name=name, dtype=dtype, **kwargs)
        self._init_units(num_units, activation)
        self._kernel_initializer = kernel_initializer
        self._bias_initializer = bias_initializer

    @property
    def state_size(self):
        return self._num_units

    def build(self, inputs_shape):
        _check_depth(inputs_shape)
        depth, n = inputs_shape[-1], self._num_units
        bias = self._bias_initializer
        self._gate_kernel = self.add_variable(f"gates/{WEIGHTS_NAME}", shape=[depth + n, 2 * n],
                                              initializer=self._kernel_initializer)
        self._gate_bias = self.add_variable(
            f"gates/{BIAS_NAME}", shape=[2 * n],
            initializer=bias if bias is not None else
            init_ops.constant_initializer(1.0, dtype=self.dtype or "float32"))
        self._candidate_kernel = self.add_variable(f"candidate/{WEIGHTS_NAME}",
                                                   shape=[depth + n, n],
                                                   initializer=self._kernel_initializer)
        self._candidate_bias = self.add_variable(
            f"candidate/{BIAS_NAME}", shape=[n],
            initializer=bias if bias is not None else
            init_ops.zeros_initializer(dtype=self.dtype or "float32"))
        self.built = True

    def call(self, inputs, state):
        check_input_dtypes([inputs, state])
        gates = math_ops.matmul(array_ops.concat([inputs, state], 1), self._gate_kernel)
        value = math_ops.sigmoid(nn_ops.bias_add(gates, self._gate_bias))
        r, u = split(value=value, num_or_size_splits=2, axis=1)
        candidate = math_ops.matmul(array_ops.concat([inputs, r * state], 1),
                                    self._candidate_kernel)
        c = self._activation(nn_ops.bias_add(candidate, self._candidate_bias))
        new_h = u * state + (1 - u) * c
        return new_h, new_h


_LSTMStateTuple = collections.namedtuple("LSTMStateTuple", ("c", "h"))


class LSTMStateTuple(_LSTMStateTuple):
    """An LSTM's state ``(c, h)``: the cell state and the output."""

    __slots__ = ()

    @property
    def dtype(self):
        c, h = self
        if c.dtype != h.dtype:
            raise TypeError(f"Inconsistent internal state: {c.dtype} vs {h.dtype}")
        return c.dtype


class BasicLSTMCell(LayerRNNCell):
    """The basic LSTM: no peepholes, no projection, ``forget_bias`` added to the forget gate."""

    def __init__(self, num_units, forget_bias=1.0, state_is_tuple=True, activation=None,
                 reuse=None, name=None, dtype=None, **kwargs):
        super().__init__(_reuse=reuse, name=name, dtype=dtype, **kwargs)
        self._init_units(num_units, activation)
        self._forget_bias = forget_bias
        self._state_is_tuple = state_is_tuple

    @property
    def state_size(self):
        n = self._num_units
        return LSTMStateTuple(n, n) if self._state_is_tuple else 2 * n

    def build(self, inputs_shape):
        _check_depth(inputs_shape)
        depth, n = inputs_shape[-1], self._num_units
        self._kernel = self.add_variable(WEIGHTS_NAME, shape=[depth + n, 4 * n])
        self._bias = self._zero_bias(4 * n)
        self.built = True

    def call(self, inputs, state):
        check_input_dtypes([inputs, state])
        sigmoid = math_ops.sigmoid
        one = constant(1, dtype="int32")
        if self._state_is_tuple:
            c, h = state
        else:
            c, h = split(value=state, num_or_size_splits=2, axis=one)
        gates = nn_ops.bias_add(math_ops.matmul(array_ops.concat([inputs, h], 1), self._kernel),
                                self._bias)
        i, j, f, o = split(value=gates, num_or_size_splits=4, axis=one)
        forget_bias = constant(self._forget_bias, dtype=f.dtype)
        add, multiply = math_ops.add, math_ops.multiply
        new_c = add(multiply(c, sigmoid(add(f, forget_bias))),
                    multiply(sigmoid(i), self._activation(j)))
        new_h = multiply(self._activation(new_c), sigmoid(o))
        new_state = LSTMStateTuple(new_c, new_h) if self._state_is_tuple else \
            array_ops.concat([new_c, new_h], 1)
        return new_h, new_state


class LSTMCell(LayerRNNCell):
    """The LSTM with optional peepholes (``use_peepholes``), cell clipping (``cell_clip``)
    and a projection of the output (``num_proj``, ``proj_clip``)."""

    def __init__(self, num_units, use_peepholes=False, cell_clip=None, initializer=None,
                 num_proj=None, proj_clip=None, num_unit_shards=None, num_proj_shards=None,
                 forget_bias=1.0, state_is_tuple=True, activation=None, reuse=None, name=None,
                 dtype=None, **kwargs):
        super().__init__(_reuse=reuse, name=name, dtype=dtype, **kwargs)
        self._init_units(num_units, activation)
        self._use_peepholes = use_peepholes
        self._cell_clip = cell_clip
        self._initializer = initializer
        self._num_proj = num_proj
        self._proj_clip = proj_clip
        self._num_unit_shards = num_unit_shards
        self._num_proj_shards = num_proj_shards
        self._forget_bias = forget_bias
        self._state_is_tuple = state_is_tuple
        second = num_proj if num_proj else num_units
        self._state_size = LSTMStateTuple(num_units, second) if state_is_tuple else \
            num_units + second
        self._output_size = second

    @property
    def state_size(self):
        return self._state_size

    @property
    def output_size(self):
        return self._output_size

    def build(self, inputs_shape):
        _check_depth(inputs_shape)
        depth, n = inputs_shape[-1], self._num_units
        h_depth = n if self._num_proj is None else self._num_proj
        shards = self._num_unit_shards
        self._kernel = self.add_variable(
            WEIGHTS_NAME, shape=[depth + h_depth, 4 * n], initializer=self._initializer,
            partitioner=partitioned.fixed_size_partitioner(shards) if shards else None)
        self._bias = self._zero_bias(4 * n)
        if self._use_peepholes:
            self._w_f_diag = self.add_variable("w_f_diag", shape=[n],
                                               initializer=self._initializer)
            self._w_i_diag = self.add_variable("w_i_diag", shape=[n],
                                               initializer=self._initializer)
            self._w_o_diag = self.add_variable("w_o_diag", shape=[n],
                                               initializer=self._initializer)
        if self._num_proj is not None:
            shards = self._num_proj_shards
            self._proj_kernel = self.add_variable(
                f"projection/{WEIGHTS_NAME}", shape=[n, self._num_proj],
                initializer=self._initializer,
                partitioner=partitioned.fixed_size_partitioner(shards) if shards else None)
        self.built = True

    def call(self, inputs, state):
        check_input_dtypes([inputs, state])
        n = self._num_units
        num_proj = n if self._num_proj is None else self._num_proj
        sigmoid = math_ops.sigmoid
        if self._state_is_tuple:
            c_prev, m_prev = state
        else:
            c_prev = array_slice(state, [0, 0], [-1, n])
            m_prev = array_slice(state, [0, n], [-1, num_proj])
        if inputs.shape.with_rank(2).as_list()[1] is None:
            raise ValueError("Could not infer input size from inputs.get_shape()[-1]")
        matrix = nn_ops.bias_add(math_ops.matmul(array_ops.concat([inputs, m_prev], 1),
                                                 self._kernel), self._bias)
        i, j, f, o = split(value=matrix, num_or_size_splits=4, axis=1)
        if self._use_peepholes:
            c = (sigmoid(f + self._forget_bias + self._w_f_diag * c_prev) * c_prev +
                 sigmoid(i + self._w_i_diag * c_prev) * self._activation(j))
        else:
            c = sigmoid(f + self._forget_bias) * c_prev + sigmoid(i) * self._activation(j)
        if self._cell_clip is not None:
            c = clip_by_value(c, -self._cell_clip, self._cell_clip)
        if self._use_peepholes:
            m = sigmoid(o + self._w_o_diag * c) * self._activation(c)
        else:
            m = sigmoid(o) * self._activation(c)
        if self._num_proj is not None:
            m = math_ops.matmul(m, self._proj_kernel)
            if self._proj_clip is not None:
                m = clip_by_value(m, -self._proj_clip, self._proj_clip)
        new_state = LSTMStateTuple(c, m) if self._state_is_tuple else \
            array_ops.concat([c, m], 1)
        return m, new_state
