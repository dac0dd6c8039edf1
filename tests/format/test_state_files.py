"""Checkpoint files around the state file: latest_checkpoint, existence, mtimes, removal,
and TensorFlow's glob rules (observed with TF 2.21's tf.io.gfile.glob)."""
from __future__ import annotations

import logging
import os
import shutil

import pytest

from fixture_paths import SAMPLES
from flowsaver.format import state
from flowsaver.format.state import (checkpoint_exists, get_checkpoint_mtimes, latest_checkpoint,
                                    meta_graph_filename, remove_checkpoint,
                                    update_checkpoint_state)


@pytest.mark.parametrize("sample,latest,want", [
    ("s2_refvar_momentum", None, "model-8"),
    ("s5_tf2_object", None, "ckpt-10"),
    ("s13_paths/reldir", None, "model-1"),
    ("s13_paths/absdir", None, "model-2"),
    ("s13_paths/absdir2", None, None),              # its state file is named my_state
    ("s13_paths/absdir2", "my_state", None),        # /data/runs/... is gone
    ("s16_checkpoint_save", None, "pref-2"),
    ("s1_resource_adam", None, None),
    ("s3_dtypes", None, None),                      # no state file at all
])
def test_latest_checkpoint_on_samples(sample, latest, want):
    directory = str(SAMPLES / sample)
    got = latest_checkpoint(directory, latest)
    assert got == (os.path.join(directory, want) if want else None)


def test_latest_checkpoint_logs_when_nothing_matches(tmp_path, caplog):
    update_checkpoint_state(str(tmp_path), str(tmp_path / "gone"))
    with caplog.at_level(logging.ERROR):
        assert latest_checkpoint(str(tmp_path)) is None
    assert "Couldn't match files for checkpoint " + str(tmp_path / "gone") in caplog.text


@pytest.mark.parametrize("files,model,want", [
    (["m-1.index"], "m-1", True),
    (["m-1"], "m-1", True),                        # V1 single file
    (["m-1-00000-of-00002", "m-1-00001-of-00002"], "m-1-?????-of-00002", True),
    (["m-1.data-00000-of-00001"], "m-1", False),   # data without index is no checkpoint
    (["m-1.meta"], "m-1", False),
    (["m-12.index"], "m-1?", True),                # entries are glob patterns
    ([], "m-1", False),
])
def test_exists_and_latest(tmp_path, files, model, want):
    for name in files:
        (tmp_path / name).write_bytes(b"")
    prefix = str(tmp_path / model)
    assert checkpoint_exists(prefix) == want
    update_checkpoint_state(str(tmp_path), prefix)
    assert latest_checkpoint(str(tmp_path)) == (prefix if want else None)


def test_get_checkpoint_mtimes(tmp_path):
    for name, seconds in [("a.index", 1_700_000_000), ("b", 1_600_000_000),
                          ("c.index", 1_500_000_000), ("c", 1_400_000_000)]:
        (tmp_path / name).write_bytes(b"")
        os.utime(tmp_path / name, ns=(seconds * 10**9 + 987_654_321,) * 2)
    prefixes = [str(tmp_path / p) for p in ["a", "missing", "b", "c"]]
    # Whole seconds, as TF's local file system reports; `.index` wins over the V1 file.
    assert get_checkpoint_mtimes(prefixes) == [1_700_000_000.0, 1_600_000_000.0,
                                               1_500_000_000.0]


@pytest.mark.parametrize("name,suffix,want", [
    ("/d/model-3", "meta", "/d/model-3.meta"),
    ("/d/model-00000-of-00002", "meta", "/d/model.meta"),
    ("/d/model-?????-of-00002", "meta", "/d/model.meta"),
    ("/d/model-3", "pbtxt", "/d/model-3.pbtxt"),
    ("/d/model.data-00000-of-00001", "meta", "/d/model.data.meta"),
])
def test_meta_graph_filename(name, suffix, want):
    assert meta_graph_filename(name, suffix) == want


