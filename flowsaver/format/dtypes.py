"""TensorFlow DataType enum values and how each is stored in a tensor bundle.

Enum numbers are TensorFlow's (types.proto); a `*_REF` type is its base + 100 and never
appears on disk. Storage kinds:
  memcpy   the little-endian in-memory array, C order (numbers, bool, complex, bf16, float8;
           int4/uint4/int2/uint2/float4 take one byte an element, the value in the low
           bits: int4 -1 is 0x0f, as both ml_dtypes and TensorFlow hold it)
  string   varint lengths, a masked length CRC, then the bytes (see tensor_codec.py)
  variant  per element: varint length, serialized VariantTensorDataProto, fixed32 checksum
DT_RESOURCE is not storable: TensorFlow aborts on it.

The NumPy dtypes of bfloat16, float8, int4, ... come from ml_dtypes, whose import costs
about a second; it is imported when one of those types is first used, not at import.
"""
from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass

import numpy as np

from flowsaver import errors

REF_OFFSET = 100
# NumPy refuses arrays of more bytes than an intp holds; for 16-byte elements, this many.
MAX_ARRAY_ELEMENTS = 2**63 // 16 - 1


def _numpy_max_rank() -> int:
    try:
        np.empty((1,) * 64)
    except ValueError:
        return 32            # NumPy 1.x
    return 64                # NumPy 2.x


# The most dimensions a NumPy array has (64 since NumPy 2, 32 before). TensorFlow allows
# 254, so a valid file can hold a tensor flowsaver cannot return as an array.
MAX_ARRAY_RANK = _numpy_max_rank()


def check_array_rank(shape, where: str) -> None:
    """Raises UnimplementedError (naming ``where``: the file and tensor) when a tensor of
    ``shape`` has more dimensions than a NumPy array can."""
    if len(shape) > MAX_ARRAY_RANK:
        raise errors.UnimplementedError(
            f"{where}: a tensor of rank {len(shape)} cannot be held as a NumPy array, "
            f"which has at most {MAX_ARRAY_RANK} dimensions")


@dataclass(frozen=True, eq=False)
class DType:
    """A TensorFlow DataType: what ``tf.float32`` is. Compares equal by enum value."""

    enum: int
    name: str           # TensorFlow's Python name, e.g. "float32"
    proto_name: str     # the DataType enum name, e.g. "DT_FLOAT"
    # The NumPy dtype, None, or (for the ml_dtypes types) the name of the ml_dtypes type,
    # which the `numpy` property turns into its dtype on first use.
    numpy_spec: np.dtype | str | None
    kind: str           # "memcpy", "string", "variant" or "none"

    @property
    def numpy(self) -> np.dtype | None:
        """The NumPy dtype of a stored element (object for strings and variants)."""
        spec = self.numpy_spec
        if isinstance(spec, str):
            spec = np.dtype(getattr(_ml_dtypes(), spec))
            object.__setattr__(self, "numpy_spec", spec)   # resolved once; same result
        return spec

    @property
    def _from_ml_dtypes(self) -> bool:
        return self.base_dtype.enum in ML_DTYPES_ENUMS

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
        return base.numpy.type(_type_info(base).min)

    @property
    def max(self):
        """The largest value of this type (TensorFlow's ``DType.max``)."""
        base = self.base_dtype
        if base.is_bool or base.kind != "memcpy" or base.is_complex:
            raise TypeError(f"Cannot find maximum value of {base.name}.")
        return base.numpy.type(_type_info(base).max)

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


def _ml_dtypes():
    """The ml_dtypes module, imported on first call (it is slow to import)."""
    return importlib.import_module("ml_dtypes")


def _type_info(base: DType):
    """finfo / iinfo of a numeric type; ml_dtypes' own for the types it defines."""
    module = _ml_dtypes() if base._from_ml_dtypes else np
    return module.finfo(base.numpy) if base.is_floating else module.iinfo(base.numpy)


_ML = object()   # in the table: the NumPy type is ml_dtypes' type of the same name


def _info(enum, name, proto_name, np_type, kind="memcpy"):
    if np_type is _ML:
        return DType(enum, name, proto_name, name, kind)
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
    _info(14, "bfloat16", "DT_BFLOAT16", _ML),
    _info(15, "qint16", "DT_QINT16", np.int16),
    _info(16, "quint16", "DT_QUINT16", np.uint16),
    _info(17, "uint16", "DT_UINT16", np.uint16),
    _info(18, "complex128", "DT_COMPLEX128", np.complex128),
    _info(19, "float16", "DT_HALF", np.float16),
    _info(20, "resource", "DT_RESOURCE", None, "none"),
    _info(21, "variant", "DT_VARIANT", object, "variant"),
    _info(22, "uint32", "DT_UINT32", np.uint32),
    _info(23, "uint64", "DT_UINT64", np.uint64),
    _info(24, "float8_e5m2", "DT_FLOAT8_E5M2", _ML),
    _info(25, "float8_e4m3fn", "DT_FLOAT8_E4M3FN", _ML),
    _info(26, "float8_e4m3fnuz", "DT_FLOAT8_E4M3FNUZ", _ML),
    _info(27, "float8_e4m3b11fnuz", "DT_FLOAT8_E4M3B11FNUZ", _ML),
    _info(28, "float8_e5m2fnuz", "DT_FLOAT8_E5M2FNUZ", _ML),
    _info(29, "int4", "DT_INT4", _ML),
    _info(30, "uint4", "DT_UINT4", _ML),
    _info(31, "int2", "DT_INT2", _ML),
    _info(32, "uint2", "DT_UINT2", _ML),
    _info(33, "float4_e2m1fn", "DT_FLOAT4_E2M1FN", _ML),
]

ML_DTYPES_ENUMS = frozenset(d.enum for d in _ALL if isinstance(d.numpy_spec, str))
BY_ENUM: dict[int, DType] = {d.enum: d for d in _ALL}
BY_NAME: dict[str, DType] = {d.name: d for d in _ALL}
BY_NAME.update({"half": BY_ENUM[19], "float": BY_ENUM[1], "double": BY_ENUM[2]})

# NumPy dtype -> enum, for arrays handed to the writer. Quantized types share a NumPy
# dtype with plain integers; the plain integer wins. The ml_dtypes types join on the first
# dtype not found here (an array of one means ml_dtypes is loaded anyway).
_BY_NUMPY: dict[np.dtype, DType] = {}


def _add_to_by_numpy(ml_types: bool) -> None:
    for d in _ALL:
        if (d.kind == "memcpy" and (d.enum in ML_DTYPES_ENUMS) == ml_types
                and not d.name.startswith("q")):
            _BY_NUMPY.setdefault(d.numpy, d)


_add_to_by_numpy(ml_types=False)

# Reference types (`float32_ref`): the dtype of a ref variable's output in a graph. They
# never appear on disk, so BY_ENUM (which file readers use) does not hold them.
REF_BY_ENUM: dict[int, DType] = {
    d.enum + REF_OFFSET: DType(d.enum + REF_OFFSET, d.name + "_ref", d.proto_name + "_REF",
                               d.numpy_spec, d.kind)
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
    found = _BY_NUMPY.get(dtype)
    if found is None and "ml_dtypes" in sys.modules:
        _add_to_by_numpy(ml_types=True)
        found = _BY_NUMPY.get(dtype)
    if found is None:
        raise TypeError(f"NumPy dtype {dtype} has no TensorFlow DataType")
    return found


def base_enum(enum: int) -> int:
    """Strip the `_REF` offset."""
    return enum - REF_OFFSET if enum > REF_OFFSET else enum


_LITTLE = np.little_endian
