"""Check flowsaver's replay of glibc's logf and sincosf on every input Box-Muller can pass.

TensorFlow's float Box-Muller calls logf(u) and sincosf(v) where u and v come from the 23
low bits of a Philox word (u = max(m / 2**23, 1e-7), v = float(2 pi m / 2**23)): 2**23
values each. This compares ``flowsaver.ops.random.libm_float`` with this machine's C library on
all of them (about a minute; glibc on Linux only) and exits non-zero on any difference.

    .venv/bin/python tools/check_libm_float.py
"""
import ctypes
import ctypes.util
import math
import sys

import numpy as np

from flowsaver.ops.random import libm_float
from flowsaver.ops.random import philox_fill


def main() -> int:
    libm = ctypes.CDLL(ctypes.util.find_library("m"))
    libm.logf.restype, libm.logf.argtypes = ctypes.c_float, [ctypes.c_float]
    libm.sincosf.argtypes = [ctypes.c_float, ctypes.POINTER(ctypes.c_float),
                             ctypes.POINTER(ctypes.c_float)]
    m = np.arange(1 << 23, dtype=np.uint32)
    u = np.maximum(philox_fill.uniform_float32(m), np.float32(1e-7))
    v = (m.astype(np.float64) * (2 * math.pi * 2.0**-23)).astype(np.float32)
    want_log = np.fromiter(map(libm.logf, u.tolist()), np.float32, len(u))
    bad_log = np.flatnonzero(libm_float.logf(u).view(np.uint32) != want_log.view(np.uint32))
    s, c = ctypes.c_float(), ctypes.c_float()
    ps, pc = ctypes.byref(s), ctypes.byref(c)
    want = np.empty((len(v), 2), np.float32)
    for i, x in enumerate(v.tolist()):
        libm.sincosf(x, ps, pc)
        want[i] = s.value, c.value
    sin, cos = libm_float.sincosf(v)
    bad_trig = np.flatnonzero((sin.view(np.uint32) != want[:, 0].view(np.uint32)) |
                              (cos.view(np.uint32) != want[:, 1].view(np.uint32)))
    print(f"logf: {len(bad_log)} of {len(u)} inputs differ {u[bad_log[:5]]}")
    print(f"sincosf: {len(bad_trig)} of {len(v)} inputs differ {v[bad_trig[:5]]}")
    return 1 if len(bad_log) or len(bad_trig) else 0


if __name__ == "__main__":
    sys.exit(main())
