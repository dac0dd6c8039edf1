"""How far glibc's float logf is from NumPy's float64 log, on every Box-Muller input.

A suggested shortcut for the float Box-Muller was: compute log (and sin, cos) in float64
with NumPy, round to float32, and send only the elements whose float64 value lies in a
small band around a float32 rounding midpoint through the exact glibc replica. This
measures, over all 2**23 inputs u = max(m / 2**23, 1e-7), the distance between glibc's
double (before its rounding, from ``libm_float``'s replica) and ``np.log`` in units of
the float32 result's ULP, how many results differ, and what fraction of inputs a band
wide enough to catch every difference would send to the replica (one band for all
inputs, or one per glibc table subinterval). It also times NumPy's float64 log, sin and
cos against the exact path. The findings are in bench/results_random.md.

    PYTHONPATH=. .venv/bin/python tools/box_muller_band_study.py
"""
import time

import numpy as np

from flowsaver.ops.random import box_muller, libm_float


def glibc_double_logf(u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """glibc's logf double before rounding, and its table subinterval (k, i) as one int."""
    idx = np.subtract(u.view(np.int32), libm_float._LOGF_OFF, dtype=np.int64) >> 19
    r = u.astype(np.float64) * libm_float._LOGF_SCALE[idx + 4096] - 1.0
    r2 = r * r
    y = r * libm_float._LOGF_A1 + libm_float._LOGF_A2
    y = (y + r2 * libm_float._LOGF_A0) * r2
    return y + (libm_float._LOGF_BASE[idx + 4096] + r), idx


def midpoint_distance(y: np.ndarray) -> np.ndarray:
    """|y - nearest float32 rounding midpoint| (absolute), binade edges included."""
    f = y.astype(np.float32)
    up = np.nextafter(f, np.float32(np.inf)).astype(np.float64)
    down = np.nextafter(f, np.float32(-np.inf)).astype(np.float64)
    near = f.astype(np.float64)
    return np.minimum(np.abs(y - (near + up) / 2), np.abs(y - (near + down) / 2))


def main() -> None:
    m = np.arange(1 << 23, dtype=np.int64)
    u = np.maximum(m.astype(np.float32) * np.float32(2.0 ** -23), np.float32(1e-7))
    glibc, idx = glibc_double_logf(u)
    numpy_log = np.log(u.astype(np.float64))
    error = np.abs(glibc - numpy_log)
    ulp = np.spacing(np.abs(numpy_log.astype(np.float32))).astype(np.float64)
    differ = glibc.astype(np.float32) != numpy_log.astype(np.float32)
    distance = midpoint_distance(numpy_log)
    print(f"logf: glibc's double vs np.log: max {np.max(error[1:] / ulp[1:]):.3f} ULP of "
          f"float32; {differ.sum()} of {len(u)} rounded results differ")
    print(f"  one band (max error {error.max():.3g}): {np.mean(distance <= error.max()):.1%}"
          f" of inputs doubtful")
    per_interval = np.zeros(idx.max() - idx.min() + 1)
    np.maximum.at(per_interval, idx - idx.min(), error)
    band = 2 * per_interval[idx - idx.min()]
    doubtful = distance <= band
    print(f"  a band per glibc subinterval (twice its largest error): {doubtful.mean():.1%} "
          f"doubtful, {np.sum(differ & ~doubtful)} differences missed")
    rows = 2 * 8192
    m1 = np.random.default_rng(0).integers(0, 1 << 23, rows)
    v = m1 * (2 * np.pi * 2.0 ** -23)
    work = box_muller.Workspace(rows)
    for name, fn in [("np.log float64", lambda: np.log(v + 1)),
                     ("np.sin + np.cos float64", lambda: (np.sin(v), np.cos(v))),
                     ("exact radius (box_muller)", lambda: box_muller.radius(m1, work)),
                     ("exact sin, cos (box_muller)", lambda: box_muller.sin_cos(m1, work))]:
        start = time.process_time()
        for _ in range(5_000_000 // rows):
            fn()
        print(f"  {name}: {(time.process_time() - start) * 1e3:.0f} ms CPU per 5 million")


if __name__ == "__main__":
    main()
