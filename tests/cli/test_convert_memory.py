"""Converting holds about one tensor at a time: a 200 MiB checkpoint of several tensors
converts with a peak memory near its largest tensor (48 MiB), never near the checkpoint's
size. (bench/bench_convert.py measures the 1 GiB case.)

Measured in a fresh process, so that nothing else in the test run counts, two ways:
  tracemalloc's peak: every NumPy buffer allocated during a conversion;
  the resident size's high-water mark (VmHWM in /proc/self/status), reset before each
  conversion by writing 5 to /proc/self/clear_refs (Linux). ru_maxrss would not do: it
  carries the parent's peak across fork and exec.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from flowsaver.format.bundle_write import BundleWriter

MIB = 1 << 20
LARGEST = 48 * MIB
SLACK = 40 * MIB       # pieces (16 MiB each), a CRC job in flight, Python's own objects
ROOT = Path(__file__).resolve().parents[2]
CASES = [
    ("out.safetensors", {}),
    ("out_bundle", {"dtype": "float16"}),
    ("out_t.npz", {"transpose": "kernel", "dtype": "bfloat16", "to": "bundle"}),
    ("out.npz", {}),
    ("out.pt", {}),
]

SCRIPT = r"""
import json, sys, tracemalloc
import torch   # imported up front: its own import is not the conversion's memory
import flowsaver.cli.convert as convert

def high_water():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024

results = []
for dst, options in json.loads(sys.argv[2]):
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")   # resets VmHWM to the current resident size
    before = high_water()
    tracemalloc.start()
    convert.convert(sys.argv[1], dst, **options)
    traced = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    results.append({"traced_peak": traced, "rss_before": before, "rss_peak": high_water()})
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def big_checkpoint(tmp_path_factory) -> str:
    """About 200 MiB: four 48 MiB float32 tensors and a few small ones."""
    prefix = str(tmp_path_factory.mktemp("big") / "model.ckpt")
    rows = LARGEST // 4 // 1024
    with BundleWriter(prefix) as writer:
        for i in range(4):
            writer.add(f"layer{i}/kernel", np.full((rows, 1024), i, np.float32))
            writer.add(f"layer{i}/bias", np.arange(1024, dtype=np.float32))
        writer.add("global_step", np.int64(7))
    return prefix


@pytest.fixture(scope="module")
def measured(big_checkpoint, tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("out")
    cases = [(str(out / target), options) for target, options in CASES]
    done = subprocess.run([sys.executable, "-c", SCRIPT, big_checkpoint, json.dumps(cases)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return {target: (out / target, got) for (target, _), got in
            zip(CASES, json.loads(done.stdout))}


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(),
                    reason="needs Linux's /proc/self/clear_refs to reset the peak")
@pytest.mark.parametrize("target", [target for target, _ in CASES])
def test_peak_memory_is_about_the_largest_tensor(measured, target):
    path, got = measured[target]
    traced, grew = got["traced_peak"], got["rss_peak"] - got["rss_before"]
    assert traced < LARGEST + SLACK, f"traced peak {traced / MIB:.0f} MiB"
    assert LARGEST * 0.9 < grew < LARGEST + SLACK, \
        f"resident size grew by {grew / MIB:.0f} MiB"
    files = [path] if path.is_file() else list(path.parent.glob(path.name + ".*"))
    written = sum(f.stat().st_size for f in files)
    assert written > 3 * LARGEST // 2   # the whole checkpoint went through (half: float16)
