"""gfile through the file-system registry: a scheme registered with a FileSystem of its own
gets every gfile call (the hook the storage layer uses), unknown schemes are refused with
a typed error, and files move between file systems."""
from __future__ import annotations

import fnmatch
import io
import posixpath

import pytest

from flowsaver import errors, gfile as tf1_gfile
from flowsaver.format import gfile, schemes
from flowsaver.format.filesystems import FileStatistics, FileSystem


class _Buffer(io.BytesIO):
    def __init__(self, store, path, initial=b""):
        super().__init__(initial)
        self._store, self._path = store, path
        self.seek(0, io.SEEK_END)

    def close(self):
        self._store[self._path] = self.getvalue()
        super().close()

    def flush(self):
        self._store[self._path] = self.getvalue()


class MemoryFileSystem(FileSystem):
    """Files as a dict of bytes, directories as a set: enough to drive gfile."""

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.dirs: set[str] = {"mem://"}

    def open(self, path, mode):
        if mode == "rb":
            if path not in self.files:
                raise errors.NotFoundError(f"{path}; No such file or directory")
            return io.BytesIO(self.files[path])
        if posixpath.dirname(path) not in self.dirs and posixpath.dirname(path) != "mem:":
            raise errors.NotFoundError(f"{path}; No such file or directory")
        return _Buffer(self.files, path, self.files.get(path, b"") if "a" in mode else b"")

    def stat(self, path):
        if path in self.files:
            return FileStatistics(len(self.files[path]), 0, False)
        if path in self.dirs:
            return FileStatistics(0, 0, True)
        raise errors.NotFoundError(f"{path}; No such file or directory")

    def listdir(self, path):
        return sorted(posixpath.basename(p) for p in self.files.keys() | self.dirs
                      if posixpath.dirname(p) == path)

    def mkdir(self, path):
        self.dirs.add(path)

    def remove(self, path):
        del self.files[path]

    def rmtree(self, path):
        for p in [p for p in self.files if p.startswith(path + "/")]:
            del self.files[p]
        self.dirs = {d for d in self.dirs if d != path and not d.startswith(path + "/")}

    def rename(self, src, dst):
        self.files[dst] = self.files.pop(src)

    def glob(self, pattern):
        return sorted(p for p in self.files if fnmatch.fnmatch(p, pattern))


@pytest.fixture
def memory():
    fs = MemoryFileSystem()
    schemes.register_filesystem("mem", fs)
    yield fs
    del schemes._REGISTRY["mem"]


def test_registered_scheme_gets_every_call(memory):
    assert "mem" in gfile.get_registered_schemes()
    gfile.makedirs("mem://bucket/run/1")
    assert {"mem://bucket", "mem://bucket/run", "mem://bucket/run/1"} <= memory.dirs
    with gfile.GFile("mem://bucket/run/1/a.txt", "w") as f:
        f.write("line one\n")
        f.write(b"line two\n")
    with gfile.GFile("mem://bucket/run/1/a.txt", "a") as f:
        f.write("three")
    assert memory.files["mem://bucket/run/1/a.txt"] == b"line one\nline two\nthree"
    assert gfile.GFile("mem://bucket/run/1/a.txt").readlines() == \
        ["line one\n", "line two\n", "three"]
    assert gfile.exists("mem://bucket/run/1/a.txt") and gfile.isdir("mem://bucket/run")
    assert gfile.stat("mem://bucket/run/1/a.txt").length == 23
    assert gfile.listdir("mem://bucket/run/1") == ["a.txt"]
    assert gfile.glob("mem://bucket/*/1/*.txt") == ["mem://bucket/run/1/a.txt"]
    assert gfile.join("mem://bucket", "run", "x") == "mem://bucket/run/x"
    gfile.copy("mem://bucket/run/1/a.txt", "mem://bucket/run/1/b.txt")
    with pytest.raises(errors.AlreadyExistsError, match="file already exists"):
        gfile.rename("mem://bucket/run/1/a.txt", "mem://bucket/run/1/b.txt")
    gfile.rename("mem://bucket/run/1/a.txt", "mem://bucket/run/1/b.txt", overwrite=True)
    assert list(gfile.walk("mem://bucket")) == [
        ("mem://bucket", ["run"], []), ("mem://bucket/run", ["1"], []),
        ("mem://bucket/run/1", [], ["b.txt"])]
    gfile.rmtree("mem://bucket/run")
    assert not gfile.exists("mem://bucket/run/1/b.txt")


