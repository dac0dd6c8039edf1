"""``tf.io.gfile`` / ``tf.gfile`` against TensorFlow's: the same calls on the same fresh
directory tree give the same results, or errors of the same class with the same message,
and leave the same files behind."""
from __future__ import annotations

import inspect
import os

import pytest

import flowsaver as fs_tf
from flowsaver.format import gfile as ours_gfile


def _tree(root) -> None:
    os.makedirs(os.path.join(root, "d", "sub"))
    with open(os.path.join(root, "d", "a.txt"), "w") as f:
        f.write("hello\nworld\n")
    with open(os.path.join(root, "d", "sub", "b.txt"), "w") as f:
        f.write("x")


def _snapshot(root) -> dict:
    out = {}
    for directory, _, files in os.walk(root):
        rel = os.path.relpath(directory, root)
        out[rel] = None
        for name in files:
            with open(os.path.join(directory, name), "rb") as f:
                out[os.path.join(rel, name)] = f.read()
    return out


def _open_read(g, mode="r", n=-1):
    return lambda: g.GFile("d/a.txt", mode).read(n)


def _read_steps(g):
    f = g.GFile("d/a.txt")
    return [f.read(3), f.readline(), f.tell(), f.read(), f.size()]


def _seek_steps(g, *moves):
    f = g.GFile("d/a.txt", "rb")
    out = []
    for move in moves:
        f.seek(*move)
        out.append((f.tell(), f.read(2)))
    return out


def _write(g, mode, *chunks):
    def run():
        f = g.GFile("d/w.txt", mode)
        for chunk in chunks:
            f.write(chunk)
        f.close()
        return open("d/w.txt", "rb").read()
    return run


def _lazy_create(g):
    g.GFile("d/never.txt", "w").close()
    return os.path.exists("d/never.txt")


def _walk(g, top, **kw):
    return sorted((d, sorted(s), sorted(f)) for d, s, f in g.walk(top, **kw))


def _stat(g, path):
    s = g.stat(path)
    return (s.length if not s.is_directory else None, s.is_directory, s.mtime_nsec > 10**18)


# (id, function of the gfile module to call)
CASES = [
    ("exists", lambda g: [g.exists("d"), g.exists("d/a.txt"), g.exists("nope"), g.exists(b"d")]),
    ("isdir", lambda g: [g.isdir("d"), g.isdir("d/a.txt"), g.isdir("nope")]),
    ("listdir", lambda g: sorted(g.listdir("d"))),
    ("listdir_missing", lambda g: g.listdir("nope")),
    ("listdir_file", lambda g: g.listdir("d/a.txt")),
    ("remove", lambda g: g.remove("d/a.txt")),
    ("remove_missing", lambda g: g.remove("nope")),
    ("remove_directory", lambda g: g.remove("d/sub")),
    ("rmtree", lambda g: g.rmtree("d/sub")),
    ("rmtree_file", lambda g: g.rmtree("d/a.txt")),
    ("rmtree_missing", lambda g: g.rmtree("nope")),
    ("mkdir", lambda g: g.mkdir("d/new")),
    ("mkdir_existing", lambda g: [g.mkdir("d"), g.mkdir("d/a.txt")]),
    ("mkdir_no_parent", lambda g: g.mkdir("x/y")),
    ("makedirs", lambda g: g.makedirs("d/p/q/r")),
    ("makedirs_existing", lambda g: g.makedirs("d/sub")),
    ("makedirs_over_file", lambda g: g.makedirs("d/a.txt/z")),
    ("copy", lambda g: g.copy("d/a.txt", "d/c.txt")),
    ("copy_exists", lambda g: g.copy("d/a.txt", "d/sub/b.txt")),
    ("copy_overwrite", lambda g: g.copy("d/a.txt", "d/sub/b.txt", overwrite=True)),
    ("copy_missing", lambda g: g.copy("nope", "d/c.txt")),
    ("copy_onto_directory", lambda g: g.copy("d/a.txt", "d/sub", overwrite=True)),
    ("rename", lambda g: g.rename("d/a.txt", "d/z.txt")),
    ("rename_exists", lambda g: g.rename("d/a.txt", "d/sub/b.txt")),
    ("rename_overwrite", lambda g: g.rename("d/a.txt", "d/sub/b.txt", overwrite=True)),
    ("rename_missing", lambda g: g.rename("nope", "d/zz")),
    ("rename_directory", lambda g: g.rename("d/sub", "d/sub2")),
    ("rename_file_onto_directory", lambda g: g.rename("d/a.txt", "d/sub", overwrite=True)),
    ("rename_into_missing_directory", lambda g: g.rename("d/a.txt", "nodir/a")),
    ("stat_file", lambda g: _stat(g, "d/a.txt")),
    ("stat_directory", lambda g: _stat(g, "d")),
    ("stat_missing", lambda g: g.stat("nope")),
    ("glob", lambda g: sorted(g.glob("d/*"))),
    ("glob_nested", lambda g: sorted(g.glob("d/*/*.txt"))),
    ("glob_list", lambda g: sorted(g.glob(["d/*.txt", "d/sub/*"]))),
    ("glob_nothing", lambda g: g.glob("nope/*")),
    ("walk", lambda g: _walk(g, "d")),
    ("walk_bottom_up", lambda g: [d for d, _, _ in g.walk("d", topdown=False)]),
    ("walk_file", lambda g: _walk(g, "d/a.txt")),
    ("walk_missing", lambda g: _walk(g, "nope")),
    ("join", lambda g: g.join("a", "b", "c")),
    ("read_text", lambda g: _open_read(g)()),
    ("read_bytes", lambda g: _open_read(g, "rb")()),
    ("read_steps", _read_steps),
    ("readlines", lambda g: g.GFile("d/a.txt").readlines()),
    ("iterate", lambda g: list(g.GFile("d/a.txt", "rb"))),
    ("seek", lambda g: _seek_steps(g, (6,), (-3, 2), (0,), (1, 1))),
    ("seek_negative", lambda g: _seek_steps(g, (-30,))),
    ("seek_past_end", lambda g: _seek_steps(g, (30,))),
    ("read_missing", lambda g: g.GFile("nope").read()),
    ("read_directory", lambda g: g.GFile("d").read()),
    ("bad_mode", lambda g: g.GFile("d/a.txt", "x")),
    ("write_to_reader", lambda g: g.GFile("d/a.txt").write("x")),
    ("read_from_writer", lambda g: g.GFile("d/w.txt", "w").read()),
    ("write_text_and_bytes", lambda g: _write(g, "w", "abc", b"def")()),
    ("write_binary", lambda g: _write(g, "wb", b"\x00\x01")()),
    ("write_non_string", lambda g: _write(g, "w", 3)()),
    ("append", lambda g: [_write(g, "w", "abc")(), _write(g, "a", "def")()]),
    ("write_missing_directory", lambda g: g.GFile("nodir/x", "w").write("x")),
    ("write_creates_lazily", _lazy_create),
    ("read_after_close", lambda g: [g.GFile("d/a.txt").close(), _open_read(g)()]),
]


