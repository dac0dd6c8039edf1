"""``tf.nn.dynamic_rnn`` and ``tf.nn.bidirectional_dynamic_rnn``: a cell run over time in a
``tf.while_loop`` reading a TensorArray of inputs and writing one of outputs, as TensorFlow
1.x builds it (``rnn/while/...``), with ``sequence_length`` copying state through (and
zero outputs) past each sequence's end.
"""
from __future__ import annotations

from flowsaver.graph.graph import get_default_graph
from flowsaver.graph.operation import Tensor
from flowsaver.graph.tensor_shape import TensorShape
from flowsaver.ops import nest
from flowsaver.ops.array import basic as array_ops
from flowsaver.ops.array import layout
from flowsaver.ops.array.reorder import reverse
from flowsaver.ops.array.sequence import reverse_sequence
from flowsaver.ops.array.slicing import where
from flowsaver.ops.const_eval import constant_value
from flowsaver.ops.control_flow import context
from flowsaver.ops.logging.checks import Assert
from flowsaver.ops.control_flow.cond import cond
from flowsaver.ops.control_flow.while_loop import while_loop
from flowsaver.ops.data_flow.tensor_array import TensorArray
from flowsaver.ops.math import api as math_ops
from flowsaver.ops.op_builder import constant, convert_to_tensor
from flowsaver.ops.rnn.cells import _concat
from flowsaver.ops.state import variable_scope as vs

__all__ = ["dynamic_rnn", "bidirectional_dynamic_rnn"]


def assert_like_rnncell(name: str, cell) -> None:
    """TypeError when ``cell`` lacks what an RNN cell has."""
    problems = [f"'{what}' property is missing" if what != "__call__" else
                "'callable' condition" for what in ("output_size", "state_size")
                if not hasattr(cell, what)]
    if not hasattr(cell, "zero_state"):
        problems.append("either 'zero_state' or 'get_initial_state' method is required")
    if not callable(cell):
        problems.append("is not callable")
    if problems:
        raise TypeError(f"The argument {name!r} ({cell}) is not an RNNCell: "
                        f"{', '.join(problems)}.")


def transpose_batch_time(x):
    """Swap the first two dimensions of ``x`` (batch-major to time-major and back)."""
    static = x.shape
    if static.ndims is not None and static.ndims < 2:
        return x
    rank = array_ops.rank(x)
    x_t = layout.transpose(x, array_ops.concat(([1, 0], math_ops.range(2, rank)), axis=0))
    dims = static.as_list() if static.ndims is not None else None
    if dims is not None:
        x_t.set_shape(TensorShape([dims[1], dims[0]]).concatenate(static[2:]))
    else:
        x_t.set_shape(TensorShape(None))
    return x_t


def best_effort_batch_size(flat_input):
    """The static batch size (dimension 1 of time-major inputs), else ``tf.shape(x)[1]``."""
    for value in flat_input:
        shape = value.shape
        if shape.ndims is None:
            continue
        if shape.ndims < 2:
            raise ValueError(f"Input tensor should have rank >= 2. Received input={value} of "
                             f"rank {shape.ndims}")
        if shape.as_list()[1] is not None:
            return shape.as_list()[1]
    return array_ops.shape(flat_input[0])[1]


def infer_state_dtype(explicit_dtype, state):
    if explicit_dtype is not None:
        return explicit_dtype
    if nest.is_nested(state):
        dtypes = [e.dtype for e in nest.flatten(state)]
        if not dtypes:
            raise ValueError(f"Unable to infer dtype from argument state={state}.")
        if any(d != dtypes[0] for d in dtypes):
            raise ValueError(f"Argument state={state} has tensors of different inferred "
                             f"dtypes. Unable to infer a single representative dtype. Dtypes "
                             f"received: {dtypes}")
        return dtypes[0]
    return state.dtype


def _should_cache() -> bool:
    """Variables of a cell cache their reads where used, unless built inside a loop."""
    current = context.current(get_default_graph())
    return context.containing_while(current) is None


