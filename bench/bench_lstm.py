"""An LSTM's inference and training step: flowsaver vs TensorFlow on the same graph.

``tf.nn.dynamic_rnn`` over a ``BasicLSTMCell`` (128 units) on a batch of 32 sequences of 50
steps (depth 64), then a dense layer and a softmax cross-entropy; training is one Adam step.
Two graphs of that model are timed:

* TF1 control flow: both systems build the graph (TensorFlow in TF1 mode: ref variables,
  Enter/Merge/Switch/Exit loops; the gradient loop pushes every step's activations on
  stacks and pops them in reverse);
* TF 2 graph mode: TensorFlow builds it with its TF 2 defaults (a StatelessWhile calling
  library functions, TensorLists, resource variables) and saves its metagraph and
  checkpoint; flowsaver imports and restores those and runs TensorFlow's graph.

Each pair starts from the same weights; the script checks both give the same loss before
timing. Each sample times ``steps`` consecutive ``sess.run`` calls, in wall-clock and in
process CPU time; the systems alternate in every repetition; results are medians.

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
import tempfile
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


def tf1_sessions(tf):
    """(flowsaver, TensorFlow) sessions of the TF1 control-flow graph, same weights."""
    v1 = tf.compat.v1
    ours = _session(flowsaver, {})
    with ours[0].graph.as_default():
        initial = {v.op.name: ours[0].run(v) for v in flowsaver.global_variables()}
    v1.disable_resource_variables()
    v1.disable_control_flow_v2()
    try:
        theirs = _session(v1, initial)
    finally:
        v1.enable_resource_variables()
        v1.enable_control_flow_v2()
    return ours, theirs


def tf2_sessions(tf, workdir: str):
    """(flowsaver, TensorFlow) sessions of TensorFlow's TF 2 graph-mode graph: flowsaver
    runs the metagraph and checkpoint TensorFlow saved."""
    v1 = tf.compat.v1
    theirs = _session(v1, {})
    sess, loss, train = theirs
    with sess.graph.as_default():
        v1.add_to_collection("bench_fetches", loss)
        v1.add_to_collection("bench_fetches", train)
        prefix = v1.train.Saver().save(sess, os.path.join(workdir, "lstm"))
    g = flowsaver.Graph()
    with g.as_default():
        saver = flowsaver.train.import_meta_graph(prefix + ".meta")
        our_loss, our_train = flowsaver.get_collection("bench_fetches")
        ours = flowsaver.Session(graph=g)
        saver.restore(ours, prefix)
    return (ours, our_loss, our_train), theirs


def sessions(workdir: str):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf
    tf1 = tf1_sessions(tf)
    tf2 = tf2_sessions(tf, workdir)
    return {"TF1 control flow": dict(zip(("flowsaver", "TensorFlow"), tf1)),
            "TF 2 graph mode (functional)": dict(zip(("flowsaver", "TensorFlow"), tf2))}


def feeds():
    rng = np.random.default_rng(0)
    return {"x:0": rng.standard_normal((BATCH, TIME, DEPTH)).astype(np.float32),
            "y:0": rng.integers(0, CLASSES, BATCH).astype(np.int64)}


def _time(sess, fetch, data, steps) -> tuple[float, float]:
    """(wall, CPU) seconds per ``sess.run``; CPU time is the whole process's, every
    thread's (TensorFlow's pool included), so it counts work, not waiting for a core."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(steps):
        sess.run(fetch, data)
    return ((time.perf_counter() - wall) / steps, (time.process_time() - cpu) / steps)


def _measure(systems, data, repeat: int, quick: bool, graph: str) -> list[dict]:
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
        wall = {k: statistics.median(w for w, _ in v) for k, v in samples.items()}
        cpu = {k: statistics.median(c for _, c in v) for k, v in samples.items()}
        rows.append({"graph": graph, "what": what, "flowsaver": wall["flowsaver"],
                     "TensorFlow": wall["TensorFlow"],
                     "ratio": wall["flowsaver"] / wall["TensorFlow"],
                     "cpu_flowsaver": cpu["flowsaver"], "cpu_TensorFlow": cpu["TensorFlow"],
                     "cpu_ratio": cpu["flowsaver"] / cpu["TensorFlow"]})
    for sess, _, _ in systems.values():
        sess.close()
    return rows


def run(repeat: int, quick: bool) -> list[dict]:
    data = feeds()
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        for graph, systems in sessions(workdir).items():
            rows += _measure(systems, data, repeat, quick, graph)
    return rows


def table(rows) -> str:
    lines = [f"| LSTM {UNITS} units, batch {BATCH}, {TIME} steps | graph | flowsaver | "
             f"TensorFlow | ratio | flowsaver CPU | TensorFlow CPU | CPU ratio |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    names = {"inference": "inference (loss)", "training": "training step (Adam)"}
    for r in rows:
        lines.append(f"| {names[r['what']]} | {r['graph']} | {r['flowsaver'] * 1e3:.1f} ms | "
                     f"{r['TensorFlow'] * 1e3:.1f} ms | {r['ratio']:.2f}x | "
                     f"{r['cpu_flowsaver'] * 1e3:.1f} ms | {r['cpu_TensorFlow'] * 1e3:.1f} ms | "
                     f"{r['cpu_ratio']:.2f}x |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=11)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--write", action="store_true", help="write bench/results_lstm.md")
    args = parser.parse_args()
    load_before = os.getloadavg()
    rows = run(3 if args.quick else args.repeat, args.quick)
    load_after = os.getloadavg()
    text = table(rows)
    print(text)
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f}")
    if args.write:
        threads = os.environ.get("OPENBLAS_NUM_THREADS", "default")
        header = (
            f"# LSTM benchmark\n\nMedians of {args.repeat} samples, {platform.machine()}, "
            f"{os.cpu_count()} cores, NumPy {np.__version__}, "
            f"OPENBLAS_NUM_THREADS={threads}.\n\n"
            f"The machine was shared with other processes while this ran (1-minute load "
            f"average {load_before[0]:.2f} before, {load_after[0]:.2f} after, on "
            f"{os.cpu_count()} cores): absolute times are inflated and noisy; the two systems "
            f"alternate within each repetition, so the ratios are the figures to read. Times "
            f"are wall-clock per `sess.run`; CPU is the process's CPU time per run over all "
            f"its threads (TensorFlow's included), which waiting for a busy core does not "
            f"inflate. Ratios are flowsaver / TensorFlow (time: lower is faster).\n\n")
        (pathlib.Path(__file__).parent / "results_lstm.md").write_text(header + text + "\n")


if __name__ == "__main__":
    main()
