"""Checkpoint throughput: flowsaver vs TensorFlow vs safetensors vs plain file I/O.

Measures, on the same float32 tensors (about 200 of them, sizes spread log-uniformly):
  write  flowsaver save_tensors | tf.compat.v1.train.Saver.save | safetensors save_file | raw
  read   flowsaver BundleReader (CRC on, and off) | tf.train.load_checkpoint | safetensors
         load_file | raw (readinto a fresh np.empty per tensor)
  open   a 1000-tensor checkpoint: flowsaver BundleReader(prefix) vs tf.train.load_checkpoint;
         also open + read one tensor, and open + get_variable_to_shape_map()

Every writer writes into a fresh directory on each repetition; the files are deleted after
the timed call. Reads run with a warm page cache (every file is written, then read and
checked once, before timing). Systems alternate inside every repetition, in a rotated
order, so drift hits all alike. Results are medians; the tables are printed and written to
bench/results.md. On Linux each sample also records how much of the machine's CPU other
processes used meanwhile, so that a noisy run shows as one.

Usage (from the repository root):
  PYTHONPATH=. .venv/bin/python bench/bench_bundle.py [--size-mib 512] [--repeat 7]
                                                      [--dir /tmp] [--quick] [--verbose]
                                                      [--busy] [--out bench/results.md]
"""
from __future__ import annotations

import argparse
import gc
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from flowsaver.format.bundle_read import BundleReader
from flowsaver.format.reader import CheckpointReader
from flowsaver.format.bundle_write import save_tensors
from machine import cpu_text  # bench/ (this script's directory)

MIB = 1 << 20
NUM_TENSORS = 200
TINY_SHAPES = [(), (1,), (10,), (3, 3)]   # a global_step, a bias or two
SMALLEST_TO_LARGEST = 5000       # log-uniform spread: ~4 KiB to ~20 MiB at 512 MiB total
ELEMENT_QUANTUM = 256            # the big tensors are (rows, 256) float32 matrices
OPEN_TENSORS = 1000
OPENS_PER_REPEAT = 10
SEED = 20240611
RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results.md")
RAW = "raw"
BATCH = "flowsaver get_tensors"


# --- the data ---------------------------------------------------------------------------
def make_tensors(total_bytes: int, seed: int = SEED) -> dict[str, np.ndarray]:
    """``total_bytes`` (plus a few tiny tensors) of seeded random float32, NUM_TENSORS tensors."""
    rng = np.random.default_rng(seed)
    quanta = total_bytes // (4 * ELEMENT_QUANTUM)
    weights = np.geomspace(1.0, SMALLEST_TO_LARGEST, NUM_TENSORS - len(TINY_SHAPES))
    rows = np.maximum(1, np.floor(weights * quanta / weights.sum())).astype(np.int64)
    rows[-1] += quanta - rows.sum()              # the largest absorbs the rounding
    rows = rng.permutation(rows)                 # key order is not size order
    tensors = {f"model/layer_{i:03d}/kernel": rng.standard_normal((int(n), ELEMENT_QUANTUM),
                                                                  dtype=np.float32)
               for i, n in enumerate(rows)}
    for i, shape in enumerate(TINY_SHAPES):
        tensors[f"model/tiny_{i}"] = rng.standard_normal(shape, dtype=np.float32)
    return tensors


def make_small_tensors(count: int, seed: int = SEED) -> dict[str, np.ndarray]:
    """``count`` small tensors (1 to 4096 elements) for the open-time benchmark."""
    rng = np.random.default_rng(seed + 1)
    return {f"net/block_{i // 10:03d}/unit_{i % 10}/w": rng.standard_normal(
                int(rng.integers(1, 4097)), dtype=np.float32)
            for i in range(count)}


def nbytes(tensors: dict) -> int:
    return sum(a.nbytes for a in tensors.values())


# --- writers: fn(directory) writes every tensor under it ---------------------------------
def flowsaver_writer(tensors):
    return lambda d: save_tensors(os.path.join(d, "model.ckpt"), tensors)


def safetensors_writer(tensors):
    from safetensors.numpy import save_file
    return lambda d: save_file(tensors, os.path.join(d, "model.safetensors"))


