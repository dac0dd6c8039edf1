"""Conversion and zero-copy read benchmarks: flowsaver vs TensorFlow (+ safetensors).

1. Convert a TensorFlow-written checkpoint (512 MiB of float32 in 200 tensors, as in
   bench_bundle.py) to .safetensors:
     flowsaver   flowsaver.convert(prefix, "out.safetensors")  (tensor by tensor)
     TF + st     tf.train.load_checkpoint(prefix) + get_tensor of every name, then
                 safetensors.numpy.save_file(all tensors, "out.safetensors")
   Each conversion runs in a fresh process, so that its peak resident size (VmHWM, reset
   just before the conversion) is its own; only the conversion is timed, not the imports.
   Both outputs are checked equal once.
2. Peak memory converting a ~1 GiB TensorFlow checkpoint whose largest tensor is 256 MiB,
   against the issue's bound: largest tensor + 100 MiB.
3. Open a checkpoint and read one tensor, on the 1 GiB checkpoint (warm page cache):
     flowsaver   load_checkpoint(prefix, mmap=True).get_tensor(name) (and without mmap)
     TF          tf.train.load_checkpoint(prefix).get_tensor(name)
   for a 4 MiB tensor (summed, so that every byte is touched by every system) and for one
   row of the 256 MiB tensor (where a memory map reads only that row's pages).

Systems alternate in a rotated order inside every repetition; medians are reported, with
the share of the machine's CPU that other processes used meanwhile. Everything runs once
as is and once beside one busy process of our own (a Python loop), to show how the ratios
move under load. Results go to bench/results_convert.md.

Usage (from the repository root; needs TensorFlow and safetensors):
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE PYTHONPATH=. .venv/bin/python \\
      bench/bench_convert.py [--repeat 5] [--dir /tmp] [--quick] [--modes idle,busy]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

from bench_bundle import MIB, make_tensors, others_text, rotations, timed

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RESULTS = os.path.join(HERE, "results_convert.md")
BIG_TENSOR_ROWS = 256 * MIB // (4 * 1024)          # a (65536, 1024) float32 = 256 MiB
BOUND_SLACK = 100 * MIB
MODES = {"idle": "no load of ours; other sessions' processes ran meanwhile, see others' CPU",
         "busy": "beside one busy process of ours, a Python `while True: pass` loop"}
FLOWSAVER, TF_ST = "flowsaver convert", "TF load_checkpoint + safetensors save_file"

CHILD = r"""
import json, os, sys, time
sys.path.insert(0, sys.argv[4])
from bench_bundle import timed
system, prefix, out = sys.argv[1:4]
if system == "flowsaver":
    import flowsaver.cli.convert as c
    run = lambda: c.convert(prefix, out)
else:
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import numpy as np
    import tensorflow as tf
    from safetensors.numpy import save_file
    def run():   # np.asarray: get_tensor gives 0-d tensors as NumPy scalars
        r = tf.train.load_checkpoint(prefix)
        save_file({n: np.asarray(r.get_tensor(n)) for n in r.get_variable_to_shape_map()},
                  out)

def high_water():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmHWM:"))

with open("/proc/self/clear_refs", "w") as f:
    f.write("5")
before = high_water()
sample, _ = timed(run)
print(json.dumps({"seconds": sample.seconds, "others": sample.others,
                  "rss_before": before, "rss_peak": high_water()}))
"""


def write_tf_checkpoint(prefix: str, tensors: dict) -> None:
    """Written by TensorFlow's own SaveV2 (eager), as a Saver would write it."""
    import tensorflow as tf
    names = sorted(tensors)
    tf.raw_ops.SaveV2(prefix=prefix, tensor_names=names, shape_and_slices=[""] * len(names),
                      tensors=[tf.constant(tensors[n]) for n in names])


