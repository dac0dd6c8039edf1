"""Random-number kernels: flowsaver vs TensorFlow, side by side in one run.

Each system gets a graph holding one raw op with fixed seeds, ``RandomStandardNormal`` or
``RandomUniform`` of 10 million float32 values (``--size``), and a session that runs it.
One sample is one ``sess.run`` of that op (the kernel plus fetching its output); the two
systems alternate inside every repetition, in a rotated order, after ``gc.collect()``.
The first run of each is a warm-up, and its values are checked to be bit-identical
(TensorFlow's first draw); its time is reported too (the first draw in the process: it
includes making the per-thread scratch arrays and TensorFlow's first-run costs). Every
run draws new numbers (each run advances the op's stream). Results are medians, with the
median of the per-repetition ratios beside them, and the median CPU time of a run (all
threads of the process; it includes TensorFlow's thread pool, whose idle threads spin for
a while after a kernel). flowsaver's memory is measured apart, in a fresh process whose
first run is traced (``tracemalloc`` sees NumPy's arrays): the peak allocation beyond the
output array, and what stays allocated after the run besides the output (the scratch
arrays each thread keeps for later draws).

``--busy`` starts a ``while True: pass`` Python process for the duration of the timing
(one core of load next to both systems) and stops it afterwards.

Usage (from the repository root):
  PYTHONPATH=. .venv/bin/python bench/bench_random.py [--size N] [--repeat 11] [--busy]
      [--write]   (appends the table to bench/results_random.md)
"""
from __future__ import annotations

import argparse
import gc
import os
import statistics
import subprocess
import sys
import time

import numpy as np

import flowsaver
from flowsaver.ops.op_builder import create_op

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from machine import cpu_text  # noqa: E402  (bench/)

OPS = ["RandomStandardNormal", "RandomUniform"]
SEED, SEED2 = 87654321, 42


def flowsaver_session(op_type: str, size: int):
    g = flowsaver.Graph()
    with g.as_default():
        out = create_op(op_type, [flowsaver.constant([size])],
                        {"dtype": flowsaver.float32, "seed": SEED, "seed2": SEED2})
    return flowsaver.Session(graph=g), out


def tensorflow_session(op_type: str, size: int):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf
    v1 = tf.compat.v1
    g = v1.Graph()
    with g.as_default():
        out = getattr(tf.raw_ops, op_type)(shape=tf.constant([size]), dtype=tf.float32,
                                           seed=SEED, seed2=SEED2)
    return v1.Session(graph=g), out


def timed(sess, out) -> tuple[float, float]:
    """Wall time and CPU time (all threads of this process) of one run."""
    gc.collect()
    start, cpu = time.perf_counter(), time.process_time()
    sess.run(out)
    return time.perf_counter() - start, time.process_time() - cpu


_PROBE = """
import sys, tracemalloc
sys.path.insert(0, {root!r})
import bench.bench_random as b
sess, out = b.flowsaver_session({op!r}, {size})
tracemalloc.start()
value = sess.run(out)
current, peak = tracemalloc.get_traced_memory()
print(peak - value.nbytes, current - value.nbytes)
"""


def memory_probe(op_type: str, size: int) -> tuple[int, int]:
    """flowsaver's first run in a fresh process, traced: (peak allocation beyond the output,
    allocations still held after it besides the output: the per-thread scratch arrays)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    code = _PROBE.format(root=root, op=op_type, size=size)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    peak, kept = done.stdout.split()[-2:]
    return int(peak), int(kept)


def measure(op_type: str, size: int, repeat: int) -> dict:
    systems = {"flowsaver": flowsaver_session(op_type, size),
               "TensorFlow": tensorflow_session(op_type, size)}
    first, warmup = {}, {}
    for name, (sess, out) in systems.items():
        start = time.perf_counter()
        first[name] = sess.run(out)
        warmup[name] = time.perf_counter() - start
    if first["flowsaver"].tobytes() != first["TensorFlow"].tobytes():
        raise SystemExit(f"{op_type}: flowsaver's values differ from TensorFlow's")
    times = {name: [] for name in systems}
    cpu = {name: [] for name in systems}
    names = list(systems)
    for rep in range(repeat):
        order = names[rep % 2:] + names[:rep % 2]
        for name in order:
            wall, used = timed(*systems[name])
            times[name].append(wall)
            cpu[name].append(used)
    for sess, _ in systems.values():
        sess.close()
    ratios = [a / b for a, b in zip(times["flowsaver"], times["TensorFlow"])]
    return {"flowsaver": statistics.median(times["flowsaver"]),
            "TensorFlow": statistics.median(times["TensorFlow"]),
            "ratio_of_medians": statistics.median(times["flowsaver"]) /
            statistics.median(times["TensorFlow"]),
            "median_ratio": statistics.median(ratios), "warmup": warmup,
            "cpu": {name: statistics.median(cpu[name]) for name in names},
            "memory": memory_probe(op_type, size)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=11)
    parser.add_argument("--busy", action="store_true",
                        help="run a busy-looping Python process while timing")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    busy = None
    if args.busy:
        busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        results = {op: measure(op, args.size, args.repeat) for op in OPS}
    finally:
        if busy is not None:
            busy.kill()
            busy.wait()
    load = "with one busy-looping process" if args.busy else "no extra load started"
    lines = [f"### {args.size:,} float32 values, {load}", "",
             f"Medians of {args.repeat} runs, {cpu_text()}, "
             f"NumPy {np.__version__}; 1-min load average before {load_before:.2f}, "
             f"after {os.getloadavg()[0]:.2f}.", "",
             "| op | flowsaver | TensorFlow | ratio of medians | median ratio | CPU time "
             "flowsaver / TensorFlow | first run flowsaver / TensorFlow | flowsaver "
             "first run memory: peak beyond output / kept |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for op, r in results.items():
        ours, theirs = r["cpu"]["flowsaver"], r["cpu"]["TensorFlow"]
        lines.append(f"| {op} | {r['flowsaver'] * 1e3:.1f} ms | {r['TensorFlow'] * 1e3:.1f} ms"
                     f" | {r['ratio_of_medians']:.2f}x | {r['median_ratio']:.2f}x | "
                     f"{ours * 1e3:.0f} / {theirs * 1e3:.0f} ms | "
                     f"{r['warmup']['flowsaver'] * 1e3:.0f} / "
                     f"{r['warmup']['TensorFlow'] * 1e3:.0f} ms | "
                     f"{r['memory'][0] / 2**20:.1f} / {r['memory'][1] / 2**20:.1f} MiB |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        path = os.path.join(os.path.dirname(__file__), "results_random.md")
        new = not os.path.exists(path)
        with open(path, "a") as f:
            if new:
                f.write("# Random-number kernels: flowsaver vs TensorFlow\n\n"
                        "Written by `bench/bench_random.py`; values checked bit-identical.\n\n")
            f.write(text + "\n")


if __name__ == "__main__":
    main()
