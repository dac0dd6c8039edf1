"""Zero-copy reads: ``load_checkpoint(path, mmap=True)`` gives read-only views of the data
file that equal the copying reader's values, allocate nothing for the tensor, keep every
extent check, and verify CRCs only when asked."""
from __future__ import annotations

import json
import mmap
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import flowsaver as tf
from flowsaver import errors
from flowsaver.format.bundle_read import BundleReader, data_filename, read_index
from flowsaver.format.bundle_write import save_tensors, write_index
from flowsaver.format.slices import TensorSlice

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "tf"
MANIFEST = json.loads((FIXTURES / "manifest.json").read_text())["checkpoints"]
V2_FIXTURES = [name for name in MANIFEST if name != "v1"]


def _mapped_base(array: np.ndarray):
    base = array
    while isinstance(base, np.ndarray):
        base = base.base
    return base.obj if isinstance(base, memoryview) else base


@pytest.mark.parametrize("name", V2_FIXTURES)
def test_mmap_values_equal_the_copying_reader(name):
    prefix = FIXTURES / MANIFEST[name]["prefix"]
    plain = tf.train.load_checkpoint(str(prefix))
    mapped = tf.train.load_checkpoint(str(prefix), mmap=True)
    for key in plain.names():
        a, b = plain.get_tensor(key), mapped.get_tensor(key)
        assert type(a) is type(b)
        a_arr, b_arr = np.asarray(a), np.asarray(b)
        assert a_arr.dtype == b_arr.dtype and a_arr.shape == b_arr.shape
        if a_arr.dtype == object:
            assert a_arr.tolist() == b_arr.tolist()
        else:   # bytes compared, so NaN payloads and -0.0 count too
            assert a_arr.tobytes() == b_arr.tobytes()


def test_views_are_read_only_maps_of_the_data_file(tmp_path):
    save_tensors(str(tmp_path / "m"), {"w": np.arange(1000, dtype=np.float32).reshape(10, 100),
                                       "s": np.array([b"x"], dtype=object)})
    reader = BundleReader(str(tmp_path / "m"), mmap=True)
    w = reader.get_tensor("w")
    assert not w.flags.writeable and isinstance(_mapped_base(w), mmap.mmap)
    with pytest.raises(ValueError):
        w[0, 0] = 1.0
    assert reader.get_tensor("s").tolist() == [b"x"]   # strings are decoded, as always
    row = reader.get_slice("w", TensorSlice.parse("3,1:-"))
    assert not row.flags.owndata   # a view of the map, not a copy
    np.testing.assert_array_equal(row, np.arange(300, 400, dtype=np.float32)[None])
    reader.close()
    np.testing.assert_array_equal(w[9], np.arange(900, 1000))   # still valid after close


def test_reading_one_tensor_allocates_nothing_for_it(tmp_path):
    big = np.ones((16, 1 << 20), np.float32)   # 64 MiB
    save_tensors(str(tmp_path / "m"), {"big": big, "small": np.zeros(3)})
    del big
    reader = tf.train.load_checkpoint(str(tmp_path / "m"), mmap=True)
    tracemalloc.start()
    try:
        row = reader.get_tensor("big")[5]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert row.sum() == 1 << 20
    assert peak < 1 << 20, f"mmap read allocated {peak} bytes"


def _corrupt_first_byte(prefix: Path, key: bytes) -> None:
    _, entries = read_index(str(prefix))
    path = Path(data_filename(str(prefix), 0, 1))
    data = bytearray(path.read_bytes())
    data[entries[key].offset] ^= 0xFF
    path.write_bytes(bytes(data))


def test_crc_checked_only_on_request(tmp_path):
    prefix = tmp_path / "m"
    save_tensors(str(prefix), {"w": np.arange(8, dtype=np.float32)})
    _corrupt_first_byte(prefix, b"w")
    unchecked = tf.train.load_checkpoint(str(prefix), mmap=True).get_tensor("w")
    assert unchecked[0] != 0.0   # the damaged bytes, as stored
    with pytest.raises(errors.DataLossError, match="Checksum does not match.*'w'"):
        tf.train.load_checkpoint(str(prefix), mmap=True, verify_crc=True).get_tensor("w")
    with pytest.raises(errors.DataLossError, match="Checksum"):
        tf.train.load_checkpoint(str(prefix)).get_tensor("w")   # the default checks


def test_extent_checks_still_apply(tmp_path):
    """An entry pointing past the end of its data file is refused before any mapping."""
    prefix = tmp_path / "m"
    save_tensors(str(prefix), {"w": np.arange(8, dtype=np.float32)})
    header, entries = read_index(str(prefix))
    entries[b"w"].offset = 1000
    write_index(str(prefix), header, entries)
    with pytest.raises(errors.DataLossError, match="'w'.*past the end"):
        tf.train.load_checkpoint(str(prefix), mmap=True).get_tensor("w")


def test_truncated_data_file_is_refused(tmp_path):
    prefix = tmp_path / "m"
    save_tensors(str(prefix), {"a": np.zeros(4), "w": np.arange(8, dtype=np.float32)})
    path = Path(data_filename(str(prefix), 0, 1))
    path.write_bytes(path.read_bytes()[:-4])
    reader = tf.train.load_checkpoint(str(prefix), mmap=True)
    with pytest.raises(errors.DataLossError, match="past the end"):
        reader.get_tensor("w")


def test_empty_tensor_and_partitioned_tensor(tmp_path):
    prefix = FIXTURES / MANIFEST["partitioned"]["prefix"]
    mapped = tf.train.load_checkpoint(str(prefix), mmap=True)
    emb = mapped.get_tensor("emb")   # assembled from slices: an ordinary array
    assert emb.shape == (7, 3) and emb.flags.writeable
    save_tensors(str(tmp_path / "e"), {"e": np.zeros((0, 5), np.float32)})
    assert tf.train.load_checkpoint(str(tmp_path / "e"), mmap=True).get_tensor("e").shape \
        == (0, 5)