def _outcome(call, gfile_module, root):
    cwd = os.getcwd()
    os.chdir(root)
    try:
        try:
            result = ("ok", call(gfile_module))
        except Exception as exc:  # noqa: BLE001 - the class and message are compared
            result = ("error", type(exc).__name__, str(exc))
        return result, _snapshot(root)
    finally:
        os.chdir(cwd)


@pytest.mark.parametrize("name,call", CASES, ids=[c[0] for c in CASES])
def test_gfile_call_matches_tensorflow(tf, tmp_path, name, call):
    _tree(tmp_path / "tf")
    _tree(tmp_path / "ours")
    theirs = _outcome(call, tf.io.gfile, tmp_path / "tf")
    ours = _outcome(call, ours_gfile, tmp_path / "ours")
    assert ours == theirs


def _parameters(function) -> list:
    return [(p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()]


def test_names_and_signatures_match_tensorflow(tf):
    for theirs, ours in ((tf.io.gfile, fs_tf.io.gfile), (tf.compat.v1.gfile, fs_tf.gfile)):
        names = {n for n in dir(theirs) if not n.startswith("_")}
        assert names <= set(dir(ours))
        for name in names:
            a, b = getattr(theirs, name), getattr(ours, name)
            a = a.__init__ if isinstance(a, type) else a
            b = b.__init__ if isinstance(b, type) else b
            assert _parameters(a) == _parameters(b), name
    for method in ("read", "readline", "readlines", "seek", "tell", "write", "size", "flush",
                   "close", "seekable", "next"):
        assert _parameters(getattr(tf.io.gfile.GFile, method)) == \
            _parameters(getattr(fs_tf.io.gfile.GFile, method)), method


def test_tf1_names_behave_as_tensorflows(tf, tmp_path):
    _tree(tmp_path / "tf")
    _tree(tmp_path / "ours")

    def program(g):
        g.MakeDirs("d/m/n")
        g.Copy("d/a.txt", "d/m/a.txt")
        g.Rename("d/m/a.txt", "d/m/n/a.txt")
        found = (g.Exists("d/m/n/a.txt"), g.IsDirectory("d/m"), sorted(g.ListDirectory("d")),
                 sorted(g.Glob("d/m/n/*")), g.Stat("d/m/n/a.txt").length,
                 sorted((d, sorted(s), sorted(f)) for d, s, f in g.Walk("d")),
                 g.FastGFile("d/a.txt", "rb").read(), g.Open("d/a.txt").readline())
        g.Remove("d/m/n/a.txt")
        g.DeleteRecursively("d/m")
        g.MkDir("d/k")
        return found
    assert _outcome(program, fs_tf.gfile, tmp_path / "ours") == \
        _outcome(program, tf.compat.v1.gfile, tmp_path / "tf")
