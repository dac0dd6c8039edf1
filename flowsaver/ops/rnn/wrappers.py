"""Cells made of cells: ``MultiRNNCell`` (a stack, ``cell_<i>`` scopes) and the wrappers
``DropoutWrapper``, ``ResidualWrapper``, ``DeviceWrapper`` (they call the wrapped cell in
its own scope and work on its inputs, outputs or state)."""
from __future__ import annotations

import hashlib

from flowsaver.graph.graph import get_default_graph
from flowsaver.ops import nest
from flowsaver.ops.array import basic as array_ops
from flowsaver.ops.array.slicing import slice as array_slice
from flowsaver.ops.const_eval import constant_value
from flowsaver.ops.nn import api as nn_ops
from flowsaver.ops.op_builder import convert_to_tensor
from flowsaver.ops.rnn.cells import LSTMStateTuple, RNNCell
from flowsaver.ops.state import variable_scope as vs

__all__ = ["MultiRNNCell", "DropoutWrapper", "ResidualWrapper", "DeviceWrapper"]


class MultiRNNCell(RNNCell):
    """Cells applied in sequence, each to the previous one's output (``cell_0``, ...)."""

    def __init__(self, cells, state_is_tuple=True):
        super().__init__()
        if not cells:
            raise ValueError("Must specify at least one cell for MultiRNNCell.")
        if not nest.is_nested(cells):
            raise TypeError(f"cells must be a list or tuple, but saw: {cells}.")
        self._cells = cells
        self._state_is_tuple = state_is_tuple
        if not state_is_tuple and any(nest.is_nested(c.state_size) for c in cells):
            raise ValueError(f"Some cells return tuples of states, but the flag "
                             f"state_is_tuple is not set.  State sizes are: "
                             f"{[c.state_size for c in cells]}")

    @property
    def state_size(self):
        if self._state_is_tuple:
            return tuple(cell.state_size for cell in self._cells)
        return sum(cell.state_size for cell in self._cells)

    @property
    def output_size(self):
        return self._cells[-1].output_size

    def zero_state(self, batch_size, dtype):
        with get_default_graph().name_scope(type(self).__name__ + "ZeroState"):
            if self._state_is_tuple:
                return tuple(cell.zero_state(batch_size, dtype) for cell in self._cells)
            return super().zero_state(batch_size, dtype)

    @property
    def trainable_weights(self):
        if not self.trainable:
            return []
        return [w for cell in self._cells for w in getattr(cell, "trainable_weights", [])]

    def call(self, inputs, state):
        position, current, new_states = 0, inputs, []
        for i, cell in enumerate(self._cells):
            with vs.variable_scope(f"cell_{i}"):
                if self._state_is_tuple:
                    if not nest.is_nested(state):
                        raise ValueError(f"Expected state to be a tuple of length "
                                         f"{len(self.state_size)}, but received: {state}")
                    cell_state = state[i]
                else:
                    cell_state = array_slice(state, [0, position], [-1, cell.state_size])
                    position += cell.state_size
                current, new_state = cell(current, cell_state)
                new_states.append(new_state)
        new_states = tuple(new_states) if self._state_is_tuple else \
            array_ops.concat(new_states, 1)
        return current, new_states


class _Wrapper(RNNCell):
    """A cell around ``cell``: calls it directly (no scope of its own)."""

    def __init__(self, cell, **kwargs):
        super().__init__(**kwargs)
        self.cell = cell

    @property
    def wrapped_cell(self):
        return self.cell

    @property
    def state_size(self):
        return self.cell.state_size

    @property
    def output_size(self):
        return self.cell.output_size

    @property
    def trainable_weights(self):
        return getattr(self.cell, "trainable_weights", [])

    def zero_state(self, batch_size, dtype):
        with get_default_graph().name_scope(type(self).__name__ + "ZeroState"):
            return self.cell.zero_state(batch_size, dtype)

    def __call__(self, inputs, state, scope=None):
        return self._call_wrapped_cell(inputs, state, self.cell.__call__, scope=scope)


def _default_state_filter(substate):
    """Which parts of a state dropout applies to: an LSTM's ``h``, not its ``c``."""
    if isinstance(substate, LSTMStateTuple):
        return LSTMStateTuple(c=False, h=True)
    if getattr(substate, "is_tensor_array", False):
        return False
    return True


def _filtered(filter_fn, state):
    """``filter_fn`` applied down ``state``: a bool (or a structure of bools) per part."""
    decided = filter_fn(state)
    if isinstance(decided, bool) or not nest.is_nested(state):
        return decided
    if isinstance(decided, LSTMStateTuple) or nest.is_nested(decided):
        return decided
    return type(state)(_filtered(filter_fn, s) for s in state)


