"""Parsing ops: ``ParseExampleV2``, ``ParseSequenceExampleV2``, ``DecodeRaw``,
``DecodeCSV``, and the file ops ``ReadFile`` / ``WriteFile``.

The Example parsing itself is in example_parsing.py; the kernels here unpack attrs and
inputs and lay the results out as the ops' flat output lists.
"""
from __future__ import annotations

import os

import numpy as np

from flowsaver import errors
from flowsaver.format import storage
from flowsaver.format.state import get_matching_files as storage_matches
from flowsaver.graph.tensor_shape import TensorShape
from flowsaver.ops.io import example_parsing as ex
from flowsaver.ops.registry import NOT_FOLDABLE, OpTable

TABLE = OpTable(__name__)
define, kernel, shape_fn = TABLE.define, TABLE.kernel, TABLE.shape_fn

define(
    'ParseExampleV2(serialized: string, names: string, sparse_keys: string, dense_keys: string, ragged_keys: string, dense_defaults: Tdense) -> (sparse_indices: num_sparse * int64, sparse_values: sparse_types, sparse_shapes: num_sparse * int64, dense_values: Tdense, ragged_values: ragged_value_types, ragged_row_splits: ragged_split_types); Tdense: list(type) {float, int64, string} >= 0; num_sparse: int >= 0; sparse_types: list(type) {float, int64, string} >= 0; ragged_value_types: list(type) {float, int64, string} >= 0; ragged_split_types: list(type) {int32, int64} >= 0; dense_shapes: list(shape) >= 0',
    'ParseSequenceExampleV2(serialized: string, debug_name: string, context_sparse_keys: string, context_dense_keys: string, context_ragged_keys: string, feature_list_sparse_keys: string, feature_list_dense_keys: string, feature_list_ragged_keys: string, feature_list_dense_missing_assumed_empty: bool, context_dense_defaults: Tcontext_dense) -> (context_sparse_indices: Ncontext_sparse * int64, context_sparse_values: context_sparse_types, context_sparse_shapes: Ncontext_sparse * int64, context_dense_values: Tcontext_dense, context_ragged_values: context_ragged_value_types, context_ragged_row_splits: context_ragged_split_types, feature_list_sparse_indices: Nfeature_list_sparse * int64, feature_list_sparse_values: feature_list_sparse_types, feature_list_sparse_shapes: Nfeature_list_sparse * int64, feature_list_dense_values: feature_list_dense_types, feature_list_dense_lengths: Nfeature_list_dense * int64, feature_list_ragged_values: feature_list_ragged_value_types, feature_list_ragged_outer_splits: feature_list_ragged_split_types, feature_list_ragged_inner_splits: feature_list_ragged_split_types); Ncontext_sparse: int >= 0 = 0; Tcontext_dense: list(type) {float, int64, string} >= 0 = []; context_sparse_types: list(type) {float, int64, string} >= 0 = []; context_ragged_value_types: list(type) {float, int64, string} >= 0 = []; context_ragged_split_types: list(type) {int32, int64} >= 0 = []; context_dense_shapes: list(shape) >= 0 = []; Nfeature_list_sparse: int >= 0 = 0; Nfeature_list_dense: int >= 0 = 0; feature_list_dense_types: list(type) {float, int64, string} >= 0 = []; feature_list_sparse_types: list(type) {float, int64, string} >= 0 = []; feature_list_ragged_value_types: list(type) {float, int64, string} >= 0 = []; feature_list_ragged_split_types: list(type) {int32, int64} >= 0 = []; feature_list_dense_shapes: list(shape) >= 0 = []',
    'DecodeRaw(bytes: string) -> (output: out_type); out_type: type {half, float, double, int32, uint16, uint8, int16, int8, int64, complex64, complex128, bool, bfloat16}; little_endian: bool = true',
    'DecodeCSV(records: string, record_defaults: OUT_TYPE) -> (output: OUT_TYPE); OUT_TYPE: list(type) {float, double, int32, int64, string} >= 1; field_delim: string = ","; use_quote_delim: bool = true; na_value: string = ""; select_cols: list(int) = []',
    'ReadFile(filename: string) -> (contents: string)',
    'WriteFile(filename: string, contents: string) -> (); !stateful',
    'MatchingFiles(pattern: string) -> (filenames: string)',
)
TABLE.not_differentiable("ParseExampleV2", "ParseSequenceExampleV2", "DecodeRaw", "DecodeCSV",
                         "ReadFile", "WriteFile", "MatchingFiles")
