"""Checks and printing: Assert, CheckNumerics, Print, PrintV2, StringFormat.

``Assert`` fails the step with ``InvalidArgumentError("assertion failed: [..] [..]")``
when its condition is false; ``CheckNumerics`` passes its input through unless it holds
NaN or Inf. ``Print`` passes its first input through and writes a summary of its data to
stderr (the first ``first_n`` times); ``StringFormat`` fills a template with tensor
summaries and ``PrintV2`` writes a string to stderr, stdout, the ``tensorflow`` logger or
a ``file://`` path. All are stateful (never folded, never pruned as constants).
"""
from __future__ import annotations

import logging
import sys

import numpy as np

from flowsaver import errors
from flowsaver.graph.tensor_shape import TensorShape
from flowsaver.ops.logging.summarize import summarize, summarize_v2
from flowsaver.ops.registry import OpTable
from flowsaver.ops.shapes import fail

TABLE = OpTable(__name__)
define, kernel, shape_fn = TABLE.define, TABLE.kernel, TABLE.shape_fn

define(
    'Assert(condition: bool, data: T) -> (); T: list(type) >= 1; summarize: int = 3; !stateful',
    'CheckNumerics(tensor: T) -> (output: T); T: type {bfloat16, half, float, double}; message: string; !stateful',
    'Print(input: T, data: U) -> (output: T); T: type; U: list(type) >= 0; message: string = ""; first_n: int = -1; summarize: int = 3; !stateful',
    'PrintV2(input: string) -> (); output_stream: string = "stderr"; end: string = "\\n"; !stateful',
    'StringFormat(inputs: T) -> (output: string); T: list(type) >= 0; template: string = "%s"; placeholder: string = "%s"; summarize: int = 3',
)
TABLE.not_differentiable("Assert", "PrintV2", "StringFormat")
_LOG_LEVELS = {"log(info)": logging.INFO, "log(warning)": logging.WARNING,
               "log(error)": logging.ERROR}


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _scalar(op, i: int = 0):
    shape = op.inputs[i].shape
    if shape.ndims is not None and shape.ndims != 0:
        raise fail(op, f"Shape must be rank 0 but is rank {shape.ndims}")


# ---- Assert -----------------------------------------------------------------------------------
@shape_fn("Assert")
def _assert_shape(op):
    _scalar(op)
    return []


@kernel("Assert")
def _assert(op, ctx):
    count = op.get_attr("summarize")

    def run(condition, *data):
        if np.ndim(condition) != 0:
            raise errors.InvalidArgumentError(
                op.node_def, op, f"In[0] should be a scalar: "
                                 f"[{','.join(map(str, np.shape(condition)))}]")
        if not condition:
            summary = " ".join(f"[{summarize(d, count)}]" for d in data)
            raise errors.InvalidArgumentError(op.node_def, op, f"assertion failed: {summary}")
    return run


# ---- CheckNumerics ----------------------------------------------------------------------------
shape_fn("CheckNumerics")(lambda op: [op.inputs[0].shape])


@kernel("CheckNumerics")
def _check_numerics(op, ctx):
    message = _text(op.get_attr("message"))

    def run(x):
        x = np.asarray(x)
        with np.errstate(invalid="ignore"):
            nan, inf = bool(np.isnan(x).any()), bool(np.isinf(x).any())
        if nan or inf:
            what = "Inf and NaN" if nan and inf else ("NaN" if nan else "Inf")
            raise errors.InvalidArgumentError(op.node_def, op,
                                              f"{message} : Tensor had {what} values")
        return x
    return run


# ---- Print ------------------------------------------------------------------------------------
shape_fn("Print")(lambda op: [op.inputs[0].shape])


@kernel("Print")
def _print(op, ctx):
    message = _text(op.get_attr("message"))
    first_n, count = op.get_attr("first_n"), op.get_attr("summarize")

    def run(value, *data):
        state = ctx.op_state(op) if ctx is not None else {}
        printed = state.get("printed", 0)
        if first_n < 0 or printed < first_n:
            state["printed"] = printed + 1
            text = message + "".join(f"[{summarize(d, count)}]" for d in data)
            sys.stderr.write(text + "\n")
            sys.stderr.flush()
        return value
    return run


# ---- StringFormat and PrintV2 -----------------------------------------------------------------
@shape_fn("StringFormat")
def _string_format_shape(op):
    template = _text(op.get_attr("template"))
    placeholder = _text(op.get_attr("placeholder"))
    found = template.count(placeholder)
    if found != len(op.inputs):
        raise fail(op, f"num placeholders in template and num inputs must match: {found} vs. "
                       f"{len(op.inputs)}")
    return [TensorShape([])]


@kernel("StringFormat")
def _string_format(op, ctx):
    pieces = _text(op.get_attr("template")).split(_text(op.get_attr("placeholder")))
    count = op.get_attr("summarize")

    def run(*values):
        out = [pieces[0]]
        for value, piece in zip(values, pieces[1:]):
            out.append(summarize_v2(value, count))
            out.append(piece)
        return np.array("".join(out).encode(), dtype=object)
    return run


@shape_fn("PrintV2")
def _print_v2_shape(op):
    _scalar(op)
    return []


@kernel("PrintV2")
def _print_v2(op, ctx):
    stream = _text(op.get_attr("output_stream"))
    end = _text(op.get_attr("end"))
    if stream not in ("stdout", "stderr") and stream not in _LOG_LEVELS and \
            not stream.startswith("file://"):
        raise errors.InvalidArgumentError(
            op.node_def, op, f"{stream} is not a valid output_stream; valid choices are "
                             f"stdout, stderr, log(info), log(warning), log(error), or a "
                             f"file path starting with file://")

    def run(value):
        text = _text(np.asarray(value).reshape(-1)[0]) if np.size(value) else ""
        if stream in _LOG_LEVELS:
            logging.getLogger("tensorflow").log(_LOG_LEVELS[stream], text)
        elif stream.startswith("file://"):
            with open(stream[len("file://"):], "a", encoding="utf-8") as f:
                f.write(text + end)
        else:
            out = sys.stdout if stream == "stdout" else sys.stderr
            out.write(text + end)
            out.flush()
    return run
