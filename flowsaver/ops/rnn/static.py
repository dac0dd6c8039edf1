"""``tf.nn.static_rnn`` and ``tf.nn.static_bidirectional_rnn``: a cell unrolled over a Python
list of inputs, one call per time step (weights reused after the first), as TensorFlow 1.x
builds it."""
from __future__ import annotations

from flowsaver.graph.tensor_shape import TensorShape
from flowsaver.ops import nest
from flowsaver.ops.array import basic as array_ops
from flowsaver.ops.array.sequence import reverse_sequence
from flowsaver.ops.math import api as math_ops
from flowsaver.ops.op_builder import convert_to_tensor
from flowsaver.ops.rnn.cells import _concat
from flowsaver.ops.rnn.dynamic import (_should_cache, assert_like_rnncell, infer_state_dtype,
                                       rnn_step)
from flowsaver.ops.state import variable_scope as vs

__all__ = ["static_rnn", "static_bidirectional_rnn"]


def static_rnn(cell, inputs, initial_state=None, dtype=None, sequence_length=None,
               scope=None):
    """``(outputs, state)``: ``cell`` applied to each of ``inputs`` in turn.

    Raises:
      TypeError: ``inputs`` is not a sequence, or ``cell`` not an RNN cell.
      ValueError: no inputs; neither ``initial_state`` nor ``dtype``; unknown input depth.
    """
    assert_like_rnncell("cell", cell)
    if not nest.is_nested(inputs):
        raise TypeError(f"Argument `inputs` must be a sequence. Received: {inputs}")
    if not inputs:
        raise ValueError("Argument `inputs` must not be empty.")
    outputs = []
    with vs.variable_scope(scope or "rnn") as varscope:
        if _should_cache() and varscope.caching_device is None:
            varscope.set_caching_device(lambda op: op.device)
        first = inputs
        while nest.is_nested(first):
            first = first[0]
        if first.shape.ndims != 1:
            fixed_batch_size = first.shape.with_rank_at_least(2).as_list()[0]
            for flat in nest.flatten(inputs):
                shape = flat.shape.with_rank_at_least(2)
                batch = shape.as_list()[0]
                if fixed_batch_size is not None and batch is not None and \
                        fixed_batch_size != batch:
                    raise ValueError(f"Dimensions {fixed_batch_size} and {batch} are not "
                                     f"compatible")
                for i, size in enumerate(shape.as_list()[1:]):
                    if size is None:
                        raise ValueError(f"Input size (dimension {i} of input {flat}) must be "
                                         f"accessible via shape inference, but saw value "
                                         f"None.")
        else:
            fixed_batch_size = first.shape.with_rank_at_least(1).as_list()[0]
        batch_size = fixed_batch_size if fixed_batch_size else array_ops.shape(first)[0]
        if initial_state is not None:
            state = initial_state
        else:
            if not dtype:
                raise ValueError("If no initial_state is provided, argument `dtype` must be "
                                 "specified")
            state = cell.get_initial_state(inputs=None, batch_size=batch_size, dtype=dtype) \
                if getattr(cell, "get_initial_state", None) is not None else \
                cell.zero_state(batch_size, dtype)
        if sequence_length is not None:
            sequence_length = convert_to_tensor(sequence_length, name="sequence_length")
            if sequence_length.shape.ndims not in (None, 1):
                raise ValueError(f"Argument `sequence_length` must be a vector of length "
                                 f"{batch_size}. Received sequence_length={sequence_length}.")

            def create_zero_output(size):
                output = array_ops.zeros(array_ops.stack(_concat(batch_size, size)),
                                         infer_state_dtype(dtype, state))
                output.set_shape(TensorShape(_concat(fixed_batch_size, size, static=True)))
                return output
            flat_zero = tuple(create_zero_output(s) for s in nest.flatten(cell.output_size))
            zero_output = nest.pack_sequence_as(cell.output_size, list(flat_zero))
            sequence_length = math_ops.cast(sequence_length, "int32")
            min_sequence_length = math_ops.reduce_min(sequence_length)
            max_sequence_length = math_ops.reduce_max(sequence_length)
        for time, input_ in enumerate(inputs):
            if time > 0:
                varscope.reuse_variables()

            def call_cell(input_=input_, state=state):
                return cell(input_, state)
            if sequence_length is not None:
                output, state = rnn_step(time, sequence_length, min_sequence_length,
                                         max_sequence_length, zero_output, state, call_cell,
                                         cell.state_size)
            else:
                output, state = call_cell()
            outputs.append(output)
        return outputs, state


def _reverse_seq(input_seq, lengths):
    """``input_seq`` (a list over time) reversed, each sequence within its length."""
    if lengths is None:
        return list(reversed(input_seq))
    flat_input_seq = tuple(nest.flatten(x) for x in input_seq)
    flat_results = [[] for _ in input_seq]
    for sequence in zip(*flat_input_seq):
        shape = TensorShape(None if sequence[0].shape.ndims is None
                            else [None] * sequence[0].shape.ndims)
        for value in sequence:
            shape.assert_is_compatible_with(value.shape)
            value.set_shape(shape)
        reversed_ = reverse_sequence(array_ops.stack(list(sequence)), lengths, 0, 1)
        for r, flat_result in zip(array_ops.unstack(reversed_), flat_results):
            r.set_shape(shape)
            flat_result.append(r)
    return [nest.pack_sequence_as(x, flat) for x, flat in zip(input_seq, flat_results)]


def static_bidirectional_rnn(cell_fw, cell_bw, inputs, initial_state_fw=None,
                             initial_state_bw=None, dtype=None, sequence_length=None,
                             scope=None):
    """``(outputs, state_fw, state_bw)``: forward and backward static RNNs, their outputs
    concatenated at each step."""
    assert_like_rnncell("cell_fw", cell_fw)
    assert_like_rnncell("cell_bw", cell_bw)
    if not nest.is_nested(inputs):
        raise TypeError(f"Argument `inputs` must be a sequence. Received: {inputs}")
    if not inputs:
        raise ValueError("Argument `inputs` must not be empty.")
    with vs.variable_scope(scope or "bidirectional_rnn"):
        with vs.variable_scope("fw") as fw_scope:
            output_fw, state_fw = static_rnn(cell_fw, inputs, initial_state_fw, dtype,
                                             sequence_length, scope=fw_scope)
        with vs.variable_scope("bw") as bw_scope:
            reversed_inputs = _reverse_seq(inputs, sequence_length)
            tmp, state_bw = static_rnn(cell_bw, reversed_inputs, initial_state_bw, dtype,
                                       sequence_length, scope=bw_scope)
    output_bw = _reverse_seq(tmp, sequence_length)
    flat_fw, flat_bw = nest.flatten(output_fw), nest.flatten(output_bw)
    flat_outputs = tuple(array_ops.concat([fw, bw], 1) for fw, bw in zip(flat_fw, flat_bw))
    return nest.pack_sequence_as(output_fw, list(flat_outputs)), state_fw, state_bw
