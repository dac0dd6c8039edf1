"""``logf``, ``sincosf`` and ``log`` exactly as the C library TensorFlow calls computes them.

TensorFlow's Box-Muller transform (float) calls the C library's ``logf`` and ``sincosf``;
on Linux that is glibc, whose single-precision functions (glibc 2.28 and later) evaluate a
short polynomial in double precision and round once to float. NumPy's own float32
``log``/``sin``/``cos`` (SIMD code) and even correctly rounded results differ from glibc's
in the last bit for a fraction of inputs, so the same double-precision steps are replayed
here, vectorized, with glibc's tables and coefficients. They are numeric constants of
glibc's algorithm, written in C99 hex-float notation, and are needed to get its roundings:

- ``logf(x)``: x = 2**k * z with z near 1; i = 4 bits of z's mantissa picks (1/c, log c)
  from a 16-entry table; r = z/c - 1 and log x = log c + k ln2 + r + A0 r^4 + A1 r^3 + A2 r^2
  (in glibc's evaluation order), rounded to float.
- ``sincosf(x)`` for 0 <= x < 120: n = round(x * 2/pi) (glibc's integer rounding of
  x * 2**24 * 2/pi), r = x - n * pi/2 in double; sin r and cos r by two short polynomials;
  quadrant n swaps and negates them. |x| < 2**-12 gives (x, 1).

glibc also has builds of these functions that use fused multiply-adds (picked on CPUs
with FMA); their double-precision intermediate results differ from these in the last
bit of a double, which changes the float result for about one input in 10**8.

The double-precision transform calls ``log`` (glibc's is not correctly rounded, and
NumPy's SIMD ``log`` differs from it), so ``log_double`` calls the C library through
Python's ``math.log``; NumPy's float64 ``sin``/``cos`` call the C library's functions.
"""
from __future__ import annotations

import math

import numpy as np

_h = float.fromhex

# logf: (1/c, log c) per subinterval of [0x3f330000, 2 * 0x3f330000) as float bits.
_LOGF_TABLE = np.array([
    (_h("0x1.661ec79f8f3bep+0"), _h("-0x1.57bf7808caadep-2")),
    (_h("0x1.571ed4aaf883dp+0"), _h("-0x1.2bef0a7c06ddbp-2")),
    (_h("0x1.49539f0f010bp+0"), _h("-0x1.01eae7f513a67p-2")),
    (_h("0x1.3c995b0b80385p+0"), _h("-0x1.b31d8a68224e9p-3")),
    (_h("0x1.30d190c8864a5p+0"), _h("-0x1.6574f0ac07758p-3")),
    (_h("0x1.25e227b0b8eap+0"), _h("-0x1.1aa2bc79c81p-3")),
    (_h("0x1.1bb4a4a1a343fp+0"), _h("-0x1.a4e76ce8c0e5ep-4")),
    (_h("0x1.12358f08ae5bap+0"), _h("-0x1.1973c5a611cccp-4")),
    (_h("0x1.0953f419900a7p+0"), _h("-0x1.252f438e10c1ep-5")),
    (1.0, 0.0),
    (_h("0x1.e608cfd9a47acp-1"), _h("0x1.aa5aa5df25984p-5")),
    (_h("0x1.ca4b31f026aap-1"), _h("0x1.c5e53aa362eb4p-4")),
    (_h("0x1.b2036576afce6p-1"), _h("0x1.526e57720db08p-3")),
    (_h("0x1.9c2d163a1aa2dp-1"), _h("0x1.bc2860d22477p-3")),
    (_h("0x1.886e6037841edp-1"), _h("0x1.1058bc8a07ee1p-2")),
    (_h("0x1.767dcf5534862p-1"), _h("0x1.4043057b6ee09p-2")),
])
_INV_C, _LOG_C = _LOGF_TABLE[:, 0].copy(), _LOGF_TABLE[:, 1].copy()
_LN2 = _h("0x1.62e42fefa39efp-1")
_LOGF_A0, _LOGF_A1, _LOGF_A2 = (_h("-0x1.00ea348b88334p-2"), _h("0x1.5575b0be00b6ap-2"),
                                _h("-0x1.ffffef20a4123p-2"))
