"""``tf.summary`` ops: scalar, histogram, image, audio, text, tensor_summary, merge.

Each builds TensorFlow 1.x's nodes: the op is named after the summary's (unique) name
scope and its tag is that scope, so a second ``loss`` summary is op and tag ``loss_1``;
``family`` prefixes the tag again so TensorBoard groups it. Every summary joins the
``summaries`` collection unless ``collections`` says otherwise.
"""
from __future__ import annotations

import contextlib
import re

from flowsaver.format.event_protos import SummaryDescription, SummaryMetadata
from flowsaver.graph.graph import get_default_graph
from flowsaver.graph.graph_keys import GraphKeys
from flowsaver.ops.op_builder import convert_to_tensor, create_op, graph_of
from flowsaver.ops.scope_api import name_scope

__all__ = ["audio", "get_summary_description", "histogram", "image", "merge", "merge_all",
           "scalar", "tensor_summary", "text", "SummaryDescription", "SummaryMetadata"]

_INVALID_TAG_CHARACTERS = re.compile(r"[^-/\w\.]")


def clean_tag(name):
    """``name`` with characters TensorBoard does not allow in tags replaced by ``_``."""
    if name is None:
        return None
    new = _INVALID_TAG_CHARACTERS.sub("_", name).lstrip("/")
    return new


@contextlib.contextmanager
def summary_scope(name, family=None, default_name=None, values=None):
    """Yields (tag, scope) for a summary op named ``name`` (TensorFlow's rule)."""
    name, family = clean_tag(name), clean_tag(family)
    base = name if family is None else f"{family}/{name}"
    with name_scope(base, default_name, values) as scope:
        tag = scope.rstrip("/") if family is None else f"{family}/{scope.rstrip('/')}"
        yield tag, scope


def _collect(value, collections, default=(GraphKeys.SUMMARIES,)) -> None:
    graph = value.graph
    for key in (list(default) if collections is None else collections):
        graph.add_to_collection(key, value)


def scalar(name, tensor, collections=None, family=None):
    """A ``ScalarSummary`` of a real scalar tensor."""
    with graph_of([tensor]).as_default(), \
            summary_scope(name, family, values=[tensor]) as (tag, scope):
        value = create_op("ScalarSummary", [tag, tensor], name=scope)
    _collect(value, collections)
    return value


def histogram(name, values, collections=None, family=None):
    """A ``HistogramSummary`` of ``values`` (TensorFlow's default buckets)."""
    with graph_of([values]).as_default(), \
            summary_scope(name, family, values=[values], default_name="HistogramSummary") \
            as (tag, scope):
        value = create_op("HistogramSummary", [tag, values], name=scope)
    _collect(value, collections)
    return value


def image(name, tensor, max_outputs=3, collections=None, family=None):
    """An ``ImageSummary`` of a [batch, height, width, 1|3|4] tensor, PNG-encoded."""
    with graph_of([tensor]).as_default(), \
            summary_scope(name, family, values=[tensor]) as (tag, scope):
        value = create_op("ImageSummary", [tag, tensor], {"max_images": max_outputs},
                          name=scope)
    _collect(value, collections)
    return value


def audio(name, tensor, sample_rate, max_outputs=3, collections=None, family=None):
    """An ``AudioSummaryV2`` of [batch, frames(, channels)] float samples in [-1, 1]."""
    with graph_of([tensor]).as_default(), \
            summary_scope(name, family=family, values=[tensor]) as (tag, scope):
        sample_rate = convert_to_tensor(sample_rate, dtype="float32", name="sample_rate")
        value = create_op("AudioSummaryV2", [tag, tensor, sample_rate],
                          {"max_outputs": max_outputs}, name=scope)
    _collect(value, collections)
    return value


def tensor_summary(name, tensor, summary_description=None, collections=None,
                   summary_metadata=None, family=None, display_name=None):
    """A ``TensorSummaryV2``: the tensor itself, with optional plugin metadata."""
    if summary_metadata is None:
        summary_metadata = SummaryMetadata()
    if summary_description is not None:
        summary_metadata.summary_description = summary_description
    if display_name is not None:
        summary_metadata.display_name = display_name
    serialized = summary_metadata.SerializeToString()
    with graph_of([tensor]).as_default(), \
            summary_scope(name, family, values=[tensor]) as (tag, scope):
        value = create_op("TensorSummaryV2", [tag, tensor, serialized], name=scope)
    _collect(value, collections)
    return value


def text(name, tensor, collections=None):
    """A text summary (TensorBoard's text plugin) of a string tensor."""
    tensor = convert_to_tensor(tensor)
    if tensor.dtype.name != "string":
        raise ValueError(f"Expected tensor {tensor.name} to have dtype string, got "
                         f"{tensor.dtype.name}")
    metadata = SummaryMetadata()
    metadata.plugin_data.plugin_name = "text"
    return tensor_summary(name, tensor, collections=collections,
                          summary_metadata=metadata)


def merge(inputs, collections=None, name=None):
    """One ``MergeSummary`` of serialized summaries (duplicate tags fail when run)."""
    inputs = list(inputs)
    with graph_of(inputs).as_default(), name_scope(name, "Merge", inputs):
        value = create_op("MergeSummary", [inputs], name=name)
    if collections:
        _collect(value, collections, ())
    return value


def merge_all(key=GraphKeys.SUMMARIES, scope=None, name=None):
    """``merge`` of every summary in collection ``key``, or None when there is none."""
    summaries = get_default_graph().get_collection(key, scope)
    return merge(summaries, name=name) if summaries else None


def get_summary_description(node_def):
    """The SummaryDescription of a TensorSummary node (its ``description`` attr)."""
    if node_def.op not in ("TensorSummary", "TensorSummaryV2"):
        raise ValueError(f"Can't get_summary_description on {node_def.op}")
    description = SummaryDescription()
    if "description" in node_def.attr:
        description.ParseFromString(node_def.attr["description"].s)
    return description

