"""Summary ops: each kernel returns one serialized ``Summary`` message (a scalar string)
that ``FileWriter.add_summary`` writes into an event file.

Tags: ScalarSummary takes one tag per value; an image or audio summary of a batch tags
its items ``TAG/image/0``, ``TAG/image/1``, ... (``TAG/image`` when at most one is asked
for), as TensorBoard expects.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from flowsaver import errors
from flowsaver.format import png, tensor_proto, wav
from flowsaver.format.event_protos import Summary, SummaryMetadata
from flowsaver.format.histogram import histogram_proto
from flowsaver.graph import attr_value
from flowsaver.ops.registry import OpTable

TABLE = OpTable(__name__)
define, kernel, shape_fn = TABLE.define, TABLE.kernel, TABLE.shape_fn

_REAL = "{float, double, int32, uint8, int16, int8, int64, bfloat16, uint16, half, uint32, uint64}"
define(
    f'ScalarSummary(tags: string, values: T) -> (summary: string); T: type {_REAL}',
    f'HistogramSummary(tag: string, values: T) -> (summary: string); T: type {_REAL} = float',
    'ImageSummary(tag: string, tensor: T) -> (summary: string); max_images: int >= 1 = 3; T: type {uint8, float, half, double} = float; bad_color: tensor',
    'AudioSummaryV2(tag: string, tensor: float, sample_rate: float) -> (summary: string); max_outputs: int >= 1 = 3',
    'TensorSummaryV2(tag: string, tensor: T, serialized_summary_metadata: string) -> (summary: string); T: type',
    'MergeSummary(inputs: N * string) -> (summary: string); N: int >= 1',
)
# The notation has no tensor literals: ImageSummary's bad_color default (opaque red) here.
BAD_COLOR = np.array([255, 0, 0, 255], np.uint8)
_BAD_COLOR_PROTO = tensor_proto.TensorProto(dtype=4, int_val=[int(v) for v in BAD_COLOR])
_BAD_COLOR_PROTO.tensor_shape.dim.add(size=4)    # uint8 values as int_val, as TF stores it
_image = TABLE.op_defs["ImageSummary"]
TABLE.op_defs["ImageSummary"] = dataclasses.replace(_image, attrs=tuple(
    dataclasses.replace(a, default=attr_value.encode(_BAD_COLOR_PROTO, "tensor"))
    if a.name == "bad_color" else a for a in _image.attrs))
TABLE.not_differentiable("ScalarSummary", "HistogramSummary", "ImageSummary",
                         "AudioSummaryV2", "TensorSummaryV2", "MergeSummary")


@shape_fn("ScalarSummary", "HistogramSummary", "ImageSummary", "AudioSummaryV2",
          "TensorSummaryV2", "MergeSummary")
def _scalar(op):
    return [[]]


def _text(value) -> str:
    value = np.asarray(value, object).reshape(-1)[0] if np.size(value) else b""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _out(summary: Summary) -> np.ndarray:
    return np.array(summary.SerializeToString(), dtype=object)


def _scalar_tag(value, op) -> str:
    if np.ndim(value) != 0:
        raise errors.InvalidArgumentError(None, op, f"{op.name}: tag must be a scalar, got "
                                                    f"shape {list(np.shape(value))}")
    return _text(value)


@kernel("ScalarSummary")
def _scalar_summary(op, ctx):
    def run(tags, values):
        tags, values = np.asarray(tags, object), np.asarray(values)
        if tags.shape != values.shape:
            raise errors.InvalidArgumentError(
                None, op, f"tags and values are not the same shape: {list(tags.shape)} != "
                          f"{list(values.shape)} (tag '{_text(tags)}')")
        summary = Summary()
        for tag, value in zip(tags.reshape(-1), values.reshape(-1)):
            summary.value.add(tag=_text(np.array([tag], object)), simple_value=float(value))
        return _out(summary)
    return run


@kernel("HistogramSummary")
def _histogram_summary(op, ctx):
    def run(tag, values):
        tag = _scalar_tag(tag, op)
        flat = np.asarray(values, np.float64).reshape(-1)
        if not np.all(np.isfinite(flat)):
            kind = "Nan" if np.isnan(flat).any() else "Infinity"
            raise errors.InvalidArgumentError(
                None, op, f"{kind} in summary histogram for: {tag}")
        summary = Summary()
        summary.value.add(tag=tag).histo.CopyFrom(histogram_proto(flat))
        return _out(summary)
    return run


def to_uint8_image(image: np.ndarray, bad_color: np.ndarray) -> np.ndarray:
    """A float image as TensorFlow's image summary maps it to uint8.

    Non-negative images are scaled so that their largest finite value is 255; images with
    negative values are scaled by 127 / max |value| and shifted by 128. Pixels with a
    non-finite channel take ``bad_color``.
    """
    work = np.float32 if image.dtype != np.float64 else np.float64
    pixels = image.reshape(-1, image.shape[-1]).astype(work)
    finite = np.all(np.isfinite(pixels), axis=1)
    good = pixels[finite]
    low = good.min() if good.size else np.inf
    high = good.max() if good.size else -np.inf
    if low < 0:
        top = max(abs(low), abs(high))
        scale, offset = (0.0 if top < 1e-6 else 127.0 / top), 128.0
    else:
        scale, offset = (0.0 if high < 1e-6 else 255.0 / high), 0.0
    out = np.zeros(pixels.shape, np.uint8)
    out[finite] = (good * work(scale) + work(offset)).astype(np.uint8)
    out[~finite] = bad_color[:pixels.shape[1]]
    return out.reshape(image.shape)


@kernel("ImageSummary")
def _image_summary(op, ctx):
    max_images = op.get_attr("max_images")
    bad_color = tensor_proto.to_array(op.get_attr("bad_color")).astype(np.uint8).reshape(-1)

    def run(tag, images):
        tag = _scalar_tag(tag, op)
        images = np.asarray(images)
        if images.ndim != 4 or images.shape[3] not in (1, 3, 4):
            raise errors.InvalidArgumentError(
                None, op, f"Tensor must be 4-D with last dim 1, 3, or 4, not "
                          f"{list(images.shape)} (summary '{tag}')")
        if images.shape[3] > bad_color.size:
            raise errors.InvalidArgumentError(None, op, f"bad_color has too few channels for "
                                                        f"summary '{tag}'")
        summary = Summary()
        count = min(max_images, images.shape[0])
        for i in range(count):
            image = images[i]
            if image.dtype != np.uint8:
                image = to_uint8_image(image, bad_color)
            value = summary.value.add(tag=f"{tag}/image" if max_images == 1 else
                                      f"{tag}/image/{i}")
            value.image.height, value.image.width = image.shape[0], image.shape[1]
            value.image.colorspace = image.shape[2]
            value.image.encoded_image_string = png.encode(image)
        return _out(summary)
    return run


@kernel("AudioSummaryV2")
def _audio_summary(op, ctx):
    max_outputs = op.get_attr("max_outputs")

    def run(tag, audio, sample_rate):
        tag = _scalar_tag(tag, op)
        audio = np.asarray(audio, np.float32)
        if audio.ndim == 2:
            audio = audio[:, :, None]
        if audio.ndim != 3:
            raise errors.InvalidArgumentError(
                None, op, f"Tensor must be 3-D or 2-D, got: {list(audio.shape)} (summary "
                          f"'{tag}')")
        rate = float(np.asarray(sample_rate).reshape(-1)[0])
        if rate <= 0:
            raise errors.InvalidArgumentError(None, op, f"sample_rate must be > 0 (summary "
                                                        f"'{tag}')")
        summary = Summary()
        for i in range(min(max_outputs, audio.shape[0])):
            value = summary.value.add(tag=f"{tag}/audio" if max_outputs == 1 else
                                      f"{tag}/audio/{i}")
            value.audio.sample_rate = rate
            value.audio.num_channels = audio.shape[2]
            value.audio.length_frames = audio.shape[1]
            value.audio.encoded_audio_string = wav.encode(audio[i], int(rate))
            value.audio.content_type = "audio/wav"
        return _out(summary)
    return run


def tensor_content_proto(value: np.ndarray):
    """The TensorProto of ``value`` as summaries store it: raw content, strings as values."""
    value = np.asarray(value)
    if value.dtype == object or value.dtype.kind in "SU":
        return tensor_proto.from_array(value, dtype="string")
    proto = tensor_proto.from_array(np.zeros((0,), value.dtype), shape=value.shape)
    proto.tensor_content = np.ascontiguousarray(value).astype(
        value.dtype.newbyteorder("<"), copy=False).tobytes()
    return proto


@kernel("TensorSummaryV2")
def _tensor_summary(op, ctx):
    def run(tag, tensor, metadata):
        tag = _scalar_tag(tag, op)
        summary = Summary()
        value = summary.value.add(tag=tag)
        value.metadata.SetInParent()
        try:
            value.metadata.MergeFromString(bytes(np.asarray(metadata, object).item()))
        except Exception:   # DecodeError: what the op was given is not a SummaryMetadata
            raise errors.InvalidArgumentError(
                None, op, f"Could not parse serialized_summary_metadata of summary "
                          f"'{tag}'") from None
        value.tensor.CopyFrom(tensor_content_proto(tensor))
        return _out(summary)
    return run


@kernel("MergeSummary")
def _merge_summary(op, ctx):
    def run(*inputs):
        merged, seen = Summary(), set()
        for i, data in enumerate(inputs):
            for item in np.asarray(data, object).reshape(-1):
                try:
                    part = Summary.FromString(bytes(item))
                except Exception:  # DecodeError
                    raise errors.InvalidArgumentError(
                        None, op, f"Could not parse one of the summary inputs (input {i} of "
                                  f"{op.name})") from None
                for value in part.value:
                    if value.tag in seen:
                        raise errors.InvalidArgumentError(
                            None, op, f"Duplicate tag {value.tag} found in summary inputs")
                    seen.add(value.tag)
                    merged.value.add().CopyFrom(value)
        return _out(merged)
    return run


__all__ = ["SummaryMetadata", "to_uint8_image", "tensor_content_proto"]
