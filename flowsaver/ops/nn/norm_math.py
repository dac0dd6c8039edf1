"""Batch normalization's arithmetic on channel-last data viewed as a (rows, channels) matrix.

The fused batch-norm kernels spend their time in per-channel sums over many rows and in
elementwise passes. Here the sums are matrix-vector products (``ones @ x``: BLAS, several
times faster than ``x.sum(axis=0)``) or ``einsum`` (a sum of products without the
temporary), and the elementwise work is folded into per-channel coefficients so that each
output is written by few in-place passes over one fresh array. Everything stays float32.
"""
from __future__ import annotations

import numpy as np


def _ones(rows: int, dtype) -> np.ndarray:
    return np.ones(rows, dtype)


def column_sums(x2: np.ndarray) -> np.ndarray:
    """Sum of each column of a (rows, C) matrix."""
    return _ones(x2.shape[0], x2.dtype) @ x2


def train_forward(x2: np.ndarray, scale, offset, eps):
    """(y, mean, biased variance) of batch normalization in training mode; ``y`` fresh."""
    rows = max(x2.shape[0], 1)
    mean = column_sums(x2) / np.float32(rows)
    y = x2 - mean                                   # centred; becomes y in place
    var = np.einsum("ij,ij->j", y, y) / np.float32(rows)
    a = (np.float32(1) / np.sqrt(var + eps)).astype(np.float32) * scale
    np.multiply(y, a, out=y)
    y += offset
    return y, mean, var


def infer_forward(x2: np.ndarray, scale, offset, mean, var, eps) -> np.ndarray:
    """Batch normalization with given statistics: ``x * a + b`` per channel, fresh."""
    a = (np.float32(1) / np.sqrt(var + eps)).astype(np.float32) * scale
    y = np.multiply(x2, a)
    y += (offset - mean * a).astype(np.float32)
    return y


def backward(dy2: np.ndarray, x2: np.ndarray, scale, mean, var, eps, training: bool):
    """(dx, d scale, d offset) of batch normalization on (rows, C) matrices.

    With x_hat = (x - mean) * inv: d offset = sum(dy), d scale = sum(dy * x_hat), and in
    training dx = scale * inv * (dy - d offset / n - x_hat * d scale / n), computed as
    ``dy * k`` plus the centred input times a per-channel coefficient plus a constant.
    """
    rows = max(x2.shape[0], 1)
    inv = (np.float32(1) / np.sqrt(var + eps)).astype(np.float32)
    offset_grad = column_sums(dy2)
    centred = x2 - mean
    scale_grad = np.einsum("ij,ij->j", dy2, centred) * inv
    k = (scale * inv).astype(np.float32)
    dx = np.multiply(dy2, k)
    if training:
        n = np.float32(rows)
        np.multiply(centred, (-k * inv * scale_grad / n).astype(np.float32), out=centred)
        centred += (-k * offset_grad / n).astype(np.float32)
        dx += centred
    return dx, scale_grad, offset_grad
