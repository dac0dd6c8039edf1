"""Session.run speed: flowsaver vs TensorFlow on the same graph, side by side in one run.

Graphs (built identically in both systems from the same NumPy weights, held in variables):
  small   3-layer MLP forward, 784 -> 256 -> 128 -> 10, ReLU, batch 1: per-call overhead
  large   3-layer MLP forward, 1024 -> 1024 -> 1024 -> 1024, ReLU, batch 256: matmul-bound

Each sample times a batch of ``calls`` consecutive ``sess.run(output, {x: batch})`` calls
(the same fed array each time) and divides; the two systems alternate inside every
repetition, in a rotated order. Results are medians; tables go to stdout and, with
``--write``, to bench/results_session.md.

Usage (from the repository root):
  PYTHONPATH=. .venv/bin/python bench/bench_session.py [--repeat 15] [--quick] [--write]
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np

import flowsaver

GRAPHS = {
    # name: (layer widths, batch, calls per sample)
    "small": ([784, 256, 128, 10], 1, 2000),
    "large": ([1024, 1024, 1024, 1024], 256, 20),
}


def build(api, widths, weights):
    """The MLP in ``api`` (flowsaver or tf.compat.v1): returns (x placeholder, output)."""
    x = api.placeholder(api.float32, [None, widths[0]], name="x")
    h = x
    for i, (w, b) in enumerate(weights):
        wv = api.Variable(w, name=f"w{i}")
        bv = api.Variable(b, name=f"b{i}")
        h = api.matmul(h, wv) + bv
        if i < len(weights) - 1:
            h = api.nn.relu(h)
    return x, h


def make_weights(widths, seed=0):
    rng = np.random.default_rng(seed)
    return [((rng.standard_normal((a, b)) / np.sqrt(a)).astype(np.float32),
             (rng.standard_normal(b) * 0.1).astype(np.float32))
            for a, b in zip(widths[:-1], widths[1:])]


def flowsaver_session(widths, weights):
    g = flowsaver.Graph()
    with g.as_default():
        x, out = build(flowsaver, widths, weights)
        init = flowsaver.global_variables_initializer()
    sess = flowsaver.Session(graph=g)
    sess.run(init)
    return sess, x, out


def tensorflow_session(widths, weights):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf
    v1 = tf.compat.v1
    v1.disable_resource_variables()  # TF1's ref variables, as in the flowsaver graph
    g = v1.Graph()
    with g.as_default():
        x, out = build(v1, widths, weights)
        init = v1.global_variables_initializer()
    sess = v1.Session(graph=g)
    sess.run(init)
    return sess, x, out


def time_calls(sess, x, out, batch, calls) -> float:
    feed = {x: batch}
    start = time.perf_counter()
    for _ in range(calls):
        sess.run(out, feed)
    return (time.perf_counter() - start) / calls


def run(repeat: int, quick: bool) -> list[dict]:
    rows = []
    for name, (widths, batch_size, calls) in GRAPHS.items():
        if quick:
            calls = max(2, calls // 10)
        weights = make_weights(widths)
        batch = np.random.default_rng(1).standard_normal(
            (batch_size, widths[0])).astype(np.float32)
        systems = {"flowsaver": flowsaver_session(widths, weights),
                   "TensorFlow": tensorflow_session(widths, weights)}
        outs = {k: s.run(o, {x: batch}) for k, (s, x, o) in systems.items()}
        np.testing.assert_allclose(outs["flowsaver"], outs["TensorFlow"], rtol=1e-4, atol=1e-4)
        samples = {k: [] for k in systems}
        order = list(systems)
        for r in range(repeat):
            for k in order[r % 2:] + order[:r % 2]:
                sess, x, out = systems[k]
                samples[k].append(time_calls(sess, x, out, batch, calls))
        med = {k: statistics.median(v) for k, v in samples.items()}
        rows.append({"graph": name, "widths": widths, "batch": batch_size,
                     "flowsaver": med["flowsaver"], "TensorFlow": med["TensorFlow"],
                     "ratio": med["flowsaver"] / med["TensorFlow"]})
        for sess, _, _ in systems.values():
            sess.close()
    return rows


def table(rows) -> str:
    lines = ["| graph | batch | flowsaver per run | TensorFlow per run | ratio (flowsaver / TF) |",
             "|---|---:|---:|---:|---:|"]
    for r in rows:
        widths = " -> ".join(map(str, r["widths"]))
        lines.append(f"| {r['graph']} MLP {widths} | {r['batch']} | "
                     f"{r['flowsaver'] * 1e6:.1f} us | {r['TensorFlow'] * 1e6:.1f} us | "
                     f"{r['ratio']:.2f}x |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--write", action="store_true", help="write bench/results_session.md")
    args = parser.parse_args()
    rows = run(3 if args.quick else args.repeat, args.quick)
    text = table(rows)
    print(text)
    if args.write:
        header = (f"# Session.run benchmark\n\nMedians of {args.repeat} samples, "
                  f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
                  f"NumPy {np.__version__}.\n\n")
        with open(os.path.join(os.path.dirname(__file__), "results_session.md"), "w") as f:
            f.write(header + text + "\n")


if __name__ == "__main__":
    main()