def test_remove_checkpoint_v2(tmp_path):
    run = tmp_path / "s2"
    shutil.copytree(SAMPLES / "s2_refvar_momentum", run)
    os.chmod(run, 0o755)
    remove_checkpoint(str(run / "model-7"))
    assert sorted(os.listdir(run)) == ["checkpoint", "model-8.data-00000-of-00001",
                                       "model-8.index", "model.pbtxt", "model_cleared.pbtxt"]
    remove_checkpoint(str(run / "model-7"))  # already gone: no error


def test_remove_checkpoint_sharded(tmp_path):
    run = tmp_path / "s4"
    shutil.copytree(SAMPLES / "s4_partitioned_sharded", run)
    os.chmod(run, 0o755)
    remove_checkpoint(str(run / "sharded-1"))
    assert not [n for n in os.listdir(run) if n.startswith("sharded-1")]
    assert "partitioned.index" in os.listdir(run)


def test_remove_checkpoint_v1(tmp_path):
    for name in ["v1.ckpt", "v1.ckpt.meta", "v1.ckpt.index", "keep"]:
        (tmp_path / name).write_bytes(b"")
    remove_checkpoint(str(tmp_path / "v1.ckpt"), state.CHECKPOINT_V1)
    assert sorted(os.listdir(tmp_path)) == ["keep", "v1.ckpt.index"]


def test_remove_checkpoint_v2_leaves_v1_file(tmp_path):
    for name in ["p", "p.index", "p.data-00000-of-00001", "p.data-x", "p.meta"]:
        (tmp_path / name).write_bytes(b"")
    remove_checkpoint(str(tmp_path / "p"))
    assert sorted(os.listdir(tmp_path)) == ["p", "p.data-x"]


def test_remove_checkpoint_does_not_swallow_errors(tmp_path, monkeypatch):
    (tmp_path / "p.index").write_bytes(b"")

    def denied(path):
        raise PermissionError(13, "Permission denied", path)
    monkeypatch.setattr(os, "remove", denied)
    with pytest.raises(PermissionError):
        remove_checkpoint(str(tmp_path / "p"))


# ---- TensorFlow's glob rules --------------------------------------------------------

GLOB_FILES = ["a.index", ".hid.index", "b\\c", "x*y", "q?", "br[1]", "sub/z.index", "m-1",
              "tail\\"]
# (pattern, matches) relative to the directory holding GLOB_FILES
GLOBS = [
    ("*.index", [".hid.index", "a.index"]),      # wildcards match a leading dot
    ("?hid.index", [".hid.index"]),
    ("b\\c", []),                                # backslash escapes: this is "bc"
    ("b\\\\c", ["b\\c"]),
    ("x\\*y", ["x*y"]),
    ("q\\?", ["q?"]),
    ("br[1]", []),
    ("br\\[1]", ["br[1]"]),
    ("[!b].index", ["a.index"]),
    ("[^b].index", ["a.index"]),                 # ^ negates too
    ("m-[0-9]", ["m-1"]),
    ("m[-]1", ["m-1"]),
    ("tail\\", []),                              # a trailing backslash matches nothing
    ("*/z.index", ["sub/z.index"]),
    ("sub", ["sub"]),                            # no wildcard: itself, when it exists
    ("a.inde[", []),
    ("[z-a]1", []),
    ("nope/*", []),
]


@pytest.mark.parametrize("pattern,want", GLOBS)
def test_get_matching_files(tmp_path, pattern, want):
    (tmp_path / "sub").mkdir()
    for name in GLOB_FILES:
        (tmp_path / name).write_bytes(b"")
    assert state.get_matching_files(f"{tmp_path}/{pattern}") == [f"{tmp_path}/{w}" for w in want]


def test_get_matching_files_relative_spelling(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.index").write_bytes(b"")
    (tmp_path / "sub" / "b.index").write_bytes(b"")
    assert state.get_matching_files("*.index") == ["./a.index"]   # as TensorFlow spells it
    assert state.get_matching_files("sub/*.index") == ["sub/b.index"]
    assert state.get_matching_files("a.index") == ["a.index"]
