"""TensorProto <-> NumPy array, with TensorFlow's semantics in both directions.

TensorProto fields (tensor.proto; see protos.py) and which dtypes use each:

     1 dtype            DataType enum
     2 tensor_shape     TensorShapeProto {2 dim {1 size}, 3 unknown_rank}
     4 tensor_content   bytes: the C-order little-endian array; for strings, a varint32
                        length per element, then all the bytes back to back
     5 float_val        packed float    float32
     6 double_val       packed double   float64
     7 int_val          packed int32    int8/16/32, uint8/16, qint8/16/32, quint8/16, int4, uint4
     8 string_val       repeated bytes  string
     9 scomplex_val     packed float    complex64 as (re, im) pairs
    10 int64_val        packed int64    int64
    11 bool_val         packed bool     bool
    12 dcomplex_val     packed double   complex128 as (re, im) pairs
    13 half_val         packed int32    the uint16 bit pattern of float16 *and* bfloat16
    14 resource_handle_val  repeated ResourceHandleProto
    15 variant_val      repeated VariantTensorDataProto
    16 uint32_val       packed uint32   uint32
    17 uint64_val       packed uint64   uint64
    18 float8_val       bytes           every float8 type, one byte an element

Decoding follows TensorFlow's C++ ``Tensor::FromProto`` (what graph constants and
``tf.io.parse_tensor`` use), checked against it:
  * a shape with no elements gives an empty array; content and values are not looked at;
  * a non-empty ``tensor_content`` wins and must be exactly elements * itemsize bytes
    (bool bytes must be 0 or 1);
  * otherwise only the dtype's own typed field is read: extra values are dropped, missing
    ones repeat the last value, and no value at all means zeros (b"" for strings);
    values wider than the dtype wrap (int_val 300 read as uint8 is 44).

Encoding follows Python's ``tf.make_tensor_proto``: ``tensor_content`` for a numeric array
with more than one element whose dtype is in CONTENT_TYPES, the typed field otherwise
(scalars, bool, string, complex, and, as TensorFlow does, uint16, int4 and uint4 always).
Python values are inferred as TensorFlow does: float -> float32, int -> int32 (int64 or
uint64 when too big), bool, str/bytes -> string, complex -> complex128.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

from flowsaver import errors
from flowsaver.format import dtypes
from flowsaver.format.coding import CorruptionError, decode_varint32
from flowsaver.format.protos import (DATA_TYPES, ResourceHandleProto, TensorProto,
                                     VariantTensorDataProto)

MAX_RANK = 254                  # TensorFlow's TensorShape limit
MAX_NUM_ELEMENTS = 2**63 - 1    # num_elements is an int64 in TensorFlow
# A proto may ask for many more elements than it stores values (one value repeated, or none
# meaning zeros). We materialize at most this many bytes that way and raise
# ResourceExhaustedError above it. 2 GiB is also the largest protobuf message, so no tensor
# whose values are all stored can be larger. Stored values are never limited: the proto
# holding them already bounds them.
MAX_FILL_BYTES = 1 << 31
MAX_CONTENT_BYTES = 1 << 31     # tf.make_tensor_proto refuses content of 2 GiB and more
_OBJECT_ITEMSIZE = 8            # one pointer per element of an object array
_LITTLE = sys.byteorder == "little"

# DataTypes whose arrays of more than one element tf.make_tensor_proto writes as raw bytes.
# uint16, int4 and uint4 are missing on purpose: TensorFlow 2.21 writes them as int_val.
CONTENT_TYPES = frozenset([1, 2, 3, 4, 5, 6, 9, 11, 12, 13, 14, 15, 16, 19, 22, 23,
                           24, 25, 26, 27, 28])


@dataclass(frozen=True)
class _Field:
    """Where a dtype's values live when not in tensor_content."""

    name: str
    wire: type | None   # NumPy type of one stored value; None for bytes and messages
    kind: str           # "number", "bits" (uint16 patterns), "pairs" (complex), "bytes",
                        # "strings" or "messages"