def test_files_cross_between_file_systems(memory, tmp_path):
    local = tmp_path / "x.bin"
    local.write_bytes(b"\x00\x01" * 1000)
    tf1_gfile.Copy(str(local), "mem://x.bin")
    assert memory.files["mem://x.bin"] == local.read_bytes()
    tf1_gfile.Rename("mem://x.bin", str(tmp_path / "y.bin"))
    assert (tmp_path / "y.bin").read_bytes() == local.read_bytes()
    assert "mem://x.bin" not in memory.files


def test_unknown_scheme_is_a_typed_error():
    with pytest.raises(errors.UnimplementedError, match="nosuch://b/k: no file system is "
                                                        "known for protocol 'nosuch'"):
        gfile.exists("nosuch://b/k")
    with pytest.raises(errors.UnimplementedError):
        gfile.GFile("nosuch://b/k").read()


def test_other_urls_go_to_the_object_stores():
    url = "memory://gfile-test/run"
    with gfile.GFile(url + "/a.txt", "w") as f:
        f.write("one\n")
    with gfile.GFile(url + "/a.txt", "a") as f:
        f.write(b"two\n")
    assert gfile.GFile(url + "/a.txt").readlines() == ["one\n", "two\n"]
    assert gfile.listdir(url) == ["a.txt"] and gfile.isdir(url)
    assert gfile.glob(url + "/*.txt") == [url + "/a.txt"]
    gfile.copy(url + "/a.txt", url + "/b.txt")
    with pytest.raises(errors.AlreadyExistsError):
        gfile.rename(url + "/a.txt", url + "/b.txt")
    gfile.rename(url + "/a.txt", url + "/c.txt")
    assert gfile.stat(url + "/c.txt").length == 8 and not gfile.exists(url + "/a.txt")
    with pytest.raises(errors.NotFoundError, match="a.txt; No such file"):
        gfile.remove(url + "/a.txt")
    gfile.rmtree(url)
    assert not gfile.exists(url + "/b.txt")


def test_register_needs_a_file_system():
    with pytest.raises(TypeError, match="FileSystem"):
        schemes.register_filesystem("bad", object())


@pytest.mark.parametrize("path,scheme", [("s3://b/k", "s3"), ("/a/b", ""), ("a://", "a"),
                                         ("file:///x", "file"), ("dir/x://y", ""), ("://x", "")])
def test_scheme_of(path, scheme):
    assert schemes.scheme_of(path) == scheme


def test_file_urls_are_local(tmp_path):
    (tmp_path / "f").write_text("hi")
    assert gfile.GFile(f"file://{tmp_path}/f").read() == "hi"
    assert gfile.is_local(str(tmp_path)) and gfile.is_local(f"file://{tmp_path}")


def test_text_reads_keep_multibyte_characters_whole(tmp_path):
    (tmp_path / "u.txt").write_text("héllo wörld", encoding="utf-8")
    f = gfile.GFile(str(tmp_path / "u.txt"))
    assert f.read(2) + f.read(3) + f.read() == "héllo wörld"


def test_os_errors_become_tensorflow_errors(tmp_path):
    (tmp_path / "ro").mkdir()
    (tmp_path / "ro" / "f").write_text("x")
    with pytest.raises(errors.FailedPreconditionError, match="Is a directory"):
        gfile.GFile(str(tmp_path / "ro")).read()
    with pytest.raises(errors.NotFoundError, match=r"missing; No such file"):
        gfile.GFile(str(tmp_path / "missing")).read()
    with pytest.raises(errors.InvalidArgumentError, match="whence"):
        gfile.GFile(str(tmp_path / "ro" / "f")).seek(0, 7)
