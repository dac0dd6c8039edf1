"""Would a thread pool for independent graph branches pay on this machine? A measurement.

Every convolution's backward pass has two independent branches (``Conv2DBackpropInput``
and ``Conv2DBackpropFilter`` of the same layer), and elementwise ops of parallel branches
(a ReLU gradient beside a bias gradient) are common. This script times pairs of such
kernels of the VGG block and of the MNIST CNN, run one after the other (what flowsaver's
plans do, each kernel splitting its work over the cores) and run at once on two threads
of a pool (what a branch-parallel executor would do), in two ways: with the kernels' own
parallelism as it is (convolution blocks and BLAS on the free cores), and with each kernel
held to one thread, so that the two branches take a core each and nothing oversubscribes
them. NumPy releases the GIL in its loops and in BLAS, so the pair can overlap. Medians of
``--repeat`` samples, the three ways in rotated order; the load average is printed beside
them. A compute-bound kernel beside a memory-bound one (a convolution gradient beside a
large Momentum update, as in the CNN's training step) is the pair most likely to gain.

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
CNN_X = RNG.standard_normal((64, 14, 14, 32), dtype=np.float32)
CNN_F = RNG.standard_normal((5, 5, 32, 64), dtype=np.float32)
CNN_DY = RNG.standard_normal((64, 14, 14, 64), dtype=np.float32)
# the CNN's first dense layer: a 3136 x 1024 kernel, its Momentum slot and gradient
VAR = RNG.standard_normal(3136 * 1024, dtype=np.float32)
ACCUM = np.zeros_like(VAR)
GRAD = RNG.standard_normal(VAR.size, dtype=np.float32)
UPDATE_BLOCK = 1 << 17
SQUARE_A = RNG.standard_normal((512, 512), dtype=np.float32)
SQUARE_B = RNG.standard_normal((512, 512), dtype=np.float32)


def momentum_update() -> None:
    """accum = 0.9 accum + grad; var -= 0.01 accum, block by block in cache over the
    threads, as flowsaver's optimizer kernels run it."""
    blocks = -(-VAR.size // UPDATE_BLOCK)

    def rows(lo: int, hi: int) -> None:
        scratch = np.empty(UPDATE_BLOCK, np.float32)
        for b in range(lo, hi):
            part = slice(b * UPDATE_BLOCK, (b + 1) * UPDATE_BLOCK)
            accum, step = ACCUM[part], scratch[:ACCUM[part].size]
            accum *= np.float32(0.9)
            accum += GRAD[part]
            np.multiply(accum, np.float32(0.01), out=step)
            VAR[part] -= step

    blas_threads.over_rows(rows, blocks, VAR.size)


PAIRS = {
    "conv backprop input and filter (VGG conv2)": (
        lambda: conv_gemm.conv_input_grad(DY, F, (32, 32), PADS, (1, 1), (1, 1)),
        lambda: conv_gemm.conv_filter_grad(X, DY, (3, 3), PADS, (1, 1), (1, 1))),
    "ReLU gradient and bias gradient (16x32x32x64)": (
        lambda: DY * (X > 0),
        lambda: np.ones(16 * 32 * 32, np.float32) @ DY.reshape(-1, 64)),
    "conv input gradient (CNN conv2) and a 3.2M-value Momentum update": (
        lambda: conv_gemm.conv_input_grad(CNN_DY, CNN_F, (14, 14), ((2, 2), (2, 2)), (1, 1),
                                          (1, 1)),
        momentum_update),
    "two 512x512x512 products (as the MatMul kernel runs them)": (
        lambda: blas_threads.matmul(SQUARE_A, SQUARE_B),
        lambda: blas_threads.matmul(SQUARE_B, SQUARE_A)),
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


def overlapped_one_core_each(pool, a, b) -> float:
    """The pair on two threads, each kernel held to one (no split of its own)."""
    control = blas_threads._CONTROL
    saved = control.workers, control.spare
    control.workers = control.spare = 1
    try:
        return overlapped(pool, a, b)
    finally:
        control.workers, control.spare = saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    pool = ThreadPoolExecutor(1)
    print("load average %.2f, %.2f, %.2f" % os.getloadavg())
    print("| pair | one after the other | on two threads | ratio | two threads, one core "
          "each | ratio |\n|---|---:|---:|---:|---:|---:|")
    entered = blas_threads.enter()   # as inside Session.run: BLAS on the free cores
    ways = [lambda a, b: sequential(a, b), lambda a, b: overlapped(pool, a, b),
            lambda a, b: overlapped_one_core_each(pool, a, b)]
    try:
        for name, (a, b) in PAIRS.items():
            samples = [[] for _ in ways]
            for way in ways:
                way(a, b)
            for r in range(args.repeat):
                for k in range(len(ways)):
                    i = (k + r) % len(ways)
                    samples[i].append(ways[i](a, b))
            s, p, q = (statistics.median(x) for x in samples)
            print(f"| {name} | {s * 1e3:.2f} ms | {p * 1e3:.2f} ms | {p / s:.2f} | "
                  f"{q * 1e3:.2f} ms | {q / s:.2f} |")
    finally:
        if entered:
            blas_threads.leave()
    print("load average %.2f, %.2f, %.2f" % os.getloadavg())


if __name__ == "__main__":
    main()
