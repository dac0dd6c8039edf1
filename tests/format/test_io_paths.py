"""The byte-moving paths of the bundle writer and reader: short writes, tensors read in
pieces, and CRCs computed on the helper thread."""
import os

import numpy as np
import pytest

from flowsaver import errors
from flowsaver.format import bundle_read
from flowsaver.format.bundle_read import BundleReader
from flowsaver.format.bundle_write import BundleWriter


class ShortWrites:
    """A file whose write() moves at most ``limit`` bytes, as a real one may (Linux moves at
    most 2 GiB - 4 KiB per call)."""

    def __init__(self, file, limit):
        self.file, self.limit = file, limit

    def write(self, data):
        return self.file.write(memoryview(data).cast("B")[:self.limit])

    def __getattr__(self, name):   # finish, commit, abort: the wrapped output's
        return getattr(self.file, name)


def test_short_writes_are_completed(tmp_path):
    prefix = str(tmp_path / "ck")
    values = {"big": np.arange(300_000, dtype=np.float32),
              "s": np.array([b"x" * 5000, b"y"], dtype=object)}
    writer = BundleWriter(prefix)
    writer._file = ShortWrites(writer._file, 4093)
    with writer:
        for name, value in values.items():
            writer.add(name, value)
    reader = BundleReader(prefix)
    assert np.array_equal(reader.get_tensor("big"), values["big"])
    assert list(reader.get_tensor("s")) == list(values["s"])


# Sizes around the read piece and the helper-thread threshold (both 1 MiB).
SIZES = [0, 1, 4, bundle_read.READ_PIECE - 4, bundle_read.READ_PIECE,
         bundle_read.READ_PIECE + 4, 3 * bundle_read.READ_PIECE + 12]


@pytest.mark.parametrize("nbytes", SIZES)
def test_crc_catches_a_flip_anywhere(tmp_path, nbytes):
    prefix = str(tmp_path / "ck")
    value = np.random.default_rng(nbytes).integers(0, 255, nbytes, dtype=np.uint8)
    with BundleWriter(prefix) as writer:
        writer.add("t", value)
    assert np.array_equal(BundleReader(prefix).get_tensor("t"), value)
    if not nbytes:
        return
    data = bundle_read.data_filename(prefix, 0, 1)
    for pos in sorted({0, nbytes // 2, nbytes - 1}):
        raw = bytearray(open(data, "rb").read())
        raw[pos] ^= 0x10
        with open(data, "wb") as f:
            f.write(raw)
        with pytest.raises(errors.DataLossError, match="Checksum does not match"):
            BundleReader(prefix).get_tensor("t")
        # With checks off the damaged bytes come back as they are.
        assert BundleReader(prefix, verify_crc=False).get_tensor("t")[pos] == value[pos] ^ 0x10
        raw[pos] ^= 0x10
        with open(data, "wb") as f:
            f.write(raw)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_reads_with_its_own_crc_thread(tmp_path):
    prefix = str(tmp_path / "ck")
    value = np.arange(2 * bundle_read.READ_PIECE, dtype=np.uint8)
    with BundleWriter(prefix) as writer:
        writer.add("t", value)
    BundleReader(prefix).get_tensor("t")  # starts the parent's helper thread
    pid = os.fork()
    if pid == 0:
        ok = np.array_equal(BundleReader(prefix).get_tensor("t"), value)
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0


def test_get_tensors_checks_every_crc_before_returning(tmp_path):
    prefix = str(tmp_path / "ck")
    values = {f"t{i}": np.full(n, i, np.uint8) for i, n in enumerate(
        [10, 3 * bundle_read.READ_PIECE, 5, 2 * bundle_read.READ_PIECE + 1])}
    with BundleWriter(prefix) as writer:
        for name, value in values.items():
            writer.add(name, value)
    got = BundleReader(prefix).get_tensors(list(values))
    assert all(np.array_equal(got[n], v) for n, v in values.items())
    entry = BundleReader(prefix).entry("t1")
    data = bundle_read.data_filename(prefix, 0, 1)
    raw = bytearray(open(data, "rb").read())
    raw[entry.offset + entry.size - 1] ^= 1       # last byte of the first large tensor
    with open(data, "wb") as f:
        f.write(raw)
    with pytest.raises(errors.DataLossError, match="'t1'"):
        BundleReader(prefix).get_tensors(list(values))