# A file's contents (or a directory's) are only known when the session reads them.
TABLE.mark(NOT_FOLDABLE, "ReadFile", "MatchingFiles")


def _dims(shape) -> list:
    return [None if d is None else int(d) for d in TensorShape(shape).as_list()]


def _type_name(dtype) -> str:
    return {"float32": "float"}.get(dtype.name, dtype.name)


# ---- ParseExampleV2 ------------------------------------------------------------------------
@shape_fn("ParseExampleV2")
def _parse_example_shape(op):
    batch = op.inputs[0].shape
    batch = batch.as_list() if batch.ndims is not None else None
    rank = None if batch is None else len(batch) + 1
    n = op.get_attr("num_sparse")
    out = [[None, rank]] * n + [[None]] * n + [[rank]] * n
    for shape in op.get_attr("dense_shapes"):
        out.append(None if batch is None else batch + _dims(shape))
    n_ragged = len(op.get_attr("ragged_value_types"))
    return out + [[None]] * (2 * n_ragged)


@kernel("ParseExampleV2")
def _parse_example(op, ctx):
    sparse_types = [_type_name(t) for t in op.get_attr("sparse_types")]
    dense_types = [_type_name(t) for t in op.get_attr("Tdense")]
    dense_shapes = [_dims(s) for s in op.get_attr("dense_shapes")]
    if op.get_attr("ragged_value_types"):
        raise errors.UnimplementedError(None, op, f"{op.name}: ragged features are not "
                                                  f"supported by flowsaver")

    def run(serialized, names, sparse_keys, dense_keys, ragged_keys, *defaults):
        sparse = list(zip(ex.texts(sparse_keys), sparse_types))
        dense = [(k, t, s, np.asarray(d)) for k, t, s, d in
                 zip(ex.texts(dense_keys), dense_types, dense_shapes, defaults)]
        sparse_out, dense_out = ex.parse_examples(serialized, sparse, dense)
        return ([s[0] for s in sparse_out] + [s[1] for s in sparse_out] +
                [s[2] for s in sparse_out] + dense_out)
    return run


# ---- ParseSequenceExampleV2 ----------------------------------------------------------------
@shape_fn("ParseSequenceExampleV2")
def _parse_sequence_shape(op):
    n_cs, n_fs = op.get_attr("Ncontext_sparse"), op.get_attr("Nfeature_list_sparse")
    out = [[None, 1]] * n_cs + [[None]] * n_cs + [[1]] * n_cs
    out += [_dims(s) for s in op.get_attr("context_dense_shapes")]
    out += [[None]] * (2 * len(op.get_attr("context_ragged_value_types")))
    out += [[None, 2]] * n_fs + [[None]] * n_fs + [[2]] * n_fs
    out += [[None] + _dims(s) for s in op.get_attr("feature_list_dense_shapes")]
    out += [[]] * op.get_attr("Nfeature_list_dense")
    return out + [[None]] * (3 * len(op.get_attr("feature_list_ragged_value_types")))


