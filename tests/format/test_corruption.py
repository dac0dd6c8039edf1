"""Corrupted checkpoints: every failure is a typed OpError, never a wrong value.

A small valid bundle (several dtypes, a string tensor, a partitioned tensor) is damaged at
every truncation point and every bit, and with random flips and overwrites. Opening it or
reading each tensor must either return the exact original value or raise an OpError
naming the file (and the tensor, when one is involved). IndexError, struct.error,
ValueError, KeyError, MemoryError, hangs and wrong values all fail these tests.
Hand-built hostile files are in test_corruption_hostile.py, fuzzing behind valid checksums
in test_corruption_fuzz.py.
"""
from __future__ import annotations

import os
import shutil

import ml_dtypes
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fixture_paths import SAMPLES
from flowsaver import errors
from flowsaver.format.bundle_read import BundleReader
from flowsaver.format.bundle_write import BundleWriter
from flowsaver.format.slices import TensorSlice, decode_tensor_name_slice
from format_helpers import data_path, flip, read, same, write
from test_helpers import time_limit


# --- the small bundle every damage test starts from ----------------------------------------

PART_SLICES = [TensorSlice(((0, 2), (0, -1))), TensorSlice(((2, 2), (0, -1)))]


def expected_tensors() -> dict:
    return {
        "a/f32": np.arange(6, dtype=np.float32).reshape(2, 3),
        "b/i64": np.array(-2**40, np.int64),
        "c/str": np.array([b"", b"ab", b"xyz" * 3], dtype=object),
        "d/bool": np.array([True, False, True]),
        "e/bf16": np.array([1.0, -2.5], ml_dtypes.bfloat16),
        "f/empty": np.zeros((0, 3), np.float32),
        "g/part": np.arange(8, dtype=np.float32).reshape(4, 2),
        "h/hello": np.array(b"hello", dtype=object),
        "i/c64": np.array([1 + 2j], np.complex64),
    }


def write_small_bundle(prefix: str) -> dict:
    """Write the bundle (slices interleaved with whole tensors); returns its tensors."""
    tensors = expected_tensors()
    part = tensors["g/part"]
    with BundleWriter(prefix) as writer:
        writer.add("a/f32", tensors["a/f32"])
        writer.add("b/i64", tensors["b/i64"])
        writer.add("c/str", tensors["c/str"])
        writer.add_slice("g/part", part.shape, PART_SLICES[0], part[:2])
        writer.add("d/bool", tensors["d/bool"])
        writer.add_slice("g/part", part.shape, PART_SLICES[1], part[2:])
        writer.add("e/bf16", tensors["e/bf16"])
        writer.add("f/empty", tensors["f/empty"])
        writer.add("h/hello", tensors["h/hello"])
        writer.add("i/c64", tensors["i/c64"])
    return tensors


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    """(index bytes, data bytes, tensors, {name: [(start, end) in the data file]})."""
    prefix = str(tmp_path_factory.mktemp("pristine") / "ck")
    tensors = write_small_bundle(prefix)
    ranges: dict = {name: [] for name in tensors}
    with BundleReader(prefix) as reader:
        assert reader.names() == sorted(tensors)
        for name, value in tensors.items():
            assert same(reader.get_tensor(name), value)
        for key, entry in reader.raw_entries().items():
            if entry.slices:
                continue
            name = decode_tensor_name_slice(key)[0] if key.startswith(b"\x00") else key
            ranges[name.decode()].append((entry.offset, entry.offset + entry.size))
    data = read(data_path(prefix))
    # Every byte of the data file belongs to exactly one tensor: no padding, no gaps.
    covered = sorted(r for rs in ranges.values() for r in rs if r[1] > r[0])
    assert [b for _, b in covered[:-1]] == [a for a, _ in covered[1:]]
    assert covered[0][0] == 0 and covered[-1][1] == len(data)
    return read(prefix + ".index"), data, tensors, ranges


