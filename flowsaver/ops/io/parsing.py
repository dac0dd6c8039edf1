"""Public parsing functions: ``tf.parse_example``, ``parse_single_example``,
``parse_single_sequence_example``, the feature specs, ``decode_raw``, ``decode_csv``,
``read_file``, ``write_file``.

Feature keys are handed to the ops sorted, as TensorFlow does, so the op's outputs and
its GraphDef attrs come in the same order as TensorFlow's.
"""
from __future__ import annotations

import collections

import numpy as np

from flowsaver.graph.attr_value import as_dtype
from flowsaver.graph.tensor_shape import TensorShape
from flowsaver.ops.op_builder import constant, convert_to_tensor, create_op, graph_of
from flowsaver.ops.sparse.sparse_tensor import SparseTensor
from flowsaver.ops.scope_api import name_scope

VarLenFeature = collections.namedtuple("VarLenFeature", ["dtype"])


class FixedLenFeature(collections.namedtuple("FixedLenFeature",
                                             ["shape", "dtype", "default_value"])):
    """A feature with a fixed number of values (a dense tensor of ``shape``)."""

    def __new__(cls, shape, dtype, default_value=None):
        return super().__new__(cls, shape, dtype, default_value)


class FixedLenSequenceFeature(collections.namedtuple(
        "FixedLenSequenceFeature", ["shape", "dtype", "allow_missing", "default_value"])):
    """A variable number of rows of ``shape`` (padded with ``default_value`` in a batch)."""

    def __new__(cls, shape, dtype, allow_missing=False, default_value=None):
        return super().__new__(cls, shape, dtype, allow_missing, default_value)


def _zero(dtype):
    return b"" if dtype.name == "string" else 0


def _dense_default(key: str, spec, dtype) -> object:
    """The ``dense_defaults`` input for one dense feature, built as TensorFlow does."""
    shape = TensorShape(spec.shape).as_list()
    if isinstance(spec, FixedLenSequenceFeature):
        value = spec.default_value if spec.default_value is not None else _zero(dtype)
        return convert_to_tensor(value, dtype=dtype, name=f"key_{key}")
    if spec.default_value is None:
        return constant(np.zeros(0, dtype=object if dtype.name == "string"
                                 else dtype.as_numpy_dtype), dtype=dtype, name="Const")
    from flowsaver.ops.array.api import reshape
    value = convert_to_tensor(spec.default_value, dtype=dtype, name=f"key_{key}")
    # the static TensorShape, as TensorFlow passes it: one int32 shape Const
    return reshape(value, TensorShape(shape))


def _split(features: dict):
    sparse, dense = [], []
    for key in sorted(features):
        spec = features[key]
        if isinstance(spec, VarLenFeature):
            sparse.append((key, as_dtype(spec.dtype)))
        elif isinstance(spec, (FixedLenFeature, FixedLenSequenceFeature)):
            dense.append((key, spec, as_dtype(spec.dtype)))
        else:
            raise ValueError(f"Unsupported feature spec for {key!r}: {spec!r}")
    return sparse, dense


def _dense_shape(spec) -> TensorShape:
    shape = TensorShape(spec.shape).as_list()
    if isinstance(spec, FixedLenSequenceFeature):
        return TensorShape([None] + shape)
    return TensorShape(shape)


def parse_example(serialized, features, name=None, example_names=None) -> dict:
    """Parse a vector of serialized Examples: {key: Tensor or SparseTensor}."""
    sparse, dense = _split(features)
    with graph_of([serialized]).as_default(), name_scope(name, "ParseExample"):
        defaults = [_dense_default(k, s, t) for k, s, t in dense]
        outputs = create_op("ParseExampleV2", [
            serialized, example_names if example_names is not None else [],
            [k for k, _ in sparse], [k for k, _, _ in dense], [], defaults],
            {"Tdense": [t for _, _, t in dense], "num_sparse": len(sparse),
             "sparse_types": [t for _, t in sparse], "ragged_value_types": [],
             "ragged_split_types": [], "dense_shapes": [_dense_shape(s) for _, s, _ in dense]},
            name="ParseExampleV2")
    n = len(sparse)
    result = {}
    for i, (key, _) in enumerate(sparse):
        result[key] = SparseTensor(outputs[i], outputs[n + i], outputs[2 * n + i])
    for i, (key, _, _) in enumerate(dense):
        result[key] = outputs[3 * n + i]
    return result