@kernel("ParseSequenceExampleV2")
def _parse_sequence(op, ctx):
    ctx_sparse_types = [_type_name(t) for t in op.get_attr("context_sparse_types")]
    ctx_dense_types = [_type_name(t) for t in op.get_attr("Tcontext_dense")]
    ctx_dense_shapes = [_dims(s) for s in op.get_attr("context_dense_shapes")]
    fl_sparse_types = [_type_name(t) for t in op.get_attr("feature_list_sparse_types")]
    fl_dense_types = [_type_name(t) for t in op.get_attr("feature_list_dense_types")]
    fl_dense_shapes = [_dims(s) for s in op.get_attr("feature_list_dense_shapes")]
    if op.get_attr("context_ragged_value_types") or \
            op.get_attr("feature_list_ragged_value_types"):
        raise errors.UnimplementedError(None, op, f"{op.name}: ragged features are not "
                                                  f"supported by flowsaver")

    def run(serialized, debug_name, cs_keys, cd_keys, cr_keys, fs_keys, fd_keys, fr_keys,
            missing_ok, *defaults):
        if np.ndim(serialized) != 0:
            raise errors.UnimplementedError(None, op, f"{op.name}: flowsaver parses one "
                                                      f"SequenceExample at a time")
        cs, cd, fs, fd, lengths = ex.parse_sequence_example(
            serialized, list(zip(ex.texts(cs_keys), ctx_sparse_types)),
            [(k, t, s, np.asarray(d)) for k, t, s, d in
             zip(ex.texts(cd_keys), ctx_dense_types, ctx_dense_shapes, defaults)],
            list(zip(ex.texts(fs_keys), fl_sparse_types)),
            list(zip(ex.texts(fd_keys), fl_dense_types, fl_dense_shapes)),
            [bool(b) for b in np.reshape(missing_ok, -1)])
        return ([s[0] for s in cs] + [s[1] for s in cs] + [s[2] for s in cs] + cd +
                [s[0] for s in fs] + [s[1] for s in fs] + [s[2] for s in fs] + fd + lengths)
    return run


# ---- DecodeRaw, DecodeCSV ------------------------------------------------------------------
@shape_fn("DecodeRaw")
def _decode_raw_shape(op):
    shape = op.inputs[0].shape
    return [None if shape.ndims is None else shape.as_list() + [None]]


