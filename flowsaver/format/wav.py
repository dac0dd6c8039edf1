"""WAV audio as TensorFlow's audio summaries write it: 16-bit little-endian PCM.

Byte layout (all integers little-endian):

    "RIFF" u32 (36 + DATA_BYTES) "WAVE"
    "fmt " u32 16  u16 1 (PCM)  u16 CHANNELS  u32 RATE  u32 RATE*CHANNELS*2
                   u16 CHANNELS*2 (block align)  u16 16 (bits per sample)
    "data" u32 DATA_BYTES  then frames, each CHANNELS int16 samples

Float samples in [-1, 1] become int16 as TensorFlow makes them: times 32768, rounded half
away from zero, clamped to [-32768, 32767].
"""
from __future__ import annotations

import struct

import numpy as np

_HEADER = struct.Struct("<4sI4s4sIHHIIHH4sI")


def float_to_int16(samples: np.ndarray) -> np.ndarray:
    scaled = np.asarray(samples, np.float32) * np.float32(32768.0)
    rounded = np.sign(scaled) * np.floor(np.abs(scaled) + np.float32(0.5))
    return np.clip(rounded, -32768, 32767).astype("<i2")


def encode(samples: np.ndarray, sample_rate: int) -> bytes:
    """WAV bytes of float ``samples`` shaped [frames, channels]."""
    samples = np.asarray(samples)
    frames, channels = samples.shape
    data = float_to_int16(samples).tobytes()
    header = _HEADER.pack(b"RIFF", 36 + len(data), b"WAVE", b"fmt ", 16, 1, channels,
                          int(sample_rate), int(sample_rate) * channels * 2, channels * 2, 16,
                          b"data", len(data))
    return header + data
