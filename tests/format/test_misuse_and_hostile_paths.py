"""Writer misuse, failures halfway through a save, and hostile files beyond single-bundle
corruption: each found in review, each must keep the promise (typed errors, no wrong data,
no damage to an existing checkpoint, no unbounded work)."""
import errno
import os
import threading
import time
from unittest import mock

import ml_dtypes
import numpy as np
import pytest

from flowsaver import errors
from flowsaver.format import table
from flowsaver.format.bundle_read import BundleReader, data_filename, read_index
from flowsaver.format.bundle_write import (BundleWriter, header_proto, save_tensors,
                                           shape_proto, write_index)
from flowsaver.format.merge import ShardedBundleWriter, merge_bundles, part_prefix
from flowsaver.format.protos import BundleEntryProto
from flowsaver.format.reader import CheckpointReader
from flowsaver.format.slices import TensorSlice, encode_tensor_name_slice
from flowsaver.format.state import latest_checkpoint, update_checkpoint_state

OVERRIDES = [  # (value, dtype override, expected values)
    (np.array([1.0, 2.0, 3.0], ">f4"), "float32", [1.0, 2.0, 3.0]),
    (np.array([1, 2, 3], ">i4"), 3, [1, 2, 3]),
    (np.array([1.0, 2.0], ml_dtypes.float8_e4m3fn), "float8_e4m3fnuz", [1.0, 2.0]),
    (np.array([1.0, 2.0], ml_dtypes.float8_e4m3fn), "float8_e5m2", [1.0, 2.0]),
    (np.array([1, 2], ml_dtypes.int4), "float8_e4m3fn", [1.0, 2.0]),
    (np.array([1, -2], np.int8), "qint8", [1, -2]),
]


@pytest.mark.parametrize("value,dtype,expected", OVERRIDES, ids=repr)
def test_dtype_override_converts_values(tmp_path, value, dtype, expected):
    prefix = str(tmp_path / "ck")
    with BundleWriter(prefix) as w:
        w.add("x", value, dtype=dtype)
    got = BundleReader(prefix).get_tensor("x")
    assert got.astype(np.float64).tolist() == expected


@pytest.mark.parametrize("dtype", ["floot", 101, 99, "resource"])
def test_unknown_or_unstorable_dtype_is_invalid_argument(tmp_path, dtype):
    with BundleWriter(str(tmp_path / "ck")) as w:
        with pytest.raises(errors.InvalidArgumentError):
            w.add("x", [1.0], dtype=dtype)
        w.add("y", [1.0])


def test_failed_index_write_leaves_the_previous_checkpoint(tmp_path):
    prefix = str(tmp_path / "model")
    save_tensors(prefix, {"w": np.arange(4, dtype=np.float32)})

    def no_space(self):
        raise OSError(errno.ENOSPC, "No space left on device")
    with mock.patch.object(table.TableBuilder, "finish", no_space):
        with pytest.raises(OSError):
            save_tensors(prefix, {"w": np.arange(4, dtype=np.float32) * 10})
    assert BundleReader(prefix).get_tensor("w").tolist() == [0, 1, 2, 3]
    assert sorted(os.listdir(tmp_path)) == ["model.data-00000-of-00001", "model.index"]


def test_merge_with_a_missing_part_touches_nothing(tmp_path):
    prefix = str(tmp_path / "model")
    w = ShardedBundleWriter(prefix, 2)
    w.shard(0).add("a", np.ones(3, np.float32))
    w.shard(1).add("b", np.ones(3, np.float32))
    w.finish()
    w = ShardedBundleWriter(prefix, 2)
    w.shard(0).add("a", np.full(3, 7, np.float32))
    w.shard(1).add("b", np.full(3, 7, np.float32))
    for i in range(2):
        w.shard(i).finish()
    os.remove(data_filename(part_prefix(prefix, 1, 2), 0, 1))
    with pytest.raises(errors.NotFoundError, match="missing"):
        merge_bundles(w._parts, prefix)
    reader = BundleReader(prefix)
    assert reader.get_tensor("a").tolist() == reader.get_tensor("b").tolist() == [1, 1, 1]
    assert os.path.exists(data_filename(part_prefix(prefix, 0, 2), 0, 1))  # can retry


def test_refused_slice_records_nothing(tmp_path):
    prefix = str(tmp_path / "ck")
    with BundleWriter(prefix) as w:
        w.add_slice("s", [4], TensorSlice.parse("0,2"), np.array([b"a", b"b"], object))
        with pytest.raises(TypeError):
            w.add_slice("s", [4], TensorSlice.parse("2,2"), np.array([b"c", 3], object))
        w.add_slice("s", [4], TensorSlice.parse("2,2"), np.array([b"c", b"d"], object))
        with pytest.raises(TypeError):
            w.add_slice("t", [4], TensorSlice.parse("0,2"), np.array([b"x", 1], object))
    reader = BundleReader(prefix)
    assert reader.names() == ["s"]
    assert reader.get_tensor("s").tolist() == [b"a", b"b", b"c", b"d"]


def test_writer_refuses_use_after_an_io_error(tmp_path):
    w = BundleWriter(str(tmp_path / "ck"))

    class Broken:
        def write(self, data):
            raise OSError(errno.EIO, "I/O error")

        def close(self):
            pass
    real, w._file = w._file, Broken()
    with pytest.raises(OSError):
        w.add("a", np.ones(3, np.float32))
    w._file = real
    with pytest.raises(errors.FailedPreconditionError, match="failed earlier"):
        w.add("b", np.ones(3, np.float32))
    with pytest.raises(errors.FailedPreconditionError):
        w.finish()
    w.abort()
    assert not os.path.exists(str(tmp_path / "ck.index"))


