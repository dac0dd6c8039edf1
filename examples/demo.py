"""The format layer end to end: write a checkpoint from NumPy arrays, read it back.

Run as ``python examples/demo.py OUTDIR`` (``make demo`` does, then inspects OUTDIR).
No TensorFlow is needed; TensorFlow can load what this writes with
``tf.train.load_checkpoint(OUTDIR)``.
"""
from __future__ import annotations

import os
import shutil
import sys

import ml_dtypes
import numpy as np

import flowsaver as tf
from flowsaver.format.bundle_write import BundleWriter
from flowsaver.format.slices import TensorSlice


def model_weights(step: int) -> dict[str, np.ndarray]:
    """A small MLP's variables, as a TF1 Saver would name them."""
    rng = np.random.default_rng(step)
    return {
        "dense/kernel": rng.standard_normal((8, 16)).astype(np.float32),
        "dense/bias": np.zeros(16, np.float32),
        "logits/kernel": rng.standard_normal((16, 3)).astype(np.float32),
        "logits/bias": np.full(3, 0.1, np.float32),
        "logits/kernel/Adam": np.zeros((16, 3), ml_dtypes.bfloat16),
        "global_step": np.int64(step),
        "vocab": np.array([b"<pad>", b"hello", "wörld".encode()], dtype=object),
    }


def save(prefix: str, weights: dict[str, np.ndarray], embedding: np.ndarray) -> None:
    with BundleWriter(prefix) as writer:
        for name in sorted(weights):
            writer.add(name, weights[name])
        # A variable partitioned in 3 along axis 0, stored as TensorFlow stores it.
        rows = embedding.shape[0]
        bounds = [0, 4, 7, rows]
        for start, stop in zip(bounds, bounds[1:]):
            part = TensorSlice(((start, stop - start), (0, -1)))
            writer.add_slice("embedding", embedding.shape, part, embedding[start:stop])


def main(outdir: str) -> None:
    shutil.rmtree(outdir, ignore_errors=True)
    os.makedirs(outdir)
    embedding = np.arange(30, dtype=np.float32).reshape(10, 3)
    paths = []
    for step in (100, 200):
        prefix = os.path.join(outdir, f"model.ckpt-{step}")
        weights = model_weights(step)
        save(prefix, weights, embedding)
        paths.append(prefix)
        tf.train.update_checkpoint_state(outdir, prefix, all_model_checkpoint_paths=paths)
        print(f"wrote {prefix}: {len(weights) + 1} tensors")

    latest = tf.train.latest_checkpoint(outdir)
    print(f"latest_checkpoint({outdir!r}) = {latest!r}")
    reader = tf.train.load_checkpoint(outdir)
    expected = model_weights(200)
    for name, value in expected.items():
        got = reader.get_tensor(name)
        assert np.array_equal(np.asarray(got), value), name
    assert np.array_equal(reader.get_tensor("embedding"), embedding)
    print(f"read back all {len(reader.names())} tensors of {latest}: values equal, "
          f"CRC32C checked")
    for name, shape in tf.train.list_variables(outdir):
        print(f"  {name:24s} {str(reader.get_variable_to_dtype_map()[name].name):9s} {shape}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "demo-out")
