"""Reading ``tf.train.Example`` / ``SequenceExample`` bytes into arrays: the work of the
``ParseExampleV2`` and ``ParseSequenceExampleV2`` kernels, without the graph.

A feature's values must have the kind its spec asks for (bytes_list for string,
float_list for float, int64_list for int64); a fixed-length feature must hold exactly
as many values as its shape has elements; a missing feature takes its default, and one
with no default is an error. Errors are ``InvalidArgumentError`` naming the key and the
example's index, as TensorFlow's messages do.
"""
from __future__ import annotations

import numpy as np

from flowsaver import errors
from flowsaver.format.example_protos import Example, SequenceExample

_KIND_DTYPE = {"bytes_list": "string", "float_list": "float", "int64_list": "int64"}
_NUMPY = {"string": object, "float": np.float32, "int64": np.int64}


def decode(cls, data: bytes, index: int):
    """The ``cls`` message in ``data``; InvalidArgumentError when it does not parse."""
    try:
        return cls.FromString(data)
    except Exception:  # DecodeError: the bytes are not this message
        raise errors.InvalidArgumentError(
            f"Could not parse example input, value at index {index}: not a serialized "
            f"{cls.__name__}") from None


def feature_values(feature, dtype: str, key: str, index: int) -> np.ndarray:
    """The values of one Feature message as a 1-D array of ``dtype``'s NumPy type."""
    kind = feature.WhichOneof("kind")
    if kind is None:
        return np.zeros(0, _NUMPY[dtype])
    if _KIND_DTYPE[kind] != dtype:
        raise errors.InvalidArgumentError(
            f"Key: {key}, Index: {index}. Data types don't match. Data type: "
            f"{_KIND_DTYPE[kind]} but expected type: {dtype}")
    values = getattr(feature, kind).value
    if dtype == "string":
        out = np.empty(len(values), object)
        out[:] = list(values)
        return out
    return np.asarray(values, _NUMPY[dtype])


def dense_value(feature, dtype: str, shape: list, default: np.ndarray, key: str,
                index: int) -> np.ndarray:
    """One example's value of a fixed-shape dense feature (``shape`` fully known)."""
    if feature is None:
        if default.size == 0 and int(np.prod(shape)) != 0:
            raise errors.InvalidArgumentError(
                f"Feature: {key} (data type: {dtype}) is required but could not be found.")
        return np.broadcast_to(np.asarray(default, _NUMPY[dtype]).reshape(
            default.shape if default.size != 1 else ()), shape).copy()
    values = feature_values(feature, dtype, key, index)
    if values.size != int(np.prod(shape)):
        raise errors.InvalidArgumentError(
            f"Key: {key}, Index: {index}. Number of {dtype} values != expected. Values "
            f"size: {values.size} but output shape: {list(shape)}")
    return values.reshape(shape)


