"""The runnable examples (``make demo`` runs examples/demo.py) do what they say."""
import os
import pathlib
import re
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parent.parent


def _run(script: str, *args) -> str:
    result = subprocess.run([sys.executable, str(REPO / "examples" / script), *map(str, args)],
                            capture_output=True, text=True, timeout=120,
                            env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_demo_trains_saves_restores_in_a_fresh_process_and_continues(tmp_path):
    out = _run("demo.py", tmp_path / "demo")
    assert "max_to_keep=3 kept model-120, model-160, model-200" in out
    assert "fresh process: import_meta_graph(model-200.meta), restore(model-200)" in out
    assert "(no initializer ran)" in out
    assert "kept model-160, model-200, model-220" in out
    restored = float(re.search(r"restored: loss ([0-9.]+)", out).group(1))
    epoch5 = float(re.search(r"epoch 5: loss ([0-9.]+)", out).group(1))
    assert restored == epoch5  # the restored model is the saved one
    files = sorted(p.name for p in (tmp_path / "demo").iterdir())
    assert "model-120.index" not in files and "model-220.meta" in files


def test_mixing_two_imported_models(tmp_path):
    out = _run("mix_models.py", tmp_path)
    assert "gradient of B's loss w.r.t. A's weights: gradients/A/" in out
    first, last = map(float, re.search(r"loss ([0-9.]+) -> ([0-9.]+)", out).groups())
    assert last < first / 2
    assert float(re.search(r"moved by up to ([0-9.]+)", out).group(1)) > 0


def test_fine_tuning_a_new_head(tmp_path):
    out = _run("fine_tune.py", tmp_path)
    before = float(re.search(r"before training: loss ([0-9.]+)", out).group(1))
    after = float(re.search(r"after training:  loss ([0-9.]+)", out).group(1))
    assert after < before
    assert "restored fc7 weights unchanged: True" in out


def test_train_tfrecords_writes_records_summaries_and_checkpoints(tmp_path):
    out = _run("train_tfrecords.py", tmp_path / "run", "--steps", "20")
    assert "step 20: loss" in out and "saved model-20" in out
    import flowsaver as tf
    records = sorted((tmp_path / "run" / "data").iterdir())
    assert len(records) == 2
    first = next(iter(tf.python_io.tf_record_iterator(str(records[0]), "GZIP")))
    example = tf.train.Example.FromString(first)
    assert example.features.feature["image"].bytes_list.value[0].startswith(b"\x89PNG")
    (events,) = list((tmp_path / "run" / "logs").iterdir())
    steps = [e.step for e in tf.train.summary_iterator(str(events)) if e.HasField("summary")]
    assert steps == [1, 10, 20]
    assert tf.train.latest_checkpoint(str(tmp_path / "run" / "ckpt")).endswith("model-20")


def test_many_writers_merge_into_one_checkpoint(tmp_path):
    out = _run("many_writers.py", tmp_path / "run", "--writers", "3")
    assert "merged 3 parts into" in out and "all values as written: True" in out
    files = sorted(p.name for p in (tmp_path / "run").iterdir())
    assert files == ["checkpoint", "model.ckpt-100.data-00000-of-00003",
                     "model.ckpt-100.data-00001-of-00003", "model.ckpt-100.data-00002-of-00003",
                     "model.ckpt-100.index"]
