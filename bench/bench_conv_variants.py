"""Convolution variants beyond the models' plain 3x3/5x5 layers: flowsaver vs TensorFlow.

Issue 17 asks for grouped, depthwise, dilated and strided convolutions at the speed of
the rest. Each case is one layer on a fixed batch: ``forward`` fetches the layer's output,
``gradients`` fetches the input and filter gradients for a fed output gradient
(``tf.gradients(y, [x, w], grad_ys=dy)``, so nothing but the layer's three kernels runs;
fed, so that no system can fold the input gradient into a constant).
Both systems get the same input, filter and output gradient; their results are checked
to agree first. TensorFlow has no grouped-convolution gradient kernels on the CPU, so the
grouped case's gradient row has no TensorFlow time. Timing as in bench_models.py: one
sample is ``steps`` consecutive runs (about 0.3 s in TensorFlow), the systems alternate
within every repetition, tables give medians; ``busy`` runs beside two spinning
processes.

Usage (from the repository root):
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE PYTHONPATH=. .venv/bin/python \\
      bench/bench_conv_variants.py [--repeat 7] [--modes idle,busy] [--write]
      (--write appends the tables to bench/results_conv_variants.md)
"""
from __future__ import annotations

import argparse
import pathlib
import statistics
import sys

import numpy as np

import flowsaver

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from bench_models import (SAMPLE_SECONDS, _tf_v1, append_results, in_modes,  # noqa: E402
                          time_runs)


# name: (input NHWC, filter HWIO, strides, dilations, depthwise)
CASES = {
    "depthwise 3x3, 16x56x56x128 (MobileNet)": ((16, 56, 56, 128), (3, 3, 128, 1), 1, 1, True),
    "depthwise 3x3 stride 2, 16x56x56x128": ((16, 56, 56, 128), (3, 3, 128, 1), 2, 1, True),
    "grouped 3x3, 4 groups, 16x32x32x128": ((16, 32, 32, 128), (3, 3, 32, 128), 1, 1, False),
    "3x3 stride 2, 64->128, 16x32x32": ((16, 32, 32, 64), (3, 3, 64, 128), 2, 1, False),
    "3x3 dilation 2, 64->64, 16x32x32": ((16, 32, 32, 64), (3, 3, 64, 64), 1, 2, False),
    "1x1, 64->256, 16x32x32": ((16, 32, 32, 64), (1, 1, 64, 256), 1, 1, False),
    "7x7 stride 2, 3->64, 16x112x112 (ResNet stem)": ((16, 112, 112, 3), (7, 7, 3, 64), 2, 1,
                                                       False),
}


def build(api, case, values):
    shape, fshape, stride, rate, depthwise = CASES[case]
    g = api.Graph()
    with g.as_default():
        x = api.placeholder(api.float32, shape, name="x")
        w = api.constant(values["w"])
        if depthwise:
            y = api.nn.depthwise_conv2d(x, w, [1, stride, stride, 1], "SAME")
        else:
            y = api.nn.conv2d(x, w, [1, stride, stride, 1], "SAME",
                              dilations=[1, rate, rate, 1])
        dy = api.placeholder(api.float32, values["dy"].shape, name="dy")
        grads = api.gradients(y, [x, w], grad_ys=dy)
    return api.Session(graph=g), (x, dy), y, grads


def measure(case: str, repeat: int, tf) -> list:
    shape, fshape, stride, rate, depthwise = CASES[case]
    rng = np.random.default_rng(0)
    values = {"x": rng.standard_normal(shape).astype(np.float32),
              "w": (rng.standard_normal(fshape) * 0.1).astype(np.float32)}
    out_hw = [(n + stride - 1) // stride for n in shape[1:3]]
    out_c = fshape[2] * fshape[3] if depthwise else fshape[3]
    values["dy"] = rng.standard_normal([shape[0]] + out_hw + [out_c]).astype(np.float32)
    systems = {"flowsaver": build(flowsaver, case, values), "TensorFlow": build(tf, case, values)}
    grouped = not depthwise and fshape[2] != shape[3]
    ours = systems["flowsaver"]
    theirs = systems["TensorFlow"]
    feeds = {k: dict(zip(s[1], (values["x"], values["dy"]))) for k, s in systems.items()}
    np.testing.assert_allclose(ours[0].run(ours[2], {ours[1][0]: values["x"]}),
                               theirs[0].run(theirs[2], {theirs[1][0]: values["x"]}),
                               rtol=1e-3, atol=1e-3, err_msg=case)
    if not grouped:
        for a, b in zip(ours[0].run(ours[3], feeds["flowsaver"]),
                        theirs[0].run(theirs[3], feeds["TensorFlow"])):
            np.testing.assert_allclose(a, b, rtol=1e-3, atol=2e-2, err_msg=case)
    rows = []
    for task in ("forward", "gradients"):
        names = ["flowsaver"] if grouped and task == "gradients" else list(systems)
        fetch = {k: systems[k][2] if task == "forward" else systems[k][3] for k in names}
        # the forward run is fed the input alone (a fed array is copied in)
        feed = {k: feeds[k] if task == "gradients" else {systems[k][1][0]: values["x"]}
                for k in names}
        for k in names:
            time_runs(systems[k][0], fetch[k], feed[k], 2)
        one = time_runs(systems[names[-1]][0], fetch[names[-1]], feed[names[-1]], 3)
        steps = max(2, min(200, round(SAMPLE_SECONDS / one)))
        samples = {k: [] for k in names}
        for rep in range(repeat):
            for k in names[rep % 2:] + names[:rep % 2]:
                samples[k].append(time_runs(systems[k][0], fetch[k], feed[k], steps))
        med = {k: statistics.median(v) for k, v in samples.items()}
        row = {"case": case, "task": task, "flowsaver": med["flowsaver"],
               "TensorFlow": med.get("TensorFlow")}
        rows.append(row)
        tf_text = f"{row['TensorFlow'] * 1e3:8.2f} ms" if row["TensorFlow"] else "     n/a"
        ratio = f"{row['flowsaver'] / row['TensorFlow']:.2f}x" if row["TensorFlow"] else ""
        print(f"  {case:48s} {task:9s} flowsaver {row['flowsaver'] * 1e3:8.2f} ms  "
              f"TF {tf_text}  {ratio}", flush=True)
    for sess, *_ in systems.values():
        sess.close()
    return rows


def table(rows, label: str, before: str, after: str) -> str:
    lines = [f"### {label} ({before} before, {after} after)", "",
             "| layer | task | flowsaver | TensorFlow | ratio (time) |", "|---|---|---:|---:|---:|"]
    for r in rows:
        theirs = r["TensorFlow"]
        lines.append(f"| {r['case']} | {r['task']} | {r['flowsaver'] * 1e3:.2f} ms | "
                     + (f"{theirs * 1e3:.2f} ms | {r['flowsaver'] / theirs:.2f}x |" if theirs
                        else "no CPU kernel | |"))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--modes", default="idle,busy")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    tf = _tf_v1()
    tables = in_modes(args.modes, lambda: [r for case in CASES
                                           for r in measure(case, args.repeat, tf)], table)
    if args.write:
        append_results("results_conv_variants.md", args.repeat, tables)

if __name__ == "__main__":
    main()
