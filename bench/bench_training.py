"""Training steps per second: flowsaver vs TensorFlow on the same graph, side by side.

The models are the ones the parity tests check (tests/interop/training_models.py): an MLP
trained with Adam and a small CNN trained with Momentum, at batch 64, built from the same
seeded initial values in both systems (TensorFlow in TF1 mode: ref variables). Each sample
times ``steps`` consecutive ``sess.run(train_op, feeds)`` calls; the systems alternate in
every repetition; results are medians.

Usage (from the repository root):
  PYTHONPATH=. .venv/bin/python bench/bench_training.py [--repeat 15] [--quick] [--write]
"""
from __future__ import annotations

import argparse
import os
import pathlib
import platform
import statistics
import sys
import time

import numpy as np

import flowsaver

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "tests" / "interop"))
from training_models import MODELS, data  # noqa: E402

BATCH = 64
STEPS = {"mlp": 200, "cnn": 50}


def _session(api, model, initial):
    g = api.Graph()
    with g.as_default():
        _, loss, train = MODELS[model](api)
        init = api.global_variables_initializer()
        sess = api.Session(graph=g)
        sess.run(init)
        for v in api.global_variables():
            if v.op.name in initial:
                v.load(initial[v.op.name], sess)
    return sess, loss, train


def sessions(model):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf
    v1 = tf.compat.v1
    v1.disable_resource_variables()
    v1.disable_control_flow_v2()
    ours = _session(flowsaver, model, {})
    with ours[0].graph.as_default():
        initial = {v.op.name: ours[0].run(v) for v in flowsaver.global_variables()}
    theirs = _session(v1, model, initial)
    return {"flowsaver": ours, "TensorFlow": theirs}


def time_steps(sess, train, feeds, steps) -> float:
    start = time.perf_counter()
    for _ in range(steps):
        sess.run(train, feeds)
    return (time.perf_counter() - start) / steps


def run(repeat: int, quick: bool) -> list[dict]:
    rows = []
    for model in sorted(MODELS):
        feeds = data(model, batch=BATCH)
        systems = sessions(model)
        losses = {k: s.run(loss, feeds) for k, (s, loss, _) in systems.items()}
        np.testing.assert_allclose(losses["flowsaver"], losses["TensorFlow"], rtol=1e-5)
        steps = max(5, STEPS[model] // (10 if quick else 1))
        samples = {k: [] for k in systems}
        order = list(systems)
        for r in range(repeat):
            for k in order[r % 2:] + order[:r % 2]:
                sess, _, train = systems[k]
                samples[k].append(time_steps(sess, train, feeds, steps))
        med = {k: statistics.median(v) for k, v in samples.items()}
        rows.append({"model": model, "flowsaver": med["flowsaver"],
                     "TensorFlow": med["TensorFlow"],
                     "ratio": med["flowsaver"] / med["TensorFlow"]})
        for sess, _, _ in systems.values():
            sess.close()
    return rows


def table(rows) -> str:
    names = {"mlp": "MLP 8-16-4, Adam", "cnn": "CNN conv3x3x4 + maxpool + fc, Momentum"}
    lines = ["| model (batch 64) | flowsaver step | TensorFlow step | flowsaver steps/s | "
             "TensorFlow steps/s | ratio (time, flowsaver / TF) |",
             "|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {names[r['model']]} | {r['flowsaver'] * 1e3:.2f} ms | "
                     f"{r['TensorFlow'] * 1e3:.2f} ms | {1 / r['flowsaver']:.0f} | "
                     f"{1 / r['TensorFlow']:.0f} | {r['ratio']:.2f}x |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--write", action="store_true", help="write bench/results_training.md")
    args = parser.parse_args()
    rows = run(3 if args.quick else args.repeat, args.quick)
    text = table(rows)
    print(text)
    if args.write:
        header = (f"# Training benchmark\n\nMedians of {args.repeat} samples, "
                  f"{platform.machine()}, {os.cpu_count()} cores, NumPy {np.__version__}.\n\n")
        (pathlib.Path(__file__).parent / "results_training.md").write_text(header + text + "\n")


if __name__ == "__main__":
    main()
