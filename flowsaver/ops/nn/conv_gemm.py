"""Convolutions as matrix products, with scratch memory reused from run to run.

Every 2-D convolution kernel (forward, both gradients) reduces to: copy the (padded) input
into a scratch buffer, gather each output pixel's receptive field into a scratch matrix
(im2col: ``np.copyto`` from a strided view), and multiply it by the filter in the shapes
BLAS runs at full speed: ``cols (N*OH*OW, KH*KW*C) @ filter (KH*KW*C, O)``, block by
block of output rows so that the gathered rows are read back from cache. With few input
channels (C <= 4: a network's first layer) the gather copies runs of only C values, so
there the column matrix is built transposed from KH*KW shifted slabs of the input
(``slab_columns``), and the input gradient is added back slab by slab.

Scratch memory: the padded input and the column matrix are taken from a per-thread arena
and are dead when the kernel returns (no output ever aliases them), so the next kernel in
the same thread reuses the same pages instead of faulting in fresh ones (first touch of
new memory costs ~0.1 s/GiB, as much as the copy itself). The arena holds the largest
request seen per slot, no more: one column matrix for all convolutions of a graph.
"""
from __future__ import annotations

import math
import threading

import numpy as np
from numpy.lib.stride_tricks import as_strided

from flowsaver.ops import blas_threads

_ARENA = threading.local()
# Arena slots: a kernel holds at most one buffer per slot at a time.
PAD, COLS, FLIP, PAIR = "pad", "cols", "flip", "pair"
# Bytes of receptive fields gathered per block: fits a core's L2 cache (1-2 MiB on current
# x86), so the product reads the block back from cache.
CHUNK_BYTES = 1 << 20
# A convolution's blocks are dealt into this many runs, which the threads of
# ``blas_threads.split`` take one by one (and filter gradients sum in run order).
SPLIT_PARTS = 8


