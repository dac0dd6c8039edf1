"""Tests for resolving user-given paths to a checkpoint prefix (format/paths.py)."""
from __future__ import annotations

import logging
import re
import shutil

import pytest

from fixture_paths import SAMPLES
from flowsaver import errors
from flowsaver.format.paths import (CheckpointNotFoundError, CheckpointPrefix,
                                    resolve_checkpoint_prefix)
from flowsaver.format.state import CHECKPOINT_V1, CHECKPOINT_V2, update_checkpoint_state

V1, V2 = CHECKPOINT_V1, CHECKPOINT_V2

# (path given, prefix expected, version, warns about a relocated state entry), relative to
# the samples directory.
FORMS = [
    ("s2_refvar_momentum", "s2_refvar_momentum/model-8", V2, False),
    ("s2_refvar_momentum/", "s2_refvar_momentum/model-8", V2, False),
    ("s2_refvar_momentum/checkpoint", "s2_refvar_momentum/model-8", V2, False),
    ("s2_refvar_momentum/model-7", "s2_refvar_momentum/model-7", V2, False),
    ("s2_refvar_momentum/model-7.index", "s2_refvar_momentum/model-7", V2, False),
    ("s2_refvar_momentum/model-7.data-00000-of-00001", "s2_refvar_momentum/model-7", V2, False),
    ("s2_refvar_momentum/model-7.meta", "s2_refvar_momentum/model-7", V2, False),
    ("s4_partitioned_sharded/sharded-1.data-00001-of-00002", "s4_partitioned_sharded/sharded-1",
     V2, False),
    ("s5_tf2_object", "s5_tf2_object/ckpt-10", V2, False),
    ("s5_tf2_object/written", "s5_tf2_object/written", V2, False),
    ("s13_paths/reldir", "s13_paths/reldir/model-1", V2, False),
    ("s13_paths/absdir", "s13_paths/absdir/model-2", V2, False),
    ("s16_checkpoint_save", "s16_checkpoint_save/pref-2", V2, False),
    ("s3_dtypes/dtypes", "s3_dtypes/dtypes", V2, False),
    ("s7_v1_format/v1model.ckpt", "s7_v1_format/v1model.ckpt", V1, False),
    # Copied run directories: the state files name /data/runs/..., which is gone.
    ("s1_resource_adam", "s1_resource_adam/model.ckpt-3", V2, True),
    ("s1_resource_adam/checkpoint", "s1_resource_adam/model.ckpt-3", V2, True),
    ("s1_resource_adam/model.ckpt-2.meta", "s1_resource_adam/model.ckpt-2", V2, False),
    ("s4_partitioned_sharded", "s4_partitioned_sharded/sharded-1", V2, True),
    ("s7_v1_format", "s7_v1_format/v1model.ckpt", V1, True),
    ("s8_keep_every_n_hours", "s8_keep_every_n_hours/m-7", V2, True),
    ("s12_dict_and_slots", "s12_dict_and_slots/all-00000042", V2, True),
    ("s13_paths/absdir2/my_state", "s13_paths/absdir2/model-3", V2, True),
]


@pytest.mark.parametrize("given,prefix,version,relocated", FORMS, ids=[f[0] for f in FORMS])
def test_every_form_on_samples(monkeypatch, caplog, given, prefix, version, relocated):
    monkeypatch.chdir(SAMPLES)
    with caplog.at_level(logging.WARNING, logger="flowsaver"):
        got = resolve_checkpoint_prefix(given)
    assert got == CheckpointPrefix(prefix, version)
    assert got.is_v2 == (version == V2)
    assert ("probably copied or moved" in caplog.text) == relocated


def test_absolute_and_pathlike_inputs():
    got = resolve_checkpoint_prefix(SAMPLES / "s2_refvar_momentum")
    assert got.prefix == str(SAMPLES / "s2_refvar_momentum" / "model-8")


def test_latest_filename_for_directories():
    got = resolve_checkpoint_prefix(str(SAMPLES / "s13_paths/absdir2"), latest_filename="my_state")
    assert got.prefix == str(SAMPLES / "s13_paths/absdir2/model-3")


def _v1_table_bytes() -> bytes:
    """The smallest file that ends like an SSTable (V1 checkpoints are tables)."""
    return bytes(40) + bytes.fromhex("57fb808b247547db")


def test_v1_sharded_forms(tmp_path):
    for k in range(2):
        (tmp_path / f"v1-{k:05d}-of-00002").write_bytes(_v1_table_bytes())
    want = CheckpointPrefix(str(tmp_path / "v1-?????-of-00002"), V1)
    assert resolve_checkpoint_prefix(str(tmp_path / "v1")) == want
    assert resolve_checkpoint_prefix(str(tmp_path / "v1-00001-of-00002")) == want
    assert resolve_checkpoint_prefix(str(tmp_path / "v1-?????-of-00002")) == want
    (tmp_path / "v1.meta").write_bytes(b"")
    assert resolve_checkpoint_prefix(str(tmp_path / "v1.meta")) == want


def test_v2_takes_priority_over_a_v1_file(tmp_path):
    (tmp_path / "p").write_bytes(_v1_table_bytes())
    (tmp_path / "p.index").write_bytes(_v1_table_bytes())
    assert resolve_checkpoint_prefix(str(tmp_path / "p")) == CheckpointPrefix(
        str(tmp_path / "p"), V2)


def test_directory_whose_state_names_a_v1_file(tmp_path):
    (tmp_path / "m").write_bytes(_v1_table_bytes())
    update_checkpoint_state(str(tmp_path), str(tmp_path / "m"))
    assert resolve_checkpoint_prefix(str(tmp_path)) == CheckpointPrefix(str(tmp_path / "m"), V1)


