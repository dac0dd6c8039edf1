"""The `checkpoint` state file as written: exact text, path rules, timestamps, file names.

Golden texts are the bytes of state files real TensorFlow 2.21 wrote (tf_samples, spec
section 2); each row rebuilds one from the inputs TF's Saver or CheckpointManager had.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from fixture_paths import SAMPLES
from flowsaver.format import state
from flowsaver.format.state import (checkpoint_state_to_text, generate_checkpoint_state_proto,
                                    get_checkpoint_state, update_checkpoint_state)
from state_samples import S5_LAST, S5_TS


# (sample state file, its exact text, the inputs TF had: save_dir, model path, all paths,
#  timestamps, last_preserved_timestamp, save_relative_paths)
GOLDEN = [
    ("s2_refvar_momentum/checkpoint",
     'model_checkpoint_path: "model-8"\n'
     'all_model_checkpoint_paths: "model-7"\n'
     'all_model_checkpoint_paths: "model-8"\n',
     ("", "model-8", ["model-7", "model-8"], None, None, True)),
    ("s13_paths/reldir/checkpoint",
     'model_checkpoint_path: "model-1"\n'
     'all_model_checkpoint_paths: "model-1"\n',
     ("reldir", "reldir/model-1", ["reldir/model-1"], None, None, False)),
    ("s13_paths/absdir/checkpoint",
     'model_checkpoint_path: "model-2"\n'
     'all_model_checkpoint_paths: "model-2"\n',
     ("/data/runs/s13/absdir", "/data/runs/s13/absdir/model-2",
      ["/data/runs/s13/absdir/model-2"], None, None, True)),
    ("s13_paths/absdir2/my_state",
     'model_checkpoint_path: "/data/runs/s13/absdir2/model-3"\n'
     'all_model_checkpoint_paths: "reldir/model-1"\n'
     'all_model_checkpoint_paths: "/data/runs/s13/absdir2/model-3"\n',
     ("/data/runs/s13/absdir2", "/data/runs/s13/absdir2/model-3",
      ["reldir/model-1", "/data/runs/s13/absdir2/model-3"], None, None, False)),
    ("s1_resource_adam/checkpoint",
     'model_checkpoint_path: "/data/runs/s1/model.ckpt-3"\n'
     'all_model_checkpoint_paths: "/data/runs/s1/model.ckpt-2"\n'
     'all_model_checkpoint_paths: "/data/runs/s1/model.ckpt-3"\n',
     ("/data/runs/s1", "/data/runs/s1/model.ckpt-3",
      ["/data/runs/s1/model.ckpt-2", "/data/runs/s1/model.ckpt-3"], None, None, False)),
    ("s5_tf2_object/checkpoint",
     'model_checkpoint_path: "ckpt-10"\n'
     'all_model_checkpoint_paths: "ckpt-1"\n'
     'all_model_checkpoint_paths: "ckpt-10"\n'
     'all_model_checkpoint_timestamps: 1795236851.1850705\n'
     'all_model_checkpoint_timestamps: 1795236851.1945791\n'
     'last_preserved_timestamp: 1795236850.1551416\n',
     ("/data/runs/s5", "/data/runs/s5/ckpt-10", ["/data/runs/s5/ckpt-1", "/data/runs/s5/ckpt-10"],
      S5_TS, S5_LAST, True)),
    ("s16_checkpoint_save/checkpoint",
     'model_checkpoint_path: "pref-2"\n'
     'all_model_checkpoint_paths: "pref-2"\n',
     ("/data/runs/s16", "/data/runs/s16/pref-2", None, None, None, True)),
]
GOLDEN_IDS = [row[0] for row in GOLDEN]


def _state_proto(save_dir, model, paths, timestamps, last, relative):
    """The proto update_checkpoint_state would write, without touching the disk."""
    if relative:
        model = os.path.relpath(model, save_dir) if os.path.isabs(model) else model
        paths = [os.path.relpath(p, save_dir) if os.path.isabs(p) else p for p in paths or []]
    return generate_checkpoint_state_proto(save_dir, model, paths, timestamps, last)


@pytest.mark.parametrize("name,text,inputs", GOLDEN, ids=GOLDEN_IDS)
def test_golden_text_from_generate(name, text, inputs):
    assert checkpoint_state_to_text(_state_proto(*inputs)) == text


@pytest.mark.parametrize("name,text,inputs", GOLDEN, ids=GOLDEN_IDS)
def test_golden_text_is_the_sample_bytes(name, text, inputs):
    assert (SAMPLES / name).read_bytes() == text.encode()


@pytest.mark.parametrize("name,text,inputs", GOLDEN, ids=GOLDEN_IDS)
def test_golden_text_written_by_update(tmp_path, monkeypatch, name, text, inputs):
    save_dir, model, paths, timestamps, last, relative = inputs
    monkeypatch.chdir(tmp_path)
    # Move the run into tmp_path: absolute /data/runs/... -> tmp_path/...; relative stays.
    def moved(p):
        return str(tmp_path) + p if os.path.isabs(p) else p
    save_dir, model = moved(save_dir), moved(model)
    paths = [moved(p) for p in paths] if paths else paths
    if save_dir:
        os.makedirs(save_dir, exist_ok=True)
    latest = os.path.basename(name)
    update_checkpoint_state(save_dir, model, paths, latest_filename=latest,
                            all_model_checkpoint_timestamps=timestamps,
                            last_preserved_timestamp=last, save_relative_paths=relative)
    written = Path(save_dir or ".", latest).read_bytes()
    assert written == text.replace('"/data/runs', f'"{tmp_path}/data/runs').encode()
    assert written.endswith(b"\n")


# (save_dir, model path, all paths, save_relative_paths) -> (model entry, all entries)
PATH_RULES = [
    ("run", "run/m-1", None, False, "m-1", ["m-1"]),
    ("run", "run/m-2", ["run/m-1"], False, "m-2", ["m-1", "m-2"]),
    ("run", "other/m-1", None, False, "../other/m-1", ["../other/m-1"]),
    ("run", "/abs/m-1", ["run/m-0"], False, "/abs/m-1", ["m-0", "/abs/m-1"]),
    ("", "m-1", None, False, "m-1", ["m-1"]),
    ("/abs/run", "/abs/run/m-1", None, False, "/abs/run/m-1", ["/abs/run/m-1"]),
    ("/abs/run", "rel/m-1", None, False, "rel/m-1", ["rel/m-1"]),
    ("/abs/run", "/abs/run/m-1", None, True, "m-1", ["m-1"]),
    ("/abs/run", "/elsewhere/m-1", None, True, "../../elsewhere/m-1", ["../../elsewhere/m-1"]),
    ("/abs/run", "/abs/run/m-2", ["/abs/run/m-1", "/abs/run/m-2"], True, "m-2", ["m-1", "m-2"]),
    ("run", "run/m-1", None, True, "m-1", ["m-1"]),
]


@pytest.mark.parametrize("save_dir,model,paths,relative,want_model,want_all", PATH_RULES)
def test_path_rules(save_dir, model, paths, relative, want_model, want_all):
    got = _state_proto(save_dir, model, paths, None, None, relative)
    assert got.model_checkpoint_path == want_model
    assert list(got.all_model_checkpoint_paths) == want_all


@pytest.mark.parametrize("save_dir,model,paths,relative,want_model,want_all",
                         [r for r in PATH_RULES if r[3]])
def test_update_applies_save_relative_paths(tmp_path, monkeypatch, save_dir, model, paths,
                                            relative, want_model, want_all):
    texts = []  # the directories need not exist: capture the write instead
    monkeypatch.setattr(state.storage, "write_atomic",
                        lambda p, data, sync=False: texts.append((p, data.decode())))
    update_checkpoint_state(save_dir, model, paths, save_relative_paths=relative)
    (path, text), = texts
    assert path == os.path.join(save_dir, "checkpoint")
    assert f'model_checkpoint_path: "{want_model}"\n' in text


# (model, all paths, timestamps) -> written timestamps, or None when ValueError
TIMESTAMPS = [
    ("b", ["a"], [1.0, 2.0], [1.0, 2.0]),          # count checked after the append
    ("a", ["a"], [1.0], [1.0]),
    ("a", ["a"], [], []),                          # empty means "not given"
    ("a", ["a"], None, []),
    ("b", ["a"], [1.0], None),
    ("a", ["a"], [1.0, 2.0], None),
]


@pytest.mark.parametrize("model,paths,timestamps,want", TIMESTAMPS)
def test_timestamps_count(model, paths, timestamps, want):
    if want is None:
        with pytest.raises(ValueError, match="timestamps"):
            generate_checkpoint_state_proto("/d", model, paths, timestamps)
    else:
        got = generate_checkpoint_state_proto("/d", model, paths, timestamps)
        assert list(got.all_model_checkpoint_timestamps) == want


def test_doubles_print_as_tf_prints_them():
    got = generate_checkpoint_state_proto("/d", "/d/m", None, [1e10], 0.0)
    assert checkpoint_state_to_text(got) == ('model_checkpoint_path: "/d/m"\n'
                                             'all_model_checkpoint_paths: "/d/m"\n'
                                             "all_model_checkpoint_timestamps: 10000000000.0\n")


@pytest.mark.parametrize("paths,want", [
    (None, ["m"]),
    ([], ["m"]),
    (["a"], ["a", "m"]),
    (["m", "a"], ["m", "a", "m"]),                 # appended even when present earlier
    (["a", "m"], ["a", "m"]),
])
def test_model_path_appended_unless_last(paths, want):
    original = list(paths) if paths is not None else None
    got = generate_checkpoint_state_proto("/d", "m", paths)
    assert list(got.all_model_checkpoint_paths) == want
    assert paths == original  # the caller's list is not modified (TensorFlow's is)


@pytest.mark.parametrize("latest_filename", ["sub/state", "/abs/state", "a/"])
def test_latest_filename_with_directories_is_rejected(tmp_path, latest_filename):
    with pytest.raises(ValueError, match="path components"):
        update_checkpoint_state(str(tmp_path), str(tmp_path / "m"),
                                latest_filename=latest_filename)


@pytest.mark.parametrize("latest_filename", [None, "my_state"])
def test_state_file_may_not_be_the_model_path(tmp_path, latest_filename):
    model = str(tmp_path / (latest_filename or "checkpoint"))
    with pytest.raises(RuntimeError, match="conflicts"):
        update_checkpoint_state(str(tmp_path), model, latest_filename=latest_filename)
    assert os.listdir(tmp_path) == []


def test_custom_latest_filename(tmp_path):
    update_checkpoint_state(str(tmp_path), str(tmp_path / "m-1"), latest_filename="my_state")
    assert os.listdir(tmp_path) == ["my_state"]
    assert get_checkpoint_state(str(tmp_path)) is None
    assert get_checkpoint_state(str(tmp_path), "my_state").model_checkpoint_path == str(
        tmp_path / "m-1")