_INT = _Field("int_val", np.int32, "number")
_HALF = _Field("half_val", np.int32, "bits")
_FLOAT8 = _Field("float8_val", None, "bytes")
FIELDS: dict[int, _Field] = {
    1: _Field("float_val", np.float32, "number"),
    2: _Field("double_val", np.float64, "number"),
    7: _Field("string_val", None, "strings"),
    8: _Field("scomplex_val", np.float32, "pairs"),
    9: _Field("int64_val", np.int64, "number"),
    10: _Field("bool_val", np.bool_, "number"),
    14: _HALF, 19: _HALF,
    18: _Field("dcomplex_val", np.float64, "pairs"),
    20: _Field("resource_handle_val", None, "messages"),
    21: _Field("variant_val", None, "messages"),
    22: _Field("uint32_val", np.uint32, "number"),
    23: _Field("uint64_val", np.uint64, "number"),
    **{e: _INT for e in (3, 4, 5, 6, 11, 12, 13, 15, 16, 17, 29, 30)},
    **{e: _FLOAT8 for e in (24, 25, 26, 27, 28)},
}
_MESSAGE_TYPES = {20: ResourceHandleProto, 21: VariantTensorDataProto}
_KNOWN_ENUMS = frozenset(DATA_TYPES.values())


# --- decoding --------------------------------------------------------------------------

def check_shape(dims, where: str = "TensorProto") -> tuple[int, ...]:
    """``dims`` as a tuple, after TensorFlow's TensorShape checks; InvalidArgumentError if not."""
    dims = tuple(int(d) for d in dims)
    if len(dims) > MAX_RANK:
        raise errors.InvalidArgumentError(f"{where}: shape has rank {len(dims)}, more than "
                                          f"{MAX_RANK}")
    if any(d < 0 for d in dims):
        raise errors.InvalidArgumentError(f"{where}: shape {list(dims)} has a negative or "
                                          f"unknown dimension")
    if _count(dims) > MAX_NUM_ELEMENTS:
        raise errors.InvalidArgumentError(f"{where}: shape {list(dims)} has more than 2**63-1 "
                                          f"elements")
    # NumPy refuses a shape whose non-zero dims overflow its range even when one is 0.
    if _count(d for d in dims if d) > dtypes.MAX_ARRAY_ELEMENTS:
        raise errors.InvalidArgumentError(f"{where}: shape {list(dims)} is too large for any "
                                          f"array")
    return dims


def proto_shape(proto, where: str = "TensorProto") -> tuple[int, ...]:
    """The checked dims of a TensorProto's ``tensor_shape``."""
    shape = proto.tensor_shape
    if shape.unknown_rank:
        raise errors.InvalidArgumentError(f"{where}: a tensor cannot have unknown rank")
    return check_shape((d.size for d in shape.dim), where)


def _dtype_of(enum: int, where: str) -> dtypes.DType:
    try:
        return dtypes.info(enum)
    except KeyError:
        pass
    if enum in _KNOWN_ENUMS and 0 < enum < dtypes.REF_OFFSET:
        raise errors.UnimplementedError(f"{where}: dtype enum {enum} is not supported")
    raise errors.InvalidArgumentError(f"{where}: invalid dtype enum {enum}")


def to_array(proto, *, dtype=None, shape=None, fill: bool = True,
             max_fill_bytes: int | None = MAX_FILL_BYTES,
             where: str = "TensorProto") -> np.ndarray:
    """Decode a TensorProto into a new NumPy array (strings: an object array of bytes).

    Args:
      proto: a TensorProto (flowsaver's, or anything with the same fields).
      dtype, shape: use these instead of the proto's own (a V1 checkpoint's slice data
        stores neither); dtype is a DType or an enum value.
      fill: False requires exactly one stored value per element (no repeat, no zeros).
      max_fill_bytes: the most bytes made by repeating or zero-filling (None: no limit).
      where: names the proto in error messages, e.g. "tensor 'w' in model.ckpt".

    Raises:
      InvalidArgumentError: bad dtype or shape, content of the wrong size, a value count
        that ``fill=False`` forbids.
      ResourceExhaustedError: filling would make more than ``max_fill_bytes``.
      UnimplementedError: a dtype or encoding this module does not handle.

    Example:
      >>> to_array(from_array([1.5, 2.0])).tolist()
      [1.5, 2.0]
    """
    info = dtype if isinstance(dtype, dtypes.DType) else \
        _dtype_of(proto.dtype if dtype is None else int(dtype), where)
    dims = proto_shape(proto, where) if shape is None else check_shape(shape, where)
    dtypes.check_array_rank(dims, where)
    count = _count(dims)
    out_type = info.numpy if info.numpy is not None else np.dtype(object)
    if count == 0:
        return np.empty(dims, dtype=out_type)
    if proto.tensor_content:
        flat = _from_content(proto.tensor_content, info, count, where)
    else:
        flat = _from_field(proto, info, count, fill, max_fill_bytes, where)
    return flat.reshape(dims)


