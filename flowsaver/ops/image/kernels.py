"""Image codec ops: ``DecodePng``/``EncodePng`` (zlib only, format/png.py),
``DecodeJpeg``/``EncodeJpeg`` and ``DecodeImage`` (JPEG, GIF, BMP through Pillow)."""
from __future__ import annotations

import numpy as np

from flowsaver import errors
from flowsaver.format import png
from flowsaver.ops.image import imaging
from flowsaver.ops.registry import OpTable

TABLE = OpTable(__name__)
define, kernel, shape_fn = TABLE.define, TABLE.kernel, TABLE.shape_fn

define(
    'DecodePng(contents: string) -> (image: dtype); channels: int = 0; dtype: type {uint8, uint16} = uint8',
    'EncodePng(image: T) -> (contents: string); compression: int = -1; T: type {uint8, uint16} = uint8',
    'DecodeJpeg(contents: string) -> (image: uint8); channels: int = 0; ratio: int = 1; fancy_upscaling: bool = true; try_recover_truncated: bool = false; acceptable_fraction: float = 1.0; dct_method: string = ""',
    'EncodeJpeg(image: uint8) -> (contents: string); format: string {"", "grayscale", "rgb"} = ""; quality: int = 95; progressive: bool = false; optimize_size: bool = false; chroma_downsampling: bool = true; density_unit: string {"in", "cm"} = "in"; x_density: int = 300; y_density: int = 300; xmp_metadata: string = ""',
    'DecodeImage(contents: string) -> (image: dtype); channels: int = 0; dtype: type {uint8, uint16, float} = uint8; expand_animations: bool = true',
)
TABLE.not_differentiable("DecodePng", "EncodePng", "DecodeJpeg", "EncodeJpeg", "DecodeImage")
# RGB -> grey as TensorFlow's PNG decoder gives it: 0.299 R + 0.587 G + 0.114 B in
# 1/32768 fixed point, truncated (measured against TensorFlow, see the interop test)
_GREY = (9798, 19235, 3735)


@shape_fn("DecodePng", "DecodeJpeg")
def _decoded_shape(op):
    channels = op.get_attr("channels")
    return [[None, None, channels or None]]


@shape_fn("DecodeImage")
def _decode_image_shape(op):
    return [None if op.get_attr("expand_animations") else
            [None, None, op.get_attr("channels") or None]]


@shape_fn("EncodePng", "EncodeJpeg")
def _encoded_shape(op):
    return [[]]


def _bytes(value) -> bytes:
    value = np.asarray(value, object)
    if value.ndim:
        raise errors.InvalidArgumentError(f"contents must be scalar, got shape "
                                          f"{list(value.shape)}")
    value = value.item()
    return value if isinstance(value, bytes) else str(value).encode()


def set_channels(pixels: np.ndarray, channels: int) -> np.ndarray:
    """``pixels`` with ``channels`` channels (0: as stored), converted as libpng does."""
    have = pixels.shape[-1]
    if channels in (0, have):
        return pixels
    color, alpha = (pixels[..., :1] if have <= 2 else pixels[..., :3]), \
        (pixels[..., -1:] if have in (2, 4) else None)
    if channels in (1, 2) and color.shape[-1] == 3:
        wide = color.astype(np.uint32)
        color = ((wide[..., 0] * _GREY[0] + wide[..., 1] * _GREY[1] + wide[..., 2] * _GREY[2])
                 >> 15).astype(pixels.dtype)[..., None]
    elif channels in (3, 4) and color.shape[-1] == 1:
        color = np.repeat(color, 3, axis=-1)
    if channels in (2, 4):
        if alpha is None:
            alpha = np.full(color.shape[:-1] + (1,), np.iinfo(pixels.dtype).max, pixels.dtype)
        return np.concatenate([color, alpha], axis=-1)
    return color


def _check_channels(op, channels: int, allowed=(0, 1, 3, 4)) -> None:
    if channels not in allowed:
        raise errors.InvalidArgumentError(
            None, op, f"`channels` must be {', '.join(map(str, allowed[:-1]))} or "
                      f"{allowed[-1]} but got {channels}")


@kernel("DecodePng")
def _decode_png(op, ctx):
    channels, dtype = op.get_attr("channels"), op.get_attr("dtype").as_numpy_dtype
    _check_channels(op, channels)

    def run(contents):
        pixels = set_channels(png.decode(_bytes(contents)), channels)
        if pixels.dtype != dtype:   # 8 <-> 16 bit, by TensorFlow's scaling (x 257)
            pixels = (pixels.astype(np.uint32) * 257).astype(dtype) if dtype == np.uint16 \
                else (pixels // 257).astype(dtype)
        return pixels
    return run


@kernel("EncodePng")
def _encode_png(op, ctx):
    level = op.get_attr("compression")
    return lambda image: np.array(png.encode(np.asarray(image), level), dtype=object)


@kernel("DecodeJpeg")
def _decode_jpeg(op, ctx):
    channels = op.get_attr("channels")
    _check_channels(op, channels, (0, 1, 3))

    def run(contents):
        data = _bytes(contents)
        kind = imaging.image_format(data)
        pixels = png.decode(data) if kind == "png" else \
            imaging.decode_with_pillow(data, kind, channels)
        return set_channels(pixels, channels)
    return run


@kernel("EncodeJpeg")
def _encode_jpeg(op, ctx):
    attrs = {k: op.get_attr(k) for k in ("format", "quality", "progressive", "optimize_size",
                                         "chroma_downsampling", "density_unit", "x_density",
                                         "y_density")}
    unit = attrs["density_unit"]
    unit = unit.decode() if isinstance(unit, bytes) else unit

    def run(image):
        image = np.asarray(image, np.uint8)
        if image.ndim != 3:
            raise errors.InvalidArgumentError(None, op, f"image must be 3-dimensional, got "
                                                        f"{list(image.shape)}")
        return np.array(imaging.encode_jpeg(
            image, attrs["quality"], attrs["progressive"], attrs["optimize_size"],
            attrs["chroma_downsampling"], unit, attrs["x_density"], attrs["y_density"]),
            dtype=object)
    return run


@kernel("DecodeImage")
def _decode_image(op, ctx):
    channels, dtype = op.get_attr("channels"), op.get_attr("dtype")
    expand = op.get_attr("expand_animations")
    _check_channels(op, channels)

    def run(contents):
        data = _bytes(contents)
        kind = imaging.image_format(data)
        if kind == "unknown":
            raise errors.InvalidArgumentError(
                None, op, "Unknown image file format. One of JPEG, PNG, GIF, BMP required.")
        pixels = png.decode(data) if kind == "png" else \
            imaging.decode_with_pillow(data, kind, channels)
        if kind == "gif" and not expand:
            pixels = pixels[0]
        pixels = set_channels(pixels, channels)
        if dtype.name == "float32":
            top = np.iinfo(pixels.dtype).max
            return (pixels.astype(np.float32) / np.float32(top)).astype(np.float32)
        if pixels.dtype != dtype.as_numpy_dtype:
            pixels = (pixels.astype(np.uint32) * 257).astype(np.uint16) \
                if dtype.name == "uint16" else (pixels // 257).astype(np.uint8)
        return pixels
    return run
