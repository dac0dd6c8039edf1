"""Depthwise convolution's arithmetic: block by block of output rows, spread over threads.

A depthwise convolution is KH*KW elementwise products per output value, one per window
offset, with no sum over channels: nothing a matrix product could take. Done as whole
arrays, every offset costs a pass through memory for its product and one for the running
sum (a MobileNet-size layer, 16 x 56 x 56 x 128 with a 3x3 filter, took 43 ms: twelve
times TensorFlow's). Here each block of output rows is one ``einsum`` over a strided view
of the receptive fields (no copy, no temporary: the sum over the window runs in NumPy's
inner loop), and the blocks, sized for a core's cache, are dealt over the kernel threads
(``blas_threads.split``; NumPy releases the GIL in einsum). Sums over the batch (the
filter gradient) are taken per fixed run of blocks and added in run order, so their
rounding does not depend on the threads.

Measured on that layer, 2-core AVX-512 VM: forward 43 -> 7.4 ms, filter gradient 16 ->
5.1 ms (TensorFlow 3.5 ms forward).
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from flowsaver.ops import blas_threads
from flowsaver.ops.nn import conv_gemm

# Output values per block (and gradient values read, for the filter gradient): the layer
# above ran equally fast with 2**16 to 2**19, slower with 2**15 and less.
BLOCK_ELEMENTS = 1 << 17
# Runs of blocks the threads take one by one (and the filter gradient sums in order).
PARTS = 8
# Windows of fewer offsets than this stay on one thread: their blocks are too light, and
# two threads took longer (16 x 28 x 28 x 128, forward / filter gradient, ms: 1x1 0.65 /
# 0.56 on one thread against 0.96 / 0.70 on two, 2x1 1.09 / 0.98 against 1.62 / 1.67;
# 2x2 2.26 / 1.40 against 1.56 / 1.27, 3x3 3.58 / 2.43 against 2.16 / 1.54).
THREAD_MIN_TAPS = 4
# The arena slot (per thread) of a block's padded input rows.
BLOCK = "depthwise_block"


def _blocks(n: int, oh: int, ow: int, per_pixel: int) -> list:
    """``conv_gemm.blocks`` of about BLOCK_ELEMENTS output values each."""
    return list(conv_gemm.blocks(n, oh, ow, per_pixel, chunk=BLOCK_ELEMENTS))


def _windows(x: np.ndarray, block, pads, out_w: int, k_hw, strides, dilations):
    """Read-only (n1-n0, h1-h0, OW, KH, KW, C) view of the receptive fields of output rows
    h0:h1 of images n0:n1 of NHWC ``x`` padded by ``pads`` with zeros. The padding is
    made for the block alone, in this thread's scratch memory (a cache-sized copy of the
    rows it reads), rather than as a padded copy of the whole input."""
    n0, n1, h0, h1 = block
    (sh, sw), (dh, dw) = strides, dilations
    (top, bottom), (left, right) = pads
    shape = (n1 - n0, h1 - h0, out_w, k_hw[0], k_hw[1], x.shape[3])
    source = x[n0:n1, h0 * sh:]
    if top or bottom or left or right:
        h, w, c = x.shape[1:]
        first = h0 * sh - top
        rows = (h1 - h0 - 1) * sh + (k_hw[0] - 1) * dh + 1
        source = conv_gemm.scratch(BLOCK, (n1 - n0, rows, w + left + right, c), x.dtype)
        lo, hi = min(max(first, 0), h), max(min(first + rows, h), 0)
        if lo < hi:
            source[:, :lo - first] = 0
            source[:, hi - first:] = 0
            inner = source[:, lo - first:hi - first]
            inner[:, :, :left] = 0
            inner[:, :, left + w:] = 0
            inner[:, :, left:left + w] = x[n0:n1, lo:hi]
        else:
            source.fill(0)
    s0, s1, s2, s3 = source.strides
    steps = (s0, s1 * sh, s2 * sw, s1 * dh, s2 * dw, s3)
    return as_strided(source, shape, steps, writeable=False)


def _run(fn, blocks: list, elements: int, taps: int) -> list:
    """``fn`` over fixed runs of ``blocks`` (one result per run, in order), on the kernel
    threads when the work is large enough to pay for them."""
    runs = conv_gemm.deal(blocks, min(len(blocks), PARTS))
    if taps >= THREAD_MIN_TAPS and blas_threads.elementwise_workers(elements * taps) > 1:
        return blas_threads.split(fn, runs, short_calls=True)
    return [fn(run) for run in runs]


def correlate(x: np.ndarray, taps: np.ndarray, pads, out_hw, strides, dilations,
              out: np.ndarray | None = None) -> np.ndarray:
    """NHWC ``x`` (N, H, W, C), zero-padded by ``pads``, correlated channel by channel with
    ``taps`` (KH, KW, C, M): a (N, OH, OW, C, M) array, fresh or ``out`` (a view may be
    strided), each value the sum over window offsets in row-major order."""
    n, c = x.shape[0], x.shape[3]
    kh, kw, _, m = taps.shape
    oh, ow = out_hw
    if out is None:
        out = np.empty((n, oh, ow, c, m), np.result_type(x, taps))
    blocks = _blocks(n, oh, ow, c * m)
    if not blocks or not out.size:
        return out

    def run(part):
        for block in part:
            np.einsum("nhwijc,ijcm->nhwcm",
                      _windows(x, block, pads, ow, (kh, kw), strides, dilations), taps,
                      out=out[block[0]:block[1], block[2]:block[3]])

    _run(run, blocks, out.size, kh * kw)
    return out


def filter_sums(x: np.ndarray, grad: np.ndarray, pads, k_hw, strides,
                dilations) -> np.ndarray:
    """d(loss)/d(filter) (KH, KW, C, M) of a depthwise convolution of ``x`` zero-padded by
    ``pads`` whose output gradient is ``grad`` (N, OH, OW, C, M): per window offset and
    channel, the sum over all output pixels of the input it read times the gradient."""
    n, oh, ow, c, m = grad.shape
    kh, kw = k_hw
    dtype = np.result_type(x, grad)
    blocks = _blocks(n, oh, ow, c * m)
    if not blocks or not grad.size:
        return np.zeros((kh, kw, c, m), dtype)

    def run(part):
        total = np.zeros((kh, kw, c, m), dtype)
        for block in part:
            total += np.einsum("nhwijc,nhwcm->ijcm",
                               _windows(x, block, pads, ow, k_hw, strides, dilations),
                               grad[block[0]:block[1], block[2]:block[3]])
        return total

    return blas_threads.sum_in_order(_run(run, blocks, grad.size, kh * kw))


def _phase(r: int, s: int, k: int, pad: int, size: int, out: int):
    """Along one axis of stride ``s`` (undilated): the input positions q with (q + pad) % s
    == r, and how the output gradient reaches them. q = s * p + r - pad receives
    grad[p - j] * taps[r + s * j] for j < J (the taps that land on q's phase), a stride-1
    correlation of the gradient, from p - (J - 1), with those J taps reversed.

    None when no position or no tap is in this phase; else (first q, count of q, J, the
    gradient's slice to read, (zeros before, zeros after) it)."""
    first = (r - pad) % s
    count = len(range(first, size, s))
    taps = len(range(r, k, s))
    if not count or not taps:
        return None
    start = (first + pad - r) // s - (taps - 1)     # the gradient index the window opens at
    end = start + count + taps - 1                   # one past the last it reads
    lo, hi = min(max(start, 0), out), max(min(end, out), 0)
    if lo >= hi:
        return None
    return first, count, taps, slice(lo, hi), (lo - start, end - hi)


def input_grad(grad: np.ndarray, taps: np.ndarray, in_hw, pads, strides,
               dilations) -> np.ndarray:
    """d(loss)/d(input) (N, H, W, C) of a depthwise convolution with ``taps`` (KH, KW, C,
    M) whose output gradient is ``grad`` (N, OH, OW, C, M).

    Input pixel q receives grad[o] * taps[k] wherever o * s + k * d == q + pad. At stride 1
    that is a correlation of the padded gradient with the flipped taps. At larger strides
    (undilated) the input pixels fall into S_H * S_W phases by (q + pad) % s, and each
    phase is a stride-1 correlation of the gradient with the taps of that phase, flipped
    (``_phase``): the work of the forward pass, where correlating the gradient spread out
    with zeros (``conv_gemm.spread``, still used with both strides and dilations) does S_H
    * S_W times as much."""
    n, oh, ow, c, m = grad.shape
    kh, kw = taps.shape[:2]
    h, w = in_hw
    flat = grad.reshape(n, oh, ow, c * m)
    flipped = taps[::-1, ::-1].reshape(kh, kw, c * m, 1)
    reach = [(k - 1) * d for k, d in zip((kh, kw), dilations)]
    around = [(r - p[0], size + p[0] - o) for r, p, size, o in zip(reach, pads, in_hw, (oh, ow))]
    if tuple(strides) == (1, 1) and min(around[0] + around[1]) >= 0:
        out = correlate(flat, flipped, around, in_hw, (1, 1), dilations)
    elif tuple(dilations) == (1, 1):
        return _phases(flat, taps, in_hw, pads, strides)
    else:
        spread = conv_gemm.spread(flat, (kh, kw), in_hw, pads, strides, dilations,
                                  slot=conv_gemm.PAD)
        out = correlate(spread, flipped, ((0, 0), (0, 0)), in_hw, (1, 1), dilations)
    out = out.reshape(n, h, w, c, m)
    return out[..., 0] if m == 1 else out.sum(axis=-1)


def _phases(flat: np.ndarray, taps: np.ndarray, in_hw, pads, strides) -> np.ndarray:
    """The strided, undilated input gradient phase by phase (see ``input_grad``)."""
    n, oh, ow, cm = flat.shape
    kh, kw, c, m = taps.shape
    out = np.empty((n, in_hw[0], in_hw[1], c), np.result_type(flat, taps))
    (sh, sw) = strides
    for rh in range(sh):
        for rw in range(sw):
            rows = _phase(rh, sh, kh, pads[0][0], in_hw[0], oh)
            cols = _phase(rw, sw, kw, pads[1][0], in_hw[1], ow)
            first_h, first_w = (rh - pads[0][0]) % sh, (rw - pads[1][0]) % sw
            into = out[:, first_h::sh, first_w::sw]
            if rows is None or cols is None:
                into[...] = 0
                continue
            sub = taps[rh::sh, rw::sw][::-1, ::-1].reshape(rows[2], cols[2], cm, 1)
            part = correlate(flat[:, rows[3], cols[3]], sub, (rows[4], cols[4]),
                             (rows[1], cols[1]), (1, 1), (1, 1),
                             out=into[..., None] if m == 1 else None)
            if m > 1:
                part.reshape(n, rows[1], cols[1], c, m).sum(axis=-1, out=into)
    return out