_LOGF_OFF = 0x3F330000
_FLOAT_ONE_BITS = 0x3F800000

# sincosf: the cosine (C0..C4) and sine (S1..S3) polynomials, pi/2 and 2**24 * 2/pi.
_C0, _C1, _C2, _C3, _C4 = (1.0, _h("-0x1.ffffffd0c621cp-2"), _h("0x1.55553e1068f19p-5"),
                           _h("-0x1.6c087e89a359dp-10"), _h("0x1.99343027bf8c3p-16"))
_S1, _S2, _S3 = (_h("-0x1.555545995a603p-3"), _h("0x1.1107605230bc4p-7"),
                 _h("-0x1.994eb3774cf24p-13"))
_HALF_PI = _h("0x1.921FB54442D18p0")
_INV_HALF_PI_2_24 = _h("0x1.45F306DC9C883p+23")
_TINY_TOP12 = 0x398  # top 12 bits of 2**-12 as a float: below it sin x = x, cos x = 1
_HUGE = 120.0  # the fast range reduction holds below 120
# Per quadrant n & 3: whether sin and cos trade places, and the signs of the results.
_SWAP = np.array([False, True, False, True])
_SIN_SIGN = np.array([1.0, 1.0, -1.0, -1.0], np.float32)
_COS_SIGN = np.array([1.0, -1.0, -1.0, 1.0], np.float32)


def logf(x: np.ndarray) -> np.ndarray:
    """glibc's ``logf`` of positive, normal float32 values (x < 2**-126 is not handled)."""
    ix = x.view(np.int32).astype(np.int64)
    tmp = ix - _LOGF_OFF
    i = (tmp >> 19) & 15
    k = tmp >> 23
    z = (ix - (tmp & (0x1FF << 23))).astype(np.uint32).view(np.float32).astype(np.float64)
    r = z * _INV_C[i]
    r -= 1.0
    y0 = k.astype(np.float64)
    y0 *= _LN2
    y0 += _LOG_C[i]
    r2 = r * r
    y = r * _LOGF_A1
    y += _LOGF_A2
    y += r2 * _LOGF_A0
    y *= r2
    y0 += r
    y += y0
    out = y.astype(np.float32)
    out[ix == _FLOAT_ONE_BITS] = 0.0
    return out


def sincosf(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """glibc's ``sincosf`` of float32 values in [0, 120): (sin x, cos x) as float32."""
    if x.size and not (x.min() >= 0 and x.max() < _HUGE):
        raise ValueError("sincosf emulation covers 0 <= x < 120 only")
    xd = x.astype(np.float64)
    scaled = xd * _INV_HALF_PI_2_24
    n = (scaled.astype(np.int32) + 0x800000) >> 24
    xd -= n * _HALF_PI
    x2 = xd * xd
    x4 = x2 * x2
    x3 = x2 * xd
    c2 = x2 * _C4
    c2 += _C3
    s1 = x2 * _S3
    s1 += _S2
    c1 = x2 * _C1
    c1 += _C0
    x5 = x3 * x2
    x6 = x4 * x2
    s = x3 * _S1
    s += xd
    c = x4 * _C2
    c += c1
    s += x5 * s1
    c += x6 * c2
    sin_r, cos_r = s.astype(np.float32), c.astype(np.float32)
    quadrant = n & 3
    swap = _SWAP[quadrant]
    sin_x = np.where(swap, cos_r, sin_r)
    cos_x = np.where(swap, sin_r, cos_r)
    sin_x *= _SIN_SIGN[quadrant]
    cos_x *= _COS_SIGN[quadrant]
    tiny = ((x.view(np.uint32) >> 20) & 0x7FF) < _TINY_TOP12
    if tiny.any():
        sin_x[tiny] = x[tiny]
        cos_x[tiny] = 1.0
    return sin_x, cos_x


def log_double(x: np.ndarray) -> np.ndarray:
    """The C library's double ``log`` of each element (through ``math.log``)."""
    flat = np.reshape(x, -1)
    return np.fromiter(map(math.log, flat.tolist()), np.float64, len(flat)).reshape(np.shape(x))


def sincos_double(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The C library's double ``sin`` and ``cos`` (NumPy's float64 loops call them)."""
    return np.sin(x), np.cos(x)
