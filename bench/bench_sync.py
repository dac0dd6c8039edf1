"""What ``sync=True`` costs: a CheckpointManager save with and without fsync, next to
TensorFlow's Saver (which does not fsync), at three checkpoint sizes.

Systems, each saving the same float32 variables (8 tensors) into a fresh directory:
  flowsaver         CheckpointManager(saver, dir, max_to_keep=2).save()
  flowsaver sync    the same with sync=True: data, index and directory fsynced before
                    the index is committed, and the state file before its rename
  flowsaver async   async_save=True: save() returns after the snapshot (one Session.run,
                    which copies the values); "returns" times that call alone (the
                    write is waited for, untimed, before the next system runs), "total"
                    times save() and wait_until_finished(): the snapshot path without
                    fsync, to set the sync row against
  flowsaver Saver   Saver.save(sess, prefix, write_meta_graph=False) (the graph's ops)
  TensorFlow        tf.compat.v1.train.Saver.save(sess, prefix, write_meta_graph=False)

Within a repetition every system saves once, in an order rotated by one per repetition;
each save writes a new step (so no file is overwritten), and the directories are emptied
between sizes. Page cache is whatever the machine has: fsync's cost is the time to push
the just-written bytes (and the directory entries) to the device, which depends on the
device and file system far more than on flowsaver. The table gives medians and minima.

Usage (from the repository root):
  PYTHONPATH=. .venv/bin/python bench/bench_sync.py [--sizes-mib 1 16 128] [--repeat 7]
      [--dir PARENT] [--write]
``--write`` replaces bench/results_sync.md with this run's table.
"""
from __future__ import annotations

import argparse
import datetime
import os
import pathlib
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results_sync.md"
TENSORS = 8


def arrays(size_mib: float) -> dict:
    rng = np.random.default_rng(0)
    rows = max(1, int(size_mib * (1 << 20) / 4 / TENSORS / 256))
    return {f"layer_{i}/kernel": rng.standard_normal((rows, 256), dtype=np.float32)
            for i in range(TENSORS)}


class FlowsaverSystem:
    def __init__(self, values: dict, directory: str, sync: bool, manager: bool = True,
                 async_save: bool = False, wait: bool = True):
        import flowsaver as fs
        self.graph = fs.Graph()
        with self.graph.as_default():
            for name, value in values.items():
                fs.Variable(value, name=name)
            saver = fs.train.Saver()
            init = fs.global_variables_initializer()
        self.sess = fs.Session(graph=self.graph)
        self.sess.run(init)
        self.manager = fs.train.CheckpointManager(saver, directory, max_to_keep=2, sync=sync,
                                                  async_save=async_save,
                                                  session=self.sess) if manager else None
        self.wait = wait
        self.saver, self.prefix, self.step = saver, os.path.join(directory, "ckpt"), 0

    def save(self) -> None:
        if self.manager is not None:
            self.manager.save()
            if self.wait:
                self.manager.wait_until_finished()
            return
        self.step += 1
        self.saver.save(self.sess, self.prefix, global_step=self.step, write_meta_graph=False)


class TensorFlowSystem:
    def __init__(self, values: dict, directory: str):
        import tensorflow as tf
        v1 = tf.compat.v1
        v1.disable_eager_execution()
        self.graph = tf.Graph()
        with self.graph.as_default():
            for name, value in values.items():
                v1.Variable(value, name=name)
            self.saver = v1.train.Saver(max_to_keep=2)
            init = v1.global_variables_initializer()
        self.sess = v1.Session(graph=self.graph)
        self.sess.run(init)
        self.prefix, self.step = os.path.join(directory, "ckpt"), 0

    def save(self) -> None:
        self.step += 1
        with self.graph.as_default():
            self.saver.save(self.sess, self.prefix, global_step=self.step,
                            write_meta_graph=False)


def measure(size_mib: float, repeat: int, parent: str) -> dict:
    values = arrays(size_mib)
    dirs = {name: tempfile.mkdtemp(prefix=f"sync-{name.replace(' ', '-')}-", dir=parent)
            for name in ("flowsaver", "flowsaver sync", "flowsaver async returns",
                         "flowsaver async total", "flowsaver Saver", "TensorFlow")}
    systems = {"flowsaver": FlowsaverSystem(values, dirs["flowsaver"], sync=False),
               "flowsaver sync": FlowsaverSystem(values, dirs["flowsaver sync"], sync=True),
               "flowsaver async returns": FlowsaverSystem(
                   values, dirs["flowsaver async returns"], False, async_save=True, wait=False),
               "flowsaver async total": FlowsaverSystem(
                   values, dirs["flowsaver async total"], False, async_save=True),
               "flowsaver Saver": FlowsaverSystem(values, dirs["flowsaver Saver"], False,
                                                  manager=False),
               "TensorFlow": TensorFlowSystem(values, dirs["TensorFlow"])}
    names = list(systems)
    for name in names:   # warm-up: imports, plans, first files
        systems[name].save()
    times = {name: [] for name in names}
    for r in range(repeat):
        for name in names[r % len(names):] + names[:r % len(names)]:
            start = time.perf_counter()
            systems[name].save()
            times[name].append(time.perf_counter() - start)
            manager = getattr(systems[name], "manager", None)
            if manager is not None:
                manager.wait_until_finished()   # untimed for "async returns"
    for d in dirs.values():
        shutil.rmtree(d, ignore_errors=True)
    return times


def file_system_of(path: str) -> str:
    try:
        out = subprocess.run(["df", "-T", path], capture_output=True, text=True).stdout
        return out.splitlines()[1].split()[1]
    except (OSError, IndexError):
        return "unknown"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes-mib", type=float, nargs="+", default=[1, 16, 128])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--dir", default=str(ROOT / "bench"))
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    rows = []
    for size in args.sizes_mib:
        times = measure(size, args.repeat, args.dir)
        base = statistics.median(times["flowsaver"])
        for name, values in times.items():
            median = statistics.median(values)
            rows.append(f"| {size:g} MiB | {name} | {median * 1000:.1f} | "
                        f"{min(values) * 1000:.1f} | {median / base:.2f} |")
        print("\n".join(rows[-len(times):]), flush=True)
    table = ["| size | system | median ms | min ms | vs flowsaver |", "|---|---|---|---|---|"]
    header = (f"# What `sync=True` costs (bench/bench_sync.py)\n\n"
              f"Run {datetime.date.today()}, {args.repeat} repetitions, {platform.machine()}, "
              f"Python {platform.python_version()}, {os.cpu_count()} cores, directory on "
              f"{file_system_of(args.dir)}.\n\n")
    text = header + "\n".join(table + rows) + "\n"
    if args.write:
        RESULTS.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
