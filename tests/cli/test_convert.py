"""`flowsaver convert` and flowsaver.convert(): every source kind into every target, the
options, and the errors. Values are checked against the checkpoint reader (which the
interop tests check against TensorFlow) and against NumPy, safetensors and torch."""
from __future__ import annotations

import io
import sys
import time
from pathlib import Path

import ml_dtypes
import numpy as np
import pytest
import safetensors.numpy as st_numpy
from safetensors import safe_open

import flowsaver
from flowsaver import errors
from flowsaver.cli.main import main
from flowsaver.cli.progress import Progress
from flowsaver.format.reader import CheckpointReader
from flowsaver.format.tensor_sources import as_array

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "tf"
CHECKPOINTS = {   # fixture -> (path given, tensors the default conversion writes)
    "refvar": FIXTURES / "refvar",
    "partitioned": FIXTURES / "partitioned" / "model.ckpt",
    "sharded": FIXTURES / "sharded" / "model.ckpt-3.index",
    "v1": FIXTURES / "v1" / "model.ckpt",
}


def cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def reader_values(path) -> dict:
    with CheckpointReader(str(path)) as reader:
        return {n: as_array(reader.get_tensor(n)) for n in reader.names()}


def assert_same(got: dict, want: dict) -> None:
    assert sorted(got) == sorted(want)
    for name, value in want.items():
        assert got[name].dtype == value.dtype, name
        assert got[name].shape == value.shape, name
        assert got[name].tolist() == value.tolist(), name


@pytest.mark.parametrize("fixture", sorted(CHECKPOINTS))
@pytest.mark.parametrize("suffix", [".safetensors", ".npz", ".pt", "_bundle"])
def test_checkpoints_convert_to_every_format(capsys, tmp_path, fixture, suffix):
    src = CHECKPOINTS[fixture]
    dst = tmp_path / f"out{suffix}"
    code, out, err = cli(capsys, "convert", src, dst, "--skip-unsupported")
    assert (code, err) == (0, "")
    want = reader_values(src)
    skipped = {n for n, v in want.items() if v.dtype == object} \
        if suffix in (".safetensors", ".pt") else set()
    for name in skipped:
        assert f"skipped {name}: string cannot be stored" in out
        del want[name]
    assert_same(dict(flowsaver.iter_tensors(dst)), want)
    assert f"wrote {len(want)} tensor" in out


def test_safetensors_metadata_records_the_source(capsys, tmp_path):
    dst = tmp_path / "m.safetensors"
    code, _, _ = cli(capsys, "convert", CHECKPOINTS["refvar"], dst, "--metadata", "format=pt")
    assert code == 0
    with safe_open(str(dst), "np") as f:
        meta = f.metadata()
    assert meta["source"] == str(CHECKPOINTS["refvar"])
    assert meta["source_format"] == "V2 checkpoint"
    assert meta["converted_by"].startswith("flowsaver")
    assert meta["format"] == "pt"


def test_strings_are_an_error_naming_them_without_skip(capsys, tmp_path):
    code, out, err = cli(capsys, "convert", CHECKPOINTS["v1"], tmp_path / "x.safetensors")
    assert code == 2 and out == ""
    assert "'text' (string cannot be stored in safetensors)" in err
    assert "--skip-unsupported" in err
    assert not (tmp_path / "x.safetensors").exists()


def test_include_exclude_rename(capsys, tmp_path):
    src = FIXTURES / "resource"
    dst = tmp_path / "x.npz"
    code, out, _ = cli(capsys, "convert", src, dst, "--exclude", "Adam", "--exclude",
                       "power|global_step", "--rename", r"^model/=encoder.", "--rename",
                       "/=.", "-v")
    assert code == 0 and "left out 9 tensors" in out
    got = dict(np.load(dst))
    assert sorted(got) == ["encoder.b", "encoder.scale", "encoder.w"]
    assert "encoder.w  float32 [2, 3] <- model/w" in out
    only_w = tmp_path / "w.npz"
    assert cli(capsys, "convert", src, only_w, "--include", "^model/w$")[0] == 0
    assert list(np.load(only_w)) == ["model/w"]


def test_a_directory_is_not_a_prefix(capsys, tmp_path):
    code, _, err = cli(capsys, "convert", FIXTURES / "refvar", tmp_path)
    assert code == 2 and "model.ckpt" in err and list(tmp_path.iterdir()) == []