def _from_content(content: bytes, info: dtypes.DType, count: int, where: str) -> np.ndarray:
    if info.kind == "string":
        return _decode_string_list(content, count, where)
    if info.kind != "memcpy":
        raise errors.UnimplementedError(f"{where}: tensor_content of dtype {info.name} "
                                        f"cannot be decoded")
    expected = count * info.numpy.itemsize
    if len(content) != expected:
        raise errors.InvalidArgumentError(
            f"{where}: tensor_content has {len(content)} bytes, expected {expected} for "
            f"{count} elements of {info.name}")
    if info.is_bool:
        raw = np.frombuffer(content, dtype=np.uint8)
        if raw.size and raw.max() > 1:
            raise errors.InvalidArgumentError(f"{where}: bool tensor_content holds a byte "
                                              f"other than 0 or 1")
    array = np.frombuffer(content, dtype=info.numpy).copy()
    return array if _LITTLE or info.numpy.itemsize == 1 else array.byteswap()


def _decode_string_list(content: bytes, count: int, where: str) -> np.ndarray:
    if count > len(content):
        raise errors.InvalidArgumentError(f"{where}: {count} string lengths cannot fit in "
                                          f"{len(content)} bytes of tensor_content")
    lengths, pos = [], 0
    try:
        for _ in range(count):
            n, pos = decode_varint32(content, pos)
            lengths.append(n)
    except CorruptionError as exc:
        raise errors.InvalidArgumentError(f"{where}: string tensor_content: {exc}") from None
    if pos + sum(lengths) != len(content):
        raise errors.InvalidArgumentError(
            f"{where}: string tensor_content lengths add up to {pos + sum(lengths)} bytes, "
            f"it holds {len(content)}")
    out = np.empty(count, dtype=object)
    for i, n in enumerate(lengths):
        out[i] = content[pos:pos + n]
        pos += n
    return out


def _stored_count(proto, field: _Field) -> int:
    n = len(getattr(proto, field.name))
    return n // 2 if field.kind == "pairs" else n