class Damaged:
    """A copy of the pristine bundle with replaced bytes, reused across examples."""

    def __init__(self, directory: str, pristine):
        self.index, self.data, self.tensors, self.ranges = pristine
        self.prefix = os.path.join(directory, "ck")

        self._on_disk: dict = {}

    def write(self, index: bytes | None = None, data: bytes | None = None) -> None:
        self._put(self.prefix + ".index", self.index if index is None else index)
        self._put(data_path(self.prefix), self.data if data is None else data)

    def _put(self, path: str, content: bytes) -> None:
        # Thousands of rewrites: skip unchanged files, and overwrite in place when the size
        # is unchanged (truncating a file costs milliseconds on some file systems).
        before = self._on_disk.get(path)
        if before == content:
            return
        with open(path, "r+b" if before is not None and len(before) == len(content)
                  else "wb") as f:
            f.write(content)
        self._on_disk[path] = content

    def outcome(self):
        """``(open error or None, {name: value or OpError})``; other exceptions propagate."""
        results = {}
        with time_limit(5):
            try:
                reader = BundleReader(self.prefix)
            except errors.OpError as exc:
                return exc, results
            with reader:
                assert reader.names() == sorted(self.tensors)
                for name in self.tensors:
                    try:
                        results[name] = reader.get_tensor(name)
                    except errors.OpError as exc:
                        results[name] = exc
        return None, results

    def check(self, damaged_tensors=None, *, must_fail: bool = True) -> bool:
        """Assert no wrong value and good messages; returns whether anything failed.

        ``damaged_tensors``: names that must fail (None: unknown, any may fail).
        """
        open_error, results = self.outcome()
        if open_error is not None:
            assert isinstance(open_error, errors.DataLossError), repr(open_error)
            assert self.prefix + ".index" in str(open_error)
            return True
        failed = False
        for name, result in results.items():
            if isinstance(result, errors.OpError):
                assert isinstance(result, (errors.DataLossError, errors.NotFoundError)), \
                    repr(result)
                message = str(result)
                assert self.prefix in message, message
                assert name in message, message
                failed = True
            else:
                assert damaged_tensors is None or name not in damaged_tensors, \
                    f"damage to {name} went unnoticed"
                assert same(result, self.tensors[name]), f"wrong value for {name}"
        if must_fail:
            assert failed, "the damage went unnoticed"
        return failed

    def owners(self, pos: int) -> set:
        return {name for name, rs in self.ranges.items() if any(a <= pos < b for a, b in rs)}


@pytest.fixture
def damaged(tmp_path, pristine):
    return Damaged(str(tmp_path), pristine)


# --- part 1: every truncation, every bit ------------------------------------------------------

def test_every_truncation_of_the_index(damaged):
    for size in range(len(damaged.index)):
        damaged.write(index=damaged.index[:size])
        open_error, _ = damaged.outcome()
        assert isinstance(open_error, errors.DataLossError), (size, open_error)
        assert damaged.prefix + ".index" in str(open_error)


def test_every_truncation_of_the_data_file(damaged):
    for size in range(len(damaged.data)):
        damaged.write(data=damaged.data[:size])
        cut = {name for name, rs in damaged.ranges.items() if any(b > size for _, b in rs)}
        assert cut                       # the last tensor always loses bytes
        _, results = damaged.outcome()
        for name, result in results.items():
            if name in cut:
                assert isinstance(result, errors.DataLossError), (size, name, result)
                assert name in str(result) and damaged.prefix in str(result)
            else:
                assert same(result, damaged.tensors[name]), (size, name)


def test_every_bit_flip_of_the_index(damaged):
    unnoticed = []
    for pos in range(len(damaged.index)):
        for bit in range(8):
            damaged.write(index=flip(damaged.index, pos, bit))
            if not damaged.check(must_fail=False):
                unnoticed.append((pos, bit, damaged.index[pos]))
    # A flipped bit that reads back identical values is not data loss, but the reader
    # promises that every flipped bit is seen (it checks the footer padding and the
    # metaindex block for exactly that), so each must raise.
    assert unnoticed == []


def test_every_bit_flip_of_the_data_file(damaged):
    for pos in range(len(damaged.data)):
        owners = damaged.owners(pos)
        assert len(owners) == 1
        for bit in range(8):
            damaged.write(data=flip(damaged.data, pos, bit))
            damaged.check(owners)


