"""The checkpoint writer and reader take the CRC32C on a helper thread when a core is spare
and inline, piece by piece, when none is: both give the same bytes and catch the same
damage. Also the load meter's pure thread-count rule."""
from __future__ import annotations

import os

import numpy as np
import pytest

from flowsaver import errors
from flowsaver.format import background_crc, cpu_load
from flowsaver.format.bundle_read import BundleReader
from flowsaver.format.bundle_write import save_tensors

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


def test_both_crc_paths_catch_a_flipped_bit(tmp_path, spare_core):
    prefix = save_tensors(str(tmp_path / "ck"), TENSORS)
    path = prefix + ".data-00000-of-00001"
    with open(path, "r+b") as f:
        f.seek(2 << 20)
        byte = f.read(1)
        f.seek(2 << 20)
        f.write(bytes([byte[0] ^ 4]))
    with BundleReader(prefix) as reader:
        with pytest.raises(errors.DataLossError, match="big"):
            reader.get_tensor("big")
        with pytest.raises(errors.DataLossError, match="big"):
            reader.get_tensors(["big", "small"])


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