def raw_writer(tensors):
    """Every array's bytes, in key order, to one file: the floor for any format."""
    arrays = [tensors[k] for k in sorted(tensors)]

    def write(d):
        with open(os.path.join(d, "model.raw"), "wb", buffering=0) as f:
            for a in arrays:
                f.write(a)
    return write


class TFSaver:
    """A TF1 graph with one variable per tensor, filled from placeholders, and a Saver."""

    def __init__(self, tensors: dict):
        import tensorflow as tf
        tf.compat.v1.disable_eager_execution()
        self.graph = tf.Graph()
        with self.graph.as_default():
            feeds, variables = {}, {}
            for name, array in tensors.items():
                ph = tf.compat.v1.placeholder(tf.as_dtype(array.dtype), array.shape)
                variables[name] = tf.compat.v1.Variable(ph, name=name)
                feeds[ph] = array
            self.saver = tf.compat.v1.train.Saver(var_list=variables)
            init = tf.compat.v1.global_variables_initializer()
        self.session = tf.compat.v1.Session(graph=self.graph)
        self.session.run(init, feed_dict=feeds)

    def __call__(self, d):
        self.saver.save(self.session, os.path.join(d, "model.ckpt"),
                        write_meta_graph=False, write_state=False)

    def close(self):
        self.session.close()


# --- readers: fn() returns {name: ndarray} -------------------------------------------------
def flowsaver_reader(prefix, verify_crc=True):
    def read():
        with BundleReader(prefix, verify_crc=verify_crc) as r:
            return {name: r.get_tensor(name) for name in r.names()}
    return read


def flowsaver_batch_reader(prefix):
    """One get_tensors call: each CRC is checked while the next tensor is read."""
    def read():
        with BundleReader(prefix) as r:
            return r.get_tensors(r.names())
    return read


def tf_reader(prefix):
    import tensorflow as tf

    def read():
        r = tf.train.load_checkpoint(prefix)
        return {name: r.get_tensor(name) for name in r.get_variable_to_shape_map()}
    return read


def safetensors_reader(path):
    from safetensors.numpy import load_file
    return lambda: load_file(path)


def raw_reader(path, tensors):
    """Reads the raw file into one fresh buffer per tensor; the layout comes from memory."""
    layout = [(k, tensors[k].shape, tensors[k].dtype) for k in sorted(tensors)]

    def read():
        out = {}
        with open(path, "rb", buffering=0) as f:
            for name, shape, dtype in layout:
                a = np.empty(shape, dtype)
                view, got = memoryview(a).cast("B"), 0
                while got < a.nbytes:
                    n = f.readinto(view[got:])
                    if not n:
                        raise EOFError(path)
                    got += n
                out[name] = a
        return out
    return read


# --- timing -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Sample:
    seconds: float
    others: float | None   # share of the machine's CPU used by other processes meanwhile


def _busy_ticks() -> int | None:
    """Non-idle CPU ticks of the whole machine so far (Linux), else None."""
    try:
        with open("/proc/stat") as f:
            ticks = [int(x) for x in f.readline().split()[1:9]]
    except OSError:
        return None
    return sum(ticks) - ticks[3] - ticks[4]    # minus idle and iowait


def _own_ticks() -> float:
    t = os.times()
    return (t.user + t.system) * os.sysconf("SC_CLK_TCK")


def _load_malloc_trim():
    """glibc's ``malloc_trim``, which gives the C allocator's free pages back to the
    system, or None elsewhere.

    Without it, whether a reader's fresh arrays fault in new pages or reuse the heap
    depends on which system ran before it in the rotation: a 2x swing in read times that
    is the allocator's state, not the reader's speed. Every sample starts from the same
    state instead.
    """
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


_malloc_trim = _load_malloc_trim()


def timed(fn: Callable[[], object], release: bool = True) -> tuple[Sample, object]:
    """One sample of fn(); ``release`` first returns freed memory to the system (for the
    reads and writes of hundreds of MiB, not for millisecond opens, which it would only
    slow with page faults)."""
    gc.collect()
    if release and _malloc_trim is not None:
        _malloc_trim(0)
    busy, own = _busy_ticks(), _own_ticks()
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    others = None
    if busy is not None:
        capacity = seconds * os.sysconf("SC_CLK_TCK") * (os.cpu_count() or 1)
        others = max(0.0, (_busy_ticks() - busy - (_own_ticks() - own)) / capacity)
    return Sample(seconds, others), result


