"""``tf.scan``, ``tf.foldl``, ``tf.foldr`` and ``tf.map_fn``: while loops over TensorArrays,
built as TensorFlow 1.x builds them (``tf.compat.v1``'s versions).

Each unstacks its ``elems`` into TensorArrays, runs ``fn`` once per element in a
``tf.while_loop`` (``maximum_iterations`` the number of elements) and, for scan and map,
stacks the results of another TensorArray. Variables made by ``fn`` keep their reads on
the device of the reading op (the variable scope's caching device), as in TensorFlow.
"""
from __future__ import annotations

import contextlib

from flowsaver.graph.tensor_shape import TensorShape
from flowsaver.ops import nest
from flowsaver.ops.array import basic as array_ops
from flowsaver.ops.control_flow.while_loop import while_loop
from flowsaver.ops.data_flow.tensor_array import TensorArray
from flowsaver.ops.op_builder import constant, convert_to_tensor, graph_of
from flowsaver.ops.state.variable_scope import get_variable_scope

__all__ = ["scan", "foldl", "foldr", "map_fn"]


@contextlib.contextmanager
def _reads_cached_where_used():
    scope = get_variable_scope()
    was_none = scope.caching_device is None
    if was_none:
        scope.set_caching_device(lambda op: op.device)
    try:
        yield
    finally:
        if was_none:
            scope.set_caching_device(None)


def _leading_dim(tensor):
    """The static size of dimension 0, else ``tf.shape(tensor)[0]``."""
    dims = tensor.shape.as_list() if tensor.shape.ndims else None
    if dims and dims[0] is not None:
        return dims[0]
    return array_ops.shape(tensor)[0]


def _fold(fn, elems, initializer, parallel_iterations, back_prop, swap_memory, name,
          default_name, reverse):
    if not callable(fn):
        raise TypeError(f"{getattr(fn, '__name__', fn)} is not callable. Please provide a "
                        f"callable function.")
    flat = nest.flatten(elems)
    g = graph_of(flat)
    with g.as_default(), g.name_scope(name or default_name), _reads_cached_where_used():
        flat = [convert_to_tensor(e, name="elem") for e in flat]
        n = _leading_dim(flat[0])

        def create_ta(elem):
            return TensorArray(dtype=elem.dtype, size=n, dynamic_size=False,
                               infer_shape=True).unstack(elem)
        elems_ta = nest.map_structure(create_ta, nest.pack_sequence_as(elems, flat))
        if reverse:
            if initializer is None:
                i = n - 1
                a = nest.map_structure(lambda ta: ta.read(i), elems_ta)
            else:
                i, a = n, initializer

            def compute(i, a):
                i -= 1
                return [i, fn(a, nest.map_structure(lambda ta: ta.read(i), elems_ta))]
            condition = lambda i, a: i > 0  # noqa: E731
        else:
            if initializer is None:
                a = nest.map_structure(lambda ta: ta.read(0), elems_ta)
                i = constant(1)
            else:
                a, i = initializer, constant(0)

            def compute(i, a):
                a = fn(a, nest.map_structure(lambda ta: ta.read(i), elems_ta))
                return [i + 1, a]
            condition = lambda i, a: i < n  # noqa: E731
        _, result = while_loop(condition, compute, [i, a],
                               parallel_iterations=parallel_iterations, back_prop=back_prop,
                               swap_memory=swap_memory, maximum_iterations=n)
        return result


def foldl(fn, elems, initializer=None, parallel_iterations=10, back_prop=True,
          swap_memory=False, name=None):
    """``fn(...fn(fn(initializer, elems[0]), elems[1])..., elems[n-1])``; without an
    initializer the first element starts the fold."""
    return _fold(fn, elems, initializer, parallel_iterations, back_prop, swap_memory, name,
                 "foldl", reverse=False)


def foldr(fn, elems, initializer=None, parallel_iterations=10, back_prop=True,
          swap_memory=False, name=None):
    """``foldl`` from the last element to the first."""
    return _fold(fn, elems, initializer, parallel_iterations, back_prop, swap_memory, name,
                 "foldr", reverse=True)


