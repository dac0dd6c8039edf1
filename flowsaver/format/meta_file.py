"""Reading a ``.meta`` file: a MetaGraphDef, binary (what Saver.save writes) or text
(``export_meta_graph(as_text=True)``, usually ``.pbtxt``)."""
from __future__ import annotations

import os

from google.protobuf import text_format
from google.protobuf.message import DecodeError

from flowsaver import errors
from flowsaver.format.graph_protos import MetaGraphDef

# A .meta file larger than this is refused rather than read into memory.
MAX_META_BYTES = 2 << 30


def read_meta_graph_file(filename) -> MetaGraphDef:
    """The MetaGraphDef in ``filename``: binary, else text.

    Raises:
      OSError: no such file.
      DataLossError: neither a binary nor a text MetaGraphDef, or larger than 2 GiB.
    """
    filename = os.fspath(filename)
    if not os.path.isfile(filename):
        raise OSError(f"File does not exist. Received: {filename}.")
    size = os.path.getsize(filename)
    if size > MAX_META_BYTES:
        raise errors.DataLossError(f"{filename}: {size} bytes is more than a MetaGraphDef "
                                   f"can hold (2 GiB)")
    with open(filename, "rb") as f:
        data = f.read()
    meta = MetaGraphDef()
    try:
        meta.ParseFromString(data)
        # Text can happen to parse as wire format; a real binary one has a graph or info.
        if meta.HasField("graph_def") or meta.HasField("meta_info_def") or not data:
            return meta
    except DecodeError:
        pass
    meta = MetaGraphDef()
    try:
        text_format.Parse(data.decode("utf-8"), meta)
    except (UnicodeDecodeError, text_format.ParseError) as e:
        raise errors.DataLossError(f"{filename} is neither a binary nor a text MetaGraphDef: "
                                   f"{e}") from None
    return meta
