"""Batched matrix products: ``BatchMatMulV2`` (``tf.matmul`` of rank > 2) and ``Einsum``.

``BatchMatMulV2`` multiplies the two innermost dimensions and broadcasts the batch
dimensions before them, as NumPy's ``matmul`` does. ``Einsum`` evaluates an equation in
TensorFlow's notation (``"bij,bjk->bik"``, with ``...`` for broadcast dimensions) with
NumPy's ``einsum``; its shape function checks the equation and the operands' shapes with
TensorFlow's messages.
"""
from __future__ import annotations

import re

import numpy as np

from flowsaver import errors
from flowsaver.graph.tensor_shape import TensorShape
from flowsaver.ops.math.kernels import no_kernel
from flowsaver.ops.registry import OpTable
from flowsaver.ops.shapes import fail

TABLE = OpTable(__name__)
define, kernel, shape_fn = TABLE.define, TABLE.kernel, TABLE.shape_fn

define(
    'BatchMatMulV2(x: T, y: T) -> (output: T); T: type {bfloat16, half, float, double, int16, int32, int64, uint8, uint16, uint32, uint64, complex64, complex128}; adj_x: bool = false; adj_y: bool = false; grad_x: bool = false; grad_y: bool = false',
    'Einsum(inputs: N * T) -> (output: T); equation: string; N: int >= 1; T: type',
)
# TensorFlow's CPU build has no batched product of unsigned integers.
_NO_KERNEL = {"uint8", "uint16", "uint32", "uint64"}


def _invalid(op, message: str) -> errors.InvalidArgumentError:
    return errors.InvalidArgumentError(op.node_def, op, message)


# ---- BatchMatMulV2 ----------------------------------------------------------------------------
@shape_fn("BatchMatMulV2")
def _batch_matmul_shape(op):
    x, y = op.inputs[0].shape, op.inputs[1].shape
    for s in (x, y):
        if s.ndims is not None and s.ndims < 2:
            raise fail(op, f"Shape must be at least rank 2 but is rank {s.ndims}")
    if x.ndims is None or y.ndims is None:
        return [TensorShape(None)]
    a, b = x.as_list(), y.as_list()
    rows, inner_x = (a[-1], a[-2]) if op.get_attr("adj_x") else (a[-2], a[-1])
    inner_y, cols = (b[-1], b[-2]) if op.get_attr("adj_y") else (b[-2], b[-1])
    if inner_x is not None and inner_y is not None and inner_x != inner_y:
        raise fail(op, f"Dimensions must be equal, but are {inner_x} and {inner_y}")
    batch = _broadcast_batch(op, a[:-2], b[:-2])
    return [TensorShape(batch + [rows, cols])]


def _broadcast_batch(op, a: list, b: list) -> list:
    """The batch dimensions of a broadcast product, with the shape function's error."""
    n = max(len(a), len(b))
    a, b = [1] * (n - len(a)) + a, [1] * (n - len(b)) + b
    out = []
    for p, q in zip(a, b):
        if p == 1:
            out.append(q)
        elif q == 1:
            out.append(p)
        elif p is None or q is None:
            out.append(p if q is None else q)
        elif p == q:
            out.append(p)
        else:
            raise fail(op, f"Dimensions must be equal, but are {p} and {q}")
    return out


@kernel("BatchMatMulV2")
def _batch_matmul(op, ctx):
    if op.get_attr("T").name in _NO_KERNEL:
        no_kernel(op)
    adj_x, adj_y = op.get_attr("adj_x"), op.get_attr("adj_y")

    def run(x, y):
        # the adjoint of a real matrix is its transpose: a view, which BLAS reads as it is
        # (np.conj would copy it: the attention products of a transformer layer 1.2-1.9x)
        x = _adjoint(x) if adj_x else x
        y = _adjoint(y) if adj_y else y
        if x.shape[-1] != y.shape[-2]:
            raise _invalid(op, f"Matrix size-incompatible: In[0]: {list(x.shape)}, In[1]: "
                               f"{list(y.shape)}")
        try:
            np.broadcast_shapes(x.shape[:-2], y.shape[:-2])
        except ValueError:
            raise _invalid(op, f"In[0] and In[1] must have compatible batch dimensions: "
                               f"{list(x.shape)} vs. {list(y.shape)}") from None
        return np.matmul(x, y)
    return run


def _adjoint(x: np.ndarray) -> np.ndarray:
    """The conjugate transpose of the last two axes (a view for real dtypes)."""
    swapped = np.swapaxes(x, -1, -2)
    return np.conj(swapped) if np.iscomplexobj(swapped) else swapped


# ---- Einsum -------------------------------------------------------------------------------------
_LABELS = re.compile(r"^(?:[a-zA-Z]|\.\.\.)*$")


