"""Parity of the `checkpoint` state file with real TensorFlow, in both directions."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from flowsaver.format import state as fs
from flowsaver.format.paths import resolve_checkpoint_prefix


def _fields(ckpt):
    """The comparable content of a CheckpointState, whichever library's class it is."""
    return (ckpt.model_checkpoint_path, list(ckpt.all_model_checkpoint_paths),
            list(ckpt.all_model_checkpoint_timestamps), ckpt.last_preserved_timestamp)


# (save_dir, model path, all paths, timestamps, last_preserved_timestamp, relative);
# "{tmp}" is replaced by the test's absolute tmp_path. Relative dirs are under the cwd.
CASES = [
    ("run", "run/m-1", None, None, None, False),
    ("run", "run/m-2", ["run/m-1", "run/m-2"], None, None, False),
    ("run", "run/m-2", ["{tmp}/run/m-1"], None, None, False),
    ("{tmp}/run", "{tmp}/run/m-2", ["{tmp}/run/m-1"], None, None, False),
    ("{tmp}/run", "{tmp}/run/m-2", ["{tmp}/run/m-1", "{tmp}/run/m-2"], None, None, True),
    ("{tmp}/run", "{tmp}/run/m-1", None, [1795236851.1850705], 1795236850.1551416, True),
    ("{tmp}/run", "{tmp}/run/m-2", ["{tmp}/run/m-1"], [1.5, 1e10], 0.25, False),
    ("{tmp}/run", "{tmp}/run/caf\u00e9 \"q\"\\", None, None, None, False),
    ("{tmp}/run", "{tmp}/elsewhere/m-1", None, None, None, True),
]


def _setup(tmp_path, monkeypatch, case):
    monkeypatch.chdir(tmp_path)
    def fill(p):
        return p.replace("{tmp}", str(tmp_path)) if isinstance(p, str) else p
    save_dir, model, paths, ts, last, relative = case
    save_dir, model = fill(save_dir), fill(model)
    paths = [fill(p) for p in paths] if paths else paths
    os.makedirs(save_dir, exist_ok=True)
    for p in (paths or []) + [model]:
        os.makedirs(os.path.dirname(os.path.abspath(p)), exist_ok=True)
        Path(p + ".index").write_bytes(b"")
    return save_dir, model, paths, ts, last, relative


def _tf_update(tf, save_dir, model, paths, ts, last, relative):
    """Writes the state file with TensorFlow's own writer."""
    kwargs = dict(all_model_checkpoint_paths=list(paths) if paths else paths,
                  all_model_checkpoint_timestamps=ts, last_preserved_timestamp=last)
    if relative:  # only the internal writer (CheckpointManager's) takes the flag
        tf.__internal__.train.update_checkpoint_state(
            save_dir, model, save_relative_paths=True,
            **{**kwargs, "all_model_checkpoint_paths": list(paths or [])})
    else:
        tf.compat.v1.train.update_checkpoint_state(save_dir, model, **kwargs)


@pytest.mark.parametrize("case", CASES)
def test_tf_reads_what_flowsaver_writes(tf, tmp_path, monkeypatch, case):
    save_dir, model, paths, ts, last, relative = _setup(tmp_path, monkeypatch, case)
    fs.update_checkpoint_state(save_dir, model, paths, all_model_checkpoint_timestamps=ts,
                               last_preserved_timestamp=last, save_relative_paths=relative)
    for directory in (save_dir, os.path.abspath(save_dir)):
        assert _fields(tf.train.get_checkpoint_state(directory)) == _fields(
            fs.get_checkpoint_state(directory))
        assert tf.train.latest_checkpoint(directory) == fs.latest_checkpoint(directory)
        # A backslash is a glob escape, so such a path never matches its own files.
        assert (fs.latest_checkpoint(directory) is None) == ("\\" in model)