@kernel("DecodeRaw")
def _decode_raw(op, ctx):
    dtype = np.dtype(op.get_attr("out_type").as_numpy_dtype)
    dtype = dtype.newbyteorder("<" if op.get_attr("little_endian") else ">") \
        if dtype.itemsize > 1 else dtype

    def run(data):
        data = np.asarray(data, object)
        flat = [bytes(b) for b in data.reshape(-1)]
        width = len(flat[0]) if flat else 0
        if width % dtype.itemsize:
            raise errors.InvalidArgumentError(
                None, op, f"Input to DecodeRaw has length {width} that is not a multiple of "
                          f"{dtype.itemsize}, the size of {op.get_attr('out_type').name}")
        for i, b in enumerate(flat):
            if len(b) != width:
                raise errors.InvalidArgumentError(
                    None, op, f"DecodeRaw requires input strings to all be the same size, "
                              f"but element {i} has size {len(b)} != {width}")
        out = np.frombuffer(b"".join(flat), dtype).astype(dtype.newbyteorder("="))
        return out.reshape(data.shape + (width // dtype.itemsize,))
    return run


@shape_fn("DecodeCSV")
def _decode_csv_shape(op):
    return [op.inputs[0].shape] * len(op.get_attr("OUT_TYPE"))


def _split_csv(line: bytes, delim: bytes, quoted: bool, op, index: int) -> list:
    if not quoted:
        return line.split(delim)
    fields, i, n = [], 0, len(line)
    while True:
        if i < n and line[i:i + 1] == b'"':
            value, i = bytearray(), i + 1
            while True:
                if i >= n:
                    raise errors.InvalidArgumentError(
                        None, op, f"Quoted field has to end with quote followed by delim or "
                                  f"end, in record {index}")
                if line[i:i + 1] == b'"':
                    if line[i + 1:i + 2] == b'"':
                        value += b'"'
                        i += 2
                        continue
                    i += 1
                    break
                value += line[i:i + 1]
                i += 1
            if i < n and line[i:i + 1] != delim:
                raise errors.InvalidArgumentError(
                    None, op, f"Quoted field has to end with quote followed by delim or end, "
                              f"in record {index}")
            fields.append(bytes(value))
        else:
            end = line.find(delim, i)
            end = n if end < 0 else end
            fields.append(line[i:end])
            i = end
        if i >= n:
            return fields
        i += len(delim)
        if i == n:
            fields.append(b"")
            return fields


@kernel("DecodeCSV")
def _decode_csv(op, ctx):
    types = op.get_attr("OUT_TYPE")
    delim = op.get_attr("field_delim")
    delim = delim.encode() if isinstance(delim, str) else delim
    quoted = op.get_attr("use_quote_delim")
    na = op.get_attr("na_value")
    na = na.encode() if isinstance(na, str) else na
    select = list(op.get_attr("select_cols"))

    def run(records, *defaults):
        records = np.asarray(records, object)
        flat = [r if isinstance(r, bytes) else str(r).encode() for r in records.reshape(-1)]
        outs = [np.empty(len(flat), object if t.name == "string" else t.as_numpy_dtype)
                for t in types]
        for r, line in enumerate(flat):
            fields = _split_csv(line, delim, quoted, op, r)
            if select:
                if select[-1] >= len(fields):
                    raise errors.InvalidArgumentError(
                        None, op, f"Expect {len(types)} fields but have {len(fields)} in "
                                  f"record {r}")
                fields = [fields[c] for c in select]
            if len(fields) != len(types):
                raise errors.InvalidArgumentError(
                    None, op, f"Expect {len(types)} fields but have {len(fields)} in record "
                              f"{r}")
            for c, (field, dtype, default) in enumerate(zip(fields, types, defaults)):
                outs[c][r] = _csv_value(field, dtype, np.asarray(default), na, op, r, c)
        return [o.reshape(records.shape) for o in outs]
    return run


def _csv_value(field: bytes, dtype, default, na: bytes, op, record: int, column: int):
    if field == b"" or (na and field == na):
        if default.size == 0:
            raise errors.InvalidArgumentError(
                None, op, f"Field {column} is required but missing in record {record}!")
        return default.reshape(-1)[0]
    if dtype.name == "string":
        return field
    try:
        if dtype.is_integer:
            value = int(field.decode())
            info = np.iinfo(dtype.as_numpy_dtype)
            if not info.min <= value <= info.max:
                raise ValueError
            return value
        return float(field.decode())
    except (ValueError, UnicodeDecodeError):
        raise errors.InvalidArgumentError(
            None, op, f"Field {column} in record {record} is not a valid {dtype.name}: "
                      f"{field.decode(errors='replace')}") from None


# ---- ReadFile, WriteFile -------------------------------------------------------------------
@shape_fn("ReadFile")
def _read_file_shape(op):
    return [[]]


@shape_fn("WriteFile")
def _write_file_shape(op):
    return []


def _path(value) -> str:
    value = np.asarray(value, object).item()
    return value.decode() if isinstance(value, bytes) else str(value)


@kernel("ReadFile")
def _read_file(op, ctx):
    def run(filename):
        path = _path(filename)
        try:
            if storage.is_url(path):   # one GET from an object store
                return np.array(storage.read_bytes(path), dtype=object)
            with open(path, "rb") as f:
                return np.array(f.read(), dtype=object)
        except FileNotFoundError:
            raise errors.NotFoundError(None, op, f"{path}; No such file or directory") \
                from None
        except OSError as exc:
            raise errors.FailedPreconditionError(None, op, f"{path}; {exc.strerror}") \
                from None
    return run


@kernel("WriteFile")
def _write_file(op, ctx):
    def run(filename, contents):
        path = _path(filename)
        data = np.asarray(contents, object).item()
        data = data if isinstance(data, bytes) else str(data).encode()
        if storage.is_url(path):   # one PUT to an object store
            storage.write_atomic(path, data)
            return
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
    return run


@shape_fn("MatchingFiles")
def _matching_shape(op):
    return [[None]]


@kernel("MatchingFiles")
def _matching_files(op, ctx):
    import glob

    def matches(pattern: str) -> list[str]:
        return storage_matches(pattern) if storage.is_url(pattern) else glob.glob(pattern)

    def run(pattern):
        names = sorted({name for p in np.reshape(np.asarray(pattern, object), -1)
                        for name in matches(_path(np.array(p, object)))})
        out = np.empty(len(names), object)
        out[:] = [n.encode() for n in names]
        return out
    return run