def rotations(names: list[str], repeat: int):
    """One order per repetition; each system takes every position in turn."""
    for r in range(repeat):
        k = r % len(names)
        yield names[k:] + names[:k]


def bench_writes(writers: dict, workdir: str, repeat: int, log) -> dict[str, list[Sample]]:
    samples = {name: [] for name in writers}
    for r, order in enumerate(rotations(list(writers), repeat)):
        for name in order:
            d = os.path.join(workdir, f"write-{r}-{name.split()[0]}")
            os.mkdir(d)
            sample, _ = timed(lambda: writers[name](d))
            shutil.rmtree(d)
            samples[name].append(sample)
            log(f"write {r} {name}: {sample.seconds:.3f} s")
    return samples


def bench_reads(readers: dict, repeat: int, log) -> dict[str, list[Sample]]:
    samples = {name: [] for name in readers}
    for r, order in enumerate(rotations(list(readers), repeat)):
        for name in order:
            sample, result = timed(readers[name])
            del result
            samples[name].append(sample)
            log(f"read {r} {name}: {sample.seconds:.3f} s")
    gc.collect()
    return samples


def bench_open(prefix: str, repeat: int) -> dict[str, list[Sample]]:
    """Open the index; open and read one tensor; open and list every shape. TensorFlow's
    load_checkpoint parses every entry when it opens; flowsaver's readers parse entries
    when first used, as TensorFlow's C++ BundleReader does, so each pair is one task."""
    import tensorflow as tf
    one = BundleReader(prefix).names()[500]

    def fs_one():
        with BundleReader(prefix) as reader:
            return reader.get_tensor(one)
    openers = {"flowsaver BundleReader(prefix)": lambda: BundleReader(prefix).close(),
               "flowsaver open + names()": lambda: BundleReader(prefix).names(),
               "flowsaver open + get_tensor(one)": fs_one,
               "flowsaver open + get_variable_to_shape_map()":
                   lambda: CheckpointReader(prefix).get_variable_to_shape_map(),
               "TF load_checkpoint(prefix)": lambda: tf.train.load_checkpoint(prefix),
               "TF open + get_tensor(one)":
                   lambda: tf.train.load_checkpoint(prefix).get_tensor(one),
               "TF open + get_variable_to_shape_map()":
                   lambda: tf.train.load_checkpoint(prefix).get_variable_to_shape_map()}
    samples = {name: [] for name in openers}
    for order in rotations(list(openers), repeat):
        for name in order:
            for _ in range(OPENS_PER_REPEAT):
                samples[name].append(timed(openers[name], release=False)[0])
    return samples


# --- correctness, once, outside timing -----------------------------------------------------
def check_equal(system: str, got: dict, want: dict) -> None:
    if set(got) != set(want):
        raise AssertionError(f"{system}: names differ: {sorted(set(got) ^ set(want))[:5]}")
    for name, a in want.items():
        b = np.asarray(got[name])
        if b.dtype != a.dtype or b.shape != a.shape or not np.array_equal(a, b):
            raise AssertionError(f"{system}: tensor {name!r} differs ({b.dtype} {b.shape})")


def same_files(a: str, b: str) -> bool:
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            x, y = fa.read(16 * MIB), fb.read(16 * MIB)
            if x != y:
                return False
            if not x:
                return True


# --- report -----------------------------------------------------------------------------
def median_s(samples: list[Sample]) -> float:
    return statistics.median(s.seconds for s in samples)


def others_text(samples: list[Sample]) -> str:
    shares = [s.others for s in samples if s.others is not None]
    return f"{statistics.median(shares):.0%}" if shares else "n/a"


def paired(times: dict, num: str, den: str) -> float:
    """Median over repetitions of num/den times taken in the same repetition (drift-robust)."""
    return statistics.median(a.seconds / b.seconds for a, b in zip(times[num], times[den]))