def parse_single_example(serialized, features, name=None, example_names=None) -> dict:
    """Parse one serialized Example (a scalar string)."""
    with graph_of([serialized]).as_default(), name_scope(name, "ParseSingleExample"):
        serialized = convert_to_tensor(serialized, dtype="string", name="serialized")
        if serialized.shape.ndims not in (None, 0):
            raise ValueError(f"Input serialized must be a scalar; got shape {serialized.shape}")
        return parse_example(serialized, features, example_names=example_names)


def parse_single_sequence_example(serialized, context_features=None, sequence_features=None,
                                  example_name=None, name=None):
    """Parse one serialized SequenceExample: (context dict, sequence dict)."""
    c_sparse, c_dense = _split(context_features or {})
    s_sparse, s_dense = _split(sequence_features or {})
    with graph_of([serialized]).as_default(), \
            name_scope(name, "ParseSingleSequenceExample"), \
            name_scope(None, "ParseSequenceExample"):
        defaults = [_dense_default(k, s, t) for k, s, t in c_dense]
        missing_ok = [bool(getattr(s, "allow_missing", False)) for _, s, _ in s_dense]
        outputs = create_op("ParseSequenceExampleV2", [
            serialized, [] if example_name is None else example_name, [k for k, _ in c_sparse],
            [k for k, _, _ in c_dense], [], [k for k, _ in s_sparse],
            [k for k, _, _ in s_dense], [], np.array(missing_ok, dtype=bool), defaults],
            {"Ncontext_sparse": len(c_sparse), "Tcontext_dense": [t for _, _, t in c_dense],
             "context_sparse_types": [t for _, t in c_sparse],
             "context_ragged_value_types": [], "context_ragged_split_types": [],
             "context_dense_shapes": [TensorShape(s.shape) for _, s, _ in c_dense],
             "Nfeature_list_sparse": len(s_sparse), "Nfeature_list_dense": len(s_dense),
             "feature_list_dense_types": [t for _, _, t in s_dense],
             "feature_list_sparse_types": [t for _, t in s_sparse],
             "feature_list_ragged_value_types": [], "feature_list_ragged_split_types": [],
             "feature_list_dense_shapes": [TensorShape(s.shape) for _, s, _ in s_dense]},
            name="ParseSequenceExampleV2")
    at = 0

    def take(n):
        nonlocal at
        out = outputs[at:at + n]
        at += n
        return out
    context, sequence = {}, {}
    for keys, target, dense in ((c_sparse, context, c_dense), (s_sparse, sequence, s_dense)):
        idx, val, shp = take(len(keys)), take(len(keys)), take(len(keys))
        for i, (key, _) in enumerate(keys):
            target[key] = SparseTensor(idx[i], val[i], shp[i])
        for key, tensor in zip([k for k, _, _ in dense], take(len(dense))):
            target[key] = tensor
        if target is sequence:
            take(len(dense))   # feature_list_dense_lengths: not returned by this function
    return context, sequence


def decode_raw(input_bytes=None, out_type=None, little_endian=True, name=None, bytes=None):  # noqa: A002,E501
    """Reinterpret each string's bytes as a vector of ``out_type``."""
    value = input_bytes if input_bytes is not None else bytes
    return create_op("DecodeRaw", [value], {"out_type": as_dtype(out_type),
                                           "little_endian": little_endian}, name=name)


def decode_csv(records, record_defaults, field_delim=",", use_quote_delim=True, name=None,
               na_value="", select_cols=None):
    """Split CSV lines into one tensor per column (typed by ``record_defaults``)."""
    if select_cols is not None and any(b <= a for a, b in zip(select_cols, select_cols[1:])):
        raise ValueError("select_cols is not strictly increasing.")
    if select_cols is not None and len(select_cols) != len(record_defaults):
        raise ValueError("Length of select_cols and record_defaults do not match.")
    return create_op("DecodeCSV", [records, list(record_defaults)],
                     {"field_delim": field_delim, "use_quote_delim": use_quote_delim,
                      "na_value": na_value, "select_cols": list(select_cols or [])},
                     name=name)


def read_file(filename, name=None):
    """The whole contents of the file ``filename`` as a scalar string."""
    return create_op("ReadFile", [filename], name=name)


def write_file(filename, contents, name=None):
    """Write ``contents`` to ``filename`` (directories created as needed)."""
    return create_op("WriteFile", [filename, contents], name=name)