def test_footer_rejects_a_non_canonical_varint(tmp_path):
    # model-7's footer is 9b 01 08 a8 01 0f, 34 zero bytes, magic (spec 1.2.1). Setting the
    # top bit of 0f gives 8f 00: another encoding of 15 that swallows a padding byte. No
    # writer produces it, so it is a flipped bit, and the reader promises to see those.
    src = str(SAMPLES / "s2_refvar_momentum" / "model-7")
    prefix = str(tmp_path / "model-7")
    index = read(src + ".index")
    assert index[188:194] == bytes.fromhex("9b 01 08 a8 01 0f")
    write(prefix + ".index", flip(index, 193, 7))
    shutil.copyfile(data_path(src), data_path(prefix))
    with pytest.raises(errors.DataLossError, match="model-7.index"):
        BundleReader(prefix)


def test_extra_bytes_after_the_data_are_harmless(damaged):
    # Offsets are authoritative; a longer data file (e.g. alignment padding) still reads.
    damaged.write(data=damaged.data + b"\x00" * 7)
    damaged.check(set(), must_fail=False)
    _, results = damaged.outcome()
    assert all(not isinstance(r, errors.OpError) for r in results.values())


CORRUPTION = settings(max_examples=200, deadline=None, database=None,
                      suppress_health_check=[HealthCheck.function_scoped_fixture])


@CORRUPTION
@given(data=st.data(), in_index=st.booleans())
def test_random_bit_flips(damaged, data, in_index):
    original = damaged.index if in_index else damaged.data
    flips = data.draw(st.lists(st.tuples(st.integers(0, len(original) - 1),
                                         st.integers(0, 7)), min_size=1, max_size=3))
    corrupted = original
    for pos, bit in flips:
        corrupted = flip(corrupted, pos, bit)
    if corrupted == original:             # two flips of the same bit cancel out
        return
    if in_index:
        damaged.write(index=corrupted)
        damaged.check()
    else:
        damaged.write(data=corrupted)
        changed = {p for p in range(len(original)) if corrupted[p] != original[p]}
        damaged.check(set().union(*(damaged.owners(p) for p in changed)))


@CORRUPTION
@given(data=st.data(), in_index=st.booleans())
def test_random_overwrites(damaged, data, in_index):
    original = damaged.index if in_index else damaged.data
    start = data.draw(st.integers(0, len(original) - 1))
    junk = data.draw(st.binary(min_size=1, max_size=len(original) - start))
    corrupted = original[:start] + junk + original[start + len(junk):]
    if corrupted == original:
        return
    if in_index:
        damaged.write(index=corrupted)
        damaged.check()
    else:
        damaged.write(data=corrupted)
        changed = {p for p in range(len(original)) if corrupted[p] != original[p]}
        damaged.check(set().union(*(damaged.owners(p) for p in changed)))


DATA_ERRORS = [
    # (case, tensor, damage given the data bytes and the tensor's (start, end)) -- the
    # message must name the data file that holds the damage, not only the index: that is
    # the file a user has to replace.
    ("memcpy crc mismatch", "a/f32", lambda data, r: flip(data, r[0], 0)),
    ("string bytes crc mismatch", "c/str", lambda data, r: flip(data, r[1] - 1, 0)),
    ("string lengths broken", "c/str", lambda data, r: flip(data, r[0], 1)),
    ("tensor truncated", "i/c64", lambda data, r: data[:r[0] + 3]),
    ("slice truncated", "g/part", lambda data, r: data[:r[0] + 3]),
]


@pytest.mark.parametrize("case,name,damage", DATA_ERRORS, ids=[r[0] for r in DATA_ERRORS])
def test_data_file_errors_name_the_data_file(damaged, case, name, damage):
    damaged.write(data=damage(damaged.data, damaged.ranges[name][0]))
    with BundleReader(damaged.prefix) as reader:
        with pytest.raises(errors.DataLossError) as info:
            reader.get_tensor(name)
    assert name in str(info.value)
    assert os.path.basename(data_path(damaged.prefix)) in str(info.value)
