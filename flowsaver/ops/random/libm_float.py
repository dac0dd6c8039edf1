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
with FMA); their intermediate doubles may differ from these in the last bit, which could
change a float result in rare cases. On every input TensorFlow's Box-Muller can pass (2**23
each) the replay gives the C library's bits on glibc 2.36, x86-64 with FMA;
``tools/check_libm_float.py`` repeats that check on another machine.

The double-precision transform calls ``log`` (glibc's is not correctly rounded, and
NumPy's SIMD ``log`` differs from it), so ``log_double`` calls the C library through
Python's ``math.log``, element by element; NumPy's float64 ``sin``/``cos`` call the C
library's functions (a unit test checks that they agree with ``math.sin``/``math.cos``).
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
_POLY_HIGH = np.array([[_C4], [_S3]])
_POLY_MID = np.array([[_C3], [_S2]])
_POLY_LOW = np.array([[_C2], [_S1]])
_TINY_BITS = 0x39800000  # 2**-12 as float bits: below it sin x = x and cos x = 1
_HUGE = 120.0  # the fast range reduction holds below 120


def _logf_tables() -> tuple[np.ndarray, np.ndarray]:
    """glibc's per-subinterval values folded with the exponent, indexed by
    ((bits - 0x3f330000) >> 19) + 4096: 1/c * 2**-k (so that x * it = z/c exactly) and
    log c + k ln2 (the same double glibc computes)."""
    t = np.arange(8192) - 4096
    i, k = t & 15, t >> 4
    return np.ldexp(_INV_C[i], -k), _LOG_C[i] + k.astype(np.float64) * _LN2


_LOGF_SCALE, _LOGF_BASE = _logf_tables()


def logf(x: np.ndarray) -> np.ndarray:
    """glibc's ``logf`` of positive, normal float32 values (x < 2**-126 is not handled)."""
    out = logf_below_one(x)
    ones = x.view(np.int32) == _FLOAT_ONE_BITS
    if ones.any():
        out[ones] = 0.0
    return out


def logf_below_one(x: np.ndarray) -> np.ndarray:
    """``logf`` of positive normal float32 values other than 1 (glibc returns exactly 0
    for 1, which the polynomial does not)."""
    idx = np.subtract(x.view(np.int32), _LOGF_OFF, dtype=np.int64)  # take() wants intp
    idx >>= 19
    idx += 4096
    r = x.astype(np.float64)
    r *= np.take(_LOGF_SCALE, idx)
    r -= 1.0
    y0 = np.take(_LOGF_BASE, idx)
    r2 = r * r
    y = r * _LOGF_A1
    y += _LOGF_A2
    t = r2 * _LOGF_A0
    y += t
    y *= r2
    y0 += r
    y += y0
    return y.astype(np.float32)


def sincosf(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """glibc's ``sincosf`` of float32 values in [0, 120): (sin x, cos x) as float32."""
    if x.size and not (x.min() >= 0 and x.max() < _HUGE):
        raise ValueError("sincosf emulation covers 0 <= x < 120 only")
    return sincosf_unchecked(x)


def sincosf_unchecked(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``sincosf`` for float32 values already known to lie in [0, 120)."""
    rows = sincosf_rows(x)
    return rows[0], rows[1]


def sincosf_rows(x: np.ndarray) -> np.ndarray:
    """``sincosf`` of a 1-D float32 array in [0, 120) as one (2, n) array [sin x; cos x].

    The sine and cosine polynomials share their structure, so each step below works on
    both at once as the rows of (2, n) arrays; every element sees glibc's operations.
    """
    xd = x.astype(np.float64)
    n = (xd * _INV_HALF_PI_2_24).astype(np.int32)
    n += 0x800000
    n >>= 24
    start = n.astype(np.float64)
    start *= _HALF_PI  # n * pi/2, rounded as glibc rounds it
    xd -= start
    powers = np.empty((2, len(xd)))  # [x^2; x]
    np.multiply(xd, xd, out=powers[0])
    powers[1] = xd
    x2 = powers[0]
    low = powers * x2  # [x^4; x^3]
    high = x2 * _POLY_HIGH
    high += _POLY_MID  # [C3 + x^2 C4; S2 + x^2 S3]
    value = np.empty_like(powers)
    np.multiply(x2, _C1, out=value[0])
    value[0] += _C0
    value[1] = xd  # [C0 + x^2 C1; x]
    top = low * x2  # [x^6; x^5]
    low *= _POLY_LOW
    value += low
    top *= high
    value += top  # [cos r; sin r]
    bits = value.astype(np.float32).view(np.uint32)
    cos_bits, sin_bits = bits[0], bits[1]
    # Odd quadrants trade sin and cos; then signs: sin < 0 in quadrants 2, 3, cos in 1, 2.
    odd = n << 31
    odd >>= 31
    trade = sin_bits ^ cos_bits
    trade &= odd.view(np.uint32)
    sin_bits ^= trade
    cos_bits ^= trade
    sign = n & 2
    sign <<= 30
    sin_bits ^= sign.view(np.uint32)
    n += 1
    n &= 2
    n <<= 30
    cos_bits ^= n.view(np.uint32)
    out = bits[::-1].view(np.float32)  # [sin; cos]
    tiny = x.view(np.uint32) < _TINY_BITS
    if tiny.any():
        out[0, tiny] = x[tiny]
        out[1, tiny] = 1.0
    return out


def log_double(x: np.ndarray) -> np.ndarray:
    """The C library's double ``log`` of each element (through ``math.log``)."""
    flat = np.reshape(x, -1)
    return np.fromiter(map(math.log, flat.tolist()), np.float64, len(flat)).reshape(np.shape(x))


def sincos_double(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The C library's double ``sin`` and ``cos`` (NumPy's float64 loops call them)."""
    return np.sin(x), np.cos(x)
