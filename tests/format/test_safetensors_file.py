"""safetensors files: what we write, the safetensors library reads (and the reverse), byte
for byte where the layout is fixed; every malformed header is a DataLossError naming the
file and the tensor; mmap reads are read-only views."""
from __future__ import annotations

import json
import struct

import numpy as np
import pytest
import safetensors.numpy as st_numpy
from safetensors import safe_open

from flowsaver import errors
from flowsaver.format import dtypes
from flowsaver.format.safetensors_file import (CODE_TO_TF, SafetensorsReader,
                                               SafetensorsWriter, header_bytes, save_file)

ARRAYS = {
    "f64": np.array([1.5, -2.25, np.inf]),
    "f32": np.arange(12, dtype=np.float32).reshape(3, 4),
    "f16": np.array([0.5, -0.0, 65504], np.float16),
    "i64": np.array([-(2 ** 63), 2 ** 63 - 1]),
    "i32": np.array([[1, -2]], np.int32),
    "i16": np.array([7], np.int16),
    "i8": np.array([-128, 127], np.int8),
    "u8": np.array([0, 255], np.uint8),
    "u16": np.array([65535], np.uint16),
    "u32": np.array([2 ** 32 - 1], np.uint32),
    "u64": np.array([2 ** 64 - 1], np.uint64),
    "bool": np.array([True, False, True]),
    "c64": np.array([1 + 2j, -3j], np.complex64),
    "scalar": np.array(3.0, np.float32),
    "empty": np.zeros((0, 4), np.float32),
}
NUMPY_LIBRARY_TYPES = {"F64", "F32", "F16", "I64", "I32", "I16", "I8", "U8", "U16", "U32",
                       "U64", "BOOL", "C64"}


def test_library_reads_what_we_write(tmp_path):
    path = tmp_path / "x.safetensors"
    save_file(path, ARRAYS, {"source": "test"})
    loaded = st_numpy.load_file(str(path))
    assert loaded.keys() == ARRAYS.keys()
    for name, value in ARRAYS.items():
        assert loaded[name].dtype == value.dtype and loaded[name].shape == value.shape
        np.testing.assert_array_equal(loaded[name], value)
    with safe_open(str(path), "np") as f:
        assert f.metadata() == {"source": "test"}


def test_we_read_what_the_library_writes_byte_for_byte(tmp_path):
    """Same tensors, same metadata: the library's bytes and ours are identical."""
    ours, theirs = tmp_path / "ours.safetensors", tmp_path / "theirs.safetensors"
    save_file(ours, ARRAYS, {"k": "v"})
    st_numpy.save_file(ARRAYS, str(theirs), metadata={"k": "v"})
    assert ours.read_bytes() == theirs.read_bytes()
    with SafetensorsReader(theirs) as reader:
        assert reader.names() == sorted(ARRAYS)
        for name, value in ARRAYS.items():
            got = reader.get_tensor(name)
            assert got.dtype == value.dtype
            np.testing.assert_array_equal(got, value)


@pytest.mark.parametrize("code", sorted(set(CODE_TO_TF) - NUMPY_LIBRARY_TYPES))
def test_ml_dtypes_types_through_torch(tmp_path, code):
    """bfloat16 and float8 (which safetensors.numpy cannot hold) against the library's
    PyTorch reader."""
    import torch  # noqa: F401   # safe_open(framework="pt") needs it
    dtype = dtypes.BY_NAME[CODE_TO_TF[code]]
    value = np.array([0.5, -1.0, 2.0, 0.0], np.float32).astype(dtype.numpy)
    path = tmp_path / "x.safetensors"
    save_file(path, {"t": value})
    with safe_open(str(path), "pt") as f:
        tensor = f.get_tensor("t")
    assert str(tensor.dtype) == f"torch.{dtype.name}"
    np.testing.assert_array_equal(tensor.float().numpy(), value.astype(np.float32))
    with SafetensorsReader(path) as reader:
        got = reader.get_tensor("t")
    assert got.dtype == dtype.numpy
    np.testing.assert_array_equal(got.view(np.uint8), value.view(np.uint8))


def test_alignment_every_tensor_starts_at_a_multiple_of_its_size():
    specs = [("a", dtypes.BY_NAME["int8"], (3,)), ("b", dtypes.BY_NAME["float64"], (1,)),
             ("c", dtypes.BY_NAME["float32"], (2,)), ("d", dtypes.BY_NAME["bfloat16"], (3,))]
    head, plan = header_bytes(specs, None)
    assert [name for name, _ in plan] == ["b", "c", "d", "a"]
    assert len(head) % 8 == 0
    header = json.loads(head[8:])
    for name, dtype, _ in specs:
        assert header[name]["data_offsets"][0] % dtype.numpy.itemsize == 0


def test_mmap_views_are_read_only_and_equal(tmp_path):
    path = tmp_path / "x.safetensors"
    save_file(path, ARRAYS)
    reader = SafetensorsReader(path, mmap=True)
    view = reader.get_tensor("f32")
    assert not view.flags.writeable and not view.flags.owndata
    with pytest.raises(ValueError):
        view[0, 0] = 1
    reader.close()   # the view keeps its map alive
    np.testing.assert_array_equal(view, ARRAYS["f32"])
    np.testing.assert_array_equal(SafetensorsReader(path, mmap=True).get_tensor("empty"),
                                  ARRAYS["empty"])


