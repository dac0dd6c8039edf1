"""Check the fast float Box-Muller against the step-by-step replica on every input.

TensorFlow's float Box-Muller takes r from the 23 low bits m0 of one Philox word and
(sin v, cos v) from the 23 low bits m1 of another: 2**23 possible inputs each.
``flowsaver.ops.random.box_muller`` computes them with regrouped, cache-sized NumPy steps;
this compares its radius and (sin, cos) with ``libm_float``'s replica of glibc's ``logf``
and ``sincosf`` (itself checked against the C library by ``tools/check_libm_float.py``)
on all 2**23 mantissas (a few seconds) and exits non-zero on any differing bit.

    make check-box-muller      (or: PYTHONPATH=. .venv/bin/python tools/check_box_muller.py)
"""
import math
import sys

import numpy as np

from flowsaver.ops.random import box_muller, libm_float

MANTISSAS = 1 << 23
STEP = 1 << 16  # mantissas per comparison


def replica_radius(m0: np.ndarray) -> np.ndarray:
    """sqrtf(-2 logf(max(m0 / 2**23, 1e-7))), glibc's steps one by one."""
    u = np.maximum(m0.astype(np.float32) * np.float32(2.0 ** -23), np.float32(1e-7))
    return np.sqrt(np.float32(-2.0) * libm_float.logf_below_one(u))


def replica_sin_cos(m1: np.ndarray) -> np.ndarray:
    """sincosf(float(2 pi m1 / 2**23)) as (2, n) [sin; cos], glibc's steps one by one."""
    v = (m1.astype(np.float64) * (2 * math.pi * 2.0 ** -23)).astype(np.float32)
    return libm_float.sincosf_rows(v)


def differences(start: int = 0, stop: int = MANTISSAS) -> tuple[np.ndarray, np.ndarray]:
    """The mantissas in [start, stop) whose radius, and whose (sin, cos), differ."""
    bad_r, bad_sc = [], []
    work = box_muller.Workspace(STEP)
    for first in range(start, stop, STEP):
        m = np.arange(first, min(first + STEP, stop), dtype=np.uint32)
        got = box_muller.radius(m, work).view(np.uint32)
        bad_r.append(m[got != replica_radius(m).view(np.uint32)])
        got = box_muller.sin_cos(m, work).view(np.uint32)
        want = replica_sin_cos(m).view(np.uint32)
        bad_sc.append(m[(got != want).any(axis=0)])
    return np.concatenate(bad_r), np.concatenate(bad_sc)


def main() -> int:
    bad_r, bad_sc = differences()
    print(f"radius: {len(bad_r)} of {MANTISSAS} mantissas differ {bad_r[:5]}")
    print(f"sin, cos: {len(bad_sc)} of {MANTISSAS} mantissas differ {bad_sc[:5]}")
    return 1 if len(bad_r) or len(bad_sc) else 0


if __name__ == "__main__":
    sys.exit(main())