def test_add_slice_after_finish_is_refused(tmp_path):
    w = BundleWriter(str(tmp_path / "ck"))
    w.add_slice("s", [4], TensorSlice.parse("0,2"), np.ones(2, np.float32))
    w.finish()
    with pytest.raises(errors.FailedPreconditionError):
        w.add_slice("s", [4], TensorSlice.parse("2,2"), np.ones(2, np.float32))


def test_slices_sharing_bytes_are_refused_before_allocating(tmp_path):
    prefix = str(tmp_path / "m")
    with BundleWriter(prefix) as w:
        w.add("row", np.ones(1 << 10, np.float32))
    _, entries = read_index(prefix)
    rows = 512
    full = BundleEntryProto(dtype=1, shape=shape_proto([rows, 1 << 10]))
    out = {b"big": full}
    for i in range(rows):  # every slice points at the same 4 KiB
        s = TensorSlice(((i, 1), (0, -1)))
        full.slices.add().CopyFrom(s.to_proto())
        e = BundleEntryProto()
        e.CopyFrom(entries[b"row"])
        e.shape.CopyFrom(shape_proto([1, 1 << 10]))
        out[encode_tensor_name_slice(b"big", s)] = e
    write_index(prefix, header_proto(1), out)
    with pytest.raises(errors.DataLossError, match="share bytes"):
        BundleReader(prefix).get_tensor("big")


def test_many_slices_are_checked_in_near_linear_time(tmp_path):
    prefix = str(tmp_path / "m")
    n = 4000
    with BundleWriter(prefix) as w:
        for i in range(n):
            w.add_slice("t", [n, 2], TensorSlice(((i, 1), (0, -1))), np.full((1, 2), i, "f4"))
    start = time.process_time()
    value = BundleReader(prefix).get_tensor("t")
    assert time.process_time() - start < 3.0   # CPU time: the machine may be busy
    assert value[:, 0].tolist() == list(range(n))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_and_device_files_are_refused_not_read(tmp_path):
    os.symlink("/dev/zero", tmp_path / "model-1.index")
    update_checkpoint_state(str(tmp_path), str(tmp_path / "model-1"))
    with pytest.raises(errors.InvalidArgumentError, match="not a regular file"):
        CheckpointReader(str(tmp_path))
    os.mkfifo(tmp_path / "model-2.index")
    with pytest.raises(errors.NotFoundError):          # by path: not taken for a checkpoint
        CheckpointReader(str(tmp_path / "model-2"))
    with pytest.raises(errors.InvalidArgumentError, match="not a regular file"):
        BundleReader(str(tmp_path / "model-2"))       # opened directly: refused, not read
    prefix = str(tmp_path / "model-3")
    save_tensors(prefix, {"x": np.ones(2, np.float32)})
    os.remove(data_filename(prefix, 0, 1))
    os.mkfifo(data_filename(prefix, 0, 1))
    with pytest.raises(errors.InvalidArgumentError, match="not a regular file"):
        BundleReader(prefix).get_tensor("x")


def test_absurd_shard_counts_are_refused(tmp_path):
    prefix = str(tmp_path / "m")
    with BundleWriter(prefix) as w:
        w.add("x", np.zeros(1, np.float32))
    _, entries = read_index(prefix)
    write_index(prefix, header_proto(3_000_000), entries)
    with pytest.raises(errors.DataLossError, match="3000000 shards"):
        BundleReader(prefix)


def test_reads_racing_close_raise_only_typed_errors(tmp_path):
    prefix = str(tmp_path / "m")
    save_tensors(prefix, {"w": np.arange(3 << 18, dtype=np.float32)})
    reader = BundleReader(prefix)
    untyped, stop = [], False

    def read_loop():
        while not stop:
            try:
                reader.get_tensor("w")
            except errors.OpError:
                pass
            except Exception as exc:  # anything else breaks the promise
                untyped.append(exc)
    threads = [threading.Thread(target=read_loop) for _ in range(3)]
    for t in threads:
        t.start()
    for _ in range(100):
        reader.close()
        time.sleep(0.001)
    stop = True
    for t in threads:
        t.join()
    assert untyped == []


def test_state_file_with_nul_and_wildcard(tmp_path):
    (tmp_path / "checkpoint").write_text('model_checkpoint_path: "sub\\000dir/*"\n')
    assert latest_checkpoint(str(tmp_path)) is None


def test_glob_characters_in_a_v1_directory_match_themselves(tmp_path):
    from test_v1 import FLOAT, floats, write_v1
    for directory, values in [("run[1]", (1, 2)), ("run1", (666, 666))]:
        os.mkdir(tmp_path / directory)
        for shard, (spec, value) in enumerate([("0,1", values[0]), ("1,1", values[1])]):
            write_v1(str(tmp_path / directory / f"v1-0000{shard}-of-00002"),
                     [("v", FLOAT, [2], [(spec, floats(value))])])
    reader = CheckpointReader(str(tmp_path / "run[1]" / "v1-00000-of-00002"))
    assert reader.get_tensor("v").tolist() == [1, 2]