def rnn_step(time, sequence_length, min_sequence_length, max_sequence_length, zero_output,
             state, call_cell, state_size, skip_conditionals=False):
    """One step of an RNN over sequences of different lengths: past a sequence's end its
    output is zero and its state is copied through."""
    flat_state = nest.flatten(state)
    flat_zero_output = nest.flatten(zero_output)
    copy_cond = time >= sequence_length

    def copy_one_through(output, new_output):
        if getattr(output, "is_tensor_array", False) or output.shape.ndims == 0:
            return new_output
        with new_output.graph.colocate_with(new_output.op):
            return where(copy_cond, output, new_output)

    def copy_some_through(flat_new_output, flat_new_state):
        return [copy_one_through(z, n) for z, n in zip(flat_zero_output, flat_new_output)] + \
            [copy_one_through(s, n) for s, n in zip(flat_state, flat_new_state)]

    def call_and_check():
        new_output, new_state = call_cell()
        nest.assert_same_structure(zero_output, new_output)
        nest.assert_same_structure(state, new_state)
        return nest.flatten(new_output), nest.flatten(new_state)

    if skip_conditionals:
        new_output, new_state = call_and_check()
        final = copy_some_through(new_output, new_state)
    else:
        def maybe_copy_some_through():
            new_output, new_state = call_and_check()
            return cond(time < min_sequence_length, lambda: new_output + new_state,
                        lambda: copy_some_through(new_output, new_state))
        final = cond(time >= max_sequence_length, lambda: flat_zero_output + flat_state,
                     maybe_copy_some_through)
    if len(final) != len(flat_zero_output) + len(flat_state):
        raise ValueError("Internal error: state and output were not concatenated correctly.")
    final_output, final_state = final[:len(flat_zero_output)], final[len(flat_zero_output):]
    for output, zero in zip(final_output, flat_zero_output):
        output.set_shape(zero.shape)
    for substate, old in zip(final_state, flat_state):
        if not getattr(substate, "is_tensor_array", False):
            substate.set_shape(old.shape)
    return (nest.pack_sequence_as(zero_output, final_output),
            nest.pack_sequence_as(state, final_state))


def dynamic_rnn(cell, inputs, sequence_length=None, initial_state=None, dtype=None,
                parallel_iterations=None, swap_memory=False, time_major=False, scope=None):
    """``(outputs, final_state)`` of ``cell`` run over the time dimension of ``inputs``.

    Raises:
      TypeError: ``cell`` is not an RNN cell.
      ValueError: neither ``initial_state`` nor ``dtype``; ``sequence_length`` not a vector;
        inputs of unknown depth or of different batch sizes or time steps.
    """
    assert_like_rnncell("cell", cell)
    with vs.variable_scope(scope or "rnn") as varscope:
        if _should_cache() and varscope.caching_device is None:
            varscope.set_caching_device(lambda op: op.device)
        flat_input = nest.flatten(inputs)
        if not time_major:
            flat_input = [convert_to_tensor(x) for x in flat_input]
            flat_input = tuple(transpose_batch_time(x) for x in flat_input)
        parallel_iterations = parallel_iterations or 32
        if sequence_length is not None:
            sequence_length = math_ops.cast(sequence_length, "int32")
            if sequence_length.shape.ndims not in (None, 1):
                raise ValueError(f"Argument sequence_length must be a vector of length "
                                 f"batch_size. Received sequence_length={sequence_length} of "
                                 f"shape: {sequence_length.shape}")
            sequence_length = array_ops.identity(sequence_length, name="sequence_length")
        batch_size = best_effort_batch_size(flat_input)
        if initial_state is not None:
            state = initial_state
        else:
            if not dtype:
                raise ValueError("If no initial_state is provided, argument `dtype` must be "
                                 "specified")
            if getattr(cell, "get_initial_state", None) is not None:
                state = cell.get_initial_state(inputs=None, batch_size=batch_size,
                                               dtype=dtype)
            else:
                state = cell.zero_state(batch_size, dtype)
        if sequence_length is not None:
            x_shape = array_ops.shape(sequence_length)
            packed = array_ops.stack([batch_size])
            check = Assert(math_ops.reduce_all(math_ops.equal(x_shape, packed)),
                           [f"Expected shape for Tensor {sequence_length.name} is ", packed,
                            " but saw shape: ", x_shape])
            with get_default_graph().control_dependencies([check]):
                sequence_length = array_ops.identity(sequence_length, name="CheckSeqLen")
        inputs = nest.pack_sequence_as(inputs, list(flat_input))
        outputs, final_state = _dynamic_rnn_loop(cell, inputs, state, parallel_iterations,
                                                 swap_memory, sequence_length, dtype)
        if not time_major:
            outputs = nest.map_structure(transpose_batch_time, outputs)
        return outputs, final_state


