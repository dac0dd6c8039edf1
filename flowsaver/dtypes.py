"""``tf.dtypes``: TensorFlow's data types as DType objects (``tf.float32``, ...)."""
from flowsaver.format.dtypes import BY_NAME as _BY_NAME
from flowsaver.format.dtypes import DType
from flowsaver.graph.attr_value import as_dtype

bfloat16 = _BY_NAME["bfloat16"]
bool = _BY_NAME["bool"]  # noqa: A001 - TensorFlow's name
complex64 = _BY_NAME["complex64"]
complex128 = _BY_NAME["complex128"]
float16 = half = _BY_NAME["float16"]
float32 = _BY_NAME["float32"]
float64 = double = _BY_NAME["float64"]
int8 = _BY_NAME["int8"]
int16 = _BY_NAME["int16"]
int32 = _BY_NAME["int32"]
int64 = _BY_NAME["int64"]
qint8 = _BY_NAME["qint8"]
qint16 = _BY_NAME["qint16"]
qint32 = _BY_NAME["qint32"]
quint8 = _BY_NAME["quint8"]
quint16 = _BY_NAME["quint16"]
string = _BY_NAME["string"]
uint8 = _BY_NAME["uint8"]
uint16 = _BY_NAME["uint16"]
uint32 = _BY_NAME["uint32"]
uint64 = _BY_NAME["uint64"]
variant = _BY_NAME["variant"]
resource = _BY_NAME["resource"]
float8_e5m2 = _BY_NAME["float8_e5m2"]
float8_e4m3fn = _BY_NAME["float8_e4m3fn"]

__all__ = ["DType", "as_dtype", "bfloat16", "bool", "complex64", "complex128", "float16",
           "half", "float32", "float64", "double", "int8", "int16", "int32", "int64",
           "qint8", "qint16", "qint32", "quint8", "quint16", "string", "uint8", "uint16",
           "uint32", "uint64", "variant", "resource", "float8_e5m2", "float8_e4m3fn"]