def table(title: str, times: dict, size: int) -> str:
    raw = median_s(times[RAW])
    lines = [f"### {title}", "",
             "| system | median s | min s | MiB/s (median) | throughput vs raw | "
             "others' CPU |", "|---|---:|---:|---:|---:|---:|"]
    for name, samples in times.items():
        med = median_s(samples)
        lines.append(f"| {name} | {med:.3f} | {min(s.seconds for s in samples):.3f} | "
                     f"{size / MIB / med:,.0f} | {raw / med:.2f} | {others_text(samples)} |")
    return "\n".join(lines) + "\n"


def open_table(times: dict) -> str:
    lines = ["### Open a 1000-tensor checkpoint (reads the index only)", "",
             "| system | median ms | min ms |", "|---|---:|---:|"]
    lines += [f"| {name} | {median_s(t) * 1e3:.2f} | {min(s.seconds for s in t) * 1e3:.2f} |"
              for name, t in times.items()]
    return "\n".join(lines) + "\n"


def targets(w: dict, r: dict, o: dict) -> str:
    """The goals of issue 17 (checkpoint I/O), each judged on the ratio of medians."""
    fs_open, tf_open = o["flowsaver BundleReader(prefix)"], o["TF load_checkpoint(prefix)"]
    checks = [  # measure, from medians, paired (open: of minimums), goal, test
        ("write: flowsaver / raw throughput", median_s(w[RAW]) / median_s(w["flowsaver"]),
         paired(w, RAW, "flowsaver"), ">= 0.90", lambda v: v >= 0.9),
        ("write: flowsaver speedup vs TF Saver",
         median_s(w["TF Saver.save"]) / median_s(w["flowsaver"]),
         paired(w, "TF Saver.save", "flowsaver"), "(info)", None),
        ("read: flowsaver get_tensor each (CRC on) / raw throughput",
         median_s(r[RAW]) / median_s(r["flowsaver"]), paired(r, RAW, "flowsaver"),
         ">= 0.95", lambda v: v >= 0.95),
        ("read: flowsaver get_tensors (CRC on) / raw throughput",
         median_s(r[RAW]) / median_s(r[BATCH]), paired(r, RAW, BATCH),
         ">= 0.95", lambda v: v >= 0.95),
        ("read: flowsaver speedup vs TF load_checkpoint",
         median_s(r["TF load_checkpoint"]) / median_s(r["flowsaver"]),
         paired(r, "TF load_checkpoint", "flowsaver"), ">= 1.00", lambda v: v >= 1.0),
        ("open 1000 tensors: flowsaver time / TF's", median_s(fs_open) / median_s(tf_open),
         min(s.seconds for s in fs_open) / min(s.seconds for s in tf_open), "<= 1.00",
         lambda v: v <= 1.0),
    ]
    for task in ("get_tensor(one)", "get_variable_to_shape_map()"):
        fs, tf = o[f"flowsaver open + {task}"], o[f"TF open + {task}"]
        checks.append((f"open + {task}: flowsaver time / TF's", median_s(fs) / median_s(tf),
                       min(s.seconds for s in fs) / min(s.seconds for s in tf), "(info)",
                       None))
    lines = ["### Targets", "",
             "| measure | from medians | median of per-repetition ratios (open: of minimums) "
             "| target | met |", "|---|---:|---:|---|---|"]
    for what, value, pair, goal, ok in checks:
        met = "" if ok is None else ("yes" if ok(value) else "**no**")
        lines.append(f"| {what} | {value:.2f} | {pair:.2f} | {goal} | {met} |")
    return "\n".join(lines) + "\n"


def environment(args, size: int, workdir: str, identical: bool, load: tuple) -> str:
    import crc32c
    import safetensors
    import tensorflow as tf
    return (f"{size / MIB:.1f} MiB of float32 in {NUM_TENSORS} tensors (log-uniform sizes, "
            f"{len(TINY_SHAPES)} of them tiny), {args.repeat} repetitions, medians; warm page "
            f"cache; files in `{os.path.dirname(workdir)}`.  \n"
            f"{cpu_text()}; Python {platform.python_version()}, NumPy "
            f"{np.__version__}, TensorFlow {tf.__version__}, safetensors "
            f"{safetensors.__version__}, crc32c {crc32c.__version__} (hardware: "
            f"{crc32c.hardware_based}). Load average before / after: {load[0]:.2f} / "
            f"{load[1]:.2f}; \"others' CPU\" is the median share of the machine other "
            f"processes used during that system's samples.  \n"
            f"flowsaver's .index and .data byte-identical to TF Saver's: "
            f"{'yes' if identical else '**no**'}. Every reader's values checked equal to the "
            f"originals once, outside timing.\n")


