"""`flowsaver diff`: exit codes 0/1/2, the JSON document, tolerances, NaN and infinities,
and comparisons across formats."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import flowsaver
from flowsaver.cli.diff_cmd import compare_values
from flowsaver.cli.main import main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "tf"


def cli(capsys, *argv):
    code = main(["diff", *[str(a) for a in argv]])
    out, err = capsys.readouterr()
    return code, out, err


def diff_json(capsys, *argv) -> tuple[int, dict]:
    code, out, err = cli(capsys, "--json", *argv)
    assert err == ""
    return code, json.loads(out, parse_constant=lambda c: pytest.fail(f"non-JSON {c}"))


def test_a_checkpoint_equals_itself_and_its_conversions(capsys, tmp_path):
    src = FIXTURES / "refvar"
    assert cli(capsys, src, src)[0] == 0
    flowsaver.convert(src, tmp_path / "x.safetensors")
    flowsaver.convert(src, tmp_path / "x.npz")
    code, doc = diff_json(capsys, src, tmp_path / "x.safetensors")
    assert code == 0 and doc["equal"] and doc["same"] == 4
    assert doc["kind_a"] == "V2 checkpoint" and doc["kind_b"] == "safetensors"
    code, out, _ = cli(capsys, tmp_path / "x.npz", tmp_path / "x.safetensors")
    assert code == 0 and out.endswith("equal: 4 tensors the same, 0 changed, 0 only in A, "
                                      "0 only in B\n")


def test_changed_checkpoints(capsys):
    code, doc = diff_json(capsys, FIXTURES / "refvar", FIXTURES / "resource")
    assert code == 1 and not doc["equal"]
    assert doc["only_in_a"] == []
    assert doc["only_in_b"] == ["beta1_power", "beta2_power", "model/b/Adam",
                                "model/b/Adam_1", "model/scale/Adam", "model/scale/Adam_1",
                                "model/w/Adam", "model/w/Adam_1"]
    changed = {d["name"]: d for d in doc["changed"]}
    assert sorted(changed) == ["global_step", "model/b", "model/scale", "model/w"]
    step = changed["global_step"]
    assert step["what"] == ["values"] and step["mismatched"] == 1
    assert step["max_abs_diff"] == 4.0   # 5 (refvar) vs 1 (resource)
    a = flowsaver.train.load_variable(str(FIXTURES / "refvar"), "model/w")
    b = flowsaver.train.load_variable(str(FIXTURES / "resource"), "model/w")
    expected = np.abs(a.astype(np.float64) - b.astype(np.float64))
    assert changed["model/w"]["max_abs_diff"] == pytest.approx(expected.max())
    assert changed["model/w"]["max_rel_diff"] == pytest.approx(
        (expected / np.abs(b.astype(np.float64))).max())


def test_exclude_and_tolerances(capsys, tmp_path):
    a = {"body/w": np.array([1.0, 2.0, 3.0]), "head/w": np.array([1.0])}
    b = {"body/w": np.array([1.0, 2.0 + 1e-7, 3.0]), "head/w": np.array([5.0])}
    np.savez(tmp_path / "a.npz", **a)
    np.savez(tmp_path / "b.npz", **b)
    code, doc = diff_json(capsys, tmp_path / "a.npz", tmp_path / "b.npz")
    assert code == 1 and [d["name"] for d in doc["changed"]] == ["body/w", "head/w"]
    assert cli(capsys, tmp_path / "a.npz", tmp_path / "b.npz", "--exclude", "^head/",
               "--rtol", "1e-6")[0] == 0   # "did fine-tuning touch the body?" no
    code, doc = diff_json(capsys, tmp_path / "a.npz", tmp_path / "b.npz", "--include",
                          "body", "--atol", "1e-9")
    assert code == 1 and doc["changed"][0]["mismatched"] == 1


def test_dtype_and_shape_changes(capsys, tmp_path):
    np.savez(tmp_path / "a.npz", w=np.array([0.1, 0.2], np.float32), s=np.zeros((2, 3)))
    np.savez(tmp_path / "b.npz", w=np.array([0.1, 0.2], np.float16), s=np.zeros((3, 2)))
    code, doc = diff_json(capsys, tmp_path / "a.npz", tmp_path / "b.npz")
    changed = {d["name"]: d for d in doc["changed"]}
    assert code == 1
    assert changed["w"]["what"][0] == "dtype" and changed["w"]["dtype_b"] == "float16"
    assert 0 < changed["w"]["max_abs_diff"] < 1e-3   # float16 rounding, measured
    assert changed["s"]["what"] == ["shape"] and changed["s"]["mismatched"] is None
    code, out, _ = cli(capsys, tmp_path / "a.npz", tmp_path / "b.npz")
    assert "float32 -> float16" in out and "[2, 3] -> [3, 2]" in out


def test_strings_compare_exactly(capsys, tmp_path):
    flowsaver.save_tensors(tmp_path / "a", {"s": np.array([b"x", b"y"], dtype=object)})
    flowsaver.save_tensors(tmp_path / "b", {"s": np.array([b"x", b"z"], dtype=object)})
    code, doc = diff_json(capsys, tmp_path / "a", tmp_path / "b")
    assert code == 1 and doc["changed"][0]["mismatched"] == 1
    assert doc["changed"][0]["max_abs_diff"] is None


@pytest.mark.parametrize("a,b,mismatched,max_abs", [
    ([np.nan, 1.0], [np.nan, 1.0], 0, 0.0),             # NaN equals NaN
    ([np.inf, -np.inf], [np.inf, -np.inf], 0, 0.0),     # and inf itself
    ([np.nan, 1.0], [0.0, 1.0], 1, np.inf),
    ([np.inf], [1.0], 1, np.inf),
    ([0.0], [-0.0], 0, 0.0),
])
def test_non_finite_values(a, b, mismatched, max_abs):
    got = compare_values(np.array(a), np.array(b), 0.0, 0.0)
    assert got[:2] == (mismatched, max_abs)


def test_int64_compares_exactly_beyond_float64():
    a = np.array([2 ** 62 + 1], np.int64)
    assert compare_values(a, a - 1, 0.0, 0.0)[0] == 1
    assert compare_values(a, a.copy(), 0.0, 0.0)[0] == 0


def test_relative_difference_against_zero():
    assert compare_values(np.array([1.0]), np.array([0.0]), 0, 0)[2] == np.inf
    code_doc = compare_values(np.array([2.0]), np.array([4.0]), 0, 0)
    assert code_doc == (1, 2.0, 0.5)


def test_errors_exit_2(capsys, tmp_path):
    code, out, err = cli(capsys, FIXTURES / "refvar", tmp_path / "missing")
    assert code == 2 and out == "" and "flowsaver diff: error:" in err
    code, _, err = cli(capsys, FIXTURES / "refvar", FIXTURES / "refvar", "--rtol", "-1")
    assert code == 2