def scan(fn, elems, initializer=None, parallel_iterations=10, back_prop=True,
         swap_memory=False, infer_shape=True, reverse=False, name=None):
    """Every intermediate value of ``foldl`` (``foldr`` when ``reverse``), stacked."""
    if not callable(fn):
        raise TypeError(f"{getattr(fn, '__name__', fn)} is not callable. Please provide a "
                        f"callable function.")
    in_nested = nest.is_nested(elems)
    in_flatten = (lambda x: nest.flatten(x)) if in_nested else (lambda x: [x])
    in_pack = (lambda x: nest.pack_sequence_as(elems, x)) if in_nested else (lambda x: x[0])
    if initializer is None:
        out_flatten, out_pack = in_flatten, in_pack
    else:
        out_nested = nest.is_nested(initializer)
        out_flatten = (lambda x: nest.flatten(x)) if out_nested else (lambda x: [x])
        out_pack = (lambda x: nest.pack_sequence_as(initializer, x)) if out_nested \
            else (lambda x: x[0])
    flat = in_flatten(elems)
    g = graph_of(flat)
    with g.as_default(), g.name_scope(name or "scan"), _reads_cached_where_used():
        flat = [convert_to_tensor(e, name="elem") for e in flat]
        n = flat[0].shape.as_list()[0] if flat[0].shape.ndims else None
        if n is None:
            n = array_ops.shape(flat[0])[0]
        elems_ta = [TensorArray(dtype=e.dtype, size=n, dynamic_size=False,
                                element_shape=e.shape[1:] if e.shape.ndims is not None
                                else None, infer_shape=True) for e in flat]
        elems_ta = [ta.unstack(e) for ta, e in zip(elems_ta, flat)]
        if initializer is None:
            a_flat = [ta.read(n - 1 if reverse else 0) for ta in elems_ta]
            i = 1
        else:
            a_flat = [convert_to_tensor(x) for x in out_flatten(initializer)]
            i = 0
        accs_ta = [TensorArray(dtype=a.dtype, size=n,
                               element_shape=a.shape if infer_shape else None,
                               dynamic_size=False, infer_shape=infer_shape) for a in a_flat]
        if initializer is None:
            accs_ta = [ta.write(n - 1 if reverse else 0, a) for ta, a in zip(accs_ta, a_flat)]

        def compute(i, a_flat, tas):
            packed_elems = in_pack([ta.read(i) for ta in elems_ta])
            a_out = fn(out_pack(a_flat), packed_elems)
            nest.assert_same_structure(elems if initializer is None else initializer, a_out)
            flat_out = out_flatten(a_out)
            tas = [ta.write(i, v) for ta, v in zip(tas, flat_out)]
            return (i - 1 if reverse else i + 1, flat_out, tas)
        if reverse:
            initial_i = n - 1 - i
            condition = lambda i, _1, _2: i >= 0  # noqa: E731
        else:
            initial_i = i
            condition = lambda i, _1, _2: i < n  # noqa: E731
        _, _, r_a = while_loop(condition, compute, (initial_i, a_flat, accs_ta),
                               parallel_iterations=parallel_iterations, back_prop=back_prop,
                               swap_memory=swap_memory, maximum_iterations=n)
        results = [r.stack() for r in r_a]
        n_static = flat[0].shape.with_rank_at_least(1).as_list()[0]
        for r in results:
            r.set_shape(TensorShape([n_static]).concatenate(r.shape[1:]))
        return out_pack(results)


def map_fn(fn, elems, dtype=None, parallel_iterations=None, back_prop=True,
           swap_memory=False, infer_shape=True, name=None, fn_output_signature=None):
    """``fn`` applied to each element of ``elems`` along dimension 0, stacked; ``dtype``
    (or ``fn_output_signature``) gives the result's dtypes when they differ from elems'."""
    signature = dtype if fn_output_signature is None else fn_output_signature
    if not callable(fn):
        raise TypeError(f"The provided function {getattr(fn, '__name__', fn)} is not "
                        f"callable.fn must be callable.")
    parallel_iterations = parallel_iterations or 10
    flat = nest.flatten(elems)
    if not flat:
        raise ValueError(f"elems must be a Tensor or (possibly nested) sequence of Tensors. "
                         f"Got {elems}, which does not contain any Tensors.")
    result_dtypes = None if signature is None else nest.flatten(signature)
    g = graph_of(flat)
    with g.as_default(), g.name_scope(name or "map"), _reads_cached_where_used():
        flat = [convert_to_tensor(e, name="elem") for e in flat]
        if result_dtypes is None:
            result_dtypes = [e.dtype.base_dtype for e in flat]
        first = flat[0].shape
        if first.ndims is not None and first.ndims < 1:
            raise ValueError("Elements in elems must be 1+ dimensional Tensors, not scalars")
        n_static = first.with_rank_at_least(1).as_list()[0]
        for e in flat[1:]:
            other = e.shape.with_rank_at_least(1).as_list()[0]
            if n_static is not None and other is not None and n_static != other:
                raise ValueError(f"Dimensions {n_static} and {other} are not compatible")
        n = n_static or array_ops.shape(flat[0])[0]
        elems_ta = [TensorArray(dtype=e.dtype, size=n, dynamic_size=False, infer_shape=True)
                    for e in flat]
        elems_ta = [ta.unstack(e) for ta, e in zip(elems_ta, flat)]
        i = constant(0)
        results_ta = [TensorArray(dtype=d, size=n, dynamic_size=False,
                                  infer_shape=infer_shape, element_shape=None)
                      for d in result_dtypes]

        def compute(i, tas):
            value = nest.pack_sequence_as(elems, [ta.read(i) for ta in elems_ta])
            result = fn(value)
            nest.assert_same_structure(signature or elems, result)
            tas = [ta.write(i, v) for ta, v in zip(tas, nest.flatten(result))]
            return (i + 1, tas)
        _, r_a = while_loop(lambda i, _: i < n, compute, (i, results_ta),
                            parallel_iterations=parallel_iterations, back_prop=back_prop,
                            swap_memory=swap_memory, maximum_iterations=n)
        results = [r.stack() for r in r_a]
        for r in results:
            r.set_shape(TensorShape([n_static]).concatenate(r.shape[1:]))
        return nest.pack_sequence_as(signature if signature is not None else elems, results)
