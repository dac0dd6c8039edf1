"""What a benchmark ran on, for the header of its tables.

TensorFlow's x86 wheels turn their oneDNN kernels on by themselves only on CPUs with
AVX-512 VNNI/BF16 or AMX; elsewhere its convolutions and products run on Eigen, and the
same graph can take a different time. Tables name the CPU and which of the two ran.
"""
from __future__ import annotations

import os
import platform

_ONEDNN_FLAGS = ("avx512_vnni", "avx512_bf16", "amx_tile")


def _cpuinfo() -> tuple[str, set]:
    name, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name":
                    name = value.strip()
                elif key.strip() == "flags":
                    flags = set(value.split())
                    break
    except OSError:
        pass
    return name, flags


def cpu_text() -> str:
    """``"<model>, <n> cores, AVX-512|AVX2|..., TensorFlow's oneDNN kernels on|off"``."""
    name, flags = _cpuinfo()
    vector = ("AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags
              else "no AVX2" if flags else "vector extensions unknown")
    setting = os.environ.get("TF_ENABLE_ONEDNN_OPTS")
    if setting is not None:
        onednn = "on" if setting.strip().lower() in ("1", "true") else "off"
        onednn += " (TF_ENABLE_ONEDNN_OPTS)"
    else:
        onednn = "on" if flags & set(_ONEDNN_FLAGS) else "off"
    return f"{name}, {os.cpu_count()} cores, {vector}, TensorFlow's oneDNN kernels {onednn}"
