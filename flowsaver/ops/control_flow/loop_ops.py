"""The nodes of a TensorFlow 1.x loop, one function each: ``Enter``, ``Exit``,
``NextIteration``, ``LoopCond``, ``ControlTrigger``, and the back edge that closes a loop."""
from __future__ import annotations

from flowsaver.graph.operation import Tensor
from flowsaver.graph.tensor_shape import as_shape
from flowsaver.ops.op_builder import convert_to_tensor, create_op


def _is_ref(tensor: Tensor) -> bool:
    return tensor.dtype._is_ref_dtype


def enter(tensor, frame_name: str, is_constant: bool = False, parallel_iterations: int = 10,
          use_ref: bool = True, use_input_shape: bool = True, name=None) -> Tensor:
    """``tensor`` made available in the child frame ``frame_name`` (``Enter``/``RefEnter``)."""
    tensor = convert_to_tensor(tensor, as_ref=True)
    attrs = {"frame_name": frame_name, "is_constant": is_constant,
             "parallel_iterations": parallel_iterations}
    op_type = "RefEnter" if _is_ref(tensor) and use_ref else "Enter"
    result = create_op(op_type, [tensor], attrs, name=name or op_type)
    if use_input_shape:
        result.set_shape(tensor.shape)
    return result


def exit_frame(tensor, name=None) -> Tensor:
    """``tensor`` made available in the parent frame (``Exit``/``RefExit``)."""
    tensor = convert_to_tensor(tensor, as_ref=True)
    op_type = "RefExit" if _is_ref(tensor) else "Exit"
    return create_op(op_type, [tensor], name=name or op_type)


def next_iteration(tensor, name=None) -> Tensor:
    """``tensor`` made available to the next iteration (``NextIteration``)."""
    tensor = convert_to_tensor(tensor, as_ref=True)
    op_type = "RefNextIteration" if _is_ref(tensor) else "NextIteration"
    return create_op(op_type, [tensor], name=name or op_type)


def loop_cond(pred, name=None) -> Tensor:
    """The boolean that decides whether the loop runs another iteration (``LoopCond``)."""
    return create_op("LoopCond", [pred], name=name or "LoopCond")


def control_trigger(name=None):
    """An op that does nothing and is never dead: a point to order others around."""
    return create_op("ControlTrigger", [], name=name or "ControlTrigger")


def identity_ref_or_tensor(tensor, name=None) -> Tensor:
    """``Identity`` (``RefIdentity`` for a ref) of ``tensor``."""
    tensor = convert_to_tensor(tensor, as_ref=True)
    op_type = "RefIdentity" if _is_ref(tensor) else "Identity"
    return create_op(op_type, [tensor], name=name or op_type)


def shape_less_than_or_equal(shape1, shape2) -> bool:
    """Whether ``shape1`` is at least as specific as ``shape2``."""
    shape1, shape2 = as_shape(shape1), as_shape(shape2)
    if shape2.ndims is None:
        return True
    if shape1.ndims != shape2.ndims:
        return False
    return all(d2 is None or d1 == d2 for d1, d2 in zip(shape1.as_list(), shape2.as_list()))


def add_next_and_back_edge(merged: Tensor, value, enforce_shape_invariant: bool = True):
    """Close a loop: ``value`` through a NextIteration into input 1 of ``merged``'s Merge.

    Raises:
      ValueError: ``value``'s shape is less specific than the loop variable's.
      TypeError: ``value``'s dtype is not the loop variable's.
    """
    value = next_iteration(convert_to_tensor(value))
    if enforce_shape_invariant and not shape_less_than_or_equal(value.shape, merged.shape):
        enter = merged.op.inputs[0].op
        entered = enter.inputs[0]
        raise ValueError(f"Input tensor '{entered.name}' enters the loop with shape "
                         f"{entered.shape}, but has shape {value.shape} after one iteration. "
                         f"To allow the shape to vary across iterations, use the "
                         f"`shape_invariants` argument of tf.while_loop to specify a "
                         f"less-specific shape.")
    if value.dtype.base_dtype != merged.op.inputs[1].dtype.base_dtype:
        raise TypeError(f"Input 1 of node {merged.op.name} was passed "
                        f"{value.dtype.base_dtype.name} from {value.name} incompatible with "
                        f"expected {merged.op.inputs[1].dtype.base_dtype.name}.")
    merged.op.replace_input(1, value)
    return value


__all__ = ["enter", "exit_frame", "next_iteration", "loop_cond", "control_trigger",
           "identity_ref_or_tensor", "shape_less_than_or_equal", "add_next_and_back_edge"]
