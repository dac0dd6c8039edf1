"""An LSTM's inference and training step: flowsaver vs TensorFlow on the same graph.

``tf.nn.dynamic_rnn`` over a ``BasicLSTMCell`` (128 units) on a batch of 32 sequences of 50
steps (depth 64), then a dense layer and a softmax cross-entropy; training is one Adam step
(the TF1 gradient loop: stacks of every step's activations, popped in reverse). Both
systems build the graph (TensorFlow in TF1 mode: ref variables, TF1 control flow) and start
from the same weights; the script checks they give the same loss before timing. Each sample
times ``steps`` consecutive ``sess.run`` calls; the systems alternate in every repetition;
results are medians.

Usage (from the repository root):
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \\
    PYTHONPATH=. .venv/bin/python bench/bench_lstm.py [--repeat 11] [--quick] [--write]

On a loaded machine OpenBLAS's threads can spin for far longer than these small matrix
products take (a 32x192 by 192x512 product measured 15-30 ms instead of 0.2 ms with 2
cores shared by several processes); ``OPENBLAS_NUM_THREADS=1`` shows the runtime's own cost.
The results file records the setting.
"""
from __future__ import annotations

import argparse
import os
import pathlib
import platform
import statistics
import time

import numpy as np

import flowsaver

BATCH, TIME, DEPTH, UNITS, CLASSES = 32, 50, 64, 128, 10
STEPS = {"inference": 10, "training": 5}


def _cells(api):
    if api is flowsaver:
        return flowsaver.nn.rnn_cell
    from tensorflow.python.keras.layers.legacy_rnn import rnn_cell_impl
    return rnn_cell_impl


def model(api):
    x = api.placeholder(api.float32, [BATCH, TIME, DEPTH], name="x")
    y = api.placeholder(api.int64, [BATCH], name="y")
    outputs, state = api.nn.dynamic_rnn(_cells(api).BasicLSTMCell(UNITS), x,
                                        dtype=api.float32)
    w = api.get_variable("out/w", [UNITS, CLASSES])
    b = api.get_variable("out/b", [CLASSES], initializer=api.zeros_initializer())
    logits = api.matmul(state.h, w) + b
    loss = api.reduce_mean(api.nn.sparse_softmax_cross_entropy_with_logits(
        labels=y, logits=logits))
    train = api.train.AdamOptimizer(0.001).minimize(loss)
    return loss, train


def _session(api, initial):
    g = api.Graph()
    with g.as_default():
        loss, train = model(api)
        sess = api.Session(graph=g)
        sess.run(api.global_variables_initializer())
        for v in api.global_variables():
            if v.op.name in initial:
                v.load(initial[v.op.name], sess)
    return sess, loss, train


def sessions():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf
    v1 = tf.compat.v1
    v1.disable_resource_variables()
    v1.disable_control_flow_v2()
    ours = _session(flowsaver, {})
    with ours[0].graph.as_default():
        initial = {v.op.name: ours[0].run(v) for v in flowsaver.global_variables()}
    return {"flowsaver": ours, "TensorFlow": _session(v1, initial)}


def feeds():
    rng = np.random.default_rng(0)
    return {"x:0": rng.standard_normal((BATCH, TIME, DEPTH)).astype(np.float32),
            "y:0": rng.integers(0, CLASSES, BATCH).astype(np.int64)}


def _time(sess, fetch, data, steps) -> float:
    start = time.perf_counter()
    for _ in range(steps):
        sess.run(fetch, data)
    return (time.perf_counter() - start) / steps


def run(repeat: int, quick: bool) -> list[dict]:
    systems = sessions()
    data = feeds()
    losses = {k: s.run(loss, data) for k, (s, loss, _) in systems.items()}
    np.testing.assert_allclose(losses["flowsaver"], losses["TensorFlow"], rtol=1e-4)
    rows = []
    for what in ("inference", "training"):
        steps = 2 if quick else STEPS[what]
        samples = {k: [] for k in systems}
        order = list(systems)
        for k, (sess, loss, train) in systems.items():  # warm up: plans, caches
            sess.run(loss if what == "inference" else train, data)
        for r in range(repeat):
            for k in order[r % 2:] + order[:r % 2]:
                sess, loss, train = systems[k]
                fetch = loss if what == "inference" else train
                samples[k].append(_time(sess, fetch, data, steps))
        med = {k: statistics.median(v) for k, v in samples.items()}
        rows.append({"what": what, "flowsaver": med["flowsaver"],
                     "TensorFlow": med["TensorFlow"],
                     "ratio": med["flowsaver"] / med["TensorFlow"]})
    for sess, _, _ in systems.values():
        sess.close()
    return rows


def table(rows) -> str:
    lines = [f"| LSTM {UNITS} units, batch {BATCH}, {TIME} steps | flowsaver | TensorFlow | "
             f"ratio (time, flowsaver / TF) |", "|---|---:|---:|---:|"]
    names = {"inference": "inference (loss)", "training": "training step (Adam)"}
    for r in rows:
        lines.append(f"| {names[r['what']]} | {r['flowsaver'] * 1e3:.1f} ms | "
                     f"{r['TensorFlow'] * 1e3:.1f} ms | {r['ratio']:.2f}x |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=11)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--write", action="store_true", help="write bench/results_lstm.md")
    args = parser.parse_args()
    rows = run(3 if args.quick else args.repeat, args.quick)
    text = table(rows)
    print(text)
    if args.write:
        threads = os.environ.get("OPENBLAS_NUM_THREADS", "default")
        header = (f"# LSTM benchmark\n\nMedians of {args.repeat} samples, "
                  f"{platform.machine()}, {os.cpu_count()} cores, NumPy {np.__version__}, "
                  f"OPENBLAS_NUM_THREADS={threads}.\n\n")
        (pathlib.Path(__file__).parent / "results_lstm.md").write_text(header + text + "\n")


if __name__ == "__main__":
    main()