@pytest.mark.parametrize("case", CASES)
def test_flowsaver_reads_and_writes_what_tf_writes(tf, tmp_path, monkeypatch, case):
    save_dir, model, paths, ts, last, relative = _setup(tmp_path, monkeypatch, case)
    state_file = Path(save_dir, "checkpoint")
    _tf_update(tf, save_dir, model, paths, ts, last, relative)
    tf_bytes = state_file.read_bytes()
    assert _fields(fs.get_checkpoint_state(save_dir)) == _fields(
        tf.train.get_checkpoint_state(save_dir))
    assert fs.latest_checkpoint(save_dir) == tf.train.latest_checkpoint(save_dir)
    state_file.unlink()
    fs.update_checkpoint_state(save_dir, model, paths, all_model_checkpoint_timestamps=ts,
                               last_preserved_timestamp=last, save_relative_paths=relative)
    assert state_file.read_bytes() == tf_bytes


@pytest.mark.parametrize("save_dir,model,paths,ts", [
    ("/d", "/d/m", ["/d/a"], [1.0]),               # 2 paths after the append, 1 timestamp
    ("/d", "/d/m", ["/d/m"], [1.0, 2.0]),
])
def test_timestamp_count_errors_match(tf, save_dir, model, paths, ts):
    with pytest.raises(ValueError):
        tf.compat.v1.train.generate_checkpoint_state_proto(save_dir, model, list(paths), ts)
    with pytest.raises(ValueError):
        fs.generate_checkpoint_state_proto(save_dir, model, paths, ts)


@pytest.mark.parametrize("latest_filename", [None, "my_state"])
def test_collision_errors_match(tf, tmp_path, latest_filename):
    model = str(tmp_path / (latest_filename or "checkpoint"))
    with pytest.raises(RuntimeError):
        tf.compat.v1.train.update_checkpoint_state(str(tmp_path), model,
                                                   latest_filename=latest_filename)
    with pytest.raises(RuntimeError):
        fs.update_checkpoint_state(str(tmp_path), model, latest_filename=latest_filename)


@pytest.mark.parametrize("content", [b"garbage\n", b'model_checkpoint_path: "\\377"\n',
                                     b'model_checkpoint_path: "caf\\303\\251"\n',
                                     b'model_checkpoint_path: "caf\xc3\xa9"\n'])
def test_parse_results_match(tf, tmp_path, content):
    (tmp_path / "checkpoint").write_bytes(content)
    theirs, ours = tf.train.get_checkpoint_state(str(tmp_path)), fs.get_checkpoint_state(
        str(tmp_path))
    assert (theirs is None) == (ours is None)
    if ours is not None:
        assert _fields(ours) == _fields(theirs)


def test_known_difference_raw_non_utf8(tf, tmp_path):
    # TensorFlow decodes the file before parsing and lets UnicodeDecodeError escape;
    # flowsaver treats it like any other unparseable state file: a warning and None.
    (tmp_path / "checkpoint").write_bytes(b'model_checkpoint_path: "\xff"\n')
    with pytest.raises(UnicodeDecodeError):
        tf.train.get_checkpoint_state(str(tmp_path))
    assert fs.get_checkpoint_state(str(tmp_path)) is None


def test_exists_and_mtimes_match(tf, tmp_path):
    for name, seconds in [("v2.index", 1_700_000_000), ("v1", 1_600_000_000),
                          ("sh-00000-of-00002", 1_500_000_000), ("data.data-00000-of-00001", 1)]:
        (tmp_path / name).write_bytes(b"")
        os.utime(tmp_path / name, ns=(seconds * 10**9 + 123_456_789,) * 2)
    prefixes = [str(tmp_path / p) for p in ["v2", "v1", "sh-?????-of-00002", "data", "none",
                                             "v?"]]
    v1 = tf.compat.v1.train
    assert [fs.checkpoint_exists(p) for p in prefixes] == [v1.checkpoint_exists(p)
                                                           for p in prefixes]
    assert fs.get_checkpoint_mtimes(prefixes) == v1.get_checkpoint_mtimes(prefixes)


