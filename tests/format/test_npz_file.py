""".npz files written member by member: NumPy reads them, and we read NumPy's; strings
round-trip as bytes arrays; hostile members are typed errors."""
from __future__ import annotations

import zipfile

import numpy as np
import pytest

from flowsaver import errors
from flowsaver.format import dtypes
from flowsaver.format.npz_file import NpzReader, NpzWriter, strings_array, supports

ARRAYS = {
    "a/kernel": np.arange(12, dtype=np.float32).reshape(3, 4),
    "b": np.array([1, -2], np.int64),
    "c": np.array(2.5),
    "d": np.array([[1 + 1j]], np.complex128),
    "e": np.zeros((0, 3), np.uint16),
    "f": np.array([True, False]),
}


def _write(path, arrays):
    with NpzWriter(path) as writer:
        for name, value in arrays.items():
            writer.write(name, value.dtype, value.shape, [value])


def test_numpy_reads_what_we_write(tmp_path):
    path = tmp_path / "x.npz"
    _write(path, ARRAYS)
    with np.load(path, allow_pickle=False) as loaded:
        assert sorted(loaded.files) == sorted(ARRAYS)
        for name, value in ARRAYS.items():
            assert loaded[name].dtype == value.dtype
            np.testing.assert_array_equal(loaded[name], value)


def test_we_read_what_numpy_writes(tmp_path):
    for save in (np.savez, np.savez_compressed):
        path = tmp_path / f"{save.__name__}.npz"
        save(path, **ARRAYS)
        with NpzReader(path) as reader:
            assert reader.names() == sorted(ARRAYS)
            for name, value in ARRAYS.items():
                assert reader.numpy_dtype(name) == value.dtype
                assert reader.shape(name) == value.shape
                np.testing.assert_array_equal(reader.get_tensor(name), value)


def test_pieces_are_cast_and_concatenated(tmp_path):
    path = tmp_path / "x.npz"
    with NpzWriter(path) as writer:
        writer.write("w", np.float16, (2, 3), [np.arange(3.0), np.arange(3.0, 6.0)])
    np.testing.assert_array_equal(np.load(path)["w"], np.arange(6, dtype=np.float16)
                                  .reshape(2, 3))


def test_wrong_piece_sizes_are_refused(tmp_path):
    with pytest.raises(errors.InvalidArgumentError, match="'w'"):
        with NpzWriter(tmp_path / "x.npz") as writer:
            writer.write("w", np.float32, (4,), [np.zeros(3)])
    assert list(tmp_path.iterdir()) == []


def test_strings_round_trip_as_bytes(tmp_path):
    value = np.array([[b"ab", b""], [b"\x00x", b"\xff"]], dtype=object)
    path = tmp_path / "x.npz"
    array = strings_array(value)
    with NpzWriter(path) as writer:
        writer.write("s", array.dtype, array.shape, [array])
    with NpzReader(path) as reader:
        got = reader.get_tensor("s")
    assert got.dtype == object and got.tolist() == value.tolist()
    with pytest.raises(errors.InvalidArgumentError, match="NUL"):
        strings_array(np.array([b"ends in nul\x00"], dtype=object))


def test_unicode_arrays_come_back_as_utf8_bytes(tmp_path):
    path = tmp_path / "u.npz"
    np.savez(path, u=np.array(["héllo", "x"]))
    with NpzReader(path) as reader:
        assert reader.get_tensor("u").tolist() == ["héllo".encode(), b"x"]


def test_supported_dtypes():
    assert supports(dtypes.BY_NAME["float32"]) and supports(dtypes.BY_NAME["string"])
    assert not supports(dtypes.BY_NAME["bfloat16"])
    assert not supports(dtypes.BY_NAME["qint8"])


# --- hostile files -------------------------------------------------------------------------------

def test_object_arrays_are_never_unpickled(tmp_path):
    path = tmp_path / "o.npz"
    np.savez(path, o=np.array([{"a": 1}], dtype=object))
    with pytest.raises(errors.UnimplementedError, match="'o'.*pickle"):
        NpzReader(path)


def test_not_a_zip(tmp_path):
    path = tmp_path / "x.npz"
    path.write_bytes(b"not a zip at all")
    with pytest.raises(errors.DataLossError, match="x.npz"):
        NpzReader(path)
    with pytest.raises(errors.NotFoundError):
        NpzReader(tmp_path / "missing.npz")


def test_member_whose_header_lies_about_its_size(tmp_path):
    """A header claiming a bigger array than the member holds is refused at open, before
    anything is allocated for it."""
    good = tmp_path / "good.npz"
    np.savez(good, w=np.zeros(4, np.float32))
    with zipfile.ZipFile(good) as z:
        data = z.read("w.npy")
    lying = data.replace(b"'shape': (4,)", b"'shape': (9,)")
    assert lying != data
    path = tmp_path / "bad.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("w.npy", lying)
    with pytest.raises(errors.DataLossError, match="'w'.*holds"):
        NpzReader(path)


def test_member_that_is_not_npy(tmp_path):
    path = tmp_path / "bad.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("w.npy", b"garbage")
    with pytest.raises(errors.DataLossError, match="'w'"):
        NpzReader(path)
