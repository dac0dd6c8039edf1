"""Atomic writes (the state file's and every checkpoint file's) and their temporary names."""
from __future__ import annotations

import os
import re

import pytest

from flowsaver.format import atomic
from flowsaver.format.state import update_checkpoint_state


def test_failed_rename_keeps_old_state_and_removes_temp(tmp_path, monkeypatch):
    update_checkpoint_state(str(tmp_path), str(tmp_path / "m-1"))
    before = (tmp_path / "checkpoint").read_bytes()

    def failing_replace(src, dst):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="No space"):
        update_checkpoint_state(str(tmp_path), str(tmp_path / "m-2"))
    assert (tmp_path / "checkpoint").read_bytes() == before
    assert os.listdir(tmp_path) == ["checkpoint"]


def test_temp_name_is_dot_tmp_uuid_hex(tmp_path, monkeypatch):
    seen = []
    real_replace = os.replace

    def spy(src, dst):
        seen.append((src, dst))
        real_replace(src, dst)
    monkeypatch.setattr(os, "replace", spy)
    update_checkpoint_state(str(tmp_path), str(tmp_path / "m-1"))
    (src, dst), = seen
    assert dst == str(tmp_path / "checkpoint")
    assert re.fullmatch(re.escape(dst) + r"\.tmp[0-9a-f]{32}", src)


def test_atomic_file_error_inside_block(tmp_path):
    target = tmp_path / "x.index"
    target.write_bytes(b"old")
    with pytest.raises(KeyError):
        with atomic.atomic_file(target, "wb", atomic.tempstate_suffix) as f:
            f.write(b"new")
            raise KeyError("boom")
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["x.index"]


def test_atomic_file_text_and_suffixes(tmp_path):
    with atomic.atomic_file(tmp_path / "t", "w", ".fixed") as f:
        assert f.name == str(tmp_path / "t") + ".fixed"
        f.write("é\n")
    assert (tmp_path / "t").read_bytes() == "é\n".encode()
    assert re.fullmatch(r"\.tempstate\d+", atomic.tempstate_suffix())
    assert re.fullmatch(r"\.tmp[0-9a-f]{32}", atomic.uuid_temp_suffix())
    with pytest.raises(ValueError, match="modes"):
        with atomic.atomic_file(tmp_path / "t", "ab"):
            pass


def test_atomic_write_bytes(tmp_path):
    atomic.atomic_write_bytes(tmp_path / "b", b"\x00\x01")
    atomic.atomic_write_bytes(tmp_path / "b", b"\x02")
    assert (tmp_path / "b").read_bytes() == b"\x02"
    assert os.listdir(tmp_path) == ["b"]


HEX = "0123456789abcdef" * 2
TEMP_NAMES = [
    ("model-1.index.tempstate123", True),
    ("model-1.data-00000-of-00001.tempstate18446744073709551615", True),
    ("model-1.meta.tmp" + HEX, True),
    ("model-1.tmp" + HEX, True),                   # a V1 file's temporary
    ("model-1-00000-of-00002.tempstate7", True),   # a V1 shard's temporary
    ("model-1.index", False),
    ("model-10.index.tempstate123", False),        # another prefix
    ("model-1.ckpt.index.tempstate1", False),      # another prefix
    ("model-1.index.tmp" + HEX[:-1], False),       # 31 hex digits
    ("model-1.index.tmp" + HEX.upper(), False),
    ("model-1.index.tempstate", False),
]


def test_find_temp_files(tmp_path):
    for name, _ in TEMP_NAMES:
        (tmp_path / name).write_bytes(b"")
    want = sorted(str(tmp_path / n) for n, leftover in TEMP_NAMES if leftover)
    assert atomic.find_temp_files(tmp_path / "model-1") == want
    assert atomic.find_temp_files(tmp_path / "missing" / "model-1") == []


def test_find_temp_files_of_state_file(tmp_path):
    (tmp_path / ("checkpoint.tmp" + HEX)).write_bytes(b"")
    (tmp_path / "checkpoint").write_bytes(b"")
    assert atomic.find_temp_files(tmp_path / "checkpoint") == [
        str(tmp_path / ("checkpoint.tmp" + HEX))]


@pytest.mark.parametrize("name,want", [
    ("a.tmp" + HEX, True), ("model-10.index.tempstate123", True), ("x.tempstate0", True),
    ("a.index", False), ("a.tmp" + HEX[:-1], False), ("a.tempstate", False),
])
def test_is_temp_name(name, want):
    assert atomic.is_temp_name(name) == want