def test_rename_collision_and_bad_regex(capsys, tmp_path):
    code, _, err = cli(capsys, "convert", FIXTURES / "refvar", tmp_path / "x.npz",
                       "--rename", "^.*$=same")
    assert code == 2 and "would both be written as 'same'" in err
    code, _, err = cli(capsys, "convert", FIXTURES / "refvar", tmp_path / "x.npz",
                       "--exclude", "(")
    assert code == 2 and "exclude pattern '('" in err


@pytest.mark.parametrize("dtype,numpy_type", [("float16", np.float16),
                                              ("bfloat16", ml_dtypes.bfloat16),
                                              ("float32", np.float32)])
def test_dtype_casts_floating_tensors_only(tmp_path, dtype, numpy_type):
    dst = tmp_path / "x_bundle"
    result = flowsaver.convert(FIXTURES / "refvar", dst, dtype=dtype)
    got = dict(flowsaver.iter_tensors(dst))
    want = reader_values(FIXTURES / "refvar")
    assert got["global_step"].dtype == np.int64   # integers keep their type
    for name in ("model/w", "model/b", "model/scale"):
        assert got[name].dtype == numpy_type
        np.testing.assert_array_equal(got[name], want[name].astype(numpy_type))
    assert {p.name: p.dtype.name for p in result.written}["model/scale"] == dtype


def test_transpose(tmp_path):
    src = tmp_path / "src.npz"
    kernel = np.arange(6, dtype=np.float32).reshape(2, 3)
    conv = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)
    np.savez(src, **{"dense/kernel": kernel, "conv/kernel": conv, "bias": np.ones(3)})
    dst = tmp_path / "dst.npz"
    flowsaver.convert(src, dst, transpose=["dense/kernel", "conv/kernel=3,2,0,1"],
                      dtype="float16")
    got = dict(np.load(dst))
    np.testing.assert_array_equal(got["dense/kernel"], kernel.T.astype(np.float16))
    np.testing.assert_array_equal(got["conv/kernel"],
                                  conv.transpose(3, 2, 0, 1).astype(np.float16))
    np.testing.assert_array_equal(got["bias"], np.ones(3, np.float16))
    with pytest.raises(errors.InvalidArgumentError, match="rank 2"):
        flowsaver.convert(src, dst, transpose="dense/kernel=1,0,2")


def test_large_tensor_goes_through_in_pieces(tmp_path, monkeypatch):
    """Cast and transposed tensors are written in pieces, each within PIECE_BYTES."""
    from flowsaver.cli import convert as convert_module
    monkeypatch.setattr(convert_module, "PIECE_BYTES", 4096)
    value = np.random.default_rng(0).standard_normal((300, 70)).astype(np.float32)
    np.savez(tmp_path / "src.npz", w=value)
    flowsaver.convert(tmp_path / "src.npz", tmp_path / "a.safetensors", dtype="float16",
                      transpose="w")
    got = st_numpy.load_file(str(tmp_path / "a.safetensors"))["w"]
    np.testing.assert_array_equal(got, value.T.astype(np.float16))
    sizes = []
    real = convert_module.pieces

    def spy(array, planned):
        for piece in real(array, planned):
            sizes.append(piece.nbytes)
            yield piece
    monkeypatch.setattr(convert_module, "pieces", spy)
    flowsaver.convert(tmp_path / "src.npz", tmp_path / "b.npz", dtype="float64")
    assert len(sizes) > 10 and max(sizes) <= 4096


def test_tf2_names_option(capsys, tmp_path):
    dst = tmp_path / "x.safetensors"
    code, _, _ = cli(capsys, "convert", FIXTURES / "tf2_object" / "slots", dst,
                     "--names", "path", "--exclude", "OPTIMIZER_SLOT")
    assert code == 0
    assert sorted(st_numpy.load_file(str(dst))) == [
        "model/bias", "model/kernel", "optimizer/beta1_power", "optimizer/beta2_power"]


