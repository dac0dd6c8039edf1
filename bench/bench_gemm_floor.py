"""How close can NumPy get? Each convolution of the benchmark models beside its bare product.

For every 3x3 and 5x5 convolution layer of bench/model_graphs.py's MNIST CNN, VGG block and
ResNet block, one run times side by side, medians of ``--repeat`` samples in rotated order:

- TensorFlow's layer: ``relu(bias_add(conv2d(x, w), b))`` in one session (oneDNN fuses it
  into one kernel);
- flowsaver's same layer (its Conv2D and BiasAdd run as one joined step);
- the product alone that the layer reduces to, ``(N*OH*OW, KH*KW*C) @ (KH*KW*C, O)``, by
  NumPy's OpenBLAS on every core, with the operands already in memory: no gathering of
  receptive fields, no bias, no ReLU. No NumPy convolution can take less time than this.
  It runs as flowsaver runs products (``blas_threads.matmul``: one BLAS thread per piece,
  pieces over the kernel threads), because OpenBLAS's own threads spin for a tenth of a
  second after each product and would slow whatever runs next.

The last column, the product alone over TensorFlow's whole layer, is the floor of
flowsaver's ratio to TensorFlow on that layer with NumPy's BLAS. Run with the benchmark
environment (``env`` entry: OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset).

Usage (from the repository root):
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE PYTHONPATH=. .venv/bin/python \\
      bench/bench_gemm_floor.py [--repeat 9] [--write]
"""
from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import sys
import time

import numpy as np

import flowsaver
from flowsaver.ops import blas_threads

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from bench_models import _tf_v1  # noqa: E402
from machine import cpu_text  # noqa: E402

# name -> (input NHWC, filter HWIO): the models' convolutions past their first layer
LAYERS = {
    "MNIST CNN conv2, 5x5 32->64, 14x14, batch 64": ((64, 14, 14, 32), (5, 5, 32, 64)),
    "VGG conv2, 3x3 64->64, 32x32, batch 16": ((16, 32, 32, 64), (3, 3, 64, 64)),
    "VGG conv3, 3x3 64->128, 16x16, batch 16": ((16, 16, 16, 64), (3, 3, 64, 128)),
    "VGG conv4, 3x3 128->128, 16x16, batch 16": ((16, 16, 16, 128), (3, 3, 128, 128)),
    "ResNet conv, 3x3 64->64, 32x32, batch 16": ((16, 32, 32, 64), (3, 3, 64, 64)),
}
SAMPLE_SECONDS = 0.2


def layer(api, x_shape, f_shape, values):
    g = api.Graph()
    with g.as_default():
        x = api.placeholder(api.float32, x_shape, name="x")
        w = api.constant(values["w"])
        b = api.constant(values["b"])
        y = api.nn.relu(api.nn.bias_add(api.nn.conv2d(x, w, [1, 1, 1, 1], "SAME"), b))
    return api.Session(graph=g), x, y


def timed(fn, steps: int) -> float:
    start = time.perf_counter()
    for _ in range(steps):
        fn()
    return (time.perf_counter() - start) / steps


def measure(name: str, repeat: int, tf) -> dict:
    x_shape, f_shape = LAYERS[name]
    rng = np.random.default_rng(0)
    values = {"x": rng.standard_normal(x_shape).astype(np.float32),
              "w": (rng.standard_normal(f_shape) * 0.1).astype(np.float32),
              "b": rng.standard_normal(f_shape[3]).astype(np.float32)}
    rows = x_shape[0] * x_shape[1] * x_shape[2]
    depth = f_shape[0] * f_shape[1] * f_shape[2]
    cols = rng.standard_normal((rows, depth)).astype(np.float32)
    weights = values["w"].reshape(depth, f_shape[3])
    product_out = np.empty((rows, f_shape[3]), np.float32)
    runs = {}
    for label, api in (("flowsaver", flowsaver), ("TensorFlow", tf)):
        sess, x, y = layer(api, x_shape, f_shape, values)
        feed = {x: values["x"]}
        runs[label] = (lambda s=sess, f=feed, t=y: s.run(t, f))
    ours, theirs = runs["flowsaver"](), runs["TensorFlow"]()
    np.testing.assert_allclose(ours, theirs, rtol=1e-3, atol=1e-3, err_msg=name)
    runs["product alone"] = lambda: blas_threads.matmul(cols, weights, out=product_out)
    names = list(runs)
    for fn in runs.values():
        timed(fn, 2)
    steps = max(2, min(200, round(SAMPLE_SECONDS / timed(runs["TensorFlow"], 3))))
    samples = {k: [] for k in names}
    for rep in range(repeat):
        for k in names[rep % len(names):] + names[:rep % len(names)]:
            samples[k].append(timed(runs[k], steps))
    med = {k: statistics.median(v) for k, v in samples.items()}
    flops = 2 * rows * depth * f_shape[3]
    print(f"  {name:44s} flowsaver {med['flowsaver'] * 1e3:6.2f} ms  TF "
          f"{med['TensorFlow'] * 1e3:6.2f} ms  product alone {med['product alone'] * 1e3:6.2f} ms"
          f" ({flops / med['product alone'] / 1e9:.0f} GFLOP/s)", flush=True)
    return {"layer": name, **med, "gflops": flops / med["product alone"] / 1e9}


def table(rows) -> str:
    lines = ["| layer | flowsaver | TensorFlow (conv + bias + ReLU) | OpenBLAS product alone "
             "| flowsaver / TF | product alone / TF |", "|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['layer']} | {r['flowsaver'] * 1e3:.2f} ms | "
                     f"{r['TensorFlow'] * 1e3:.2f} ms | {r['product alone'] * 1e3:.2f} ms "
                     f"({r['gflops']:.0f} GFLOP/s) | {r['flowsaver'] / r['TensorFlow']:.2f}x | "
                     f"{r['product alone'] / r['TensorFlow']:.2f}x |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    tf = _tf_v1()
    before = "load average %.2f, %.2f, %.2f" % os.getloadavg()
    entered = blas_threads.enter()   # BLAS on one thread, products split as in a run
    try:
        rows = [measure(name, args.repeat, tf) for name in LAYERS]
    finally:
        if entered:
            blas_threads.leave()
    after = "load average %.2f, %.2f, %.2f" % os.getloadavg()
    text = table(rows)
    print(text)
    if args.write:
        path = pathlib.Path(__file__).resolve().parent / "results_gemm_floor.md"
        header = "" if path.exists() else (
            "# Convolution layers beside their bare OpenBLAS product "
            "(`bench/bench_gemm_floor.py`)\n")
        stamp = time.strftime("%Y-%m-%d %H:%M")
        with open(path, "a") as f:
            f.write(f"{header}\n## Run of {stamp}\n\nMedians of {args.repeat}, "
                    f"{cpu_text()}, NumPy {np.__version__}; {before} before, {after} "
                    f"after.\n\n{text}\n")


if __name__ == "__main__":
    main()
