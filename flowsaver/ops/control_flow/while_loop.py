"""``tf.while_loop``: repeat ``body`` while ``cond`` holds, as TensorFlow 1.x builds it."""
from __future__ import annotations

from flowsaver.graph.tensor_shape import TensorShape
from flowsaver.ops import nest
from flowsaver.ops.control_flow.while_context import WhileContext
from flowsaver.ops.math import api as math_ops
from flowsaver.ops.op_builder import constant, convert_to_tensor, graph_of

__all__ = ["while_loop"]


def while_loop(cond, body, loop_vars, shape_invariants=None, parallel_iterations=10,
               back_prop=True, swap_memory=False, name=None, maximum_iterations=None,
               return_same_structure=False):
    """The values of ``loop_vars`` after running ``body`` as long as ``cond`` is true.

    ``cond(*vars)`` returns a scalar bool tensor, ``body(*vars)`` the next values in the
    structure of ``loop_vars`` (tensors, TensorArrays, nested lists, tuples, dicts).
    ``maximum_iterations`` bounds the number of iterations. A single loop variable comes
    back bare unless ``return_same_structure``.

    Example::

        i, total = tf.while_loop(lambda i, t: i < 10, lambda i, t: (i + 1, t + i), [0, 0])

    Raises:
      TypeError: ``cond`` or ``body`` is not callable, ``parallel_iterations`` < 1.
      ValueError: no ``loop_vars``; ``body`` returns another structure, or a shape the
        variable's shape invariant does not allow; ``maximum_iterations`` not a scalar.
    """
    if not callable(cond):
        raise TypeError("'cond' must be callable.")
    if not callable(body):
        raise TypeError("'body' must be callable.")
    if parallel_iterations < 1:
        raise TypeError("'parallel_iterations' must be a positive integer.")
    g = graph_of(nest.flatten(loop_vars) if nest.is_nested(loop_vars) else [loop_vars])
    with g.as_default(), g.name_scope(name or "while"):
        if not loop_vars:
            raise ValueError("'loop_vars' must be provided.")
        try_to_pack = len(loop_vars) == 1 and not return_same_structure
        if maximum_iterations is not None:
            maximum_iterations = convert_to_tensor(maximum_iterations,
                                                   name="maximum_iterations")
            if maximum_iterations.shape.ndims != 0:
                raise ValueError(f"'maximum_iterations' must be a scalar. Received shape: "
                                 f"{maximum_iterations.shape}")
            counter = constant(0, dtype=maximum_iterations.dtype, name="iteration_counter")
            orig_cond, orig_body = cond, body
            if try_to_pack:
                loop_vars = (counter, loop_vars[0])
                cond = lambda i, lv: math_ops.logical_and(  # noqa: E731
                    i < maximum_iterations, orig_cond(lv))
                body = lambda i, lv: (i + 1, orig_body(lv))  # noqa: E731
            else:
                loop_vars = (counter, loop_vars)
                cond = lambda i, lv: math_ops.logical_and(  # noqa: E731
                    i < maximum_iterations, orig_cond(*lv))
                body = lambda i, lv: (i + 1, orig_body(*lv))  # noqa: E731
            if shape_invariants is not None:
                shape_invariants = (TensorShape([]), shape_invariants)
        ctx = WhileContext(g, maximum_iterations=maximum_iterations,
                           parallel_iterations=parallel_iterations, back_prop=back_prop,
                           swap_memory=swap_memory)
        result = ctx.build_loop(cond, body, loop_vars, shape_invariants,
                                return_same_structure)
        return result[1] if maximum_iterations is not None else result
