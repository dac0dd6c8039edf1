"""Tests for the `checkpoint` state file and the atomic write helper.

Golden texts are the bytes of state files real TensorFlow 2.21 wrote (tf_samples, spec
section 2); each row rebuilds one from the inputs TF's Saver or CheckpointManager had.
"""
from __future__ import annotations

import logging
import os
import re
import shutil
from pathlib import Path

import pytest

from flowsaver import errors
from flowsaver.format import atomic, state
from flowsaver.format.state import (checkpoint_exists, checkpoint_state_to_text,
                                    generate_checkpoint_state_proto, get_checkpoint_mtimes,
                                    get_checkpoint_state, latest_checkpoint,
                                    meta_graph_filename, remove_checkpoint,
                                    update_checkpoint_state)

SAMPLES = Path(__file__).resolve().parent / "fixtures" / "tf_samples"

S5_TS = [1795236851.1850705, 1795236851.1945791]
S5_LAST = 1795236850.1551416

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
    monkeypatch.setattr(state, "atomic_write_text", lambda p, t: texts.append((p, t)))
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


# ---- atomic writes -------------------------------------------------------------------

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


# ---- reading -------------------------------------------------------------------------

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


# ---- latest_checkpoint, exists, mtimes, remove --------------------------------------

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


# ---- TensorFlow's glob rules (observed with TF 2.21's tf.io.gfile.glob) ---------------

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