class DropoutWrapper(_Wrapper):
    """Dropout on the cell's inputs, outputs and state (``*_keep_prob``)."""

    def __init__(self, cell, input_keep_prob=1.0, output_keep_prob=1.0, state_keep_prob=1.0,
                 variational_recurrent=False, input_size=None, dtype=None, seed=None,
                 dropout_state_filter_visitor=None, **kwargs):
        super().__init__(cell, dtype=dtype, **kwargs)
        if variational_recurrent:
            raise NotImplementedError("DropoutWrapper(variational_recurrent=True) is not "
                                      "supported by flowsaver")
        if dropout_state_filter_visitor is not None and \
                not callable(dropout_state_filter_visitor):
            raise TypeError("dropout_state_filter_visitor must be callable")
        self._state_filter = dropout_state_filter_visitor or _default_state_filter
        with get_default_graph().name_scope("DropoutWrapperInit"):
            for prob, attr in ((input_keep_prob, "input_keep_prob"),
                               (state_keep_prob, "state_keep_prob"),
                               (output_keep_prob, "output_keep_prob")):
                tensor = convert_to_tensor(prob)
                known = constant_value(tensor)
                if known is not None:
                    if known < 0 or known > 1:
                        raise ValueError(f"Parameter {attr} must be between 0 and 1: "
                                         f"{known}")
                    setattr(self, f"_{attr}", float(known))
                else:
                    setattr(self, f"_{attr}", tensor)
        self._seed = seed

    def _gen_seed(self, salt_prefix: str, index: int):
        if self._seed is None:
            return None
        text = (str(self._seed) + f"{salt_prefix}_{index}").encode("utf-8")
        return int(hashlib.md5(text).hexdigest()[:8], 16) & 0x7FFFFFFF

    def _dropout(self, values, salt_prefix, keep_prob, decided=None):
        decided = values if decided is None else decided
        flat_values, flat_decided = nest.flatten(values), _flat_decisions(decided, values)
        out = []
        for i, (value, do) in enumerate(zip(flat_values, flat_decided)):
            if not isinstance(do, bool) or do:
                value = nn_ops.dropout(value, rate=1.0 - keep_prob,
                                       seed=self._gen_seed(salt_prefix, i))
            out.append(value)
        return nest.pack_sequence_as(values, out)

    def _call_wrapped_cell(self, inputs, state, cell_call_fn, **kwargs):
        def should(p):
            return not isinstance(p, float) or p < 1
        if should(self._input_keep_prob):
            inputs = self._dropout(inputs, "input", self._input_keep_prob)
        output, new_state = cell_call_fn(inputs, state, **kwargs)
        if should(self._state_keep_prob):
            new_state = self._dropout(new_state, "state", self._state_keep_prob,
                                      _filtered(self._state_filter, new_state))
        if should(self._output_keep_prob):
            output = self._dropout(output, "output", self._output_keep_prob)
        return output, new_state


def _flat_decisions(decided, values) -> list:
    """One decision per leaf of ``values`` (a bool decides a whole substructure)."""
    if isinstance(decided, bool):
        return [decided] * len(nest.flatten(values))
    if not nest.is_nested(values):
        return [decided]
    out = []
    for d, v in zip(nest.flatten(decided) if not nest.is_nested(decided) else decided,
                    values):
        out.extend(_flat_decisions(d, v))
    return out


class ResidualWrapper(_Wrapper):
    """The cell's output plus its input (or ``residual_fn(inputs, outputs)``)."""

    def __init__(self, cell, residual_fn=None, **kwargs):
        super().__init__(cell, **kwargs)
        self._residual_fn = residual_fn

    def _call_wrapped_cell(self, inputs, state, cell_call_fn, **kwargs):
        outputs, new_state = cell_call_fn(inputs, state, **kwargs)

        def default_residual_fn(inputs, outputs):
            nest.assert_same_structure(inputs, outputs)
            nest.map_structure(lambda i, o: i.shape.assert_is_compatible_with(o.shape),
                               inputs, outputs)
            return nest.map_structure(lambda i, o: i + o, inputs, outputs)
        return (self._residual_fn or default_residual_fn)(inputs, outputs), new_state


class DeviceWrapper(_Wrapper):
    """The cell built on ``device``."""

    def __init__(self, cell, device, **kwargs):
        super().__init__(cell, **kwargs)
        self._device = device

    def zero_state(self, batch_size, dtype):
        graph = get_default_graph()
        with graph.name_scope(type(self).__name__ + "ZeroState"), graph.device(self._device):
            return self.cell.zero_state(batch_size, dtype)

    def _call_wrapped_cell(self, inputs, state, cell_call_fn, **kwargs):
        with get_default_graph().device(self._device):
            return cell_call_fn(inputs, state, **kwargs)

