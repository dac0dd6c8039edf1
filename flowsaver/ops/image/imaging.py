"""JPEG (and other non-PNG formats) through the optional Pillow dependency.

Pillow is imported only when a JPEG, GIF or BMP is decoded or a JPEG is encoded; without
it, the error names the extra to install: ``pip install flowsaver[images]``.
"""
from __future__ import annotations

import io

import numpy as np

from flowsaver import errors

EXTRA = "flowsaver[images]"
JPEG_MAGIC = b"\xff\xd8\xff"
PNG_MAGIC = b"\x89PNG"
GIF_MAGIC = (b"GIF87a", b"GIF89a")
BMP_MAGIC = b"BM"


def _pillow():
    try:
        from PIL import Image
    except ImportError:
        raise errors.UnimplementedError(
            f"Decoding and encoding JPEG, GIF and BMP images needs Pillow: pip install "
            f"'{EXTRA}'") from None
    return Image


def image_format(data: bytes) -> str:
    if data.startswith(PNG_MAGIC):
        return "png"
    if data.startswith(JPEG_MAGIC):
        return "jpeg"
    if data.startswith(GIF_MAGIC):
        return "gif"
    if data.startswith(BMP_MAGIC):
        return "bmp"
    return "unknown"


def decode_with_pillow(data: bytes, what: str, channels: int = 0) -> np.ndarray:
    """[height, width, channels] uint8 pixels of a JPEG/GIF/BMP (GIF: [frames, h, w, 3]).

    A JPEG asked for one channel is decoded to grey by libjpeg itself (its Y channel), as
    TensorFlow does, rather than converted from RGB afterwards.
    """
    Image = _pillow()
    try:
        image = Image.open(io.BytesIO(data))
        if what == "jpeg" and channels == 1:
            image.draft("L", image.size)
        if what == "gif":
            frames = []
            for index in range(getattr(image, "n_frames", 1)):
                image.seek(index)
                frames.append(np.asarray(image.convert("RGB")))
            return np.stack(frames)
        mode = {"L": "L", "RGB": "RGB", "RGBA": "RGBA", "CMYK": "RGB"}.get(image.mode, "RGB")
        pixels = np.asarray(image.convert(mode))
    except (OSError, ValueError) as exc:
        raise errors.InvalidArgumentError(f"Invalid {what.upper()} data or crop window: "
                                          f"{exc}") from None
    return pixels[..., None] if pixels.ndim == 2 else pixels


def encode_jpeg(pixels: np.ndarray, quality: int, progressive: bool, optimize: bool,
                chroma_downsampling: bool, density_unit: str, x_density: int,
                y_density: int) -> bytes:
    Image = _pillow()
    mode = {1: "L", 3: "RGB"}.get(pixels.shape[2])
    if mode is None:
        raise errors.InvalidArgumentError(f"image must have 1 or 3 channels, got "
                                          f"{pixels.shape[2]}")
    image = Image.fromarray(pixels[..., 0] if mode == "L" else pixels, mode)
    out = io.BytesIO()
    dpi = (x_density, y_density) if density_unit == "in" else \
        (x_density * 2.54, y_density * 2.54)
    image.save(out, "JPEG", quality=quality, progressive=progressive, optimize=optimize,
               subsampling=2 if chroma_downsampling else 0, dpi=dpi)
    return out.getvalue()
