"""Reading a ``.meta`` file: a MetaGraphDef, binary (what Saver.save writes) or text
(``export_meta_graph(as_text=True)``, usually ``.pbtxt``).

Files may be truncated, corrupted or hostile: every failure is an OSError (not a readable
regular file) or a DataLossError (not a MetaGraphDef), and names the file. Reading never
takes more memory than the file's size, capped at 2 GiB.
"""
from __future__ import annotations

import os

from google.protobuf import text_format
from google.protobuf.message import DecodeError

from flowsaver import errors
from flowsaver.format import storage
from flowsaver.format.graph_protos import MetaGraphDef

# A .meta file larger than this is refused rather than read into memory.
MAX_META_BYTES = 2 << 30


def read_meta_graph_file(filename) -> MetaGraphDef:
    """The MetaGraphDef in ``filename``: binary, else text.

    Raises:
      OSError: no such file, or a directory or other non-regular file (a FIFO would block).
      DataLossError: empty, neither a binary nor a text MetaGraphDef, or larger than 2 GiB.
    """
    filename = os.fspath(filename)
    if isinstance(filename, bytes):
        filename = os.fsdecode(filename)
    if storage.isdir(filename):
        raise IsADirectoryError(f"{filename} is a directory, not a MetaGraphDef file.")
    if not storage.exists(filename):
        raise OSError(f"File does not exist. Received: {filename}.")
    if not storage.isfile(filename):
        raise OSError(f"{filename} is not a regular file, so it holds no MetaGraphDef.")
    # Read one byte past the cap: a file growing after a size check cannot get past it.
    data = storage.read_bytes(filename, MAX_META_BYTES)
    if len(data) > MAX_META_BYTES:
        raise errors.DataLossError(f"{filename}: more than {MAX_META_BYTES} bytes is more "
                                   f"than a MetaGraphDef can hold (2 GiB)")
    if not data:
        # TensorFlow reads an empty file as an empty MetaGraphDef; every real one has at
        # least its meta_info_def, so empty means the write never finished.
        raise errors.DataLossError(f"{filename} is empty (0 bytes): it holds no "
                                   f"MetaGraphDef; was it truncated?")
    meta = MetaGraphDef()
    try:
        meta.ParseFromString(data)
        # Text can happen to parse as wire format; a real binary one has a graph or info.
        if meta.HasField("graph_def") or meta.HasField("meta_info_def"):
            return meta
        binary_reason = "it parses, but holds neither a graph_def nor a meta_info_def"
    except DecodeError as e:  # also what too deep a nesting gives
        binary_reason = str(e)[:300]
    meta = MetaGraphDef()
    try:
        text_format.Parse(data.decode("utf-8"), meta)
    except (UnicodeDecodeError, text_format.ParseError, RecursionError, ValueError,
            DecodeError) as e:
        text_reason = "nested too deeply" if isinstance(e, RecursionError) else str(e)[:300]
        raise errors.DataLossError(f"{filename} is neither a binary MetaGraphDef "
                                   f"({binary_reason}) nor a text one ({text_reason})") from None
    if not meta.ByteSize():
        raise errors.DataLossError(f"{filename} holds no MetaGraphDef: it parses as text "
                                   f"with no field set")
    return meta