def parse_equation(equation: str, n: int):
    """``(input label lists, output label list)`` of an einsum equation, ``...`` as one label.

    Raises:
      ValueError: the equation is malformed or has the wrong number of inputs.
    """
    text = equation.replace(" ", "")
    lhs, arrow, rhs = text.partition("->")
    inputs = lhs.split(",")
    if len(inputs) != n:
        raise ValueError(f"Expecting {len(inputs)} inputs but got: {n}")
    if len(inputs) > 2:
        raise ValueError(f"Expecting 1 or 2 input subscripts in equation '{equation}' but "
                         f"got: {len(inputs)}")
    if not arrow:  # implicit form: the labels seen once, sorted; broadcast dims first
        labels = [c for part in inputs for c in _split_labels(part)]
        rhs = ("..." if "..." in labels else "") + "".join(
            sorted(c for c in set(labels) if c != "..." and labels.count(c) == 1))
    for part in inputs + [rhs]:
        if not _LABELS.match(part):
            raise ValueError(f"Invalid einsum equation '{equation}'")
    return [_split_labels(part) for part in inputs], _split_labels(rhs)


def _split_labels(part: str) -> list:
    out, i = [], 0
    while i < len(part):
        if part.startswith("...", i):
            out.append("...")
            i += 3
        else:
            out.append(part[i])
            i += 1
    return out


@shape_fn("Einsum")
def _einsum_shape(op):
    equation = op.get_attr("equation")
    if isinstance(equation, bytes):
        equation = equation.decode()
    try:
        inputs, output = parse_equation(equation, len(op.inputs))
    except ValueError as e:
        raise fail(op, str(e)) from None
    sizes: dict = {}
    broadcast: list | None = []
    for i, (labels, tensor) in enumerate(zip(inputs, op.inputs)):
        named = [c for c in labels if c != "..."]
        if tensor.shape.ndims is None:
            if "..." in labels:
                broadcast = None  # the broadcast dims, and so the output rank, are unknown
            continue
        dims = tensor.shape.as_list()
        if ("..." in labels and len(dims) < len(named)) or \
                ("..." not in labels and len(dims) != len(named)):
            least = "at least " if "..." in labels else ""
            raise fail(op, f"Shape must be {least}rank {len(named)} but is rank {len(dims)}\n\t "
                           f"for {i}th input and equation: {equation}")
        cut = labels.index("...") if "..." in labels else len(labels)
        after = len(labels) - cut - 1 if "..." in labels else 0
        named_dims = dims[:cut] + dims[len(dims) - after:] if after else dims[:cut]
        for label, d in zip(named, named_dims):
            known = sizes.get(label)
            if known is not None and d is not None and known != d:
                raise fail(op, f"Dimensions must be equal, but are {known} and {d}")
            if known is None:
                sizes[label] = d
        if "..." in labels and broadcast is not None:
            broadcast = _broadcast_batch(op, broadcast, dims[cut:len(dims) - after])
    if "..." in output and broadcast is None:
        return [TensorShape(None)]
    dims = []
    for label in output:
        dims.extend(broadcast if label == "..." else [sizes.get(label)])
    return [TensorShape(dims)]


@kernel("Einsum")
def _einsum(op, ctx):
    equation = op.get_attr("equation")
    if isinstance(equation, bytes):
        equation = equation.decode()
    equation = equation.replace(" ", "")
    dtype = op.get_attr("T").as_numpy_dtype
    lhs, _, rhs = equation.partition("->")
    labels = _split_labels(rhs)
    unique = list(dict.fromkeys(labels))
    # A label repeated in the output ("i->ii", a gradient of a trace) puts values on a
    # diagonal; NumPy refuses it, so the unique-label result is written into the diagonal.
    diagonal = "".join(unique) if len(unique) < len(labels) else None

    def run(*operands):
        try:
            if diagonal is None:
                return np.asarray(np.einsum(equation, *operands), dtype=dtype)
            values = np.einsum(f"{lhs}->{diagonal}", *operands)
            sizes = dict(zip(unique, _label_sizes(unique, values.shape)))
            out = np.zeros([d for label in labels for d in sizes[label]], dtype=dtype)
            np.einsum(f"{''.join(labels)}->{diagonal}", out)[...] = values
            return out
        except ValueError as e:
            raise _invalid(op, f"Einsum failed for equation '{equation}': {e}") from None
    return run


def _label_sizes(labels: list, shape: tuple) -> list:
    """The dims each label of a result stands for (a tuple: ``...`` may be several)."""
    named = len([c for c in labels if c != "..."])
    ellipsis_dims = len(shape) - named
    out, i = [], 0
    for label in labels:
        width = ellipsis_dims if label == "..." else 1
        out.append(tuple(shape[i:i + width]))
        i += width
    return out
