"""TensorFlow DataType enum values and how each is stored in a tensor bundle.

Enum numbers are TensorFlow's (types.proto); a `*_REF` type is its base + 100 and never
appears on disk. Storage kinds:
  memcpy   the little-endian in-memory array, C order (numbers, bool, complex, bf16, float8;
           int4/uint4/int2/uint2/float4 take one byte an element, the value in the low
           bits: int4 -1 is 0x0f, as both ml_dtypes and TensorFlow hold it)
  string   varint lengths, a masked length CRC, then the bytes (see tensor_codec.py)
  variant  per element: varint length, serialized VariantTensorDataProto, fixed32 checksum
DT_RESOURCE is not storable: TensorFlow aborts on it.
"""
from __future__ import annotations

from dataclasses import dataclass

import ml_dtypes
import numpy as np

REF_OFFSET = 100
# NumPy refuses arrays of more bytes than an intp holds; for 16-byte elements, this many.
MAX_ARRAY_ELEMENTS = 2**63 // 16 - 1


@dataclass(frozen=True, eq=False)
class DType:
    """A TensorFlow DataType: what ``tf.float32`` is. Compares equal by enum value."""

    enum: int
    name: str           # TensorFlow's Python name, e.g. "float32"
    proto_name: str     # the DataType enum name, e.g. "DT_FLOAT"
    numpy: np.dtype | None
    kind: str           # "memcpy", "string", "variant" or "none"

    @property
    def as_datatype_enum(self) -> int:
        return self.enum

    @property
    def as_numpy_dtype(self):
        return object if self.numpy is None else self.numpy.type

    @property
    def base_dtype(self) -> "DType":
        return BY_ENUM[self.enum - REF_OFFSET] if self.enum > REF_OFFSET else self

    @property
    def real_dtype(self) -> "DType":
        base = self.base_dtype
        return {8: BY_ENUM[1], 18: BY_ENUM[2]}.get(base.enum, base)

    @property
    def _is_ref_dtype(self) -> bool:
        return self.enum > REF_OFFSET

    @property
    def _as_ref(self) -> "DType":
        return self if self.enum > REF_OFFSET else REF_BY_ENUM[self.enum + REF_OFFSET]

    @property
    def is_unsigned(self) -> bool:
        return self.kind == "memcpy" and self.name.startswith("uint")

    @property
    def is_numpy_compatible(self) -> bool:
        return self.kind != "none"

    @property
    def is_quantized(self) -> bool:
        return self.base_dtype.name.startswith(("qint", "quint"))

    @property
    def min(self):
        """The smallest value of this type (TensorFlow's ``DType.min``)."""
        base = self.base_dtype
        if base.is_bool or base.kind != "memcpy" or base.is_complex:
            raise TypeError(f"Cannot find minimum value of {base.name}.")
        if base.is_floating:
            return base.numpy.type(ml_dtypes.finfo(base.numpy).min)
        return base.numpy.type(ml_dtypes.iinfo(base.numpy).min)

    @property
    def max(self):
        """The largest value of this type (TensorFlow's ``DType.max``)."""
        base = self.base_dtype
        if base.is_bool or base.kind != "memcpy" or base.is_complex:
            raise TypeError(f"Cannot find maximum value of {base.name}.")
        if base.is_floating:
            return base.numpy.type(ml_dtypes.finfo(base.numpy).max)
        return base.numpy.type(ml_dtypes.iinfo(base.numpy).max)

    def is_compatible_with(self, other) -> bool:
        """True when a value of ``other`` may stand where this type is expected."""
        other = other if isinstance(other, DType) else BY_NAME[str(other)]
        return self.enum in (other.enum, other.base_dtype.enum)

    @property
    def size(self) -> int:
        return self.numpy.itemsize if self.kind == "memcpy" else 1

    @property
    def is_floating(self) -> bool:
        return self.kind == "memcpy" and self.name.startswith(("float", "bfloat"))

    @property
    def is_integer(self) -> bool:
        return self.kind == "memcpy" and self.name.startswith(("int", "uint"))

    @property
    def is_complex(self) -> bool:
        return self.name.startswith("complex")

    @property
    def is_bool(self) -> bool:
        return self.enum in (10, 110)

    def __eq__(self, other) -> bool:
        if isinstance(other, DType):
            return self.enum == other.enum
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.enum)

    def __repr__(self) -> str:
        return f"tf.{self.name}"



def _info(enum, name, proto_name, np_type, kind="memcpy"):
    return DType(enum, name, proto_name, None if np_type is None else np.dtype(np_type), kind)