def rows_value(feature, dtype: str, row_shape: list, key: str, index: int) -> np.ndarray:
    """One example's value of a variable-length dense feature: ``[rows] + row_shape``."""
    row = int(np.prod(row_shape))
    if feature is None:
        return np.zeros([0] + row_shape, _NUMPY[dtype])
    values = feature_values(feature, dtype, key, index)
    if row == 0 or values.size % row:
        raise errors.InvalidArgumentError(
            f"Key: {key}, Index: {index}. Number of {dtype} values is not a multiple of "
            f"{row}, the size of one row of shape {list(row_shape)}: {values.size} values")
    return values.reshape([values.size // row] + row_shape)


def pad_rows(parts: list, row_shape: list, dtype: str, default: np.ndarray) -> np.ndarray:
    """Variable-length values stacked, padded at the end with the (scalar) default."""
    longest = max((len(p) for p in parts), default=0)
    fill = np.asarray(default, _NUMPY[dtype]).reshape(-1)
    out = np.empty([len(parts), longest] + row_shape, _NUMPY[dtype])
    out[...] = fill[0] if fill.size else (b"" if dtype == "string" else 0)
    for i, part in enumerate(parts):
        out[i, :len(part)] = part
    return out


def sparse_parts(per_example: list, batch_shape: tuple, dtype: str):
    """(indices, values, dense_shape) of a VarLen feature from each example's values."""
    count = sum(len(v) for v in per_example)
    rank = len(batch_shape) + 1
    indices = np.zeros((count, rank), np.int64)
    values = np.empty(count, _NUMPY[dtype])
    at = 0
    for b, v in enumerate(per_example):
        n = len(v)
        if batch_shape:
            indices[at:at + n, 0] = b
        indices[at:at + n, -1] = np.arange(n)
        values[at:at + n] = v
        at += n
    longest = max((len(v) for v in per_example), default=0)
    return indices, values, np.array(list(batch_shape) + [longest], np.int64)


def texts(value) -> list[str]:
    return [v.decode() if isinstance(v, bytes) else str(v)
            for v in np.reshape(np.asarray(value, object), -1)]


def parse_examples(serialized, sparse, dense):
    """Parse Example messages.

    Args:
      serialized: a scalar or vector of bytes.
      sparse: [(key, dtype)] of VarLen features.
      dense: [(key, dtype, shape with None for a variable first dim, default array)].
    Returns:
      (sparse outputs [(indices, values, shape)], dense outputs [array]).
    """
    array = np.asarray(serialized, object)
    batch_shape = array.shape
    messages = [decode(Example, bytes(d), i) for i, d in enumerate(array.reshape(-1))]
    features = [m.features.feature for m in messages]
    sparse_out = []
    for key, dtype in sparse:
        per = [feature_values(f[key], dtype, key, i) if key in f else np.zeros(0, _NUMPY[dtype])
               for i, f in enumerate(features)]
        sparse_out.append(sparse_parts(per, batch_shape, dtype))
    dense_out = []
    for key, dtype, shape, default in dense:
        if shape and shape[0] is None:
            parts = [rows_value(f[key] if key in f else None, dtype, shape[1:], key, i)
                     for i, f in enumerate(features)]
            out = pad_rows(parts, shape[1:], dtype, default)
        else:
            parts = [dense_value(f[key] if key in f else None, dtype, shape, default, key, i)
                     for i, f in enumerate(features)]
            out = np.stack(parts) if parts else np.zeros([0] + shape, _NUMPY[dtype])
        dense_out.append(out.reshape(batch_shape + out.shape[1:]))
    return sparse_out, dense_out


def parse_sequence_example(serialized, context_sparse, context_dense, list_sparse,
                           list_dense, missing_ok):
    """Parse one SequenceExample (scalar ``serialized``).

    Returns:
      (context sparse [(i, v, s)], context dense, list sparse [(i, v, s)], list dense,
      list dense lengths).
    """
    message = decode(SequenceExample, bytes(np.asarray(serialized, object).item()), 0)
    context = message.context.feature
    lists = message.feature_lists.feature_list
    ctx_sparse = [sparse_parts([feature_values(context[k], t, k, 0) if k in context
                                else np.zeros(0, _NUMPY[t])], (), t)
                  for k, t in context_sparse]
    ctx_dense = [dense_value(context[k] if k in context else None, t, s, d, k, 0)
                 for k, t, s, d in context_dense]
    seq_sparse = []
    for key, dtype in list_sparse:
        steps = [feature_values(f, dtype, key, 0) for f in lists[key].feature] \
            if key in lists else []
        indices, values, shape = sparse_parts(steps, (len(steps),), dtype)
        seq_sparse.append((indices, values, shape))
    seq_dense, lengths = [], []
    for (key, dtype, shape), allowed in zip(list_dense, missing_ok):
        if key not in lists:
            if not allowed:
                raise errors.InvalidArgumentError(
                    f"Name: <unknown>, Feature list '{key}' is required but could not be "
                    f"found.  Did you mean to include it in "
                    f"feature_list_dense_missing_assumed_empty or feature_list_dense_defaults?")
            steps = []
        else:
            steps = [dense_value(f, dtype, shape, np.zeros(0), key, 0)
                     for f in lists[key].feature]
        seq_dense.append(np.stack(steps) if steps else np.zeros([0] + shape, _NUMPY[dtype]))
        lengths.append(np.int64(len(steps)))
    return ctx_sparse, ctx_dense, seq_sparse, seq_dense, lengths