def convert_once(system: str, prefix: str, out: str) -> dict:
    kind = "flowsaver" if system == FLOWSAVER else "tf"
    env = dict(os.environ, PYTHONPATH=ROOT)
    done = subprocess.run([sys.executable, "-c", CHILD, kind, prefix, out, HERE],
                          capture_output=True, text=True, env=env, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"{system} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench_convert(prefix: str, workdir: str, repeat: int, log) -> dict[str, list[dict]]:
    results = {FLOWSAVER: [], TF_ST: []}
    for r, order in enumerate(rotations(list(results), repeat)):
        for system in order:
            out = os.path.join(workdir, f"out-{r}-{system.split()[0]}.safetensors")
            got = convert_once(system, prefix, out)
            if r == 0:
                results.setdefault("_outputs", []).append((system, out))
            else:
                os.remove(out)
            results[system].append(got)
            log(f"convert {r} {system}: {got['seconds']:.3f} s, peak "
                f"{got['rss_peak'] / MIB:.0f} MiB")
    return results


def check_outputs(outputs: list) -> None:
    from safetensors.numpy import load_file
    (_, a), (_, b) = outputs
    x, y = load_file(a), load_file(b)
    assert x.keys() == y.keys() and all(np.array_equal(x[k], y[k]) for k in x)
    for _, path in outputs:
        os.remove(path)


def bench_reads(prefix: str, small: str, big: str, repeat: int) -> dict:
    import flowsaver.train as fst
    import tensorflow as tf

    def flowsaver_read(mmap, name, row=None):
        def run():
            value = fst.load_checkpoint(prefix, mmap=mmap).get_tensor(name)
            return float((value if row is None else value[row]).sum())
        return run

    def tf_read(name, row=None):
        def run():
            value = tf.train.load_checkpoint(prefix).get_tensor(name)
            return float((value if row is None else value[row]).sum())
        return run

    cases = {
        "4 MiB tensor": {"flowsaver mmap=True": flowsaver_read(True, small),
                         "flowsaver (copying reader)": flowsaver_read(False, small),
                         "TF load_checkpoint": tf_read(small)},
        "one row of the largest tensor": {"flowsaver mmap=True": flowsaver_read(True, big, 777),
                                          "flowsaver (copying reader)":
                                              flowsaver_read(False, big, 777),
                                          "TF load_checkpoint": tf_read(big, 777)},
    }
    samples = {case: {name: [] for name in systems} for case, systems in cases.items()}
    others = {}
    for case, systems in cases.items():
        answers = {name: fn() for name, fn in systems.items()}   # warm-up, and a check
        assert len(set(answers.values())) == 1, answers
        # Calls of a few ms are shorter than the CPU tick, so other processes' share is
        # taken over the whole loop of a case rather than per call.
        whole, _ = timed(lambda: [samples[case][name].append(timed(systems[name])[0])
                                  for order in rotations(list(systems), repeat * 4)
                                  for name in order])
        others[case] = whole.others
    return samples, others


# --- report ------------------------------------------------------------------------------
def med(values) -> float:
    return statistics.median(values)


def convert_table(results: dict, size: int, mode: str) -> list[str]:
    fs, tf = results[FLOWSAVER], results[TF_ST]
    ratio = med(t["seconds"] / f["seconds"] for f, t in zip(fs, tf))
    lines = [f"### Convert {size / MIB:.0f} MiB TF checkpoint -> .safetensors ({mode})", "",
             "| system | median s | min s | MiB/s | peak RSS growth MiB (median) | "
             "others' CPU |", "|---|---:|---:|---:|---:|---:|"]
    for name, runs in ((FLOWSAVER, fs), (TF_ST, tf)):
        secs = [r["seconds"] for r in runs]
        grew = med(r["rss_peak"] - r["rss_before"] for r in runs) / MIB
        lines.append(f"| {name} | {med(secs):.3f} | {min(secs):.3f} | "
                     f"{size / MIB / med(secs):,.0f} | {grew:,.0f} | "
                     f"{others_text([_Sample(r) for r in runs])} |")
    lines += ["", f"TF + safetensors time / flowsaver time, median of per-repetition ratios: "
                  f"**{ratio:.2f}**", ""]
    return lines


class _Sample:
    def __init__(self, r):
        self.seconds, self.others = r["seconds"], r["others"]


def reads_table(measured: tuple, size: int, mode: str) -> list[str]:
    samples, others = measured
    lines = [f"### Open the {size / MIB:.0f} MiB checkpoint and read one tensor ({mode}, "
             f"warm cache)", "",
             "| read | system | median ms | min ms | TF time / this (medians) |",
             "|---|---|---:|---:|---:|"]
    for case, systems in samples.items():
        tf_median = med(s.seconds for s in systems["TF load_checkpoint"])
        for name, runs in systems.items():
            m = med(s.seconds for s in runs)
            lines.append(f"| {case} | {name} | {m * 1e3:.2f} | "
                         f"{min(s.seconds for s in runs) * 1e3:.2f} | {tf_median / m:.2f} |")
    shares = ", ".join(f"{case}: {share:.0%}" for case, share in others.items()
                       if share is not None)
    return lines + ["", f"Others' CPU over each loop of calls: {shares}.", ""]


def memory_lines(runs: list[dict], tf_runs: list[dict], largest: int, size: int,
                 mode: str) -> list[str]:
    peak = med(r["rss_peak"] for r in runs)
    grew = med(r["rss_peak"] - r["rss_before"] for r in runs)
    bound = largest + BOUND_SLACK
    tf_peak = med(r["rss_peak"] for r in tf_runs)
    return [f"### Peak memory converting {size / MIB:.0f} MiB (largest tensor "
            f"{largest / MIB:.0f} MiB) -> .safetensors ({mode})", "",
            "| system | peak RSS MiB (whole process) | growth during the conversion MiB |",
            "|---|---:|---:|",
            f"| {FLOWSAVER} | {peak / MIB:,.0f} | {grew / MIB:,.0f} |",
            f"| {TF_ST} | {tf_peak / MIB:,.0f} | "
            f"{med(r['rss_peak'] - r['rss_before'] for r in tf_runs) / MIB:,.0f} |", "",
            f"Bound: largest tensor + 100 MiB = {bound / MIB:.0f} MiB; flowsaver's whole-process "
            f"peak is {'under' if peak < bound else 'OVER'} it "
            f"({peak / MIB:.0f} MiB, of which {(peak - grew) / MIB:.0f} MiB is the "
            f"interpreter and its imports).", ""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--dir", default=None, help="parent of the scratch directory")
    parser.add_argument("--quick", action="store_true", help="64 MiB / 128 MiB, 2 reps")
    parser.add_argument("--modes", default="idle,busy")
    args = parser.parse_args()
    repeat = 2 if args.quick else args.repeat
    size = (64 if args.quick else 512) * MIB
    big_rows = BIG_TENSOR_ROWS // (8 if args.quick else 1)
    log = lambda text: print(text, file=sys.stderr, flush=True)   # noqa: E731
    workdir = tempfile.mkdtemp(prefix="bench_convert_", dir=args.dir)
    lines = ["## Conversion benchmark (`bench/bench_convert.py`)", ""]
    try:
        import tensorflow as tf
        import safetensors
        tensors = make_tensors(size)
        prefix = os.path.join(workdir, "model.ckpt")
        write_tf_checkpoint(prefix, tensors)
        del tensors
        big = make_tensors(3 * size // 2)   # 768 MiB, plus the 256 MiB embedding: 1 GiB
        sizes = {name: array.nbytes for name, array in big.items()}
        mid = min(sizes, key=lambda name: abs(sizes[name] - 4 * MIB))   # ~4 MiB tensor
        big["embedding"] = np.random.default_rng(7).standard_normal(
            (big_rows, 1024), dtype=np.float32)
        largest = big["embedding"].nbytes
        big_size = sum(a.nbytes for a in big.values())
        big_prefix = os.path.join(workdir, "big.ckpt")
        write_tf_checkpoint(big_prefix, big)
        del big
        lines += [f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
                  f"Python {platform.python_version()}, NumPy {np.__version__}, "
                  f"TensorFlow {tf.__version__}, safetensors {safetensors.__version__}. "
                  f"Checkpoints written by TensorFlow's SaveV2; page cache warm; "
                  f"{repeat} repetitions (reads: {repeat * 4}); medians. "
                  f"Load average at start: {os.getloadavg()[0]:.2f}. "
                  f"\"others' CPU\": the share of the machine other processes used during "
                  f"the timed calls (in busy mode, our busy loop counts as other).", ""]
        for mode in args.modes.split(","):
            lines += [f"**{mode}**: {MODES[mode]}.", ""]
            busy = subprocess.Popen([sys.executable, "-c", "while True: pass"]) \
                if mode == "busy" else None
            try:
                time.sleep(0.5 if busy else 0)
                results = bench_convert(prefix, workdir, repeat, log)
                check_outputs(results.pop("_outputs"))
                lines += convert_table(results, size, mode)
                mem = bench_convert(big_prefix, workdir, max(2, repeat // 2), log)
                check_outputs(mem.pop("_outputs"))
                lines += memory_lines(mem[FLOWSAVER], mem[TF_ST], largest, big_size, mode)
                lines += reads_table(bench_reads(big_prefix, mid, "embedding", repeat),
                                     big_size, mode)
            finally:
                if busy is not None:
                    busy.kill()
                    busy.wait()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    text = "\n".join(lines) + "\n"
    print(text)
    with open(RESULTS, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