def test_relocation_tries_older_entries(tmp_path, caplog):
    (tmp_path / "m-1.index").write_bytes(b"")
    update_checkpoint_state(str(tmp_path), "/gone/m-2", ["/gone/m-1", "/gone/m-2"])
    with caplog.at_level(logging.WARNING):
        got = resolve_checkpoint_prefix(str(tmp_path))
    assert got.prefix == str(tmp_path / "m-1")
    assert "/gone/m-2" in caplog.text and str(tmp_path / "m-1") in caplog.text


def test_no_relocation_for_relative_entries(tmp_path):
    (tmp_path / "m-1.index").write_bytes(b"")
    (tmp_path / "checkpoint").write_text('model_checkpoint_path: "sub/m-1"\n')
    with pytest.raises(CheckpointNotFoundError, match="names '.*sub/m-1', which matches no"):
        resolve_checkpoint_prefix(str(tmp_path))


def test_existing_absolute_entry_is_taken_as_written(tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "m-1.index").write_bytes(b"")
    (tmp_path / "m-1.index").write_bytes(b"")
    update_checkpoint_state(str(tmp_path), str(other / "m-1"))
    assert resolve_checkpoint_prefix(str(tmp_path)).prefix == str(other / "m-1")


# ---- errors ---------------------------------------------------------------------------

def _error(path, **kwargs) -> str:
    with pytest.raises(CheckpointNotFoundError) as info:
        resolve_checkpoint_prefix(path, **kwargs)
    assert isinstance(info.value, errors.NotFoundError)
    assert isinstance(info.value, ValueError)
    assert info.value.error_code == errors.NOT_FOUND
    return str(info.value)


def test_error_lists_every_form_tried(tmp_path):
    p = str(tmp_path / "x")
    message = _error(p)
    assert message.startswith(f"no checkpoint at '{p}': looked for ")
    for form in [f"'{p}.index' (V2 prefix)", f"'{p}' as a V1 checkpoint file",
                 f"'{p}-?????-of-?????' (V1 shards)", "a directory with a 'checkpoint' file",
                 "'.index', '.data-NNNNN-of-NNNNN' or '.meta' file", "'checkpoint' state file"]:
        assert form in message


@pytest.mark.parametrize("given,suggested", [
    ("model-9", ["model-8", "model-7"]),
    ("mdel-7", ["model-7"]),
    ("model-9.index", ["model-8", "model-7"]),
    ("model-9.data-00000-of-00001", ["model-8", "model-7"]),
    ("zzzz", []),
])
def test_error_suggests_similar_checkpoints(tmp_path, given, suggested):
    for name in ["model-7.index", "model-8.index", "other.txt"]:
        (tmp_path / name).write_bytes(b"")
    message = _error(str(tmp_path / given))
    for name in suggested:
        assert f"'{tmp_path / name}'" in message
    assert ("Did you mean" in message) == bool(suggested)


def test_error_for_missing_directory(tmp_path):
    message = _error(str(tmp_path / "nodir" / "x"))
    assert message.endswith(f"Directory '{tmp_path / 'nodir'}' does not exist")


def test_error_for_a_file_that_is_not_a_checkpoint(tmp_path):
    (tmp_path / "notes.txt").write_text("hello\n")
    assert _error(str(tmp_path / "notes.txt")).endswith(
        f"'{tmp_path / 'notes.txt'}' exists but is none of these")


def test_error_for_data_file_without_index(tmp_path):
    (tmp_path / "p.data-00000-of-00001").write_bytes(b"")
    message = _error(str(tmp_path / "p.data-00000-of-00001"))
    assert f"its index '{tmp_path / 'p.index'}' is missing" in message


def test_error_for_meta_without_checkpoint(tmp_path):
    (tmp_path / "p.meta").write_bytes(b"")
    message = _error(str(tmp_path / "p.meta"))
    assert "meta graph file" in message and f"'{tmp_path / 'p.index'}'" in message


def test_error_for_directory_without_state(tmp_path):
    (tmp_path / "a.index").write_bytes(b"")
    message = _error(str(tmp_path))
    assert message.startswith("Couldn't find 'checkpoint' file or checkpoints in given "
                              f"directory {tmp_path}")
    assert "['a']" in message


def test_error_for_empty_directory(tmp_path):
    assert _error(str(tmp_path)) == ("Couldn't find 'checkpoint' file or checkpoints in given "
                                     f"directory {tmp_path}: there is no 'checkpoint' file")


def test_error_for_unreadable_state(tmp_path):
    (tmp_path / "checkpoint").write_text("not a state\n")
    assert "file is unreadable" in _error(str(tmp_path))


def test_error_for_state_naming_nothing(tmp_path):
    update_checkpoint_state(str(tmp_path), "/gone/m-2")
    message = _error(str(tmp_path))
    assert "names '/gone/m-2', which matches no '.index' or V1 file" in message


def test_empty_model_path_in_state_is_a_value_error(tmp_path):
    (tmp_path / "checkpoint").write_text('all_model_checkpoint_paths: "x"\n')
    with pytest.raises(ValueError, match=re.escape(
            f"Invalid checkpoint state loaded from {tmp_path}")):
        resolve_checkpoint_prefix(str(tmp_path))


def test_index_file_alone_is_not_mistaken_for_v1(tmp_path):
    # An .index file is itself a table; without the "P.index" rule it would pass for V1.
    shutil.copy(SAMPLES / "s2_refvar_momentum/model-7.index", tmp_path / "m.index")
    assert resolve_checkpoint_prefix(str(tmp_path / "m.index")) == CheckpointPrefix(
        str(tmp_path / "m"), V2)