def _dynamic_rnn_loop(cell, inputs, initial_state, parallel_iterations, swap_memory,
                      sequence_length=None, dtype=None):
    state = initial_state
    state_size = cell.state_size
    flat_input = nest.flatten(inputs)
    flat_output_size = nest.flatten(cell.output_size)
    input_shape = array_ops.shape(flat_input[0])
    time_steps = input_shape[0]
    batch_size = best_effort_batch_size(flat_input)
    got_shapes = tuple(x.shape.with_rank_at_least(3) for x in flat_input)
    const_time_steps, const_batch_size = got_shapes[0].as_list()[:2]
    for i, shape in enumerate(got_shapes):
        if not shape[2:].is_fully_defined():
            raise ValueError(f"Input size (depth of inputs) must be accessible via shape "
                             f"inference, but saw value None for input={flat_input[i]}.")
        if shape.as_list()[0] != const_time_steps:
            raise ValueError(f"Time steps is not the same for all the elements in the input "
                             f"in a batch. Received time steps={shape.as_list()[0]} for "
                             f"input={flat_input[i]}.")
        if shape.as_list()[1] != const_batch_size:
            raise ValueError(f"Batch_size is not the same for all the elements in the input. "
                             f"Received batch size={shape.as_list()[1]} for "
                             f"input={flat_input[i]}.")

    def create_zero_arrays(size):
        return array_ops.zeros(array_ops.stack(_concat(batch_size, size)),
                               infer_state_dtype(dtype, state))
    flat_zero_output = tuple(create_zero_arrays(size) for size in flat_output_size)
    zero_output = nest.pack_sequence_as(cell.output_size, list(flat_zero_output))
    if sequence_length is not None:
        min_sequence_length = math_ops.reduce_min(sequence_length)
        max_sequence_length = math_ops.reduce_max(sequence_length)
    else:
        max_sequence_length = time_steps
    time = constant(0, dtype="int32", name="time")
    graph = get_default_graph()
    with graph.name_scope("dynamic_rnn") as base_name:
        pass

    def create_ta(name, element_shape, dtype):
        return TensorArray(dtype=dtype, size=time_steps, element_shape=element_shape,
                           tensor_array_name=base_name + name)
    output_ta = tuple(
        create_ta(f"output_{i}", TensorShape([const_batch_size]).concatenate(
            _static_shape(size)), infer_state_dtype(dtype, state))
        for i, size in enumerate(flat_output_size))
    input_ta = tuple(create_ta(f"input_{i}", x.shape[1:], x.dtype)
                     for i, x in enumerate(flat_input))
    input_ta = tuple(ta.unstack(x) for ta, x in zip(input_ta, flat_input))

    def time_step(time, output_ta_t, state):
        input_t = tuple(ta.read(time) for ta in input_ta)
        for value, shape in zip(input_t, got_shapes):
            value.set_shape(shape[1:])
        input_t = nest.pack_sequence_as(inputs, list(input_t))

        def call_cell():
            return cell(input_t, state)
        if sequence_length is not None:
            output, new_state = rnn_step(time, sequence_length, min_sequence_length,
                                         max_sequence_length, zero_output, state, call_cell,
                                         state_size, skip_conditionals=True)
        else:
            output, new_state = call_cell()
        output = nest.flatten(output)
        output_ta_t = tuple(ta.write(time, out) for ta, out in zip(output_ta_t, output))
        return time + 1, output_ta_t, new_state
    loop_bound = math_ops.minimum(time_steps, math_ops.maximum(1, max_sequence_length))
    _, output_final_ta, final_state = while_loop(
        cond=lambda time, *_: time < loop_bound, body=time_step,
        loop_vars=(time, output_ta, state), parallel_iterations=parallel_iterations,
        maximum_iterations=time_steps, swap_memory=swap_memory)
    final_outputs = tuple(ta.stack() for ta in output_final_ta)
    for output, size in zip(final_outputs, flat_output_size):
        output.set_shape(_concat([const_time_steps, const_batch_size], size, static=True))
    return nest.pack_sequence_as(cell.output_size, list(final_outputs)), final_state


def _static_shape(size):
    if isinstance(size, Tensor):
        return TensorShape(constant_value(size))
    return TensorShape(size)


def bidirectional_dynamic_rnn(cell_fw, cell_bw, inputs, sequence_length=None,
                              initial_state_fw=None, initial_state_bw=None, dtype=None,
                              parallel_iterations=None, swap_memory=False, time_major=False,
                              scope=None):
    """``((output_fw, output_bw), (state_fw, state_bw))``: one RNN forward in time, one over
    the inputs reversed (per sequence, with ``sequence_length``), its outputs reversed back."""
    assert_like_rnncell("cell_fw", cell_fw)
    assert_like_rnncell("cell_bw", cell_bw)
    time_axis, batch_axis = (0, 1) if time_major else (1, 0)

    def reverse_time(value):
        if sequence_length is not None:
            return reverse_sequence(value, seq_lengths=sequence_length, seq_axis=time_axis,
                                    batch_axis=batch_axis)
        return reverse(value, axis=[time_axis])
    with vs.variable_scope(scope or "bidirectional_rnn"):
        with vs.variable_scope("fw") as fw_scope:
            output_fw, state_fw = dynamic_rnn(
                cell_fw, inputs, sequence_length=sequence_length,
                initial_state=initial_state_fw, dtype=dtype,
                parallel_iterations=parallel_iterations, swap_memory=swap_memory,
                time_major=time_major, scope=fw_scope)
        with vs.variable_scope("bw") as bw_scope:
            inputs_reversed = nest.map_structure(reverse_time, inputs)
            tmp, state_bw = dynamic_rnn(
                cell_bw, inputs_reversed, sequence_length=sequence_length,
                initial_state=initial_state_bw, dtype=dtype,
                parallel_iterations=parallel_iterations, swap_memory=swap_memory,
                time_major=time_major, scope=bw_scope)
    output_bw = reverse_time(tmp)
    return (output_fw, output_bw), (state_fw, state_bw)
