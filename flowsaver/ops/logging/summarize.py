"""Tensor values as text, the way TensorFlow's kernels print them (``Tensor::SummarizeValue``).

Two layouts: the first (``Assert``, ``Print``) lists at most ``max_entries`` elements in
row-major order with brackets for the inner dimensions (``[[0 1 2][3...]...]``); the
second (``tf.print``'s ``StringFormat``) prints like NumPy, keeping ``max_entries`` items
at each end of every dimension (``[0 1 ... 18 19]``, rows on new lines).

Numbers are written as C's ``%g`` with 6 significant digits for float32 (15 for float64),
or 9 (17) when that does not read back as the same value; bools as ``1``/``0``; strings
C-escaped (quoted in the second layout). Half and bfloat16 print as float32.
"""
from __future__ import annotations

import numpy as np

_PRINTABLE = range(0x20, 0x7F)
_ESCAPES = {0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t", 0x22: '\\"', 0x27: "\\'", 0x5C: "\\\\"}


def _escape(data: bytes) -> str:
    """C-escape ``data``, keeping bytes of UTF-8 sequences (0x80 and up) as they are."""
    out = bytearray()
    for byte in data:
        if byte in _ESCAPES:
            out += _ESCAPES[byte].encode()
        elif byte in _PRINTABLE or byte >= 0x80:
            out.append(byte)
        else:
            out += f"\\{byte:03o}".encode()
    return out.decode("utf-8", errors="replace")


def _float(value, single: bool) -> str:
    short, long = ("%.6g", "%.9g") if single else ("%.15g", "%.17g")
    text = short % value
    if not np.isfinite(value):
        return text
    back = np.float32(float(text)) if single else float(text)
    return text if back == value else long % value


def element_formatter(dtype: np.dtype, quoted_strings: bool):
    """``fn(element) -> str`` for elements of a NumPy array of ``dtype``."""
    kind = dtype.kind
    if dtype == object or kind in "SU":
        def string(value):
            data = value if isinstance(value, bytes) else str(value).encode()
            text = _escape(data)
            return f'"{text}"' if quoted_strings else text
        return string
    if kind == "b":
        return lambda value: "1" if value else "0"
    if kind in "iu":
        return lambda value: str(int(value))
    if dtype == np.float64:
        return lambda value: _float(float(value), single=False)
    if kind == "f" or dtype.itemsize == 2:  # float32, float16, bfloat16 (kind 'V')
        return lambda value: _float(np.float32(value), single=True)
    return lambda value: "?"


def summarize(array, max_entries: int) -> str:
    """The first layout (``Assert``/``Print``): at most ``max_entries`` elements."""
    array = np.asarray(array)
    count = array.size
    limit = count if max_entries < 0 else min(max_entries, count)
    fmt = element_formatter(array.dtype, quoted_strings=False)
    flat = array.reshape(-1)
    if array.ndim == 0:
        text = " ".join(fmt(flat[i]) for i in range(limit))
        return text + ("..." if count > limit else "")
    parts: list = []
    index = [0]
    _one_dim(0, array.shape, limit, flat, index, parts, fmt)
    return "".join(parts) + ("..." if count > limit else "")


def _one_dim(dim, shape, limit, flat, index, parts, fmt) -> None:
    if index[0] >= limit:
        return
    if dim == len(shape) - 1:
        for i in range(shape[dim]):
            if index[0] >= limit:
                if dim != 0:
                    parts.append("...")
                return
            if i > 0:
                parts.append(" ")
            parts.append(fmt(flat[index[0]]))
            index[0] += 1
        return
    for _ in range(shape[dim]):
        opened = index[0] < limit
        if opened:
            parts.append("[")
        _one_dim(dim + 1, shape, limit, flat, index, parts, fmt)
        if index[0] < limit or opened:
            parts.append("]")


def summarize_v2(array, max_entries: int) -> str:
    """The second layout (``tf.print``): ``max_entries`` items at each end of each dim."""
    array = np.asarray(array)
    count = array.size
    limit = count if max_entries < 0 else min(max_entries, count)
    fmt = element_formatter(array.dtype, quoted_strings=True)
    flat = array.reshape(-1)
    if array.ndim == 0:
        text = " ".join(fmt(flat[i]) for i in range(limit))
        return text + ("..." if count > limit else "")
    parts: list = []
    _one_dim_v2(0, array.shape, limit, flat, 0, parts, fmt)
    return "".join(parts)


def _spacing(dim: int, ndim: int) -> str:
    if dim == ndim - 1:
        return " "
    return "\n" * (ndim - dim - 1) + " " * (dim + 1)


def _one_dim_v2(dim, shape, ends, flat, start, parts, fmt) -> None:
    if dim == len(shape):
        parts.append(fmt(flat[start]))
        return
    parts.append("[")
    count = shape[dim]
    start_of_end = max(ends, count - ends)
    step = int(np.prod(shape[dim + 1:], dtype=np.int64))
    for i in range(min(ends, count)):
        if i > 0:
            parts.append(_spacing(dim, len(shape)))
        _one_dim_v2(dim + 1, shape, ends, flat, start + step * i, parts, fmt)
    if count > 2 * ends:
        parts.append(_spacing(dim, len(shape)))
        parts.append("...")
    for i in range(start_of_end, count):
        parts.append(_spacing(dim, len(shape)))
        _one_dim_v2(dim + 1, shape, ends, flat, start + step * i, parts, fmt)
    parts.append("]")