def _stored_values(proto, field: _Field, info: dtypes.DType) -> np.ndarray:
    """The typed field's values as a 1-D array of the dtype."""
    values = getattr(proto, field.name)
    if field.kind == "number":
        return np.array(values, dtype=field.wire).astype(info.numpy, copy=False)
    if field.kind == "bits":
        return np.array(values, dtype=np.int32).astype(np.uint16).view(info.numpy)
    if field.kind == "pairs":
        wire = np.array(values, dtype=field.wire)
        return wire[:wire.size // 2 * 2].view(info.numpy)
    if field.kind == "bytes":
        return np.frombuffer(values, dtype=np.uint8).view(info.numpy)
    out = np.empty(len(values), dtype=object)
    for i, value in enumerate(values):
        if field.kind == "strings":
            out[i] = bytes(value)
        else:
            out[i] = _MESSAGE_TYPES[info.enum]()
            out[i].CopyFrom(value)
    return out


def _from_field(proto, info: dtypes.DType, count: int, fill: bool,
                max_fill_bytes: int | None, where: str) -> np.ndarray:
    field = FIELDS.get(info.enum)
    if field is None:
        raise errors.UnimplementedError(f"{where}: dtype {info.name} has no typed value field")
    stored = _stored_count(proto, field)
    if not fill and stored != count:
        raise errors.InvalidArgumentError(f"{where}: {field.name} holds {stored} values for "
                                          f"{count} elements")
    if stored < count:
        itemsize = _OBJECT_ITEMSIZE if info.numpy is None else info.numpy.itemsize
        if max_fill_bytes is not None and count * itemsize > max_fill_bytes:
            raise errors.ResourceExhaustedError(
                f"{where}: filling {count} elements of {info.name} from {stored} stored "
                f"values would take {count * itemsize} bytes, more than the limit of "
                f"{max_fill_bytes}")
    values = _stored_values(proto, field, info)
    if stored >= count:
        return values[:count].copy()
    # Repeated strings and messages are the same object in every element, as a repeated
    # value shares its storage in TensorFlow's copy-on-write strings.
    out = np.empty(count, dtype=values.dtype)
    if stored == 0:
        out[:] = _zero(info)
    else:
        out[:stored] = values
        out[stored:] = values[stored - 1]
    return out


def _zero(info: dtypes.DType):
    if info.kind == "string":
        return b""
    if info.enum in _MESSAGE_TYPES:
        return _MESSAGE_TYPES[info.enum]()
    return np.zeros((), dtype=info.numpy)


def _count(dims) -> int:
    n = 1
    for d in dims:
        n *= d
    return n


# --- encoding --------------------------------------------------------------------------

def as_dtype(value) -> dtypes.DType:
    """A DType from a DType, a ``tf.DType``, an enum value, a name or a NumPy dtype."""
    if isinstance(value, dtypes.DType):
        return value
    enum = getattr(value, "as_datatype_enum", None)
    if enum is None and isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        enum = int(value)
    if enum is not None:
        try:
            return dtypes.info(dtypes.base_enum(enum))
        except KeyError:
            raise TypeError(f"DataType enum {enum} is not supported") from None
    if isinstance(value, str) and value in dtypes.BY_NAME:
        return dtypes.BY_NAME[value]
    return dtypes.from_numpy(np.dtype(value))


# The NumPy kinds of Python values that may be stored as each kind of dtype, as
# tf.make_tensor_proto allows them ("b" bool, "i"/"u" ints, "f" float, "c" complex).
_ACCEPTS = {"bool": "b", "int": "biu", "float": "biuf", "complex": "biufc"}


def _family(info: dtypes.DType) -> str:
    if info.kind == "string":
        return "string"
    if info.is_bool:
        return "bool"
    if info.is_complex:
        return "complex"
    if info.numpy.kind in "iu" or info.name.startswith(("int", "uint", "qint", "quint")):
        return "int"
    return "float"


def _python_array(values) -> np.ndarray:
    """Python values as an array, before TensorFlow's narrowing; strings as bytes objects."""
    if values is None:
        raise ValueError("None values not supported.")
    leaves = np.array(values, dtype=object)
    flat = leaves.reshape(-1).tolist()
    if any(v is None for v in flat):
        raise ValueError("None values not supported.")
    texts = [isinstance(v, (bytes, str)) for v in flat]
    if any(texts):
        if not all(texts):
            raise TypeError(f"Failed to convert elements of {values!r} to a tensor: they "
                            f"mix strings and other values")
        return _strings(leaves)
    array = np.array(values)
    if array.dtype.kind not in "biufc":
        raise TypeError(f"Failed to convert elements of {values!r} to a tensor: they are "
                        f"neither all numbers nor all strings")
    return array


def _narrow(array: np.ndarray) -> np.ndarray:
    """TensorFlow's defaults for Python numbers: float32, and int32 when the values fit."""
    if array.dtype == np.float64:
        return array.astype(np.float32)
    if array.dtype == np.int64 and (array.size == 0 or (
            array.min() >= np.iinfo(np.int32).min and array.max() <= np.iinfo(np.int32).max)):
        return array.astype(np.int32)
    return array


def _strings(array: np.ndarray) -> np.ndarray:
    out = np.empty(array.shape, dtype=object)
    flat = out.reshape(-1)
    for i, item in enumerate(array.reshape(-1).tolist()):
        if isinstance(item, str):
            item = item.encode("utf-8")
        elif isinstance(item, (bytearray, memoryview)):
            item = bytes(item)
        elif not isinstance(item, bytes):
            raise TypeError(f"Expected binary or unicode string, got {item!r}")
        flat[i] = item
    return out


def _cast(array: np.ndarray, info: dtypes.DType) -> np.ndarray:
    if info.kind == "string":
        if array.dtype.kind not in "USO" and array.size:  # [] is float64 in NumPy
            raise TypeError(f"Expected string, got an array of {array.dtype}")
        return _strings(array)
    if info.kind != "memcpy":
        raise TypeError(f"dtype {info.name} cannot be written to a TensorProto")
    if array.dtype.kind in "USO":
        raise TypeError(f"Expected {info.name}, got an array of strings")
    return array.astype(info.numpy, copy=False)


def _to_numpy(values, target: dtypes.DType | None) -> np.ndarray:
    if isinstance(values, (np.ndarray, np.generic)):
        array = np.asarray(values)
        if target is not None:
            return _cast(array, target)
        return _strings(array) if array.dtype.kind in "USO" else array
    array = _python_array(values)
    if target is None:
        return _narrow(array)
    family = _family(target)
    accepted = "O" if family == "string" else _ACCEPTS[family]
    if array.size and array.dtype.kind not in accepted:
        raise TypeError(f"Expected {target.name}, but got {values!r} of type "
                        f"'{type(values).__name__}'.")
    return _cast(array, target)


def from_array(values, dtype=None, shape=None) -> TensorProto:
    """A TensorProto holding ``values``, made as ``tf.make_tensor_proto`` makes it.

    Args:
      values: a NumPy array or scalar, or Python values (nested lists, numbers, str, bytes).
      dtype: the DataType to store (DType, tf.DType, enum, name or NumPy dtype); default
        inferred as TensorFlow does.
      shape: store this shape; ``values`` must have as many elements, or fewer (then only
        they are stored and readers repeat the last one, e.g. one zero for ``zeros``).

    Raises:
      TypeError: values that cannot be stored as ``dtype``.
      ValueError: None values, more values than ``shape`` holds, content of 2 GiB or more.

    Example:
      >>> from_array("model").SerializeToString()
      b'\\x08\\x07\\x12\\x00B\\x05model'
    """
    target = None if dtype is None else as_dtype(dtype)
    array = _to_numpy(values, target)
    info = target or dtypes.from_numpy(array.dtype)
    dims = tuple(array.shape) if shape is None else tuple(int(d) for d in shape)
    count = _count(dims)
    if shape is not None and array.size > count and count:
        raise ValueError(f"Too many elements provided. Takes at most {count}, but got "
                         f"{array.size}.")
    proto = TensorProto(dtype=info.enum)
    proto.tensor_shape.SetInParent()   # a scalar still writes its empty shape: 12 00
    for d in dims:
        proto.tensor_shape.dim.add(size=d)
    flat = np.ascontiguousarray(array).reshape(-1)
    if count == 0 or flat.size == 0:
        return proto
    if info.enum in CONTENT_TYPES and flat.size == count and count > 1:
        if flat.nbytes >= MAX_CONTENT_BYTES:
            raise ValueError("Cannot create a tensor proto whose content is larger than 2GB.")
        proto.tensor_content = _little_endian(flat).tobytes()
    else:
        _write_field(proto, info, flat)
    return proto


def _little_endian(flat: np.ndarray) -> np.ndarray:
    # TensorFlow writes a big-endian array's bytes unswapped, so its proto holds wrong
    # values; we store what the array means.
    order = flat.dtype.byteorder
    if order == ">" or (order == "=" and not _LITTLE):
        return flat.astype(flat.dtype.newbyteorder("<"))
    return flat


def _write_field(proto, info: dtypes.DType, flat: np.ndarray) -> None:
    field = FIELDS.get(info.enum)
    if field is None or field.kind == "messages":
        raise TypeError(f"dtype {info.name} cannot be written to a TensorProto")
    values = getattr(proto, field.name)
    if field.kind == "number":
        values.extend(flat.astype(field.wire).tolist())
    elif field.kind == "bits":
        values.extend(flat.view(np.uint16).astype(np.int32).tolist())
    elif field.kind == "pairs":
        values.extend(flat.astype(info.numpy).view(field.wire).tolist())
    elif field.kind == "bytes":
        proto.float8_val = flat.view(np.uint8).tobytes()
    else:
        values.extend(flat.tolist())