_ALL = [
    _info(1, "float32", "DT_FLOAT", np.float32),
    _info(2, "float64", "DT_DOUBLE", np.float64),
    _info(3, "int32", "DT_INT32", np.int32),
    _info(4, "uint8", "DT_UINT8", np.uint8),
    _info(5, "int16", "DT_INT16", np.int16),
    _info(6, "int8", "DT_INT8", np.int8),
    _info(7, "string", "DT_STRING", object, "string"),
    _info(8, "complex64", "DT_COMPLEX64", np.complex64),
    _info(9, "int64", "DT_INT64", np.int64),
    _info(10, "bool", "DT_BOOL", np.bool_),
    # Quantized types are stored as their underlying integers.
    _info(11, "qint8", "DT_QINT8", np.int8),
    _info(12, "quint8", "DT_QUINT8", np.uint8),
    _info(13, "qint32", "DT_QINT32", np.int32),
    _info(14, "bfloat16", "DT_BFLOAT16", ml_dtypes.bfloat16),
    _info(15, "qint16", "DT_QINT16", np.int16),
    _info(16, "quint16", "DT_QUINT16", np.uint16),
    _info(17, "uint16", "DT_UINT16", np.uint16),
    _info(18, "complex128", "DT_COMPLEX128", np.complex128),
    _info(19, "float16", "DT_HALF", np.float16),
    _info(20, "resource", "DT_RESOURCE", None, "none"),
    _info(21, "variant", "DT_VARIANT", object, "variant"),
    _info(22, "uint32", "DT_UINT32", np.uint32),
    _info(23, "uint64", "DT_UINT64", np.uint64),
    _info(24, "float8_e5m2", "DT_FLOAT8_E5M2", ml_dtypes.float8_e5m2),
    _info(25, "float8_e4m3fn", "DT_FLOAT8_E4M3FN", ml_dtypes.float8_e4m3fn),
    _info(26, "float8_e4m3fnuz", "DT_FLOAT8_E4M3FNUZ", ml_dtypes.float8_e4m3fnuz),
    _info(27, "float8_e4m3b11fnuz", "DT_FLOAT8_E4M3B11FNUZ", ml_dtypes.float8_e4m3b11fnuz),
    _info(28, "float8_e5m2fnuz", "DT_FLOAT8_E5M2FNUZ", ml_dtypes.float8_e5m2fnuz),
    _info(29, "int4", "DT_INT4", ml_dtypes.int4),
    _info(30, "uint4", "DT_UINT4", ml_dtypes.uint4),
    _info(31, "int2", "DT_INT2", ml_dtypes.int2),
    _info(32, "uint2", "DT_UINT2", ml_dtypes.uint2),
    _info(33, "float4_e2m1fn", "DT_FLOAT4_E2M1FN", ml_dtypes.float4_e2m1fn),
]

BY_ENUM: dict[int, DType] = {d.enum: d for d in _ALL}
BY_NAME: dict[str, DType] = {d.name: d for d in _ALL}
BY_NAME.update({"half": BY_ENUM[19], "float": BY_ENUM[1], "double": BY_ENUM[2]})

# NumPy dtype -> enum, for arrays handed to the writer. Quantized types share a NumPy
# dtype with plain integers; the plain integer wins.
_BY_NUMPY: dict[np.dtype, DType] = {}
for _d in _ALL:
    if _d.kind == "memcpy" and _d.numpy not in _BY_NUMPY and not _d.name.startswith("q"):
        _BY_NUMPY[_d.numpy] = _d

# Reference types (`float32_ref`): the dtype of a ref variable's output in a graph. They
# never appear on disk, so BY_ENUM (which file readers use) does not hold them.
REF_BY_ENUM: dict[int, DType] = {
    d.enum + REF_OFFSET: DType(d.enum + REF_OFFSET, d.name + "_ref", d.proto_name + "_REF",
                               d.numpy, d.kind)
    for d in _ALL}

DT_STRING = 7
DT_VARIANT = 21
DT_RESOURCE = 20


def info(enum: int) -> DType:
    """Info for a base DataType enum value; KeyError for unknown ones."""
    return BY_ENUM[enum]


def from_numpy(dtype) -> DType:
    """The DataType a NumPy array of ``dtype`` is stored as.

    Raises:
      TypeError: the dtype has no TensorFlow counterpart.
    """
    dtype = np.dtype(dtype)
    if dtype.kind in "OSU":
        return BY_ENUM[DT_STRING]
    if dtype.byteorder == ">" or (dtype.byteorder == "=" and not _LITTLE):
        dtype = dtype.newbyteorder("<")
    try:
        return _BY_NUMPY[dtype]
    except KeyError:
        raise TypeError(f"NumPy dtype {dtype} has no TensorFlow DataType") from None


def base_enum(enum: int) -> int:
    """Strip the `_REF` offset."""
    return enum - REF_OFFSET if enum > REF_OFFSET else enum


_LITTLE = np.little_endian