def scratch(slot: str, shape, dtype) -> np.ndarray:
    """An uninitialized C-contiguous array from this thread's arena ``slot``.

    Valid until the next ``scratch`` call with the same slot in this thread; never return
    it, or a view of it, from a kernel."""
    dtype = np.dtype(dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    buffers = getattr(_ARENA, "buffers", None)
    if buffers is None:
        buffers = _ARENA.buffers = {}
    buf = buffers.get(slot)
    if buf is None or buf.nbytes < nbytes:
        buf = buffers[slot] = np.empty(max(nbytes, 64), np.uint8)
    return buf[:nbytes].view(dtype).reshape(shape)


def release_scratch() -> None:
    """Give this thread's scratch memory back (tests; long-lived threads done with convs)."""
    _ARENA.buffers = {}


def padded(x: np.ndarray, pads, value=0, slot: str = PAD) -> np.ndarray:
    """NHWC ``x`` padded on H and W with ``value``, in scratch; ``x`` itself if no padding."""
    (top, bottom), (left, right) = pads
    if not (top or bottom or left or right):
        return x
    n, h, w, c = x.shape
    out = scratch(slot, (n, h + top + bottom, w + left + right, c), x.dtype)
    out[:, :top] = value
    out[:, top + h:] = value
    out[:, top:top + h, :left] = value
    out[:, top:top + h, left + w:] = value
    out[:, top:top + h, left:left + w] = x
    return out


def blocks(n: int, oh: int, ow: int, row_bytes: int, chunk: int | None = None):
    """(n0, n1, h0, h1) blocks of output rows whose receptive fields take about ``chunk``
    (default ``CHUNK_BYTES``; any unit ``row_bytes`` shares): whole images when one fits,
    else bands of rows of one image."""
    chunk = CHUNK_BYTES if chunk is None else chunk
    per_image = oh * ow * row_bytes
    if per_image <= chunk:
        step = max(1, chunk // max(1, per_image))
        for n0 in range(0, n, step):
            yield n0, min(n, n0 + step), 0, oh
        return
    rows = max(1, chunk // (ow * row_bytes))
    for n0 in range(n):
        for h0 in range(0, oh, rows):
            yield n0, n0 + 1, h0, min(oh, h0 + rows)


def plan_blocks(xp: np.ndarray, k_hw, out_hw) -> list:
    """The blocks of a convolution over padded ``xp``."""
    width = k_hw[0] * k_hw[1] * xp.shape[3]
    return list(blocks(xp.shape[0], out_hw[0], out_hw[1], width * xp.itemsize))


def deal(plan: list, parts: int) -> list:
    """``plan`` cut into ``parts`` contiguous runs of blocks (a fixed order of sums)."""
    return [plan[len(plan) * i // parts:len(plan) * (i + 1) // parts] for i in range(parts)]


def gathered(xp: np.ndarray, k_hw, out_hw, strides, dilations, plan, ones: bool = False):
    """Yield ``(n0, n1, h0, h1, cols)`` per block of ``plan``: ``cols`` is a scratch
    (rows, KH*KW*C) matrix holding the receptive fields of output rows h0:h1 of images
    n0:n1 of padded NHWC ``xp``, valid until the next block; with ``ones`` it has one more
    column, of ones (the bias's row of the weights multiplies it: ``correlate``).

    The per-block work is kept to a strided view and one copy: a block costs ~5 us of
    Python, and a 5x5 convolution of a 64-image batch has a hundred blocks."""
    if not plan:
        return
    n, _, _, c = xp.shape
    (kh, kw), (oh, ow) = k_hw, out_hw
    width = kh * kw * c
    row = width + 1 if ones else width
    s0, s1, s2, s3 = xp.strides
    steps = (s0, s1 * strides[0], s2 * strides[1], s1 * dilations[0], s2 * dilations[1], s3)
    most = max((n1 - n0) * (h1 - h0) for n0, n1, h0, h1 in plan) * ow * row
    buf = scratch(COLS, (most,), xp.dtype)
    # A C-contiguous source is viewed through the ndarray constructor (a few times faster
    # than as_strided); any other (a transposed NCHW input) through as_strided.
    source = xp if xp.flags.c_contiguous else None
    item = xp.itemsize
    for n0, n1, h0, h1 in plan:
        shape = (n1 - n0, h1 - h0, ow, kh, kw, c)
        if source is not None:
            view = np.ndarray(shape, xp.dtype, source, n0 * s0 + h0 * steps[1], steps)
        else:
            view = as_strided(xp[n0:n1, h0 * strides[0]:], shape, steps, writeable=False)
        rows = shape[0] * shape[1] * ow
        cols = buf[:rows * row].reshape(rows, row)
        if ones:
            cols[:, width] = 1
            fields = np.ndarray(shape, xp.dtype, buf, 0, (
                shape[1] * ow * row * item, ow * row * item, row * item,
                kw * c * item, c * item, item))
        else:
            fields = cols.reshape(shape)
        np.copyto(fields, view)
        yield n0, n1, h0, h1, cols


def correlate(xp: np.ndarray, weights: np.ndarray, k_hw, out_hw, strides, dilations,
              bias: np.ndarray | None = None):
    """Padded NHWC ``xp`` correlated with ``weights`` (KH*KW*C, O): a fresh (N, OH, OW, O),
    plus ``bias`` (O,) when given.

    Block by block (``gathered``): the block's im2col rows are gathered into a cache-sized
    scratch matrix and multiplied while they are still in cache, straight into the
    output's rows. Measured on 2-core x86 (OpenBLAS, one thread): about half the time of
    one whole-tensor im2col and one product, whose 40 MB column matrix is written to
    memory and read back. A bias is one more row of the weights, against a column of ones
    gathered with the fields: the product adds it, and no pass over the output does (the
    VGG block's 16 x 32 x 32 x 64 convolution on two threads: 5.37 ms with a separate
    addition, 5.17 ms so; the product's inner dimension one longer costs nothing).
    """
    n, c = xp.shape[0], xp.shape[3]
    (kh, kw), (oh, ow) = k_hw, out_hw
    o = weights.shape[1]
    if kh == kw == 1 and tuple(strides) == (1, 1) and xp.shape[1:3] == (oh, ow):
        out = np.empty((n, oh, ow, o), np.result_type(xp, weights))
        blas_threads.matmul(xp.reshape(-1, c), weights, out=out.reshape(-1, o))
        if bias is not None:
            out += bias
        return out
    if _paired(o, kw, ow, strides, dilations):
        pair = correlate(xp, _pair_weights(weights, kh, kw, c), (kh, kw + 1), (oh, ow // 2),
                         (strides[0], 2), (dilations[0], 1),
                         None if bias is None else np.concatenate([bias, bias]))
        return pair.reshape(n, oh, ow, o)
    out = np.empty((n, oh, ow, o), np.result_type(xp, weights))
    ones = bias is not None
    if ones:
        weights = np.concatenate([weights, bias.reshape(1, o)])

    plan = plan_blocks(xp, k_hw, out_hw)

    def run(part):
        for n0, n1, h0, h1, cols in gathered(xp, k_hw, out_hw, strides, dilations, part,
                                             ones):
            np.matmul(cols, weights, out=out[n0:n1, h0:h1].reshape(cols.shape[0], o))

    blas_threads.split(run, deal(plan, min(len(plan), SPLIT_PARTS)))
    return out


# A correlation into few channels is a product with few columns, which OpenBLAS runs far
# below its speed (the MNIST CNN's 5x5 input gradient, (12544 x 1600) @ (1600 x 32): 77
# GFLOP/s on one AVX-512 core, 150 with 128 columns). Two neighbouring output pixels of a
# row then share one gathered row: KW + 1 pixels wide, multiplied by the filter placed
# twice (``_pair_weights``), giving both pixels' channels side by side, which is the
# output's own layout. It multiplies by zeros ((KW + 1) / KW the work) but gathers half the
# rows. Measured on one core: the products alone, 5x5 into 32 channels 16.2 -> 13.8 ms,
# into 16 6.2 -> 5.1 ms, 3x3 into 16 5.1 -> 3.8 ms, 3x3 into 32 6.1 -> 6.2 ms (not
# taken); the CNN's whole input gradient 13.0 -> 11.0 ms (7.7 -> 7.5 ms on two cores).
PAIR_MAX_CHANNELS = 16
PAIR_MAX_CHANNELS_WIDE = 32   # for windows PAIR_WIDE_WINDOW and more wide
PAIR_WIDE_WINDOW = 5


def _paired(o: int, kw: int, ow: int, strides, dilations) -> bool:
    wide = kw >= PAIR_WIDE_WINDOW
    return (o <= (PAIR_MAX_CHANNELS_WIDE if wide else PAIR_MAX_CHANNELS) and kw > 1
            and ow % 2 == 0 and strides[1] == 1 and dilations[1] == 1)


def _pair_weights(weights: np.ndarray, kh: int, kw: int, c: int) -> np.ndarray:
    """(KH*(KW+1)*C, 2*O) weights of a paired correlation (see PAIR_MAX_CHANNELS): the
    first O columns apply the filter to window columns 0..KW-1, the second O to 1..KW."""
    o = weights.shape[1]
    taps = weights.reshape(kh, kw, c, o)
    pair = scratch(PAIR, (kh, kw + 1, c, 2, o), weights.dtype)
    pair[:, kw, :, 0] = 0
    pair[:, 0, :, 1] = 0
    pair[:, :kw, :, 0] = taps
    pair[:, 1:, :, 1] = taps
    return pair.reshape(kh * (kw + 1) * c, 2 * o)


# Up to this many input channels the receptive fields are gathered transposed, by slabs
# (``slab_columns``): a row-major gather would copy runs of C values at a time. The slab
# copies run on one thread, the blocked gather on all kernel threads; measured in a run on
# 2 cores (forward / filter gradient, ms): C = 1 slabs win (MNIST's 64 x 28 x 28 5x5 1.10
# / 1.15 against 1.15 / 1.49, 64 x 56 x 56 3x3 1.90 / 3.34 against 3.11 / 4.44); from
# C = 2 the blocks do (C = 2 5x5 2.06 / 2.13 against 1.23 / 1.85; the ResNet stem, 16 x
# 112 x 112 x 3 7x7 stride 2 into 64: 8.63 / 8.66 against 4.53 / 4.94). The input
# gradient's slab adds win up to C = 8 and tie at 16.
SLAB_MAX_CHANNELS = 1
SLAB_MAX_INPUT_GRAD_CHANNELS = 8


def slab_columns(xp: np.ndarray, k_hw, out_hw, strides, dilations,
                 ones: bool = False) -> np.ndarray:
    """Scratch (KH*KW*C, N*OH*OW): im2col of padded NHWC ``xp``, transposed; with ``ones``
    one more row, of ones (for a bias, as in ``gathered``).

    Filled by KH*KW slab copies, each the input shifted by one window offset, whose rows
    are runs of OW pixels: for a few channels (the first layer of a network: C = 1 or 3)
    several times cheaper than gathering N*OH*OW receptive fields of KH*KW*C values each,
    and BLAS takes the transpose for free (``cols.T @ w``)."""
    n, _, _, c = xp.shape
    (kh, kw), (oh, ow), (sh, sw), (dh, dw) = k_hw, out_hw, strides, dilations
    width = kh * kw * c
    flat = scratch(COLS, (width + ones, n * oh * ow), xp.dtype)
    if ones:
        flat[width] = 1
    cols = flat[:width].reshape(kh, kw, c, n, oh, ow)
    source = xp.transpose(3, 0, 1, 2)   # (C, N, H, W): a view
    for i in range(kh):
        rows = slice(i * dh, i * dh + (oh - 1) * sh + 1, sh)
        for j in range(kw):
            np.copyto(cols[i, j], source[:, :, rows, j * dw:j * dw + (ow - 1) * sw + 1:sw])
    return flat


def slab_input_grad(grad: np.ndarray, f: np.ndarray, in_hw, pads, strides, dilations):
    """d(loss)/d(input) for few input channels: ``(f @ grad.T)`` gives each window
    offset's contribution as a (C, N*OH*OW) slab, and the KH*KW slabs are added back where
    ``slab_columns`` read them from (col2im, transposed): KH*KW*C small adds instead of a
    gather over O output channels."""
    n, oh, ow, o = grad.shape
    kh, kw, c, _ = f.shape
    (sh, sw), (dh, dw) = strides, dilations
    hp, wp = in_hw[0] + sum(pads[0]), in_hw[1] + sum(pads[1])
    slabs = scratch(COLS, (kh * kw * c, n * oh * ow), grad.dtype)
    blas_threads.matmul(f.reshape(kh * kw * c, o), grad.reshape(n * oh * ow, o).T, out=slabs)
    slabs = slabs.reshape(kh, kw, c, n, oh, ow)
    out = np.zeros((c, n, hp, wp), grad.dtype)
    for i in range(kh):
        rows = slice(i * dh, i * dh + (oh - 1) * sh + 1, sh)
        for j in range(kw):
            out[:, :, rows, j * dw:j * dw + (ow - 1) * sw + 1:sw] += slabs[i, j]
    top, left = pads[0][0], pads[1][0]
    return np.ascontiguousarray(
        out[:, :, top:top + in_hw[0], left:left + in_hw[1]].transpose(1, 2, 3, 0))


def spread(grad: np.ndarray, k_hw, in_hw, pads, strides, dilations,
           slot: str | None = None) -> np.ndarray:
    """The output gradient placed where a flipped-filter correlation reads it back.

    Input pixel q receives dy[o] * f[k] for every o*s + k*d == q + pad_before; with
    dy's pixel o written at o*s + (K-1)*d - pad_before, that is a plain stride-1 dilated
    correlation with the flipped filter, so the input gradient is one im2col + matmul.
    With ``slot`` the result is scratch memory of that arena slot (``scratch``).
    """
    n, oh, ow, o = grad.shape
    size, index = [], []
    for axis, (out, k) in enumerate(((oh, k_hw[0]), (ow, k_hw[1]))):
        s, d = strides[axis], dilations[axis]
        length = in_hw[axis] + (k - 1) * d
        offset = (k - 1) * d - pads[axis][0]
        first = max(0, -(offset // s) if offset < 0 else 0)  # outputs landing before 0
        last = min(out, (length - 1 - offset) // s + 1) if length - 1 >= offset else 0
        size.append(length)
        index.append((slice(first, max(first, last)),
                      slice(offset + first * s, offset + max(first, last - 1) * s + 1, s)))
    (src_h, dst_h), (src_w, dst_w) = index
    if slot is None:
        out = np.zeros((n, size[0], size[1], o), grad.dtype)
    else:
        out = scratch(slot, (n, size[0], size[1], o), grad.dtype)
        out.fill(0)
    if src_h.stop > src_h.start and src_w.stop > src_w.start:
        out[:, dst_h, dst_w] = grad[:, src_h, src_w]
    return out


def conv_forward(x: np.ndarray, f: np.ndarray, pads, out_hw, strides, dilations,
                 bias: np.ndarray | None = None):
    """NHWC ``x`` convolved with HWIO ``f`` (one group): a fresh (N, OH, OW, O) array, plus
    ``bias`` (O,) when given (added inside the product where the fields are gathered by
    blocks, see ``correlate``)."""
    kh, kw, c, o = f.shape
    if c <= SLAB_MAX_CHANNELS and kh * kw > 1:
        ones = bias is not None
        cols = slab_columns(padded(x, pads), (kh, kw), out_hw, strides, dilations, ones)
        weights = f.reshape(kh * kw * c, o)
        if ones:
            weights = np.concatenate([weights, bias.reshape(1, o)])
        out = np.empty((x.shape[0], out_hw[0], out_hw[1], o), np.result_type(x, f))
        blas_threads.matmul(cols.T, weights, out=out.reshape(-1, o))
        return out
    return correlate(padded(x, pads), f.reshape(kh * kw * c, o), (kh, kw), out_hw, strides,
                     dilations, bias)


def conv_filter_grad(x: np.ndarray, grad: np.ndarray, k_hw, pads, strides, dilations):
    """d(loss)/d(filter) (KH*KW*C, O) of one group: ``im2col(x).T @ grad``, summed over
    cache-sized blocks of output rows (see ``correlate``)."""
    n, oh, ow, o = grad.shape
    xp = padded(x, pads)
    c = xp.shape[3]
    width = k_hw[0] * k_hw[1] * c
    if k_hw == (1, 1) and tuple(strides) == (1, 1) and xp.shape[1:3] == (oh, ow):
        return blas_threads.matmul(xp.reshape(-1, c).T, grad.reshape(-1, o))
    if c <= SLAB_MAX_CHANNELS:
        return blas_threads.matmul(slab_columns(xp, k_hw, (oh, ow), strides, dilations),
                                   grad.reshape(-1, o))

    def run(plan):
        total = np.zeros((width, o), np.result_type(x, grad))
        part = np.empty_like(total)
        for n0, n1, h0, h1, cols in gathered(xp, k_hw, (oh, ow), strides, dilations, plan):
            np.matmul(cols.T, grad[n0:n1, h0:h1].reshape(cols.shape[0], o), out=part)
            total += part
        return total

    plan = plan_blocks(xp, k_hw, (oh, ow))
    # Fixed runs of blocks, whichever thread takes them: the partial sums add up in the
    # same order every time.
    totals = blas_threads.split(run, deal(plan, min(len(plan), SPLIT_PARTS)))
    if not totals:
        return np.zeros((width, o), np.result_type(x, grad))
    for other in totals[1:]:
        totals[0] += other
    return totals[0]


def conv_input_grad(grad: np.ndarray, f: np.ndarray, in_hw, pads, strides, dilations):
    """d(loss)/d(input) of one group, NHWC (N, H, W, C), a fresh array.

    Stride 1: input pixel q receives grad[q + pad - k*d] * f[k] summed over window offsets
    k, which is a correlation of the gradient, padded by (K-1)*d - pad on each side, with
    the flipped filter: im2col + one product, the forward kernel's shapes. Larger strides
    would multiply that work by the stride's area in zeros, so there the product comes
    first, ``grad @ f.T`` (what each receptive field receives), and its KH*KW slabs are
    added back where they were read from (col2im): one product and KH*KW strided adds.
    """
    n, oh, ow, o = grad.shape
    kh, kw, c, _ = f.shape
    h, w = in_hw
    dtype = np.result_type(grad, f)
    if c <= SLAB_MAX_INPUT_GRAD_CHANNELS and c < o and kh * kw > 1:
        return slab_input_grad(grad, f, in_hw, pads, strides, dilations)
    if tuple(strides) == (1, 1):
        spread = []
        for axis, k, size in ((0, kh, h), (1, kw, w)):
            reach = (k - 1) * dilations[axis]
            before = reach - pads[axis][0]
            after = size + reach - before - (oh if axis == 0 else ow)
            spread.append((before, after))
        if min(spread[0] + spread[1]) >= 0:
            flipped = scratch(FLIP, (kh, kw, o, c), f.dtype)
            np.copyto(flipped, f[::-1, ::-1].transpose(0, 1, 3, 2))
            return correlate(padded(grad, spread), flipped.reshape(kh * kw * o, c),
                             (kh, kw), (h, w), (1, 1), dilations)
    patches = blas_threads.matmul(grad.reshape(n * oh * ow, o), f.reshape(kh * kw * c, o).T)
    patches = patches.reshape(n, oh, ow, kh, kw, c)
    hp, wp = h + sum(pads[0]), w + sum(pads[1])
    out = np.zeros((n, hp, wp, c), dtype)
    (sh, sw), (dh, dw) = strides, dilations
    # Along an axis the windows tile without overlap when they are one pixel wide, or
    # undilated and no wider than the stride; then each pixel is written at most once.
    overlap = not (kh == 1 or dh == 1 and kh <= sh) or not (kw == 1 or dw == 1 and kw <= sw)
    for i in range(kh):
        rows = slice(i * dh, i * dh + (oh - 1) * sh + 1, sh)
        for j in range(kw):
            columns = slice(j * dw, j * dw + (ow - 1) * sw + 1, sw)
            if overlap:
                out[:, rows, columns] += patches[:, :, :, i, j]
            else:  # the windows tile the input: every pixel is written once
                out[:, rows, columns] = patches[:, :, :, i, j]
    if (hp, wp) == (h, w):
        return out
    return np.ascontiguousarray(out[:, pads[0][0]:pads[0][0] + h, pads[1][0]:pads[1][0] + w])
