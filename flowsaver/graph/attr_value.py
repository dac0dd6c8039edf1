"""Python values <-> ``AttrValue`` protos, by attr type ("int", "list(type)", "shape", ...).

The attr type comes from the op definition, so that ``7`` becomes ``i: 7`` for an "int"
attr and ``f: 7.0`` for a "float" one, exactly as TensorFlow encodes it.
"""
from __future__ import annotations

import numpy as np

from flowsaver.format import dtypes, tensor_proto
from flowsaver.format.graph_protos import AttrValue, NameAttrList
from flowsaver.graph.tensor_shape import TensorShape, as_shape

_SCALAR_FIELD = {"string": "s", "int": "i", "float": "f", "bool": "b", "type": "type",
                 "shape": "shape", "tensor": "tensor", "func": "func"}


def as_dtype(value) -> dtypes.DType:
    """TensorFlow's ``tf.as_dtype``: a DType from a DType, name, enum, NumPy or Python type.

    Raises:
      TypeError: the value names no TensorFlow type.
    """
    if isinstance(value, dtypes.DType):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        found = dtypes.BY_ENUM.get(value) or dtypes.REF_BY_ENUM.get(value)
        if found is None:
            raise TypeError(f"Cannot convert {value!r} to a dtype: no DataType has enum {value}")
        return found
    if isinstance(value, str):
        found = dtypes.BY_NAME.get(value)
        if found is None:
            for d in dtypes.REF_BY_ENUM.values():
                if d.name == value:
                    return d
            raise TypeError(f"Cannot convert {value!r} to a dtype: no such type name")
        return found
    if value is float:
        return dtypes.BY_NAME["float32"]
    if value is int:
        return dtypes.BY_NAME["int32"]
    if value is bool:
        return dtypes.BY_NAME["bool"]
    if value in (str, bytes, object):
        return dtypes.BY_NAME["string"]
    if value is complex:
        return dtypes.BY_NAME["complex128"]
    try:
        return dtypes.from_numpy(np.dtype(value))
    except TypeError:
        raise TypeError(f"Cannot convert {value!r} to a dtype") from None


def encode(value, attr_type: str) -> AttrValue:
    """The AttrValue for ``value`` of the op-def attr type ``attr_type``."""
    if isinstance(value, AttrValue):
        return value
    if attr_type.startswith("list("):
        inner = attr_type[5:-1]
        out = AttrValue()
        out.list.SetInParent()
        items = list(value)
        field = getattr(out.list, _SCALAR_FIELD[inner])
        if inner in ("shape", "tensor", "func"):
            for item in items:
                field.add().CopyFrom(getattr(_scalar(item, inner), _SCALAR_FIELD[inner]))
        else:
            field.extend(getattr(_scalar(item, inner), _SCALAR_FIELD[inner]) for item in items)
        return out
    return _scalar(value, attr_type)


def _scalar(value, attr_type: str) -> AttrValue:
    if attr_type == "string":
        return AttrValue(s=value.encode() if isinstance(value, str) else bytes(value))
    if attr_type == "int":
        return AttrValue(i=int(value))
    if attr_type == "float":
        return AttrValue(f=float(value))
    if attr_type == "bool":
        return AttrValue(b=bool(value))
    if attr_type == "type":
        return AttrValue(type=as_dtype(value).as_datatype_enum)
    if attr_type == "shape":
        return AttrValue(shape=as_shape(value).as_proto())
    if attr_type == "tensor":
        if hasattr(value, "tensor_shape") and hasattr(value, "dtype"):
            return AttrValue(tensor=value)
        return AttrValue(tensor=tensor_proto.from_array(np.asarray(value)))
    if attr_type == "func":
        return AttrValue(func=value if isinstance(value, NameAttrList) else NameAttrList(name=value))
    raise ValueError(f"unsupported attr type {attr_type!r}")


def decode(attr: AttrValue):
    """The Python value of an AttrValue, as ``Operation.get_attr`` returns it."""
    which = attr.WhichOneof("value")
    if which == "list":
        lst = attr.list
        for name in ("s", "i", "f", "b", "type", "shape", "tensor", "func"):
            items = getattr(lst, name)
            if len(items):
                return [_decode_scalar(name, item) for item in items]
        return []
    if which is None:
        return None
    return _decode_scalar(which, getattr(attr, which))


def _decode_scalar(field: str, value):
    if field == "type":
        return as_dtype(value)
    if field == "shape":
        return TensorShape(value)
    if field == "f":
        return float(value)
    if field in ("i", "b", "s"):
        return value
    return value  # tensor and func protos are returned as protos, as TensorFlow does