def test_pytorch_round_trip(tmp_path):
    import torch   # a test dependency; see pyproject.toml
    state = {"linear.weight": torch.randn(4, 3), "linear.bias": torch.zeros(4),
             "emb": torch.arange(6, dtype=torch.bfloat16).reshape(2, 3),
             "steps": torch.tensor(5, dtype=torch.int64), "mask": torch.tensor([True])}
    torch.save({"state_dict": state, "epoch": 3}, tmp_path / "model.pt")
    flowsaver.convert(tmp_path / "model.pt", tmp_path / "ckpt", rename=r"^state_dict\.=")
    back = flowsaver.convert(tmp_path / "ckpt", tmp_path / "again.pth")
    assert back.target_kind == "PyTorch state dict"
    loaded = torch.load(tmp_path / "again.pth", weights_only=True)
    assert sorted(loaded) == sorted(state)
    for name, tensor in state.items():
        assert loaded[name].dtype == tensor.dtype
        assert torch.equal(loaded[name], tensor)


class Payload:   # any class outside torch's weights_only allow list
    pass


def test_pytorch_files_are_loaded_weights_only(tmp_path):
    import torch
    torch.save({"x": Payload()}, tmp_path / "evil.pt")
    with pytest.raises(errors.DataLossError, match="weights_only=True"):
        flowsaver.convert(tmp_path / "evil.pt", tmp_path / "out.npz")


def test_missing_torch_names_the_extra(capsys, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)   # import torch now fails
    code, _, err = cli(capsys, "convert", FIXTURES / "refvar", tmp_path / "x.pt")
    assert code == 2 and "pip install 'flowsaver[torch]'" in err


def test_save_tensors_api(tmp_path):
    tensors = {"w": np.ones((2, 2), np.float32), "name": b"abc", "n": 3}
    prefix = flowsaver.save_tensors(tmp_path / "ckpt", tensors)
    with CheckpointReader(prefix) as reader:
        assert reader.get_tensor("name") == b"abc" and reader.get_tensor("n") == 3
    path = flowsaver.save_tensors(tmp_path / "x.safetensors", {"w": tensors["w"]},
                                  metadata={"a": "b"})
    np.testing.assert_array_equal(st_numpy.load_file(path)["w"], tensors["w"])
    with pytest.raises(errors.InvalidArgumentError, match="'name'"):
        flowsaver.save_tensors(tmp_path / "y.safetensors", tensors)


def test_quiet_prints_nothing_and_to_overrides_the_suffix(capsys, tmp_path):
    dst = tmp_path / "weights.bin"
    code, out, err = cli(capsys, "convert", FIXTURES / "refvar", dst, "--to", "npz", "-q")
    assert (code, out, err) == (0, "", "")
    assert sorted(np.load(dst, allow_pickle=False).files) == sorted(
        reader_values(FIXTURES / "refvar"))


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_shows_only_on_a_terminal_for_long_jobs(monkeypatch):
    from flowsaver.cli import progress as progress_module
    monkeypatch.setitem(sys.modules, "tqdm", None)   # the plain one-line bar
    quick = FakeTTY()
    bar = Progress(stream=quick)
    bar.start(100)
    bar.update(100, "w")
    bar.close()
    assert quick.getvalue() == ""   # done before SHOW_AFTER
    monkeypatch.setattr(progress_module, "SHOW_AFTER", 0.0)
    slow = FakeTTY()
    bar = Progress(stream=slow)
    bar.start(200 << 20)
    bar.update(100 << 20, "model/w")
    bar.close()
    assert "[###############...............]  50% 100.0 MiB of 200.0 MiB model/w" in \
        slow.getvalue()
    pipe = io.StringIO()
    bar = Progress(stream=pipe)
    bar.start(100)
    bar.update(100)
    assert pipe.getvalue() == ""   # never on a pipe or file


def test_progress_uses_tqdm_when_installed(monkeypatch):
    import tqdm  # noqa: F401  (a test dependency: this test fails, never skips, without it)
    from flowsaver.cli import progress as progress_module
    monkeypatch.setattr(progress_module, "SHOW_AFTER", 0.0)
    screen = FakeTTY()
    bar = Progress(stream=screen)
    bar.start(200 << 20)
    bar.update(50 << 20, "model/v")
    time.sleep(0.2)                      # past tqdm's minimum redraw interval
    bar.update(50 << 20, "model/w")
    bar.close()
    shown = screen.getvalue()
    assert "converting" in shown and "100M/200M" in shown, shown
    assert "[###" not in shown    # tqdm's bar, not the plain one
