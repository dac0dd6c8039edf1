"""Reading `checkpoint` state files: every sample TensorFlow wrote, text forms, damage."""
from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import pytest

from fixture_paths import SAMPLES
from flowsaver import errors
from flowsaver.format import state
from flowsaver.format.state import get_checkpoint_state, latest_checkpoint
from state_samples import S5_LAST, S5_TS


# (state file, latest_filename, model path, all paths), relative entries before joining
SAMPLE_STATES = [
    ("s1_resource_adam", None, "/data/runs/s1/model.ckpt-3",
     ["/data/runs/s1/model.ckpt-2", "/data/runs/s1/model.ckpt-3"]),
    ("s2_refvar_momentum", None, "model-8", ["model-7", "model-8"]),
    ("s4_partitioned_sharded", None, "/data/runs/s4/sharded-1", ["/data/runs/s4/sharded-1"]),
    ("s5_tf2_object", None, "ckpt-10", ["ckpt-1", "ckpt-10"]),
    ("s7_v1_format", None, "/data/runs/s7/v1model.ckpt", ["/data/runs/s7/v1model.ckpt"]),
    ("s8_keep_every_n_hours", None, "/data/runs/s8/m-7", ["/data/runs/s8/m-7"]),
    ("s12_dict_and_slots", None, "/data/runs/s12/all-00000042",
     ["/data/runs/s12/all-00000042"]),
    ("s13_paths/reldir", None, "model-1", ["model-1"]),
    ("s13_paths/absdir", None, "model-2", ["model-2"]),
    ("s13_paths/absdir2", "my_state", "/data/runs/s13/absdir2/model-3",
     ["reldir/model-1", "/data/runs/s13/absdir2/model-3"]),
    ("s16_checkpoint_save", None, "pref-2", ["pref-2"]),
]


def test_sample_table_covers_every_sample_state_file():
    files = {str(p.parent.relative_to(SAMPLES)) for p in SAMPLES.glob("**/checkpoint")}
    files |= {str(p.parent.relative_to(SAMPLES)) for p in SAMPLES.glob("**/my_state")}
    assert files == {row[0] for row in SAMPLE_STATES}


@pytest.mark.parametrize("sample,latest,model,paths", SAMPLE_STATES,
                         ids=[r[0] for r in SAMPLE_STATES])
def test_read_every_sample(sample, latest, model, paths):
    directory = str(SAMPLES / sample)
    got = get_checkpoint_state(directory, latest)

    def joined(p):
        return p if os.path.isabs(p) else os.path.join(directory, p)
    assert got.model_checkpoint_path == joined(model)
    assert list(got.all_model_checkpoint_paths) == [joined(p) for p in paths]
    if sample == "s5_tf2_object":
        assert list(got.all_model_checkpoint_timestamps) == S5_TS
        assert got.last_preserved_timestamp == S5_LAST


@pytest.mark.parametrize("content,model", [
    (b'model_checkpoint_path: "caf\xc3\xa9"\n', "café"),             # raw UTF-8
    (b'model_checkpoint_path: "caf\\303\\251"\n', "café"),           # octal escapes
    (b'model_checkpoint_path: "a\\"b"', 'a"b'),                       # no final newline
    (b'model_checkpoint_path: "a"\nmodel_checkpoint_path: "b"\n', "b"),  # Merge: last wins
    (b"model_checkpoint_path: 'single'\n", "single"),
    (b'# comment\nmodel_checkpoint_path:"x" all_model_checkpoint_paths: "x"', "x"),
])
def test_parse_forms(tmp_path, content, model):
    (tmp_path / "checkpoint").write_bytes(content)
    got = get_checkpoint_state(str(tmp_path))
    assert got.model_checkpoint_path == os.path.join(str(tmp_path), model)


@pytest.mark.parametrize("content", [
    b"garbage here\n",
    b'unknown_field: "x"\n',
    b'model_checkpoint_path: "\\377"\n',         # escapes to bytes that are not UTF-8
    b'model_checkpoint_path: "\xff"\n',          # raw non-UTF-8 (TF raises UnicodeDecodeError)
    b"all_model_checkpoint_timestamps: abc\n",
])
def test_unparseable_state_warns_and_returns_none(tmp_path, caplog, content):
    (tmp_path / "checkpoint").write_bytes(content)
    with caplog.at_level(logging.WARNING):
        assert get_checkpoint_state(str(tmp_path)) is None
        assert latest_checkpoint(str(tmp_path)) is None
    assert "Checkpoint ignored" in caplog.text
    assert str(tmp_path / "checkpoint") in caplog.text


def test_strict_reader_raises_data_loss(tmp_path):
    (tmp_path / "checkpoint").write_bytes(b"garbage here\n")
    with pytest.raises(errors.DataLossError, match="checkpoint"):
        state.read_checkpoint_state(str(tmp_path))


def test_state_path_is_a_directory(tmp_path, caplog):
    (tmp_path / "checkpoint").mkdir()
    with caplog.at_level(logging.WARNING):
        assert get_checkpoint_state(str(tmp_path)) is None
    assert "Checkpoint ignored" in caplog.text


@pytest.mark.parametrize("content", [b"", b'all_model_checkpoint_paths: "x"\n'])
def test_empty_model_path_raises(tmp_path, content):
    (tmp_path / "checkpoint").write_bytes(content)
    with pytest.raises(ValueError, match=re.escape(f"Invalid checkpoint state loaded from "
                                                   f"{tmp_path}")):
        get_checkpoint_state(str(tmp_path))


def test_missing_state_is_none(tmp_path):
    assert get_checkpoint_state(str(tmp_path)) is None
    assert get_checkpoint_state(str(tmp_path / "nope")) is None
    assert latest_checkpoint(str(tmp_path)) is None


@pytest.mark.parametrize("dir_arg,want", [
    ("run", "run/m-1"), ("run/", "run/m-1"), ("./run", "./run/m-1"), ("run/../run", "run/../run/m-1"),
])
def test_relative_entries_join_onto_dir_as_given(tmp_path, monkeypatch, dir_arg, want):
    monkeypatch.chdir(tmp_path)
    os.mkdir("run")
    Path("run/checkpoint").write_text('model_checkpoint_path: "m-1"\n')
    assert get_checkpoint_state(dir_arg).model_checkpoint_path == want
    assert get_checkpoint_state(Path(dir_arg)).model_checkpoint_path == os.path.join(
        str(Path(dir_arg)), "m-1")