def test_writer_checks_order_and_size(tmp_path):
    specs = [("a", dtypes.BY_NAME["float32"], (2,)), ("b", dtypes.BY_NAME["float32"], (2,))]
    with pytest.raises(errors.FailedPreconditionError, match="out of order"):
        with SafetensorsWriter(tmp_path / "x.safetensors", specs) as w:
            w.write("b", np.zeros(2, np.float32))
    with pytest.raises(errors.InvalidArgumentError, match="fewer bytes"):
        with SafetensorsWriter(tmp_path / "x.safetensors", specs) as w:
            w.write("a", np.zeros(3, np.float32))
    with pytest.raises(errors.FailedPreconditionError, match="never written"):
        with SafetensorsWriter(tmp_path / "x.safetensors", specs) as w:
            w.write("a", np.zeros(2, np.float32))
    assert list(tmp_path.iterdir()) == []   # nothing left behind by failed writers


def test_writer_takes_pieces_and_casts_them(tmp_path):
    path = tmp_path / "x.safetensors"
    with SafetensorsWriter(path, [("w", dtypes.BY_NAME["float16"], (2, 3))]) as w:
        w.write("w", [np.arange(3.0), np.arange(3.0, 6.0)])
    np.testing.assert_array_equal(st_numpy.load_file(str(path))["w"],
                                  np.arange(6, dtype=np.float16).reshape(2, 3))


def test_strings_are_refused_by_name(tmp_path):
    with pytest.raises(errors.InvalidArgumentError, match="'s'.*string"):
        SafetensorsWriter(tmp_path / "x.safetensors", [("s", dtypes.BY_NAME["string"], ())])


# --- hostile headers ---------------------------------------------------------------------------

def _file(tmp_path, header, data: bytes = b"", length: int | None = None):
    path = tmp_path / "bad.safetensors"
    if header is None:   # raw bytes only
        path.write_bytes(data)
        return path
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text) if length is None else length) + text + data)
    return path


GOOD = {"t": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}
HOSTILE = [
    ("short file", None, None, b"\x01\x02", "too short"),
    ("header longer than file", GOOD, 1000, bytes(8), "header length"),
    ("huge header length", GOOD, 2 ** 63, bytes(8), "header length"),
    ("not JSON", b"{nope", None, b"", "not UTF-8 JSON"),
    ("not an object", [1, 2], None, b"", "not a JSON object"),
    ("metadata not strings", {"__metadata__": {"a": 1}}, None, b"", "__metadata__"),
    ("entry not an object", {"t": 3}, None, b"", "'t'.*not a JSON object"),
    ("negative dim", {"t": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 0]}}, None,
     b"", "'t'.*shape"),
    ("offsets past the end", {"t": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}},
     None, bytes(4), "'t'.*outside"),
    ("size does not match shape", {"t": {"dtype": "F32", "shape": [3], "data_offsets":
                                         [0, 8]}}, None, bytes(8), "'t'.*cannot hold"),
    ("huge shape", {"t": {"dtype": "F32", "shape": [2 ** 62, 2 ** 62], "data_offsets":
                          [0, 8]}}, None, bytes(8), "'t'.*cannot hold"),
    ("overlap", {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                 "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, None,
     bytes(8), "overlaps"),
    ("gap", {"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, None, bytes(8),
     "unused"),
    ("uncovered tail", GOOD, None, bytes(12), "cover 8 of the 12"),
    ("offsets not a pair", {"t": {"dtype": "F32", "shape": [], "data_offsets": [0]}}, None,
     b"", "data_offsets"),
    ("offsets not ints", {"t": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4.0]}},
     None, bytes(4), "data_offsets"),
]


@pytest.mark.parametrize("header,length,data,message", [h[1:] for h in HOSTILE],
                         ids=[h[0] for h in HOSTILE])
def test_hostile_headers_raise_data_loss_naming_the_file(tmp_path, header, length, data,
                                                          message):
    path = _file(tmp_path, header, data, length)
    with pytest.raises(errors.DataLossError, match=message) as info:
        SafetensorsReader(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("header,length,data,message", [h[1:] for h in HOSTILE],
                         ids=[h[0] for h in HOSTILE])
def test_the_library_refuses_them_too(tmp_path, header, length, data, message):
    """Our checks are the library's: nothing we refuse would load there."""
    path = _file(tmp_path, header, data, length)
    with pytest.raises(Exception):
        st_numpy.load_file(str(path))


def test_unknown_dtype_is_listed_and_refused_when_read(tmp_path):
    path = _file(tmp_path, {"t": {"dtype": "F8_E8M0", "shape": [4], "data_offsets": [0, 4]}},
                 bytes(4))
    with SafetensorsReader(path) as reader:
        assert reader.entry("t").dtype is None and reader.entry("t").code == "F8_E8M0"
        with pytest.raises(errors.UnimplementedError, match="F8_E8M0"):
            reader.get_tensor("t")


def test_missing_tensor_and_file(tmp_path):
    path = tmp_path / "x.safetensors"
    save_file(path, {"a": np.zeros(1)})
    with SafetensorsReader(path) as reader, pytest.raises(errors.NotFoundError, match="'b'"):
        reader.get_tensor("b")
    with pytest.raises(errors.NotFoundError):
        SafetensorsReader(tmp_path / "nope.safetensors")



def test_a_rank_above_numpys_limit_is_refused_typed_when_read(tmp_path):
    path = _file(tmp_path, {"t": {"dtype": "F32", "shape": [1] * 100, "data_offsets": [0, 4]}},
                 bytes(4))
    with SafetensorsReader(path) as reader:
        with pytest.raises(errors.UnimplementedError, match=r"'t'.*bad\.safetensors.*rank 100"):
            reader.get_tensor("t")
