"""Real models, inference and one training step: flowsaver vs TensorFlow side by side.

The models of bench/model_graphs.py (MNIST CNN, VGG block, ResNet block with batch norm,
transformer encoder layer, LSTM) are built in both systems (TensorFlow in TF1 mode, ref
variables); flowsaver's initial values are loaded into TensorFlow's variables, and the
first outputs and losses of the two are checked to agree before anything is timed. One
sample times ``steps`` consecutive ``sess.run`` calls of the inference output or of the
training op with the same feeds (``steps`` is chosen once so that a sample takes about
0.3 s in TensorFlow); the systems alternate in a rotated order within every repetition;
tables give medians, and the ratio is flowsaver's median over TensorFlow's.

Modes: ``idle`` runs beside whatever else the machine is doing (it is shared: the load
average is printed with every table), ``busy`` beside two ``while True: pass`` processes
this script starts and stops. ``--memory`` also measures the peak resident memory a VGG
training step adds to each system (fresh process per system, see ``memory_child``).

Usage (from the repository root):
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE PYTHONPATH=. .venv/bin/python \\
      bench/bench_models.py [--repeat 7] [--modes idle,busy] [--models a,b] [--memory]
      [--write]   (appends the tables to bench/results_models.md)
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import pathlib
import statistics
import subprocess
import sys
import time

import numpy as np

import flowsaver

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from machine import cpu_text  # noqa: E402
from model_graphs import MODELS, feeds as make_feeds  # noqa: E402

SAMPLE_SECONDS = 0.3
HERE = pathlib.Path(__file__).resolve().parent


def _tf_v1():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # tf.compat.v1.layers needs tf_keras
    import tensorflow as tf
    v1 = tf.compat.v1
    v1.disable_eager_execution()
    v1.disable_resource_variables()
    v1.disable_control_flow_v2()
    v1.disable_v2_tensorshape()
    return v1


def loops_landed() -> bool:
    """Whether flowsaver has ``dynamic_rnn`` (the loops branch) so the LSTM row can run."""
    return hasattr(flowsaver.nn, "dynamic_rnn")


def build(api, name):
    g = api.Graph()
    with g.as_default():
        model = MODELS[name][0](api)
        init = api.global_variables_initializer()
        variables = api.global_variables()
    sess = api.Session(graph=g)
    sess.run(init)
    return sess, model, variables


def sessions(name: str) -> dict:
    """{"flowsaver": (sess, model), "TensorFlow": (sess, model)} with the same weights."""
    ours, our_model, our_vars = build(flowsaver, name)
    values = {v.op.name: ours.run(v) for v in our_vars}
    theirs, their_model, their_vars = build(_tf_v1(), name)
    for v in their_vars:
        v.load(values[v.op.name], theirs)
    return {"flowsaver": (ours, our_model), "TensorFlow": (theirs, their_model)}


def check_agree(name: str, systems: dict, feed: dict) -> None:
    out = {k: s.run([m.output, m.loss], feed) for k, (s, m) in systems.items()}
    a, b = out["flowsaver"], out["TensorFlow"]
    np.testing.assert_allclose(a[0], b[0], rtol=2e-3, atol=2e-4, err_msg=f"{name} output")
    np.testing.assert_allclose(a[1], b[1], rtol=2e-3, err_msg=f"{name} loss")


def time_runs(sess, fetch, feed, steps: int) -> float:
    gc.collect()
    start = time.perf_counter()
    for _ in range(steps):
        sess.run(fetch, feed)
    return (time.perf_counter() - start) / steps


def measure(name: str, repeat: int) -> list[dict]:
    systems = sessions(name)
    feed = make_feeds(name)
    check_agree(name, systems, feed)
    rows = []
    for task in ("inference", "training"):
        fetch = {k: (m.output if task == "inference" else m.train)
                 for k, (_, m) in systems.items()}
        for k, (sess, _) in systems.items():  # warm-up: plans compiled, buffers sized
            time_runs(sess, fetch[k], feed, 2)
        one = time_runs(systems["TensorFlow"][0], fetch["TensorFlow"], feed, 3)
        steps = max(2, min(200, round(SAMPLE_SECONDS / one)))
        samples = {k: [] for k in systems}
        names = list(systems)
        for rep in range(repeat):
            for k in names[rep % 2:] + names[:rep % 2]:
                samples[k].append(time_runs(systems[k][0], fetch[k], feed, steps))
        med = {k: statistics.median(v) for k, v in samples.items()}
        ratios = [a / b for a, b in zip(samples["flowsaver"], samples["TensorFlow"])]
        rows.append({"model": name, "task": task, "flowsaver": med["flowsaver"],
                     "TensorFlow": med["TensorFlow"],
                     "ratio": med["flowsaver"] / med["TensorFlow"],
                     "ratio_of_reps": statistics.median(ratios)})
        print(f"  {name:13s} {task:9s} flowsaver {med['flowsaver'] * 1e3:8.2f} ms  "
              f"TF {med['TensorFlow'] * 1e3:8.2f} ms  {rows[-1]['ratio']:.2f}x", flush=True)
    for sess, _ in systems.values():
        sess.close()
    return rows


def busy_processes(count: int) -> list:
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]


def stop(procs) -> None:
    for p in procs:
        p.terminate()
    for p in procs:
        p.wait()


def _status(field: str) -> int:
    """A VmRSS/VmHWM-style field of /proc/self/status, in bytes."""
    for line in pathlib.Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def memory_child(system: str) -> None:
    """Print the resident size after set-up, and the peak over 3 VGG training steps."""
    api = flowsaver if system == "flowsaver" else _tf_v1()
    sess, model, _ = build(api, "vgg_block")
    feed = make_feeds("vgg_block")
    gc.collect()
    before = _status("VmRSS")
    pathlib.Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to VmRSS
    for _ in range(3):
        sess.run(model.train, feed)
    print(json.dumps({"before": before, "peak": _status("VmHWM")}))


def memory(repeat: int = 3) -> dict:
    """Median over fresh processes of the step's added peak, per system."""
    out = {}
    for system in ("flowsaver", "TensorFlow"):
        added, peaks = [], []
        for _ in range(repeat):
            text = subprocess.run([sys.executable, __file__, "--memory-child", system],
                                  capture_output=True, text=True, check=True).stdout
            got = json.loads(text.strip().splitlines()[-1])
            added.append(got["peak"] - got["before"])
            peaks.append(got["peak"])
        out[system] = {"added": statistics.median(added), "peak": statistics.median(peaks)}
    return out