# --- main -------------------------------------------------------------------------------
def prepare_reads(writers: dict, tensors: dict, workdir: str) -> tuple[dict, bool]:
    """Write each format once (a warm-up too), check it, and return the readers."""
    src = {}
    for name, write in writers.items():
        src[name] = os.path.join(workdir, "read-" + name.split()[0])
        os.mkdir(src[name])
        write(src[name])
    fs_prefix = os.path.join(src["flowsaver"], "model.ckpt")
    tf_prefix = os.path.join(src["TF Saver.save"], "model.ckpt")
    identical = all(same_files(fs_prefix + ext, tf_prefix + ext)
                    for ext in (".index", ".data-00000-of-00001"))
    readers = {"flowsaver": flowsaver_reader(fs_prefix),
               BATCH: flowsaver_batch_reader(fs_prefix),
               "flowsaver (verify_crc=False)": flowsaver_reader(fs_prefix, False),
               "TF load_checkpoint": tf_reader(fs_prefix),
               "safetensors": safetensors_reader(
                   os.path.join(src["safetensors"], "model.safetensors")),
               RAW: raw_reader(os.path.join(src[RAW], "model.raw"), tensors)}
    for name, read in readers.items():
        check_equal(name, read(), tensors)
    check_equal("flowsaver reading TF's file", flowsaver_reader(tf_prefix)(), tensors)
    check_equal("TF reading TF's file", tf_reader(tf_prefix)(), tensors)
    return readers, identical


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mib", type=int, default=512)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--dir", default=None, help="parent of the scratch directory")
    parser.add_argument("--quick", action="store_true", help="64 MiB, 3 repetitions")
    parser.add_argument("--verbose", action="store_true", help="print every sample")
    parser.add_argument("--busy", action="store_true",
                        help="run beside two `while True: pass` processes")
    parser.add_argument("--out", default=RESULTS, help="where the report goes")
    args = parser.parse_args(argv)
    if args.quick:
        args.size_mib, args.repeat = 64, 3
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    log = print if args.verbose else (lambda *a: None)

    tensors = make_tensors(args.size_mib * MIB)
    size = nbytes(tensors)
    workdir = tempfile.mkdtemp(prefix="flowsaver-bench-", dir=args.dir)
    print(f"{len(tensors)} tensors, {size / MIB:.1f} MiB, largest "
          f"{max(a.nbytes for a in tensors.values()) / MIB:.1f} MiB, in {workdir}")
    spinners = []
    try:
        for _ in range(2 if args.busy else 0):
            spinners.append(subprocess.Popen([sys.executable, "-c", "while True: pass"]))
        time.sleep(1.0 if spinners else 0)
        load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        tf_saver = TFSaver(tensors)
        writers = {"flowsaver": flowsaver_writer(tensors), "TF Saver.save": tf_saver,
                   "safetensors": safetensors_writer(tensors), RAW: raw_writer(tensors)}
        readers, identical = prepare_reads(writers, tensors, workdir)
        w_times = bench_writes(writers, workdir, args.repeat, log)
        tf_saver.close()
        del tf_saver, writers
        r_times = bench_reads(readers, args.repeat, log)
        small_prefix = save_tensors(os.path.join(workdir, "open", "model.ckpt"),
                                    make_small_tensors(OPEN_TENSORS))
        o_times = bench_open(small_prefix, args.repeat)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        load_after = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        for p in spinners:
            p.terminate()
            p.wait()

    report = "\n".join([
        "## Checkpoint benchmark (`bench/bench_bundle.py`)" +
        (", beside two busy processes" if args.busy else ""), "",
        environment(args, size, workdir, identical, (load_before, load_after)),
        table("Write every tensor (fresh files each time)", w_times, size),
        table("Read every tensor into NumPy", r_times, size),
        open_table(o_times),
        targets(w_times, r_times, o_times)])
    print(report)
    with open(args.out, "w") as f:
        f.write(report)


if __name__ == "__main__":
    main()
