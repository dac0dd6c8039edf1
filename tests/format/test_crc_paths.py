"""The checkpoint writer and reader use a helper thread when a core is spare (the writer
to take the CRC32C, the reader to read and check half of a large tensor) and work inline,
piece by piece, when none is: both give the same bytes and catch the same damage. Also
the CRC combination the split read relies on, and the load meter's thread-count rule."""
from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowsaver import errors
from flowsaver.format import background_crc, cpu_load, crc_stream
from flowsaver.format.coding import crc32c
from flowsaver.format.bundle_read import BundleReader
from flowsaver.format.bundle_write import save_tensors

FAST = settings(max_examples=150, deadline=None, database=None)
TENSORS = {"big": np.arange(3 << 18, dtype=np.float32),      # 3 MiB: several pieces
           "odd": np.arange(300_001, dtype=np.float64),        # not a whole piece
           "small": np.ones((3, 3), np.int32)}


@pytest.fixture(params=[True, False], ids=["helper thread", "inline"])
def spare_core(request, monkeypatch):
    monkeypatch.setattr(background_crc, "worth_it", lambda: request.param)
    return request.param


def test_both_crc_paths_write_the_same_checkpoint(tmp_path, spare_core, monkeypatch):
    prefix = save_tensors(str(tmp_path / "a" / "ck"), TENSORS)
    monkeypatch.setattr(background_crc, "worth_it", lambda: not spare_core)
    other = save_tensors(str(tmp_path / "b" / "ck"), TENSORS)
    for suffix in (".index", ".data-00000-of-00001"):
        with open(prefix + suffix, "rb") as f, open(other + suffix, "rb") as g:
            assert f.read() == g.read()
    with BundleReader(prefix) as reader:
        for name, value in TENSORS.items():
            np.testing.assert_array_equal(reader.get_tensor(name), value)
        got = reader.get_tensors(list(TENSORS))
    for name, value in TENSORS.items():
        np.testing.assert_array_equal(got[name], value)


@pytest.mark.parametrize("at", [1000, (3 << 19) - 1, 3 << 19, 2 << 20],
                         ids=["first half", "last byte of it", "second half", "2 MiB"])
def test_both_crc_paths_catch_a_flipped_bit(tmp_path, spare_core, at):
    """With a spare core the reader's helper thread reads the second half of "big"
    (from 1.5 MiB): damage on either side of the split is caught."""
    prefix = save_tensors(str(tmp_path / "ck"), TENSORS)
    path = prefix + ".data-00000-of-00001"
    with open(path, "r+b") as f:
        f.seek(at)
        byte = f.read(1)
        f.seek(at)
        f.write(bytes([byte[0] ^ 4]))
    with BundleReader(prefix) as reader:
        with pytest.raises(errors.DataLossError, match="big"):
            reader.get_tensor("big")
        with pytest.raises(errors.DataLossError, match="big"):
            reader.get_tensors(["big", "small"])


def test_a_data_file_cut_short_under_the_helpers_half_is_a_typed_error(tmp_path, spare_core):
    prefix = save_tensors(str(tmp_path / "ck"), TENSORS)
    path = prefix + ".data-00000-of-00001"
    with BundleReader(prefix) as reader:
        reader.get_tensor("small")      # the reader opens and sizes the data file
        os.truncate(path, 2 << 20)      # so reading "big" ends early, in the second half
        with pytest.raises(errors.DataLossError, match="'big'.*ended after 2097152 bytes"):
            reader.get_tensor("big")
        with pytest.raises(errors.DataLossError, match="'big'.*ended after 2097152 bytes"):
            reader.get_tensors(["big"])


@FAST
@given(a=st.binary(max_size=3000), b=st.binary(max_size=3000))
def test_crc_of_two_parts_combines_into_the_crc_of_both(a, b):
    assert crc_stream.crc32c_combine(crc32c(a), crc32c(b), len(b)) == crc32c(a + b)


def test_crc_combine_across_large_lengths():
    a, b = os.urandom(1 << 20), os.urandom((3 << 20) + 4097)
    assert crc_stream.crc32c_combine(crc32c(a), crc32c(b), len(b)) == crc32c(a + b)


@pytest.mark.parametrize("usable,others,want", [
    (2, 0.0, 2), (2, 0.4, 2), (2, 0.6, 1), (2, 2.0, 1), (1, 0.0, 1), (8, 2.2, 6),
    (8, 9.0, 1)])
def test_threads_for_leaves_other_processes_their_cores(usable, others, want):
    assert cpu_load.threads_for(usable, others) == want


def test_load_meter_reports_a_share_of_the_machine():
    meter = cpu_load.LoadMeter()
    meter.others_busy()
    meter._next = 0.0
    value = meter.others_busy()
    assert 0.0 <= value <= (os.cpu_count() or 1)
    assert 1 <= meter.free_cores() <= cpu_load.usable_cpus()