GLOB_FILES = ["a.index", ".hid.index", "b\\c", "x*y", "q?", "br[1]", "\u00e91", "sub/z.index",
              "m-1", "A1", "tail\\"]
GLOB_PATTERNS = ["*.index", "?hid.index", "b\\c", "b\\\\c", "x\\*y", "x*y", "q\\?", "br[1]",
                 "br\\[1]", "[ab].index", "[!b].index", "[^b].index", "\u00e9?", "*/z.index",
                 "sub/*", "*", "m-[0-9]", "[a-z]1", "tail\\", "tail\\\\", "nonexist", "sub",
                 "[]", "[", "a.inde[", "[z-a]1", "[]]", "br[[]1]", "[\\]]", "*/*", "nope/*",
                 "a.index/*", "su[b]/z.index", "m[-]1", "m[!a-z]1", "sub//z.index"]


def test_glob_semantics_match(tf, tmp_path, monkeypatch):
    (tmp_path / "sub").mkdir()
    for name in GLOB_FILES:
        (tmp_path / name).write_bytes(b"")
    for pattern in GLOB_PATTERNS:
        absolute = str(tmp_path / pattern)
        assert fs.get_matching_files(absolute) == sorted(tf.io.gfile.glob(absolute)), pattern
    monkeypatch.chdir(tmp_path)
    for pattern in ["*.index", "sub/*", "*/z.index", "a.index", "[ab].index"]:
        assert fs.get_matching_files(pattern) == sorted(tf.io.gfile.glob(pattern)), pattern


def test_remove_checkpoint_matches(tf, tmp_path):
    names = ["p.index", "p.data-00000-of-00002", "p.data-00001-of-00002", "p.meta", "p",
             "p.data-x", "q.index"]
    results = []
    for remove in (tf.compat.v1.train.remove_checkpoint, fs.remove_checkpoint):
        for name in names:
            (tmp_path / name).write_bytes(b"")
        remove(str(tmp_path / "p"))
        results.append(sorted(os.listdir(tmp_path)))
    assert results[0] == results[1] == ["p", "p.data-x", "q.index"]


def test_tf2_checkpoint_manager_state(tf, tmp_path):
    ckpt = tf.train.Checkpoint(v=tf.Variable(1.0))
    manager = tf.train.CheckpointManager(ckpt, str(tmp_path), max_to_keep=2)
    for _ in range(3):
        manager.save()
    theirs = tf.train.get_checkpoint_state(str(tmp_path))
    assert _fields(fs.get_checkpoint_state(str(tmp_path))) == _fields(theirs)
    assert fs.latest_checkpoint(str(tmp_path)) == tf.train.latest_checkpoint(str(tmp_path))
    got = resolve_checkpoint_prefix(str(tmp_path))
    assert got.prefix == manager.latest_checkpoint and got.is_v2
    # Rewriting the same content with flowsaver gives TF's bytes.
    tf_bytes = (tmp_path / "checkpoint").read_bytes()
    fs.update_checkpoint_state(str(tmp_path), theirs.model_checkpoint_path,
                               list(theirs.all_model_checkpoint_paths),
                               all_model_checkpoint_timestamps=list(
                                   theirs.all_model_checkpoint_timestamps),
                               last_preserved_timestamp=theirs.last_preserved_timestamp,
                               save_relative_paths=True)
    assert (tmp_path / "checkpoint").read_bytes() == tf_bytes


def test_tf2_checkpoint_save_resolves(tf, tmp_path):
    ckpt = tf.train.Checkpoint(v=tf.Variable(2.0))
    first = ckpt.save(str(tmp_path / "pref"))
    second = ckpt.save(str(tmp_path / "pref"))
    assert fs.latest_checkpoint(str(tmp_path)) == tf.train.latest_checkpoint(str(tmp_path))
    assert resolve_checkpoint_prefix(str(tmp_path)).prefix == second
    assert resolve_checkpoint_prefix(first + ".index").prefix == first
