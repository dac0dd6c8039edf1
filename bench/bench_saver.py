"""Checkpoints through the front door: ``Saver.save`` and ``Saver.restore``, vs TensorFlow.

The 512 MiB / 200-tensor data of bench_bundle.py (``--size-mib`` to change it), one
variable per tensor in each system (TensorFlow in TF1 mode, ref variables, filled from
placeholders). Timed, side by side in rotated order, medians of ``--repeat``:

  save     ``saver.save(sess, dir/model.ckpt, write_meta_graph=False, write_state=False)``
           into a fresh directory each time (deleted afterwards), for flowsaver and TF,
           next to flowsaver's format-level ``save_tensors`` and a raw write of the same
           bytes (one ``write`` per array), the floor for any format;
  restore  ``saver.restore(sess, prefix)`` of a checkpoint written once by each system
           (warm page cache), next to a raw read into fresh arrays and flowsaver's
           format-level read (``get_tensors`` with CRC checks).

``--busy`` runs everything a second time beside two ``while True: pass`` processes that the
script starts and stops. The load average is printed with every table: the machine is
shared, so it is never truly idle.

Usage (from the repository root):
  PYTHONPATH=. .venv/bin/python bench/bench_saver.py [--repeat 7] [--size-mib 512] [--busy]
      [--write]   (appends the tables to bench/results_saver.md)
"""
from __future__ import annotations

import argparse
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

import flowsaver
from flowsaver.format.bundle_read import BundleReader
from flowsaver.format.bundle_write import save_tensors

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from machine import cpu_text  # noqa: E402
from bench_bundle import TFSaver, make_tensors, raw_reader, raw_writer, rotations, timed  # noqa

HERE = pathlib.Path(__file__).resolve().parent


class OurSaver:
    """flowsaver's graph: one variable per tensor filled from placeholders, and a Saver."""

    def __init__(self, tensors: dict):
        self.graph = flowsaver.Graph()
        with self.graph.as_default():
            feeds, variables = {}, {}
            for name, array in tensors.items():
                ph = flowsaver.placeholder(flowsaver.as_dtype(array.dtype), array.shape)
                variables[name] = flowsaver.Variable(ph, name=name)
                feeds[ph] = array
            self.saver = flowsaver.train.Saver(var_list=variables)
            init = flowsaver.global_variables_initializer()
        self.session = flowsaver.Session(graph=self.graph)
        self.session.run(init, feed_dict=feeds)

    def __call__(self, d):
        self.saver.save(self.session, os.path.join(d, "model.ckpt"),
                        write_meta_graph=False, write_state=False)

    def restore(self, prefix):
        self.saver.restore(self.session, prefix)


def _tf_restore(saver: TFSaver):
    return lambda prefix: saver.saver.restore(saver.session, prefix)


def run(tensors: dict, repeat: int, workdir: str) -> dict:
    import tensorflow as tf
    tf.compat.v1.disable_resource_variables()
    ours, theirs = OurSaver(tensors), TFSaver(tensors)
    writers = {"flowsaver Saver.save": ours, "TF Saver.save": theirs,
               "flowsaver save_tensors": lambda d: save_tensors(
                   os.path.join(d, "model.ckpt"), tensors),
               "raw write": raw_writer(tensors)}
    saves = {name: [] for name in writers}
    for r, order in enumerate(rotations(list(writers), repeat)):
        for name in order:
            d = os.path.join(workdir, f"w{r}-{name.split()[0]}-{name.split()[-1]}")
            os.mkdir(d)
            saves[name].append(timed(lambda: writers[name](d))[0].seconds)
            shutil.rmtree(d)
    # checkpoints to restore, one written by each system, and the raw file
    for name, system in (("ours", ours), ("theirs", theirs), ("raw", raw_writer(tensors))):
        os.makedirs(os.path.join(workdir, name))
        system(os.path.join(workdir, name))
    ours_prefix = os.path.join(workdir, "ours", "model.ckpt")
    theirs_prefix = os.path.join(workdir, "theirs", "model.ckpt")
    readers = {
        "flowsaver Saver.restore": lambda: ours.restore(theirs_prefix),
        "TF Saver.restore": lambda: _tf_restore(theirs)(theirs_prefix),
        "flowsaver get_tensors": lambda: BundleReader(ours_prefix).get_tensors(list(tensors)),
        "raw read": raw_reader(os.path.join(workdir, "raw", "model.raw"), tensors),
    }
    for fn in readers.values():   # warm the page cache
        fn()
    restores = {name: [] for name in readers}
    for order in rotations(list(readers), repeat):
        for name in order:
            sample, result = timed(readers[name])
            del result
            restores[name].append(sample.seconds)
    ours.session.close()
    theirs.close()
    return {"save": saves, "restore": restores}


def table(results: dict, label: str, before: str, after: str, size: int) -> str:
    lines = [f"### {label} ({before} before, {after} after)", "",
             "| operation | median | min | MiB/s | vs raw (throughput) |",
             "|---|---:|---:|---:|---:|"]
    for kind, raw in (("save", "raw write"), ("restore", "raw read")):
        times = results[kind]
        raw_med = statistics.median(times[raw])
        for name, samples in times.items():
            med = statistics.median(samples)
            lines.append(f"| {name} | {med:.3f} s | {min(samples):.3f} s | "
                         f"{size / (1 << 20) / med:,.0f} | {raw_med / med:.2f} |")
    s, r = results["save"], results["restore"]
    speed = statistics.median(s["TF Saver.save"]) / statistics.median(s["flowsaver Saver.save"])
    rest = statistics.median(r["TF Saver.restore"]) / \
        statistics.median(r["flowsaver Saver.restore"])
    lines += ["", f"Saver.save: flowsaver {speed:.2f}x faster than TensorFlow (goal >= 1.5x); "
                  f"Saver.restore: {rest:.2f}x (goal >= 1.0x)."]
    return "\n".join(lines)


def load_text() -> str:
    return "load average %.2f, %.2f, %.2f" % os.getloadavg()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--size-mib", type=int, default=512)
    parser.add_argument("--busy", action="store_true")
    parser.add_argument("--dir", default=None)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    tensors = make_tensors(args.size_mib << 20)
    size = sum(a.nbytes for a in tensors.values())
    tables = []
    for mode in (["idle", "busy"] if args.busy else ["idle"]):
        procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                 for _ in range(2 if mode == "busy" else 0)]
        workdir = tempfile.mkdtemp(prefix="bench-saver-", dir=args.dir)
        try:
            before = load_text()
            results = run(tensors, args.repeat, workdir)
            after = load_text()
        finally:
            for p in procs:
                p.terminate()
                p.wait()
            shutil.rmtree(workdir, ignore_errors=True)
        label = "two other busy processes" if mode == "busy" else "idle (shared machine)"
        tables.append(table(results, label, before, after, size))
        print(tables[-1], flush=True)
    if args.write:
        header = (f"## Run of {time.strftime('%Y-%m-%d %H:%M')}\n\n{size / (1 << 20):.0f} MiB "
                  f"in {len(tensors)} tensors, medians of {args.repeat}, "
                  f"{cpu_text()}, NumPy {np.__version__}.\n\n")
        with open(HERE / "results_saver.md", "a") as f:
            f.write(header + "\n\n".join(tables) + "\n\n")


if __name__ == "__main__":
    main()