def load_text() -> str:
    return "load average %.2f, %.2f, %.2f" % os.getloadavg()


def in_modes(modes: str, rows_for, table_for) -> list:
    """``table_for(rows_for(), label, load before, load after)`` for each of ``modes``
    ("idle", "busy": beside two spinning processes), printed as they come."""
    tables = []
    for mode in modes.split(","):
        procs = busy_processes(2) if mode == "busy" else []
        try:
            time.sleep(1.0 if procs else 0)
            before = load_text()
            print(f"{mode}: {before}", flush=True)
            rows = rows_for()
            after = load_text()
        finally:
            stop(procs)
        label = "two other busy processes" if mode == "busy" else "idle (shared machine)"
        tables.append(table_for(rows, label, before, after))
        print(tables[-1], flush=True)
    return tables


def append_results(name: str, repeat: int, tables: list) -> None:
    """Append a dated section with ``tables`` to bench/``name``."""
    header = (f"## Run of {time.strftime('%Y-%m-%d %H:%M')}\n\nMedians of {repeat}, "
              f"{cpu_text()}, NumPy {np.__version__}.\n\n")
    with open(HERE / name, "a") as f:
        f.write(header + "\n\n".join(tables) + "\n\n")


def table(rows, mode: str, before: str, after: str) -> str:
    lines = [f"### {mode} ({before} before, {after} after)", "",
             "| model | task | flowsaver | TensorFlow | ratio (time) | median of "
             "per-rep ratios |", "|---|---|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {MODELS[r['model']][1]} | {r['task']} | "
                     f"{r['flowsaver'] * 1e3:.2f} ms | {r['TensorFlow'] * 1e3:.2f} ms | "
                     f"{r['ratio']:.2f}x | {r['ratio_of_reps']:.2f}x |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--modes", default="idle,busy")
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--memory", action="store_true")
    parser.add_argument("--memory-child")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.memory_child)
        return
    names = [m for m in args.models.split(",") if m != "lstm" or loops_landed()]
    if "lstm" in args.models.split(",") and "lstm" not in names:
        print("LSTM row skipped: flowsaver has no dynamic_rnn yet (loops branch not merged)")
    tables = in_modes(args.modes, lambda: [r for name in names
                                           for r in measure(name, args.repeat)], table)
    if args.memory:
        mem = memory()
        mib = 1 << 20
        text = ("### peak memory, VGG block training step (3 steps, fresh process each, "
                "median of 3)\n\n| system | added by the steps | process peak |\n|---|---:|---:|\n"
                + "\n".join(f"| {k} | {v['added'] / mib:.1f} MiB | {v['peak'] / mib:.1f} MiB |"
                            for k, v in mem.items())
                + f"\n\nratio (added peak, flowsaver / TF): "
                  f"{mem['flowsaver']['added'] / mem['TensorFlow']['added']:.2f}x")
        tables.append(text)
        print(text)
    if args.write:
        append_results("results_models.md", args.repeat, tables)


if __name__ == "__main__":
    main()
