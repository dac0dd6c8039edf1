"""`flowsaver inspect --exclude/--stats/--sort`, and `python -m flowsaver`."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import flowsaver
from flowsaver.cli.main import main
from flowsaver.cli.tensor_stats import tensor_stats

ROOT = Path(__file__).resolve().parents[2]
RESOURCE = ROOT / "tests" / "fixtures" / "tf" / "resource"


def inspect(capsys, *argv):
    code = main(["inspect", *[str(a) for a in argv]])
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    return out


def test_exclude_leaves_tensors_out_of_the_totals(capsys):
    out = inspect(capsys, RESOURCE, "--exclude", "Adam", "--exclude", "_power$")
    assert "excluding 8 tensors (22 parameters) matching Adam or _power$ from the totals" in out
    assert out.endswith("total: 4 tensors, 11 parameters, 52 bytes (52 B)\n")
    assert out.count("not counted in the totals") == 8
    doc = json.loads(inspect(capsys, RESOURCE, "--exclude", "Adam", "--json"))
    assert doc["totals"]["tensors"] == 6 and doc["totals"]["excluded_tensors"] == 6
    assert doc["totals"]["parameters"] == 13 and doc["totals"]["excluded_parameters"] == 20
    flags = {t["name"]: t["excluded_from_totals"] for t in doc["tensors"]}
    assert flags["model/w/Adam"] and not flags["model/w"]


def test_sort_by_size(capsys):
    doc = json.loads(inspect(capsys, RESOURCE, "--sort", "size", "--json"))
    sizes = [t["bytes"] for t in doc["tensors"]]
    assert sizes == sorted(sizes, reverse=True)
    assert [t["name"] for t in doc["tensors"]][:3] == ["model/w", "model/w/Adam",
                                                       "model/w/Adam_1"]
    text = inspect(capsys, RESOURCE, "--sort", "size")
    rows = [line.split()[0] for line in text.splitlines() if line.startswith(("model", "b"))]
    assert rows[0] == "model/w" and rows[-1] == "beta2_power"


def test_stats_match_numpy(capsys):
    doc = json.loads(inspect(capsys, RESOURCE, "--stats", "--json"))
    reader = flowsaver.train.load_checkpoint(str(RESOURCE))
    for item in doc["tensors"]:
        value = np.asarray(reader.get_tensor(item["name"]), dtype=np.float64)
        stats = item["stats"]
        assert stats["min"] == value.min() and stats["max"] == value.max()
        assert stats["mean"] == pytest.approx(value.mean())
        assert stats["std"] == pytest.approx(value.std())
        assert stats["nan"] == stats["inf"] == 0
    text = inspect(capsys, RESOURCE, "--stats")
    header = next(line for line in text.splitlines() if line.startswith("name"))
    assert header.split()[5:11] == ["min", "max", "mean", "std", "nan", "inf"]


def test_stats_count_nan_and_inf_and_skip_strings(capsys, tmp_path):
    flowsaver.save_tensors(tmp_path / "m", {
        "f": np.array([1.0, np.nan, np.inf, -np.inf, 3.0], np.float32),
        "s": np.array([b"x"], dtype=object), "none": np.array([np.nan])})
    doc = json.loads(inspect(capsys, tmp_path / "m", "--stats", "--json"))
    stats = {t["name"]: t["stats"] for t in doc["tensors"]}
    assert stats["f"] == {"count": 2, "min": 1.0, "max": 3.0, "mean": 2.0, "std": 1.0,
                          "nan": 1, "inf": 2}
    assert stats["s"] is None
    assert stats["none"]["count"] == 0 and stats["none"]["mean"] is None


@pytest.mark.parametrize("value", [
    np.arange(10, dtype=np.int8), np.array([True, False, True]),
    np.array([1 + 1j, np.nan + 0j, 3j], np.complex64),
    np.linspace(-1, 1, 3_000_001).astype(np.float32),   # more than one CHUNK
])
def test_tensor_stats_against_numpy(value):
    got = tensor_stats(value)
    flat = np.abs(value) if value.dtype.kind == "c" else value
    finite = flat[np.isfinite(flat)].astype(np.float64)
    assert got.count == finite.size and got.nan == int(np.isnan(value).sum())
    assert got.min == finite.min() and got.max == finite.max()
    assert got.mean == pytest.approx(finite.mean(), abs=1e-12)
    assert got.std == pytest.approx(finite.std(), rel=1e-9)


def run_module(*argv) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flowsaver", *map(str, argv)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_python_dash_m_flowsaver_is_the_command():
    done = run_module("inspect", RESOURCE, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["totals"]["tensors"] == 12
    done = run_module("diff", RESOURCE, RESOURCE.parent / "refvar")   # exit codes pass through
    assert done.returncode == 1 and "different:" in done.stdout
