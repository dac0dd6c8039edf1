"""Would a thread pool for independent graph branches pay on this machine? A measurement.

Every convolution's backward pass has two independent branches (``Conv2DBackpropInput``
and ``Conv2DBackpropFilter`` of the same layer), and elementwise ops of parallel branches
(a ReLU gradient beside a bias gradient) are common. This script times pairs of such
kernels of the VGG block, run one after the other (what flowsaver's plans do) and run at
once on two threads of a pool (what a branch-parallel executor would do), with the kernels'
own parallelism as it is (convolution blocks and BLAS on the free cores). NumPy releases
the GIL in its loops and in BLAS, so the pair can overlap. Medians of ``--repeat`` paired
samples, in alternating order; the load average is printed beside them.

Usage (from the repository root):
  PYTHONPATH=. .venv/bin/python bench/bench_branches.py [--repeat 15]
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from flowsaver.ops import blas_threads
from flowsaver.ops.nn import conv_gemm

RNG = np.random.default_rng(0)
X = RNG.standard_normal((16, 32, 32, 64), dtype=np.float32)
F = RNG.standard_normal((3, 3, 64, 64), dtype=np.float32)
DY = RNG.standard_normal((16, 32, 32, 64), dtype=np.float32)
PADS = ((1, 1), (1, 1))

PAIRS = {
    "conv backprop input and filter (VGG conv2)": (
        lambda: conv_gemm.conv_input_grad(DY, F, (32, 32), PADS, (1, 1), (1, 1)),
        lambda: conv_gemm.conv_filter_grad(X, DY, (3, 3), PADS, (1, 1), (1, 1))),
    "ReLU gradient and bias gradient (16x32x32x64)": (
        lambda: DY * (X > 0),
        lambda: np.ones(16 * 32 * 32, np.float32) @ DY.reshape(-1, 64)),
    "two 512x512x512 products": (
        lambda: X.reshape(-1, 512)[:512] @ F.reshape(-1, 64).repeat(8, 1)[:512],
        lambda: DY.reshape(-1, 512)[:512] @ F.reshape(-1, 64).repeat(8, 1)[:512]),
}


def sequential(a, b) -> float:
    start = time.perf_counter()
    a()
    b()
    return time.perf_counter() - start


def overlapped(pool, a, b) -> float:
    start = time.perf_counter()
    other = pool.submit(b)
    a()
    other.result()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    pool = ThreadPoolExecutor(1)
    print("load average %.2f, %.2f, %.2f" % os.getloadavg())
    print("| pair | one after the other | on two threads | ratio |\n|---|---:|---:|---:|")
    entered = blas_threads.enter()   # as inside Session.run: BLAS on the free cores
    try:
        for name, (a, b) in PAIRS.items():
            seq, par = [], []
            sequential(a, b)
            overlapped(pool, a, b)
            for r in range(args.repeat):
                if r % 2:
                    par.append(overlapped(pool, a, b))
                    seq.append(sequential(a, b))
                else:
                    seq.append(sequential(a, b))
                    par.append(overlapped(pool, a, b))
            s, p = statistics.median(seq), statistics.median(par)
            print(f"| {name} | {s * 1e3:.2f} ms | {p * 1e3:.2f} ms | {p / s:.2f} |")
    finally:
        if entered:
            blas_threads.leave()
    print("load average %.2f, %.2f, %.2f" % os.getloadavg())


if __name__ == "__main__":
    main()
