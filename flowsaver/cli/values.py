"""How `flowsaver inspect` shows tensor values: NumPy's printing for text, nested lists
for JSON (non-finite floats as strings, strings as bytes reprs, variants as one-line
protos)."""
from __future__ import annotations

import sys

import numpy as np
from google.protobuf import text_format

from flowsaver.format.dtypes import DType

# Arrays with more elements than this print as their corners unless --full is given.
PRINT_THRESHOLD = 64
PRINT_EDGEITEMS = 3
PRINT_LINEWIDTH = 100


def as_array(value) -> np.ndarray:
    if isinstance(value, np.ndarray):
        return value
    return np.array(value, dtype=object) if isinstance(value, bytes) else np.asarray(value)


def _variant_text(item) -> str:
    return text_format.MessageToString(item, as_one_line=True)


def format_value(value, dtype: DType, full: bool) -> str:
    """NumPy's printing of a tensor; strings as bytes reprs, variants as one-line protos."""
    array = as_array(value)
    if dtype.kind == "variant":   # one element a line: NumPy would print each as a repr
        return "\n".join(f"{list(index)}: {_variant_text(array[index])}"
                         for index in np.ndindex(array.shape))
    threshold = sys.maxsize if full else PRINT_THRESHOLD
    return np.array2string(array, threshold=threshold, edgeitems=PRINT_EDGEITEMS,
                           max_line_width=PRINT_LINEWIDTH, separator=" ")


def json_float(x: float):
    """A float for a JSON document: non-finite values as "nan", "inf" or "-inf"."""
    if x != x:
        return "nan"
    if x in (float("inf"), float("-inf")):
        return "inf" if x > 0 else "-inf"
    return x


def _flat_json(array: np.ndarray, dtype: DType) -> list:
    flat = array.reshape(-1)
    if dtype.kind == "string":
        return [repr(bytes(x)) for x in flat]
    if dtype.kind == "variant":
        return [_variant_text(x) for x in flat]
    if dtype.is_bool:
        return flat.astype(bool).tolist()
    if dtype.is_complex:
        return [[json_float(z.real), json_float(z.imag)] for z in flat.tolist()]
    if dtype.is_floating:
        return [json_float(x) for x in flat.astype(np.float64).tolist()]
    return [int(x) for x in flat]   # int() also covers ml_dtypes int4 / uint4


def _nest(flat: list, shape: tuple[int, ...]):
    if not shape:
        return flat[0]
    if len(shape) == 1:
        return flat
    step = len(flat) // shape[0] if shape[0] else 0
    return [_nest(flat[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])]


def value_json(value, dtype: DType) -> dict:
    """A tensor value as JSON: nested lists; non-finite floats as "nan"/"inf"/"-inf"."""
    array = as_array(value)
    return {"dtype": dtype.name, "shape": list(array.shape),
            "value": _nest(_flat_json(array, dtype), array.shape)}
